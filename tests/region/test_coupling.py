"""Trucks drive through the city: their times come from the drive, not a formula."""

from __future__ import annotations

import pytest

from tests.region.support import assert_a_free_flow_drive
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_HOUR
from twin.traffic.kernels import ARRIVED

pytestmark = pytest.mark.slow  # each run simulates two days of the coupled region

SMALL = "region/coupled-small-v0"
HORIZON_S = 2 * 86_400.0


def town(rate_per_s: float, green_s: float = 42.0) -> dict:
    return {
        "grid": {"rows": 3, "cols": 3, "green_s": green_s, "max_green_s": max(50.0, green_s)},
        "demand": {"rates_per_s": [rate_per_s]},
        "demand_horizon_s": HORIZON_S,
        "loop_detectors": None,
    }


def run_region(params: dict):
    run = prepare_run(
        ScenarioConfig(id=SMALL, params=params, horizon_s=HORIZON_S), "region/policy-set-v0", 1
    )
    run.world.run(HORIZON_S)
    return run


def test_in_a_free_flow_city_a_drive_is_the_supply_model_plus_starting_and_red_lights():
    # No other traffic and a driver who does not dawdle: what a truck loses against
    # distance / speed is starting from rest (v / 2a per start) and waiting at red lights.
    run = run_region({"city": town(0.0), "truck": {"sigma": 0.0}})
    scenario = run.scenario
    city, truck = scenario.city, scenario.params.truck
    limit_mps = min(scenario.params.city.grid.speed_mps, truck.max_speed_mps)
    for lane in scenario.network.lanes:
        if lane.road is not None:  # the supply twin's own model is the same drive
            model_s = lane.distance_km / lane.truck.speed_kmh * SECONDS_PER_HOUR
            route = scenario.routes[(lane.origin, lane.destination)]
            assert model_s == pytest.approx(route.length_m / limit_mps, abs=0.01)
    veh = city.veh
    arrived = [t for t in sorted(scenario.road.trucks) if veh.state[t] == ARRIVED]
    assert len(arrived) >= 4
    for trip in arrived:
        assert_a_free_flow_drive(scenario, trip, scenario.road.length_m(trip) / limit_mps)


def test_another_signal_plan_changes_the_trucks_and_the_supply_chain():
    short = run_region({"city": town(0.3, green_s=42.0)}).result(wall_s=0.0).kpis
    long = run_region({"city": town(0.3, green_s=90.0)}).result(wall_s=0.0).kpis
    # Few drives in two days: which plan is faster for them is chance; that they differ is not.
    drive_short, drive_long = short["truck_drive_mean_s"].value, long["truck_drive_mean_s"].value
    assert abs(drive_long - drive_short) > 0.05 * drive_short
    assert long["supply.order_lead_time_days"].value != short["supply.order_lead_time_days"].value
    assert long["co2e_supply_kg"].value != short["co2e_supply_kg"].value
