"""Batch runner scaling: the same 200 short runs on 1 worker, a 2-process pool and Dask.

The batch is ``experiments/station_admission.toml`` (two admission arms on the M/M/2
station) with 100 replications and a horizon that makes each run last 50-100 ms. Each
executor runs the whole batch through ``run_experiment`` (config check, store,
statistics; no report) into its own directory, and the script checks that all of them
wrote byte-identical ``kpis.parquet``.

- parallel efficiency = T(1 worker) / (workers x T(executor)): the share of the ideal
  speed-up that the executor delivers, start-up of its workers included. Each batch
  runs in a fresh process, as ``twin run`` does. The Dask cluster (a LocalCluster in
  a process of its own) is started before the clock starts, as a user's cluster would
  be running; its start-up is printed on its own.
- per-run overhead = (workers x T(executor) - sum of the runs' own wall times) / runs:
  what each run costs beyond its simulation (task shipping, result writing, start-up).
- the anchor: the machine's own ceiling. Two bare processes each run half the runs in
  a plain loop at the same moment, against one bare process running its half alone.
  On two virtual cores that share caches and memory bandwidth, this is below 100%,
  and no executor can beat it.

Executors rotate within each round so that drift in machine speed hits all of them;
figures are medians over rounds. After the rounds, one smaller batch per executor at a
quarter and a half of the replications gives the growth plot
docs/benchmarks/batch_scaling.png (wall seconds against runs per batch; its third point
is the rounds' median). The last line printed is the parallel efficiency.

Usage: python benchmarks/batch_scaling.py [--rounds R] [--replications N] [--horizon-s S]
Target (issue 4): parallel efficiency >= 85% on 2 cores.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from growth import save_growth_plot

from experiments.config import ExperimentConfig, parse_experiment
from twin.core.scenario import ScenarioConfig

EXAMPLE = Path(__file__).resolve().parents[1] / "experiments" / "station_admission.toml"

TIMED_BATCH = """
import json, sys, time
from experiments.config import ExperimentConfig
from experiments.runner import run_experiment
config = ExperimentConfig.model_validate_json(sys.argv[1])
out, executor, workers, scheduler = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
started = time.perf_counter()
results = run_experiment(
    config, out, executor=executor, workers=workers, scheduler=scheduler or None, report=False
)
print(json.dumps([time.perf_counter() - started, float(results.runs["wall_s"].sum())]))
"""

CLUSTER = """
import dask
from dask.distributed import LocalCluster
from experiments.executors import QUIET_WORKERS
with dask.config.set(QUIET_WORKERS):  # as twin run --executor dask starts its cluster
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    )
print(cluster.scheduler_address, flush=True)
input()
cluster.close()
"""

BARE_LOOP = """
import sys, time
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
config = ScenarioConfig.model_validate_json(sys.argv[1])
runs, start_at = int(sys.argv[2]), float(sys.argv[3])
simulate(config, "admission/admit-all-v0", 0)  # imports and plug-ins, before the clock
time.sleep(max(0.0, start_at - time.time()))
started = time.perf_counter()
for seed in range(runs):
    simulate(config, "admission/admit-all-v0", seed)
