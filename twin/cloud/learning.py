"""``cloud.scaling`` as a learning agent sees it: one agent, the cluster.

**Observation** (27 ``float32`` elements, every one bounded; :data:`OBSERVATION_ELEMENTS`
names them in order):

====  ==========================  ===============================================
 0    ``current_nodes``           nodes ready or starting / ``max_nodes``, [0, 1]
 1    ``ready_nodes``             ready nodes / ``max_nodes``, [0, 1]
 2    ``starting_nodes``          nodes in their cold start / ``max_nodes``, [0, 1]
 3    ``min_nodes``               ``min_nodes`` / ``max_nodes``, [0, 1]
 4    ``utilisation``             busy share of ready workers last window, [0, 1]; 0 when
                                  the metric is missing
 5    ``utilisation_missing``     1 when no node was ready during the window (NaN), else 0
 6    ``queue_fill``              requests waiting at the ready nodes / their queue
                                  capacity (the model's ``queue_capacity``), [0, 1]; at 1
                                  requests are dropped
 7    ``queue_per_worker``        q / (1 + q), q = requests waiting per ready worker
                                  (services each worker owes), [0, 1)
 8-15 ``rate_-7`` .. ``rate_0``   arrivals per second of the last 8 sync windows, newest
                                  last, / the capacity of the whole cluster at
                                  ``max_nodes`` (:func:`capacity_per_s`), clipped to
                                  [0, :data:`RATE_CLIP`]; 0 before a window exists
 16   ``rate_windows``            windows of history present / 8, [0, 1]
 17   ``rate_mean``               mean rate over the whole observed history (one hour by
                                  default) / capacity, [0, :data:`RATE_CLIP`]
 18   ``hour_sin``                sin(2 pi hour / 24)
 19   ``hour_cos``                cos(2 pi hour / 24)
 20   ``weekend``                 1 on Saturday and Sunday (day 0 is a Monday), when the
                                  workload's ``weekend_factor`` applies; else 0
 21   ``carbon_now``              grid intensity now / :data:`CARBON_SCALE_KG_PER_KWH`,
                                  [0, :data:`CARBON_CLIP`]
 22   ``carbon_mean_24h``         mean of the 24-hour forecast, same scale
 23   ``carbon_min_24h``          cleanest hour of the forecast, same scale
 24   ``deferred_hours``          deferred requests / the deferrable classes' arrivals
                                  per hour, / 24, [0, 1]: the share of a day of batch
                                  work held back
 25   ``deferred_slack``          time to the oldest deferred deadline / one day, [0, 1];
                                  0 when nothing is deferred
 26   ``deferred_any``            1 when any work is deferred, else 0
====  ==========================  ===============================================

**Actions** (``Discrete(10)``; :data:`NODE_CHANGES`): index ``i`` asks for
``current_nodes + NODE_CHANGES[i % 5]`` nodes, clamped into ``[min_nodes, max_nodes]``
(so at the bounds some indices mean "stay"), i.e. ``0``: -2 nodes, ``1``: -1, ``2``:
keep, ``3``: +1, ``4``: +2. Indices 0-4 release all deferred batch work now
(``release_deferred=None``, what a policy that does not defer does); 5-9 make the same
node change and hold the deferred work back (``release_deferred=0``): the cluster still
releases it by itself ``deadline_guard_s`` before its deadline, so holding never loses
work, and an agent can learn to run batch work in clean hours.

**Rewards**: ``"cost-slo"`` (default): minus the money booked plus a penalty per request
that missed its SLO or was dropped; ``"cost"``: minus the money booked
(:data:`~twin.core.learning.COST`); ``"carbon"``: minus the kg CO2e booked. Each is the
drop of a running total since the agent's previous turn.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.cloud.cluster import Cluster
from twin.cloud.observation import ScalingAction, ScalingObservation
from twin.cloud.workload import WEEKEND_DAYS
from twin.core.learning import COST, LearningInterface, Reward
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World

NODE_CHANGES = (-2, -1, 0, 1, 2)
"""Node-count changes an action asks for: two nodes a 15 s epoch either way is eight a
minute, faster than a cold start (100 s) lets new nodes matter, and keeps the space small."""
HOLD_OFFSET = len(NODE_CHANGES)
"""Indices from here on hold deferred work back; below it, release all of it."""
RATE_WINDOWS = 8
"""Sync windows of arrival rate shown one by one: two minutes at the 15 s default, about
a cold start's worth of trend."""
RATE_CLIP = 10.0
"""Rates are shown up to ten times what the whole cluster can serve: beyond that every
node is saturated anyway."""
CARBON_SCALE_KG_PER_KWH = 1.0
"""Grid intensities are shown in kg CO2e/kWh: about a coal-only grid's intensity is 1."""
CARBON_CLIP = 2.0
"""Twice the scale: no real grid is dirtier."""
DEFERRED_SCALE_H = 24.0
"""Deferred work is shown as the share of one day of deferrable arrivals held back."""

