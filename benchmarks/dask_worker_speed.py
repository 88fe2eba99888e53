"""Is a run slower inside a Dask worker? The same runs timed in and out of one, alternating.

Each round times the same station runs (50-100 ms each) in this process, as one Dask
task on a one-worker LocalCluster with dask's default settings, and as a task and through
``client.run`` (the worker's own thread) on one with the settings twin's Dask executor
gives its local cluster (``experiments.executors.QUIET_WORKERS``: no profiler, slower
system monitors). A ratio near 1 means a Dask worker adds no cost to the run itself, so what
the batch benchmark loses on Dask is the cluster's other processes and task traffic.

The same rounds with runs of a third of the horizon (plain process and a task on the
quiet worker) give docs/benchmarks/dask_worker_speed.png: milliseconds per run against
the simulated horizon of a run, in and out of a worker. The last line printed is the
ratio of a task on the quiet worker to the plain process.

Usage: python benchmarks/dask_worker_speed.py [--rounds R] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from growth import save_growth_plot

HORIZON_S = 300_000.0
"""A run of 50-100 ms, as in benchmarks/batch_scaling.py."""


def timed_runs(runs: int, horizon_s: float = HORIZON_S) -> float:
    """Mean milliseconds per run of the station (imports and plug-ins before the clock)."""
    from twin.core.run import simulate
    from twin.core.scenario import ScenarioConfig

    config = ScenarioConfig(
        id="station/mmc-v0",
        horizon_s=horizon_s,
        warmup_s=1_000,
        params={"arrival_rate_per_s": 0.0166, "servers": 2},
    )
    simulate(config, "admission/admit-all-v0", 0)
    started = time.perf_counter()
    for seed in range(runs):
        simulate(config, "admission/admit-all-v0", seed)
    return 1000 * (time.perf_counter() - started) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    import dask
    from dask.distributed import Client, LocalCluster

    from experiments.executors import QUIET_WORKERS

    def one_worker(settings: dict[str, object]) -> tuple[LocalCluster, Client]:
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
        return cluster, Client(cluster)

    default_cluster, default_client = one_worker({})
    quiet_cluster, quiet_client = one_worker(QUIET_WORKERS)
    plain: list[float] = []
    default_task: list[float] = []
    quiet_task: list[float] = []
    quiet_run: list[float] = []
    short_s = HORIZON_S / 3
    short_plain: list[float] = []
    short_task: list[float] = []
    try:
        for _ in range(args.rounds):
            plain.append(timed_runs(args.runs))
            default_task.append(default_client.submit(timed_runs, args.runs, pure=False).result())
            quiet_task.append(quiet_client.submit(timed_runs, args.runs, pure=False).result())
            quiet_run.append(next(iter(quiet_client.run(timed_runs, args.runs).values())))
        for _ in range(args.rounds):  # shorter runs, for the growth plot only
            short_plain.append(timed_runs(args.runs, short_s))
            task = quiet_client.submit(timed_runs, args.runs, short_s, pure=False)
            short_task.append(task.result())
    finally:
        for client, cluster in ((default_client, default_cluster), (quiet_client, quiet_cluster)):
            client.close()
            cluster.close()
    anchor = statistics.median(plain)
    print(f"ms per run, median of {args.rounds} rounds of {args.runs} runs")
    print(f"plain process      {anchor:8.1f}  (anchor; min {min(plain):.1f}, max {max(plain):.1f})")
    rows = (
        ("dask task, dask's default settings", default_task),
        ("dask task, twin's QUIET_WORKERS", quiet_task),
        ("client.run, twin's QUIET_WORKERS", quiet_run),
    )
    for name, values in rows:
        middle = statistics.median(values)
        print(f"{name:<36} {middle:8.1f}  ratio {middle / anchor:.2f}")
    save_growth_plot(
        "dask_worker_speed",
        x_label="simulated s per run",
        y_label="ms per run (median)",
        series={
            "plain process": [
                (short_s, statistics.median(short_plain)),
                (HORIZON_S, anchor),
            ],
            "dask task, QUIET_WORKERS": [
                (short_s, statistics.median(short_task)),
                (HORIZON_S, statistics.median(quiet_task)),
            ],
        },
        title="station runs in and out of a Dask worker",
    )
    print(
        f"ratio dask task (twin's QUIET_WORKERS) / plain process: "
        f"{statistics.median(quiet_task) / anchor:.2f}"
    )


if __name__ == "__main__":
    main()