print(time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--horizon-s", type=float, default=300_000.0)
    args = parser.parse_args()
    config = experiment(args.horizon_s, args.replications)
    runs = 2 * args.replications

    started = time.perf_counter()
    cluster = subprocess.Popen(
        [sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert cluster.stdout is not None
    scheduler_address = cluster.stdout.readline().strip()
    cluster_start_s = time.perf_counter() - started

    walls: dict[str, list[float]] = {}
    run_sums: dict[str, list[float]] = {}
    ceilings = []
    identical = True
    executors = [
        ("inprocess", 1, None),
        ("process", 2, None),
        ("dask", 2, scheduler_address),
    ]
    try:
        for round_ in range(args.rounds):
            shift = round_ % len(executors)
            with tempfile.TemporaryDirectory() as scratch:
                for name, workers, scheduler in executors[shift:] + executors[:shift]:
                    out = Path(scratch) / name
                    wall, run_sum = time_batch(config, out, name, workers, scheduler)
                    walls.setdefault(name, []).append(wall)
                    run_sums.setdefault(name, []).append(run_sum)
                first = Path(scratch) / "inprocess" / "kpis.parquet"
                identical &= all(
                    filecmp.cmp(first, Path(scratch) / name / "kpis.parquet", shallow=False)
                    for name, _, _ in executors[1:]
                )
            ceilings.append(hardware_ceiling(config.scenarios[0], args.replications))
        growth: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in executors}
        for share in (4, 2):
            replications = max(2, args.replications // share)
            small = experiment(args.horizon_s, replications)
            with tempfile.TemporaryDirectory() as scratch:
                for name, workers, scheduler in executors:
                    wall, _ = time_batch(small, Path(scratch) / name, name, workers, scheduler)
                    growth[name].append((2 * replications, wall))
    finally:
        cluster.communicate("stop\n")

    t1 = statistics.median(walls["inprocess"])
    mean_run_ms = 1000 * statistics.median(run_sums["inprocess"]) / runs
    print(f"{runs} runs of {mean_run_ms:.0f} ms (median over {args.rounds} rounds)")
    print(f"kpis.parquet byte-identical across executors: {identical}")
    print(f"dask LocalCluster start-up (not in the timings): {cluster_start_s:.1f} s")
    print(f"{'executor':<12} {'workers':>7} {'wall s':>8} {'efficiency':>10} {'overhead/run':>13}")
    for name, workers, _ in executors:
        wall = statistics.median(walls[name])
        run_sum = statistics.median(run_sums[name])
        efficiency = t1 / (workers * wall)
        overhead_ms = 1000 * (workers * wall - run_sum) / runs
        print(f"{name:<12} {workers:>7} {wall:>8.2f} {efficiency:>10.1%} {overhead_ms:>10.1f} ms")
    ceiling = statistics.median(ceilings)
    print(f"{'anchor':<12} {2:>7} {'':>8} {ceiling:>10.1%}   two bare loops side by side")
    efficiencies = []
    for name, workers, _ in executors[1:]:
        efficiency = t1 / (workers * statistics.median(walls[name]))
        efficiencies.append(f"{name} {efficiency:.1%}")
        print(f"{name} efficiency / anchor: {efficiency / ceiling:.1%}")
    for name, points in growth.items():
        points.append((runs, statistics.median(walls[name])))
        print(f"growth, {name}: " + ", ".join(f"{n} runs {s:.2f} s" for n, s in points))
    save_growth_plot(
        "batch_scaling",
        x_label="runs per batch",
        y_label="wall s per batch",
        series=growth,
        title=f"batch of station runs ({mean_run_ms:.0f} ms each) by executor",
    )
    print("target: parallel efficiency >= 85% on 2 workers")
    print(f"parallel efficiency on 2 workers: {', '.join(efficiencies)} (anchor {ceiling:.1%})")


def experiment(horizon_s: float, replications: int) -> ExperimentConfig:
    """The example experiment with ``replications`` paired replications of ``horizon_s``."""
    data = tomllib.loads(EXAMPLE.read_text())
    data["scenarios"][0]["horizon_s"] = horizon_s
    data["replications"] = {"count": replications}
    return parse_experiment(data, str(EXAMPLE))


def time_batch(
    config: ExperimentConfig, out: Path, executor: str, workers: int, scheduler: str | None
) -> tuple[float, float]:
    """Wall time of ``run_experiment`` in a fresh process, as ``twin run`` would run it.

    A fresh process also keeps this script's own threads (the Dask client's) from
    deciding how the process pool starts its workers.
    """
    child = subprocess.run(
        [
            sys.executable, "-c", TIMED_BATCH, config.model_dump_json(), str(out), executor,
            str(workers), scheduler or "",
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall, run_sum = json.loads(child.stdout.strip().splitlines()[-1])
    return wall, run_sum


def hardware_ceiling(scenario: ScenarioConfig, replications: int) -> float:
    """Loop time of one bare process alone over that of two running side by side."""
    alone = bare_loops(scenario, replications, processes=1)[0]
    pair = bare_loops(scenario, replications, processes=2)
    return alone / statistics.mean(pair)


def bare_loops(scenario: ScenarioConfig, runs: int, processes: int) -> list[float]:
    plain = ScenarioConfig.model_validate(scenario.model_dump(exclude={"label"}))
    start_at = time.time() + 6.0  # after every process has imported twin
    children = [
        subprocess.Popen(
            [sys.executable, "-c", BARE_LOOP, plain.model_dump_json(), str(runs), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    return [float(child.communicate()[0]) for child in children]


if __name__ == "__main__":
    main()