OBSERVATION_ELEMENTS: tuple[str, ...] = (
    "current_nodes", "ready_nodes", "starting_nodes", "min_nodes",
    "utilisation", "utilisation_missing", "queue_fill", "queue_per_worker",
    *(f"rate_{k - RATE_WINDOWS + 1}" for k in range(RATE_WINDOWS)),
    "rate_windows", "rate_mean", "hour_sin", "hour_cos", "weekend",
    "carbon_now", "carbon_mean_24h", "carbon_min_24h",
    "deferred_hours", "deferred_slack", "deferred_any",
)  # fmt: skip
"""The name of each element of the encoded observation, in order."""

_LOW = np.zeros(len(OBSERVATION_ELEMENTS), dtype=np.float32)
_HIGH = np.ones(len(OBSERVATION_ELEMENTS), dtype=np.float32)
_RATES = slice(8, 8 + RATE_WINDOWS)
_HIGH[_RATES] = RATE_CLIP
_HIGH[OBSERVATION_ELEMENTS.index("rate_mean")] = RATE_CLIP
_LOW[OBSERVATION_ELEMENTS.index("hour_sin")] = -1.0
_LOW[OBSERVATION_ELEMENTS.index("hour_cos")] = -1.0
for _name in ("carbon_now", "carbon_mean_24h", "carbon_min_24h"):
    _HIGH[OBSERVATION_ELEMENTS.index(_name)] = CARBON_CLIP


def agents(cluster: Cluster) -> tuple[str, ...]:
    """The cluster entity (``"cluster"``, as ``entity_of`` names it), the one decider."""
    return (cluster.name,)


def observation_space(cluster: Cluster, agent: str) -> spaces.Box:
    """27 bounded elements (the module's table)."""
    return spaces.Box(_LOW.copy(), _HIGH.copy(), shape=_LOW.shape, dtype=np.float32)


def mean_service_s(cluster: Cluster) -> float:
    """Mean work of one request (worker-seconds), the classes weighted by their rates
    (unweighted when every rate is zero)."""
    classes = cluster.params.classes
    rates = [cluster.params.class_rate_per_s(c) for c in classes]
    means = [c.service.mean_s for c in classes]
    total = sum(rates)
    if total <= 0:
        return sum(means) / len(means)
    return sum(r * m for r, m in zip(rates, means, strict=True)) / total


def capacity_per_s(cluster: Cluster, obs: ScalingObservation) -> float:
    """Requests per second the cluster serves at ``max_nodes``, all workers busy."""
    return obs.max_nodes * obs.workers_per_node / max(mean_service_s(cluster), 1e-12)


def deferrable_per_h(cluster: Cluster) -> float:
    """Deferrable (batch) arrivals per hour at the classes' mean rates."""
    params = cluster.params
    rate = sum(params.class_rate_per_s(c) for c in params.classes if c.deferrable)
    return rate * SECONDS_PER_HOUR


def _unit(x: float, high: float = 1.0) -> float:
    """``x`` clipped into ``[0, high]`` (NaN to 0)."""
    return 0.0 if not x > 0.0 else min(x, high)


