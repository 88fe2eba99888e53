"""SUMO run configurations (``.sumocfg``): what twin honours, ignores and refuses."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import sumolib

from tests.test_cli import twin_here
from tests.traffic.support import programme_letters
from twin.core.errors import ConfigError
from twin.core.registry import Registry
from twin.core.run import RunResult, prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.traffic.loops import write_e1
from twin.traffic.sumo import read_net, read_routes, root_tag
from twin.traffic.sumo_additional import AdditionalWarning
from twin.traffic.sumo_scenario import SumoNet
from twin.traffic.sumo_tools import read_statistics, run_program, sumo_binary
from twin.traffic.sumocfg import read_sumocfg

RESCO = Path("/tmp/resco")
RESCO_NAMES = (
    "arterial4x4",
    "cologne1",
    "cologne3",
    "cologne8",
    "grid4x4",
    "ingolstadt1",
    "ingolstadt21",
    "ingolstadt7",
)


def write(path: Path, body: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n{body}\n</configuration>\n'
    )
    return path


def test_sections_lists_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    cfg = write(
        tmp_path / "sub" / "run.sumocfg",
        """<input>
        <net-file value="city.net.xml"/>
        <route-files value="a.rou.xml, b.rou.xml"/>
        <additional-files value="tls.add.xml det.add.xml"/>
    </input>
    <time>
        <begin value="100"/>
        <end value="1:00:00"/>
        <step-length value="0.5"/>
    </time>
    <output><tripinfo-output value="trips.xml"/></output>
    <no-step-log value="true"/>
    <seed value="42"/>""",
    )
    config = read_sumocfg(cfg)
    folder = tmp_path / "sub"
    assert config.net_file == folder / "city.net.xml"
    assert config.route_files == (folder / "a.rou.xml", folder / "b.rou.xml")
    assert config.additional_files == (folder / "tls.add.xml", folder / "det.add.xml")
    assert (config.begin_s, config.end_s, config.step_length_s) == (100.0, 3600.0, 0.5)
    assert config.duration_s == 3500.0
    assert any(entry.startswith("seed:") for entry in config.ignored)
    assert any(entry.startswith("tripinfo-output:") for entry in config.ignored)


def test_top_level_options_synonyms_and_defaults(tmp_path: Path) -> None:
    cfg = write(tmp_path / "run.sumocfg", '<net value="/abs/x.net.xml"/><routes value="r.xml"/>')
    config = read_sumocfg(cfg)
    assert config.net_file == Path("/abs/x.net.xml")
    assert config.route_files == (tmp_path / "r.xml",)
    assert (config.begin_s, config.end_s, config.step_length_s) == (0.0, math.inf, 1.0)
    assert config.time_to_teleport_s == 300.0
    assert config.max_depart_delay_s == -1.0  # SUMO's default: wait as long as it takes


def test_max_depart_delay_is_read_in_seconds_or_sumos_clock_format(tmp_path: Path) -> None:
    for value, seconds in (("30", 30.0), ("1:30", 90.0), ("0", 0.0)):
        cfg = write(
            tmp_path / "run.sumocfg",
            f'<net-file value="x.net.xml"/><max-depart-delay value="{value}"/>',
        )
        assert read_sumocfg(cfg).max_depart_delay_s == seconds


def test_options_at_twins_value_are_accepted(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "run.sumocfg",
        """<net-file value="x.net.xml"/>
    <step-method.ballistic value="false"/>
    <lateral-resolution value="-1"/>
    <default.action-step-length value="1"/>
    <time-to-teleport value="-1"/>
    <collision.action value="warn"/>""",
    )
    config = read_sumocfg(cfg)
    assert config.time_to_teleport_s == -1.0


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("step-method.ballistic", "true", "Euler"),
        ("lateral-resolution", "0.8", "sublane"),
        ("default.action-step-length", "2", "every step"),
        ("scale", "2", "demand as given"),
        ("device.rerouting.probability", "0.5", "reroute"),
        ("mesosim", "true", "option not supported"),
        ("step-length", "5", "(0, 2]"),
        ("default.departspeed", "0", "give departSpeed on the vehicles instead (only 'avg')"),
        ("default.departlane", "first", "give departLane on the vehicles instead"),
        ("weights.minor-penalty", "-1", "seconds >= 0"),
        ("weights.turnaround-penalty", "inf", "seconds >= 0"),
        ("weights.tls-penalty", "2", "no traffic-light penalty"),
    ],
)
def test_refusals_name_file_and_option(tmp_path: Path, option: str, value: str, says: str) -> None:
    cfg = write(
        tmp_path / "run.sumocfg", f'<net-file value="x.net.xml"/><{option} value="{value}"/>'
    )
    with pytest.raises(ConfigError) as info:
        read_sumocfg(cfg)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{cfg}: {option}: ")
    assert says in message


def test_the_routers_penalties_are_read_with_sumos_defaults(tmp_path: Path) -> None:
    defaults = read_sumocfg(write(tmp_path / "a.sumocfg", '<net-file value="x.net.xml"/>'))
    assert (defaults.minor_penalty_s, defaults.turnaround_penalty_s) == (1.5, 5.0)
    cfg = write(
        tmp_path / "b.sumocfg",
        """<net-file value="x.net.xml"/>
    <routing>
        <weights.minor-penalty value="0"/>
        <weights.turnaround-penalty value="30"/>
        <weights.tls-penalty value="0"/>
    </routing>""",
    )
    config = read_sumocfg(cfg)
    assert (config.minor_penalty_s, config.turnaround_penalty_s) == (0.0, 30.0)


def test_refuses_a_config_without_network_or_with_end_before_begin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="net-file: missing"):
        read_sumocfg(write(tmp_path / "a.sumocfg", '<route-files value="r.xml"/>'))
    with pytest.raises(ConfigError, match="end"):
        read_sumocfg(
            write(
                tmp_path / "b.sumocfg", '<net-file value="x"/><begin value="10"/><end value="5"/>'
            )
        )
    (tmp_path / "d.sumocfg").write_text("<net/>")
    with pytest.raises(ConfigError, match="not a SUMO configuration"):
        read_sumocfg(tmp_path / "d.sumocfg")


def test_any_root_and_the_short_value_attribute_are_read_as_sumo_reads_them(
    tmp_path: Path,
) -> None:
    """SUMO's OptionsLoader does not check the root element and takes ``value`` or
    ``v``: sumolib's RiLSA examples write ``<c><net value="rilsa1.net.xml"/>...``."""
    path = tmp_path / "run.sumo.cfg"
    path.write_text('<c>\n  <net value="rilsa1.net.xml"/>\n  <end v="600"/>\n</c>\n')
    config = read_sumocfg(path)
    assert config.net_file == tmp_path / "rilsa1.net.xml"
    assert config.end_s == 600.0


