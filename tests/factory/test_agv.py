"""The AGV fleet: exact hand-timed trips, segment exclusion, batteries, dispatch and KPIs."""

import itertools
import math
from typing import ClassVar

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.dispatch.nearest_idle import NearestIdle
from tests.factory.strategies import connected_graphs, layout_in_mode
from twin.core.policy import BasePolicy, InvalidActionError
from twin.core.world import World
from twin.factory.agv import AgvFleet, Lane
from twin.factory.config import AgvSpec
from twin.factory.layout import Layout, LayoutSpec
from twin.factory.observation import (
    WAIT,
    AgvView,
    DispatchAction,
    DispatchObservation,
    FleetViews,
    TransportRequest,
    check_dispatch_action,
)


def line(*xs: float, chargers=("n0",)) -> Layout:
    """Nodes n0, n1, ... on a straight line at ``xs`` metres, each joined to the next."""
    names = [f"n{i}" for i in range(len(xs))]
    return Layout(
        LayoutSpec(
            nodes={name: (x, 0.0) for name, x in zip(names, xs, strict=True)},
            edges=list(itertools.pairwise(names)),
            chargers=list(chargers),
        )
    )


def fleet_on(layout, policy=None, seed=0, **spec) -> tuple[World, AgvFleet]:
    world = World(seed)
    spec = {"load_time_s": 0.0, "unload_time_s": 0.0, **spec}
    fleet = AgvFleet(world, layout, AgvSpec(**spec), policy or NearestIdle())
    return world, fleet


def deliveries(world: World, fleet: AgvFleet, requests) -> dict[object, float]:
    """Issue ``(at_s, pickup, drop, payload)`` requests; payload -> delivery time."""
    done: dict[object, float] = {}

    def source():
        for at_s, pickup, drop, payload in requests:
            yield world.env.timeout(at_s - world.env.now)
            event = fleet.request(pickup, drop, payload)
            event.callbacks.append(lambda e: done.__setitem__(e.value, world.env.now))

    world.env.process(source())
    world.env.run()
    return done


# -- hand-computed trips ----------------------------------------------------------------
def test_a_single_trip_takes_exactly_the_free_flow_time():
    # AGV at n0; pickup n1 (10 m), drop n2 (20 m further); 1 m/s; 5 s to load and unload.
    world, fleet = fleet_on(line(0, 10, 30), count=1, load_time_s=5.0, unload_time_s=5.0)
    done = deliveries(world, fleet, [(0.0, "n1", "n2", "box")])
    assert done == {"box": 10 + 5 + 20 + 5}
    kpis = fleet.kpis()
    assert kpis["agv_km"].value == pytest.approx(0.030)
    assert kpis["agv_empty_travel_share"].value == pytest.approx(10 / 30)
    assert kpis["agv_deliveries"].value == 1
    assert kpis["agv_request_wait_mean_s"].value == 0.0
    assert kpis["agv_utilisation"].value == pytest.approx(1.0)  # busy for all 40 s
    assert fleet.agvs[0].node == "n2"
    assert fleet.agvs[0].state == "idle"


def test_the_request_event_succeeds_with_the_payload():
    world, fleet = fleet_on(line(0, 10), count=1)
    payload = object()
    event = fleet.request("n0", "n1", payload)
    world.env.run()
    assert event.ok
    assert event.value is payload


def test_two_agvs_queue_for_one_segment_but_pass_in_opposite_lanes():
    same_way = fleet_on(line(0, 10), count=2, home_nodes=["n0"])
    done = deliveries(*same_way, [(0, "n0", "n1", "first"), (0, "n0", "n1", "second")])
    assert done == {"first": 10.0, "second": 20.0}  # the second waits at n0 for the lane
    opposite = fleet_on(line(0, 10), count=2, home_nodes=["n0", "n1"])
    done = deliveries(*opposite, [(0, "n0", "n1", "east"), (0, "n1", "n0", "west")])
    assert done == {"east": 10.0, "west": 10.0}


