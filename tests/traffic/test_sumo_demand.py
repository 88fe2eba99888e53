"""SUMO demand as SUMO has it: distributions, random flows, persons, vehicle classes and
depart attributes, each on a small hand-built network and route file."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from twin.core.errors import ConfigError
from twin.traffic import demand as dm
from twin.traffic import sumo
from twin.traffic.demand import SUMO_VCLASS_DEFAULTS, VehicleType, sumo_vclass_type
from twin.traffic.emissions import canonical, class_index, fuel_of
from twin.traffic.sumo import SkippedDemandWarning, read_net, read_routes, write_routes
from twin.traffic.sumo_tools import read_statistics, run_program, sumo_binary

RESCO = Path("/tmp/resco")


@pytest.fixture(scope="module")
def fork(tmp_path_factory) -> Path:
    """A 200 m two-lane road ``a`` into a priority junction, then ``b`` east or ``c`` north."""
    d = tmp_path_factory.mktemp("fork")
    (d / "fork.nod.xml").write_text(
        '<nodes><node id="w" x="0" y="0"/><node id="m" x="200" y="0" type="priority"/>'
        '<node id="e" x="400" y="0"/><node id="n" x="200" y="200"/></nodes>'
    )
    (d / "fork.edg.xml").write_text(
        '<edges><edge id="a" from="w" to="m" numLanes="2" speed="13.89"/>'
        '<edge id="b" from="m" to="e" numLanes="1" speed="13.89"/>'
        '<edge id="c" from="m" to="n" numLanes="1" speed="13.89"/></edges>'
    )
    net = d / "fork.net.xml"
    run_program(
        [
            sumo_binary("netconvert"),
            "--node-files", str(d / "fork.nod.xml"),
            "--edge-files", str(d / "fork.edg.xml"),
            "--no-turnarounds", "true",
            "--output-file", str(net),
        ],
        "netconvert",
    )  # fmt: skip
    return net


def routes_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "demand.rou.xml"
    path.write_text(f"<routes>\n{body}\n</routes>\n")
    return path


def one_line(error: pytest.ExceptionInfo[ConfigError]) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


def within_binomial(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


# -- distributions ---------------------------------------------------------------------------


def test_vtype_distribution_nested_members_are_drawn_by_their_probabilities(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        """
        <vTypeDistribution id="mix">
            <vType id="car" probability="0.7"/>
            <vType id="van" vClass="delivery" probability="0.3"/>
        </vTypeDistribution>
        <flow id="f" begin="0" end="4000" period="1" type="mix" route="r"/>
        <route id="r" edges="a b"/>
        """,
    )
    table = read_routes(net, path, rng=rng())
    assert len(table) == 4000
    ids = [table.vtypes[k].id for k in table.vtype]
    assert within_binomial(ids.count("van"), 4000, 0.3)
    assert {t.id for t in table.vtypes} == {"car", "van"}


def test_vtype_distribution_by_list_and_probabilities(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        """
        <vType id="car"/>
        <vType id="bus" vClass="bus"/>
        <vTypeDistribution id="mix" vTypes="car bus" probabilities="3 1"/>
        <route id="r" edges="a c"/>
        <flow id="f" begin="0" end="2000" period="1" type="mix" route="r"/>
        """,
    )
    table = read_routes(net, path, rng=rng(1))
    ids = [table.vtypes[k].id for k in table.vtype]
    assert within_binomial(ids.count("bus"), 2000, 0.25)


def test_listed_members_weigh_by_their_own_probability_across_files(fork, tmp_path):
    net = read_net(fork)
    types = tmp_path / "types.add.xml"
    types.write_text(
        '<additional><vType id="car" probability="4"/><vType id="van" vClass="delivery" '
        'probability="1"/><route id="e" edges="a b" probability="1"/>'
        '<route id="n" edges="a c" probability="9"/></additional>'
    )
    path = routes_file(
        tmp_path,
        '<vTypeDistribution id="mix" vTypes="car van"/>'
        '<routeDistribution id="d" routes="e n"/>'
        '<flow id="f" begin="0" end="3000" period="1" type="mix" route="d"/>',
    )
    table = read_routes(net, types, path, rng=rng(4))
    ids = [table.vtypes[k].id for k in table.vtype]
    assert within_binomial(ids.count("van"), 3000, 0.2)
    north = sum(net.edges[int(table.route(k)[-1])].id == "c" for k in range(3000))
    assert within_binomial(north, 3000, 0.9)


def test_route_distribution_nested_refs_and_inline_in_a_vehicle(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        """
        <route id="east" edges="a b"/>
        <routeDistribution id="split">
            <route refId="east" probability="1"/>
            <route id="north" edges="a c" probability="3"/>
        </routeDistribution>
        <flow id="f" begin="0" end="2000" period="1" route="split"/>
        <vehicle id="v" depart="2000">
            <routeDistribution>
                <route edges="a b" probability="0"/>
                <route edges="a c" probability="1"/>
            </routeDistribution>
        </vehicle>
        """,
    )
    table = read_routes(net, path, rng=rng(2))
    last = [net.edges[e].id for e in table.route(len(table) - 1)]
    assert last == ["a", "c"]  # the inline distribution gives it "a c" only
    north = sum(net.edges[int(table.route(k)[-1])].id == "c" for k in range(2000))
    assert within_binomial(north, 2000, 0.75)


def test_draws_are_deterministic_in_file_order(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        """
        <vTypeDistribution id="mix"><vType id="x" probability="1"/><vType id="y"
            probability="1"/></vTypeDistribution>
        <routeDistribution id="d" routes="e n" probabilities="1 1"/>
        <route id="e" edges="a b"/><route id="n" edges="a c"/>
        <flow id="f" begin="0" end="50" period="1" type="mix" route="d"/>
        """,
    )
    one, two = read_routes(net, path, rng=rng(9)), read_routes(net, path, rng=rng(9))
    assert np.array_equal(one.route_edges, two.route_edges)
    assert [one.vtypes[k].id for k in one.vtype] == [two.vtypes[k].id for k in two.vtype]
    # Per vehicle: one uniform for the type, then one for the route.
    u = rng(9).random(100)
    assert [one.vtypes[k].id for k in one.vtype] == ["x" if x < 0.5 else "y" for x in u[0::2]]


def test_a_deterministic_type_distribution_is_one_line(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(tmp_path, '<vTypeDistribution id="m" vTypes="x" deterministic="10"/>')
    with pytest.raises(ConfigError) as error:
        read_routes(net, path, rng=rng())
    line = one_line(error)
    assert line.startswith(f"{path}: vTypeDistribution 'm': attribute deterministic='10'")


def test_a_distribution_without_rng_is_one_line(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/><vTypeDistribution id="m" vTypes="DEFAULT_VEHTYPE"/>'
        '<vehicle id="v0" depart="0" type="m" route="r"/>',
    )
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    assert one_line(error).startswith(f"{path}: vehicle 'v0': draws from a vTypeDistribution")


# -- random flows ----------------------------------------------------------------------------


def test_probability_flow_is_a_bernoulli_draw_per_second_of_begin_to_end(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/>'
        '<flow id="q" begin="0" probability="0.5" number="7" route="r"/>'
        '<flow id="p" begin="100" end="600" probability="0.2" route="r"/>',
    )
    counts = []
    for seed in range(200):
        table = read_routes(net, path, rng=rng(seed))
        times = table.depart_s
        p = times[times >= 100]
        assert np.all(p == np.floor(p))  # whole seconds
        assert p.max() < 600
        counts.append(len(table) - 7)  # "q" stops at its 7th vehicle
        assert np.sum(times < 100) <= 7
    # 500 draws of p = 0.2 each: mean 100, sd 8.9; over 200 runs the mean is within 2.5.
    assert abs(np.mean(counts) - 100) < 2.5
    assert np.std(counts) == pytest.approx(math.sqrt(500 * 0.2 * 0.8), rel=0.2)


def test_a_certain_flow_departs_each_whole_second_from_begin_as_in_sumo(fork, tmp_path):
    # SUMO 1.28 on this file (tripinfo depart - departDelay): 101..104 and 200..205.
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/>'
        '<flow id="p" begin="100.5" end="105" probability="1" route="r"/>'
        '<flow id="s" begin="200" end="205.5" probability="1" route="r"/>',
    )
    table = read_routes(net, path, rng=rng())
    assert table.depart_s.tolist() == [101, 102, 103, 104, 200, 201, 202, 203, 204, 205]


def test_an_interval_gives_the_flows_in_it_their_default_begin_and_end(fork, tmp_path):
    """SUMO's route handler reads ``<interval begin end>`` as the default begin and end
    of the flows inside it (SUMORouteHandler: myBeginDefault, myEndDefault). SUMO 1.28
    on this file (tripinfo ids and due times): f at 50, 66.7, 83.3 (inserted 50, 67,
    84), g at 50, h at 120 and 125."""
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/>'
        '<interval begin="50" end="100">'
        '<flow id="f" number="3" route="r"/><flow id="g" period="20" end="70" route="r"/>'
        "</interval>"
        '<flow id="h" begin="120" number="2" period="5" route="r"/>',
    )
    table = read_routes(net, path, rng=rng())
    assert table.depart_s.tolist() == pytest.approx([50, 50, 50 + 50 / 3, 50 + 100 / 3, 120, 125])


def test_a_flow_without_begin_starts_at_the_simulations_begin(fork, tmp_path):
    """SUMO's default begin of a flow is the run's begin (``myBeginDefault``, the
    ``begin`` option). SUMO 1.28 with ``begin="300"``: f.0, f.1, f.2 at 300, 305, 310;
    twin started it at 0, before the window, and drove none of it."""
    net = read_net(fork)
    path = routes_file(
        tmp_path, '<route id="r" edges="a b"/><flow id="f" number="3" period="5" route="r"/>'
    )
    assert read_routes(net, path, begin_s=300.0).depart_s.tolist() == [300, 305, 310]
    assert read_routes(net, path).depart_s.tolist() == [0, 5, 10]


def test_an_interval_elsewhere_and_an_include_are_one_line(fork, tmp_path):
    net = read_net(fork)
    for body in (
        '<route id="r" edges="a b"/><vehicle id="v" depart="0" route="r"><interval/></vehicle>',
        '<include href="more.rou.xml"/>',
    ):
        with pytest.raises(ConfigError) as error:
            read_routes(net, routes_file(tmp_path, body), rng=rng())
        assert "is not supported here; twin reads vTypes, routes" in one_line(error)


@pytest.mark.parametrize(
    ("flow", "expected"),
    [
        ('end="9" number="3" period="2"', "with period= give end= or number=, not both"),
        ('end="9" number="3" probability="0.5"', "with probability= give end= or number="),
        ('period="2" vehsPerHour="100" end="9"', "give one of period, vehsPerHour"),
        ('probability="1.5" end="9"', "probability must be in [0, 1]"),
        ('period="exp(0)" end="9"', "the rate must be > 0"),
    ],
)
def test_flows_sumo_refuses_are_one_line(fork, tmp_path, flow, expected):
    net = read_net(fork)
    path = routes_file(tmp_path, f'<route id="r" edges="a b"/><flow id="f" route="r" {flow}/>')
    with pytest.raises(ConfigError) as error:
        read_routes(net, path, rng=rng())
    line = one_line(error)
    assert line.startswith(f"{path}: flow 'f': ")
    assert expected in line


def test_exponential_flow_has_poisson_counts(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/><flow id="x" begin="0" end="500" period="exp(0.1)" route="r"/>',
    )
    counts = [len(read_routes(net, path, rng=rng(seed))) for seed in range(200)]
    assert abs(np.mean(counts) - 50) < 2.0  # Poisson(50): sd 7.1, over 200 runs 0.5
    assert np.var(counts) == pytest.approx(50, rel=0.3)


def test_random_flow_counts_lie_where_sumos_do(fork, tmp_path):
    # SUMO 1.28 on the same file: its count of loaded vehicles per flow lies in the same
    # binomial/Poisson band as twin's (one SUMO seed each; twin's band is checked above).
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/>'
        '<flow id="p" begin="0" end="1000" probability="0.1" route="r"/>',
    )
    exp_path = tmp_path / "exp.rou.xml"
    exp_path.write_text(
        '<routes><route id="r" edges="a c"/>'
        '<flow id="x" begin="0" end="1000" period="exp(0.1)" route="r"/></routes>'
    )
    for routes, mean, var in ((path, 100, 90), (exp_path, 100, 100)):
        for seed in (1, 2):
            stats = tmp_path / f"stats{seed}.xml"
            run_program(
                [
                    sumo_binary("sumo"), "--net-file", str(fork), "--route-files", str(routes),
                    "--end", "1200", "--seed", str(seed), "--no-step-log", "true",
                    "--statistic-output", str(stats),
                ],
                "sumo",
            )  # fmt: skip
            loaded = int(read_statistics(stats)["vehicles"]["loaded"])
            assert abs(loaded - mean) <= 4 * math.sqrt(var), (routes.name, loaded)
            twin = len(read_routes(read_net(fork), routes, rng=rng(seed)))
            assert abs(twin - mean) <= 4 * math.sqrt(var), (routes.name, twin)


# -- persons and containers ------------------------------------------------------------------


def test_persons_and_containers_are_skipped_counted_and_warned_once(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        """
        <vType id="walker" vClass="pedestrian"/>
        <person id="p0" depart="0"><walk edges="a b"/></person>
        <personFlow id="pf" begin="0" end="10" period="5"><walk edges="a c"/></personFlow>
        <container id="k" depart="0"><transport from="a" to="b" lines="v"/></container>
        <vehicle id="v" depart="3" line="v" personNumber="1"><route edges="a b"/></vehicle>
        <person id="p1" depart="5"><ride from="a" to="b" lines="v"/></person>
        """,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_routes(net, path)
    skipped = [w for w in caught if issubclass(w.category, SkippedDemandWarning)]
    assert len(skipped) == 1
    assert str(skipped[0].message).startswith(f"{path}: skipped 2 <person>, 1 <personFlow>")
    assert table.skipped == {"person": 2, "personFlow": 1, "container": 1}
    assert len(table) == 1  # the vehicle carrying them still drives
    assert table.depart_s.tolist() == [3.0]


def test_what_departs_before_one_read_earlier_in_a_route_file_is_ignored_as_sumo_does(
    fork, tmp_path
):
    """SUMO ignores a vehicle, trip or flow of a route file that departs before the
    latest departure read so far in that file, a person's included, and warns
    ("Route file should be sorted by departure time, ignoring 'b'!", MSRouteHandler
    ``checkLastDepart``). SUMO 1.28 on this file drives a, pt, c and v; twin the same,
    with one warning and the count in the table."""
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/>'
        '<trip id="a" depart="20" from="a" to="b"/>'
        '<trip id="b" depart="10" from="a" to="b"/>'
        '<flow id="g" begin="5" end="15" number="2" route="r"/>'
        '<vehicle id="pt" depart="25" line="bus1" route="r"/>'
        '<vehicle id="c" depart="22" route="r"/>'
        '<person id="p" depart="40"><walk edges="a b"/></person>'
        '<vehicle id="d" depart="30" route="r"/>'
        '<vehicle id="v" depart="40" route="r"/>',
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_routes(net, path, rng=rng())
    assert table.depart_s.tolist() == [20, 22, 25, 40]
    assert table.skipped == {sumo.UNSORTED: 3, "person": 1}
    messages = [str(w.message) for w in caught if issubclass(w.category, SkippedDemandWarning)]
    assert messages[0] == (
        f"{path}: ignored 3 vehicles, trips or flows ('b', 'g', 'd') departing before one "
        "read earlier in the file, as SUMO ignores them ('Route file should be sorted by "
        "departure time'); sort the file to drive them"
    )


def test_an_additional_file_adds_its_vehicles_in_any_order(fork, tmp_path):
    """SUMO adds an additional file's vehicles directly, without the order check."""
    net = read_net(fork)
    path = tmp_path / "demand.add.xml"
    path.write_text(
        '<additional><route id="r" edges="a b"/><vehicle id="a" depart="20" route="r"/>'
        '<vehicle id="b" depart="10" route="r"/></additional>'
    )
    table = read_routes(net, path, additional=[path])
    assert sorted(table.depart_s.tolist()) == [10, 20]
    assert table.skipped == {}


