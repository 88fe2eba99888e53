"""SUMO networks and demand read into twin: structure, signal programmes, routes, bad input."""

import textwrap
from pathlib import Path

import numpy as np
import pytest
import sumolib

from models.signals.fixed_time import FixedTime
from twin.core.errors import ConfigError
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, Router, TripTable, VehicleType, poisson_trips
from twin.traffic.network import SignalProgram
from twin.traffic.sumo import read_net, read_routes, write_routes
from twin.traffic.sumo_tools import (
    generate_grid,
    random_trips,
    run_program,
    run_sumo,
    sumo_binary,
)


@pytest.fixture(scope="module")
def grid3(tmp_path_factory) -> Path:
    """A 3x3 signalised grid as netgenerate builds it, one lane, 200 m blocks."""
    return generate_grid(tmp_path_factory.mktemp("net") / "grid3.net.xml", columns=3, rows=3)


@pytest.fixture(scope="module")
def grid3_routes(grid3) -> Path:
    return random_trips(grid3, grid3.with_name("grid3.rou.xml"), end_s=600, period_s=2, seed=7)


def one_line(error: pytest.ExceptionInfo[ConfigError]) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_a_grid_keeps_its_edges_lengths_speeds_and_connections(grid3):
    net = read_net(grid3)
    sumo = sumolib.net.readNet(str(grid3))
    sumo_edges = [e for e in sumo.getEdges() if e.getFunction() == ""]
    # 9 junctions with 4 incoming legs each, and 12 streets out to the fringe.
    assert len(net.edges) == len(sumo_edges) == 9 * 4 + 12
    for edge in sumo_edges:
        twin_edge = net.edges[net.edge_index(edge.getID())]
        assert twin_edge.length_m == pytest.approx(edge.getLength())
        assert twin_edge.speed_mps == pytest.approx(edge.getSpeed())
        assert twin_edge.lanes == edge.getLaneNumber()
        assert net.nodes[twin_edge.from_node].id == edge.getFromNode().getID()
        assert {net.edges[k].id for k in net.successors[net.edge_index(edge.getID())]} == {
            e.getID() for e in edge.getOutgoing()
        }
    # No turnarounds: right, straight and left at each of the 9 junctions' 4 approaches.
    assert len(net.movements) == 9 * 4 * 3
    assert sorted(m.turn for m in net.movements) == sorted("rsl" * 36)
    assert len(net.intersections) == 9
    # Trips start on the 12 streets that come in from the fringe and end on 12 going out.
    assert len(net.entry_edges) == len(net.exit_edges) == 12


def test_movements_carry_their_internal_lanes(grid3):
    net = read_net(grid3)
    sumo = sumolib.net.readNet(str(grid3), withInternal=True)
    for m in net.movements:
        src, dst = net.edges[m.from_edge], net.edges[m.to_edge]
        (conn,) = sumo.getEdge(src.id).getConnections(sumo.getEdge(dst.id))
        lane = sumo.getLane(conn.getViaLaneID())
        assert m.length_m >= lane.getLength() > 0  # a left turn has two internal lanes
        assert m.speed_mps == pytest.approx(lane.getSpeed(), rel=0.05)
        assert m.turn == conn.getDirection()


def test_signal_programmes_are_sumos_guess_with_safe_greens(grid3):
    net = read_net(grid3)
    sumo = sumolib.net.readNet(str(grid3), withPrograms=True)
    for inter in net.intersections:
        program = inter.program
        assert program is not None
        (sumo_program,) = sumo.getTLS(inter.id).getPrograms().values()
        phases = sumo_program.getPhases()
        # SUMO's two green phases, each followed by its yellow: 42 + 3 s each.
        assert len(program.phases) == 2
        assert [p.green_s for p in program.phases] == [phases[0].duration, phases[2].duration]
        assert [p.yellow_s for p in program.phases] == [phases[1].duration, phases[3].duration]
        assert program.cycle_s == sum(p.duration for p in phases) == 90
        assert [p.state for p in program.phases] == [phases[0].state, phases[2].state]
        for phase in program.phases:
            assert inter.conflicting_greens(phase.state) == []
        assert np.array_equal(inter.foes, inter.foes.T)
        # Pairs that yield to each other (netconvert's rules for the light switched
        # off) are pairs the programme never lets go together.
        mutual = inter.yields & inter.yields.T
        for phase in program.phases:
            going = np.array([c in "Gg" for c in phase.state])
            assert not np.any(mutual & going[:, None] & going[None, :])