def encode(cluster: Cluster, obs: ScalingObservation) -> npt.NDArray[np.float32]:
    """The observation as the module's 27 elements."""
    top = max(obs.max_nodes, 1)
    v = np.zeros(len(OBSERVATION_ELEMENTS), dtype=np.float64)
    v[0] = _unit(obs.current_nodes / top)
    v[1] = _unit(obs.ready_nodes / top)
    v[2] = _unit(obs.starting_nodes / top)
    v[3] = _unit(obs.min_nodes / top)
    missing = not math.isfinite(obs.utilisation)
    v[4] = 0.0 if missing else _unit(obs.utilisation)
    v[5] = 1.0 if missing else 0.0
    waiting = float(sum(obs.queue_lengths))
    room = obs.ready_nodes * cluster.params.node.queue_capacity
    v[6] = _unit(waiting / room) if room > 0 else 0.0
    workers = obs.ready_nodes * obs.workers_per_node
    per_worker = waiting / workers if workers > 0 else 0.0
    v[7] = _unit(per_worker / (1.0 + per_worker))
    capacity = capacity_per_s(cluster, obs)
    recent = obs.arrival_rates_per_s[-RATE_WINDOWS:]
    for k, rate in enumerate(recent):
        v[_RATES.start + RATE_WINDOWS - len(recent) + k] = _unit(rate / capacity, RATE_CLIP)
    v[16] = len(recent) / RATE_WINDOWS
    history = obs.arrival_rates_per_s
    v[17] = _unit(sum(history) / len(history) / capacity, RATE_CLIP) if history else 0.0
    angle = 2.0 * math.pi * (obs.hour_of_day % 24.0) / 24.0
    v[18] = math.sin(angle)
    v[19] = math.cos(angle)
    v[20] = 1.0 if int(obs.now_s // SECONDS_PER_DAY) % 7 in WEEKEND_DAYS else 0.0
    forecast = obs.carbon_forecast or (obs.carbon_intensity,)
    v[21] = _unit(obs.carbon_intensity / CARBON_SCALE_KG_PER_KWH, CARBON_CLIP)
    v[22] = _unit(sum(forecast) / len(forecast) / CARBON_SCALE_KG_PER_KWH, CARBON_CLIP)
    v[23] = _unit(min(forecast) / CARBON_SCALE_KG_PER_KWH, CARBON_CLIP)
    held = obs.deferred_requests
    if held > 0:
        per_h = deferrable_per_h(cluster)
        v[24] = _unit(held / per_h / DEFERRED_SCALE_H) if per_h > 0 else 1.0
        v[25] = _unit((obs.deferred[0][1] - obs.now_s) / SECONDS_PER_DAY)
        v[26] = 1.0
    return np.clip(v, _LOW, _HIGH).astype(np.float32)


def action_space(cluster: Cluster, agent: str) -> spaces.Discrete:
    """Five node changes, each releasing or holding deferred work (the module's list)."""
    return spaces.Discrete(2 * len(NODE_CHANGES))


def decode(cluster: Cluster, obs: ScalingObservation, index: int) -> ScalingAction:
    """``current_nodes + NODE_CHANGES[index % 5]`` clamped into ``[min_nodes, max_nodes]``;
    all deferred work released below index 5, held back from 5 on."""
    index = int(index)
    if not 0 <= index < 2 * len(NODE_CHANGES):
        raise ValueError(f"cloud.scaling action index {index} outside [0, {2 * HOLD_OFFSET})")
    change = NODE_CHANGES[index % HOLD_OFFSET]
    desired = min(max(obs.current_nodes + change, obs.min_nodes), obs.max_nodes)
    return ScalingAction(int(desired), None if index < HOLD_OFFSET else 0)


def slo_penalty(cluster: Cluster) -> float:
    """Money a missed or dropped request costs in ``"cost-slo"``: the price of one node
    for one sync period (``price_per_h * sync_period_s / 3600``)."""
    params = cluster.params
    return params.node.price_per_h * params.sync_period_s / SECONDS_PER_HOUR


def missed_requests(cluster: Cluster) -> int:
    """Requests over their SLO or dropped since the warm-up (when the ledger restarts)."""
    _, _, violations, _, dropped = cluster.tallies_since_warmup()
    return int(violations.sum() + dropped.sum())


def cost_and_slo(world: World, cluster: Cluster, agent: str | None) -> float:
    """Money booked plus :func:`slo_penalty` per :func:`missed_requests`."""
    return world.ledger.cost() + slo_penalty(cluster) * missed_requests(cluster)


def carbon_kg(world: World, cluster: Cluster, agent: str | None) -> float:
    """kg CO2e booked so far."""
    return world.ledger.co2e_kg()


COST_SLO = Reward(
    name="cost-slo",
    description="minus (money booked + a penalty per request that missed its latency SLO "
    "or was dropped) since the previous turn; the penalty is the configured node price "
    "for one sync period (price_per_h * sync_period_s / 3600: adding a node for an epoch "
    "pays when it saves one miss), as no SLO price is configured; the issue's 'scaling: "
    "cost + SLO penalty'",
    measure=cost_and_slo,
    kind="drop",
)
CARBON = Reward(
    name="carbon",
    description="minus the kg CO2e booked since the previous turn (node electricity "
    "integrated over the grid-intensity profile, world.ledger.co2e_kg())",
    measure=carbon_kg,
    kind="drop",
)


def scaling_learning() -> LearningInterface[Cluster]:
    """``cloud.scaling`` for :mod:`twin.rl` (the module's docstring)."""
    return LearningInterface(
        agents=agents,
        observation_space=observation_space,
        encode=encode,
        action_space=action_space,
        decode=decode,
        rewards={"cost-slo": COST_SLO, "cost": COST, "carbon": CARBON},
        default_reward="cost-slo",
        description="27 bounded elements (scale, utilisation, queues, arrival rates over "
        "capacity, hour, carbon, deferred work); 10 choices: -2..+2 nodes, releasing or "
        "holding deferred batch work",
    )
