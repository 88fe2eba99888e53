"""One simulated year of the regional supply network, and of networks up to 10x its size.

Prints, for each size, the sites, the wall time, simulated days per wall second, wall
microseconds per site-day (flat when the cost grows linearly with the network) and the
SimPy events processed per wall second, with a few KPIs to check the figures for sense.
All sizes run in one process, one after the other, so the ratios compare like with like.
The sizes are drawn in docs/benchmarks/supply_scale.png (wall seconds per simulated day
against stocked sites); the last line printed is the growth of the cost per site-day
from the smallest to the largest network (1.00x: linear).

Usage: python benchmarks/supply_scale.py [--days 365] [--scales 1 3 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from growth import save_growth_plot

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.supply.config import REGIONAL_DCS, REGIONAL_RETAILERS_PER_DC, regional_sites


def run_size(scale: int, days: float, seed: int, policy: str, transport: str) -> dict[str, float]:
    """Simulate ``scale`` times the regional network's DCs (and retailers) for ``days``."""
    sites = regional_sites(dcs=REGIONAL_DCS * scale, retailers_per_dc=REGIONAL_RETAILERS_PER_DC)
    params = {
        "sites": [site.model_dump(mode="json") for site in sites],
        "transport_policy": transport,
    }
    config = ScenarioConfig(
        id="supply/regional-v0",
        params=params,
        horizon_s=days * SECONDS_PER_DAY,
        warmup_s=28 * SECONDS_PER_DAY,
    )
    started = time.perf_counter()
    run = prepare_run(config, policy, seed)
    built = time.perf_counter()
    run.world.run(config.horizon_s, config.warmup_s)
    wall_s = time.perf_counter() - started
    kpis = run.result(wall_s=wall_s).kpis
    events = next(run.world.env._eid)  # SimPy numbers every event it schedules
    stocked = len(sites) - 1
    return {
        "sites": float(stocked),
        "build_s": built - started,
        "wall_s": wall_s,
        "days_per_s": days / wall_s,
        "us_per_site_day": 1e6 * wall_s / (stocked * days),
        "events_per_s": events / wall_s,
        "fill_rate": kpis["fill_rate"].value,
        "truck_km": kpis["truck_km"].value,
        "cost_total": kpis["cost_total"].value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", default="replenishment/base-stock-v0")
    parser.add_argument("--transport", default="transport/ship-now-v0")
    args = parser.parse_args()
    print(
        f"supply/regional-v0 x scale, {args.days:g} days, seed {args.seed}, policy {args.policy},"
        f" transport {args.transport}; python {sys.version.split()[0]}"
    )
    header = (
        f"{'scale':>5} {'sites':>6} {'wall s':>8} {'sim d/s':>8} {'us/site-day':>12} "
        f"{'events/s':>10} {'fill':>6} {'truck km':>12} {'cost':>12}"
    )
    print(header)
    rows = []
    for scale in args.scales:
        row = run_size(scale, args.days, args.seed, args.policy, args.transport)
        rows.append(row)
        print(
            f"{scale:>5} {row['sites']:>6.0f} {row['wall_s']:>8.1f} {row['days_per_s']:>8.1f} "
            f"{row['us_per_site_day']:>12.1f} {row['events_per_s']:>10,.0f} "
            f"{row['fill_rate']:>6.3f} {row['truck_km']:>12,.0f} {row['cost_total']:>12,.0f}",
            flush=True,
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak memory (RSS): {peak_mib:,.0f} MiB")
    save_growth_plot(
        "supply_scale",
        x_label="stocked sites",
        y_label="wall s per simulated day",
        series={"twin": [(row["sites"], row["wall_s"] / args.days) for row in rows]},
        title=f"supply/regional-v0 scaled, {args.days:g} days",
    )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"\n{last['sites'] / first['sites']:.1f}x the sites costs "
            f"{last['wall_s'] / first['wall_s']:.1f}x the wall time "
            f"(per site-day: {last['us_per_site_day'] / first['us_per_site_day']:.2f}x)"
        )


if __name__ == "__main__":
    main()