def test_permissive_left_turns_yield_to_oncoming_traffic(grid3):
    net = read_net(grid3)
    for inter in net.intersections:
        for phase in inter.program.phases:
            for i, c in enumerate(phase.state):
                if c != "g":
                    continue
                assert net.movements[inter.movements[i]].turn == "l"
                # It crosses a protected green of this phase, and yields to it.
                crossed = [j for j in phase.green if inter.foes[i, j] and phase.state[j] == "G"]
                assert crossed
                assert all(inter.yields[i, j] for j in crossed)
                assert not any(inter.yields[j, i] for j in crossed)


def test_routes_are_read_edge_for_edge(grid3, grid3_routes):
    net = read_net(grid3)
    table = read_routes(net, grid3_routes)
    vehicles = list(sumolib.xml.parse(str(grid3_routes), "vehicle"))
    assert len(table) == len(vehicles) == 300
    for k, vehicle in enumerate(vehicles):  # already in departure order
        assert table.depart_s[k] == float(vehicle.depart)
        edges = vehicle.route[0].edges.split()
        assert [net.edges[e].id for e in table.route(k)] == edges
    # SUMO 1.28's default car emits as HBEFA4/PC_petrol_Euro-4 (twin's own default: HBEFA3).
    assert table.vtypes == (
        VehicleType(id="DEFAULT_VEHTYPE", emission_class="HBEFA4/PC_petrol_Euro-4"),
    )


def test_trips_are_routed_by_twin_between_their_edges(grid3, grid3_routes):
    net = read_net(grid3)
    trips_file = grid3_routes.with_name("grid3.trips.xml")
    table = read_routes(net, trips_file)
    trips = list(sumolib.xml.parse(str(trips_file), "trip"))
    assert len(table) == len(trips)
    router = Router(net)
    for k, trip in enumerate(trips):
        route = table.route(k)
        assert net.edges[route[0]].id == trip.attr_from
        assert net.edges[route[-1]].id == trip.to
        assert np.array_equal(route, router.route(route[0], route[-1]))


def sumo_routes(net: Path, trips: Path, out_dir: Path, *options: str) -> dict[str, list[str]]:
    """The route SUMO gives each trip (its ``--vehroute-output``), every car at speed
    factor 1 (``speedDev="0"``), so that its routing cost is the edge's at the limit."""
    vtype = out_dir.with_name(out_dir.name + ".add.xml")
    vtype.write_text('<additional><vType id="DEFAULT_VEHTYPE" speedDev="0"/></additional>\n')
    routes = out_dir.with_name(out_dir.name + ".vehroutes.xml")
    run_sumo(
        net, trips, out_dir, end_s=600.0, additional=[vtype], emissions=False,
        extra_args=["--vehroute-output", str(routes), *options],
    )  # fmt: skip
    return {v.id: v.route[0].edges.split() for v in sumolib.xml.parse(str(routes), "vehicle")}