def test_a_star_routing_is_read_as_twins_dijkstra_and_contraction_hierarchies_are_refused(
    tmp_path: Path,
) -> None:
    astar = write(tmp_path / "a.sumocfg", '<net-file value="x"/><routing-algorithm value="astar"/>')
    assert read_sumocfg(astar).ignored == (
        "routing-algorithm: A* finds the fastest routes, as twin's Dijkstra does (ties aside)",
    )
    ch = write(tmp_path / "c.sumocfg", '<net-file value="x"/><routing-algorithm value="CH"/>')
    with pytest.raises(ConfigError, match="routing-algorithm: 'CH' is not supported"):
        read_sumocfg(ch)


@pytest.mark.parametrize(
    ("root", "kind"), [("routes", "a SUMO route file"), ("additional", "a SUMO additional file")]
)
def test_a_route_or_additional_file_given_as_config_is_named_as_such(
    tmp_path: Path, root: str, kind: str
) -> None:
    path = tmp_path / "city.xml"
    path.write_text(f"<{root}/>")
    with pytest.raises(ConfigError, match=f"root element is <{root}>, {kind}"):
        read_sumocfg(path)


@pytest.mark.skipif(not RESCO.exists(), reason="RESCO networks not unpacked at /tmp/resco")
@pytest.mark.parametrize("name", RESCO_NAMES)
def test_resco_configs_parse(name: str) -> None:
    config = read_sumocfg(RESCO / name / f"{name}.sumocfg")
    assert config.net_file.is_file()
    assert config.route_files
    assert all(path.is_file() for path in config.route_files)
    assert config.duration_s == 3600.0


# -- a small hand-built network, run by SUMO and by twin ----------------------------------