@pytest.mark.parametrize("name", ["Zero", "zero", "Zero/default", "HBEFA4/zero"])
def test_sumos_names_of_the_zero_class_are_read_in_any_case(name):
    # SUMO 1.28 runs a car of each with CO2_abs="0.00" (its emissions device).
    assert canonical(name) == "HBEFA4/zero"


@pytest.mark.parametrize("name", ["Energy/unknown", "Energy/default", "MMPEVEM"])
def test_an_electric_vtype_drives_without_tailpipe_emissions_and_says_its_battery_is_not_modelled(
    fork, tmp_path, name
):
    """SUMO's battery-electric models write no CO2 and no fuel to the tripinfo (SUMO 1.28:
    CO2_abs="0.00" for each); their electricity is SUMO's battery device's to compute."""
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        f'<vType id="ev" emissionClass="{name}"/>'
        '<vehicle id="v" type="ev" depart="0"><route edges="a b"/></vehicle>',
    )
    with pytest.warns(sumo.UnmodelledWarning, match=f"emission class '{name}' is electric"):
        table = read_routes(net, path)
    assert table.vtypes[int(table.vtype[0])].emission_class == "HBEFA4/zero"


# -- vehicle classes -------------------------------------------------------------------------


def test_vclass_defaults_equal_sumos_own(fork, tmp_path):
    # Ask SUMO 1.28 itself (TraCI) for the parameters of a vType of each class.
    traci = pytest.importorskip("traci")
    add = tmp_path / "types.add.xml"
    add.write_text(
        "<additional>"
        + "".join(f'<vType id="{c}" vClass="{c}"/>' for c in SUMO_VCLASS_DEFAULTS)
        + "</additional>"
    )
    label = f"vclass-{tmp_path.name}"
    traci.start(
        [str(sumo_binary("sumo")), "-n", str(fork), "-a", str(add), "--no-step-log", "true"],
        label=label,
    )
    try:
        conn = traci.getConnection(label)
        for vclass in SUMO_VCLASS_DEFAULTS:
            twin = sumo_vclass_type(vclass, vclass)
            t = conn.vehicletype
            assert twin.length_m == pytest.approx(t.getLength(vclass)), vclass
            assert twin.min_gap_m == pytest.approx(t.getMinGap(vclass)), vclass
            assert twin.accel_mps2 == pytest.approx(t.getAccel(vclass)), vclass
            assert twin.decel_mps2 == pytest.approx(t.getDecel(vclass)), vclass
            assert twin.emergency_decel_mps2 == pytest.approx(t.getEmergencyDecel(vclass))
            assert twin.max_speed_mps == pytest.approx(t.getMaxSpeed(vclass), abs=0.01), vclass
            assert twin.speed_factor_std == pytest.approx(t.getSpeedDeviation(vclass)), vclass
            assert twin.sigma == pytest.approx(t.getImperfection(vclass)), vclass
            assert twin.tau_s == pytest.approx(t.getTau(vclass)), vclass
            assert twin.emission_class == canonical(t.getEmissionClass(vclass)), vclass
            assert twin.vclass == t.getVehicleClass(vclass) == vclass
    finally:
        traci.switch(label)
        traci.close()