def test_trips_take_the_routes_sumo_gives_them(tmp_path):
    """On a random network of priority junctions with turnarounds, the trips departing
    in the first 30 s (SUMO routes a trip when it departs, on travel times it learns
    from the traffic so far: with next to none, at the limits) get from twin's router
    the route SUMO gives them, with SUMO's penalties for minor links (1.5 s) and minor
    turnarounds (5 s) and without them (both set to 0 in SUMO and twin alike)."""
    net = tmp_path / "rand.net.xml"
    run_program(
        [sumo_binary("netgenerate"), "--rand", "--rand.iterations", "60", "--seed", "3",
         "--default.lanenumber", "1", "--output-file", net],
        "netgenerate",
    )  # fmt: skip
    trips = random_trips(
        net, tmp_path / "rand.trips.xml", end_s=30.0, period_s=1.0, seed=3,
        fringe_only=False, routes=False,
    )  # fmt: skip
    network = read_net(net)
    wanted = {t.id: (t.attr_from, t.to) for t in sumolib.xml.parse(str(trips), "trip")}
    chosen = {}
    for minor_s, turnaround_s in ((1.5, 5.0), (0.0, 0.0)):
        sumo = sumo_routes(
            net, trips, tmp_path / f"sumo{minor_s:g}",
            "--weights.minor-penalty", str(minor_s),
            "--weights.turnaround-penalty", str(turnaround_s),
        )  # fmt: skip
        router = Router(network, minor_s, turnaround_s)
        twin = {
            trip: [
                network.edges[e].id
                for e in router.route(network.edge_index(a), network.edge_index(b))
            ]
            for trip, (a, b) in wanted.items()
        }
        assert len(sumo) == len(wanted) == 30
        assert twin == sumo
        chosen[minor_s] = twin
    # A configuration's penalties reach the scenario's router.
    cfg = tmp_path / "free.sumocfg"
    cfg.write_text(
        f'<configuration><net-file value="{net}"/><route-files value="{trips}"/>'
        '<weights.minor-penalty value="0"/><weights.turnaround-penalty value="0"/>'
        "</configuration>\n"
    )
    run = prepare_run(
        ScenarioConfig(id="traffic/sumo-net-v0", params={"sumocfg": str(cfg)}, horizon_s=60.0),
        "signals/fixed-time-v0",
        0,
    )
    table = run.scenario.city.trips
    routes = {str(k): [network.edges[e].id for e in table.route(k)] for k in range(len(table))}
    assert routes == chosen[0.0]
    # The penalties choose other routes for some trips: the check above sees them.
    assert chosen[1.5] != chosen[0.0]


def test_minor_links_count_the_minor_entries_on_the_way_through(tmp_path):
    """A T junction (major W-E, minor S), as netconvert builds it: the major straight
    on and right turn have priority (0); the minor road's turns enter on one minor link
    each (1); the major left turn into S waits inside the junction for the oncoming
    cars, so it passes a minor entry and a minor internal junction (``<connection
    from=":C_1" via=":C_6_0" state="m">``): 2, each charged by SUMO's router."""
    nodes = tmp_path / "t.nod.xml"
    edges = tmp_path / "t.edg.xml"
    nodes.write_text(
        '<nodes><node id="C" x="0" y="0" type="priority"/><node id="W" x="-200" y="0"/>'
        '<node id="E" x="200" y="0"/><node id="S" x="0" y="-200"/></nodes>\n'
    )
    edges.write_text(
        "<edges>"
        + "".join(
            f'<edge id="{a}{b}" from="{a}" to="{b}" numLanes="1" speed="13.89" priority="{p}"/>'
            for a, b, p in (
                ("W", "C", 2), ("C", "E", 2), ("E", "C", 2), ("C", "W", 2),
                ("S", "C", 1), ("C", "S", 1),
            )
        )
        + "</edges>\n"
    )  # fmt: skip
    net = tmp_path / "t.net.xml"
    run_program(
        [sumo_binary("netconvert"), "-n", nodes, "-e", edges, "-o", net,
         "--no-turnarounds", "true"],
        "netconvert",
    )  # fmt: skip
    network = read_net(net)
    name = {k: e.id for k, e in enumerate(network.edges)}
    counts = {f"{name[m.from_edge]}>{name[m.to_edge]}": m.minor_links for m in network.movements}
    assert counts == {
        "WC>CE": 0,
        "WC>CS": 0,
        "EC>CW": 0,
        "EC>CS": 2,
        "SC>CE": 1,
        "SC>CW": 1,
    }


