"""Insertion as SUMO does it: depart lane, position and speed per trip, SUMO's checks.

SUMO 1.28's defaults are ``departSpeed="avg"`` and ``departLane="best_prob"`` (changed
from "0" and "first"), so the SUMO files here spell out what they mean. The SUMO
comparisons run both simulators on a hand-built road (netconvert from plain
XML in ``tmp_path``) with deterministic drivers (``sigma=0``, ``speedDev=0``), so the
insertion times can be compared trip by trip.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from models.signals.fixed_time import FixedTime
from twin.core.errors import ConfigError
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import (
    DEPART_LANE_RANDOM,
    DEPART_POS_BASE,
    DEPART_POS_RANDOM_FREE,
    DEPART_SPEED_AVG,
    DEPART_SPEED_LAST,
    DEPART_SPEED_MAX,
)
from twin.traffic.insertion import Departs, try_uniform
from twin.traffic.kernels import DISCARDED, DRIVING
from twin.traffic.sumo import read_net, read_routes
from twin.traffic.sumo_tools import run_program, run_sumo, sumo_binary

VTYPE = '<vType id="det" sigma="0" speedDev="0"/>'


def netconvert(directory: Path, nodes: str, edges: str, **more: str) -> Path:
    """``n.net.xml`` from plain XML bodies; ``more``: netconvert option -> body, e.g.
    ``x=`` connections, ``i=`` traffic light programmes."""
    files = {"n": ("nod", nodes), "e": ("edg", edges)} | {
        option: (option, body) for option, body in more.items()
    }
    args: list[str | Path] = [sumo_binary("netconvert")]
    for option, (suffix, body) in files.items():
        path = directory / f"n.{suffix}.xml"
        path.write_text(body)
        args += [f"-{option}", path]
    net = directory / "n.net.xml"
    run_program([*args, "-o", net], "netconvert")
    return net


def straight_road(directory: Path, lanes: int = 1, first_m: float = 500.0) -> Path:
    """Two edges A->B->C, ``first_m`` and 500 m, ``lanes`` lanes, 13.89 m/s, a priority
    junction at B."""
    return netconvert(
        directory,
        f'<nodes><node id="A" x="0" y="0"/><node id="B" x="{first_m}" y="0" type="priority"/>'
        f'<node id="C" x="{first_m + 500.0}" y="0"/></nodes>',
        f'<edges><edge id="AB" from="A" to="B" numLanes="{lanes}" speed="13.89"/>'
        f'<edge id="BC" from="B" to="C" numLanes="{lanes}" speed="13.89"/></edges>',
    )


def burst(directory: Path, n: int, attrs: str) -> Path:
    """``n`` vehicles all due at t=0 on A->B->C, with the given depart attributes."""
    lines = [f"<routes>{VTYPE}"]
    for k in range(n):
        lines.append(
            f'<vehicle id="{k}" type="det" depart="0" departLane="first" {attrs}>'
            '<route edges="AB BC"/></vehicle>'
        )
    lines.append("</routes>")
    path = directory / "burst.rou.xml"
    path.write_text("\n".join(lines))
    return path


def twin_city(net: Path, routes: Path, seed: int = 1, **depart: np.ndarray) -> tuple[World, City]:
    network = read_net(net)
    trips = dataclasses.replace(read_routes(network, routes), **depart)
    world = World(seed, tick_s=60.0)
    return world, City(world, network, trips, FixedTime())


@pytest.mark.parametrize(
    ("attrs", "speed_code"),
    [
        pytest.param('departSpeed="0"', 0.0, id="speed-0"),
        pytest.param('departSpeed="max"', DEPART_SPEED_MAX, id="speed-max"),
        # SUMO 1.28's default: the mean speed of the cars on the lane, not lowered while
        # one is there (SUMO waits for a gap at that speed): a car every 2 s at 13.89
        # m/s, where "max" lowers the speed and enters one every 1-2 s. "last" alike.
        pytest.param('departSpeed="avg"', DEPART_SPEED_AVG, id="speed-avg"),
        pytest.param('departSpeed="last"', DEPART_SPEED_LAST, id="speed-last"),
    ],
)
def test_a_burst_enters_a_free_road_when_sumo_lets_it(tmp_path, attrs, speed_code):
    """Ten cars due at once on one lane: each enters as soon as SUMO's checks against
    the car ahead allow, at the same second as in SUMO."""
    net = straight_road(tmp_path)
    routes = burst(tmp_path, 10, attrs)
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=300.0, emissions=False)
    world, city = twin_city(net, routes, depart_speed_mps=np.full(10, speed_code))
    world.run(300.0)
    np.testing.assert_array_equal(np.sort(city.veh.insert_s), np.sort(sumo.trips.depart_s))


@pytest.mark.parametrize(
    ("max_delay_s", "entering"), [(10.0, 6), (9.0, 5), (9.5, 5), (8.0, 5), (0.0, 1)]
)
def test_a_trip_waiting_past_max_depart_delay_is_discarded_as_sumo_discards_it(
    tmp_path, max_delay_s, entering
):
    """Twenty cars due at t=0 on one lane, entering every 2 s (SUMO 1.28's default
    ``departSpeed="avg"``). With ``--max-depart-delay D`` SUMO 1.28 discards a waiting
    car, without trying it, once more than D s have passed since its departure: with
    D = 10 the cars of 0, 2, ..., 10 s enter; with 9 s the sixth, due to enter at 10 s,
    is discarded then, untried; with 8 s the fifth still enters at 8 s; with 0 only the
    first enters. twin enters and discards the same cars."""
    net = straight_road(tmp_path)
    routes = burst(tmp_path, 20, 'departSpeed="avg"')
    sumo = run_sumo(
        net, routes, tmp_path / "sumo", end_s=300.0, emissions=False,
        extra_args=["--max-depart-delay", str(max_delay_s)],
    )  # fmt: skip
    network = read_net(net)
    world = World(1, tick_s=60.0)
    city = City(
        world, network, read_routes(network, routes), FixedTime(), max_depart_delay_s=max_delay_s
    )
    world.run(300.0)
    entered = city.veh.insert_s[np.isfinite(city.veh.insert_s)]
    np.testing.assert_array_equal(np.sort(entered), np.sort(sumo.trips.depart_s))
    assert len(entered) == sumo.inserted == entering
    assert np.sum(city.veh.state == DISCARDED) == sumo.loaded - sumo.inserted == 20 - entering
    assert city.kpis()["trips_discarded"].value == 20 - entering


def test_a_given_depart_speed_enters_before_a_priority_link_it_could_not_stop_at(tmp_path):
    """SUMO checks that a new vehicle can stop only before a link it may not pass
    (``MSLane::isInsertionSuccess``: not opened, or without priority); a priority link
    (``'M'``, ``'G'``, ``'O'``) is open to it. ``departSpeed="13.89"`` 25 m before such a
    link, too close to stop from that speed: SUMO inserts at once, and so does twin
    (it waited for ever, as before a red light; SUMO's game ``cross``: 5 of 27 trips)."""
    net = straight_road(tmp_path, first_m=30.0)
    routes = burst(tmp_path, 1, 'departSpeed="13.89"')
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=100.0, emissions=False)
    assert [i.link_states for i in read_net(net).intersections] == ["M"]
    world, city = twin_city(net, routes)
    world.run(100.0)
    np.testing.assert_array_equal(sumo.trips.depart_s, [0.0])
    np.testing.assert_array_equal(city.veh.insert_s, [0.0])


