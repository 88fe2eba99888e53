"""The 1,000-machine plant over a simulated year: speed, memory, and the floor SimPy sets.

Three parts, in one process:

1. Cost against size: ``factory/plant-1000-v0`` grown or shrunk to ``--lines`` lines of ten
   machines (one AGV per line, one technician per five lines) for ``--size-days`` each;
   wall seconds per simulated day and per machine-day, and a PNG of the growth.
2. The headline run: plant-1000 for ``--days`` (365 by default), with its wall time, simulated
   seconds per wall second, SimPy events, and the resident memory sampled along the way
   (peak, and its growth per simulated day after the first tenth: flat means ~0).
3. The floor: the same number of events through raw SimPy (timeouts in as many processes
   as the plant has, so the event heap is as deep), i.e. what SimPy itself costs with no
   model at all. Printed last: twin / floor, the ratio the model's own work costs.

Usage: python benchmarks/plant_scale.py [--days 365] [--seed 1] [--lines 10 30 100]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy
from growth import save_growth_plot

from twin.core.run import prepare_run
from twin.core.scenario import KPI, ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.factory.config import PLANT_LINES, PLANT_STATIONS_PER_LINE, plant_of_lines

TARGET_YEAR_WALL_S = 120.0
"""Issue 19: one simulated year of plant-1000 in two minutes on one core."""


def rss_mib() -> float:
    """Resident memory now (not the peak), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class PlantRun:
    """One run's cost: wall time, SimPy events, memory along the way, its KPIs."""

    machines: int
    build_s: float
    wall_s: float
    events: int
    samples: list[tuple[float, float]]  # (simulated day, resident MiB)
    kpis: dict[str, KPI]


def run_plant(lines: int, days: float, seed: int, policy: str, report: bool) -> PlantRun:
    """Simulate the plant of ``lines`` lines for ``days``; wall time, events, memory samples."""
    horizon_s = days * SECONDS_PER_DAY
    params = {} if lines == PLANT_LINES else plant_of_lines(lines)
    config = ScenarioConfig(id="factory/plant-1000-v0", params=params, horizon_s=horizon_s)
    built_at = time.perf_counter()
    run = prepare_run(config, policy, seed)
    started = time.perf_counter()
    samples: list[tuple[float, float]] = []
    last = [0.0]

    def progress(fraction: float) -> None:
        samples.append((fraction * days, rss_mib()))
        if report and (fraction - last[0] >= 0.05 or fraction >= 1.0):
            last[0] = fraction
            print(
                f"  {fraction:4.0%} simulated, {time.perf_counter() - started:7.1f} s wall, "
                f"{samples[-1][1]:6.0f} MiB resident",
                flush=True,
            )

    run.world.run(horizon_s, 0.0, progress=progress)
    wall_s = time.perf_counter() - started
    kpis = run.result(wall_s=wall_s).kpis
    return PlantRun(
        machines=lines * PLANT_STATIONS_PER_LINE,
        build_s=started - built_at,
        wall_s=wall_s,
        events=next(run.world.env._eid),  # SimPy numbers every event it schedules
        samples=samples,
        kpis=kpis,
    )