def test_vehicle_types_flows_and_route_references(grid3, tmp_path):
    net = read_net(grid3)
    a, b = net.entry_edges[0], net.exit_edges[-1]
    route = " ".join(net.edges[e].id for e in Router(net).route(a, b))
    path = tmp_path / "demand.rou.xml"
    path.write_text(
        textwrap.dedent(f"""\
        <routes>
            <vType id="bus" length="12" accel="1.2" decel="4" sigma="0.2" maxSpeed="20"
                   speedFactor="normc(0.9,0.05,0.2,2)" emissionClass="HBEFA3/PC_G_EU6"/>
            <route id="r0" edges="{route}"/>
            <flow id="g" begin="0" end="60" number="3">
                <route edges="{route}"/>
            </flow>
            <flow id="h" begin="0" vehsPerHour="120" from="{net.edges[a].id}"
                  to="{net.edges[b].id}" number="2"/>
            <vehicle id="v0" depart="5" type="bus" route="r0"/>
            <flow id="f" begin="10" end="40" period="10" route="r0"/>
        </routes>
        """)
    )
    table = read_routes(net, path)
    # As SUMO inserts them (checked against sumo 1.28): v0 at 5; f at 10, 20, 30 (end is
    # exclusive); g at 0, 20, 40 (three spread over 60 s); h at 0, 30 (120 per hour).
    assert table.depart_s.tolist() == [0, 0, 5, 10, 20, 20, 30, 30, 40]
    bus = table.vtypes[int(table.vtype[2])]
    assert bus == VehicleType(
        id="bus",
        length_m=12,
        accel_mps2=1.2,
        decel_mps2=4,
        emergency_decel_mps2=9,
        sigma=0.2,
        max_speed_mps=20,
        speed_factor_mean=0.9,
        speed_factor_std=0.05,
        emission_class="PC_G_EU6",
    )
    for k in range(len(table)):
        assert " ".join(net.edges[e].id for e in table.route(k)) == route


def test_times_in_sumos_clock_format(grid3, tmp_path):
    """SUMO reads any time attribute as seconds or ``[[d:]h:]m:s``
    (``utils/common/StringUtils``, as in a .sumocfg): departures, and a flow's begin,
    end and period. Checked against sumo 1.28: ``depart="00:00:05"`` departs at 5 s."""
    net = read_net(grid3)
    route = " ".join(
        net.edges[e].id for e in Router(net).route(net.entry_edges[0], net.exit_edges[-1])
    )
    path = tmp_path / "clock.rou.xml"
    path.write_text(
        f'<routes><route id="r" edges="{route}"/>'
        '<vehicle id="v" depart="00:00:05" route="r"/>'
        '<flow id="f" begin="0:10" end="1:10" period="0:30" route="r"/>'
        '<vehicle id="w" depart="1:00:00:30" route="r"/></routes>'
    )
    table = read_routes(net, path)
    assert table.depart_s.tolist() == [5, 10, 40, 86430]


def test_twins_own_demand_round_trips_through_a_sumo_route_file(grid3, tmp_path):
    net = read_net(grid3)
    rng = np.random.default_rng(np.random.SeedSequence(5))
    trips = poisson_trips(net, RateProfile((0.0,), (0.2,)), 600.0, rng)
    path = write_routes(tmp_path / "twin.rou.xml", net, trips)
    again = read_routes(net, path)
    assert isinstance(again, TripTable)
    assert np.array_equal(again.depart_s, trips.depart_s)
    assert np.array_equal(again.route_edges, trips.route_edges)
    assert np.array_equal(again.route_start, trips.route_start)
    assert again.vtypes == trips.vtypes


# -- bad input: one line naming the file and the element --------------------------------


def test_a_file_that_is_not_a_sumo_network(grid3, grid3_routes, tmp_path):
    with pytest.raises(ConfigError) as error:
        read_net(grid3_routes)
    assert one_line(error).startswith(f"{grid3_routes}: not a SUMO network")
    assert "root element is <routes>, expected <net>" in str(error.value)
    text = tmp_path / "city.net.xml"
    text.write_text("name,x,y\nA,0,0\n")
    with pytest.raises(ConfigError) as error:
        read_net(text)
    assert one_line(error).startswith(f"{text}: not a SUMO network (.net.xml): not XML")
    with pytest.raises(ConfigError) as error:
        read_net(tmp_path / "nowhere.net.xml")
    assert one_line(error) == f"{tmp_path / 'nowhere.net.xml'}: no such file"