def test_depart_pos_last_goes_as_far_forward_as_the_last_vehicle_allows(tmp_path):
    """``departPos="last"`` (``MSLane::lastInsertion``): at the lane's end when the lane
    is empty, else behind its last vehicle by the secure gap at the depart speed, the
    minimum gap and ``POSITION_EPS``. A car a second at ``departSpeed="max"``: each
    enters when due, as in SUMO, where SUMO puts it. (Twin put each just behind the last
    car with only the minimum gap, at that car's speed, and at the lane's start when the
    lane was empty: a 1,200 m three-lane motorway with a car every 0.6 s finished 357 of
    SUMO's 500 trips, depart delay 29.7 s against 0.2 s.)"""
    net = straight_road(tmp_path)
    routes = tmp_path / "last.rou.xml"
    routes.write_text(
        f"<routes>{VTYPE}"
        + "".join(
            f'<vehicle id="{k}" type="det" depart="{k}" departLane="first" departPos="last" '
            'departSpeed="max"><route edges="AB BC"/></vehicle>'
            for k in range(60)
        )
        + "</routes>"
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=300.0, emissions=False)
    world, city = twin_city(net, routes)
    world.run(300.0)
    np.testing.assert_array_equal(sumo.trips.depart_s, np.arange(60.0))
    np.testing.assert_array_equal(city.veh.insert_s, np.arange(60.0))
    # Where each was inserted, by the distance it drove (SUMO's routeLength): the first
    # 500.2 m (AB's end to C), each next 7.6 m further back; within 0.2 m trip by trip.
    by_id = np.argsort([int(i) for i in sumo.trips.ids])
    np.testing.assert_allclose(city.veh.dist_m, sumo.trips.route_length_m[by_id], atol=0.25)


