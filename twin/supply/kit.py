"""Test kit of the supply chain: generated observations and edge cases of replenishment
and transport policies, generated networks, and the invariants as a ``ScenarioKit``
calls them.

Imports hypothesis (the ``testing`` extra): :mod:`twin.supply.domain` imports it lazily.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from twin.core.scenario import Scenario, ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.core.world import World
from twin.supply.network import SupplyNetwork
from twin.supply.observation import (
    ReplenishmentObservation,
    TransportObservation,
    WaitingLoad,
)

_KINDS = ("plant", "dc", "retailer")


def _history(max_size: int) -> st.SearchStrategy[list[float]]:
    return st.lists(
        st.one_of(st.integers(0, 200).map(float), st.floats(0.0, 1e7, allow_nan=False)),
        max_size=max_size,
    )


HISTORY_DAYS = 91
"""Days of demand history a network shows by default (``history_days``)."""


def on_day(observation: ReplenishmentObservation, day: int) -> ReplenishmentObservation:
    """``observation`` as a review on ``day`` makes it: sites review at 00:00."""
    return observation._replace(day=day, now_s=day * SECONDS_PER_DAY)


@st.composite
def replenishment_observations(draw: st.DrawFn) -> ReplenishmentObservation:
    """A site at its review: any stock, backlog and history, priced and promoted or not;
    the time, day, history length and echelon agree as in a run."""
    kind = draw(st.sampled_from(_KINDS))
    history = draw(_history(120))
    n = len(history)
    # A site has seen one day of history a day, so the review is on day n or later.
    day = draw(st.integers(n, 10_000) if n < HISTORY_DAYS else st.integers(n, n + 10_000))
    priced = kind == "retailer" and draw(st.booleans())
    prices = tuple(draw(st.lists(st.floats(0.5, 50.0), min_size=n, max_size=n))) if priced else ()
    promotions = tuple(draw(st.lists(st.booleans(), min_size=n, max_size=n))) if priced else ()
    plan = draw(st.integers(0, 28)) if priced else 0
    on_hand = draw(st.integers(0, 10**6))
    on_order = draw(st.integers(0, 10**6))
    backorders = draw(st.integers(0, 10**6))
    lead_mean = draw(st.floats(0.0, 60.0))
    return ReplenishmentObservation(
        now_s=day * SECONDS_PER_DAY,
        day=day,
        site=draw(st.sampled_from(["store", "dc00", "plant", "r00-03"])),
        kind=kind,
        echelon=1 if kind == "retailer" else draw(st.integers(2, 5)),
        review_period_days=draw(st.integers(1, 28)),
        on_hand=on_hand,
        on_order=on_order,
        backorders=backorders,
        inventory_position=on_hand + on_order - backorders,
        lead_time_mean_days=lead_mean,
        lead_time_std_days=draw(st.floats(0.0, 30.0)),
        demand_history=tuple(history),
        price_history=prices,
        promotion_history=promotions,
        price_plan=tuple(draw(st.lists(st.floats(0.5, 50.0), min_size=plan, max_size=plan))),
        promotion_plan=tuple(draw(st.lists(st.booleans(), min_size=plan, max_size=plan))),
        holding_cost_per_unit_day=draw(st.floats(0.0, 10.0)),
        shortage_cost_per_unit=draw(st.floats(0.0, 100.0)),
        order_cost=draw(st.floats(0.0, 1000.0)),
        lost_sales=draw(st.booleans()),
        shelf_life_days=draw(st.just(math.inf) | st.integers(1, 365).map(float)),
    )


def replenishment_edge_cases() -> list[ReplenishmentObservation]:
    """No history at all, zero stock, huge backorders, a constant or a huge history,
    a promotion on every planned day, free holding with a cost per order."""
    empty = ReplenishmentObservation(
        now_s=0.0,
        day=0,
        site="store",
        kind="retailer",
        echelon=1,
        review_period_days=1,
        on_hand=0,
        on_order=0,
        backorders=0,
        inventory_position=0,
        lead_time_mean_days=0.0,
        lead_time_std_days=0.0,
        demand_history=(),
        price_history=(),
        promotion_history=(),
        price_plan=(),
        promotion_plan=(),
        holding_cost_per_unit_day=0.01,
        shortage_cost_per_unit=1.0,
        order_cost=0.0,
        lost_sales=False,
        shelf_life_days=math.inf,
    )
    flat = (20.0,) * HISTORY_DAYS
    priced = on_day(empty, 400)._replace(
        demand_history=flat,
        price_history=(2.0,) * HISTORY_DAYS,
        promotion_history=(True,) * HISTORY_DAYS,
        price_plan=(1.6,) * 28,
        promotion_plan=(True,) * 28,
    )
    return [
        empty,
        empty._replace(
            kind="dc", site="dc00", echelon=2, review_period_days=7, lead_time_mean_days=14.0
        ),
        on_day(empty, 91)._replace(
            backorders=10**9, inventory_position=-(10**9), demand_history=flat
        ),
        on_day(empty, 91)._replace(
            demand_history=(0.0,) * HISTORY_DAYS, lost_sales=True, shelf_life_days=1.0
        ),
        on_day(empty, 30)._replace(demand_history=(1e9,) * 30, lead_time_std_days=30.0),
        priced,
        on_day(empty, 91)._replace(
            demand_history=flat,
            holding_cost_per_unit_day=0.0,
            order_cost=500.0,
            on_hand=10**6,
            inventory_position=10**6,
        ),
    ]


def replenishment_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # Sixty days of the single store: a policy sees an empty history, then a full one.
    return ScenarioConfig(id="supply/single-echelon-v0", horizon_s=60 * SECONDS_PER_DAY), None


@st.composite
def transport_observations(draw: st.DrawFn) -> TransportObservation:
    """Loads waiting on a lane and on up to four other lanes of its origin: any amount,
    age, due time, fleet state and destination stock, on a map or not."""
    units_per_pallet = draw(st.integers(1, 100))
    kg_per_unit = draw(st.floats(0.01, 100.0))
    capacity_pallets = draw(st.integers(1, 40))
    capacity_kg = units_per_pallet * kg_per_unit * draw(st.floats(1.0, 40.0))
    per_truck = min(capacity_pallets * units_per_pallet, int(capacity_kg // kg_per_unit))
    now_s = draw(st.floats(0.0, 1e9))
    total = draw(st.integers(1, 10))
    names = ["r00-01", *(f"r00-{k:02d}" for k in range(2, 2 + draw(st.integers(0, 4))))]
    loads = []
    for name in names:
        units = draw(st.integers(0 if name == names[0] else 1, 10**6))
        if units == 0:
            continue
        full, part = divmod(units, per_truck)
        loads.append(
            WaitingLoad(
                destination=name,
                distance_km=draw(st.floats(0.0, 2000.0)),
                units=units,
                full_loads=full,
                part_units=part,
                part_pallets=math.ceil(part / units_per_pallet),
                part_kg=part * kg_per_unit,
                oldest_wait_s=draw(st.floats(0.0, 1e7)),
                due_s=draw(st.sampled_from([math.inf, now_s]) | st.floats(0.0, 2e9)),
            )
        )
    here = next((load for load in loads if load.destination == names[0]), None)
    units = here.units if here is not None else 0
    # Symmetric road km within what going back through the origin takes.
    road = [[0.0] * len(loads) for _ in loads]
    for i, a in enumerate(loads):
        for j in range(i + 1, len(loads)):
            share = draw(st.floats(0.0, 1.0))
            road[i][j] = road[j][i] = share * (a.distance_km + loads[j].distance_km)
    return TransportObservation(
        now_s=now_s,
        origin="dc00",
        destination=names[0],
        distance_km=here.distance_km if here is not None else draw(st.floats(0.0, 2000.0)),
        pending_units=units,
        pending_pallets=math.ceil(units / units_per_pallet),
        pending_kg=units * kg_per_unit,
        oldest_wait_s=here.oldest_wait_s if here is not None else 0.0,
        shipments=draw(st.integers(0 if units == 0 else 1, 50)),
        truck_capacity_pallets=capacity_pallets,
        truck_capacity_kg=capacity_kg,
        trucks_idle=draw(st.integers(0, total)),
        trucks_total=total,
        destination_on_hand=draw(st.integers(0, 10**6)),
        destination_backorders=draw(st.integers(0, 10**6)),
        waiting=tuple(loads),
        road_km=tuple(tuple(row) for row in road),
        truck_speed_kmh=draw(st.floats(1.0, 200.0)),
        truck_dock_time_s=draw(st.floats(0.0, 3600.0)),
        truck_handling_s_per_pallet=draw(st.floats(0.0, 600.0)),
        truck_fixed_cost=draw(st.floats(0.0, 1000.0)),
        truck_cost_per_km=draw(st.floats(0.0, 10.0)),
    )


def transport_edge_cases() -> list[TransportObservation]:
    """Nothing waiting, one unit, far more than a truck, no idle truck, a destination out;
    then an origin with three waiting lanes: on a map, overdue, and more than a fleet."""
    one = TransportObservation(
        0.0, "dc00", "r00-01", 0.0, 1, 1, 12.0, 0.0, 1, 33, 24_000.0, 1, 1, 50, 0
    )
    loads = (
        WaitingLoad("r00-01", 20.0, 80, 0, 80, 2, 960.0, 3600.0, 2 * SECONDS_PER_DAY),
        WaitingLoad("r00-02", 35.0, 1400, 1, 80, 2, 960.0, 0.0, -SECONDS_PER_DAY),
        WaitingLoad("r00-03", 50.0, 1320, 1, 0, 0, 0.0, 7200.0, math.inf),
    )
    road = ((0.0, 18.5, 40.0), (18.5, 0.0, 30.0), (40.0, 30.0, 0.0))
    three = one._replace(
        distance_km=20.0,
        pending_units=80,
        pending_pallets=2,
        pending_kg=960.0,
        oldest_wait_s=3600.0,
        waiting=loads,
        road_km=road,
    )
    return [
        one._replace(pending_units=0, pending_pallets=0, pending_kg=0.0, shipments=0),
        one,
        one._replace(pending_units=10**6, pending_pallets=25_000, pending_kg=1.2e7),
        one._replace(trucks_idle=0, oldest_wait_s=1e7),
        one._replace(destination_on_hand=0, destination_backorders=10**6),
        three,
        three._replace(trucks_idle=0, trucks_total=1, truck_capacity_pallets=3),
    ]


def transport_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # The network resolves its transport policy by reference, so base stock decides the
    # orders and the policy under test rides in the params.
    config = ScenarioConfig(
        id="supply/single-echelon-v0",
        horizon_s=30 * SECONDS_PER_DAY,
        params={"transport_policy": policy_ref},
    )
    return config, "replenishment/base-stock-v0"


def transport_info() -> dict[str, Any]:
    return {"lanes": 1}  # what the network tells its transport policy: the store's lane


def _lead_time() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda d: {"kind": "deterministic", "value": d * SECONDS_PER_DAY}, st.integers(0, 4)
        ),
        st.builds(
            lambda m, cv: {"kind": "gamma", "mean": m * SECONDS_PER_DAY, "cv": cv},
            st.floats(0.1, 3.0),
            st.floats(0.1, 1.5),
        ),
    )


@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    """Small valid networks: a supplier, maybe a plant, 0-2 DCs and 1-4 retailers, with
    random lead times, review periods, lost sales or backorders, spoiling stock, few
    and small trucks (so loads split), and any of the transport policies (the route
    planner among them, so that tours meet the invariants)."""
    sites: list[dict[str, Any]] = [
        {"name": "sup", "kind": "supplier", "trucks": draw(st.integers(1, 3))}
    ]
    upstream = "sup"
    if draw(st.booleans()):
        sites.append(_stocked(draw, "plant", "plant", "sup"))
        sites[-1]["capacity_units_per_day"] = draw(st.floats(5.0, 500.0))
        upstream = "plant"
    dcs = [f"dc{k}" for k in range(draw(st.integers(0, 2)))]
    for dc in dcs:
        sites.append(_stocked(draw, dc, "dc", upstream))
    for k in range(draw(st.integers(1, 4))):
        source = draw(st.sampled_from(dcs or [upstream]))
        retailer = _stocked(draw, f"r{k}", "retailer", source)
        retailer["trucks"] = 0
        retailer["demand"] = {
            "base_per_day": draw(st.floats(0.5, 60.0)),
            "noise": draw(st.sampled_from(["poisson", "negative_binomial"])),
            "promotion_probability": draw(st.sampled_from([0.0, 0.3])),
            "trend_per_year": draw(st.floats(-0.5, 1.0)),
        }
        sites.append(retailer)
    units_per_pallet = draw(st.integers(1, 20))
    kg_per_unit = draw(st.floats(0.5, 50.0))
    policy = draw(
        st.sampled_from(
            ["transport/ship-now-v0", "transport/consolidate-v0", "transport/cvrptw-v0"]
        )
    )
    return {
        "sites": sites,
        "product": {"units_per_pallet": units_per_pallet, "kg_per_unit": kg_per_unit},
        "truck": {
            "capacity_pallets": draw(st.integers(1, 4)),
            "capacity_kg": units_per_pallet * kg_per_unit * draw(st.floats(1.0, 5.0)),
        },
        "transport_policy": policy,
    }


def _stocked(draw: st.DrawFn, name: str, kind: str, source: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "source": source,
        "distance_km": draw(st.floats(0.0, 300.0)),
        "lead_time": draw(_lead_time()),
        "review_period_days": draw(st.integers(1, 7)),
        "initial_on_hand": draw(st.integers(0, 300)),
        "lost_sales": kind == "retailer" and draw(st.booleans()),
        "shelf_life_days": draw(st.none() | st.integers(1, 10)),
        "obsolescence_cost_per_unit": 1.0,
        "shortage_cost_per_unit": 1.0,
        "order_cost": draw(st.sampled_from([0.0, 25.0])),
        "trucks": draw(st.integers(1, 3)),
    }


def scenario_invariants(scenario: Scenario[Any], world: World) -> list[str]:
    """:func:`network_invariants` of the network in ``world`` (what a ``ScenarioKit`` calls)."""
    from twin.supply.domain import network_invariants  # the contract imports this kit lazily

    return network_invariants(world.the(SupplyNetwork), world)
