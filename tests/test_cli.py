"""The ``twin`` command as a user meets it: a run, and one clear line for every mistake."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.experiments.support import station_experiment
from tests.support import twin_in_process

GOOD = """
seed = 3

[scenario]
id = "station/mmc-v0"
horizon_s = 20000
warmup_s = 1000
sample_period_s = 5000

[scenario.params]
arrival_rate_per_s = 0.5
servers = 1
service = { kind = "exponential", mean = 1.0 }

[policy]
id = "admission/admit-all-v0"
"""


def twin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, as a user's shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "twin", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def twin_here(capsys, monkeypatch, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The same command run in this process: faster, for the many bad-input cases."""
    monkeypatch.chdir(cwd)
    return twin_in_process(capsys, *args)


def write(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_run_writes_kpis_timeseries_and_manifest(tmp_path):
    config = write(tmp_path, GOOD)
    done = twin("run", str(config), "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wait_mean_s" in done.stdout
    assert f"results: {tmp_path / 'out'}" in done.stdout
    kpis = pd.read_parquet(tmp_path / "out" / "kpis.parquet")
    assert {"kpi", "value", "unit"} == set(kpis.columns)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["seed"] == 3
    assert manifest["policy"]["id"] == "admission/admit-all-v0"
    assert len(manifest["config_hash"]) == 64
    assert set(pd.read_parquet(tmp_path / "out" / "timeseries.parquet")["time_s"]) == {
        5000.0,
        10000.0,
        15000.0,
        20000.0,
    }


def test_rerun_replaces_results_and_seed_can_be_overridden(tmp_path):
    config = write(tmp_path, GOOD)
    assert twin("run", str(config), "--out", "out", cwd=tmp_path).returncode == 0
    first = pd.read_parquet(tmp_path / "out" / "kpis.parquet")
    assert twin("run", str(config), "--out", "out", "--seed", "4", cwd=tmp_path).returncode == 0
    second = pd.read_parquet(tmp_path / "out" / "kpis.parquet")
    assert not first["value"].equals(second["value"])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["seed"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run.toml"]


def test_validate_and_list(tmp_path, capsys, monkeypatch):
    config = write(tmp_path, GOOD)
    done = twin_here(capsys, monkeypatch, "validate", str(config), cwd=tmp_path)
    assert done.returncode == 0
    assert "ok" in done.stdout
    listing = twin_here(capsys, monkeypatch, "list", cwd=tmp_path).stdout
    assert "station/mmc-v0" in listing
    assert "admission/queue-cap-v0" in listing


BAD_INPUTS = {
    "malformed TOML": ("seed = = 3", "malformed TOML"),
    "unknown top-level key": (GOOD + "\ncolour = 'red'\n", "unknown key 'colour'; allowed: "),
    "unknown scenario param": (
        GOOD.replace("servers = 1", "servers = 1\nserverz = 2"),
        "scenario.params: unknown key 'serverz'; allowed: arrival_rate_per_s",
    ),
    "value out of range": (
        GOOD.replace("servers = 1", "servers = 0"),
        "scenario.params.servers: Input should be greater than or equal to 1 (got 0)",
    ),
    "nested distribution out of range": (
        GOOD.replace("mean = 1.0", "mean = -1.0"),
        "scenario.params.service.mean: Input should be greater than 0",
    ),
    "unknown distribution kind": (
        GOOD.replace('kind = "exponential"', 'kind = "weibul"'),
        "scenario.params.service",
    ),
    "warm-up past the horizon": (
        GOOD.replace("warmup_s = 1000", "warmup_s = 30000"),
        "warmup_s (30000.0) must be less than horizon_s",
    ),
    "unknown scenario": (
        GOOD.replace("station/mmc-v0", "station/mmc-v9"),
        "scenario.id: unknown scenario 'station/mmc-v9'; known: ",
    ),
    "unknown policy": (
        GOOD.replace("admit-all-v0", "admit-some-v0"),
        "policy.id: unknown policy 'admission/admit-some-v0'; known: ",
    ),
    "bad policy param": (
        GOOD.replace(
            'id = "admission/admit-all-v0"',
            'id = "admission/queue-cap-v0"\nparams = { max_queue = -2 }',
        ),
        "policy.params.max_queue: Input should be greater than or equal to 0",
    ),
    "missing required key": (GOOD.replace("horizon_s = 20000", ""), "scenario.horizon_s: required"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path, capsys, monkeypatch, case, command
):
    text, expected = BAD_INPUTS[case]
    config = write(tmp_path, text)
    extra = ["--out", "out"] if command == "run" else []
    done = twin_here(capsys, monkeypatch, command, str(config), *extra, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"twin: {config}: ")
    assert expected in lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.toml"]


def test_missing_file_in_a_real_process_is_one_line_without_traceback(tmp_path):
    done = twin("run", "nowhere.toml", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "twin: nowhere.toml: no such file\n",
    )


def test_bad_arguments_are_user_errors_too(tmp_path, capsys, monkeypatch):
    done = twin_here(
        capsys, monkeypatch, "run", str(write(tmp_path, GOOD)), "--seed", "x", cwd=tmp_path
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "seed must be an integer" in done.stderr
    done = twin_here(capsys, monkeypatch, "frobnicate", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_existing_foreign_directory_is_not_overwritten(tmp_path, capsys, monkeypatch):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    done = twin_here(
        capsys, monkeypatch, "run", str(write(tmp_path, GOOD)), "--out", "mine", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "not a twin results directory" in done.stderr
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_a_single_run_can_be_given_on_the_command_line_alone(tmp_path, capsys, monkeypatch):
    args = ["run", "--scenario", "station/mmc-v0", "--params", '{"servers": 3}']
    args += ["--policy", "admission/queue-cap-v0", "--policy-params", '{"max_queue": 4}']
    args += ["--horizon-s", "20000", "--seed", "5", "--out", "out", "--quiet"]
    done = twin_here(capsys, monkeypatch, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario"]["params"] == {"servers": 3}
    assert manifest["scenario"]["horizon_s"] == 20000
    assert manifest["policy"]["id"] == "admission/queue-cap-v0"
    assert manifest["policy"]["params"]["max_queue"] == 4
    assert manifest["seed"] == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "station/mmc-v0", "--params", "{servers: 3}"], "--params: not valid JSON"),
        (["--scenario", "station/mmc-v0", "--params", "[3]"], "expected a JSON object"),
        (
            ["--scenario", "station/mmc-v0", "--params", '{"servers": 0}'],
            "<command line>: scenario.params.servers: Input should be greater than or equal to 1",
        ),
        (["--scenario", "nowhere/v0"], "<command line>: scenario.id: unknown scenario"),
        (["--scenario", "station/mmc-v0", "--policy-params", "{}"], "needs --policy"),
        ([], "needs a CONFIG file, or --scenario ID"),
    ],
)
def test_bad_command_line_runs_are_one_line_exit_2(tmp_path, capsys, monkeypatch, args, message):
    done = twin_here(capsys, monkeypatch, "run", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_config_file_and_inline_options_do_not_mix(tmp_path, capsys, monkeypatch):
    config = str(write(tmp_path, GOOD))
    for extra in (["--scenario", "station/mmc-v0"], ["--params", "{}"]):
        done = twin_here(capsys, monkeypatch, "run", config, *extra, cwd=tmp_path)
        assert done.returncode == 2
        assert "--scenario" in done.stderr or "goes with --scenario" in done.stderr


# Experiments: the same command, a config with arms.


def test_an_experiment_prints_its_headline_and_writes_a_report(tmp_path):
    config = station_experiment(tmp_path)
    done = twin("run", str(config), "--out", "exp", "--executor", "inprocess", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "admit-all" in done.stdout
    assert "cap-3" in done.stdout
    assert f"report: {tmp_path / 'exp' / 'report.html'}" in done.stdout
    for name in ("runs.parquet", "kpis.parquet", "manifest.json", "report.html", "report.md"):
        assert (tmp_path / "exp" / name).exists(), name
    (tmp_path / "exp" / "report.html").unlink()
    again = twin("report", "exp", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "exp" / "report.html").exists()


def test_an_experiment_with_failed_runs_finishes_and_exits_1(tmp_path, capsys, monkeypatch):
    arm = '[[arms]]\nname = "buggy"\npolicy = "tests.experiments.support:Explodes"\n'
    config = station_experiment(tmp_path, extra=arm)
    done = twin_here(
        capsys, monkeypatch, "run", str(config), "--out", "exp", "--executor", "inprocess",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "4 of 12 runs did not finish ok" in done.stderr
    assert "Traceback" not in done.stderr


EXPERIMENT_BAD_INPUTS = {
    "unknown baseline arm": ('[statistics]\nbaseline = "rtf"', "statistics.baseline: unknown arm"),
    "unknown KPI": ('[statistics]\nheadline = ["joy"]', "statistics.headline: unknown KPI 'joy'"),
    "empty grid": (
        '[design]\nkind = "grid"\nfactors = { "params.servers" = [] }',
        "grid factor 'params.servers' has no values",
    ),
}


@pytest.mark.parametrize("case", sorted(EXPERIMENT_BAD_INPUTS))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_experiment_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path, capsys, monkeypatch, case, command
):
    extra, expected = EXPERIMENT_BAD_INPUTS[case]
    config = station_experiment(tmp_path, extra=extra)
    args = ["--out", "out"] if command == "run" else []
    done = twin_here(capsys, monkeypatch, command, str(config), *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"twin: {config}: ")
    assert expected in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["experiment.toml"]


def test_too_few_replications_and_a_silent_scheduler_are_one_line(tmp_path, capsys, monkeypatch):
    config = station_experiment(tmp_path, replications="[replications]\ncount = 1")
    done = twin_here(capsys, monkeypatch, "run", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "replications.count: Input should be greater than or equal to 2" in done.stderr
    config = station_experiment(tmp_path)
    done = twin_here(
        capsys, monkeypatch, "run", str(config), "--out", "out", "--scheduler", "tcp://127.0.0.1:9",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "dask scheduler tcp://127.0.0.1:9 did not answer" in done.stderr
    assert not (tmp_path / "out").exists()


def test_batch_options_are_refused_for_a_single_run(tmp_path, capsys, monkeypatch):
    config = write(tmp_path, GOOD)
    done = twin_here(capsys, monkeypatch, "run", str(config), "--workers", "2", cwd=tmp_path)
    assert done.returncode == 2
    assert "--workers applies to experiment configs only" in done.stderr


def test_a_terminated_command_takes_the_program_it_waits_on_with_it(tmp_path):
    """SIGTERM (``timeout``, a CI runner, ``kill``) unwinds a twin command as an exception
    does, so ``subprocess.run`` kills the program it waits on (SUMO, in
    ``twin sumo-compare``) and the command exits 143; Python's default would end twin
    at once and leave the program running."""
    import os
    import signal
    import time

    script = tmp_path / "waits.py"
    script.write_text(
        "from twin.core.termination import run_to_completion, terminate_cleanly\n"
        "with terminate_cleanly():\n"  # as `twin` runs its command, and run_program SUMO:
        "    run_to_completion(['sh', '-c', 'echo $$; exec sleep 60'], capture=False)\n"
    )
    command = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert command.stdout is not None
    child = int(command.stdout.readline())
    os.kill(command.pid, signal.SIGTERM)
    assert command.wait(timeout=30) == 143
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        # a killed child not yet reaped by anyone shows as a zombie: gone for our purpose
        if "zombie" in Path(f"/proc/{child}/status").read_text().lower():
            break
        time.sleep(0.05)
    status = Path(f"/proc/{child}/status")
    assert not status.exists() or "zombie" in status.read_text().lower()