def test_the_fleet_names_the_views_that_changed_since_its_last_observation():
    _world, fleet = fleet_on(line(0, 10, 20), count=3, home_nodes=["n0", "n1", "n2"])
    first = fleet.observe().agvs
    assert isinstance(first, FleetViews)
    assert fleet.observe().agvs is first  # nothing changed: the same views
    fleet.request("n1", "n2", "x")  # AGV 1 (at n1) takes it
    second = fleet.observe().agvs
    assert second.fleet is first.fleet
    assert second.version == first.version + 1
    assert second.changed == {1}
    assert [a is b for a, b in zip(first, second, strict=True)] == [True, False, True]


def test_a_lane_is_held_by_one_vehicle_and_handed_over_first_come_first_served():
    env = simpy.Environment()
    lane = Lane(env)
    entered: list[tuple[str, float]] = []

    def vehicle(name: str, arrive_s: float, drive_s: float):
        yield env.timeout(arrive_s)
        turn = lane.claim()
        if turn is not None:
            yield turn
        entered.append((name, env.now))
        assert lane.count == 1
        yield env.timeout(drive_s)
        lane.release()

    for name, arrive_s in (("a", 0.0), ("b", 1.0), ("c", 2.0)):
        env.process(vehicle(name, arrive_s, 10.0))
    env.run()
    assert entered == [("a", 0.0), ("b", 10.0), ("c", 20.0)]
    assert lane.count == 0


def test_a_requests_waits_fifo_for_a_busy_agv():
    world, fleet = fleet_on(line(0, 10), count=1)
    done = deliveries(world, fleet, [(0, "n0", "n1", "a"), (1, "n0", "n1", "b")])
    # a: 0-10 s. b: assigned at 10 (waited 9 s), back 10 s empty, 10 s loaded.
    assert done == {"a": 10.0, "b": 30.0}
    assert fleet.kpis()["agv_request_wait_mean_s"].value == pytest.approx(4.5)
    assert fleet.kpis()["agv_empty_travel_share"].value == pytest.approx(1 / 3)


def test_a_low_battery_sends_the_agv_to_the_charger_and_the_ledger_books_it():
    # Charger at n0; n1 at 10 m, n2 at 30 m. 1 kWh battery, 0.01 kWh/m, starts at 0.9 kWh.
    spec = {
        "count": 1,
        "battery_kwh": 1.0,
        "consumption_kwh_per_m": 0.01,
        "charge_power_kw": 1.2,
        "recharge_below_soc": 0.5,
        "charge_to_soc": 0.9,
    }
    world, fleet = fleet_on(line(0, 10, 30), **spec)
    agv = fleet.agvs[0]
    # Job 1: 10 m empty + 20 m loaded = 0.3 kWh -> 0.6 kWh, above the threshold.
    # Job 2 (requested at 30 s): 20 m loaded back to n1 -> 0.4 kWh, below: charge.
    done = deliveries(world, fleet, [(0, "n1", "n2", 1), (30, "n2", "n1", 2)])
    assert done == {1: 30.0, 2: 50.0}
    # Then 10 m to the charger (0.3 kWh left) and 0.6 kWh at 1.2 kW: 1800 s.
    assert world.now_s == pytest.approx(50 + 10 + 1800)
    assert agv.energy_kwh == pytest.approx(0.9)
    assert agv.node == "n0"
    assert fleet.kpis()["agv_charging_kwh"].value == pytest.approx(0.6)
    assert world.ledger.energy_kwh(entity="agv0", state="charging") == pytest.approx(0.6)
    assert fleet.charges.count == 1
    assert fleet.kpis()["agv_empty_travel_share"].value == pytest.approx(20 / 60)


