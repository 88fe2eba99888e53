"""The factory's maintenance decision as a learning agent sees it (issue 17).

Every machine of the plant is an agent, ``"machine:<index>"`` (the entity each
:class:`~twin.factory.observation.MaintenanceObservation` is about), deciding at each of
its sensor reports. Its observation is a vector of :data:`OBSERVATION_SIZE` finite
numbers:

=======  =====================================================================  ========
index    element                                                                range
=======  =====================================================================  ========
0-6      ``state`` one-hot, in :data:`~twin.factory.observation.MACHINE_STATES`  0/1
         order: idle, starved, busy, blocked, failed, repair, maintenance
7        vibration / :data:`VIBRATION_RANGE_MM_S`, clipped                      [0, 1]
8        temperature over :data:`TEMPERATURE_RANGE_C`, clipped                  [0, 1]
9        pressure / :data:`PRESSURE_RANGE_BAR`, clipped                         [0, 1]
10       humidity / :data:`HUMIDITY_RANGE_PCT`, clipped                         [0, 1]
11-14    1 where that sensor's reading is missing (NaN: no delivery yet, a      0/1
         dropout), its element above then 0
15       reading age / (:data:`AGE_SCALE_PERIODS` sensor periods), clipped;     [0, 1]
         0 when missing
16       1 when the reading age is missing (no reading yet)                      0/1
17       operating hours since the last service / the machine's nominal life   [0, 2]
         (:func:`nominal_life_h`), clipped at :data:`LIFE_CLIP`
18       calendar hours since the last service / nominal life, clipped          [0, 2]
19       parts since the last service / the parts of a nominal life (the life   [0, 2]
         over the station's mean processing time), clipped
20       unplanned failures ``f`` of this machine as ``f / (1 + f)``            [0, 1)
21       technicians free / the crew's size, clipped                            [0, 1]
22       machines waiting for a technician / machines in the plant, clipped     [0, 1]
23-24    sine and cosine of the time of day (the crew works shifts)             [-1, 1]
=======  =====================================================================  ========

Actions (``Discrete(2)``): 0 lets the machine run on (:data:`CONTINUE`), 1 stops it for
preventive maintenance after its current part (:data:`MAINTAIN`; ignored while the
machine is already down or has maintenance requested).

``factory.dispatch`` has no learning interface: its action assigns any number of
waiting requests to any idle AGVs, a set whose size changes with every decision.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.core.learning import COST, LearningInterface, Reward
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World
from twin.factory.observation import (
    CONTINUE,
    DOWN_STATES,
    MACHINE_STATES,
    MAINTAIN,
    MaintenanceAction,
    MaintenanceObservation,
)
from twin.factory.plant import Plant

VIBRATION_RANGE_MM_S = (0.0, 20.0)
"""Vibration RMS velocity that spans 0-1: a worn machine reads 7.8 mm/s at nominal load
(:data:`twin.factory.kernels.VIB_BASE_MM_S` + ``VIB_WEAR_MM_S``), the highest zone C/D
boundary of ISO 10816-3 is 11 mm/s; 20 leaves room for overload and noise."""

TEMPERATURE_RANGE_C = (-20.0, 120.0)
"""Housing temperature that spans 0-1: from an unheated hall in winter to above usual
bearing-housing alarm settings (below 100 degC); the model's worn machine at nominal
load runs 35 K above the shop's ambient (57 degC in the default 22 degC shop)."""

PRESSURE_RANGE_BAR = (0.0, 10.0)
"""Hydraulic/pneumatic pressure that spans 0-1: the model's nominal 6 bar shop air
(:data:`twin.factory.kernels.DEFAULT_PRESSURE_NOMINAL_BAR`) is well inside the up to
about 10 bar that usual shop compressors deliver; a stopped machine reads 0."""

HUMIDITY_RANGE_PCT = (0.0, 100.0)
"""Relative humidity spans its whole physical range."""

SENSOR_RANGES = (VIBRATION_RANGE_MM_S, TEMPERATURE_RANGE_C, PRESSURE_RANGE_BAR, HUMIDITY_RANGE_PCT)
"""The ranges of the four readings, in the observation's order."""

AGE_SCALE_PERIODS = 4.0
"""Sensor periods of reading age that fill element 15: a report is normally as old as
the pipeline's latency (2 s by default, so element 15 stays near 0); readings four
periods old are stale whatever their exact age."""

