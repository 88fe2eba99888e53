"""Lane changing (LC2013's essentials) against SUMO on hand-built roads.

Both simulators drive the same netconvert network and the same deterministic flows;
SUMO's vehicle types and depart attributes are spelled out (SUMO 1.28's own defaults are
``departSpeed="avg"``, ``departLane="best_prob"``), and twin gets the same codes.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from models.signals.fixed_time import FixedTime
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import DEPART_LANE_FIRST, DEPART_LANE_FREE, DEPART_SPEED_MAX
from twin.traffic.sumo import read_net, read_routes
from twin.traffic.sumo_tools import run_program, run_sumo, sumo_binary

REPORTED = ("trips_completed", "trip_duration_mean_s", "time_loss_mean_s", "depart_delay_mean_s")


def netconvert(
    directory: Path, nodes: str, edges: str, connections: str, tl_logics: str = ""
) -> Path:
    files = [("nod", "-n", nodes), ("edg", "-e", edges), ("con", "-x", connections)]
    if tl_logics:
        files.append(("tll", "-i", tl_logics))
    args: list[str | Path] = [sumo_binary("netconvert")]
    for name, option, body in files:
        (directory / f"n.{name}.xml").write_text(body)
        args += [option, directory / f"n.{name}.xml"]
    net = directory / "n.net.xml"
    run_program([*args, "-o", net], "netconvert")
    return net


def north_and_east(tmp_path: Path, north: str, east: str, period_s: int, east_begin_s: int):
    """Route file: cars on route ``north`` from 0 s and on ``east`` from ``east_begin_s``,
    one each every ``period_s`` until 600 s, on the first lane at full speed."""
    routes = tmp_path / "a.rou.xml"
    routes.write_text(
        '<routes><vType id="car"/>'
        f'<flow id="north" type="car" begin="0" end="600" period="{period_s}" '
        f'departLane="first" departSpeed="max"><route edges="{north}"/></flow>'
        f'<flow id="east" type="car" begin="{east_begin_s}" end="600" period="{period_s}" '
        f'departLane="first" departSpeed="max"><route edges="{east}"/></flow></routes>'
    )
    return routes


def sumo_fcd(net: Path, routes: Path, tmp_path: Path):
    """SUMO's run for 900 s (seed 1) and its FCD, every second; it ends empty."""
    fcd = tmp_path / "fcd.xml"
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=900.0, emissions=False, seed=1,
                    extra_args=["--fcd-output", str(fcd)])  # fmt: skip
    assert (sumo.running, sumo.waiting, sumo.teleports) == (0, 0, 0)
    return sumo, ET.parse(fcd).getroot()


def twin_city(net: Path, routes: Path):
    """Twin's city on the same files, its trips on the first lane at full speed."""
    network = read_net(net)
    trips = read_routes(network, routes)
    n = len(trips)
    trips = dataclasses.replace(
        trips,
        depart_lane=np.full(n, DEPART_LANE_FIRST, dtype=np.int64),
        depart_speed_mps=np.full(n, DEPART_SPEED_MAX),
    )
    world = World(1, tick_s=60.0)
    return world, City(world, network, trips, FixedTime()), network, trips


def both(net: Path, routes: Path, tmp_path: Path, lane_codes: dict[str, int], end_s: float):
    """SUMO's and twin's KPIs, and twin's city; ``lane_codes``: first edge -> departLane."""
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=end_s, emissions=False, seed=1)
    assert (sumo.running, sumo.waiting, sumo.teleports, sumo.collisions) == (0, 0, 0, 0)
    network = read_net(net)
    trips = read_routes(network, routes)
    first = [network.edges[e].id for e in trips.route_edges[trips.route_start[:-1]]]
    n = len(trips)
    trips = dataclasses.replace(
        trips,
        depart_lane=np.array([lane_codes[e] for e in first], dtype=np.int64),
        depart_speed_mps=np.full(n, DEPART_SPEED_MAX),
    )
    world = World(1, tick_s=60.0)
    city = City(world, network, trips, FixedTime())
    world.run(end_s)
    twin = {name: kpi.value for name, kpi in city.kpis().items()}
    ref = sumo.trips.summary()
    for name in REPORTED:
        print(f"  {name:22s} SUMO {ref[name]:9.2f}   twin {twin[name]:9.2f}"
              f"   twin/SUMO {twin[name] / ref[name]:6.3f}")  # fmt: skip
    print(f"  twin lane changes {twin['lane_changes']:.0f}, "
          f"emergency brakes {twin['emergency_brakes']:.0f} (SUMO: 0)")  # fmt: skip
    return ref, twin, city


