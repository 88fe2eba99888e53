"""Hostile inputs: every bad config or command line is one line on stderr, exit 2, no
traceback and nothing written; one case per class of failure found by the fuzz of
issue 21, then a fuzz of our own over the config schema and the command line."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import twin_in_process
from twin.cli import main
from twin.core.policy import BasePolicy
from twin.station import StationAction, StationObservation

HORIZON_S = 2000.0
GOOD = {
    "seed": 3,
    "scenario": {
        "id": "station/mmc-v0",
        "horizon_s": HORIZON_S,
        "warmup_s": 100.0,
        "sample_period_s": 500.0,
        "params": {
            "arrival_rate_per_s": 0.5,
            "servers": 1,
            "service": {"kind": "exponential", "mean": 1.0},
            "server_busy_power_kw": 7.5,
            "electricity_price_per_kwh": 0.15,
        },
    },
    "policy": {"id": "admission/admit-all-v0"},
}


def toml_value(value: object) -> str:
    """A value as TOML writes it (the subset the cases need)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, repr(value))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Nested):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def to_toml(config: dict[str, object]) -> str:
    """``config`` as TOML: top-level scalars, then one table per mapping (nested once)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, object]]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {toml_value(value)}")
    for name, table in tables:
        lines.append(f"[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def with_value(path: str, value: object) -> dict[str, object]:
    """A copy of GOOD with the key at dotted ``path`` set to ``value``."""
    import copy

    config = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: dict[str, object] = config
    for part in parents:
        node = node[part]  # type: ignore[assignment]
    node[last] = value
    return config


def twin_here(capsys, *args: str) -> subprocess.CompletedProcess[str]:
    """``twin ARGS`` in this process: the exit code, stdout and stderr."""
    return twin_in_process(capsys, *args)


def assert_one_line_refusal(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    for word in words:
        assert word in done.stderr


CONFIG_CASES = {
    "inf price": (with_value("scenario.params.electricity_price_per_kwh", float("inf")),
                  ["scenario.params.electricity_price_per_kwh", "finite"]),
    "1e308 power": (with_value("scenario.params.server_busy_power_kw", 1e308),
                    ["scenario.params.server_busy_power_kw", "too large"]),
    "1e308 horizon": (with_value("scenario.horizon_s", 1e308), ["scenario.horizon_s", "too large"]),
    "1e308 arrival rate": (with_value("scenario.params.arrival_rate_per_s", 1e308),
                           ["scenario.params.arrival_rate_per_s", "too large"]),
    "bool sample period": (with_value("scenario.sample_period_s", True),
                           ["scenario.sample_period_s", "valid number"]),
    "string server count": (with_value("scenario.params.servers", "2"),
                            ["scenario.params.servers", "valid integer"]),
    "float server count": (with_value("scenario.params.servers", 2.0),
                           ["scenario.params.servers", "valid integer"]),
    "module printing on import": (with_value("policy.id", "this:Zen"),
                                  ["policy.id", "printed", "not shown"]),
}  # fmt: skip


@pytest.mark.parametrize(("config", "words"), CONFIG_CASES.values(), ids=CONFIG_CASES)
def test_a_bad_config_value_is_one_line_naming_its_key(capsys, tmp_path, config, words):
    path = tmp_path / "run.toml"
    path.write_text(to_toml(config))
    done = twin_here(capsys, "run", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert_one_line_refusal(done, str(path), *words)
    assert not (tmp_path / "out").exists()


def test_the_config_tables_the_cases_write_make_a_good_run(capsys, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(to_toml(GOOD))
    done = twin_here(capsys, "run", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "kpis.parquet").exists()


def test_arrays_nested_800_deep_in_toml_are_refused_before_parsing(capsys, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("x = " + "[" * 800 + "]" * 800 + "\n")
    done = twin_here(capsys, "run", str(path))
    assert_one_line_refusal(done, str(path), "nested 800 levels deep; at most 32")


LINE_CASES = {
    "Infinity in --params": (
        ["--params", '{"arrival_rate_per_s": Infinity}'],
        ["--params", "Infinity", "finite"],
    ),
    "NaN in --policy-params": (
        ["--policy", "admission/admit-all-v0", "--policy-params", '{"x": NaN}'],
        ["--policy-params", "NaN"],
    ),
    "1e308 in --params": (
        ["--params", '{"arrival_rate_per_s": 1e308}'],
        ["<command line>: scenario.params.arrival_rate_per_s", "too large"],
    ),
    "--params nested 1000 deep": (
        ["--params", '{"a": ' + "[" * 1000 + "]" * 1000 + "}"],
        ["--params", "nested"],
    ),
    "a bool where an integer is due": (
        ["--params", '{"servers": true}'],
        ["scenario.params.servers", "valid integer"],
    ),
}


@pytest.mark.parametrize(("arguments", "words"), LINE_CASES.values(), ids=LINE_CASES)
def test_a_bad_command_line_value_is_one_line(capsys, tmp_path, arguments, words):
    out = tmp_path / "out"
    done = twin_here(
        capsys, "run", "--scenario", "station/mmc-v0", "--horizon-s", "100", "--out", str(out),
        *arguments,
    )  # fmt: skip
    assert_one_line_refusal(done, *words)
    assert not out.exists()


def _out_cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    file = tmp_path / "a-file"
    file.write_text("not a directory\n")
    return {
        "under a regular file": (str(file / "out"), "which is a file"),
        "under /proc": ("/proc/twin-results", "cannot create a directory in '/proc'"),
        "a name too long": (str(tmp_path / ("a" * 300)), "too long"),
        "not encodable": (str(tmp_path) + "/\udcff\udcfe", "cannot be encoded"),
    }


@pytest.mark.parametrize(
    "case", ["under a regular file", "under /proc", "a name too long", "not encodable"]
)
def test_an_unwritable_out_is_refused_before_any_work(capsys, tmp_path, case):
    out, words = _out_cases(tmp_path)[case]
    # A horizon of 10 simulated years would take minutes: the refusal must come first.
    done = twin_here(
        capsys, "run", "--scenario", "station/mmc-v0", "--horizon-s", "3e8", "--out", out
    )
    assert_one_line_refusal(done, "--out", words)


def test_a_model_file_that_is_a_device_is_refused_naming_the_key(capsys, tmp_path):
    for device in ("/dev/zero", "/proc/self/environ"):
        done = twin_here(
            capsys, "run", "--scenario", "factory/flowline-v0", "--horizon-s", "100",
            "--policy", "maintenance/predictive-v0",
            "--policy-params", f'{{"model_path": "{device}"}}', "--out", str(tmp_path / "out"),
        )  # fmt: skip
        assert_one_line_refusal(
            done, "policy.params.model_path", device, "not a model file: not a regular file"
        )


SUMO_FILES = {
    "a missing net_file": (
        '{"net_file": "/nonexistent.net.xml", "route_files": ["/none.rou.xml"]}',
        "scenario.params.net_file",
    ),
    "a missing route file": ('{"route_files": ["/none.rou.xml"]}', "scenario.params.route_files"),
}


@pytest.mark.parametrize(("params", "key"), SUMO_FILES.values(), ids=SUMO_FILES)
def test_a_missing_sumo_file_names_its_key(capsys, params, key):
    done = twin_here(
        capsys, "run", "--scenario", "traffic/sumo-net-v0", "--horizon-s", "100", "--params", params
    )
    assert_one_line_refusal(done, key, "no such file")


def test_a_scheduler_that_is_not_an_address_is_refused_before_connecting(capsys, tmp_path):
    config = Path(__file__).parent.parent / "experiments" / "station_admission.toml"
    done = twin_here(
        capsys, "run", str(config), "--scheduler", "not an address!", "--out", str(tmp_path / "o")
    )
    assert_one_line_refusal(done, "--scheduler", "not a Dask scheduler address", "HOST:PORT")
    assert not (tmp_path / "o").exists()


def test_an_experiment_output_flag_that_is_a_word_is_refused(capsys, tmp_path):
    config = Path(__file__).parent.parent / "experiments" / "station_admission.toml"
    data = config.read_text() + '\n[output]\ntimeseries = "yes"\n'
    if "[output]" in config.read_text():
        pytest.skip("the shipped config has its own [output] table")
    path = tmp_path / "experiment.toml"
    path.write_text(data)
    done = twin_here(capsys, "validate", str(path))
    assert_one_line_refusal(done, "output.timeseries", "valid boolean", "'yes'")


class AnswersNonsense(BasePolicy[StationObservation, StationAction]):
    """Answers with a word where the station expects ADMIT or REJECT."""

    id: ClassVar[str] = "broken/nonsense-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        return "maybe"  # type: ignore[return-value]


RUNTIME_CASES = {
    "a policy that raises": (
        "tests.testing.broken:CrashesOnEmptyQueue",
        ["policy 'broken/empty-queue-v0' failed at t = ", "ZeroDivisionError: division by zero"],
    ),
    "a policy that answers an invalid action": (
        "tests.test_hostile_inputs:AnswersNonsense",
        ["policy 'broken/nonsense-v0' failed at t = ", "maybe"],
    ),
}


@pytest.mark.parametrize(("policy", "words"), RUNTIME_CASES.values(), ids=RUNTIME_CASES)
def test_a_failing_policy_ends_the_run_with_one_line_and_exit_3(
    capsys, tmp_path, monkeypatch, policy, words
):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    out = tmp_path / "out"
    arguments = ["run", "--scenario", "station/mmc-v0", "--horizon-s", "1000"]
    done = twin_here(capsys, *arguments, "--policy", policy, "--out", str(out))
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    for word in words:
        assert word in done.stderr
    assert "last observation: StationObservation(now_s=" in done.stderr
    replay = shlex.join(["twin", *arguments, "--policy", policy, "--out", str(out), "--debug"])
    assert done.stderr.endswith(f"; replay: {replay}\n")
    assert not out.exists()


def test_the_replay_line_keeps_the_pythonpath_a_policy_module_was_found_on(
    capsys, tmp_path, monkeypatch
):
    # `PYTHONPATH=. twin run --policy broken:Broken` from the policy's folder: the line
    # pasted without the PYTHONPATH fails with "No module named 'broken'".
    monkeypatch.setenv("PYTHONPATH", ". extra")
    out = tmp_path / "out"
    arguments = ["run", "--scenario", "station/mmc-v0", "--horizon-s", "1000", "--out", str(out)]
    policy = "tests.testing.broken:CrashesOnEmptyQueue"
    done = twin_here(capsys, *arguments, "--policy", policy)
    assert done.returncode == 3
    replay = shlex.join(["twin", *arguments, "--policy", policy, "--debug"])
    assert done.stderr.endswith(f"; replay: PYTHONPATH='. extra' {replay}\n")


def test_a_policy_that_never_answers_ends_the_run_with_one_line_and_exit_3(capsys, tmp_path):
    out = tmp_path / "out"
    arguments = ["run", "--scenario", "station/mmc-v0", "--horizon-s", "1000"]
    policy = ["--policy", "tests.testing.broken:NeverAnswers", "--decision-timeout-s", "0.3"]
    done = twin_here(capsys, *arguments, *policy, "--out", str(out))
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("twin: policy 'broken/never-answers-v0' failed at t = ")
    assert ": did not answer within 0.3 s; last observation: StationObservation(" in done.stderr
    replay = shlex.join(["twin", *arguments, *policy, "--out", str(out), "--debug"])
    assert done.stderr.endswith(f"; replay: {replay}\n")
    assert not out.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # no staging left


def test_debug_shows_the_traceback_before_the_line(capsys, tmp_path):
    done = twin_here(
        capsys, "run", "--scenario", "station/mmc-v0", "--horizon-s", "1000", "--debug",
        "--policy", "tests.testing.broken:CrashesOnEmptyQueue", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 3
    traceback, line = done.stderr.rstrip("\n").rsplit("\n", 1)
    assert traceback.startswith("Traceback")
    assert "obs.busy_servers / obs.queue_length" in traceback
    assert line.startswith("twin: policy 'broken/empty-queue-v0' failed")


def test_a_failed_run_leaves_the_previous_results_untouched(capsys, tmp_path):
    out = tmp_path / "out"
    good = ["run", "--scenario", "station/mmc-v0", "--horizon-s", "1000", "--out", str(out)]
    assert twin_here(capsys, *good).returncode == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    policy = "tests.testing.broken:CrashesOnEmptyQueue"
    assert twin_here(capsys, *good, "--policy", policy).returncode == 3
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]  # no staging left


# The fuzz: a valid config mutated at one key (or a hostile --out), run through the CLI in
# this process. Whatever the mutation, the answer is a run (exit 0, the input happened to
# be valid) or one line and exit 2, with nothing written.


def leaf_paths(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of ``node``, tables included."""
    paths: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            paths.append((*prefix, key))
            paths += leaf_paths(value, (*prefix, key))
    return paths


