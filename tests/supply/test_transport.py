"""Truck routes in the supply twin: what a route may carry, tours driven as ship-now
drives single loads, and the scenario whose run policy dispatches the trucks."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from twin.core.policy import BasePolicy, InvalidActionError
from twin.core.ports import Cargo, Drive
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.supply.config import regional_sites
from twin.supply.kit import transport_edge_cases
from twin.supply.observation import (
    Route,
    TransportAction,
    TransportObservation,
    check_transport_action,
)

THREE = transport_edge_cases()[5]  # r00-01 (part), r00-02 (full + part), r00-03 (full only)


def refused(routes: tuple[Route, ...], match: str, ship: bool = True) -> None:
    with pytest.raises(InvalidActionError, match=match):
        check_transport_action(TransportAction(ship, routes), THREE, "p")


def test_a_route_names_waiting_stops_once_and_fits_one_truck():
    fine = (Route(("r00-02", "r00-01"), 100.0), Route(("r00-03",), 100.0))
    assert check_transport_action(TransportAction(True, fine), THREE, "p").routes == fine
    refused((Route(("r00-09",), 1.0),), "stop 'r00-09' has nothing waiting")
    refused((Route(("r00-01",), 1.0), Route(("r00-01", "r00-02"), 1.0)), "routed twice")
    refused((Route(("r00-01", "r00-03"), 1.0),), "only full truckloads: route it alone")
    refused((Route(("r00-01",), -1.0),), "planned_km must be a float >= 0")
    refused((Route(("r00-01",), 1.0, (0.0, 1.0)),), "one time per stop")
    refused((Route(("r00-01",), 1.0),), "routes need ship=True", ship=False)
    small = THREE._replace(truck_capacity_pallets=3)
    with pytest.raises(InvalidActionError, match="loads 4 pallets"):
        check_transport_action(
            TransportAction(True, (Route(("r00-01", "r00-02"), 1.0),)), small, "p"
        )


class _EachAlone(BasePolicy[TransportObservation, TransportAction]):
    """Ship-now as routes: every waiting load of the origin on trucks of its own."""

    id: ClassVar[str] = "test/each-alone-v0"
    domain: ClassVar[str] = "supply.transport"

    def act(self, obs: TransportObservation) -> TransportAction:
        if not obs.waiting:
            return TransportAction(False)
        km = [
            2.0 * load.distance_km * (load.full_loads + bool(load.part_units))
            for load in obs.waiting
        ]
        return TransportAction(
            True,
            tuple(Route((load.destination,), k) for load, k in zip(obs.waiting, km, strict=True)),
        )


def small_region(policy: str, days: int = 30) -> ScenarioConfig:
    sites = [s.model_dump(mode="json") for s in regional_sites(dcs=2, retailers_per_dc=4)]
    return ScenarioConfig(
        id="supply/regional-v0",
        horizon_s=days * SECONDS_PER_DAY,
        params={"sites": sites, "transport_policy": policy},
    )


def test_single_stop_routes_drive_exactly_as_ship_now():
    from twin.core.registry import Registry

    registry = Registry()
    registry.register_policy(_EachAlone)
    routed = simulate(
        small_region("test/each-alone-v0"), "replenishment/base-stock-v0", seed=2, registry=registry
    ).kpis
    direct = simulate(
        small_region("transport/ship-now-v0"), "replenishment/base-stock-v0", seed=2
    ).kpis
    for kpi in (
        "truck_km",
        "truck_trips",
        "load_factor",
        "cost_transport",
        "co2e_kg",
        "fill_rate",
        "order_lead_time_days",
        "late_order_share",
    ):
        assert routed[kpi].value == pytest.approx(direct[kpi].value, rel=1e-12), kpi
    assert direct["truck_trips"].value > 100
    assert routed["routed_km"].value == routed["truck_km"].value
    assert routed["planned_route_km"].value == pytest.approx(routed["routed_km"].value, rel=1e-12)


def test_in_the_transport_scenario_the_run_policy_dispatches_the_trucks():
    config = ScenarioConfig(
        id="twin.supply.scenario:RegionalTransport", horizon_s=10 * SECONDS_PER_DAY
    )
    same = ScenarioConfig(
        id="supply/regional-v0",
        horizon_s=10 * SECONDS_PER_DAY,
        params={"transport_policy": "transport/consolidate-v0"},
    )
    arm = simulate(config, "transport/consolidate-v0", seed=1).kpis
    reference = simulate(same, "replenishment/base-stock-v0", seed=1).kpis
    assert arm["truck_km"].value > 0
    assert arm["truck_km"].value == reference["truck_km"].value
    assert arm["fill_rate"].value == reference["fill_rate"].value


def test_the_transport_scenario_refuses_a_transport_policy_in_its_params():
    from pydantic import ValidationError

    from twin.supply.config import RegionalTransportParams

    with pytest.raises(ValidationError, match="the transport policy is the run's policy"):
        RegionalTransportParams(transport_policy="transport/consolidate-v0")
    with pytest.raises(ValidationError, match=r"a supply\.replenishment policy is needed"):
        RegionalTransportParams(replenishment_policy="transport/consolidate-v0")


def test_variable_travel_times_delay_routes_against_their_plan():
    sites = [s.model_dump(mode="json") for s in regional_sites(dcs=2, retailers_per_dc=4)]
    config = ScenarioConfig(
        id="supply/regional-v0",
        horizon_s=30 * SECONDS_PER_DAY,
        params={
            "sites": sites,
            "transport_policy": "transport/cvrptw-v0",
            "truck": {"travel_time_cv": 0.3},
        },
    )
    kpis = simulate(config, "replenishment/base-stock-v0", seed=2).kpis
    # The same roads: the km are as planned; the arrivals are not.
    assert kpis["routed_km"].value == pytest.approx(kpis["planned_route_km"].value, rel=1e-12)
    assert kpis["route_arrival_delay_mean_h"].value != 0.0
    assert kpis["route_arrival_deviation_mean_h"].value > abs(
        kpis["route_arrival_delay_mean_h"].value
    )
    assert kpis["truck_km"].value > 0


class _TimedRoad:
    """A road where every drive takes ``drive_s``; it keeps what it was asked, in order."""

    def __init__(self, env: Any, drive_s: float) -> None:
        self.env = env
        self.drive_s = drive_s
        self.asked: list[tuple[str, str, Cargo]] = []

    def drive(self, origin: str, destination: str, cargo: Cargo | None = None) -> Any:
        assert cargo is not None
        self.asked.append((origin, destination, cargo))
        now = float(self.env.now)
        done = Drive(f"car{len(self.asked)}", now, now, now + self.drive_s, 1000.0)
        return self.env.timeout(self.drive_s, value=done)


def test_on_a_road_every_leg_of_a_tour_is_a_drive_and_the_road_books_the_fuel():
    run = prepare_run(small_region("transport/cvrptw-v0", days=6), "replenishment/base-stock-v0", 2)
    depot = run.scenario.network.depots["dc00"]
    road = _TimedRoad(run.world.env, drive_s=600.0)
    for lane in depot.lanes:
        lane.road = road
    run.world.run(6 * SECONDS_PER_DAY)

    on_board: dict[str, int] = {}  # truck -> units on board on its last drive
    where: dict[str, str] = {}
    stop_to_stop = 0
    for origin, destination, cargo in road.asked:
        truck = cargo.vehicle
        assert origin == where.get(truck, "dc00")  # each drive starts where the last ended
        where[truck] = destination
        if destination == "dc00":
            assert cargo.units == 0  # back to the depot empty
        else:
            assert cargo.units > 0
        if "dc00" not in (origin, destination):  # a tour's next stop: what it did not unload
            assert 0 < cargo.units < on_board[truck]
            stop_to_stop += 1
        on_board[truck] = cargo.units
    assert stop_to_stop > 0, "no multi-stop tour was driven"
    fuel = {entity for _, entity, _, _, _ in run.world.ledger.use_rows()}
    assert not any(entity.startswith("trucks.dc00.") for entity in fuel)
    assert any(entity.startswith("trucks.dc01.") for entity in fuel)  # no road: its own model