def test_an_agv_short_of_charge_for_a_job_charges_first():
    # Charger n0; n3 at 70 m. 2 kWh battery at 0.01 kWh/m: 180 m of range when charged.
    spec = {
        "count": 1,
        "battery_kwh": 2.0,
        "consumption_kwh_per_m": 0.01,
        "charge_power_kw": 1.4,
        "recharge_below_soc": 0.1,
        "charge_to_soc": 0.9,
    }
    world, fleet = fleet_on(line(0, 10, 30, 70), **spec)
    # Job 1: n0 -> n3 loaded, 70 m: 1.1 kWh left at n3.
    # Job 2: n0 -> n3 again needs 70 + 70 + 70 m back to a charger = 2.1 kWh: charge first
    # (70 m to n0 leaves 0.4 kWh; 1.4 kWh at 1.4 kW is 3600 s), then 70 m loaded.
    done = deliveries(world, fleet, [(0, "n0", "n3", 1), (0, "n0", "n3", 2)])
    assert done == {1: 70.0, 2: 70 + 70 + 3600 + 70}
    assert fleet.agvs[0].energy_kwh == pytest.approx(1.1)
    assert fleet.kpis()["agv_charging_kwh"].value == pytest.approx(1.4)


def test_a_job_sized_exactly_to_the_battery_is_not_refused_on_rounding():
    # 20*sqrt(2) m there and back is the whole charge; the kWh/m round trip is inexact.
    layout = Layout(
        LayoutSpec(nodes={"c": (0, 0), "p": (20, 20)}, edges=[("c", "p")], chargers=["c"])
    )
    battery = 2 * layout.distance_m("c", "p") * 0.01 / 0.7
    world, fleet = fleet_on(
        layout, count=1, battery_kwh=battery, consumption_kwh_per_m=0.01, charge_to_soc=0.7
    )
    done = deliveries(world, fleet, [(0, "c", "p", 1), (0, "c", "p", 2)])
    assert sorted(done) == [1, 2]
    assert fleet.agvs[0].energy_kwh >= 0.0


def test_a_request_beyond_the_battery_range_is_refused():
    _world, fleet = fleet_on(
        line(0, 100), count=1, battery_kwh=1.0, consumption_kwh_per_m=0.01, charge_to_soc=0.9
    )
    with pytest.raises(ValueError, match="beyond the range of an AGV charged to 90%"):
        fleet.request("n0", "n1")  # 100 m there + 100 m back to the charger > 90 m


# -- configuration errors -----------------------------------------------------------------
def test_bad_fleet_configs_are_rejected():
    with pytest.raises(ValidationError, match=r"charge_to_soc \(0.2\) must be above"):
        AgvSpec(recharge_below_soc=0.3, charge_to_soc=0.2)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        AgvSpec(max_speed=3.0)
    with pytest.raises(ValidationError, match="greater than 0"):
        AgvSpec(speed_mps=0.0)
    with pytest.raises(ValueError, match="unknown node 'x'; known nodes: 'n0', 'n1'"):
        fleet_on(line(0, 10), count=1, home_nodes=["x"])
    with pytest.raises(ValueError, match="need at least one charger"):
        fleet_on(line(0, 10, chargers=()), count=1)
    _world, fleet = fleet_on(line(0, 10), count=1)
    with pytest.raises(ValueError, match="unknown node 'q'"):
        fleet.request("n0", "q")


def test_a_fleet_without_chargers_is_fine_when_driving_is_free():
    world, fleet = fleet_on(line(0, 10, chargers=()), count=1, consumption_kwh_per_m=0.0)
    assert deliveries(world, fleet, [(0, "n1", "n0", "x")]) == {"x": 20.0}


# -- dispatching --------------------------------------------------------------------------
def test_nearest_idle_picks_the_nearest_idle_agv_by_path():
    # n0..n4 at 0, 10, 20, 30, 40 m; AGVs 0, 1, 2 at n0, n3, n4. Pickup n2: 20, 10, 20 m.
    _world, fleet = fleet_on(line(0, 10, 20, 30, 40), count=3, home_nodes=["n0", "n3", "n4"])
    fleet.request("n2", "n0", "x")
    assert [agv.job is not None for agv in fleet.agvs] == [False, True, False]
    assert fleet.agvs[1].state == "to_pickup"
    # The next one goes to the nearest still idle: n4 -> n3 is 10 m, n0 -> n3 is 30 m.
    fleet.request("n3", "n0", "y")
    assert fleet.agvs[2].job is not None
    assert fleet.agvs[0].job is None