def test_explicit_attributes_override_the_class_and_emergency_decel_follows_decel(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        """
        <vType id="fast_bus" vClass="bus" decel="8" length="18"/>
        <vType id="soft_truck" vClass="truck" decel="3" speedFactor="1.3"/>
        <vType id="car" emissionClass="HBEFA3/PC_D_EU6"/>
        <route id="r" edges="a b"/>
        <vehicle id="0" depart="0" type="fast_bus" route="r"/>
        <vehicle id="1" depart="0" type="soft_truck" route="r"/>
        <vehicle id="2" depart="0" type="car" route="r"/>
        """,
    )
    types = {t.id: t for t in read_routes(net, path).vtypes}
    assert types["fast_bus"] == VehicleType(
        id="fast_bus",
        vclass="bus",
        length_m=18.0,
        accel_mps2=1.2,
        decel_mps2=8.0,
        emergency_decel_mps2=8.0,  # SUMO: max(decel, the class's 7)
        max_speed_mps=100 / 3.6,
        speed_factor_std=0.0,
        emission_class="HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C",
    )
    assert types["soft_truck"].emergency_decel_mps2 == 7.0
    # A plain speedFactor is the mean; the deviation stays the class's (SUMO's TraCI: 0.05).
    assert (types["soft_truck"].speed_factor_mean, types["soft_truck"].speed_factor_std) == (
        1.3,
        0.05,
    )
    assert types["car"].emission_class == "PC_D_EU6"
    assert fuel_of(types["car"].emission_class) == "diesel"
    assert fuel_of(types["fast_bus"].emission_class) == "diesel"
    assert class_index("HBEFA4/PC_petrol_Euro-4") == class_index(dm.SUMO_DEFAULT_EMISSION_CLASS)