KEY_PATHS = leaf_paths(GOOD)


@dataclass(frozen=True)
class Nested:
    """``[[...[1]...]]``, ``depth`` deep: written as text, since neither hypothesis's
    printer nor the json module can recurse that deep."""

    depth: int

    @property
    def text(self) -> str:
        return "[" * self.depth + "1" + "]" * self.depth


def to_json(value: object) -> str:
    text = json.dumps(value, default=lambda nested: f"@nested{nested.depth}@")
    return re.sub(r'"@nested(\d+)@"', lambda match: Nested(int(match[1])).text, text)


HOSTILE_VALUES = st.one_of(
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e308, -1e308, 1e16]),
    st.floats(min_value=1e16, max_value=1e300),
    st.sampled_from(["yes", "true", "1", "", "1e308", "inf", "/dev/zero", "this:Zen"]),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=-1),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "kind", "mean"]), st.integers(0, 3), max_size=2),
    st.builds(Nested, st.integers(min_value=33, max_value=1000)),
)


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, object]:
    import copy

    config = copy.deepcopy(GOOD)
    path = draw(st.sampled_from(KEY_PATHS))
    node: dict[str, object] = config
    for part in path[:-1]:
        node = node[part]  # type: ignore[assignment]
    mutation = draw(st.sampled_from(["value", "unknown key", "remove"]))
    if mutation == "value":
        node[path[-1]] = draw(HOSTILE_VALUES)
    elif mutation == "unknown key":
        node[draw(st.sampled_from(["colour", "horizon", "servers_", "ID"]))] = 1
    else:
        del node[path[-1]]
    return config


