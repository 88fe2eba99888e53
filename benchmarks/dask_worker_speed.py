"""Is a run slower inside a Dask worker? The same runs timed in and out of one, alternating.

Each round times the same station runs (50-100 ms each) three ways: in this process,
as one Dask task on a one-worker LocalCluster, and through ``client.run`` (the worker's
own thread). A ratio near 1 means a Dask worker adds no cost to the run itself, so what
the batch benchmark loses on Dask is the cluster's other processes and task traffic.

Usage: python benchmarks/dask_worker_speed.py [--rounds R] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time


def timed_runs(runs: int) -> float:
    """Mean milliseconds per run of the station (imports and plug-ins before the clock)."""
    from twin.core.run import simulate
    from twin.core.scenario import ScenarioConfig

    config = ScenarioConfig(
        id="station/mmc-v0",
        horizon_s=300_000,
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
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    )
    client = Client(cluster)
    plain, task, run = [], [], []
    try:
        for _ in range(args.rounds):
            plain.append(timed_runs(args.runs))
            task.append(client.submit(timed_runs, args.runs, pure=False).result())
            run.append(next(iter(client.run(timed_runs, args.runs).values())))
    finally:
        client.close()
        cluster.close()
    anchor = statistics.median(plain)
    print(f"ms per run, median of {args.rounds} rounds of {args.runs} runs")
    print(f"plain process      {anchor:8.1f}  (anchor; min {min(plain):.1f}, max {max(plain):.1f})")
    for name, values in (("dask task", task), ("dask client.run", run)):
        middle = statistics.median(values)
        print(f"{name:<18} {middle:8.1f}  ratio {middle / anchor:.2f}")


if __name__ == "__main__":
    main()