NODES = """<nodes>
    <node id="a" x="0" y="0"/>
    <node id="b" x="300" y="0" type="traffic_light"/>
    <node id="c" x="600" y="0"/>
    <node id="d" x="300" y="300"/>
    <node id="e" x="300" y="-300"/>
</nodes>"""
EDGES = """<edges>
    <edge id="ab" from="a" to="b" numLanes="1" speed="13.89"/>
    <edge id="bc" from="b" to="c" numLanes="1" speed="13.89"/>
    <edge id="db" from="d" to="b" numLanes="1" speed="13.89"/>
    <edge id="be" from="b" to="e" numLanes="1" speed="13.89"/>
</edges>"""
# A flow that starts before begin, vehicles before, just before and at begin (SUMO wants
# a route file sorted by departure).
ROUTES = """<routes>
    <vType id="car" sigma="0"/>
    <route id="south" edges="db be"/>
    <flow id="f" type="car" begin="3" end="200" period="7" route="south"/>
    <vehicle id="v0" type="car" depart="10"><route edges="ab bc"/></vehicle>
    <vehicle id="v1" type="car" depart="49.5"><route edges="ab bc"/></vehicle>
    <vehicle id="v2" type="car" depart="50"><route edges="ab bc"/></vehicle>
    <vehicle id="v3" type="car" depart="120"><route edges="ab bc"/></vehicle>
</routes>"""


@pytest.fixture(scope="module")
def tee(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signalised T: west-east through ``b``, north-south through ``b`` (SUMO's guessed
    programme: 42 s green, 3 s yellow per direction, 90 s cycle)."""
    where = tmp_path_factory.mktemp("tee")
    (where / "tee.nod.xml").write_text(NODES)
    (where / "tee.edg.xml").write_text(EDGES)
    net = where / "tee.net.xml"
    run_program(
        [sumo_binary("netconvert"), "-n", where / "tee.nod.xml", "-e", where / "tee.edg.xml",
         "-o", net, "--no-turnarounds", "true"],
        "netconvert",
    )  # fmt: skip
    (where / "tee.rou.xml").write_text(ROUTES)
    return net


def sumocfg(folder: Path, net: Path, *, begin: float, end: float, extra: str = "") -> Path:
    return write(
        folder / "run.sumocfg",
        f"""<input>
        <net-file value="{net}"/>
        <route-files value="{net.with_name("tee.rou.xml")}"/>
        {extra}
    </input>
    <time><begin value="{begin}"/><end value="{end}"/></time>""",
    )


def twin_run(cfg: Path, horizon_s: float, **params: object) -> RunResult:
    registry = Registry()
    registry.register_scenario(SumoNet)
    config = ScenarioConfig(
        id="traffic/sumo-net-v0", horizon_s=horizon_s, params={"sumocfg": str(cfg), **params}
    )
    return simulate(config, "signals/fixed-time-v0", 1, registry=registry)


def test_departures_before_begin_are_not_driven(tee: Path, tmp_path: Path) -> None:
    cfg = sumocfg(tmp_path, tee, begin=50, end=400)
    stats = tmp_path / "stats.xml"
    run_program(
        [sumo_binary("sumo"), "-c", cfg, "--statistic-output", stats,
         "--no-step-log", "true"],
        "sumo",
    )  # fmt: skip
    sumo = read_statistics(stats)["vehicles"]
    result = twin_run(cfg, 350)
    assert result.kpis["trips_completed"].value == int(sumo["inserted"]) == 24
    assert result.kpis["trips_unfinished"].value == int(sumo["running"]) == 0
    inputs = result.manifest["scenario_inputs"]
    # v0, v1 and the flow's departures at 3, 10, ..., 45 s.
    assert inputs["skipped"] == {"depart before begin": 9}
    assert (inputs["begin_s"], inputs["end_s"]) == (50.0, 400.0)


TLS_ADD = """<additional>
    <tlLogic id="b" type="static" programID="alt" offset="13">
        <phase duration="20" state="GGrr"/>
        <phase duration="4" state="yyrr"/>
        <phase duration="2" state="rrrr"/>
        <phase duration="30" state="rrGG"/>
        <phase duration="4" state="rryy"/>
    </tlLogic>
</additional>"""


def test_an_empty_section_or_an_option_without_value_sets_nothing_as_in_sumo(
    tmp_path: Path,
) -> None:
    """SUMO's OptionsLoader sets an option from a ``value`` (or the element's text) and
    passes over an element with neither: an empty ``<routing/>`` section (the game
    scenario grid6 with its one routing option taken out) reads like no section."""
    cfg = write(
        tmp_path / "run.sumocfg",
        '<input><net-file value="x.net.xml"/></input><routing/><processing></processing>'
        '<time><end value="60"/><begin/></time>',
    )
    config = read_sumocfg(cfg)
    assert (config.begin_s, config.end_s) == (0.0, 60.0)


OFFSET_ADD = '<additional><tlLogic id="b" programID="0" offset="17"/></additional>'


@pytest.mark.parametrize(
    ("programs", "begin"),
    [((), 1000.0), (("alt",), 1237.0), (("offset",), 1000.0)],
)
def test_signals_at_begin_show_what_sumo_shows(
    tee: Path, tmp_path: Path, programs: tuple[str, ...], begin: float
) -> None:
    """SUMO's SaveTLSStates against twin's signal bank, second by second over two
    cycles from a begin that is no multiple of the cycle, for the net's programme, for
    an additional programme (which SUMO makes the active one) and for an additional
    offset-only programme (which moves the net's)."""
    tls = tmp_path / "tls.add.xml"
    tls.write_text(OFFSET_ADD if programs == ("offset",) else TLS_ADD)
    extra = f'<additional-files value="{tls}"/>' if programs else ""
    cfg = sumocfg(tmp_path, tee, begin=begin, end=begin + 180, extra=extra)
    states = tmp_path / "states.xml"
    save = tmp_path / "save.add.xml"
    save.write_text(f'<additional><timedEvent type="SaveTLSStates" dest="{states}"/></additional>')
    files = ",".join(str(p) for p in ((tls, save) if programs else (save,)))
    run_program(
        [sumo_binary("sumo"), "-c", cfg, "--additional-files", files, "--no-step-log", "true"],
        "sumo",
    )  # fmt: skip
    sumo_states = {
        round(float(row.time)): row.state
        for row in sumolib.xml.parse_fast(str(states), "tlsState", ["time", "id", "state"])
    }
    scenario = SumoNet(SumoNet.Params(sumocfg=str(cfg)))
    network = scenario._network()
    (inter,) = [i for i in network.intersections if i.program is not None]
    assert inter.program is not None
    assert len(inter.program.phases) == 2
    assert inter.program.phases[0].green_s == (20.0 if programs == ("alt",) else 42.0)
    for t, letters in enumerate(programme_letters(network, 180)):
        assert letters[0] == sumo_states[round(begin) + t], t


def test_program_id_picks_the_nets_programme_over_the_additional_one(
    tee: Path, tmp_path: Path
) -> None:
    tls = tmp_path / "tls.add.xml"
    tls.write_text(TLS_ADD)
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra=f'<additional-files value="{tls}"/>')
    network = SumoNet(SumoNet.Params(sumocfg=str(cfg), program_id="0"))._network()
    (inter,) = [i for i in network.intersections if i.program is not None]
    assert inter.program is not None
    assert [p.green_s for p in inter.program.phases] == [42.0, 42.0]