def test_nearest_idle_breaks_ties_by_id_and_skips_agvs_short_of_charge():
    layout = line(0, 10, 20)
    request = TransportRequest(0, "n1", "n2", 0.0, 10.0)

    def agv(i, node, range_m=math.inf, idle=True):
        return AgvView(i, node, idle, 0.5, range_m, "idle" if idle else "loaded")

    policy = NearestIdle()
    tie = DispatchObservation(0.0, (request,), (agv(0, "n2"), agv(1, "n0")), layout)
    assert policy.act(tie) == DispatchAction(((0, 0),))
    # AGV 0 is nearer but would strand: n2 -> n1 -> n2 -> n0 is 40 m.
    short = DispatchObservation(0.0, (request,), (agv(0, "n2", 39.0), agv(1, "n0", 40.0)), layout)
    assert policy.act(short) == DispatchAction(((0, 1),))
    # Nobody has the charge: the nearest goes anyway (and charges first).
    nobody = DispatchObservation(0.0, (request,), (agv(0, "n2", 1.0), agv(1, "n0", 1.0)), layout)
    assert policy.act(nobody) == DispatchAction(((0, 0),))
    busy = DispatchObservation(0.0, (request,), (agv(0, "n2", idle=False),), layout)
    assert policy.act(busy) == WAIT


def brute_force_nearest_idle(obs: DispatchObservation) -> DispatchAction:
    """The policy's rule measured on every idle vehicle: (short of charge, metres, id)."""
    idle = [agv for agv in obs.agvs if agv.idle]
    pairs = []
    for position, request in enumerate(obs.requests):
        if not idle:
            break
        onward_m = request.trip_m + obs.layout.charger_distance_m(request.drop)

        def rank(agv: AgvView, onward_m: float = onward_m, pickup: str = request.pickup):
            empty_m = obs.layout.distance_m(agv.node, pickup)
            return (empty_m + onward_m > agv.range_m * (1 + 1e-9), empty_m, agv.id)

        chosen = min(idle, key=rank)
        pairs.append((position, chosen.id))
        idle.remove(chosen)
    return DispatchAction(tuple(pairs)) if pairs else WAIT


@pytest.mark.parametrize("all_pairs", [True, False], ids=["all-pairs", "searched"])
@settings(max_examples=100)
@given(data=st.data(), graph=connected_graphs(min_nodes=2, max_nodes=7, grid=3, max_extra=5))
def test_nearest_idle_walking_outward_chooses_as_measuring_every_vehicle(all_pairs, data, graph):
    # One policy sees a run of epochs in which some vehicles change and the others keep
    # their very view (as the fleet hands them over); several vehicles per node, ties in
    # distance (unit grid), some short of charge.
    names, cells, pairs = graph
    spec = LayoutSpec(
        nodes={name: (10.0 * x, 10.0 * y) for name, (x, y) in zip(names, cells, strict=True)},
        edges=[(names[a], names[b]) for a, b in pairs],
        chargers=[names[0]],
    )
    layout = layout_in_mode(spec, all_pairs=all_pairs)
    node = st.sampled_from(names)
    range_m = st.sampled_from([0.0, 30.0, 60.0, math.inf])

    def view(i: int) -> AgvView:
        idle = data.draw(st.booleans())
        return AgvView(i, data.draw(node), idle, 0.5, data.draw(range_m), "idle")

    policy = NearestIdle()
    agvs = [view(i) for i in range(data.draw(st.integers(0, 8)))]
    # As a fleet hands them over (naming the views that changed), or as plain tuples.
    fleet_views = data.draw(st.booleans())
    token = object()
    for version in range(data.draw(st.integers(1, 4))):
        changed = set()
        for i in data.draw(st.lists(st.integers(0, max(len(agvs) - 1, 0)), max_size=3)):
            if agvs:
                agvs[i] = view(i)
                changed.add(i)
        pickups = st.lists(st.tuples(node, node), max_size=5)
        requests = tuple(
            TransportRequest(k, pickup, drop, 0.0, layout.distance_m(pickup, drop))
            for k, (pickup, drop) in enumerate(data.draw(pickups))
        )
        views = (
            FleetViews.of(agvs, token, version, frozenset(changed)) if fleet_views else tuple(agvs)
        )
        obs = DispatchObservation(0.0, requests, views, layout)
        assert policy.act(obs) == brute_force_nearest_idle(obs)


