"""``traffic/sumo-net-v0`` through the ``twin`` command: a run, and one line per bad file."""

import json
import textwrap
import warnings
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from tests.test_cli import twin_here
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.traffic import sumo_scenario
from twin.traffic.sumo_scenario import PolicyNeverAskedWarning
from twin.traffic.sumo_tools import generate_grid, random_trips


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("city")
    net = generate_grid(where / "city.net.xml", columns=2, rows=2)
    routes = random_trips(net, where / "city.rou.xml", end_s=300, period_s=3, seed=3)
    return net, routes


def config(tmp_path: Path, net: Path | str, routes: Path | str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(
        textwrap.dedent(f"""\
        seed = 5

        [scenario]
        id = "traffic/sumo-net-v0"
        horizon_s = 900

        [scenario.params]
        net_file = "{net}"
        route_files = ["{routes}"]

        [policy]
        id = "signals/fixed-time-v0"
        """)
    )
    return path


def test_an_imported_city_runs_from_a_config(city, tmp_path, capsys, monkeypatch):
    net, routes = city
    run = config(tmp_path, net, routes)
    done = twin_here(capsys, monkeypatch, "run", str(run), "--out", "out", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    kpis = pd.read_parquet(tmp_path / "out" / "kpis.parquet")
    values = dict(zip(kpis["kpi"], kpis["value"], strict=True))
    assert values["trips_completed"] == 100  # one trip every 3 s for 300 s, all arrive
    assert values["trip_duration_mean_s"] > 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario"]["params"]["net_file"] == str(net)


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_network_file_that_is_not_a_sumo_net(city, tmp_path, capsys, monkeypatch, command):
    _, routes = city
    run = config(tmp_path, routes, routes)  # a route file where the network should be
    extra = ["--out", "out"] if command == "run" else []
    done = twin_here(capsys, monkeypatch, command, str(run), *extra, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"twin: {run}: scenario.params.net_file: ")
    assert f"{routes}: not a SUMO network (.net.xml): root element is <routes>" in line
    assert not (tmp_path / "out").exists()


def test_a_missing_network_file(city, tmp_path, capsys, monkeypatch):
    _, routes = city
    run = config(tmp_path, tmp_path / "nowhere.net.xml", routes)
    done = twin_here(capsys, monkeypatch, "validate", str(run), cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "scenario.params.net_file" in line
    assert "nowhere.net.xml: no such file" in line


def test_a_route_over_a_missing_edge(city, tmp_path, capsys, monkeypatch):
    net, routes = city
    bad = tmp_path / "bad.rou.xml"
    text = routes.read_text()
    start = text.index('edges="') + len('edges="')
    first_edge = text[start:].split()[0]
    bad.write_text(text.replace(f'edges="{first_edge} ', 'edges="Nowhere ', 1))
    run = config(tmp_path, net, bad)
    done = twin_here(capsys, monkeypatch, "run", str(run), "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"twin: {bad}: vehicle '0': route uses edge 'Nowhere'")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_command_line_run_of_a_sumocfg_lasts_its_window(city, tmp_path, capsys, monkeypatch):
    net, routes = city
    (tmp_path / "city.sumocfg").write_text(
        f'<configuration><net-file value="{net}"/><route-files value="{routes}"/>'
        '<begin value="60"/><end value="660"/></configuration>'
    )
    params = json.dumps({"sumocfg": "city.sumocfg"})
    args = ("run", "--scenario", "traffic/sumo-net-v0", "--params", params, "--out", "out")
    done = twin_here(capsys, monkeypatch, *args, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario"]["horizon_s"] == 600.0  # end - begin, not a day


def test_adaptive_greens_free_the_fixed_phases_of_a_static_programme_only():
    from twin.traffic.network import Phase, SignalProgram
    from twin.traffic.sumo_scenario import with_adaptive_greens

    static = Phase("GGrr", 10.0, min_green_s=10.0, max_green_s=10.0)
    long_static = Phase("rrGG", 70.0, min_green_s=70.0, max_green_s=70.0)
    actuated = Phase("GrGr", 20.0, min_green_s=8.0, max_green_s=40.0)
    program = SignalProgram((static, long_static, actuated))
    network = _one_signal_network(program)

    freed = with_adaptive_greens(network, 5.0, 50.0)

    phases = next(i.program for i in freed.intersections if i.program is not None).phases
    assert [(p.min_green_s, p.max_green_s) for p in phases] == [
        (5.0, 50.0),
        (5.0, 70.0),
        (8.0, 40.0),
    ]
    assert [p.green_s for p in phases] == [10.0, 70.0, 20.0]  # fixed-time unchanged


def _one_signal_network(program):
    import dataclasses

    from twin.traffic.network import grid

    network = grid(1, 1)
    intersections = tuple(
        dataclasses.replace(i, program=program) if i.program is not None else i
        for i in network.intersections
    )
    return dataclasses.replace(network, intersections=intersections)


@pytest.mark.parametrize("value", [[0, 50], [60, 50], [5, float("inf")]])
def test_adaptive_greens_must_be_a_range_of_seconds(value):
    from pydantic import ValidationError

    from twin.traffic.config import SumoNetParams

    with pytest.raises(ValidationError, match=r"must be \(min, max\) seconds with 0 < min <= max"):
        SumoNetParams(net_file=None, adaptive_green_s=value)


def test_a_policy_the_lights_would_never_ask_is_warned_about(tmp_path):
    """netconvert's guessed lights run static programmes: max-pressure would never be
    asked and its run would be the programme's; the run says so (the scenario's own
    fixed-time baseline, which only follows the programme, is not warned about), and
    with the phases given room it is asked."""
    net = generate_grid(tmp_path / "grid.net.xml", columns=2, rows=2)
    routes = random_trips(net, tmp_path / "grid.rou.xml", end_s=120, period_s=4, seed=1)
    params = {"net_file": str(net), "route_files": [str(routes)]}

    def run(policy, **extra):
        config = ScenarioConfig(id="traffic/sumo-net-v0", params={**params, **extra}, horizon_s=300)
        return simulate(config, policy, 1)

    with pytest.warns(PolicyNeverAskedWarning, match="adaptive_green_s = \\[5, 50\\]"):
        result = run("signals/max-pressure-v0")
    assert result.kpis["signal_decisions"].value == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolicyNeverAskedWarning)
        run("signals/fixed-time-v0")
        asked = run("signals/max-pressure-v0", adaptive_green_s=[5, 50])
    assert asked.kpis["signal_decisions"].value > 0


def built_cities(monkeypatch, files: dict[str, object], seeds: tuple[int, ...]) -> tuple[list, int]:
    """The cities of runs of ``files`` on ``seeds``, and how often the demand was read."""
    monkeypatch.setattr(sumo_scenario, "_trip_tables", {})  # nothing read before
    reads = []
    real = sumo_scenario.read_routes

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sumo_scenario, "read_routes", counting)
    config = ScenarioConfig(id="traffic/sumo-net-v0", params=files, horizon_s=300)
    cities = [prepare_run(config, "signals/fixed-time-v0", seed).scenario.city for seed in seeds]
    return cities, len(reads)


def test_demand_that_draws_nothing_is_read_once_and_every_run_owns_its_copy(city, monkeypatch):
    net, routes = city
    files = {"net_file": str(net), "route_files": [str(routes)]}
    (first, second), reads = built_cities(monkeypatch, files, (1, 2))
    assert reads == 1
    assert first.network is second.network  # one import, one set of arrays
    assert first.arrays is second.arrays
    np.testing.assert_array_equal(first.veh.depart_s, second.veh.depart_s)
    first.veh.depart_s[:] = -1.0  # what a run may do to its own trips
    (third,), reads = built_cities(monkeypatch, files, (3,))
    np.testing.assert_array_equal(third.veh.depart_s, second.veh.depart_s)


def test_demand_that_draws_is_read_at_every_build_with_the_runs_own_draws(
    city, tmp_path, monkeypatch
):
    net, routes = city
    route = next(ET.parse(routes).iter("route")).get("edges")
    flows = tmp_path / "flows.rou.xml"
    flows.write_text(
        f'<routes><route id="r" edges="{route}"/>'
        '<flow id="f" route="r" begin="0" end="300" probability="0.3"/></routes>\n'
    )
    files = {"net_file": str(net), "route_files": [str(flows)]}
    (one, other, again), reads = built_cities(monkeypatch, files, (1, 2, 1))
    assert reads == 3
    assert not np.array_equal(one.veh.depart_s, other.veh.depart_s)
    np.testing.assert_array_equal(one.veh.depart_s, again.veh.depart_s)