def test_a_class_twin_does_not_drive_is_one_line_when_used(fork, tmp_path):
    net = read_net(fork)
    body = '<vType id="bike" vClass="bicycle"/><route id="r" edges="a b"/>'
    assert len(read_routes(net, routes_file(tmp_path, body))) == 0  # defined, unused: fine
    path = routes_file(tmp_path, body + '<vehicle id="v" depart="0" type="bike" route="r"/>')
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    line = one_line(error)
    assert line.startswith(f"{path}: vType 'bike': vClass 'bicycle' is not driven by twin")
    assert "passenger, private" in line
    assert "motorcycle" in line


# -- depart attributes -----------------------------------------------------------------------


def test_depart_attributes_become_codes(fork, tmp_path):
    net = read_net(fork)
    length = net.edges[net.edge_index("a")].length_m
    path = routes_file(
        tmp_path,
        """
        <route id="r" edges="a b"/>
        <vehicle id="0" depart="0" route="r" departLane="best" departPos="-10"
                 departSpeed="max"/>
        <vehicle id="1" depart="1" route="r" departLane="1" departPos="random_free"
                 departSpeed="5.5"/>
        <vehicle id="2" depart="2" route="r"/>
        <flow id="f" begin="3" end="5" period="1" route="r" departLane="free"
              departPos="last" departSpeed="desired"/>
        """,
    )
    t = read_routes(net, path)
    assert (
        t.depart_lane.tolist()
        == [dm.DEPART_LANE_BEST, 1, dm.DEPART_LANE_BEST_PROB] + [dm.DEPART_LANE_FREE] * 2
    )
    assert t.depart_pos_m.tolist() == [
        pytest.approx(length - 10),
        dm.DEPART_POS_RANDOM_FREE,
        dm.DEPART_POS_BASE,
        dm.DEPART_POS_LAST,
        dm.DEPART_POS_LAST,
    ]
    assert (
        t.depart_speed_mps.tolist()
        == [dm.DEPART_SPEED_MAX, 5.5, dm.DEPART_SPEED_AVG] + [dm.DEPART_SPEED_DESIRED] * 2
    )