class Broken(BasePolicy[DispatchObservation, DispatchAction]):
    """Returns whatever it was built with, whatever it sees."""

    id: ClassVar[str] = "test/broken-dispatch-v0"
    domain: ClassVar[str] = "factory.dispatch"

    def __init__(self, action) -> None:
        super().__init__()
        self.action = action

    def act(self, obs: DispatchObservation) -> DispatchAction:
        return self.action


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("go", "expected DispatchAction"),
        (DispatchAction([(0, 0)]), "must be a tuple"),
        (DispatchAction(((0, 0, 1),)), "is not a \\(request, agv\\) pair"),
        (DispatchAction(((True, 0),)), "is not a \\(request, agv\\) pair"),
        (DispatchAction(((5, 0),)), "unknown request 5: 1 requests wait"),
        (DispatchAction(((0, 7),)), "unknown AGV 7: the fleet has AGVs 0..1"),
        (DispatchAction(((0, 0), (0, 1))), "request 0 is assigned twice"),
    ],
)
def test_an_invalid_action_raises_naming_the_policy(action, reason):
    _world, fleet = fleet_on(line(0, 10), policy=Broken(action), count=2)
    with pytest.raises(InvalidActionError, match=reason) as caught:
        fleet.request("n0", "n1")
    assert caught.value.policy_id == "test/broken-dispatch-v0"
    assert "test/broken-dispatch-v0" in str(caught.value)
    assert fleet.agvs[0].job is None  # nothing half-applied


def test_assigning_one_agv_twice_or_a_busy_agv_is_invalid():
    _world, fleet = fleet_on(line(0, 10), policy=Broken(DispatchAction(((0, 0), (1, 0)))), count=2)
    fleet.policy.action = WAIT
    fleet.request("n0", "n1")
    fleet.policy.action = DispatchAction(((0, 0), (1, 0)))
    with pytest.raises(InvalidActionError, match="AGV 0 is assigned twice"):
        fleet.request("n0", "n1")
    fleet.policy.action = DispatchAction(((0, 0),))
    fleet.request("n0", "n1")  # AGV 0 takes the oldest request
    with pytest.raises(InvalidActionError, match=r"AGV 0 is busy \(to_pickup\), not idle"):
        fleet.request("n0", "n1")


def test_the_error_surfaces_from_a_process_too():
    world, fleet = fleet_on(line(0, 10), policy=Broken(DispatchAction(((0, 9),))), count=1)

    def source():
        yield world.env.timeout(5)
        fleet.request("n0", "n1")

    world.env.process(source())
    with pytest.raises(InvalidActionError, match="unknown AGV 9"):
        world.env.run()


def test_observations_are_immutable_and_describe_the_fleet():
    _world, fleet = fleet_on(line(0, 10, 30), count=2, home_nodes=["n0", "n2"])
    obs = fleet.observe()
    assert obs.requests == ()
    assert [(a.id, a.node, a.idle, a.state) for a in obs.agvs] == [
        (0, "n0", True, "idle"),
        (1, "n2", True, "idle"),
    ]
    assert obs.agvs[0].soc == pytest.approx(0.9)
    assert obs.agvs[0].range_m == pytest.approx(0.9 * 1.2 / 5e-5)
    with pytest.raises(AttributeError):
        obs.agvs[0].idle = False  # type: ignore[misc]


