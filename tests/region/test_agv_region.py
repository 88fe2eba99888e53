"""The region whose plant is the AGV job shop: the dispatch area decides, and goods,
trucks and money still balance across the borders."""

from __future__ import annotations

import math

import pytest

from models.dispatch.assignment import MinCostAssignment
from tests.region.support import assert_domains_sum_to_the_ledger, assert_goods_cross_the_border
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.region.config import SmallAgvRegionParams, SmallRegionParams
from twin.region.scenario import Region

AGV = "region/coupled-agv-small-v0"
HORIZON_S = 7 * 86_400.0
"""The supply plant turns the factory's parts into stock from day 6 (as on the flow line)."""


def build(policy_params: dict | None = None, scenario: str = AGV, horizon_s: float = 3600.0):
    config = ScenarioConfig(id=scenario, horizon_s=horizon_s)
    return prepare_run(config, "region/policy-set-v0", 1, policy_params=policy_params)


def test_the_agv_region_plant_is_the_job_shop_with_its_fleet():
    params = SmallAgvRegionParams()
    assert params.factory.agvs is not None
    assert params.factory.agvs.count == 5
    assert {s.name for s in params.factory.stations} == {
        "lathe",
        "mill",
        "grind",
        "drill",
        "inspect",
    }
    # Only the plant differs from the small flow-line region.
    flow_line = SmallRegionParams()
    assert params.supply == flow_line.supply
    assert params.places == flow_line.places


def test_the_policy_sets_dispatcher_and_its_params_drive_the_agvs():
    scenario: Region = build(
        {
            "dispatch": "dispatch/min-cost-assignment-v0",
            "dispatch_params": {"batch_window_s": 0.0},
        }
    ).scenario
    fleet = scenario.plant.fleet
    assert fleet is not None
    assert isinstance(fleet.policy, MinCostAssignment)
    assert fleet.policy.params.batch_window_s == 0.0


def test_the_flow_line_region_has_no_fleet_to_dispatch():
    assert build(scenario="region/coupled-small-v0").scenario.plant.fleet is None


def test_a_domain_table_amends_the_regions_own_default():
    params = SmallRegionParams(city={"demand_horizon_s": 1_209_600.0})
    assert params.city.demand_horizon_s == 1_209_600.0
    assert params.city.grid == SmallRegionParams().city.grid  # still the region's 3x3 town
    assert params.city.loop_detectors is None


@pytest.fixture(scope="module")
def week():
    run = build(horizon_s=HORIZON_S)
    run.world.run(HORIZON_S)
    return run


@pytest.mark.slow  # a week of the coupled region with AGVs
def test_goods_the_agvs_bring_to_shipping_are_shipped_or_in_stock(week):
    assert_goods_cross_the_border(week.scenario)


@pytest.mark.slow
def test_every_truck_that_leaves_arrives_or_is_still_in_the_city(week):
    road = week.scenario.road
    assert road.counts.sent > 0
    assert road.counts.sent == road.counts.arrived + road.in_city


@pytest.mark.slow
def test_the_agvs_electricity_is_the_factorys_and_the_domains_sum_to_the_ledger(week):
    assert_domains_sum_to_the_ledger(week.scenario, week.world)
    kpis = week.result(wall_s=0.0).kpis
    assert kpis["factory.agv_km"].value > 0


@pytest.mark.slow  # six coupled region-hours with AGVs, twice, and a third with another seed
def test_an_agv_region_run_is_a_function_of_its_seed():
    config = ScenarioConfig(id=AGV, horizon_s=21_600.0)
    policy = {"dispatch": "dispatch/min-cost-assignment-v0"}
    first = simulate(config, "region/policy-set-v0", 3, policy_params=policy).kpis
    again = simulate(config, "region/policy-set-v0", 3, policy_params=policy).kpis
    other = simulate(config, "region/policy-set-v0", 4, policy_params=policy).kpis
    values = {k: v.value for k, v in first.items()}
    assert values == pytest.approx({k: v.value for k, v in again.items()}, nan_ok=True, abs=0)
    assert any(
        not (math.isnan(v.value) and math.isnan(values[k])) and v.value != values[k]
        for k, v in other.items()
    )