def test_a_motorway_with_an_on_ramp_and_trucks_carries_sumos_volumes(tmp_path):
    """3-lane motorway, a 1-lane on-ramp joining as a 300 m acceleration lane that ends,
    10% trucks at 90 km/h among cars (speed-gain and keep-right changes); 2,250 cars/h,
    360 trucks/h, 800 ramp cars/h.

    In SUMO the ramp cars enter the acceleration lane and must merge left (strategic
    changes). Twin's junction still sends a car onto the lane of the next edge with most
    room among those that lead on, so its ramp cars skip the acceleration lane; they
    will merge by strategic changes once movements follow SUMO's connections lane by
    lane (the arterial test below shows strategic changes against SUMO)."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="A" x="0" y="0"/><node id="R" x="600" y="-100"/>'
        '<node id="B" x="1000" y="0" type="priority"/><node id="C" x="1300" y="0" type="priority"/>'
        '<node id="D" x="2500" y="0"/></nodes>',
        '<edges><edge id="AB" from="A" to="B" numLanes="3" speed="33.33"/>'
        '<edge id="RB" from="R" to="B" numLanes="1" speed="22.22"/>'
        '<edge id="BC" from="B" to="C" numLanes="4" speed="33.33"/>'
        '<edge id="CD" from="C" to="D" numLanes="3" speed="33.33"/></edges>',
        "<connections>"
        + "".join(
            f'<connection from="AB" to="BC" fromLane="{k}" toLane="{k + 1}"/>'
            f'<connection from="BC" to="CD" fromLane="{k + 1}" toLane="{k}"/>'
            for k in range(3)
        )
        + '<connection from="RB" to="BC" fromLane="0" toLane="0"/></connections>',
    )
    routes = tmp_path / "m.rou.xml"
    routes.write_text(
        '<routes><vType id="car"/>'
        '<vType id="truck" vClass="truck" length="7.1" accel="1.3" decel="4" '
        'emergencyDecel="7" maxSpeed="25"/>'
        '<flow id="main" type="car" begin="0" end="900" period="1.6" departLane="free" '
        'departSpeed="max"><route edges="AB BC CD"/></flow>'
        '<flow id="ramp" type="car" begin="0.25" end="900" period="4.5" departLane="first" '
        'departSpeed="max"><route edges="RB BC CD"/></flow>'
        '<flow id="trk" type="truck" begin="0.5" end="900" period="10" departLane="free" '
        'departSpeed="max"><route edges="AB BC CD"/></flow></routes>'
    )
    ref, twin, _ = both(
        net, routes, tmp_path, {"AB": DEPART_LANE_FREE, "RB": DEPART_LANE_FIRST}, 1500.0
    )
    assert twin["trips_completed"] == ref["trips_completed"] == 853
    assert twin["trip_duration_mean_s"] == pytest.approx(ref["trip_duration_mean_s"], rel=0.02)
    assert twin["time_loss_mean_s"] == pytest.approx(ref["time_loss_mean_s"], rel=0.15)
    assert twin["depart_delay_mean_s"] == pytest.approx(ref["depart_delay_mean_s"], rel=0.10)
    assert twin["lane_changes"] >= 200  # cars pass the trucks and return to the right


def test_turning_traffic_on_a_two_lane_arterial_reaches_its_turn_lane(tmp_path):
    """A 2-lane arterial (400 m) into a priority junction: the right lane goes straight
    or right, the left lane straight or left. Every car enters on the right lane
    (``departLane="first"``); the left-turners (one in four) must change lanes before
    the junction, as in SUMO."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="W" x="0" y="0"/><node id="J" x="400" y="0" type="priority"/>'
        '<node id="E" x="800" y="0"/><node id="N" x="400" y="400"/>'
        '<node id="S" x="400" y="-400"/></nodes>',
        '<edges><edge id="WJ" from="W" to="J" numLanes="2" speed="13.89" priority="2"/>'
        '<edge id="JE" from="J" to="E" numLanes="2" speed="13.89" priority="2"/>'
        '<edge id="JN" from="J" to="N" numLanes="1" speed="13.89" priority="1"/>'
        '<edge id="JS" from="J" to="S" numLanes="1" speed="13.89" priority="1"/></edges>',
        '<connections><connection from="WJ" to="JS" fromLane="0" toLane="0"/>'
        '<connection from="WJ" to="JE" fromLane="0" toLane="0"/>'
        '<connection from="WJ" to="JE" fromLane="1" toLane="1"/>'
        '<connection from="WJ" to="JN" fromLane="1" toLane="0"/></connections>',
    )
    routes = tmp_path / "a.rou.xml"
    routes.write_text(
        '<routes><vType id="car"/>'
        '<flow id="left" type="car" begin="0" end="600" period="8" departLane="first" '
        'departSpeed="max"><route edges="WJ JN"/></flow>'
        '<flow id="right" type="car" begin="1" end="600" period="8" departLane="first" '
        'departSpeed="max"><route edges="WJ JS"/></flow>'
        '<flow id="through" type="car" begin="2" end="600" period="4" departLane="first" '
        'departSpeed="max"><route edges="WJ JE"/></flow></routes>'
    )
    ref, twin, _ = both(net, routes, tmp_path, {"WJ": DEPART_LANE_FIRST}, 900.0)
    assert twin["trips_completed"] == ref["trips_completed"] == 300
    assert twin["trips_unfinished"] == 0
    assert twin["time_loss_mean_s"] == pytest.approx(ref["time_loss_mean_s"], rel=0.25)
    # Every left-turner changed lanes at least once: it could not turn otherwise.
    assert twin["lane_changes"] >= 75