def test_without_depart_attributes_a_vehicle_departs_as_in_sumo_1_28(fork, tmp_path):
    # SUMO 1.28's tripinfo for this very vehicle: departLane a_1 (best_prob), departPos
    # 5.10 (base: its length + 0.1), departSpeed 13.89 (avg, the free road's limit).
    net = read_net(fork)
    path = routes_file(tmp_path, '<vehicle id="0" depart="0"><route edges="a b"/></vehicle>')
    t = read_routes(net, path)
    assert t.depart_lane.tolist() == [dm.DEPART_LANE_BEST_PROB]
    assert t.depart_pos_m.tolist() == [dm.DEPART_POS_BASE]
    assert t.depart_speed_mps.tolist() == [dm.DEPART_SPEED_AVG]


def test_depart_attributes_are_written_back(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/><vehicle id="0" depart="0" route="r" departLane="1" '
        'departPos="-20" departSpeed="random"/><vehicle id="1" depart="1" route="r"/>',
    )
    table = read_routes(net, path)
    again = read_routes(net, write_routes(tmp_path / "out.rou.xml", net, table))
    assert again.depart_lane.tolist() == table.depart_lane.tolist()
    assert again.depart_pos_m.tolist() == table.depart_pos_m.tolist()
    assert again.depart_speed_mps.tolist() == table.depart_speed_mps.tolist()


def test_a_vehicles_own_speed_factor_replaces_its_draw_as_in_sumo(fork, tmp_path):
    """SUMO's vehicle ``speedFactor`` is the factor it drives at (no draw from its type);
    every other vehicle keeps the factor it drew without it. SUMO 1.28 and twin: the
    same arrival to the tick for a lone car at half the limit (``sigma="0"``)."""
    from models.signals.fixed_time import FixedTime
    from twin.core.world import World
    from twin.traffic.city import City
    from twin.traffic.sumo_tools import run_sumo

    net = read_net(fork)
    body = (
        '<vType id="calm" sigma="0"/><route id="r" edges="a b"/>'
        '<vehicle id="slow" type="calm" depart="0" route="r" departSpeed="0"{own}/>'
        '<vehicle id="next" type="calm" depart="100" route="r" departSpeed="0"/>'
    )
    factors = []
    for own in (' speedFactor="0.5"', ""):
        trips = read_routes(net, routes_file(tmp_path, body.format(own=own)))
        world = World(1, tick_s=60.0)
        city = City(world, net, trips, FixedTime(FixedTime.Params()), step_s=1.0)
        world.run(300.0)
        factors.append(city.veh.speed_factor.tolist())
        if own:
            arrive_s = float(city.veh.arrive_s[0])
            again = read_routes(net, write_routes(tmp_path / "back.rou.xml", net, trips))
            assert again.speed_factor is not None
            assert again.speed_factor.tolist()[0] == 0.5
    assert factors[0][0] == 0.5
    assert factors[0][1] == factors[1][1] != 1.0  # drawn, and the same draw
    sumo = run_sumo(
        fork, routes_file(tmp_path, body.format(own=' speedFactor="0.5"')), tmp_path / "sumo",
        end_s=300, seed=1,
    )  # fmt: skip
    (slow,) = [k for k, name in enumerate(sumo.trips.ids) if name == "slow"]
    assert arrive_s == float(sumo.trips.arrival_s[slow]) == 58.0


ARRIVALS = """
    <vType id="calm" sigma="0"/><route id="r" edges="a b"/>
    <vehicle id="at100" type="calm" depart="0" route="r" {same} arrivalPos="100"/>
    <vehicle id="tenshort" type="calm" depart="10" route="r" {same} arrivalPos="-10"/>
    <vehicle id="end" type="calm" depart="20" route="r" {same}/>
    <vehicle id="centre" type="calm" depart="30" route="r" {same} arrivalPos="center"/>
    <vehicle id="behind" type="calm" depart="31" route="r" {same}/>
    <vehicle id="first" type="calm" depart="60" {same} arrivalPos="50"><route edges="a"/></vehicle>
"""