def test_a_route_over_a_missing_edge(grid3, grid3_routes, tmp_path):
    net = read_net(grid3)
    path = tmp_path / "bad.rou.xml"
    text = grid3_routes.read_text()
    first = next(iter(sumolib.xml.parse(str(grid3_routes), "vehicle")))
    edge = first.route[0].edges.split()[1]
    path.write_text(text.replace(f" {edge} ", " Atlantis ", 1))
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    line = one_line(error)
    assert line.startswith(f"{path}: vehicle '{first.id}': route uses edge 'Atlantis'")
    assert "not a car edge of network 'grid3'" in line


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<vehicle id="a" depart="0" route="nope"/>', "vehicle 'a': uses route 'nope'"),
        ('<vehicle id="a" depart="triggered" route="r"/>', "depart 'triggered'"),
        ('<vehicle id="a" depart="1:x" route="r"/>', "depart '1:x'"),
        ('<flow id="f" begin="0" end="9:" period="1" route="r"/>', "end '9:' is not a time"),
        ('<vehicle id="a" depart="-1" route="r"/>', "depart must be >= 0"),
        ('<vehicle id="a" depart="1" type="lorry" route="r"/>', "unknown vehicle type 'lorry'"),
        ('<flow id="f" begin="0" end="9" probability="0.1" route="r"/>', "given no rng"),
        ('<routeDistribution id="d"/>', "routeDistribution 'd': has no members"),
        ('<vType id="t" carFollowModel="IDM"/>', "twin drives Krauss only"),
        ('<vType id="t" accel="-2"/>', "accel_mps2 must be > 0"),
        ('<trip id="t" depart="0" from="A" to="B"/>', "route uses edge 'A'"),
    ],
)
def test_demand_that_twin_cannot_drive_is_one_line(grid3, tmp_path, body, expected):
    net = read_net(grid3)
    route = " ".join(
        net.edges[e].id for e in Router(net).route(net.entry_edges[0], net.exit_edges[0])
    )
    path = tmp_path / "bad.rou.xml"
    path.write_text(f'<routes><route id="r" edges="{route}"/>{body}</routes>')
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    line = one_line(error)
    assert line.startswith(f"{path}: ")
    assert expected in line


def test_disconnected_route_is_one_line(grid3, tmp_path):
    net = read_net(grid3)
    a, b = net.entry_edges[0], net.entry_edges[1]
    path = tmp_path / "bad.rou.xml"
    path.write_text(
        f'<routes><vehicle id="x" depart="0"><route edges="{net.edges[a].id} '
        f'{net.edges[b].id}"/></vehicle></routes>'
    )
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    assert "vehicle 'x': route goes from edge" in one_line(error)


def test_a_programme_with_conflicting_greens_is_refused(grid3, tmp_path):
    text = grid3.read_text()
    bad = tmp_path / "bad.net.xml"
    # Every signal green at once in the first phase of every light.
    bad.write_text(text.replace('state="GGgrrrGGgrrr"', 'state="GGGGGGGGGGGG"'))
    with pytest.raises(ConfigError) as error:
        read_net(bad)
    line = one_line(error)
    assert line.startswith(f"{bad}: cannot be driven in twin: intersection ")
    assert "conflicting greens" in line


def test_sumo_offsets_delay_the_programme(grid3, tmp_path):
    # SUMO (checked with 1.28's SaveTLSStates): offset="10" starts phase 0 at t = 10 s, so
    # at t = 0 the programme is 80 s into its 90 s cycle, in twin's terms.
    shifted = tmp_path / "offset.net.xml"
    shifted.write_text(
        grid3.read_text().replace('programID="0" offset="0"', 'programID="0" offset="10"')
    )
    for inter in read_net(shifted).intersections:
        assert inter.program.offset_s == 80


def test_a_cycle_that_starts_in_yellow_keeps_its_timing(grid3, tmp_path):
    text = grid3.read_text()
    rotated = tmp_path / "rotated.net.xml"
    # Move the last yellow to the front of every programme: the cycle starts at t = 3 s.
    old = (
        '<phase duration="42" state="GGgrrrGGgrrr"/>\n'
        '        <phase duration="3"  state="yyyrrryyyrrr"/>\n'
        '        <phase duration="42" state="rrrGGgrrrGGg"/>\n'
        '        <phase duration="3"  state="rrryyyrrryyy"/>'
    )
    new = (
        '<phase duration="3"  state="rrryyyrrryyy"/>\n'
        '        <phase duration="42" state="GGgrrrGGgrrr"/>\n'
        '        <phase duration="3"  state="yyyrrryyyrrr"/>\n'
        '        <phase duration="42" state="rrrGGgrrrGGg"/>'
    )
    assert old in text
    rotated.write_text(text.replace(old, new))
    for inter in read_net(rotated).intersections:
        assert inter.program.cycle_s == 90
        # At t = 0 the rotated programme is in its last 3 s (the yellow SUMO starts with).
        assert inter.program.offset_s == 87
        assert [p.yellow_s for p in inter.program.phases] == [3, 3]


