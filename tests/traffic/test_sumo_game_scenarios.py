"""SUMO's own game scenarios (``tools/game`` of the eclipse-sumo wheel) through
``twin sumo-compare``: each one runs, or ends in one line that names the file, the element
or option and what twin supports (exit 2); never a traceback, never a silent drop.

The game configs are written for ``sumo-gui`` and the TraCI-driven games: GUI-only
options, ``<add>`` additional files holding output elements, switched-off lights, persons.
"""

import json
import math
from pathlib import Path

import pytest

from tests.test_cli import twin_here
from twin.traffic.compare import Comparison, Side
from twin.traffic.sumo_additional import read_additional
from twin.traffic.sumo_tools import generate_grid, random_trips, runnable_config, sumo_home

pytest.importorskip("sumo")

GAME = sumo_home() / "tools" / "game"
CONFIGS = sorted(GAME.rglob("*.sumocfg"))
SHOWN = ("trips_completed", "trip_duration_mean_s", "time_loss_mean_s", "trips_co2_kg")


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """A 2x2 signalised grid with two minutes of trips."""
    where = tmp_path_factory.mktemp("game")
    net = generate_grid(where / "city.net.xml", columns=2, rows=2)
    random_trips(net, where / "city.rou.xml", end_s=120, period_s=4, seed=3)
    return where


def config(where: Path, extra: str = "", additional: str = "") -> Path:
    path = where / "city.sumocfg"
    files = f'<additional-files value="{additional}"/>' if additional else ""
    path.write_text(
        "<configuration>\n"
        f'  <input><net-file value="city.net.xml"/><route-files value="city.rou.xml"/>{files}'
        "</input>\n"
        f'  <time><end value="600"/></time>{extra}\n'
        "</configuration>\n"
    )
    return path


def test_an_additional_file_rooted_add_is_read_as_sumo_reads_it(tmp_path):
    """SUMO does not check an additional file's root element (the game scenarios'
    ``input_additional.add.xml`` is an ``<add>``): twin reads its elements."""
    path = tmp_path / "input.add.xml"
    path.write_text(
        '<add>\n  <edgeData id="dump" file="netstate.xml"/>\n'
        '  <timedEvent type="SaveTLSSwitchStates" dest="tls.xml"/>\n</add>\n'
    )
    with pytest.warns(UserWarning, match="skipped 1 <edgeData>, 1 <timedEvent>"):
        additional = read_additional([path])
    assert additional.skipped == {"edgeData": 1, "timedEvent": 1}


def test_a_network_given_as_additional_file_is_refused_in_one_line(tmp_path):
    path = tmp_path / "city.net.xml"
    path.write_text("<net/>")
    with pytest.raises(Exception, match=r"root element is <net>: a SUMO network"):
        read_additional([path])


def test_a_sumo_gui_option_is_left_out_of_sumos_run_with_one_warning(city, capsys, monkeypatch):
    """``osg-view`` (sumo-gui's 3D view, set by the bs3d game) is unknown to ``sumo``,
    which would stop on it: SUMO runs a copy of the config without it, and says so."""
    path = config(city, "<gui_only><osg-view value='true'/></gui_only>")
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(path), "--json", cwd=city)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"twin: warning: {path}: osg-view: not an option of SUMO's command-line binary "
        "(sumo-gui's own); SUMO runs without it"
    ]
    report = json.loads(done.stdout)
    assert report["sumo"]["kpis"]["trips_completed"] == 30  # every trip of 2 minutes
    assert report["twin"]["kpis"]["trips_completed"] == 30


def test_the_copy_sumo_runs_has_absolute_file_options_and_no_gui_option(city, tmp_path):
    path = config(city, "<gui_only><osg-view value='true'/></gui_only>")
    copy, dropped = runnable_config(path, tmp_path / "sumo")
    assert dropped == ("osg-view",)
    assert copy == tmp_path / "sumo" / "city.sumocfg"
    text = copy.read_text()
    assert "osg-view" not in text
    assert f'value="{city.resolve() / "city.net.xml"}"' in text
    assert runnable_config(copy, tmp_path / "again") == (copy, ())  # nothing left to drop


def test_the_copy_reads_options_given_by_v_as_the_config_reader_does(city, tmp_path):
    """SUMO takes ``v`` for ``value``; the copy makes such a file option absolute in
    the same attribute (a second ``value`` would set the option twice)."""
    path = city / "short.sumocfg"
    path.write_text(
        '<c><net v="city.net.xml"/><route-files v="city.rou.xml"/><osg-view v="true"/></c>'
    )
    copy, dropped = runnable_config(path, tmp_path / "sumo")
    assert dropped == ("osg-view",)
    text = copy.read_text()
    assert f'v="{city.resolve() / "city.net.xml"}"' in text
    assert "value=" not in text


def test_a_speed_ratio_without_sumos_count_is_nan_not_an_error():
    """SUMO's statistics can report 0 vehicle updates per second on a short run."""
    sumo = Side({}, vehicle_updates=0, wall_s=0.08)
    twin = Side({}, vehicle_updates=1000, wall_s=0.01)
    comparison = Comparison("city.sumocfg", 0, "signals/fixed-time-v0", sumo, twin)
    assert math.isnan(comparison.speed_ratio())
    assert "vehicle updates per s" in comparison.table()
    assert math.isnan(comparison.as_json()["speed_ratio"])


def test_a_file_twin_refuses_is_refused_before_sumo_runs(city, capsys, monkeypatch):
    """twin reads every file before SUMO runs: a refusal costs no SUMO run."""
    add = city / "parking.add.xml"
    add.write_text(
        '<additional><parkingArea id="p1" lane="x_0" startPos="0" endPos="10"/></additional>'
    )
    path = config(city, additional="parking.add.xml")
    calls = []
    monkeypatch.setattr("twin.traffic.compare.run_sumo_config", lambda *a, **k: calls.append(a))
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(path), cwd=city)
    assert done.returncode == 2
    assert calls == []
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{add}: parkingArea 'p1': <parkingArea> is not supported" in lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(GAME)) for p in CONFIGS])
def test_game_config_runs_or_is_refused_in_one_line(path, tmp_path, capsys, monkeypatch):
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(path), "--json", cwd=tmp_path)
    assert done.returncode in (0, 2), done.stderr
    *warned, last = done.stderr.strip().splitlines() or [""]
    # What twin skips is said, one line each (never silently dropped).
    assert all(line.startswith("twin: warning: /") for line in warned), done.stderr
    if done.returncode == 2:
        assert done.stdout == ""
        assert last.startswith("twin: /"), done.stderr  # one line, naming the file
        print(f"\n{path.name}: refused: {last}")
        return
    ratio = json.loads(done.stdout)["ratio"]
    shown = ", ".join(f"{k} {ratio[k]:.3f}" for k in SHOWN)
    print(f"\n{path.name}: runs; twin/SUMO {shown}")