def test_arrival_positions_end_trips_where_sumo_ends_them(fork, tmp_path):
    """``arrivalPos``: metres on the last edge, negative from its end, ``center``; the
    trip ends there, wherever it is on the lane (``behind`` follows a car that arrives
    in front of it). SUMO 1.28 and twin on the same six trips (no dawdling, speed factor
    1): every arrival time, route length and time loss equal to the hundredth."""
    from models.signals.fixed_time import FixedTime
    from twin.core.world import World
    from twin.traffic.city import City
    from twin.traffic.sumo_tools import run_sumo

    net = read_net(fork)
    body = ARRIVALS.format(same='departSpeed="0" speedFactor="1"')
    trips = read_routes(net, routes_file(tmp_path, body))
    length_b = net.edges[net.edge_index("b")].length_m
    assert trips.arrival_pos_m is not None
    assert trips.arrival_pos_m.tolist() == [
        100.0, length_b - 10.0, math.inf, length_b / 2.0, math.inf, 50.0,
    ]  # fmt: skip
    world = World(1, tick_s=60.0)
    city = City(world, net, trips, FixedTime(FixedTime.Params()), step_s=1.0)
    world.run(300.0)
    sumo = run_sumo(fork, routes_file(tmp_path, body), tmp_path / "sumo", end_s=300, seed=1)
    order = [sumo.trips.ids.index(name) for name in ("at100", "tenshort", "end", "centre")]
    order += [sumo.trips.ids.index(name) for name in ("behind", "first")]
    veh = city.veh
    assert veh.arrive_s.tolist() == sumo.trips.arrival_s[order].tolist()
    assert np.round(veh.dist_m, 2).tolist() == sumo.trips.route_length_m[order].tolist()
    assert np.round(veh.time_loss_s, 2).tolist() == sumo.trips.time_loss_s[order].tolist()
    again = read_routes(net, write_routes(tmp_path / "back.rou.xml", net, trips))
    assert again.arrival_pos_m is not None
    assert again.arrival_pos_m.tolist() == trips.arrival_pos_m.tolist()


def test_a_random_arrival_position_is_drawn_along_the_last_edge(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<route id="r" edges="a b"/><flow id="f" begin="0" end="200" period="1" route="r" '
        'arrivalPos="random"/>',
    )
    drawn = read_routes(net, path, rng=rng(3)).arrival_pos_m
    assert drawn is not None
    length_b = net.edges[net.edge_index("b")].length_m
    assert 0.0 <= drawn.min() < 0.1 * length_b
    assert 0.9 * length_b < drawn.max() <= length_b
    assert drawn.tolist() == read_routes(net, path, rng=rng(3)).arrival_pos_m.tolist()
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    assert "arrivalPos 'random' draws a position, but read_routes was given no rng" in one_line(
        error
    )


def test_a_numeric_depart_lane_is_sumos_index_counting_the_sidewalk(tmp_path):
    """SUMO's ``departLane="1"`` on a road whose lane 0 is a sidewalk is the first car
    lane (SUMO drives it on ``a_1``; ``departLane="0"`` is an error in SUMO too)."""
    (tmp_path / "n.nod.xml").write_text(
        '<nodes><node id="w" x="0" y="0"/><node id="e" x="200" y="0"/></nodes>'
    )
    (tmp_path / "n.edg.xml").write_text(
        '<edges><edge id="a" from="w" to="e" numLanes="2" speed="13.89" sidewalkWidth="2"/></edges>'
    )
    net_file = tmp_path / "n.net.xml"
    run_program(
        [
            sumo_binary("netconvert"), "--node-files", str(tmp_path / "n.nod.xml"),
            "--edge-files", str(tmp_path / "n.edg.xml"), "--output-file", str(net_file),
        ],
        "netconvert",
    )  # fmt: skip
    net = read_net(net_file)
    assert net.edges[0].lanes == 2
    path = routes_file(
        tmp_path,
        '<vehicle id="0" depart="0" departLane="1"><route edges="a"/></vehicle>'
        '<vehicle id="1" depart="1" departLane="2"><route edges="a"/></vehicle>',
    )
    table = read_routes(net, path)
    assert table.depart_lane.tolist() == [0, 1]
    written = write_routes(tmp_path / "out.rou.xml", net, table).read_text()
    assert [
        line.split('departLane="')[1][0] for line in written.splitlines() if "departLane" in line
    ] == ["1", "2"]
    sidewalk = routes_file(
        tmp_path, '<vehicle id="v" depart="0" departLane="0"><route edges="a"/></vehicle>'
    )
    with pytest.raises(ConfigError) as error:
        read_routes(net, sidewalk)
    assert "departLane 0 is not a car lane of edge 'a' (its car lanes: 1, 2)" in one_line(error)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ('departLane="2"', "departLane 2 is not a car lane of edge 'a' (its car lanes: 0, 1)"),
        ('departLane="left"', "departLane 'left': expected a lane index or one of first"),
        ('departPos="500"', "departPos '500' is off edge 'a'"),
        ('departPos="stop"', "departPos 'stop': expected metres or one of base"),
        ('departSpeed="-1"', "departSpeed '-1' must be in [0, 55.56]"),
        ('departSpeed="fast"', "departSpeed 'fast': expected m/s or one of random"),
        ('arrivalLane="0"', "arrivalLane='0' is not supported; twin drives arrivalLane='current'"),
        ('arrivalPos="500"', "arrivalPos '500' is off edge 'b' (192.8 m long)"),
        ('arrivalPos="-300"', "arrivalPos '-300' is off edge 'b'"),
        ('arrivalPos="stop"', "arrivalPos 'stop': expected metres or one of max, random"),
        ('arrivalSpeed="0"', "arrivalSpeed='0' is not supported"),
        ('insertionChecks="none"', "insertionChecks='none' is not supported"),
        ('departEdge="1"', "departEdge='1' is not supported"),
        ('arrivalEdge="0"', "arrivalEdge='0' is not supported"),
        ('speedFactor="0"', "speedFactor '0': expected a number > 0"),
        ('speedFactor="normc(1,0.1)"', "speedFactor 'normc(1,0.1)': expected a number > 0"),
        ('reroute="true"', "attribute reroute='true' changes how SUMO drives"),
        ('from="a"', "attribute from='a' changes how SUMO drives"),  # a vehicle has a route
    ],
)
def test_bad_or_unsupported_vehicle_attributes_are_one_line(fork, tmp_path, attributes, expected):
    net = read_net(fork)
    path = routes_file(
        tmp_path, f'<route id="r" edges="a b"/><vehicle id="v" depart="0" route="r" {attributes}/>'
    )
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    line = one_line(error)
    assert line.startswith(f"{path}: vehicle 'v': ")
    assert expected in line