def test_cars_starting_one_behind_another_keep_their_lane(tmp_path):
    """LC2013 compares the lanes one second ahead while a leader on either lane speeds up
    (``anticipateFollowSpeed`` with ``acceleratingLeader``): no faster than the car's
    speed plus one second of acceleration on either, so a car starting behind a starting
    car sees no gain in the free lane beside it. Twelve cars due at once on the first of
    three lanes of a 1 km road, from standstill: in SUMO all stay on it, departing at 0,
    2, 5, 7, ... s; twin the same (twin compared the safe speeds now, moved each follower
    to a free lane at once and let the next one in a second earlier)."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="a" x="0" y="0"/><node id="b" x="1000" y="0"/></nodes>',
        '<edges><edge id="ab" from="a" to="b" numLanes="3" speed="13.89"/></edges>',
        "<connections/>",
    )
    routes = tmp_path / "platoon.rou.xml"
    routes.write_text(
        '<routes><vType id="det" sigma="0" speedDev="0"/>'
        + "".join(
            f'<vehicle id="{k}" type="det" depart="0" departLane="first" departSpeed="0">'
            '<route edges="ab"/></vehicle>'
            for k in range(12)
        )
        + "</routes>"
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=300.0, emissions=False)
    by_id = np.argsort([int(i) for i in sumo.trips.ids])
    starts = [0, 2, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27]
    np.testing.assert_array_equal(sumo.trips.depart_s[by_id], starts)
    network = read_net(net)
    world = World(1, tick_s=60.0)
    city = City(world, network, read_routes(network, routes), FixedTime())
    world.run(300.0)
    np.testing.assert_array_equal(city.veh.insert_s, starts)
    assert city.kpis()["lane_changes"].value == 0


def test_a_follower_beside_a_blocked_changer_passes_it(tmp_path):
    """Two cars start standing side by side near the end of a two-lane road whose left
    lane alone leads on: ``changer`` on the right lane, its front 5 m from the end,
    ``beside`` on the left lane 3 m behind it, so close that ``changer`` cannot move over
    in front of it (their gap is short of ``beside``'s minimum gap). ``beside`` cannot
    open a gap by braking: in LC2013 (``informFollower``) it is then asked to pass, and
    ``changer`` moves over behind it. Both finish in SUMO, and in twin (which held
    ``beside`` at a standstill for ``changer``, and both stood for ever)."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="a" x="0" y="0"/><node id="b" x="50" y="0" type="priority"/>'
        '<node id="c" x="250" y="0"/></nodes>',
        '<edges><edge id="ab" from="a" to="b" numLanes="2" speed="13.89"/>'
        '<edge id="bc" from="b" to="c" numLanes="1" speed="13.89"/></edges>',
        '<connections><connection from="ab" to="bc" fromLane="1" toLane="0"/></connections>',
    )
    routes = tmp_path / "pair.rou.xml"
    routes.write_text(
        '<routes><vType id="det" sigma="0" speedDev="0"/>'
        '<vehicle id="changer" type="det" depart="0" departLane="0" departPos="45" '
        'departSpeed="0"><route edges="ab bc"/></vehicle>'
        '<vehicle id="beside" type="det" depart="0" departLane="1" departPos="42" '
        'departSpeed="0"><route edges="ab bc"/></vehicle></routes>'
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=120.0, emissions=False)
    assert sorted(sumo.trips.ids) == ["beside", "changer"]
    assert (sumo.teleports, sumo.running, sumo.waiting) == (0, 0, 0)
    network = read_net(net)
    world = World(1, tick_s=60.0)
    city = City(world, network, read_routes(network, routes), FixedTime())
    world.run(120.0)
    kpis = city.kpis()
    assert kpis["trips_completed"].value == 2
    assert kpis["lane_changes"].value == 1