LIFE_CLIP = 2.0
"""Nominal lives at which elements 17-19 stop growing: wear heating shortens a machine's
mean life to about half its nominal life (265 h of 500 h at nominal load in the default
22 degC shop, :mod:`twin.factory.kernels`), so one that has run two nominal lives
without a failure or a service is far out in the tail already."""

OBSERVATION_SIZE = len(MACHINE_STATES) + 2 * len(SENSOR_RANGES) + 2 + 3 + 1 + 2 + 2
"""25 elements (see the module docstring)."""

_LOW = np.zeros(OBSERVATION_SIZE, dtype=np.float32)
_LOW[-2:] = -1.0
_HIGH = np.ones(OBSERVATION_SIZE, dtype=np.float32)
_HIGH[17:20] = LIFE_CLIP
_LOW.setflags(write=False)  # shared by every agent's space
_HIGH.setflags(write=False)

_STATE_INDEX = {state: k for k, state in enumerate(MACHINE_STATES)}

ACTIONS: tuple[MaintenanceAction, ...] = (CONTINUE, MAINTAIN)
"""The action of each index: 0 let the machine run, 1 maintain it."""


def maintenance_agents(model: Plant) -> tuple[str, ...]:
    """Every machine, in the plant's order: ``("machine:0", "machine:1", ...)``."""
    return tuple(machine.name for machine in model.machines)


def maintenance_observation_space(model: Plant, agent: str) -> spaces.Box:
    """:data:`OBSERVATION_SIZE` numbers, bounded as the module docstring's table says."""
    return spaces.Box(_LOW, _HIGH, dtype=np.float32)


def nominal_life_h(model: Plant, machine: int) -> float:
    """Mean operating hours to failure of ``machine`` at constant nominal stress
    (threshold / drift, 500 h by default); the plant's mean for an index it does not
    have (a generated observation)."""
    degradation = model.degradation
    if 0 <= machine < degradation.n:
        life_s = float(degradation.threshold[machine] / degradation.drift_per_s[machine])
    else:
        life_s = float(np.mean(degradation.threshold / degradation.drift_per_s))
    return life_s / SECONDS_PER_HOUR


def _parts_per_life(model: Plant, machine: int, life_h: float) -> float:
    """Parts the machine makes in a nominal life at its station's mean processing time."""
    machines = model.machines
    if 0 <= machine < len(machines):
        processing_s = machines[machine].station.processing.mean_s
    else:
        processing_s = float(np.mean([m.station.processing.mean_s for m in machines]))
    return life_h * SECONDS_PER_HOUR / processing_s if processing_s > 0 else math.inf


def _clip(x: float, high: float = 1.0) -> float:
    return min(max(x, 0.0), high)


def encode_maintenance(
    model: Plant, observation: MaintenanceObservation
) -> npt.NDArray[np.float32]:
    """The observation as the vector of the module docstring."""
    vector = np.zeros(OBSERVATION_SIZE, dtype=np.float32)
    state = _STATE_INDEX.get(observation.state)
    if state is not None:
        vector[state] = 1.0
    first = len(MACHINE_STATES)
    readings = (
        observation.vibration_mm_s,
        observation.temperature_c,
        observation.pressure_bar,
        observation.humidity_pct,
    )
    for k, (value, (low, high)) in enumerate(zip(readings, SENSOR_RANGES, strict=True)):
        if value is None or not math.isfinite(value):
            vector[first + len(SENSOR_RANGES) + k] = 1.0
        else:
            vector[first + k] = _clip((value - low) / (high - low))
    age = observation.reading_age_s
    if age is None or not math.isfinite(age):
        vector[16] = 1.0
    else:
        period_s = model.params.sensors.sensor.period_s
        vector[15] = _clip(age / (AGE_SCALE_PERIODS * period_s))
    life_h = nominal_life_h(model, observation.machine)
    vector[17] = _clip(observation.operating_h / life_h, LIFE_CLIP)
    vector[18] = _clip(observation.calendar_h / life_h, LIFE_CLIP)
    parts_per_life = _parts_per_life(model, observation.machine, life_h)
    vector[19] = _clip(observation.parts / parts_per_life, LIFE_CLIP)
    failures = max(observation.failures, 0)
    vector[20] = failures / (1.0 + failures)
    vector[21] = _clip(observation.technicians_free / model.params.crew.technicians)
    vector[22] = _clip(observation.maintenance_queue / max(len(model.machines), 1))
    angle = 2.0 * math.pi * (observation.now_s % SECONDS_PER_DAY) / SECONDS_PER_DAY
    vector[23] = math.sin(angle)
    vector[24] = math.cos(angle)
    return vector