def test_a_krauss_child_element_sets_the_types_parameters(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<vType id="t" length="4"><carFollowing-Krauss accel="1.5" sigma="0.3"/>'
        '<param key="parking.anywhere" value="1"/></vType>'
        '<route id="r" edges="a b"/><vehicle id="v" depart="0" route="r" type="t"/>',
    )
    (t,) = read_routes(net, path).vtypes
    assert (t.length_m, t.accel_mps2, t.sigma) == (4.0, 1.5, 0.3)


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ('<carFollowing-IDM accel="1"/>', "vType 't': <carFollowing-IDM>: twin drives Krauss"),
        ('<param key="has.rerouting.device" value="true"/>', "vType 't': param 'has.rerouting"),
    ],
)
def test_vtype_children_twin_does_not_model_are_one_line(fork, tmp_path, inner, expected):
    net = read_net(fork)
    path = routes_file(tmp_path, f'<vType id="t">{inner}</vType>')
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    assert expected in one_line(error)


def test_attributes_that_do_not_change_the_driving_are_accepted(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<vType id="t" color="1,0,0" guiShape="bus" width="2.5" laneChangeModel="LC2013"/>'
        '<route id="r" edges="a b"/><vehicle id="v" depart="0" route="r" type="t" color="red" '
        'line="7" personNumber="3" arrival="12.5" arrivalPos="max" insertionChecks="all"/>',
    )
    assert len(read_routes(net, path)) == 1


@pytest.mark.parametrize(
    ("vtype", "expected"),
    [
        ('carFollowModel="IDM"', "carFollowModel 'IDM': twin drives Krauss only"),
        ('laneChangeModel="SL2015"', "laneChangeModel 'SL2015'"),
        ('jmTimegapMinor="2"', "attribute jmTimegapMinor='2' changes how SUMO drives"),
        ('impatience="0.5"', "attribute impatience='0.5'"),
        ('actionStepLength="2"', "attribute actionStepLength='2'"),
        ('emissionClass="PHEMlight/PC_G_EU4"', "unknown emission class 'PHEMlight/PC_G_EU4'"),
        ('vClass="truck" emergencyDecel="2"', "need min_gap_m >= 0 and emergency_decel_mps2"),
        ('speedFactor="normc(1,0.1,0.5,1.5)"', "twin cuts speed factors at [0.2, 2]"),
        ('speedFactor="fast"', "speedFactor 'fast': expected a number or normc"),
    ],
)
def test_vtype_attributes_twin_does_not_model_are_one_line(fork, tmp_path, vtype, expected):
    net = read_net(fork)
    path = routes_file(tmp_path, f'<vType id="t" {vtype}/>')
    with pytest.raises(ConfigError) as error:
        read_routes(net, path)
    line = one_line(error)
    assert line.startswith(f"{path}: vType 't': ")
    assert expected in line


# -- writing and real scenarios --------------------------------------------------------------


def test_written_classes_are_read_back_and_understood_by_sumo(fork, tmp_path):
    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<vType id="bus" vClass="bus"/><vType id="ev" vClass="evehicle"/>'
        '<route id="r" edges="a b"/><vehicle id="0" depart="0" type="bus" route="r"/>'
        '<vehicle id="1" depart="1" route="r"/><vehicle id="2" depart="2" type="ev" route="r"/>',
    )
    table = read_routes(net, path)
    out = write_routes(tmp_path / "out.rou.xml", net, table)
    assert read_routes(net, out).vtypes == table.vtypes
    stats = tmp_path / "stats.xml"
    run_program(
        [
            sumo_binary("sumo"), "--net-file", str(fork), "--route-files", str(out),
            "--end", "200", "--no-step-log", "true", "--statistic-output", str(stats),
        ],
        "sumo",
    )  # fmt: skip
    assert read_statistics(stats)["vehicles"]["loaded"] == "3"


@pytest.mark.parametrize("name", ["cologne1", "cologne3", "cologne8", "ingolstadt1"])
def test_resco_route_files_import_with_their_nets(name):
    folder = RESCO / name
    if not folder.exists():
        pytest.skip(f"{folder} is not unpacked")
    net = read_net(folder / f"{name}.net.xml")
    table = read_routes(net, folder / f"{name}.rou.xml", rng=rng())
    assert len(table) > 1000
    assert table.skipped == {}
    if name == "ingolstadt1":
        classes = {t.vclass for t in table.vtypes}
        assert classes == {"passenger", "bus"}
        bus = next(t for t in table.vtypes if t.vclass == "bus")
        assert bus.length_m == 12.0
        assert bus.emission_class == "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C"


RESCO_ROUTES = {
    "arterial4x4": "arterial4x4_1.rou.xml",
    "grid4x4": "grid4x4_1.rou.xml",
    "cologne1": "cologne1.rou.xml",
    "cologne3": "cologne3.rou.xml",
    "cologne8": "cologne8.rou.xml",
    "ingolstadt1": "ingolstadt1.rou.xml",
    "ingolstadt7": "ingolstadt7.rou.xml",
    "ingolstadt21": "ingolstadt21.rou.xml",
}


