"""The ports' implementations on the built domains, each in the smallest world."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.traffic.support import Cyclic
from twin.core.ports import Cargo, Drive, GoodsOutbox
from twin.core.world import World
from twin.region.config import TruckVehicleSpec
from twin.region.wiring import CityRoad, PlantOutput, route_between, with_on_call_trips
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, Router, TripTable, poisson_trips
from twin.traffic.kernels import ARRIVED, PENDING
from twin.traffic.network import grid


def test_the_supply_plant_makes_what_the_factory_put_up_to_its_raw_material():
    outbox = GoodsOutbox()
    outbox.put(30)
    production = PlantOutput(outbox, units_per_part=2)
    assert production.produce(day=0, raw_units=25) == 24  # 12 parts x 2 units
    assert outbox.level == 18
    assert production.produce(day=1, raw_units=1000) == 36
    assert production.produce(day=2, raw_units=1000) == 0


def town(rate: float = 0.0, seed: int = 1):
    world = World(seed)
    network = grid(2, 2, 120.0, 1)
    background = poisson_trips(
        network, RateProfile((0.0,), (rate,)), 600.0, world.streams["traffic.demand"]
    )
    router = Router(network)
    routes = {("a", "b"): route_between(network, router, "J0_0", "J1_1")}
    trips, slots = with_on_call_trips(background, routes, TruckVehicleSpec().build(), 2)
    city = City(world, network, trips, Cyclic())
    return world, city, CityRoad(city, slots, routes), len(background)


def test_on_call_trips_wait_at_the_end_of_the_table_until_sent():
    world, city, road, background = town(rate=0.2)
    assert sorted(road.trucks) == [background, background + 1]
    assert np.all(np.isinf(city.veh.depart_s[background:]))
    world.run(900.0)
    assert np.all(city.veh.state[background:] == PENDING)  # nobody called them
    assert road.counts.sent == 0


def test_the_on_call_table_is_the_citys_own_followed_by_each_routes_trucks():
    world = World(2)
    network = grid(2, 2, 120.0, 1)
    background = poisson_trips(
        network, RateProfile((0.0,), (0.3,)), 600.0, world.streams["traffic.demand"]
    )
    router = Router(network)
    routes = {
        ("a", "b"): route_between(network, router, "J0_0", "J1_1"),
        ("b", "a"): route_between(network, router, "J1_1", "J0_0"),
    }
    truck = TruckVehicleSpec().build()
    table, slots = with_on_call_trips(background, routes, truck, 3)
    n = len(background)
    assert slots == {("a", "b"): [n, n + 1, n + 2], ("b", "a"): [n + 3, n + 4, n + 5]}
    # The same table as one built trip by trip.
    one_by_one = TripTable.from_arrays(
        np.concatenate([background.depart_s, np.full(6, math.inf)]),
        np.concatenate([background.vtype, np.full(6, len(background.vtypes))]),
        [background.route(k) for k in range(n)]
        + [routes[("a", "b")].edges] * 3
        + [routes[("b", "a")].edges] * 3,
        (*background.vtypes, truck),
    )
    for name in ("depart_s", "vtype", "route_start", "route_edges"):
        assert np.array_equal(getattr(table, name), getattr(one_by_one, name)), name
    assert table.vtypes == one_by_one.vtypes


def test_a_sent_truck_drives_its_route_and_the_event_carries_the_drive():
    world, city, road, _ = town()
    drives: list[Drive] = []

    def send():
        yield world.env.timeout(10.0)
        drives.append((yield road.drive("a", "b")))

    world.env.process(send())
    world.run(600.0)
    (drive,) = drives
    trip = min(road.trucks)
    assert city.veh.state[trip] == ARRIVED
    assert drive.requested_s == 10.0
    assert drive.arrived_s == city.veh.arrive_s[trip]
    assert drive.distance_m == road.length_m(trip) == pytest.approx(2 * 120.0, rel=0.2)
    # Nothing in its way: the drive is the route at the limit plus starting from rest.
    truck = TruckVehicleSpec()
    limit = 13.89
    assert drive.duration_s == pytest.approx(
        drive.distance_m / limit, abs=limit / (2 * truck.accel_mps2) + 2.0 + 45.0
    )
    assert road.counts.sent == road.counts.arrived == 1
    assert road.in_city == 0
    assert world.ledger.fuel_l(entity=f"vehicle{trip}") > 0


def test_a_drive_keeps_what_its_sender_said_it_carries_under_the_senders_name():
    world, city, road, _ = town()
    cargo = Cargo("trucks.dc.0", departed_s=5.0, units=40, pallets=2, kg=480.0, orders=(7,))

    def send():
        yield world.env.timeout(10.0)
        yield road.drive("a", "b", cargo)

    world.env.process(send())
    world.run(11.0)
    (drive,) = road.drives_now()
    assert road.by_vehicle["trucks.dc.0"] is drive
    assert (drive.origin, drive.destination, drive.cargo) == ("a", "b", cargo)
    assert drive.requested_s == 10.0
    assert math.isnan(drive.arrived_s)
    assert road.route_of(drive) is road.routes[("a", "b")]
    world.run(600.0)
    assert road.drives_now() == []
    # The last drive stays readable after the arrival, with its time.
    assert road.by_vehicle["trucks.dc.0"].arrived_s == city.veh.arrive_s[drive.trip]


def test_a_truck_cannot_be_sent_twice_and_running_out_names_the_key():
    _, city, road, _ = town()
    trip = min(road.trucks)
    road.drive("a", "b")
    with pytest.raises(ValueError, match="not an on-call trip"):
        city.dispatch(trip)
    road.drive("a", "b")
    with pytest.raises(RuntimeError, match="on_call_trips_per_lane"):
        road.drive("a", "b")
    with pytest.raises(KeyError, match="no route"):
        road.drive("b", "a")
    assert math.isfinite(city.veh.depart_s[trip])


def test_readings_reach_the_policies_after_the_clouds_ingestion_latency():
    from types import SimpleNamespace

    from twin.region.wiring import IngestionLatency

    cluster = SimpleNamespace(
        class_names=["ingestion", "dashboard"],
        latency_sum=np.array([0.0, 0.0]),
        assigned=np.array([0, 0]),
        window_listeners=[],
    )
    now = [0.0]
    latency = IngestionLatency(cluster, lambda: now[0])

    def served(end_s: float, latency_sum: float, assigned: int) -> None:
        cluster.latency_sum[0], cluster.assigned[0] = latency_sum, assigned
        for listener in cluster.window_listeners:
            listener(end_s)

    assert latency() == 0.0  # nothing ingested yet
    served(15.0, 2.0, 4)
    now[0] = 14.0
    assert latency() == 0.0  # the window ends after the reader's time
    now[0] = 15.0
    assert latency() == 0.5
    assert latency() == 0.5  # nothing new: the last value holds
    served(30.0, 2.0 + 3.0, 5)  # a cloud ahead of the reader: two more windows served
    served(45.0, 5.0 + 8.0, 7)
    now[0] = 31.0
    assert latency() == 3.0  # the one request of the window ended by 31 s
    now[0] = 45.0
    assert latency() == 4.0  # the two since


def test_a_feed_with_a_backend_delivers_that_much_later():
    from twin.core.sensors import PipelineSpec, SensorConfig, SensorFeed, SensorSpec

    def delivered_at(backend_s: float | None) -> float:
        world = World(1)
        config = SensorConfig(
            sensor=SensorSpec(period_s=10.0, noise_std=0.0),
            pipeline=PipelineSpec(latency_mean_s=1.0, latency_jitter_s=0.0),
        )
        feed = SensorFeed.attach(world, "probe", lambda: np.array([1.0]), config, 1)
        if backend_s is not None:
            feed.backend_delay = lambda: backend_s
        seen: list[float] = []
        feed.board.subscribe(lambda now_s, channels: seen.append(now_s))
        world.run(5.0)
        return seen[0]

    assert delivered_at(None) == 1.0
    assert delivered_at(2.5) == 3.5
