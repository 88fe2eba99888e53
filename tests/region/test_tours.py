"""Multi-stop truck tours drive through the city leg by leg, as single trips do: the
city's drive is the tour's time, the city books its diesel, and in a free-flow city each
leg takes the supply twin's own km / speed of that leg."""

from __future__ import annotations

import pytest

from tests.region.support import (
    assert_a_free_flow_drive,
    assert_domains_sum_to_the_ledger,
    assert_every_truck_arrives_or_is_in_the_city,
)
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_HOUR
from twin.region.scenario import Region
from twin.supply.transport import Depot

pytestmark = pytest.mark.slow  # a day and a half of the coupled region (about a minute)

SMALL = "region/coupled-small-v0"
HORIZON_S = 1.5 * 86_400.0
"""The retailers order at the first midnight; by the next morning the route planner has
sent the DC's part loads to both of them on one tour, and the tour is back."""


@pytest.fixture(scope="module")
def toured():
    # A free-flow city (no other traffic, a driver who does not dawdle) with the route
    # planner deciding the trucks.
    params = {"city": {"demand": {"rates_per_s": [0.0]}}, "truck": {"sigma": 0.0}}
    run = prepare_run(
        ScenarioConfig(id=SMALL, params=params, horizon_s=HORIZON_S),
        "region/policy-set-v0",
        1,
        policy_params={"transport": "transport/cvrptw-v0"},
    )
    run.world.run(HORIZON_S)
    return run


def dc_depot(scenario: Region) -> Depot:
    return scenario.network.depots["dc0"]


def trip_of(vehicle: str) -> int:
    return int(vehicle.removeprefix("vehicle"))


def test_the_dcs_tour_km_are_the_citys_road_lengths(toured):
    scenario: Region = toured.scenario
    depot = dc_depot(scenario)
    ends = [lane.destination for lane in depot.lanes]
    assert ends == ["r00", "r01"]
    for i, a in enumerate(ends):
        for j, b in enumerate(ends):
            expected = 0.0 if a == b else round(scenario.routes[(a, b)].length_m / 1000, 4)
            assert depot.road_km[i][j] == expected


def test_a_tour_drives_each_leg_through_the_city_and_comes_back(toured):
    scenario: Region = toured.scenario
    depot = dc_depot(scenario)
    legs = [(a, b) for a, b, _ in depot.drives]
    # One tour, from the DC through both retailers (the order is the planner's).
    assert len(legs) == 2
    assert legs[0][0] == "dc0"
    assert legs[0][1] == legs[1][0]
    assert {legs[0][1], legs[1][1]} == {"r00", "r01"}
    assert scenario.network.transport_stats.routes >= 1
    veh = scenario.city.veh
    for _, _, drive in depot.drives:
        assert trip_of(drive.vehicle) in scenario.road.trucks
        assert drive.arrived_s == veh.arrive_s[trip_of(drive.vehicle)]
    # The truck's last drive is its empty way back to the DC, arrived.
    back = [
        drive
        for vehicle, drive in scenario.road.by_vehicle.items()
        if vehicle.startswith("trucks.dc0.") and drive.origin == legs[-1][1]
    ]
    assert len(back) == 1
    assert back[0].destination == "dc0"
    assert back[0].cargo is not None
    assert back[0].cargo.units == 0
    assert back[0].arrived_s > depot.drives[-1][2].arrived_s


def test_the_city_books_the_tours_diesel_and_the_supply_twin_none(toured):
    scenario: Region = toured.scenario
    ledger_entities = {entity for _, entity, _, _, _ in toured.world.ledger.use_rows()}
    # The DC's trucks drive only the city: no row of the supply twin's fuel model.
    assert not any(entity.startswith("trucks.dc0.") for entity in ledger_entities)
    for _, _, drive in dc_depot(scenario).drives:
        assert drive.vehicle in ledger_entities
    accounts = assert_domains_sum_to_the_ledger(scenario, toured.world)
    assert accounts["supply"]["fuel_l"] > 0


def test_every_truck_that_leaves_arrives_or_is_still_in_the_city(toured):
    assert_every_truck_arrives_or_is_in_the_city(toured.scenario)


def test_in_a_free_flow_city_each_leg_takes_the_supply_twins_own_time(toured):
    scenario: Region = toured.scenario
    depot = dc_depot(scenario)
    truck = depot.lanes[0].truck
    limit_mps = min(scenario.params.city.grid.speed_mps, scenario.params.truck.max_speed_mps)
    lane = {"dc0": None, **depot.by_destination}
    back = next(
        drive
        for vehicle, drive in scenario.road.by_vehicle.items()
        if vehicle.startswith("trucks.dc0.") and drive.destination == "dc0"
    )
    legs = [(a, b, trip_of(drive.vehicle)) for a, b, drive in depot.drives]
    legs.append((back.origin, back.destination, back.trip))
    for a, b, trip in legs:
        # The supply twin's own model of the leg (its km over its speed) is the city's
        # free-flow drive of the same route ...
        model_s = depot.leg_km(lane[a], lane[b]) / truck.speed_kmh * SECONDS_PER_HOUR
        assert model_s == pytest.approx(scenario.routes[(a, b)].length_m / limit_mps, abs=0.01)
        # ... and the truck drove it in that time, plus starting and red lights.
        assert_a_free_flow_drive(scenario, trip, model_s)
