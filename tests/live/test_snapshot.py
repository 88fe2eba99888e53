"""Snapshot files: written at t, resumed in another process, identical to a straight run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from twin.core.errors import RunFailure, UserError
from twin.core.scenario import ScenarioConfig
from twin.live.branches import LiveRun
from twin.live.snapshot import read_snapshot, resume, write_snapshot

CONFIG = """
seed = 5
[scenario]
id = "station/mmc-v0"
horizon_s = 43200
warmup_s = 3600
[policy]
id = "admission/admit-all-v0"
"""


REPOSITORY = Path(__file__).resolve().parents[2]


def twin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twin", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},  # for tests.testing.broken
    )


def test_a_snapshot_resumed_in_another_process_equals_the_straight_run(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text(CONFIG)
    straight = twin("run", "run.toml", "--out", "straight", "--quiet", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    taken = twin("snapshot", "run.toml", "--at-s", "20000", "--out", "at.json", cwd=tmp_path)
    assert taken.returncode == 0, taken.stderr
    resumed = twin("run", "--from", "at.json", "--out", "resumed", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    expected = pd.read_parquet(tmp_path / "straight" / "kpis.parquet")
    assert pd.read_parquet(tmp_path / "resumed" / "kpis.parquet").equals(expected)
    manifest = json.loads((tmp_path / "resumed" / "manifest.json").read_text())
    assert manifest["resumed_from"]["at_s"] == 20000.0


def test_a_policy_history_is_part_of_the_snapshot(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text(CONFIG)
    switched = "10000=admission/queue-cap-v0"
    taken = twin(
        "snapshot",
        "run.toml",
        "--at-s",
        "20000",
        "--switch",
        switched,
        "--out",
        "at.json",
        cwd=tmp_path,
    )
    assert taken.returncode == 0, taken.stderr
    log = json.loads((tmp_path / "at.json").read_text())["log"]
    assert [(entry["at_s"], entry["policy"]) for entry in log] == [
        (0.0, "admission/admit-all-v0"),
        (10000.0, "admission/queue-cap-v0"),
    ]
    reference = LiveRun(
        ScenarioConfig.model_validate(json.loads((tmp_path / "at.json").read_text())["scenario"]),
        "admission/admit-all-v0",
        5,
    )
    reference.advance(10000.0)
    reference.switch_policy("admission/queue-cap-v0")
    expected = reference.finish().kpi_frame()
    resumed = twin("run", "--from", "at.json", "--out", "resumed", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert pd.read_parquet(tmp_path / "resumed" / "kpis.parquet").equals(expected)


def test_an_edited_snapshot_is_refused_not_resumed(tmp_path: Path) -> None:
    run = LiveRun(
        ScenarioConfig(id="station/mmc-v0", horizon_s=7200.0), "admission/admit-all-v0", 5
    )
    run.advance(3600.0)
    path = write_snapshot(run, tmp_path / "at.json")
    data = json.loads(path.read_text())
    data["seed"] = 6
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="digest: the replayed run differs"):
        resume(read_snapshot(path), source=str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not a twin snapshot"),
        ('{"format": "other/1"}', "format: expected 'twin-snapshot/1', found 'other/1'"),
        ('{"format": "twin-snapshot/1", "seed": 1}', "required key is missing"),
    ],
)
def test_a_bad_snapshot_is_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.json").write_text(text)
    done = twin("run", "--from", "bad.json", cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()


CRASHES = CONFIG.replace('"admission/admit-all-v0"', '"tests.testing.broken:CrashesOnEmptyQueue"')


def test_a_policy_that_raises_after_the_snapshot_ends_the_resumed_run_in_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "run.toml").write_text(CRASHES)
    taken = twin("snapshot", "run.toml", "--at-s", "0", "--out", "at.json", cwd=tmp_path)
    assert taken.returncode == 0, taken.stderr
    resumed = twin("run", "--from", "at.json", "--out", "resumed", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 3
    assert resumed.stderr.count("\n") == 1
    assert resumed.stderr.startswith(
        "twin: policy 'broken/empty-queue-v0' failed at t = 208.812 s: "
        "ZeroDivisionError: division by zero; last observation: StationObservation("
    )
    assert not (tmp_path / "resumed").exists()


def test_a_live_run_keeps_the_reference_a_plugin_policy_was_given_by() -> None:
    reference = "tests.testing.broken:CrashesOnEmptyQueue"
    run = LiveRun(ScenarioConfig(id="station/mmc-v0", horizon_s=600.0), reference, 5)
    assert run.log[0].policy == reference  # an id no registry lists could not be replayed
    run.report_failures = True
    with pytest.raises(RunFailure, match=r"^policy 'broken/empty-queue-v0' failed at t = 208\.8"):
        run.finish()
