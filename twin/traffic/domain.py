"""The traffic domain's contract: what ``twin.testing``, ``viz`` and the docs know of it.

One decision area, ``traffic.signals`` (a signal controller picks the next green phase
of its intersection and how long to hold it); the model is the :class:`City`; its
entities are the intersections (``intersection:<id>``) and the vehicles as a whole
(``vehicles``). Hypothesis is imported only when strategies are asked for
(:mod:`twin.traffic.kit`).
"""

from __future__ import annotations

import numpy as np

from twin.core.domain import Clock, DecisionArea, Deferred, Domain, Quantity, ScenarioChecks
from twin.core.scenario import ScenarioConfig
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.kernels import (
    ARRIVED,
    DISCARDED,
    DRIVING,
    OFF,
    PENDING,
    PROTECTED,
    RED,
    TELEPORTING,
    WAITING,
    YELLOW,
)
from twin.traffic.observation import (
    ENTITY_PREFIX,
    SignalAction,
    SignalObservation,
    check_signal_action,
)
from twin.traffic.view import TrafficView

EPS = 1e-6
"""Slack of the invariants' comparisons (metres, metres per second)."""

_LANE = (
    "of each movement's lane: movements leaving from one lane repeat its value (`lane` "
    "says which), so a sum over movements counts that lane once per movement"
)
_LOOPS = "(movements, 2): stop-line and upstream loop of each movement's lane"
OBSERVATION_FIELDS = {
    "now_s": Quantity("s", 0.0, description="simulated time"),
    "intersection": Quantity(
        "", 0.0, description="index of the intersection among the signalised ones"
    ),
    "intersection_id": Quantity(description="the intersection's id (the network's)"),
    "phase": Quantity("", 0.0, description="the green phase being shown"),
    "phase_elapsed_s": Quantity(
        "s", 0.0, description="how long it has been green; max green counts from the same start"
    ),
    "min_green_s": Quantity(
        "s",
        0.0,
        description="the current phase's minimum green (each phase has its own: a SUMO "
        "programme's minDur, else its duration; every phase of a grid has the grid's, 5 s); "
        "finite, <= max_green_s",
    ),
    "max_green_s": Quantity(
        "s",
        0.0,
        description="the current phase's maximum green (a SUMO programme's maxDur, else its "
        "duration; a grid's, 50 s); finite",
    ),
    "phase_green": Quantity(description="(phases, movements): the movements each phase serves"),
    "green_s": Quantity("s", 0.0, description="fixed-time green of each phase (the programme)"),
    "queue": Quantity("", 0.0, description=f"halting vehicles (<= 0.1 m/s) {_LANE}"),
    "vehicles": Quantity("", 0.0, description=f"vehicles {_LANE}"),
    "downstream": Quantity(
        "", 0.0, description="vehicles per lane on each movement's exit (its edge's mean)"
    ),
    "gap_s": Quantity(
        "s", 0.0, description="time since a vehicle last crossed the upstream loop (inf: never)"
    ),
    "flow_per_s": Quantity(
        "1/s", 0.0, description="vehicles per second over the stop-line loop since the start"
    ),
    "sensed_queue": Quantity(
        "", missing=True, description="queue as the detectors deliver it (noise, dropout, lag)"
    ),
    "sensed_count": Quantity(
        "", missing=True, description=f"vehicles counted in the last loop period, {_LOOPS}"
    ),
    "sensed_occupancy": Quantity(
        "", missing=True, description=f"fraction of the last period covered, {_LOOPS}"
    ),
    "sensed_speed_mps": Quantity(
        "m/s", missing=True, description=f"mean speed of the vehicles counted, {_LOOPS}"
    ),
    "lane": Quantity(
        "",
        0.0,
        description="the lane each movement leaves from, numbered 0, 1, ... per intersection: "
        "movements with one number share that lane's values (count it once)",
    ),
    "actuation": Quantity(
        description="a SUMO programme of type actuated: which phases are actuated, per "
        "phase the least time since its loops (on every junction of the light) were last "
        "left (0 while covered), max-gap and detector-gap (twin.traffic.actuation); None "
        "for a static programme"
    ),
}
ACTION_FIELDS = {
    "phase": Quantity("", 0.0, description="the phase to show: a row of phase_green"),
    "duration_s": Quantity(
        "s",
        0.0,
        description="green before the next decision (finite, > 0); kept within the phase's "
        "[min green, max green] as below",
    ),
}
NOTES = (
    "Decisions come at the end of each green the controller holds, never during yellow or "
    "all-red. At t = 0 each intersection starts its programme where its offset falls and "
    "holds that phase's programmed green, so the first decision comes at the end of it "
    "(42 s into `traffic/grid4x4-v0`, whose greens are 42 s).",
    "Same phase answered: it stays green for `duration_s` more, but never past max green "
    "counted from the start of its green (`phase_elapsed_s`).",
    "Another phase answered before the current phase's min green: the request is clamped "
    "(KPI `signal_requests_clamped`): the phase stays until its min green and the policy "
    "is asked again then. After min green: yellow and all-red of the current phase, then "
    "the new phase for `duration_s` clamped to its own [min green, max green].",
    "At max green the controller ends the phase without asking (KPI `signal_max_outs`) "
    "and shows the next phase of the programme, `(phase + 1) % len(green_s)`, for its "
    "programmed `green_s` (a SUMO actuated programme's: its min green); the policy is "
    "asked at the end of that green.",
    "With the scenario's `decision_grid_s` (sumo-rl's `delta_time`), every decision falls "
    "on a multiple of it: each epoch above is rounded up to the grid, and a change's "
    "yellow and all-red count within the `duration_s` asked for.",
    "Only the current phase's min and max green are in the observation; another phase's "
    "limits are seen when it is shown.",
    "`queue`, `vehicles`, `downstream`, `gap_s` and `flow_per_s` are the engine's exact "
    "state (never NaN); only the `sensed_*` fields carry the detectors' noise, dropout and "
    "lag. The upstream loop behind `gap_s` sits 2 s of travel at the lane's speed limit "
    "before the stop line (SUMO's actuated `detector-gap`; 28 m at 50 km/h); SUMO's "
    "actuated controller extends a green while gaps stay under its `max-gap`, 3 s.",
    "Movements that share a lane repeat its value in every per-movement lane field; count "
    "each lane once with `lane`: vehicles halting for phase `p` are "
    "`sum(obs.queue[obs.lane == k][0] for k in set(obs.lane[obs.phase_green[p]]))`.",
)