def simpy_floor_us(events: int, processes: int, seed: int) -> float:
    """Wall microseconds per event of raw SimPy: ``processes`` processes each waiting out
    exponential timeouts, ``events`` events in all, no model work at all."""
    env = simpy.Environment()
    gaps = np.random.default_rng(np.random.SeedSequence(seed)).exponential(1.0, events).tolist()
    per_process = max(events // processes, 1)

    def waiter(k: int) -> Generator[simpy.Event, None, None]:
        for gap in gaps[k * per_process : (k + 1) * per_process]:
            yield env.timeout(gap)

    for k in range(processes):
        env.process(waiter(k))
    started = time.perf_counter()
    env.run()
    wall_s = time.perf_counter() - started
    return wall_s / next(env._eid) * 1e6


def slope_mib_per_day(samples: list[tuple[float, float]]) -> float:
    """Least-squares growth of resident memory per simulated day, after the first tenth."""
    if not samples:
        return float("nan")
    horizon = samples[-1][0]
    late = [(day, mib) for day, mib in samples if day >= 0.1 * horizon]
    if len(late) < 2:
        return float("nan")
    days, mibs = np.array(late).T
    return float(np.polyfit(days, mibs, 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=float, default=365.0, help="simulated days of the headline run"
    )
    parser.add_argument(
        "--plant-lines",
        type=int,
        default=PLANT_LINES,
        help="lines of ten machines in the headline run (1000: the 10,000-machine plant)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", default="maintenance/run-to-failure-v0")
    parser.add_argument(
        "--lines", type=int, nargs="*", default=[10, 30, 100], help="sizes for the growth plot"
    )
    parser.add_argument("--size-days", type=float, default=2.0, help="simulated days per size")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, simpy {simpy.__version__}")
    machines = args.plant_lines * PLANT_STATIONS_PER_LINE
    print(
        f"factory/plant-1000-v0 at {machines:,} machines, {args.days:g} days, seed {args.seed}, "
        f"policy {args.policy}"
    )
    row = run_plant(args.plant_lines, args.days, args.seed, args.policy, report=True)
    wall_s = row.wall_s
    events = row.events
    kpis = row.kpis
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    sizes = []
    if args.lines:
        print(f"\ncost against size ({args.size_days:g} simulated days each):")
        print(
            f"{'machines':>9} {'AGVs':>5} {'build s':>8} {'wall s/day':>11} {'us/machine-day':>15}"
        )
        for lines in args.lines:
            size = run_plant(lines, args.size_days, args.seed, args.policy, report=False)
            per_day = size.wall_s / args.size_days
            sizes.append((size.machines, per_day))
            print(
                f"{size.machines:>9,} {lines:>5} {size.build_s:>8.2f} {per_day:>11.3f} "
                f"{per_day / size.machines * 1e6:>15.1f}"
            )

    processes = machines + args.plant_lines  # machines and AGVs
    floor_us = simpy_floor_us(min(events, 2_000_000), processes, args.seed)
    floor_s = events * floor_us / 1e6
    year_s = wall_s / args.days * 365.0
    print()
    for name in ("throughput_per_h", "oee", "unplanned_failures", "agv_utilisation", "co2e_kg"):
        print(f"{name:<26}: {kpis[name].value:,.4g} {kpis[name].unit}")
    print(f"build (layout, kernels)   : {row.build_s:.1f} s")
    print(f"wall time                 : {wall_s:.1f} s")
    print(f"simulated s / wall s      : {args.days * SECONDS_PER_DAY / wall_s:,.0f}")
    if args.plant_lines == PLANT_LINES:
        print(f"one year at this rate     : {year_s:,.0f} s (target {TARGET_YEAR_WALL_S:.0f} s)")
    print(f"SimPy events              : {events:,} ({events / args.days:,.0f} per day)")
    print(f"wall per event            : {wall_s / events * 1e6:.2f} us")
    print(f"peak memory (RSS)         : {peak_mib:,.0f} MiB")
    print(
        f"RSS growth after 1/10     : {slope_mib_per_day(row.samples):+.2f} MiB per simulated day"
    )
    print(
        f"SimPy floor               : {floor_us:.2f} us/event -> {floor_s:,.1f} s for these events"
    )
    if sizes:
        save_growth_plot(
            "plant_scale",
            x_label="machines (one AGV per 10)",
            y_label="wall s per simulated day",
            series={"twin, plant of n machines": sizes},
            title="factory plant: cost per simulated day against size",
        )
    print(f"ratio twin / SimPy floor  : {wall_s / floor_s:.2f}x")


if __name__ == "__main__":
    main()
