"""``twin sumo-compare``: SUMO and twin on one user config, side by side."""

import json
from pathlib import Path

import pytest

from tests.test_cli import twin_here
from twin.traffic.compare import BANDS, COMPARED
from twin.traffic.sumo_tools import generate_grid, random_trips, read_statistics


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> Path:
    """A user's folder: a 2x2 signalised grid, 5 minutes of trips, a config naming both
    by relative paths (SUMO resolves them from the config's folder; so must twin)."""
    where = tmp_path_factory.mktemp("compare")
    net = generate_grid(where / "city.net.xml", columns=2, rows=2)
    random_trips(net, where / "city.rou.xml", end_s=300, period_s=4, seed=3)
    config = where / "city.sumocfg"
    config.write_text(
        "<configuration>\n"
        '  <input><net-file value="city.net.xml"/><route-files value="city.rou.xml"/></input>\n'
        '  <time><begin value="0"/><end value="900"/></time>\n'
        "</configuration>\n"
    )
    return config


def test_json_has_both_simulators_kpis_their_ratios_and_speeds(city, tmp_path, capsys, monkeypatch):
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(city), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for side in ("sumo", "twin"):
        assert set(COMPARED) <= set(report[side]["kpis"])
        assert report[side]["vehicle_updates"] > 0
        assert report[side]["updates_per_s"] > 0
    # 75 trips, every one finishes in 15 minutes in both simulators.
    assert report["sumo"]["kpis"]["trips_completed"] == 75
    assert report["twin"]["kpis"]["trips_completed"] == 75
    assert report["ratio"]["trips_completed"] == 1.0
    ratio = report["twin"]["kpis"]["time_loss_mean_s"] / report["sumo"]["kpis"]["time_loss_mean_s"]
    assert report["ratio"]["time_loss_mean_s"] == pytest.approx(ratio)
    assert report["speed_ratio"] == pytest.approx(
        report["twin"]["updates_per_s"] / report["sumo"]["updates_per_s"]
    )
    assert set(report["bands"]) == set(BANDS)


def test_table_names_every_kpi_and_the_speed(city, tmp_path, capsys, monkeypatch):
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(city), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in (*COMPARED, "vehicle updates per s"):
        assert name in done.stdout
    assert "twin/SUMO" in done.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("<routes/>", "configuration"),
        ("not xml at all", "XML"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path, capsys, monkeypatch, content, message):
    path = tmp_path / "bad.sumocfg"
    if content is not None:
        path.write_text(content)
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0]
    assert message in lines[0]


def test_a_file_the_config_lists_and_that_is_missing_is_named_in_one_line(
    city, tmp_path, capsys, monkeypatch
):
    """sumo-rl's 2way-single-intersection config lists a route file its package lacks:
    the line names the user's config, the option and the missing file, nothing else."""
    routes = tmp_path / "missing.rou.xml"
    config = tmp_path / "run.sumocfg"
    config.write_text(
        f'<configuration><net-file value="{city.parent / "city.net.xml"}"/>'
        f'<route-files value="{routes}"/></configuration>'
    )
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"twin: {config}: route-files: {routes}: no such file"


def test_twins_timed_run_loads_no_compiled_kernel(city, monkeypatch):
    # SUMO's count of its simulation loop leaves out its loading; twin's must too. A
    # kernel first called inside the timed run (a detector's) is loaded from Numba's
    # cache there: 0.02 s of RESCO cologne1's 0.07 s before the warm-up city had them.
    import numba.core.dispatcher

    from twin.traffic import compare
    from twin.traffic.sumocfg import read_sumocfg

    config = read_sumocfg(city)
    run = compare._prepare_twin(city, 0, compare.DEFAULT_POLICY, config.duration_s)
    compare._compile_kernel()
    loaded: list[str] = []
    load = numba.core.dispatcher.Dispatcher._compile_for_args

    def spy(self, *args, **kwargs):
        loaded.append(self.py_func.__qualname__)
        return load(self, *args, **kwargs)

    monkeypatch.setattr(numba.core.dispatcher.Dispatcher, "_compile_for_args", spy)
    side = compare._twin_side(run, config.end_s - config.begin_s)
    assert side.vehicle_updates > 0
    assert loaded == []


def test_sumos_unfinished_trips_written_by_the_config_are_not_counted_as_finished(
    city, tmp_path, capsys, monkeypatch
):
    """A config that asks SUMO to write tripinfo for the trips still driving or not yet
    departed at the end (``tripinfo-output.write-unfinished``, ``write-undeparted``)
    gets them with ``arrival="-1"``: they are no finished trips, so SUMO's count is its
    own statistics' ``arrived``."""
    config = city.parent / "unfinished.sumocfg"
    config.write_text(
        city.read_text()
        .replace('<end value="900"/>', '<end value="200"/>')
        .replace(
            "</configuration>",
            '  <output><tripinfo-output.write-unfinished value="true"/>'
            '<tripinfo-output.write-undeparted value="true"/></output>\n</configuration>',
        )
    )
    keep = tmp_path / "sumo-output"
    done = twin_here(
        capsys,
        monkeypatch,
        "sumo-compare",
        str(config),
        "--json",
        "--keep",
        str(keep),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    statistics = read_statistics(keep / "sumo" / "statistics.xml")
    arrived = int(statistics["vehicles"]["inserted"]) - int(statistics["vehicles"]["running"])
    assert 0 < report["sumo"]["kpis"]["trips_completed"] == arrived < 75


def test_a_config_for_a_traci_client_runs_sumo_alone(city, tmp_path, capsys, monkeypatch):
    """sumo-rl's ``*-traci.sumocfg`` set ``remote-port``: SUMO would wait for a client
    forever. The comparison runs SUMO without it, and says so."""
    from twin.traffic.sumo_tools import runnable_config

    config = city.parent / "traci.sumocfg"
    config.write_text(
        city.read_text().replace(
            "</configuration>", '  <remote-port value="8813"/>\n</configuration>'
        )
    )
    runnable, dropped = runnable_config(config, tmp_path / "copy")
    assert dropped == ("remote-port",)
    assert "remote-port" not in runnable.read_text()
    done = twin_here(capsys, monkeypatch, "sumo-compare", str(config), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "remote-port: makes SUMO wait for a TraCI client; SUMO runs without it" in done.stderr
    assert json.loads(done.stdout)["sumo"]["kpis"]["trips_completed"] == 75
