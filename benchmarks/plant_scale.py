"""One simulated year of the 1,000-machine plant: speed and peak memory.

Prints simulated seconds per wall second, events per wall second (SimPy's event
counter), the peak resident memory of the process, and the headline KPIs, so the
figure can be checked for sense as well as speed.

Usage: python benchmarks/plant_scale.py [--days 365] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", default="maintenance/run-to-failure-v0")
    args = parser.parse_args()
    horizon_s = args.days * SECONDS_PER_DAY
    config = ScenarioConfig(id="factory/plant-1000-v0", horizon_s=horizon_s)
    last = [0.0]

    def progress(fraction: float) -> None:
        if fraction - last[0] >= 0.05 or fraction >= 1.0:
            last[0] = fraction
            print(
                f"  {fraction:4.0%} simulated, {time.perf_counter() - start:7.1f} s wall",
                flush=True,
            )

    start = time.perf_counter()
    result = simulate(config, args.policy, args.seed, progress=progress)
    wall_s = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kpis = {name: kpi for name, kpi in result.kpis.items()}
    print()
    print(f"factory/plant-1000-v0, {args.days:g} days, seed {args.seed}, policy {args.policy}")
    print(f"machines 1000, AGVs 100; python {sys.version.split()[0]}")
    print(f"wall time            : {wall_s:.1f} s")
    print(f"simulated s / wall s : {horizon_s / wall_s:,.0f}")
    print(f"peak memory (RSS)    : {peak_mib:,.0f} MiB")
    for name in ("throughput_per_h", "oee", "unplanned_failures", "agv_utilisation", "co2e_kg"):
        print(f"{name:<21}: {kpis[name].value:,.4g} {kpis[name].unit}")


if __name__ == "__main__":
    main()