def invariants(city: City, world: World) -> list[str]:
    """Vehicles are conserved, none overlaps its leader, speeds stay within [0, allowed],
    and no two conflicting movements are green together."""
    veh, arrays = city.veh, city.arrays
    state = veh.state
    problems = []
    released = int(np.sum(state != PENDING))
    accounted = int(
        np.sum(state == ARRIVED)
        + np.sum(state == DRIVING)
        + np.sum(state == WAITING)
        + np.sum(state == TELEPORTING)
        + np.sum(state == DISCARDED)
    )
    if released != accounted:
        problems.append(f"vehicles not conserved: released {released} != accounted {accounted}")
    driving = np.flatnonzero(state == DRIVING)
    ahead = veh.ahead[driving]
    has = ahead >= 0
    backs = veh.pos[ahead[has]] - city.vt.length[veh.vtype[ahead[has]]]
    overlapping = int(np.sum(veh.pos[driving[has]] > backs + EPS))
    if overlapping:
        problems.append(f"{overlapping} vehicles overlap their leader")
    speed = veh.speed[driving]
    allowed = np.minimum(
        arrays.lane_speed_mps[veh.lane[driving]] * veh.speed_factor[driving],
        city.vt.vmax[veh.vtype[driving]],
    )
    if np.any(speed < 0.0) or np.any(speed > allowed + EPS):
        problems.append(f"speeds outside [0, allowed]: {speed[(speed < 0) | (speed > allowed)]}")
    bank = city.signals
    for i, intersection in enumerate(bank.intersections):
        shown = bank.mov_state[bank.movements[i]]
        # Movements that may go (any state but red and yellow) give way to the foes the
        # junction makes them yield to; two foes going with neither yielding conflict.
        green = (shown != RED) & (shown != YELLOW)
        if np.any(intersection.conflicts(green, (shown == PROTECTED) | (shown == OFF))):
            problems.append(f"conflicting movements green together at {intersection.id}")
    return problems