def run_in_process(*args: str) -> tuple[int, str]:
    """``twin ARGS`` here: the exit code and stderr (capsys cannot span hypothesis examples)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code
    return int(code or 0), err.getvalue()


def assert_refused_or_run(code: int, stderr: str, out: Path) -> None:
    assert "Traceback" not in stderr
    if code == 0:
        return
    assert code == 2, stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.endswith("\n")
    assert not out.exists()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=mutated_configs())
def test_fuzz_a_mutated_config_is_run_or_refused_in_one_line(config):
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "run.toml"
        path.write_text(to_toml(config))
        out = Path(scratch) / "out"
        code, stderr = run_in_process("run", str(path), "--out", str(out), "--quiet")
        assert_refused_or_run(code, stderr, out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.dictionaries(
        st.sampled_from(["arrival_rate_per_s", "servers", "service", "capacity", "nope"]),
        HOSTILE_VALUES,
        min_size=1,
        max_size=2,
    ),
    out_name=st.one_of(
        st.just("out"),
        st.text(min_size=1, max_size=300).filter(lambda name: "/" not in name and "\0" not in name),
    ),
)
def test_fuzz_hostile_command_lines_are_refused_in_one_line(params, out_name):
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / out_name
        code, stderr = run_in_process(
            "run", "--scenario", "station/mmc-v0", "--horizon-s", "100", "--quiet",
            "--params", to_json(params), "--out", str(out),
        )  # fmt: skip
        assert_refused_or_run(code, stderr, out)


HANGS = {
    "a horizon of 1e15 s": ["--horizon-s", "1e15"],
    "1e14 arrivals a second": ["--horizon-s", "1000", "--params", '{"arrival_rate_per_s": 1e14}'],
}


@pytest.mark.parametrize("arguments", HANGS.values(), ids=HANGS)
def test_a_run_that_would_never_end_is_refused_up_front(capsys, tmp_path, arguments):
    out = tmp_path / "out"
    started = time.perf_counter()
    done = twin_here(capsys, "run", "--scenario", "station/mmc-v0", *arguments, "--out", str(out))
    assert time.perf_counter() - started < 30
    assert_one_line_refusal(done, "<command line>: scenario.horizon_s: this run would", "days")
    assert not out.exists()


def test_a_run_estimated_past_an_hour_says_so_before_it_starts(capsys, monkeypatch, tmp_path):
    import twin.cli

    monkeypatch.setattr(twin.cli, "LONG_RUN_S", 0.0)  # every run is "long"
    done = twin_here(capsys, "run", "--scenario", "station/mmc-v0", "--horizon-s", "1000",
                     "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 0
    assert done.stderr.startswith("twin: this run will take about 0.0 h of wall time\n")


SHIPPED = Path(__file__).parent.parent / "experiments"


@pytest.mark.parametrize(
    "command",
    [
        ["snapshot", str(SHIPPED / "station_run.toml"), "--at-s", "100"],
        ["run", str(SHIPPED / "station_admission.toml")],
    ],
    ids=["snapshot", "experiment"],
)
def test_other_commands_check_out_before_any_work(capsys, tmp_path, command):
    file = tmp_path / "a-file"
    file.write_text("not a directory\n")
    for out, words in [(file / "out", "which is a file"), ("/proc/twin-out", "'/proc'")]:
        done = twin_here(capsys, *command, "--out", str(out))
        assert_one_line_refusal(done, "--out", words)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: Path("/dev/zero"), ["/dev/zero", "not a regular file"]),
        (lambda tmp: _written(tmp / "deep.json", "[" * 5000 + "]" * 5000), ["nested", "deep"]),
        (lambda tmp: _written(tmp / "text.json", "not json"), ["not a twin snapshot (JSON)"]),
    ],
    ids=["device", "nested 5000 deep", "not JSON"],
)
def test_a_snapshot_that_is_not_one_is_one_line(capsys, tmp_path, make, words):
    out = tmp_path / "out"
    done = twin_here(capsys, "run", "--from", str(make(tmp_path)), "--out", str(out))
    assert_one_line_refusal(done, *words)
    assert not out.exists()


def _written(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