def test_a_programme_file_whose_root_is_the_tlLogic_is_read_as_sumo_reads_it(
    tee: Path, tmp_path: Path
) -> None:
    """SUMO's handler reads every element, the root too (the game scenario
    fokr_bs_demo's ``signalPlan.add.xml`` is one ``<tlLogic>``): the programme is loaded
    and made the active one, as from an ``<additional>``."""
    tls = tmp_path / "tls.add.xml"
    tls.write_text(TLS_ADD.removeprefix("<additional>").removesuffix("</additional>").strip())
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra=f'<additional-files value="{tls}"/>')
    network = SumoNet(SumoNet.Params(sumocfg=str(cfg)))._network()
    (inter,) = [i for i in network.intersections if i.program is not None]
    assert inter.program is not None
    assert [p.green_s for p in inter.program.phases] == [20.0, 30.0]


@pytest.mark.parametrize(
    ("element", "says"),
    [
        ('<WAUT id="w" startProg="0" refTime="0"/>', "WAUT 'w': <WAUT>"),
        (
            '<parkingArea id="p" lane="ab_0" startPos="10" endPos="30"/>',
            "parkingArea 'p': <parkingArea>",
        ),
        ('<include href="more.add.xml"/>', "include '': <include> is not supported"),
        (
            '<tlLogic id="b" type="delay_based" programID="x"><phase duration="5" state="GGrr"/>'
            "</tlLogic>",
            "tlLogic 'b' programID 'x': type 'delay_based' is not supported",
        ),
        (
            '<tlLogic id="b" type="actuated" programID="x">'
            '<phase duration="5" minDur="3" maxDur="9" state="GGrr" next="0"/></tlLogic>',
            "tlLogic 'b' programID 'x' phase 0: next= is not supported",
        ),
        (
            '<tlLogic id="b" type="actuated" programID="x"><condition id="c" value="1"/>'
            '<phase duration="5" state="GGrr"/></tlLogic>',
            "<condition> is not supported",
        ),
        (
            '<tlLogic id="b" programID="0"><phase duration="5" state="GGrr"/></tlLogic>',
            "already has programme '0'",
        ),
        (
            '<tlLogic id="nope" programID="1"><phase duration="5" state="GGrr"/></tlLogic>',
            "no traffic light 'nope'",
        ),
        (
            '<tlLogic id="b" programID="9" offset="4"/>',
            "has no phases, so it can only change the offset of a programme the light has (0)",
        ),
    ],
)
def test_additional_elements_twin_cannot_run_are_one_line(
    tee: Path, tmp_path: Path, element: str, says: str
) -> None:
    add = tmp_path / "x.add.xml"
    add.write_text(f"<additional>{element}</additional>")
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra=f'<additional-files value="{add}"/>')
    with pytest.raises(ConfigError) as info:
        SumoNet(SumoNet.Params(sumocfg=str(cfg)))._network()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{add}: ")
    assert says in message