def test_two_lanes_sidewalks_and_priority_junctions(tmp_path):
    """A mixed city: two lanes and a sidewalk per direction, one light, eight priority
    junctions. Sidewalks are left out, lanes renumbered over the car lanes, and every
    trip SUMO routes through it arrives in twin too."""
    net_file = tmp_path / "mixed.net.xml"
    run_program(
        [
            sumo_binary("netgenerate"), "--grid", "--grid.number", "3",
            "--grid.length", "150", "--grid.attach-length", "100",
            "--default.lanenumber", "2", "--sidewalks.guess", "true",
            "--default.junctions.type", "priority", "--tls.set", "B1",
            "--no-turnarounds", "true", "--output-file", str(net_file),
        ],
        "netgenerate",
    )  # fmt: skip
    net = read_net(net_file)
    sumo = sumolib.net.readNet(str(net_file))
    edge = sumo.getEdge("A0A1")
    assert edge.getLaneNumber() == 3  # a sidewalk and two car lanes
    assert not edge.getLane(0).allows("passenger")
    assert {e.lanes for e in net.edges} == {2}
    signalised = [i.id for i in net.intersections if i.program is not None]
    assert signalised == ["B1"]
    for inter in net.intersections:
        state = inter.priority_state() if inter.program is None else inter.program.phases[0].state
        assert inter.conflicting_greens(state) == []
    routes = random_trips(net_file, tmp_path / "mixed.rou.xml", end_s=600, period_s=3, seed=2)
    trips = read_routes(net, routes)
    world = World(2, tick_s=60.0)
    city = City(world, net, trips, FixedTime(FixedTime.Params()), step_s=1.0)
    world.run(1800.0)
    kpis = city.kpis()
    assert kpis["trips_completed"].value == len(trips) == 200
    assert kpis["trips_unfinished"].value == 0


def test_a_phase_without_a_signal_for_every_link_is_refused(grid3, tmp_path):
    bad = tmp_path / "short.net.xml"
    bad.write_text(grid3.read_text().replace('state="rrrGGgrrrGGg"', 'state="rrrGGg"'))
    with pytest.raises(ConfigError) as error:
        read_net(bad)
    line = one_line(error)
    assert line.startswith(f"{bad}: tlLogic 'A0' phase 2: state 'rrrGGg' has no signal for link")


@pytest.mark.parametrize("sumo_offset", [0, 20, 44, 50, 77])
def test_offsets_anywhere_in_the_cycle_show_what_sumo_shows(grid3, tmp_path, sumo_offset):
    """SUMO's SaveTLSStates against twin's signal bank, second by second for two
    cycles, for offsets in the first green, its yellow and the second phase."""
    from tests.traffic.support import programme_letters

    net_file = tmp_path / "offset.net.xml"
    net_file.write_text(
        grid3.read_text().replace(
            'programID="0" offset="0"', f'programID="0" offset="{sumo_offset}"'
        )
    )
    states = tmp_path / "tls.xml"
    additional = tmp_path / "save.add.xml"
    additional.write_text(
        f'<additional><timedEvent type="SaveTLSStates" dest="{states}"/></additional>'
    )
    run_program(
        [sumo_binary("sumo"), "-n", net_file, "-a", additional, "--end", "180",
         "--no-step-log", "true"],
        "sumo",
    )  # fmt: skip
    sumo_states: dict[tuple[str, int], str] = {}
    for row in sumolib.xml.parse_fast(str(states), "tlsState", ["time", "id", "state"]):
        sumo_states[(row.id, round(float(row.time)))] = row.state

    network = read_net(net_file)
    signalised = [inter for inter in network.intersections if inter.program is not None]
    for t, letters in enumerate(programme_letters(network, 180)):
        for inter, shown in zip(signalised, letters, strict=True):
            assert shown == sumo_states[(inter.id, t)], (sumo_offset, inter.id, t)