def test_kpis_after_a_warmup_count_only_the_measured_period():
    world, fleet = fleet_on(line(0, 10), count=1)

    def source():
        while True:
            fleet.request("n0", "n1")
            yield world.env.timeout(100)

    world.env.process(source())
    world.run(until_s=1000, warmup_s=500)
    kpis = fleet.kpis()
    assert kpis["agv_deliveries"].value == 5  # requests at 500, ..., 900 s
    assert kpis["agv_utilisation"].value == pytest.approx(0.2)  # 20 s of every 100 s
    assert kpis["agv_km"].value == pytest.approx(0.1)


def test_a_fleet_of_none_keeps_every_request_waiting():
    world, fleet = fleet_on(line(0, 10), count=0)
    fleet.request("n0", "n1")
    world.env.run(until=100)
    assert len(fleet.waiting) == 1
    assert math.isnan(fleet.kpis()["agv_utilisation"].value)


# -- properties on random plants -----------------------------------------------------------
@st.composite
def plants(draw):
    """A random connected layout, a fleet whose battery forces charging, and requests."""
    names, cells, pairs = draw(connected_graphs(min_nodes=2, max_nodes=6, grid=4, max_extra=4))
    chargers = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    layout = Layout(
        LayoutSpec(
            nodes={name: (10.0 * x, 10.0 * y) for name, (x, y) in zip(names, cells, strict=True)},
            edges=[(names[a], names[b]) for a, b in pairs],
            chargers=chargers,
        )
    )
    # The longest job from any charger: sizing the battery to 1-3 such jobs makes AGVs
    # charge often and sometimes charge before a job.
    worst_m = max(
        layout.distance_m(c, p) + layout.distance_m(p, d) + layout.charger_distance_m(d)
        for c in chargers
        for p in names
        for d in names
    )
    recharge_below = draw(st.sampled_from([0.1, 0.3, 0.6]))
    charge_to = draw(st.sampled_from([0.7, 0.9, 1.0]))
    free = draw(st.booleans()) and draw(st.booleans())  # a quarter drive for free
    per_m = 0.0 if free else 0.01
    battery = max(worst_m, 1.0) * draw(st.floats(1.0, 3.0)) * 0.01 / charge_to
    spec = AgvSpec(
        count=draw(st.integers(1, 4)),
        speed_mps=draw(st.sampled_from([0.5, 1.0, 2.0])),
        battery_kwh=battery,
        consumption_kwh_per_m=per_m,
        charge_power_kw=draw(st.sampled_from([0.5, 5.0])),
        recharge_below_soc=recharge_below,
        charge_to_soc=charge_to,
        load_time_s=draw(st.sampled_from([0.0, 5.0])),
        unload_time_s=draw(st.sampled_from([0.0, 3.0])),
        home_nodes=draw(st.lists(st.sampled_from(names), min_size=1, max_size=4)),
    )
    gaps = draw(st.lists(st.sampled_from([0.0, 1.0, 7.0, 40.0]), min_size=1, max_size=12))
    requests = [(draw(st.sampled_from(names)), draw(st.sampled_from(names)), gap) for gap in gaps]
    return layout, spec, requests