def test_output_only_elements_are_skipped_with_one_warning(tee: Path, tmp_path: Path) -> None:
    add = tmp_path / "out.add.xml"
    add.write_text(
        '<additional><edgeData id="e" file="e.xml"/><edgeData id="f" file="f.xml"/>'
        '<laneAreaDetector id="d" lane="ab_0" pos="10" endPos="50" file="d.xml"/></additional>'
    )
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra=f'<additional-files value="{add}"/>')
    with pytest.warns(AdditionalWarning) as caught:
        scenario = SumoNet(SumoNet.Params(sumocfg=str(cfg)))
    assert len(caught) == 1
    assert str(caught[0].message) == (
        f"{add}: skipped 2 <edgeData>, 1 <laneAreaDetector>: they only write SUMO output "
        "or draw in its GUI"
    )
    assert scenario.skipped == {"edgeData": 2, "laneAreaDetector": 1}


def test_a_missing_file_names_the_config_and_its_option(tee: Path, tmp_path: Path) -> None:
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra='<additional-files value="no.add.xml"/>')
    with pytest.raises(ValueError, match=r"additional-files: .*no\.add\.xml: no such file") as info:
        SumoNet.Params(sumocfg=str(cfg))
    assert str(cfg) in str(info.value)


def test_sumocfg_or_files_not_both(tee: Path, tmp_path: Path) -> None:
    cfg = sumocfg(tmp_path, tee, begin=0, end=100)
    with pytest.raises(ValueError, match="either sumocfg or net_file"):
        SumoNet.Params(sumocfg=str(cfg), net_file=str(tee))
    with pytest.raises(ValueError, match="step-length"):
        SumoNet.Params(sumocfg=str(cfg), step_s=0.5)


def test_gzipped_network_and_routes_read(tee: Path, tmp_path: Path) -> None:
    net_gz = tmp_path / "tee.net.xml.gz"
    net_gz.write_bytes(gzip.compress(tee.read_bytes()))
    routes_gz = tmp_path / "tee.rou.xml.gz"
    routes_gz.write_bytes(gzip.compress(ROUTES.encode()))
    assert root_tag(net_gz, ("net",), "SUMO network") == "net"
    plain, packed = read_net(tee), read_net(net_gz)
    assert packed.name == plain.name == "tee"
    assert [e.id for e in packed.edges] == [e.id for e in plain.edges]
    trips = read_routes(packed, routes_gz, end_s=300)
    assert len(trips) == len(read_routes(plain, tee.with_name("tee.rou.xml"), end_s=300))


LOOPS_ADD = """<additional>
    <inductionLoop id="mid" lane="ab_0" pos="100" period="60" file="e1.xml"/>
    <inductionLoop id="end" lane="ab_0" pos="-1" period="60" file="e1.xml"/>
    <inductionLoop id="out" lane="bc_0" pos="250.5" period="45" file="e1.xml"/>
    <inductionLoop id="exit" lane="bc_0" pos="-1" period="60" file="e1.xml"/>
</additional>"""