@pytest.mark.parametrize("name", RESCO_ROUTES)
def test_all_resco_route_files_are_demand_twin_reads(name):
    # Every element and attribute of the eight RESCO route files is read (or inert), up to
    # the network: four of their nets are not yet imported, so this stops before routes.
    path = RESCO / name / RESCO_ROUTES[name]
    if not path.exists():
        pytest.skip(f"{path} is not unpacked")
    demand = sumo._Demand(types={})
    sumo._read_route_file(path, demand, math.inf, rng())
    expected = {"arterial4x4": 2484, "grid4x4": 1473, "cologne1": 2015, "cologne3": 4494}
    expected |= {"cologne8": 2046, "ingolstadt1": 1716, "ingolstadt7": 3031}
    expected |= {"ingolstadt21": 4283}
    assert len(demand.pending) == expected[name]
    assert demand.skipped == {}
    for type_id in {p.vtype for p in demand.pending} - {sumo.DEFAULT_VTYPE}:
        demand.vehicle_type(type_id)  # each type used is one twin drives
    if name == "arterial4x4":
        assert {p.depart_pos for p in demand.pending} == {"random_free"}
        assert demand.vehicle_type("type1").emergency_decel_mps2 == 10.0  # max(9, decel)


def test_a_city_charges_each_class_its_own_fuel(fork, tmp_path):
    from models.signals.fixed_time import FixedTime
    from twin.core.world import World
    from twin.traffic.city import City

    net = read_net(fork)
    path = routes_file(
        tmp_path,
        '<vType id="bus" vClass="bus"/><vType id="ev" vClass="evehicle"/>'
        '<route id="r" edges="a b"/><vehicle id="car" depart="0" route="r"/>'
        '<vehicle id="bus" depart="20" type="bus" route="r"/>'
        '<vehicle id="ev" depart="40" type="ev" route="r"/>',
    )
    trips = read_routes(net, path)
    world = World(1, tick_s=60.0)
    city = City(world, net, trips, FixedTime(FixedTime.Params()), step_s=1.0)
    world.run(300.0)
    kpis = city.kpis()
    assert kpis["trips_completed"].value == 3
    assert kpis["network_co2_kg"].description.startswith("HBEFA4 tailpipe CO2 of all vehicles")
    by_type = {trips.vtypes[int(t)].id: k for k, t in enumerate(trips.vtype)}
    veh = city.veh
    assert veh.fuel_mg[by_type["ev"]] == 0.0
    assert veh.co2_mg[by_type["ev"]] == 0.0
    assert veh.co2_mg[by_type["bus"]] > veh.co2_mg[by_type["DEFAULT_VEHTYPE"]] > 0
    assert city.fuel_carrier == ["petrol", "diesel", None]
    assert "network_fuel_l" not in kpis  # the network's fuel is the ledger's fuel_l
    assert world.ledger.fuel_l() > 0


def test_co2_with_sumos_default_class_agrees_with_sumo(tmp_path):
    # The fidelity test's 4x4 grid and 900 random trips, but no emissionClass in either
    # simulator: both charge SUMO 1.28's default HBEFA4/PC_petrol_Euro-4. Measured: SUMO
    # 274.5 kg, twin 274.1 kg (0.999, both at SUMO 1.28's depart defaults; 1.004 when both
    # departed at speed 0); as HBEFA3 twin's rule gives 0.943 (VALIDATION.md).
    from twin.core.registry import Registry
    from twin.core.run import simulate
    from twin.core.scenario import ScenarioConfig
    from twin.traffic.sumo_scenario import SumoNet
    from twin.traffic.sumo_tools import generate_grid, random_trips, run_sumo

    grid4 = generate_grid(tmp_path / "grid4.net.xml", columns=4, rows=4)
    routes = random_trips(grid4, tmp_path / "grid4.rou.xml", end_s=1800, period_s=2.0, seed=42)
    # Both at SUMO 1.28's depart defaults (speed "avg", lane "best_prob").
    sumo = run_sumo(grid4, routes, tmp_path / "sumo", end_s=3600, seed=42)
    registry = Registry()
    registry.register_scenario(SumoNet)
    config = ScenarioConfig(
        id="traffic/sumo-net-v0",
        horizon_s=3600,
        params={"net_file": str(grid4), "route_files": [str(routes)]},
    )
    result = simulate(config, "signals/fixed-time-v0", 42, registry=registry)
    ratio = result.kpis["trips_co2_kg"].value / sumo.trips.summary()["trips_co2_kg"]
    assert ratio == pytest.approx(1.0, abs=0.03)
    assert result.kpis["trips_co2_kg"].description == "HBEFA4 CO2 of finished trips (tripinfo)"


def test_the_scenario_draws_sumo_demand_from_its_stream_and_reports_persons(fork, tmp_path):
    from twin.core.registry import Registry
    from twin.core.run import simulate
    from twin.core.scenario import ScenarioConfig
    from twin.traffic.sumo_scenario import SumoNet

    path = routes_file(
        tmp_path,
        '<vTypeDistribution id="mix"><vType id="car" probability="3"/>'
        '<vType id="bus" vClass="bus" probability="1"/></vTypeDistribution>'
        '<routeDistribution id="d"><route id="e" edges="a b" probability="1"/>'
        '<route id="n" edges="a c" probability="1"/></routeDistribution>'
        '<person id="p" depart="0"><walk edges="a b"/></person>'
        '<flow id="f" begin="0" end="600" probability="0.2" type="mix" route="d"/>',
    )
    registry = Registry()
    registry.register_scenario(SumoNet)
    config = ScenarioConfig(
        id="traffic/sumo-net-v0",
        horizon_s=900,
        params={"net_file": str(fork), "route_files": [str(path)]},
    )

    def run(seed: int) -> tuple[float, dict]:
        with pytest.warns(SkippedDemandWarning):
            result = simulate(config, "signals/fixed-time-v0", seed, registry=registry)
        return result.kpis["trips_completed"].value, result.manifest["scenario_inputs"]

    trips, inputs = run(1)
    assert inputs["skipped"] == {"person": 1}
    assert within_binomial(int(trips), 600, 0.2)
    assert run(1)[0] == trips  # the same seed draws the same demand
    assert {run(seed)[0] for seed in (2, 3, 4)} != {trips}
