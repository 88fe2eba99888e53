"""Hypothesis strategies and edge cases of the factory (needs the ``testing`` extra).

:mod:`twin.factory.domain` imports this module only when a strategy or an edge case is
asked for, so importing the domain does not import hypothesis.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from twin.factory.layout import Edge, Layout, LayoutSpec
from twin.factory.observation import (
    DOWN_STATES,
    MACHINE_STATES,
    AgvView,
    DispatchObservation,
    MaintenanceObservation,
    OpenOrder,
    PlanningObservation,
    ProductPlanView,
    StationPlanView,
    TransportRequest,
)

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


def _grid_layout(columns: int, rows: int) -> Layout:
    nodes = {f"n{x}_{y}": (10.0 * x, 8.0 * y) for x in range(columns) for y in range(rows)}
    edges: list[Edge] = []
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


# -- production planning ----------------------------------------------------------------

_PLAN_STATIONS = ("lathe", "mill", "drill")
_PLAN_PRODUCTS = (
    ProductPlanView("shaft", ("lathe", "drill"), (180.0, 100.0)),
    ProductPlanView("bracket", ("mill", "drill"), (200.0, 100.0)),
    ProductPlanView("flange", ("lathe", "mill", "drill", "lathe"), (90.0, 200.0, 100.0, 60.0)),
)


@st.composite
def planning_observations(draw: st.DrawFn) -> PlanningObservation:
    """A planning epoch: up to a dozen open orders of three products (one revisits a
    station), released or due in the past or the future, stations with machines down,
    long backlogs and no availability forecast to speak of."""
    now_s = draw(st.floats(0.0, 1e7, allow_nan=False))
    stations = []
    for name in _PLAN_STATIONS:
        machines = draw(st.integers(1, 4))
        stations.append(
            StationPlanView(
                name,
                machines,
                draw(st.integers(0, machines)),
                draw(st.floats(0.0, 1.0)),
                draw(st.sampled_from([0.0, 600.0, 1800.0])),
                draw(st.floats(0.0, 1e6, allow_nan=False)),
            )
        )
    count = draw(st.integers(0, 12))
    orders = []
    for number in sorted(draw(st.sets(st.integers(0, 10_000), min_size=count, max_size=count))):
        ready_s = draw(st.floats(max(0.0, now_s - 1e6), now_s + 1e6, allow_nan=False))
        orders.append(
            OpenOrder(
                number,
                draw(st.sampled_from([p.name for p in _PLAN_PRODUCTS])),
                draw(st.integers(1, 50)),
                ready_s,
                ready_s + draw(st.floats(0.0, 5e5, allow_nan=False)),
            )
        )
    return PlanningObservation(
        now_s,
        draw(st.sampled_from([86_400.0, 604_800.0])),
        tuple(orders),
        tuple(stations),
        _PLAN_PRODUCTS,
    )


def planning_edge_cases() -> list[PlanningObservation]:
    """No open orders; one order already late; every machine of a station down; an order
    book far beyond the capacity of the planning horizon; orders all ready at once."""
    stations = tuple(StationPlanView(name, 2, 2, 0.98, 900.0, 0.0) for name in _PLAN_STATIONS)
    empty = PlanningObservation(0.0, 86_400.0, (), stations, _PLAN_PRODUCTS)
    late = empty._replace(now_s=200_000.0, orders=(OpenOrder(3, "shaft", 10, 0.0, 100_000.0),))
    down = late._replace(
        stations=(stations[0]._replace(machines_up=0, backlog_s=50_000.0), *stations[1:])
    )
    flood = empty._replace(
        orders=tuple(
            OpenOrder(n, _PLAN_PRODUCTS[n % 3].name, 5_000, 0.0, 3_600.0) for n in range(20)
        )
    )
    together = empty._replace(
        orders=tuple(
            OpenOrder(n, _PLAN_PRODUCTS[n % 3].name, 5 + n, 0.0, 86_400.0 - 1000.0 * n)
            for n in range(9)
        )
    )
    return [empty, late, down, flood, together]