def test_induction_loops_count_what_sumos_e1_detectors_count(tmp_path: Path) -> None:
    """One lane, 500 m to a priority junction and 500 m on; a car every 4 s from rest,
    no dawdling. Four loops: mid-lane, 1 m before the junction (its cars leave it on
    the junction), after the junction with a period that does not divide the end, and
    1 m before the end of the route (its cars arrive on it).
    Every interval SUMO writes, twin reports: counts exact, speed and occupancy to
    SUMO's two decimals (occupancy: 0.02 points, 0.01 s of a 45 s interval)."""
    (tmp_path / "l.nod.xml").write_text(
        '<nodes><node id="a" x="0" y="0"/><node id="b" x="500" y="0" type="priority"/>'
        '<node id="c" x="1000" y="0"/></nodes>'
    )
    (tmp_path / "l.edg.xml").write_text(
        '<edges><edge id="ab" from="a" to="b" numLanes="1" speed="13.89"/>'
        '<edge id="bc" from="b" to="c" numLanes="1" speed="13.89"/></edges>'
    )
    net = tmp_path / "line.net.xml"
    run_program(
        [sumo_binary("netconvert"), "-n", tmp_path / "l.nod.xml", "-e", tmp_path / "l.edg.xml",
         "-o", net],
        "netconvert",
    )  # fmt: skip
    (tmp_path / "line.rou.xml").write_text(
        '<routes><vType id="car" sigma="0" speedDev="0"/><route id="r" edges="ab bc"/>'
        # departPos 5: the front where twin inserts it (SUMO's "base" is 0.1 m further on,
        # which moves the crossings of the last loop, where cars arrive, by 7 ms).
        '<flow id="f" type="car" begin="0" end="300" period="4" route="r" departSpeed="0" '
        'departPos="5"/>'
        "</routes>"
    )
    (tmp_path / "loops.add.xml").write_text(LOOPS_ADD)
    cfg = write(
        tmp_path / "line.sumocfg",
        '<input><net-file value="line.net.xml"/><route-files value="line.rou.xml"/>'
        '<additional-files value="loops.add.xml"/></input>'
        '<time><begin value="0"/><end value="360"/></time>',
    )
    run_program([sumo_binary("sumo"), "-c", cfg, "--no-step-log", "true"], "sumo")
    sumo = sorted(
        (float(r.begin), r.id, int(r.nVehContrib), float(r.occupancy), float(r.speed),
         int(r.nVehEntered))
        for r in sumolib.xml.parse_fast(
            str(tmp_path / "e1.xml"),
            "interval",
            ["begin", "id", "nVehContrib", "occupancy", "speed", "nVehEntered"],
        )
    )  # fmt: skip

    registry = Registry()
    registry.register_scenario(SumoNet)
    config = ScenarioConfig(id="traffic/sumo-net-v0", horizon_s=360, params={"sumocfg": str(cfg)})
    run = prepare_run(config, "signals/fixed-time-v0", 1, registry=registry)
    run.world.run(360.0)
    scenario = run.scenario
    assert isinstance(scenario, SumoNet)
    twin = scenario.loops.intervals_until(360.0)
    assert len(twin) == len(sumo) == 26
    # Cars arrive with their front at the end of bc: they never leave "exit" (SUMO counts
    # them entered, in the occupancy, but not in nVehContrib).
    assert {r[2] for r in sumo if r[1] == "exit"} == {0}
    for ours, (begin, loop_id, contrib, occupancy, speed, entered) in zip(
        sorted(twin, key=lambda r: (r.begin_s, r.id)), sumo, strict=True
    ):
        where = (loop_id, begin)
        assert (ours.begin_s, ours.id) == (begin, loop_id)
        assert (ours.n_veh_contrib, ours.n_veh_entered) == (contrib, entered), where
        assert ours.occupancy_pct == pytest.approx(occupancy, abs=0.02), where
        if contrib:
            assert ours.speed_mps == pytest.approx(speed, abs=0.01), where
        else:
            assert math.isnan(ours.speed_mps)
            assert speed == -1.0
    kpis = scenario.kpis(run.world)
    assert kpis["loop.mid.count"].value == sum(r[2] for r in sumo if r[1] == "mid") == 75
    written = write_e1(tmp_path / "twin_e1.xml", twin)
    again = [
        (float(r.begin), r.id, int(r.nVehContrib), float(r.speed))
        for r in sumolib.xml.parse_fast(
            str(written), "interval", ["begin", "id", "nVehContrib", "speed"]
        )
    ]
    assert [(b, i, c) for b, i, c, _ in again] == [(r[0], r[1], r[2]) for r in sumo]
    assert [s for *_, s in again] == pytest.approx([r[4] for r in sumo], abs=0.01)


