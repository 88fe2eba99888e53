"""The factory's planning decision as a learning agent sees it: which release rule plans
this epoch.

Choosing among dispatching rules by the shop's state is the classic way to learn
scheduling with a fixed, small action set (a "hyper-heuristic": Burke et al., *Journal of
the Operational Research Society* 64, 2013): an answer of the area itself, a sequence
over a changing set of orders, has no fixed-size space. The one agent is ``"plant"``;
at each planning epoch it sees a vector of :data:`OBSERVATION_SIZE` numbers:

=====  ================================================================  =======
index  element                                                           range
=====  ================================================================  =======
0      open orders / orders in the book                                  [0, 1]
1      open orders' work at the most loaded station over that station's [0, 2]
       capacity until the next epoch, clipped
2      largest work still owed to released parts, over the same, clipped [0, 2]
3      share of open orders already past their due date                  [0, 1]
4      share of open orders due before the next epoch                    [0, 1]
5      share of machines up                                              [0, 1]
=====  ================================================================  =======

Actions (``Discrete(3)``): the list schedule (:func:`twin.factory.schedule.list_schedule`)
in FIFO (0), EDD (1) or SPT (2) order. Rewards: ``"tardiness"`` (default): minus the
hours of tardiness the orders accumulated since the previous epoch; ``"cost"``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.core.learning import COST, LearningInterface, Reward
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World
from twin.factory.observation import DOWN_STATES, PlanningAction, PlanningObservation
from twin.factory.plant import Plant
from twin.factory.schedule import (
    Instance,
    RuleKey,
    edd_key,
    fifo_key,
    list_schedule,
    planned_tardiness_s,
    spt_key,
)

OBSERVATION_SIZE = 6
RULES: tuple[RuleKey, ...] = (fifo_key, edd_key, spt_key)
AGENT = "plant"


def planning_agents(model: Plant) -> tuple[str, ...]:
    return (AGENT,)


def planning_observation_space(model: Plant, agent: str) -> spaces.Box:
    high = np.array([1.0, 2.0, 2.0, 1.0, 1.0, 1.0], dtype=np.float32)
    return spaces.Box(np.zeros(OBSERVATION_SIZE, dtype=np.float32), high, dtype=np.float32)


def encode_planning(model: Plant, obs: PlanningObservation) -> npt.NDArray[np.float32]:
    instance = Instance.of(obs)
    book = model.order_book
    total = len(book.orders) if book is not None and book.orders else max(len(obs.orders), 1)
    load = np.zeros(len(obs.stations))
    for position, order in enumerate(obs.orders):
        for step, station in enumerate(instance.route[order.product]):
            load[station] += instance.work_s[position][step]
    capacity = np.array(instance.rate) * max(obs.period_s, 1.0)
    owed = np.array(instance.backlog_s)
    count = max(len(obs.orders), 1)
    past_due = sum(1 for o in obs.orders if o.due_s < obs.now_s)
    due_soon = sum(1 for o in obs.orders if o.due_s < obs.now_s + obs.period_s)
    up = sum(1 for m in model.machines if m.state not in DOWN_STATES)
    vector = [
        len(obs.orders) / total,
        float(np.max(load / capacity, initial=0.0)),
        float(np.max(owed / capacity, initial=0.0)),
        past_due / count,
        due_soon / count,
        up / len(model.machines),
    ]
    space = planning_observation_space(model, AGENT)
    return np.clip(np.array(vector, dtype=np.float32), space.low, space.high)


def planning_action_space(model: Plant, agent: str) -> spaces.Discrete:
    return spaces.Discrete(len(RULES))


def decode_planning(model: Plant, obs: PlanningObservation, index: int) -> PlanningAction:
    releases = list_schedule(obs, RULES[int(index)])
    return PlanningAction(tuple(releases), planned_tardiness_s(obs, releases))


def tardiness_h(world: World, model: Plant, agent: str | None) -> float:
    """Hours of tardiness the orders have accumulated so far (open ones until now)."""
    book = model.order_book
    if book is None:
        return 0.0
    now = world.now_s
    return sum(order.tardiness_s(now) for order in book.orders) / SECONDS_PER_HOUR


TARDINESS = Reward(
    name="tardiness",
    description="minus the hours of tardiness the orders accumulated since the previous epoch",
    measure=tardiness_h,
    kind="drop",
)


def planning_learning() -> LearningInterface[Plant]:
    """The planning epoch: 6 bounded numbers, one of three release rules."""
    return LearningInterface(
        agents=planning_agents,
        observation_space=planning_observation_space,
        encode=encode_planning,
        action_space=planning_action_space,
        decode=decode_planning,
        rewards={TARDINESS.name: TARDINESS, COST.name: COST},
        default_reward=TARDINESS.name,
        episode_s=8 * 86_400.0,
        description=(
            "open orders, open and owed work over capacity, orders past and near their "
            "due dates, machines up; release by FIFO, EDD or SPT"
        ),
    )