def light_net(tmp_path: Path, nodes: str, edges: str, tl_logic: str) -> Path:
    """A net with one traffic light, as netconvert builds it from plain XML."""
    (tmp_path / "m.nod.xml").write_text(f"<nodes>{nodes}</nodes>")
    (tmp_path / "m.edg.xml").write_text(f"<edges>{edges}</edges>")
    (tmp_path / "m.tll.xml").write_text(f"<tlLogics>{tl_logic}</tlLogics>")
    net = tmp_path / "m.net.xml"
    run_program(
        [sumo_binary("netconvert"), "-n", tmp_path / "m.nod.xml", "-e",
         tmp_path / "m.edg.xml", "-i", tmp_path / "m.tll.xml", "-o", net],
        "netconvert",
    )  # fmt: skip
    return net


def save_tls_states(tmp_path: Path) -> tuple[Path, Path]:
    """(an additional file asking SUMO for SaveTLSStates, the file it writes them to)."""
    states = tmp_path / "tls.xml"
    additional = tmp_path / "save.add.xml"
    additional.write_text(
        f'<additional><timedEvent type="SaveTLSStates" dest="{states}"/></additional>'
    )
    return additional, states


def test_a_ramp_meter_runs_its_one_phase_through_yellow_and_red_as_sumo_does(tmp_path):
    """A light with one signal and rows "G" 10 s, "y" 3 s, "r" 20 s (a ramp meter) is
    one twin phase whose cycle runs through its own yellow and all-red: second by second
    what SUMO's SaveTLSStates shows, and as many cars through in 600 s (twin showed
    green for ever: the change to the same phase kept every green, and 279 cars got
    through against SUMO's 102)."""
    from tests.traffic.support import programme_letters

    net = light_net(
        tmp_path,
        '<node id="A" x="0" y="0"/><node id="B" x="300" y="0" type="traffic_light"/>'
        '<node id="C" x="600" y="0"/>',
        '<edge id="AB" from="A" to="B" speed="13.89"/>'
        '<edge id="BC" from="B" to="C" speed="13.89"/>',
        '<tlLogic id="B" type="static" programID="0" offset="0">'
        '<phase duration="10" state="G"/><phase duration="3" state="y"/>'
        '<phase duration="20" state="r"/></tlLogic>',
    )
    additional, states = save_tls_states(tmp_path)
    routes = tmp_path / "m.rou.xml"
    routes.write_text(
        '<routes><vType id="det" sigma="0" speedDev="0"/><flow id="f" type="det" begin="0" '
        'end="600" period="2" departSpeed="max"><route edges="AB BC"/></flow></routes>'
    )
    sumo = run_sumo(net, routes, tmp_path / "sumo", end_s=600.0, emissions=False,
                    additional=[additional])  # fmt: skip
    sumo_states = [
        row.state for row in sumolib.xml.parse_fast(str(states), "tlsState", ["time", "state"])
    ]
    network = read_net(net)
    shown = ["".join(letters) for letters in programme_letters(network, 100)]
    assert shown == sumo_states[:100]
    assert shown[:34] == ["G"] * 10 + ["y"] * 3 + ["r"] * 20 + ["G"]
    world = World(1, tick_s=60.0)
    city = City(world, network, read_routes(network, routes), FixedTime())
    world.run(600.0)
    assert len(sumo.trips) == 102
    assert int(city.kpis()["trips_completed"].value) == 102