def test_the_step_length_is_the_tick(tee: Path, tmp_path: Path) -> None:
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra="")
    cfg.write_text(
        cfg.read_text().replace("</configuration>", '<step-length value="0.5"/>\n</configuration>')
    )
    scenario = SumoNet(SumoNet.Params(sumocfg=str(cfg)))
    assert scenario.policy_info()["step_s"] == 0.5
    assert scenario.config.step_length_s == 0.5
    assert scenario.default_horizon_s() == 100.0


def test_loops_a_vehicle_could_cover_at_once_are_refused(tee: Path, tmp_path: Path) -> None:
    """twin follows one loop per vehicle: two loops closer than the longest vehicle (5 m
    here) would give wrong times, so they are refused in one line naming the second."""
    add = tmp_path / "loops.add.xml"
    add.write_text(
        '<additional><inductionLoop id="w" lane="ab_0" pos="50" period="60" file="x"/>'
        '<inductionLoop id="w2" lane="ab_0" pos="54.5" period="30" file="y"/></additional>'
    )
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra=f'<additional-files value="{add}"/>')
    with pytest.raises(ConfigError) as info:
        twin_run(cfg, 100)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{add}: inductionLoop 'w2': 4.50 m after inductionLoop 'w'")
    assert "longest vehicle (5.00 m)" in message


def test_a_loop_without_period_reports_the_whole_run(tee: Path, tmp_path: Path) -> None:
    add = tmp_path / "loop.add.xml"
    add.write_text('<additional><inductionLoop id="w" lane="ab_0" pos="50" file="x"/></additional>')
    cfg = sumocfg(tmp_path, tee, begin=50, end=400, extra=f'<additional-files value="{add}"/>')
    result = twin_run(cfg, 350)
    # v2 and v3 drive ab (the flow drives db): both pass the loop.
    assert result.kpis["loop.w.count"].value == 2
    assert result.kpis["loop.w.speed_mps"].value > 0


