"""The station's admission decision as a learning agent sees it (issue 17).

One agent, ``"station"``, decides at every arrival whether to admit the job. Its
observation is a vector of :data:`OBSERVATION_SIZE` numbers in ``[0, 1]``:

====  ==========================================================================
0     ``queue``: jobs waiting / the waiting room, clipped to 1. The waiting room is
      ``capacity - servers`` in a bounded station (at least 1), and
      :data:`UNBOUNDED_QUEUE_PER_SERVER` jobs per server in an unbounded one.
1     ``busy``: busy servers / servers.
2     ``sensed_queue``: the sensed queue length / the waiting room, clipped to
      ``[0, 1]`` (noise may read below 0); 0 when there is no reading.
3     ``sensed_missing``: 1 when there is no sensed reading (no sensor, none delivered
      yet, a dropout), else 0.
4     ``full``: 1 when a bounded station holds ``capacity`` jobs, so the job is turned
      away whatever the answer, else 0.
====  ==========================================================================

The time of the arrival, the number of servers and the capacity are left out: arrivals
are a homogeneous Poisson process and the station does not change during a run, so
none of them tells the agent anything the vector does not.

Actions (``Discrete(2)``): 0 turns the arriving job away (:data:`REJECT`), 1 admits it
(:data:`ADMIT`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.core.learning import COST, LearningInterface, Reward
from twin.core.world import World
from twin.station.observation import ADMIT, REJECT, StationAction, StationObservation
from twin.station.station import Station

AGENT = "station"
"""The one decider; what :func:`twin.station.domain._entity_of` names every observation."""

OBSERVATION_SIZE = 5
"""Elements of the observation vector (see the module docstring)."""

UNBOUNDED_QUEUE_PER_SERVER = 10
"""Waiting jobs per server that fill the ``queue`` element of an unbounded station: with
10 jobs ahead per server a new job waits about 10 mean service times, far beyond where
admission control turns jobs away (Naor 1969's thresholds are a few jobs per server)."""

ACTIONS: tuple[StationAction, ...] = (REJECT, ADMIT)
"""The action of each index: 0 turn the job away, 1 admit it."""


def station_agents(model: Station) -> tuple[str, ...]:
    """The one decider, ``("station",)``."""
    return (model.name,)


def station_observation_space(model: Station, agent: str) -> spaces.Box:
    """:data:`OBSERVATION_SIZE` numbers in ``[0, 1]``."""
    return spaces.Box(0.0, 1.0, shape=(OBSERVATION_SIZE,), dtype=np.float32)


def _waiting_room(observation: StationObservation) -> float:
    """How many waiting jobs make the ``queue`` element 1."""
    servers = max(observation.servers, 1)
    if observation.capacity is None:
        return float(UNBOUNDED_QUEUE_PER_SERVER * servers)
    return float(max(observation.capacity - servers, 1))


def _unit(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def encode_station(model: Station, observation: StationObservation) -> npt.NDArray[np.float32]:
    """The observation as the vector of the module docstring."""
    room = _waiting_room(observation)
    sensed = observation.sensed_queue_length
    missing = sensed is None or not math.isfinite(sensed)
    capacity = observation.capacity
    full = capacity is not None and observation.queue_length + observation.busy_servers >= capacity
    return np.array(
        (
            _unit(observation.queue_length / room),
            _unit(observation.busy_servers / max(observation.servers, 1)),
            0.0 if missing else _unit(sensed / room),
            1.0 if missing else 0.0,
            1.0 if full else 0.0,
        ),
        dtype=np.float32,
    )


def station_action_space(model: Station, agent: str) -> spaces.Discrete:
    """0 turn the arriving job away, 1 admit it."""
    return spaces.Discrete(len(ACTIONS))


def decode_station(model: Station, observation: StationObservation, index: int) -> StationAction:
    """Index 0: :data:`REJECT`; index 1: :data:`ADMIT` (the station's own constants, which
    it recognises without checking). ``ValueError`` outside the action space."""
    if not 0 <= index < len(ACTIONS):
        raise ValueError(f"action index {index} outside Discrete({len(ACTIONS)})")
    return ACTIONS[int(index)]


def completed_jobs(world: World, model: Station, agent: str | None) -> float:
    """Jobs served to completion since the start or the end of the warm-up."""
    return float(model.completed.count)


THROUGHPUT = Reward(
    name="throughput",
    description=(
        "jobs completed since the agent's previous turn (the station's 'completed' "
        "counter, the numerator of its throughput_per_h KPI)"
    ),
    measure=completed_jobs,
    kind="drop",
    scale=-1.0,
)
"""The counter only grows, so its "drop" times -1 is the jobs finished between two
turns; the sum over an episode is the jobs completed in it. (At the end of a warm-up
the counter restarts from 0: the one turn spanning it sees a negative reward.)"""

REWARDS: dict[str, Reward] = {COST.name: COST, THROUGHPUT.name: THROUGHPUT}


def station_learning() -> LearningInterface[Station]:
    """The admission decision: 5 numbers in ``[0, 1]``, admit or turn away.

    Rewards: ``"cost"`` (default, :data:`twin.core.learning.COST`): the station books
    ``lost_production`` (``rejection_cost`` per job turned away, by the policy or by a
    full station) and, with ``electricity_price_per_kwh`` and server powers set,
    ``energy`` (booked when the world books its meters: at the end of a run, and each
    hour when the grid intensity varies by hour). With the default params both are 0,
    so the cost reward is 0 until a config prices rejections or energy.
    ``"throughput"``: jobs completed since the previous turn (:data:`THROUGHPUT`).
    """
    return LearningInterface(
        agents=station_agents,
        observation_space=station_observation_space,
        encode=encode_station,
        action_space=station_action_space,
        decode=decode_station,
        rewards=REWARDS,
        default_reward=COST.name,
        description=(
            "queue / waiting room, busy / servers, sensed queue / waiting room with a "
            "missing flag, station full; 0 turn the job away, 1 admit it"
        ),
    )