def test_a_car_takes_the_lane_its_turn_two_junctions_ahead_needs(tmp_path):
    """A one-lane road ``WA`` widens at ``A`` into two lanes (``AB``, 200 m), each going on
    to its own lane of a 12 m link ``BC``; at ``C`` only the link's left lane turns left
    (``CN``), its right lane goes straight (``CE``). A car bound for ``CN`` can choose at
    ``A`` and should take ``AB``'s left lane: SUMO's best lanes follow the route past the
    next edge (src/microsim/MSVehicle.cpp ``updateBestLanes``), so every northbound car
    is on lane 1 wherever it is on ``AB``; twin's choice used to look one edge ahead
    (both lanes lead to ``BC``), took the lane with more room, and on lane 0 had to
    change lanes within the 12 m link or on ``AB``, its own lane choice and the
    speed-gain changes undoing each other. SUMO's FCD, every second, and twin's lanes,
    every second."""
    net = netconvert(
        tmp_path,
        '<nodes><node id="W" x="0" y="0"/><node id="A" x="300" y="0" type="priority"/>'
        '<node id="B" x="500" y="0" type="priority"/>'
        '<node id="C" x="512" y="0" type="traffic_light"/>'
        '<node id="E" x="900" y="0"/><node id="N" x="512" y="400"/></nodes>',
        '<edges><edge id="WA" from="W" to="A" numLanes="1" speed="13.89"/>'
        '<edge id="AB" from="A" to="B" numLanes="2" speed="13.89"/>'
        '<edge id="BC" from="B" to="C" numLanes="2" speed="13.89"/>'
        '<edge id="CE" from="C" to="E" numLanes="1" speed="13.89"/>'
        '<edge id="CN" from="C" to="N" numLanes="1" speed="13.89"/></edges>',
        '<connections><connection from="WA" to="AB" fromLane="0" toLane="0"/>'
        '<connection from="WA" to="AB" fromLane="0" toLane="1"/>'
        '<connection from="AB" to="BC" fromLane="0" toLane="0"/>'
        '<connection from="AB" to="BC" fromLane="1" toLane="1"/>'
        '<connection from="BC" to="CE" fromLane="0" toLane="0"/>'
        '<connection from="BC" to="CN" fromLane="1" toLane="0"/></connections>',
    )
    routes = north_and_east(tmp_path, "WA AB BC CN", "WA AB BC CE", period_s=6, east_begin_s=3)
    sumo, fcd = sumo_fcd(net, routes, tmp_path)
    sumo_lanes = {
        v.get("lane")
        for step in fcd
        for v in step
        if v.get("id", "").startswith("north") and v.get("lane", "").startswith("AB_")
    }
    assert sumo_lanes == {"AB_1"}

    world, city, network, trips = twin_city(net, routes)
    n = len(trips)
    ab = next(k for k, e in enumerate(network.edges) if e.id == "AB")
    first = int(city.arrays.edge_lane_start[ab])
    cn = next(k for k, e in enumerate(network.edges) if e.id == "CN")
    north = trips.route_edges[trips.route_start[1:] - 1] == cn
    twin_lanes: set[int] = set()
    for t in range(1, 901):
        world.run(float(t))
        on_ab = (city.veh.lane[:n] >= first) & (city.veh.lane[:n] < first + 2)
        twin_lanes |= {int(x) - first for x in city.veh.lane[:n][on_ab & north]}
    assert twin_lanes == {1}
    assert city.kpis()["trips_completed"].value == sumo.trips.summary()["trips_completed"]