INVARIANT_RULES = (
    "every trip released is waiting to enter, on the network or arrived",
    "no vehicle overlaps the vehicle ahead of it on its lane",
    "every speed is within [0, min(lane limit x speed factor, vehicle's maximum)]",
    "no two conflicting movements of an intersection are green together unless one yields",
)


def _check(action: object, observation: SignalObservation, policy_id: str) -> object:
    return check_signal_action(action, observation, policy_id)


def _entity_of(observation: SignalObservation) -> str:
    return f"{ENTITY_PREFIX}{observation.intersection_id}"


_edge_cases = Deferred("twin.traffic.kit:signal_edge_cases")


_observations = Deferred("twin.traffic.kit:signal_observations")


def _run_config(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # Fifteen minutes of the 4x4 grid: 16 junctions decide every few seconds.
    return ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=900.0, tick_s=60.0), None


_grid_params = Deferred("twin.traffic.kit:grid_params")


_sumo_net_params = Deferred("twin.traffic.kit:sumo_net_params")


_learning = Deferred("twin.traffic.learning:signal_learning")


SIGNALS = DecisionArea(
    name="traffic.signals",
    observation=SignalObservation,
    action=SignalAction,
    check_action=_check,
    entity_of=_entity_of,
    edge_cases=_edge_cases,
    observations=_observations,
    run_config=_run_config,
    observation_fields=OBSERVATION_FIELDS,
    action_fields=ACTION_FIELDS,
    baseline="signals/fixed-time-v0",
    check_policy_s=61.0,  # s on a shared 2-core machine, 2026-12-04
    description="a signal controller picks its intersection's next green phase and its length",
    notes=NOTES,
    epochs=(
        "Event-driven, per intersection: when its current green has lasted the duration last "
        "chosen (at the start, the first phase's `green_s` from the program's offset); a green "
        "that has reached its phase's `max_green_s` moves on to the next phase without asking."
    ),
    learning=_learning,
)

DOMAIN: Domain[City] = Domain(
    name="traffic",
    # Signals cycle in about a minute: a tick of one shows phases change and queues form.
    clock=Clock(unit="s", display_tick_s=60.0),
    description="city traffic: a road network, car-following vehicles, signalised junctions",
    model=City,
    areas=(SIGNALS,),
    invariants=invariants,
    view=TrafficView,
    invariant_rules=INVARIANT_RULES,
    scenario_checks={
        "traffic/grid4x4-v0": ScenarioChecks(_grid_params, horizon_s=900.0, check_period_s=5.0),
        "traffic/grid4x4-peak-v0": ScenarioChecks(None, horizon_s=900.0, check_period_s=5.0),
        "traffic/grid10x10-v0": ScenarioChecks(None, horizon_s=600.0, check_period_s=30.0),
        "traffic/sumo-net-v0": ScenarioChecks(
            _sumo_net_params, horizon_s=900.0, check_period_s=5.0
        ),
    },
    live=Deferred("twin.traffic.live:traffic_live"),
    kpis={
        "trips_completed": "higher",
        "throughput_per_h": "higher",
        "trips_unfinished": "lower",
        "trip_duration_mean_s": "lower",
        "time_loss_mean_s": "lower",
        "waiting_time_mean_s": "lower",
        "resco_delay_mean_s": "lower",
        "stops_mean": "lower",
        "depart_delay_mean_s": "lower",
        "speed_mean_mps": "higher",
        "queue_mean_veh": "lower",
        "queue_max_veh": "lower",
        "network_co2_kg": "lower",
        "network_nox_g": "lower",
        "emergency_brakes": "lower",
        "teleports": "lower",
    },
)
"""The traffic domain (entry point ``twin.domains: traffic``)."""
