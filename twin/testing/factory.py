"""Test kit of the factory: maintenance and AGV-dispatch policies, the factory scenarios."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from twin.core.scenario import Scenario, ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World
from twin.factory.layout import Layout, LayoutSpec
from twin.factory.observation import (
    DOWN_STATES,
    MACHINE_STATES,
    AgvView,
    DispatchObservation,
    MaintenanceObservation,
    TransportRequest,
    check_dispatch_action,
    check_maintenance_action,
)
from twin.testing.kits import Invariants, PolicyKit, ScenarioKit

_NAN = math.nan


def _reading(low: float, high: float) -> st.SearchStrategy[float]:
    """A delivered sensor value: in range, NaN while the sensor drops out, or an outlier."""
    return st.one_of(
        st.floats(low, high, allow_nan=False),
        st.just(_NAN),
        st.floats(-1e6, 1e6, allow_nan=False),
    )


@st.composite
def maintenance_observations(draw: st.DrawFn) -> MaintenanceObservation:
    """A machine as a sensor report shows it, in any state, with dropouts and outliers."""
    calendar_h = draw(st.floats(0.0, 50_000.0, allow_nan=False))
    return MaintenanceObservation(
        now_s=draw(st.floats(0.0, 1e9, allow_nan=False)),
        machine=draw(st.integers(0, 999)),
        station=draw(st.sampled_from(["lathe", "mill", "drill", "inspect", "L07S3"])),
        state=draw(st.sampled_from(MACHINE_STATES)),
        vibration_mm_s=draw(_reading(0.0, 30.0)),
        temperature_c=draw(_reading(-20.0, 150.0)),
        pressure_bar=draw(_reading(0.0, 400.0)),
        humidity_pct=draw(_reading(0.0, 100.0)),
        reading_age_s=draw(st.just(_NAN) | st.floats(0.0, 1e6, allow_nan=False)),
        operating_h=draw(st.floats(0.0, calendar_h)),
        calendar_h=calendar_h,
        parts=draw(st.integers(0, 10**7)),
        failures=draw(st.integers(0, 10_000)),
        technicians_free=draw(st.integers(0, 50)),
        maintenance_queue=draw(st.integers(0, 1000)),
    )


def maintenance_edge_cases() -> list[MaintenanceObservation]:
    """The first report (every reading NaN), every machine down, no technician free,
    readings far outside any range, a machine with a long life and many failures."""
    first = MaintenanceObservation(
        0.0, 0, "lathe", "idle", _NAN, _NAN, _NAN, _NAN, _NAN, 0.0, 0.0, 0, 0, 0, 0
    )
    down = [
        first._replace(machine=k, state=state, now_s=3600.0, calendar_h=1.0, maintenance_queue=3)
        for k, state in enumerate(sorted(DOWN_STATES))
    ]
    return [
        first,
        *down,
        first._replace(state="busy", vibration_mm_s=1e6, temperature_c=-1e6, reading_age_s=1e6),
        first._replace(
            state="blocked",
            vibration_mm_s=0.0,
            temperature_c=22.0,
            pressure_bar=0.0,
            humidity_pct=100.0,
            reading_age_s=0.0,
            operating_h=40_000.0,
            calendar_h=50_000.0,
            parts=10**7,
            failures=10_000,
            maintenance_queue=1000,
        ),
    ]


def _maintenance_check(action: object, obs: MaintenanceObservation, policy_id: str) -> object:
    return check_maintenance_action(action, obs, policy_id)


def _maintenance_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # Three days of the default flow line: every machine reports many times, and wear
    # moves far enough for condition rules to act.
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=3 * SECONDS_PER_DAY, tick_s=600.0)
    return config, None


MAINTENANCE = PolicyKit(
    domain="factory.maintenance",
    observations=maintenance_observations,
    edge_cases=maintenance_edge_cases,
    check_action=_maintenance_check,
    run_config=_maintenance_run,
)


def _grid_layout(columns: int, rows: int) -> Layout:
    nodes = {f"n{x}_{y}": (10.0 * x, 8.0 * y) for x in range(columns) for y in range(rows)}
    edges: list[tuple[str, str]] = []
    for x in range(columns):
        for y in range(rows):
            if x + 1 < columns:
                edges.append((f"n{x}_{y}", f"n{x + 1}_{y}"))
            if y + 1 < rows:
                edges.append((f"n{x}_{y}", f"n{x}_{y + 1}"))
    return Layout(LayoutSpec(nodes=nodes, edges=edges, chargers=["n0_0"]))


_LAYOUTS = (_grid_layout(1, 2), _grid_layout(3, 3), _grid_layout(6, 2))


@st.composite
def dispatch_observations(draw: st.DrawFn) -> DispatchObservation:
    """A fleet at a decision epoch: any mix of idle, busy and flat AGVs and requests."""
    layout = draw(st.sampled_from(_LAYOUTS))
    node = st.sampled_from(layout.nodes)
    now_s = draw(st.floats(0.0, 1e7, allow_nan=False))
    requests = tuple(
        TransportRequest(
            k, pickup, drop, draw(st.floats(0.0, now_s)), layout.distance_m(pickup, drop)
        )
        for k, (pickup, drop) in enumerate(draw(st.lists(st.tuples(node, node), max_size=8)))
    )
    agvs = []
    for k in range(draw(st.integers(1, 6))):
        state = draw(st.sampled_from(("idle", "to_pickup", "loaded", "to_charger", "charging")))
        range_m = draw(st.just(math.inf) | st.floats(0.0, 500.0))
        soc = 1.0 if math.isinf(range_m) else min(1.0, range_m / 500.0)
        agvs.append(AgvView(k, draw(node), state == "idle", soc, range_m, state))
    return DispatchObservation(now_s, requests, tuple(agvs), layout)


def dispatch_edge_cases() -> list[DispatchObservation]:
    """No request, no idle AGV, every AGV flat, more requests than AGVs, pickup = drop."""
    layout = _LAYOUTS[1]
    a, b = layout.nodes[0], layout.nodes[-1]
    request = TransportRequest(0, a, b, 0.0, layout.distance_m(a, b))
    idle = AgvView(0, b, True, 1.0, 400.0, "idle")
    busy = idle._replace(idle=False, state="loaded")
    flat = idle._replace(soc=0.0, range_m=0.0)
    many = tuple(request._replace(number=k) for k in range(5))
    same = TransportRequest(0, a, a, 0.0, 0.0)
    return [
        DispatchObservation(0.0, (), (idle,), layout),
        DispatchObservation(10.0, (request,), (busy, busy._replace(id=1)), layout),
        DispatchObservation(10.0, (request,), (flat, flat._replace(id=1, node=a)), layout),
        DispatchObservation(10.0, many, (idle, idle._replace(id=1, node=a)), layout),
        DispatchObservation(10.0, (same,), (idle,), layout),
    ]


def _dispatch_check(action: object, obs: DispatchObservation, policy_id: str) -> object:
    return check_dispatch_action(action, obs, policy_id)


def _dispatch_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # The plant resolves its dispatch policy by reference, so the maintenance policy is
    # the scenario's default and the policy under test rides in the params.
    config = ScenarioConfig(
        id="factory/jobshop-agv-v0",
        horizon_s=SECONDS_PER_DAY,
        tick_s=600.0,
        params={"dispatch_policy": policy_ref},
    )
    return config, "maintenance/run-to-failure-v0"


def _dispatch_info() -> dict[str, Any]:
    return {"agvs": 5}  # what the plant tells its dispatcher: the job shop's fleet size


DISPATCH = PolicyKit(
    domain="factory.dispatch",
    observations=dispatch_observations,
    edge_cases=dispatch_edge_cases,
    check_action=_dispatch_check,
    run_config=_dispatch_run,
    context_info=_dispatch_info,
)


@st.composite
def flow_line_params(draw: st.DrawFn) -> dict[str, Any]:
    """Short lines of 1-3 stations with 1-2 machines, buffers of 0-3 places (0: blocking
    hand-over), 1-2 technicians, and wear fast enough that machines fail within a day."""
    shape = draw(st.lists(st.tuples(st.integers(1, 2), st.integers(0, 3)), min_size=1, max_size=3))
    stations = [
        {
            "name": f"s{k}",
            "machines": machines,
            "buffer": places,
            "processing": {"kind": "gamma", "mean": 50.0 * machines, "cv": 0.5},
            "degradation": {"drift_per_h": draw(st.sampled_from([1 / 200, 1 / 20]))},
        }
        for k, (machines, places) in enumerate(shape)
    ]
    return {
        "products": [
            {
                "name": "p",
                "route": [station["name"] for station in stations],
                "interarrival": {"kind": "exponential", "mean": draw(st.floats(40.0, 200.0))},
            }
        ],
        "stations": stations,
        "crew": {"technicians": draw(st.integers(1, 2))},
    }


def plant_invariants(scenario: Scenario[Any], world: World) -> list[str]:
    """Parts are conserved; every machine is in one state; crew, buffers, AGV lanes and
    batteries stay within their capacity; health never goes below new."""
    plant = scenario.plant  # type: ignore[attr-defined]
    problems = []
    accounted = plant.finished.count + plant.scrapped.count + plant.wip.level
    if plant.released.count != accounted:
        problems.append(
            f"parts not conserved: released {plant.released.count} != good "
            f"{plant.finished.count} + scrapped {plant.scrapped.count} + WIP {plant.wip.level}"
        )
    for machine in plant.machines:
        if machine.state not in MACHINE_STATES:
            problems.append(f"machine {machine.name} in unknown state {machine.state!r}")
    technicians = plant.params.crew.technicians
    if not 0 <= plant.crew.busy.level <= technicians:
        problems.append(f"{plant.crew.busy.level} technicians busy of {technicians}")
    for buffer in plant.buffers:
        if not 0 <= buffer.held <= buffer.capacity:
            problems.append(f"buffer {buffer.name} holds {buffer.held} of {buffer.capacity}")
    if not bool(np.all(plant.health >= 0.0)):
        problems.append(f"negative health {plant.health.min()}")
    fleet = getattr(plant, "fleet", None)
    if fleet is not None:
        for segment, lane in fleet.lanes.items():
            if lane.count > 1:
                problems.append(f"{lane.count} AGVs on segment {segment} at once")
        battery_kwh = fleet.spec.battery_kwh
        for agv in fleet.agvs:
            if not -1e-9 <= agv.energy_kwh <= battery_kwh + 1e-9:
                problems.append(f"AGV {agv.index} holds {agv.energy_kwh} kWh of {battery_kwh}")
    return problems


INVARIANTS: dict[str, Invariants] = {"factory.maintenance": plant_invariants}
SCENARIO_KITS = {
    "factory/flowline-v0": ScenarioKit(
        params=flow_line_params, horizon_s=SECONDS_PER_DAY, invariants=plant_invariants
    ),
    "factory/jobshop-agv-v0": ScenarioKit(horizon_s=SECONDS_PER_DAY, invariants=plant_invariants),
    # 1,000 machines: a few simulated hours are already many thousand events.
    "factory/plant-1000-v0": ScenarioKit(
        horizon_s=6 * SECONDS_PER_HOUR, invariants=plant_invariants, check_period_s=1800.0
    ),
}
