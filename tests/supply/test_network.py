"""The network: conservation, capacities and clocks under generated networks, and the
mechanics each KPI rests on (trucks, consolidation, lost sales, spoilage, capacity)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.core.ledger import DIESEL_COMBUSTION
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.supply.domain import network_invariants
from twin.supply.kit import networks
from twin.supply.network import SupplyNetwork

POLICIES = ("replenishment/base-stock-v0", "replenishment/min-max-v0", "replenishment/forecast-v0")


def prepared(params: dict[str, Any], policy: str, seed: int, days: float):
    config = ScenarioConfig(
        id="supply/single-echelon-v0", params=params, horizon_s=days * SECONDS_PER_DAY
    )
    return prepare_run(config, policy, seed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=networks(), policy=st.sampled_from(POLICIES), seed=st.integers(0, 1000))
def test_invariants_hold_every_few_hours_of_generated_networks(params, policy, seed):
    run = prepared(params, policy, seed, 40)
    broken: list[str] = []

    def watch():
        while True:
            yield run.world.env.timeout(5 * SECONDS_PER_HOUR)
            broken.extend(network_invariants(run.world.the(SupplyNetwork), run.world))

    run.world.env.process(watch())
    run.world.run(40 * SECONDS_PER_DAY)
    assert not broken, broken[:3]
    assert not network_invariants(run.world.the(SupplyNetwork), run.world)
    network = run.scenario.network
    assert all(site.on_hand >= 0 for site in network.sites)


def test_the_invariants_catch_lost_stock_and_an_overloaded_truck():
    run = prepared({}, "replenishment/base-stock-v0", 1, 10)
    run.world.run(10 * SECONDS_PER_DAY)
    assert network_invariants(run.world.the(SupplyNetwork), run.world) == []
    network = run.scenario.network
    network.sites[1].on_hand -= 1
    network.transport_checks.max_pallets = 34
    problems = network_invariants(run.world.the(SupplyNetwork), run.world)
    assert any(p.startswith("store: initial 60 + received") for p in problems), problems
    assert any("a truck carried 34 pallets" in p for p in problems), problems


def one_store(**store: Any) -> dict[str, Any]:
    return {
        "sites": [
            {"name": "sup", "kind": "supplier", "trucks": 3},
            {
                "name": "store",
                "kind": "retailer",
                "source": "sup",
                "trucks": 0,
                "demand": {"base_per_day": 20.0},
                **store,
            },
        ]
    }


def test_an_order_larger_than_a_truck_is_split_and_no_truck_is_overloaded():
    params = one_store(initial_on_hand=0)
    params["truck"] = {"capacity_pallets": 2, "capacity_kg": 2000.0}
    params["product"] = {"units_per_pallet": 10, "kg_per_unit": 40.0}  # 400 kg a pallet
    run = prepared(params, "replenishment/base-stock-v0", 3, 30)
    run.world.run(30 * SECONDS_PER_DAY)
    network = run.scenario.network
    # Four pallets fit by weight, two by floor space: 20 units a truck.
    assert network.lanes[0].units_per_truck == 20
    assert network.transport_checks.max_pallets == 2
    assert network.transport_checks.max_kg <= 2000.0
    kpis = run.result(wall_s=0.0).kpis
    assert kpis["truck_trips"].value > 30  # 20 units a day and more: more than a trip a day
    assert 0 < kpis["load_factor"].value <= 1.0
    assert network_invariants(run.world.the(SupplyNetwork), run.world) == []


def test_fuel_and_co2e_follow_load_and_distance():
    kpis = simulate(
        ScenarioConfig(id="supply/single-echelon-v0", horizon_s=30 * SECONDS_PER_DAY),
        "replenishment/base-stock-v0",
        2,
    ).kpis
    trips = kpis["truck_trips"].value
    assert kpis["truck_km"].value == pytest.approx(trips * 80.0)  # 40 km out and back
    # Fuel lies between an empty and a full truck over every kilometre.
    assert trips * 80 * 0.24 <= kpis["fuel_l"].value <= trips * 80 * 0.33
    factor = DIESEL_COMBUSTION.kg_co2e_per_unit
    assert kpis["co2e_kg"].value == pytest.approx(kpis["fuel_l"].value * factor)


def test_consolidation_trades_trips_for_lead_time_on_the_same_demand():
    def run(transport: str, **extra: Any):
        params = {"transport_policy": transport, **extra}
        config = ScenarioConfig(
            id="supply/regional-v0",
            params=params,
            horizon_s=60 * SECONDS_PER_DAY,
            warmup_s=14 * SECONDS_PER_DAY,
        )
        return simulate(config, "replenishment/base-stock-v0", 5).kpis

    now = run("transport/ship-now-v0")
    later = run(
        "transport/consolidate-v0", transport_policy_params={"max_wait_s": 2 * SECONDS_PER_DAY}
    )
    assert later["demand_units"].value == now["demand_units"].value  # common random numbers
    assert later["truck_km"].value < 0.7 * now["truck_km"].value
    assert later["load_factor"].value > now["load_factor"].value
    assert later["retailer_order_lead_time_days"].value > now["retailer_order_lead_time_days"].value
    assert later["co2e_kg"].value < now["co2e_kg"].value


def test_lost_sales_are_lost_and_backorders_wait():
    def run(lost: bool):
        params = one_store(initial_on_hand=0, lost_sales=lost, shortage_cost_per_unit=1.0)
        config = ScenarioConfig(
            id="supply/single-echelon-v0", params=params, horizon_s=20 * SECONDS_PER_DAY
        )
        # S = 10 against 20 a day: every day ends short.
        r = prepare_run(config, "replenishment/base-stock-v0", 4, policy_params={"order_up_to": 10})
        r.world.run(20 * SECONDS_PER_DAY)
        return r

    lost = run(True)
    waiting = run(False)
    store = lost.scenario.network.sites[1]
    assert store.customer_backorders == 0
    lost_kpis = lost.result(wall_s=0).kpis
    assert lost_kpis["lost_sales_units"].value > 0
    assert lost_kpis["cost_shortage"].value == lost_kpis["lost_sales_units"].value
    assert waiting.scenario.network.sites[1].customer_backorders > 0
    assert waiting.result(wall_s=0).kpis["lost_sales_units"].value == 0


def test_stock_past_its_shelf_life_is_scrapped_and_written_off():
    params = one_store(initial_on_hand=500, shelf_life_days=3, obsolescence_cost_per_unit=2.0)
    run = prepared(params, "replenishment/base-stock-v0", 1, 10)
    run.world.run(10 * SECONDS_PER_DAY)
    store = run.scenario.network.sites[1]
    kpis = run.result(wall_s=0).kpis
    assert store.scrapped > 300  # 500 units, about 60 sold before day 3 closes
    assert kpis["cost_obsolescence"].value == pytest.approx(2.0 * store.scrapped)
    assert kpis["cost_material"].value == kpis["cost_obsolescence"].value


def test_the_fixed_cost_of_orders_is_cost_ordering_booked_once_as_cost_other():
    run = prepared(one_store(order_cost=25.0), "replenishment/base-stock-v0", 1, 10)
    run.world.run(10 * SECONDS_PER_DAY)
    kpis = run.result(wall_s=0).kpis
    orders = run.scenario.network.orders_placed.count
    assert orders > 0
    assert kpis["cost_ordering"].value == 25.0 * orders
    assert kpis["cost_other"].value == kpis["cost_ordering"].value
    categories = [v.value for k, v in kpis.items() if k.startswith("cost_") and k != "cost_total"]
    details = kpis["cost_ordering"].value + kpis["cost_obsolescence"].value
    assert kpis["cost_total"].value == pytest.approx(sum(categories) - details)


def test_a_plant_makes_no_more_than_its_capacity():
    sites = [
        {"name": "sup", "kind": "supplier"},
        {"name": "plant", "kind": "plant", "source": "sup", "capacity_units_per_day": 15.0},
        {
            "name": "store",
            "kind": "retailer",
            "source": "plant",
            "trucks": 0,
            "demand": {"base_per_day": 20.0},
        },
    ]
    run = prepared({"sites": sites}, "replenishment/base-stock-v0", 1, 60)
    run.world.run(60 * SECONDS_PER_DAY)
    plant = run.scenario.network.sites[1]
    made = plant.received - plant.raw
    assert made <= 15 * 60
    assert made >= 15 * 40  # demand outruns it: it works near capacity once stocked
    kpis = run.result(wall_s=0).kpis
    assert kpis["fill_rate"].value < 0.8  # 15 a day cannot serve 20


def test_the_same_seed_gives_the_same_kpis_and_policies_share_demand():
    config = ScenarioConfig(id="supply/regional-v0", horizon_s=20 * SECONDS_PER_DAY)
    first = simulate(config, "replenishment/forecast-v0", 9).kpis
    again = simulate(config, "replenishment/forecast-v0", 9).kpis
    other = simulate(config, "replenishment/min-max-v0", 9).kpis
    assert {k: v.value for k, v in first.items() if not math.isnan(v.value)} == {
        k: v.value for k, v in again.items() if not math.isnan(v.value)
    }
    assert other["demand_units"].value == first["demand_units"].value


def test_echelons_and_bullwhip_kpis_follow_the_network_depth():
    kpis = simulate(
        ScenarioConfig(
            id="supply/regional-v0", horizon_s=50 * SECONDS_PER_DAY, warmup_s=7 * SECONDS_PER_DAY
        ),
        "replenishment/base-stock-v0",
        1,
    ).kpis
    assert {k for k in kpis if k.startswith("bullwhip")} == {
        "bullwhip_echelon_1",
        "bullwhip_echelon_2",
        "bullwhip_echelon_3",
    }
    assert all(kpis[f"bullwhip_echelon_{e}"].value >= 0 for e in (1, 2, 3))
    by_echelon = sum(kpis[f"avg_inventory_echelon_{e}_units"].value for e in (1, 2, 3))
    assert by_echelon == pytest.approx(kpis["avg_inventory_units"].value)
