"""A runner stopped mid-batch resumes without losing or duplicating a finished run."""

import filecmp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from experiments.runner import run_experiment
from tests.experiments.support import station_experiment

RUNS = 24
STARTED_RUNS = 4


def test_a_killed_batch_resumes_to_the_same_results_as_an_uninterrupted_one(tmp_path):
    # SIGKILL: the runner gets no chance to clean up anything.
    config, command = batch(tmp_path, "killed")
    runner = start_and_wait_for_runs(command, tmp_path / "killed", tmp_path)
    workers = worker_pids(runner.pid)
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    parts = tmp_path / "killed" / "parts"
    assert STARTED_RUNS <= len(list(parts.glob("*.json"))) < RUNS

    resumed = subprocess.run(
        [*command, "--executor", "inprocess"], cwd=tmp_path, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr

    runs = pd.read_parquet(tmp_path / "killed" / "runs.parquet")
    assert len(runs) == RUNS
    assert runs["run_id"].is_unique
    assert not list(parts.glob(".tmp-*"))
    # The killed runner's worker processes did not linger on.
    assert workers
    assert not [pid for pid in workers if is_alive(pid)]
    uninterrupted = tmp_path / "uninterrupted"
    run_experiment(config, uninterrupted, executor="inprocess", report=False)
    assert filecmp.cmp(tmp_path / "killed" / "kpis.parquet", uninterrupted / "kpis.parquet", False)


def test_ctrl_c_keeps_the_finished_runs_and_says_how_to_resume(tmp_path):
    _, command = batch(tmp_path, "out")
    runner = start_and_wait_for_runs(command, tmp_path / "out", tmp_path)
    runner.send_signal(signal.SIGINT)
    _, stderr = runner.communicate(timeout=60)
    parts = len(list((tmp_path / "out" / "parts").glob("*.json")))
    assert runner.returncode == 130, (
        f"exit {runner.returncode} with {parts} of {RUNS} runs finished; SIGINT here is "
        f"{signal.getsignal(signal.SIGINT)}; stderr: {stderr[-800:]}"
    )
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    kept = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert STARTED_RUNS <= len(kept) < RUNS
    assert len(kept) == len(list((tmp_path / "out" / "parts").glob("*.json")))


def batch(tmp_path: Path, out: str) -> tuple[Path, list[str]]:
    """A 24-run experiment of ~0.2 s runs, and the command that runs it quietly."""
    config = station_experiment(
        tmp_path, replications="[replications]\ncount = 12", horizon_s=2_000_000
    )
    command = [sys.executable, "-m", "twin", "run", str(config), "--out", out, "--quiet"]
    return config, command


def start_and_wait_for_runs(command: list[str], out: Path, cwd: Path) -> subprocess.Popen[str]:
    """Start the batch on a 2-process pool; return once a few runs have finished."""
    runner = subprocess.Popen(
        [*command, "--executor", "process", "--workers", "2"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: Ctrl-C interrupts. A process started with SIGINT ignored
        # (as this test's pytest worker may be, after other tests) would finish instead.
        preexec_fn=_interruptible,
    )
    deadline = time.monotonic() + 120
    while len(list((out / "parts").glob("*.json"))) < STARTED_RUNS:
        assert runner.poll() is None, "the batch ended before it could be stopped"
        assert time.monotonic() < deadline, "no run finished within 120 s"
        time.sleep(0.05)
    return runner


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def worker_pids(parent: int) -> list[int]:
    """The process ids of ``parent``'s children (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