def _depart_lanes(tripinfo: Path) -> list[int]:
    """SUMO's depart lane index of each trip, by numeric trip id."""
    trips = sorted(ET.parse(tripinfo).getroot().iter("tripinfo"), key=lambda e: int(e.get("id")))
    return [int(e.get("departLane").rsplit("_", 1)[1]) for e in trips]


def _lanes_entered(world: World, city: City, end_s: int) -> list[int]:
    """The lane index (on its first edge) each trip entered, running second by second."""
    lanes = np.full(len(city.veh.lane), -1)
    for t in range(1, end_s):
        world.advance(float(t))
        just_in = (lanes < 0) & (city.veh.lane >= 0)
        first_edge = city.veh.route_edges[city.veh.route_start][just_in]
        lanes[just_in] = city.veh.lane[just_in] - city.arrays.edge_lane_start[first_edge]
    return lanes.tolist()


def test_best_prob_takes_the_roomiest_lane_but_never_left_of_a_faster_car(tmp_path):
    """SUMO 1.28's default ``departLane="best_prob"`` is no draw: of the lanes that lead
    on, the one whose last car is furthest ahead, but never to the left of a last car
    that may drive faster (``MSEdge::getProbableLane``), chosen again at every try. Slow
    (speedFactor 0.8) and fast (1.2) cars due at once on three lanes: each enters when
    and where it does in SUMO. (Twin drew one lane per trip at random, once: a slow car
    went left of a fast one, and a car whose lane was taken waited for that lane.)"""
    net = straight_road(tmp_path, lanes=3)
    routes = tmp_path / "prob.rou.xml"
    kinds = ["slow", "fast", "slow", "fast", "fast", "slow", "slow", "fast", "slow", "fast"]
    routes.write_text(
        "<routes>"
        '<vType id="slow" sigma="0" speedDev="0" speedFactor="0.8"/>'
        '<vType id="fast" sigma="0" speedDev="0" speedFactor="1.2"/>'
        + "".join(
            f'<vehicle id="{k}" type="{kind}" depart="0" departSpeed="0">'
            '<route edges="AB BC"/></vehicle>'
            for k, kind in enumerate(kinds)
        )
        + "</routes>"
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=300.0, emissions=False)
    by_id = np.argsort([int(i) for i in sumo.trips.ids])
    sumo_lanes = _depart_lanes(tmp_path / "sumo" / "tripinfo.xml")
    world, city = twin_city(net, routes)
    lanes = _lanes_entered(world, city, 300)
    assert sumo_lanes == [0, 1, 0, 2, 1, 0, 1, 2, 2, 0]
    np.testing.assert_array_equal(sumo.trips.depart_s[by_id], [0, 0, 2, 0, 2, 5, 5, 2, 5, 7])
    assert lanes == sumo_lanes
    np.testing.assert_array_equal(city.veh.insert_s, sumo.trips.depart_s[by_id])