def left_turn_lane_road(tmp_path: Path, b_x: int, e_x: int, red_s: int, green_s: int) -> Path:
    """``W``-``A`` one lane, ``A``-``B`` two lanes (``A`` at x 300, ``B`` at ``b_x``), fed
    on its right lane only; its right lane goes on east to ``E`` (x ``e_x``), its left
    lane alone turns left to ``N``, red for the first ``red_s`` of every
    ``red_s + green_s`` seconds at the light ``B``."""
    return netconvert(
        tmp_path,
        '<nodes><node id="W" x="0" y="0"/><node id="A" x="300" y="0" type="priority"/>'
        f'<node id="B" x="{b_x}" y="0" type="traffic_light"/><node id="E" x="{e_x}" y="0"/>'
        f'<node id="N" x="{b_x}" y="400"/></nodes>',
        '<edges><edge id="WA" from="W" to="A" numLanes="1" speed="13.89"/>'
        '<edge id="AB" from="A" to="B" numLanes="2" speed="13.89"/>'
        '<edge id="BE" from="B" to="E" numLanes="1" speed="13.89"/>'
        '<edge id="BN" from="B" to="N" numLanes="1" speed="13.89"/></edges>',
        '<connections><connection from="WA" to="AB" fromLane="0" toLane="0"/>'
        '<connection from="AB" to="BE" fromLane="0" toLane="0"/>'
        '<connection from="AB" to="BN" fromLane="1" toLane="0"/></connections>',
        '<tlLogics><tlLogic id="B" type="static" programID="0" offset="0">'
        f'<phase duration="{red_s}" state="Gr"/><phase duration="{green_s}" state="GG"/>'
        "</tlLogic></tlLogics>",
    )