def test_the_command_line_reports_a_refused_option_in_one_line(
    tee: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = sumocfg(tmp_path, tee, begin=0, end=100, extra="")
    cfg.write_text(
        cfg.read_text().replace(
            "</configuration>", '<lateral-resolution value="0.8"/>\n</configuration>'
        )
    )
    run = tmp_path / "run.toml"
    run.write_text(
        f'[scenario]\nid = "traffic/sumo-net-v0"\nhorizon_s = 100\n\n'
        f'[scenario.params]\nsumocfg = "{cfg}"\n'
    )
    done = twin_here(capsys, monkeypatch, "validate", str(run), cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"twin: {run}: scenario.params.sumocfg: ")
    assert f"{cfg}: lateral-resolution: '0.8' is not supported: twin has no sublane model" in line


def test_a_typical_hand_written_config_loads(tmp_path: Path) -> None:
    """Options seen in real configurations: processing, routing, report, GUI, output."""
    cfg = write(
        tmp_path / "city.sumocfg",
        """<input><net-file value="city.net.xml.gz"/><route-files value="a.rou.xml,b.rou.xml"/>
    </input>
    <time><begin value="0"/><end value="7200"/><step-length value="1"/></time>
    <processing>
        <ignore-route-errors value="true"/>
        <time-to-teleport value="300"/>
        <time-to-teleport.highways value="0"/>
        <collision.action value="warn"/>
        <step-method.ballistic value="false"/>
        <waiting-time-memory value="100"/>
        <routing-algorithm value="dijkstra"/>
    </processing>
    <routing><device.rerouting.adaptation-steps value="18"/></routing>
    <report><verbose value="true"/><no-step-log value="true"/>
        <duration-log.statistics value="true"/></report>
    <output><summary-output value="summary.xml"/><tripinfo-output value="trips.xml"/>
        <tripinfo-output.write-unfinished value="true"/><fcd-output.geo value="true"/>
        <statistic-output value="stats.xml"/></output>
    <emissions><device.emissions.probability value="1"/></emissions>
    <random_number><random value="false"/><seed value="23423"/></random_number>
    <gui_only><gui-settings-file value="view.xml"/><start value="true"/></gui_only>""",
    )
    config = read_sumocfg(cfg)
    assert config.time_to_teleport_s == 300.0
    assert config.end_s == 7200.0
    why = dict(entry.split(": ", 1) for entry in config.ignored)
    assert why["seed"].startswith("SUMO's random numbers cannot be reproduced")
    assert why["collision.action"] == "twin's vehicles never collide"
    assert config.rerouting_steps == 18  # honoured: trips are routed on 18 samples
    assert "device.rerouting.adaptation-steps" not in why
    assert why["summary-output"] == "output, log, GUI or client setting"


def test_a_sumocfg_runs_from_the_command_line_with_its_inputs_in_the_manifest(
    tee: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = sumocfg(tmp_path, tee, begin=50, end=400)
    run = tmp_path / "run.toml"
    run.write_text(
        f'seed = 3\n\n[scenario]\nid = "traffic/sumo-net-v0"\nhorizon_s = 350\n\n'
        f'[scenario.params]\nsumocfg = "{cfg}"\n'
    )
    done = twin_here(capsys, monkeypatch, "run", str(run), "--out", "out", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    inputs = manifest["scenario_inputs"]
    assert inputs["skipped"] == {"depart before begin": 9}
    assert inputs["net_file"] == str(tee)
    assert (inputs["begin_s"], inputs["end_s"], inputs["step_length_s"]) == (50.0, 400.0, 1.0)


def test_vehicle_types_in_additional_files_serve_the_routes(tee: Path, tmp_path: Path) -> None:
    types = tmp_path / "types.add.xml"
    types.write_text('<additional><vType id="slow" maxSpeed="5" sigma="0"/></additional>')
    routes = tmp_path / "slow.rou.xml"
    routes.write_text(
        '<routes><vehicle id="s" type="slow" depart="0"><route edges="ab bc"/></vehicle></routes>'
    )
    cfg = write(
        tmp_path / "slow.sumocfg",
        f'<net-file value="{tee}"/><route-files value="slow.rou.xml"/>'
        '<additional-files value="types.add.xml"/><end value="300"/>',
    )
    result = twin_run(cfg, 300)
    # 600 m at the type's 5 m/s through one light, departing at SUMO 1.28's default speed
    # ("avg": on an empty lane its limit, capped by the type): as long as in SUMO.
    tripinfo = tmp_path / "tripinfo.xml"
    run_program(
        [sumo_binary("sumo"), "-c", cfg, "--tripinfo-output", tripinfo, "--no-step-log", "true"],
        "sumo",
    )
    (sumo_duration,) = (float(t.duration) for t in sumolib.xml.parse_fast(
        str(tripinfo), "tripinfo", ["duration"]
    ))  # fmt: skip
    assert result.kpis["trips_completed"].value == 1
    assert result.kpis["trip_duration_mean_s"].value == pytest.approx(sumo_duration, abs=1.0)


def test_sumo_default_depart_options_at_their_default_are_honoured(tmp_path: Path) -> None:
    """SUMO 1.28's defaults (``avg``, ``best_prob``) are what twin's demand reader applies."""
    cfg = write(
        tmp_path / "run.sumocfg",
        '<net-file value="x.net.xml"/><default.departspeed value="avg"/>'
        '<default.departlane value="best_prob"/>',
    )
    assert read_sumocfg(cfg).ignored == (
        "default.departspeed: set to what twin does",
        "default.departlane: set to what twin does",
    )


def test_rerouting_settings_a_trip_is_routed_with_are_read_or_refused_in_one_line(
    tmp_path: Path,
) -> None:
    """SUMO routes a trip when it departs on edge speeds averaged over
    ``device.rerouting.adaptation-steps`` samples and again every ``pre-period`` while it
    waits: both are read; values twin cannot follow are one line each."""
    tmp_path.joinpath("n.net.xml").write_text("<net/>")

    def config(option: str, value: str) -> Path:
        cfg = tmp_path / "c.sumocfg"
        cfg.write_text(
            '<configuration><input><net-file value="n.net.xml"/></input>'
            f'<routing><{option} value="{value}"/></routing></configuration>'
        )
        return cfg

    assert read_sumocfg(config("device.rerouting.pre-period", "30")).pre_period_s == 30.0
    assert read_sumocfg(config("device.rerouting.adaptation-steps", "90")).rerouting_steps == 90
    # osmWebWizard's scenarios sample every 10 s.
    interval = read_sumocfg(config("device.rerouting.adaptation-interval", "10"))
    assert interval.rerouting_interval_s == 10
    default = read_sumocfg(config("device.rerouting.pre-period", "60"))
    assert (default.rerouting_steps, default.rerouting_interval_s, default.pre_period_s) == (
        180,
        1,
        60.0,
    )
    for option, value in [
        ("device.rerouting.adaptation-steps", "0"),
        ("device.rerouting.pre-period", "0"),
        ("device.rerouting.adaptation-interval", "0"),
        ("device.rerouting.adaptation-interval", "2.5"),
    ]:
        with pytest.raises(ConfigError, match=option):
            read_sumocfg(config(option, value))