def test_best_prob_departs_on_the_lane_that_reaches_the_turn_two_edges_ahead(tmp_path):
    """SUMO's best lanes look along the route, not just to the next edge
    (``MSVehicle::updateBestLanes``): both lanes of AB lead to BC, but only BC's left
    lane turns to CD, and AB's left lane leads to it. Eight cars due at once for AB BC
    CD all depart on AB's left lane, one by one, when they do in SUMO."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="A" x="0" y="0"/><node id="B" x="300" y="0" type="priority"/>'
        '<node id="C" x="600" y="0" type="priority"/><node id="D" x="600" y="300"/>'
        '<node id="E" x="900" y="0"/></nodes>',
        '<edges><edge id="AB" from="A" to="B" numLanes="2" speed="13.89"/>'
        '<edge id="BC" from="B" to="C" numLanes="2" speed="13.89"/>'
        '<edge id="CD" from="C" to="D" numLanes="1" speed="13.89"/>'
        '<edge id="CE" from="C" to="E" numLanes="1" speed="13.89"/></edges>',
        x='<connections><connection from="BC" to="CD" fromLane="1" toLane="0"/>'
        '<connection from="BC" to="CE" fromLane="0" toLane="0"/></connections>',
    )
    routes = tmp_path / "turn.rou.xml"
    routes.write_text(
        f"<routes>{VTYPE}"
        + "".join(
            f'<vehicle id="{k}" type="det" depart="0" departSpeed="0">'
            '<route edges="AB BC CD"/></vehicle>'
            for k in range(8)
        )
        + "</routes>"
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=300.0, emissions=False)
    by_id = np.argsort([int(i) for i in sumo.trips.ids])
    assert _depart_lanes(tmp_path / "sumo" / "tripinfo.xml") == [1] * 8
    world, city = twin_city(net, routes)
    assert _lanes_entered(world, city, 300) == [1] * 8
    np.testing.assert_array_equal(sumo.trips.depart_s[by_id], [0, 2, 5, 7, 10, 12, 15, 17])
    np.testing.assert_array_equal(city.veh.insert_s, sumo.trips.depart_s[by_id])


def test_a_trip_due_at_a_step_enters_at_that_step(tmp_path):
    """SUMO inserts a vehicle in the first step at or after its depart time: a free road
    gives zero depart delay for whole seconds and the rest of the second otherwise."""
    net = straight_road(tmp_path)
    routes = tmp_path / "r.rou.xml"
    routes.write_text(
        f"<routes>{VTYPE}"
        '<vehicle id="a" type="det" depart="3"><route edges="AB BC"/></vehicle>'
        '<vehicle id="b" type="det" depart="20.25"><route edges="AB BC"/></vehicle></routes>'
    )
    world, city = twin_city(net, routes)
    world.run(200.0)
    np.testing.assert_array_equal(city.veh.insert_s, [3.0, 21.0])


def test_random_lanes_and_positions_come_from_the_depart_stream(tmp_path):
    net = straight_road(tmp_path, lanes=3)
    routes = burst(tmp_path, 30, "")
    codes = {
        "depart_lane": np.full(30, DEPART_LANE_RANDOM),
        "depart_pos_m": np.full(30, DEPART_POS_RANDOM_FREE),
    }
    runs = []
    for _ in range(2):
        _world, city = twin_city(net, routes, seed=5, **codes)
        city.tick()  # insert at t=0, then one move
        runs.append((city.veh.lane.copy(), city.veh.pos.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    lane, pos = runs[0]
    pos = pos - city.veh.dist_m  # where they were inserted
    on = (lane >= 0) & (city.arrays.lane_edge[lane] == 0)  # inserted, and still on AB
    assert on.sum() >= 20  # random_free finds room for most at once on 3 x 500 m
    assert len(np.unique(lane[on])) == 3
    assert np.ptp(pos[on]) > 200.0  # spread along the edge, not all at its start
    # No two vehicles overlap on a lane.
    for ln in np.unique(lane[on]):
        p = np.sort(pos[on & (lane == ln)])
        assert np.all(np.diff(p) >= 5.0 + 2.5 - 1e-9)


def test_a_random_depart_position_is_drawn_again_at_every_try(tmp_path):
    """SUMO draws ``departPos="random"`` afresh at each try (``MSLane::insertVehicle``).
    A car a second for 40 s onto a 200 m lane held red for 1,000 s: the queue grows
    back from the light, and every car whose draw lands in it tries again elsewhere
    until the lane is full. SUMO inserts 26 on each of four seeds; twin 26 or 27 (it
    inserted 3 to 11 when each trip kept its first draw: the first trip waiting behind
    the queue held every later one, SUMO's once-per-step memory of a refused lane)."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="A" x="0" y="0"/><node id="B" x="200" y="0" type="traffic_light"/>'
        '<node id="C" x="400" y="0"/><node id="D" x="200" y="-200"/></nodes>',
        '<edges><edge id="AB" from="A" to="B" speed="13.89"/>'
        '<edge id="BC" from="B" to="C" speed="13.89"/>'
        '<edge id="DB" from="D" to="B" speed="13.89"/></edges>',
        # link 1 (AB -> BC) red for 1,000 s
        i='<tlLogics><tlLogic id="B" type="static" programID="0" offset="0">'
        '<phase duration="1000" state="Gr"/><phase duration="10" state="rG"/></tlLogic>'
        "</tlLogics>",
    )
    routes = tmp_path / "random.rou.xml"
    routes.write_text(
        f"<routes>{VTYPE}"
        + "".join(
            f'<vehicle id="{k}" type="det" depart="{k}" departPos="random" departSpeed="0">'
            '<route edges="AB BC"/></vehicle>'
            for k in range(40)
        )
        + "</routes>"
    )
    for seed in (1, 2):
        sumo = run_sumo(net, routes, tmp_path / f"sumo{seed}", end_s=200.0, emissions=False,
                        seed=seed)  # fmt: skip
        world, city = twin_city(net, routes, seed=seed)
        world.run(200.0)
        inserted = int((city.veh.state >= DRIVING).sum())
        assert int(sumo.statistics["vehicles"]["inserted"]) == 26
        assert inserted in (26, 27)