@settings(max_examples=60)
@given(plants())
def test_fleet_invariants_hold_at_every_event(plant):
    layout, spec, requests = plant
    world = World(0)
    fleet = AgvFleet(world, layout, spec, NearestIdle())
    env = world.env
    asked: dict[int, tuple[float, str, str]] = {}
    dropped: dict[int, float] = {}

    def on_drop(event):
        assert event.value not in dropped, "a load was delivered twice"
        dropped[event.value] = env.now

    def source():
        for k, (pickup, drop, gap) in enumerate(requests):
            yield env.timeout(gap)
            asked[k] = (env.now, pickup, drop)
            fleet.request(pickup, drop, k).callbacks.append(on_drop)

    env.process(source())
    start_kwh = [agv.energy_kwh for agv in fleet.agvs]
    while env.peek() < math.inf:
        env.step()
        # One AGV per directed segment, seen from the resources and from the vehicles.
        assert all(lane.count <= 1 for lane in fleet.lanes.values())
        on_segments = [agv.segment for agv in fleet.agvs if agv.segment is not None]
        assert len(on_segments) == len(set(on_segments))
        assert all(charger.count <= 1 for charger in fleet.chargers.values())
        assert all(agv.energy_kwh >= 0.0 for agv in fleet.agvs)
        # Conservation: requested = delivered + waiting + in progress.
        assert fleet.requested_total == (
            fleet.delivered_total + len(fleet.waiting) + fleet.in_progress
        )
        assert fleet.busy.level + fleet.charging.level <= spec.count

    # Everything asked for was delivered, once, no sooner than free flow allows.
    assert sorted(dropped) == list(range(len(requests)))
    assert fleet.waiting == []
    assert fleet.in_progress == 0
    for k, (asked_s, pickup, drop) in asked.items():
        free_flow_s = layout.distance_m(pickup, drop) / spec.speed_mps
        assert dropped[k] - asked_s >= free_flow_s + spec.load_time_s + spec.unload_time_s - 1e-9
    # Energy balance per AGV: start + charged - driven = left.
    for agv, start in zip(fleet.agvs, start_kwh, strict=True):
        agv._meter.flush()
        charged = world.ledger.energy_kwh(entity=agv.entity, state="charging")
        driven = agv.odometer_m * spec.consumption_kwh_per_m
        assert start + charged - driven == pytest.approx(agv.energy_kwh, abs=1e-9)
    kpis = fleet.kpis()
    assert 0.0 <= kpis["agv_empty_travel_share"].value <= 1.0
    assert 0.0 <= kpis["agv_utilisation"].value <= 1.0 + 1e-12
    assert kpis["agv_deliveries"].value == len(requests)
    assert kpis["agv_km"].value * 1000 == pytest.approx(sum(a.odometer_m for a in fleet.agvs))


class _AfterTwoAsks(BasePolicy[DispatchObservation, DispatchAction]):
    """Waits 3 s twice, then hands every request to the nearest idle AGV, saying it fell back."""

    id: ClassVar[str] = "test/after-two-asks-v0"
    domain: ClassVar[str] = "factory.dispatch"

    def __init__(self) -> None:
        super().__init__()
        self.asked_at: list[float] = []

    def act(self, obs: DispatchObservation) -> DispatchAction:
        self.asked_at.append(obs.now_s)
        if len(self.asked_at) <= 2:
            return DispatchAction((), ask_again_in_s=3.0)
        return DispatchAction(NearestIdle().act(obs).assignments, fallback="test")


def test_a_dispatcher_that_asks_again_is_asked_again_and_its_fallbacks_counted():
    policy = _AfterTwoAsks()
    world, fleet = fleet_on(line(0.0, 10.0), policy, count=1, speed_mps=1.0)
    done = deliveries(world, fleet, [(1.0, "n0", "n1", "x")])
    assert policy.asked_at == [1.0, 4.0, 7.0]
    assert done == {"x": 17.0}
    assert fleet.dispatch_fallbacks.count == 1
    kpis = fleet.kpis()
    assert kpis["agv_dispatch_fallbacks"].value == 1.0
    assert kpis["agv_planned_empty_km"].value == 0.0  # the AGV stood at the pickup


def test_asking_again_in_no_time_is_refused():
    obs = DispatchObservation(0.0, (), (), line(0.0, 10.0))
    with pytest.raises(InvalidActionError, match="ask_again_in_s"):
        check_dispatch_action(DispatchAction((), ask_again_in_s=0.0), obs, "p")
