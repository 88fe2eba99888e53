"""The network and demand data model, and bad input as one clear line (exit 2)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from twin.cli import main
from twin.traffic.demand import DemandError, RateProfile, Router, check_route, poisson_trips
from twin.traffic.network import NetworkError, Phase, SignalProgram, check_program, grid


def test_grid_has_four_legs_everywhere_and_sumo_like_programmes():
    net = grid(3, 4)
    net.validate()
    assert len(net.intersections) == 12
    assert len(net.entry_edges) == len(net.exit_edges) == 2 * (3 + 4)
    for inter in net.intersections:
        assert len(inter.movements) == 12  # 4 approaches x (right, straight, left)
        assert np.array_equal(inter.foes, inter.foes.T)
        assert inter.program is not None
        assert inter.program.cycle_s == 90.0
        for phase in inter.program.phases:
            assert inter.conflicting_greens(phase.state) == []
        # Each approach's straight crosses both straights of the other axis.
        turns = [net.movements[m].turn for m in inter.movements]
        straight = [k for k, t in enumerate(turns) if t == "s"]
        assert sum(inter.foes[straight[0], j] for j in straight) == 2


def test_a_programme_with_conflicting_greens_is_refused_in_one_line():
    inter = grid(1, 1).intersections[0]
    with pytest.raises(NetworkError, match="conflicting greens") as info:
        check_program(inter, SignalProgram((Phase("G" * 12, 30.0),)))
    assert "\n" not in str(info.value)


def test_the_response_not_the_letter_decides_who_yields():
    """A left turn shown 'G' with the oncoming straight is safe: the junction's response
    makes it yield, whatever its letter (the kernel waits for the foe). Two straights
    crossing at 'G' are not: neither yields."""
    inter = grid(1, 1).intersections[0]
    ns_phase = inter.program.phases[0].state
    assert "g" in ns_phase
    check_program(inter, SignalProgram((Phase(ns_phase.replace("g", "G"), 30.0),)))
    # Where two links yield to each other (netconvert's rules for a light switched
    # off), the major letter goes first: 'G' over 's', and 'G' with 'G' conflicts.
    left = ns_phase.index("g")
    (straight,) = [j for j in np.flatnonzero(inter.yields[left]) if ns_phase[j] == "G"][:1]
    mutual = inter.yields.copy()
    mutual[straight, left] = True
    both = type(inter)(inter.id, inter.node, inter.movements, inter.foes, mutual)
    assert both.conflicting_greens(ns_phase.replace("g", "s")) == []
    assert (min(left, straight), max(left, straight)) in both.conflicting_greens(
        ns_phase.replace("g", "G")
    )


def test_sumo_letters_are_kept():
    program = SignalProgram.from_sumo(
        [("GsrO", 30, None, None), ("ysrO", 3, None, None), ("rGso", 30, None, None)]
    )
    assert [p.state for p in program.phases] == ["GsrO", "rGso"]
    assert program.phases[0].yellow_s == 3


def test_from_sumo_groups_green_yellow_and_all_red():
    program = SignalProgram.from_sumo(
        [("GGgrrr", 31, 5, 50), ("yyyrrr", 4, None, None), ("rrrrrr", 2, None, None),
         ("rrrGGg", 31, 5, 50), ("rrryyy", 4, None, None)]
    )  # fmt: skip
    assert [p.state for p in program.phases] == ["GGgrrr", "rrrGGg"]
    assert program.phases[0].yellow_s == 4
    assert program.phases[0].all_red_s == 2
    assert program.phases[1].all_red_s == 0
    assert program.cycle_s == 72


def test_routes_are_cached_shortest_paths_and_bad_routes_are_refused():
    net = grid(3, 3)
    router = Router(net)
    o, d = net.edge_index("FW0_J0_0"), net.edge_index("J0_2_FE0")
    route = router.route(o, d)
    assert router.route(o, d) is route
    assert [net.edges[e].id for e in route] == ["FW0_J0_0", "J0_0_J0_1", "J0_1_J0_2", "J0_2_FE0"]
    check_route(net, route)
    with pytest.raises(DemandError, match="no movement joins"):
        check_route(net, [o, d])
    with pytest.raises(DemandError, match="does not exist"):
        check_route(net, [o, 10_000])


def test_poisson_demand_has_the_rate_of_its_profile():
    net = grid(2, 2)
    profile = RateProfile((0.0, 1800.0), (0.5, 1.5))
    trips = poisson_trips(net, profile, 3600.0, np.random.default_rng(1))
    expected = profile.expected_trips(3600.0)  # 3600 trips
    assert abs(len(trips) - expected) < 4 * expected**0.5
    late = np.sum(trips.depart_s >= 1800)
    assert abs(late / len(trips) - 0.75) < 0.05
    assert np.all(np.diff(trips.depart_s) >= 0)
    assert set(trips.origin) <= set(net.entry_edges)
    assert set(trips.destination) <= set(net.exit_edges)
    with pytest.raises(DemandError, match=">= 0"):
        RateProfile((0.0,), (-1.0,))


GOOD = """
seed = 3
[scenario]
id = "traffic/grid4x4-v0"
horizon_s = 300
[policy]
id = "signals/fixed-time-v0"
"""

BAD = {
    "negative rate": (
        GOOD + "[scenario.params.demand]\nrates_per_s = [-0.5]\n",
        "a trip rate must be >= 0",
    ),
    "route over a missing edge": (
        GOOD + '[[scenario.params.routes]]\nedges = ["FW0_J0_0", "J0_0_J9_9"]\n',
        "routes[0]: unknown edge 'J0_0_J9_9'",
    ),
    "route over edges that do not meet": (
        GOOD + '[[scenario.params.routes]]\nedges = ["FW0_J0_0", "J3_3_FE3"]\n',
        "no movement joins them",
    ),
    "conflicting greens": (
        GOOD + '[[scenario.params.programs."*"]]\nstate = "GGGGGGGGGGGG"\ngreen_s = 30\n',
        "conflicting greens",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_traffic_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    text, expected = BAD[case]
    config = tmp_path / "run.toml"
    config.write_text(textwrap.dedent(text))
    code = main(["validate", str(config)])
    _out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"twin: {config}: scenario.params")
    assert expected in lines[0]
    assert "Traceback" not in err