def maintenance_action_space(model: Plant, agent: str) -> spaces.Discrete:
    """0 let the machine run, 1 maintain it."""
    return spaces.Discrete(len(ACTIONS))


def decode_maintenance(
    model: Plant, observation: MaintenanceObservation, index: int
) -> MaintenanceAction:
    """Index 0: :data:`CONTINUE`; index 1: :data:`MAINTAIN` (the plant's own constants,
    which it recognises without checking). ``ValueError`` outside the action space."""
    if not 0 <= index < len(ACTIONS):
        raise ValueError(f"action index {index} outside Discrete({len(ACTIONS)})")
    return ACTIONS[int(index)]


EPISODE_S = 28 * 86_400.0
"""Four weeks: a machine's mean life is about 265 operating hours (11 days at the flow
line's load), so an episode sees machines wear out and fail and lets a preventive stop
pay off inside it; in one-week episodes from new machines failures are rare and PPO
learns never to maintain (docs/RL.md)."""


def machines_up(world: World, model: Plant, agent: str | None) -> float:
    """1 if the agent's machine is up (not failed, under repair or maintenance, or
    stopped waiting for a technician), else 0; for the whole plant, the share of
    machines up."""
    if agent is not None:
        index = int(agent.removeprefix("machine:"))
        return 0.0 if model.machines[index].state in DOWN_STATES else 1.0
    machines = model.machines
    up = sum(1 for machine in machines if machine.state not in DOWN_STATES)
    return up / len(machines)


AVAILABILITY = Reward(
    name="availability",
    description=(
        "1 if the agent's machine is up at its turn, else 0; the share of machines up "
        "for the whole plant (down: failed, repair, maintenance, idle, as the plant's "
        "availability KPI counts it)"
    ),
    measure=machines_up,
    kind="level",
)
"""Up as the plant's ``availability`` KPI counts it (all states but
:data:`~twin.factory.observation.DOWN_STATES`), read at the agent's turn."""


def upkeep_cost(world: World, model: Plant, agent: str | None) -> float:
    """Money booked so far but raw material: maintenance, lost production, energy."""
    ledger = world.ledger
    return ledger.cost() - ledger.cost("material")


UPKEEP = Reward(
    name="upkeep-cost",
    description=(
        "minus the money booked since the agent's previous turn except raw material "
        "(repairs, preventive maintenance, downtime and scrap, energy); whole plant. "
        "Material is bought per part released, so with it a policy that stops the line "
        "would earn a reward for producing less"
    ),
    measure=upkeep_cost,
    kind="drop",
)
"""The maintenance decision's cost: what keeping the machines running costs."""

REWARDS: dict[str, Reward] = {
    UPKEEP.name: UPKEEP,
    COST.name: COST,
    AVAILABILITY.name: AVAILABILITY,
}


def maintenance_learning() -> LearningInterface[Plant]:
    """The maintenance decision of every machine: 25 bounded numbers, run on or maintain.

    Rewards: ``"cost"`` (default, :data:`twin.core.learning.COST`), the plant's money:
    ``material`` for every part released, ``maintenance`` parts and labour of each
    repair and preventive service (booked when the work ends), ``lost_production`` for
    scrapped parts and, with ``downtime_cost_per_h`` set, for each stop (booked when the
    machine is back), ``energy`` with ``electricity_price_per_kwh`` set (booked when
    the world books its meters: at the end of a run, and each hour when the grid
    intensity varies by hour). Shared by every machine. ``"availability"``
    (:data:`AVAILABILITY`).
    """
    return LearningInterface(
        agents=maintenance_agents,
        observation_space=maintenance_observation_space,
        encode=encode_maintenance,
        action_space=maintenance_action_space,
        decode=decode_maintenance,
        rewards=REWARDS,
        default_reward=UPKEEP.name,
        episode_s=EPISODE_S,
        description=(
            "machine state one-hot, 4 sensor readings over their physical ranges with "
            "missing flags, reading age, wear counters over the nominal life, failures, "
            "crew free and queue, time of day; 0 run on, 1 maintain"
        ),
    )