def test_base_position_puts_the_back_just_past_the_lane_start(tmp_path):
    net = straight_road(tmp_path)
    routes = burst(tmp_path, 1, "")
    _world, city = twin_city(net, routes, depart_pos_m=np.full(1, DEPART_POS_BASE))
    city.tick()
    inserted_at = city.veh.pos[0] - city.veh.dist_m[0]
    assert inserted_at == pytest.approx(5.1)  # length + SUMO's POSITION_EPS


def test_a_depart_lane_the_edge_does_not_have_is_refused(tmp_path):
    net = straight_road(tmp_path)
    routes = burst(tmp_path, 2, "")
    with pytest.raises(ConfigError, match=r"trip 0\.departLane"):
        twin_city(net, routes, depart_lane=np.array([1, 0]))


def _splitmix_reference(z: int) -> int:
    """SplitMix64's step and output function on Python integers (Steele, Lea and Flood
    2014; the constants of Vigna's reference C code)."""
    mask = (1 << 64) - 1
    z = (z + 0x9E3779B97F4A7C15) & mask
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


def test_a_tries_uniforms_are_splitmix64_of_key_trip_try_and_slot():
    """``try_uniform``: the key, the trip, its try count and the slot hashed in turn with
    SplitMix64, the top 53 bits as a float in [0, 1): the same numbers as a plain-integer
    reference, compiled or not."""
    key, n = 2**63 + 12345, 20
    tries = np.arange(n, dtype=np.int64) * 7
    z1, i1 = np.zeros(1), np.zeros(1, dtype=np.int64)
    departs = Departs(
        np.zeros(n, dtype=np.int64), z1, z1, np.array([key], dtype=np.uint64), tries,
        i1, i1, np.zeros((1, 1)), np.zeros((1, 1), dtype=np.int64),
        np.zeros((1, 1), dtype=np.int64), i1, np.array([-1.0]),
    )  # fmt: skip
    for v in range(n):
        for slot in range(3):
            z = _splitmix_reference(key ^ v)
            z = _splitmix_reference(z ^ int(tries[v]))
            z = _splitmix_reference(z ^ slot)
            assert try_uniform(departs, v, slot) == (z >> 11) / 2.0**53


def test_an_insertion_waits_for_a_car_still_leaving_the_lane(tmp_path):
    """A car that has driven off the lane into the junction is still on it with its back
    (SUMO's partial occupator), and an insertion sees it as the leader
    (``MSLane::isInsertionSuccess``, ``getLastVehicleInformation``). The first car
    departs 5 m before the junction at 3 m/s and crosses the line in the first second;
    the second, due then 4 m before the line, would stand in its back: SUMO inserts it
    a second later, as twin does (twin inserted it at once, before it knew)."""
    net = straight_road(tmp_path, first_m=200.0)
    routes = tmp_path / "leaving.rou.xml"
    routes.write_text(
        f"<routes>{VTYPE}"
        '<vehicle id="0" type="det" depart="0" departPos="195" departSpeed="3">'
        '<route edges="AB BC"/></vehicle>'
        '<vehicle id="1" type="det" depart="1" departPos="196" departSpeed="0">'
        '<route edges="AB BC"/></vehicle></routes>'
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=100.0, emissions=False)
    world, city = twin_city(net, routes)
    world.run(100.0)
    np.testing.assert_array_equal(sumo.trips.depart_s, [0.0, 2.0])
    np.testing.assert_array_equal(city.veh.insert_s, [0.0, 2.0])
