"""Executors change where runs happen, never what they produce."""

import filecmp
import threading
import time
from pathlib import Path

import pytest

from experiments.design import RunSpec
from experiments.executors import ProcessPoolExecutor, WorkersLost
from experiments.runner import run_experiment
from tests.experiments.support import station_experiment
from twin.core.errors import UserError
from twin.core.scenario import ScenarioConfig


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    directory = tmp_path_factory.mktemp("executors")
    config = station_experiment(directory)
    run_experiment(config, directory / "inprocess", executor="inprocess", report=False)
    return config, directory


def test_a_process_pool_writes_byte_identical_kpis(in_process):
    config, directory = in_process
    run_experiment(config, directory / "pool", executor="process", workers=2, report=False)
    assert filecmp.cmp(directory / "inprocess/kpis.parquet", directory / "pool/kpis.parquet", False)


@pytest.mark.slow
def test_a_dask_local_cluster_writes_byte_identical_kpis(in_process):
    # A real dask.distributed LocalCluster: worker processes talking over loopback TCP.
    config, directory = in_process
    run_experiment(config, directory / "dask", executor="dask", workers=2, report=False)
    assert filecmp.cmp(directory / "inprocess/kpis.parquet", directory / "dask/kpis.parquet", False)


def test_a_run_that_kills_its_worker_is_lost_and_the_batch_goes_on(tmp_path):
    arm = '[[arms]]\nname = "oom"\npolicy = "tests.experiments.support:KillsItsWorker"\n'
    config = station_experiment(tmp_path, extra=arm, replications="[replications]\ncount = 2")
    results = run_experiment(config, tmp_path / "out", executor="process", workers=2, report=False)
    runs = results.runs.set_index("run_id")
    assert (runs.loc[runs["arm"] == "oom", "status"] == "lost").all()
    assert "worker process died" in runs.loc["s0-p0-r0000-oom", "error"]
    # Runs that shared the pool with it when it died were retried, alone if need be.
    assert (runs.loc[runs["arm"] != "oom", "status"] == "ok").all()


@pytest.mark.slow
def test_a_dask_cluster_left_without_workers_stops_the_batch_with_one_line(tmp_path, monkeypatch):
    # Tasks wait for workers forever; the runner must not wait with them.
    from dask.distributed import LocalCluster

    monkeypatch.setattr("experiments.executors.POLL_S", 0.2)
    monkeypatch.setattr("experiments.executors.NO_WORKERS_S", 1.0)
    config = station_experiment(
        tmp_path, replications="[replications]\ncount = 12", horizon_s=600_000
    )
    with LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as cluster:
        parts = tmp_path / "out" / "parts"
        threading.Thread(target=scale_to_zero_after_a_run, args=(cluster, parts)).start()
        with pytest.raises(UserError, match="has had no workers for 1 s; finished runs are kept"):
            run_experiment(
                config, tmp_path / "out", scheduler=cluster.scheduler_address, report=False
            )
    finished = list((tmp_path / "out" / "parts").glob("*.json"))
    assert 0 < len(finished) < 24


def scale_to_zero_after_a_run(cluster, parts: Path) -> None:
    deadline = time.monotonic() + 120
    while not list(parts.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    cluster.scale(0)


def spec(run_id: str, policy: str) -> RunSpec:
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=2_000.0)
    return RunSpec(run_id, 0, "s", 0, run_id, policy, {}, 0, 1, config, False)


def test_a_chunk_the_broken_pool_refused_runs_on_the_next_pool_and_is_not_lost():
    # A worker can die between two results; the runner's next submit then meets a pool
    # that refuses work. That chunk never started: it must run, not count as lost.
    pool = ProcessPoolExecutor(workers=1)
    try:
        pool.submit([spec("killer", "tests.experiments.support:KillsItsWorker")])
        deadline = time.monotonic() + 60
        while not pool._pool._broken and time.monotonic() < deadline:  # the worker is dead
            time.sleep(0.05)
        pool.submit([spec("bystander", "admission/admit-all-v0")])
        assert pool.in_flight == 2
        with pytest.raises(WorkersLost) as lost:
            pool.next_done()
        assert [[s.run_id for s in chunk] for chunk in lost.value.chunks] == [["killer"]]
        outcomes = pool.next_done()
        assert [outcome.run_id for outcome in outcomes] == ["bystander"]
        assert pool.in_flight == 0
    finally:
        pool.close(cancel=True)