def test_a_car_waits_on_a_short_lane_for_the_lane_its_turn_needs(tmp_path):
    """``AB`` is 14 m of two lanes (room for one car each); ``WA`` feeds only its right
    lane, and only its left lane turns left at the light ``B`` (red for the left 60 s
    of every 90). A northbound car that finds the left lane full enters the right lane
    and stands at its end until it can change, the eastbound cars behind it waiting
    too, as in SUMO (FCD: northbound cars 209 vehicle-seconds on ``AB_0``); twin held it
    on ``WA`` before (0 s)."""
    net = left_turn_lane_road(tmp_path, b_x=322, e_x=700, red_s=60, green_s=30)
    routes = north_and_east(tmp_path, "WA AB BN", "WA AB BE", period_s=20, east_begin_s=10)
    sumo, fcd = sumo_fcd(net, routes, tmp_path)
    sumo_north_on_ab0 = sum(
        1
        for step in fcd
        for v in step
        if v.get("id", "").startswith("north") and v.get("lane") == "AB_0"
    )
    assert sumo_north_on_ab0 > 0

    world, city, network, trips = twin_city(net, routes)
    n = len(trips)
    ab = next(k for k, e in enumerate(network.edges) if e.id == "AB")
    assert network.edges[ab].length_m == pytest.approx(14.0)
    right = int(city.arrays.edge_lane_start[ab])
    bn = next(k for k, e in enumerate(network.edges) if e.id == "BN")
    north = trips.route_edges[trips.route_start[1:] - 1] == bn
    twin_north_on_ab0 = 0
    for t in range(1, 901):
        world.run(float(t))
        twin_north_on_ab0 += int(np.sum((city.veh.lane[:n] == right) & north))
    assert twin_north_on_ab0 > 0
    assert city.kpis()["trips_completed"].value == sumo.trips.summary()["trips_completed"] == n


def test_a_changer_drives_on_beside_a_standing_queue_to_the_lane_end(tmp_path):
    """``AB`` is 250 m of two lanes; ``WA`` feeds only its right lane, and only its left
    lane turns left at ``B``, red for the first 240 s. Cars bound left come every 4 s.
    Once the left lane's queue leaves no secure gap, a car stays on the right lane and,
    faster than the standing queue and with room before the lane end, drives on past it
    (LC2013's informLeader): in SUMO the 28th car, at 146 s, is the first to stand on
    ``AB_0``, 230.0 m along it, beside the queue's head. In twin the 29th, at 153 s, at
    229.7 m (the 33rd at 166 s, 227.2 m, while a car took a full lane's last room
    without a secure gap; none before it drove past the queue: all waited on ``WA``)."""
    net = left_turn_lane_road(tmp_path, b_x=550, e_x=950, red_s=240, green_s=120)
    routes = tmp_path / "a.rou.xml"
    routes.write_text(
        '<routes><vType id="car"/><flow id="north" type="car" begin="0" end="200" '
        'period="4" departLane="first" departSpeed="max"><route edges="WA AB BN"/></flow>'
        "</routes>"
    )
    sumo, fcd = sumo_fcd(net, routes, tmp_path)
    sumo_halts = [
        (float(step.get("time")), float(v.get("pos")))
        for step in fcd
        for v in step
        if v.get("lane") == "AB_0" and float(v.get("speed")) < 0.1
    ]
    sumo_first_halt_m = min(sumo_halts)[1]
    assert sumo_first_halt_m == pytest.approx(230.0, abs=0.1)

    world, city, network, trips = twin_city(net, routes)
    n = len(trips)
    ab = next(k for k, e in enumerate(network.edges) if e.id == "AB")
    right = int(city.arrays.edge_lane_start[ab])
    twin_first_halt_m = None
    for t in range(1, 901):
        world.run(float(t))
        halted = (city.veh.lane[:n] == right) & (city.veh.state[:n] == 2)
        halted &= city.veh.speed[:n] < 0.1
        if twin_first_halt_m is None and halted.any():
            twin_first_halt_m = float(city.veh.pos[:n][halted].min())
    assert twin_first_halt_m == pytest.approx(sumo_first_halt_m, abs=5.0)
    assert city.kpis()["trips_completed"].value == sumo.trips.summary()["trips_completed"] == n