def test_a_static_programme_runs_its_durations_whatever_min_and_max_dur_say(tmp_path):
    """SUMO's static logic switches after each phase's ``duration``
    (MSSimpleTrafficLightLogic::trySwitch); ``minDur``/``maxDur`` bound adaptive control
    only. RESCO's ingolstadt21 has five greens shorter than their ``minDur`` (6 s against
    10 s) and cologne8 one longer than its ``maxDur`` (78 s against 50 s). Two approaches
    merging at a light, green 10 s for one (``minDur="15"``) and 20 s for the other
    (``maxDur="12"``), 3 s of yellow after each: second by second what SUMO's
    SaveTLSStates shows (twin held the first green to 15 s and cut the second to 12 s)."""
    from tests.traffic.support import programme_letters

    net = light_net(
        tmp_path,
        '<node id="A" x="0" y="0"/><node id="D" x="300" y="-300"/>'
        '<node id="B" x="300" y="0" type="traffic_light"/><node id="C" x="600" y="0"/>',
        '<edge id="AB" from="A" to="B" speed="13.89"/><edge id="DB" from="D" to="B" speed="13.89"/>'
        '<edge id="BC" from="B" to="C" speed="13.89"/>',
        '<tlLogic id="B" type="static" programID="0" offset="0">'
        '<phase duration="10" state="Gr"/><phase duration="3" state="yr"/>'
        '<phase duration="20" state="rG"/><phase duration="3" state="ry"/></tlLogic>',
    )
    # netconvert drops minDur/maxDur from a static logic; RESCO's nets carry them.
    text = net.read_text()
    for plain, bounded in (
        ('duration="10" state="Gr"', 'duration="10" minDur="15" maxDur="50" state="Gr"'),
        ('duration="20" state="rG"', 'duration="20" minDur="5" maxDur="12" state="rG"'),
    ):
        assert plain in text
        text = text.replace(plain, bounded)
    net.write_text(text)
    additional, states = save_tls_states(tmp_path)
    run_program(
        [sumo_binary("sumo"), "-n", net, "-a", additional, "--end", "80",
         "--no-step-log", "true"],
        "sumo",
    )  # fmt: skip
    sumo_states = [row.state for row in sumolib.xml.parse_fast(str(states), "tlsState", ["state"])]
    shown = ["".join(letters) for letters in programme_letters(read_net(net), 72)]
    assert shown == sumo_states[:72]
    assert shown[:37] == ["Gr"] * 10 + ["yr"] * 3 + ["rG"] * 20 + ["ry"] * 3 + ["Gr"]


def test_the_bounds_of_adaptive_control_hold_a_static_programmes_durations():
    program = SignalProgram.from_sumo(
        [("Gr", 6, 10, 50), ("yr", 3, None, None), ("rG", 78, 5, 50), ("ry", 3, None, None)]
    )
    assert [(p.green_s, p.min_green_s, p.max_green_s) for p in program.phases] == [
        (6.0, 6.0, 50.0),
        (78.0, 5.0, 78.0),
    ]


def test_of_several_programmes_in_the_net_the_last_one_runs(grid3, tmp_path):
    """SUMO adds a light's programmes in file order, each as the new default
    (MSTLLogicControl::add), so the last one runs; SaveTLSStates shows its id. Twin's
    ``read_net`` takes it too, unless ``program_id`` says otherwise."""
    text = grid3.read_text()
    start = text.index('<tlLogic id="A0"')
    end = text.index("</tlLogic>", start) + len("</tlLogic>")
    short = (
        text[start:end]
        .replace('programID="0"', 'programID="short"')
        .replace('duration="42"', 'duration="20"')
    )
    net_file = tmp_path / "programmes.net.xml"
    net_file.write_text(text[:end] + "\n    " + short + text[end:])
    states = tmp_path / "tls.xml"
    additional = tmp_path / "save.add.xml"
    additional.write_text(
        f'<additional><timedEvent type="SaveTLSStates" source="A0" dest="{states}"/></additional>'
    )
    run_program(
        [sumo_binary("sumo"), "-n", net_file, "-a", additional, "--end", "2",
         "--no-step-log", "true"],
        "sumo",
    )  # fmt: skip
    rows = list(sumolib.xml.parse_fast(str(states), "tlsState", ["id", "programID"]))
    assert {row.programID for row in rows} == {"short"}

    def a0(network):
        return next(i for i in network.intersections if i.id == "A0")

    # 20 + 3 + 20 + 3 s (twin's yellow is part of its phase), against 42 + 3 + 42 + 3.
    assert a0(read_net(net_file)).program.cycle_s == 46.0
    assert a0(read_net(net_file, program_id="0")).program.cycle_s == 90.0


def test_a_network_is_imported_once_per_content(grid3, tmp_path):
    # A learning environment builds a world at every reset: the same file gives the same
    # (immutable) network without a second import; an edit, however quick, gives a new one.
    copy = tmp_path / "grid3.net.xml"
    copy.write_bytes(grid3.read_bytes())
    first = read_net(copy)
    assert read_net(copy) is first
    assert read_net(copy, name="other") is not first
    copy.write_text(grid3.read_text().replace('offset="0"', 'offset="10"', 1))
    edited = read_net(copy)
    assert edited is not first
    assert edited.intersections != first.intersections
