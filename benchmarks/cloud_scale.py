"""One simulated week of the cloud cluster at 1,000 requests/s, against raw SimPy.

The anchor is the textbook raw-SimPy M/M/1 queue (a Resource and a process per request,
as SimPy's bank example writes it), measured in the same run. The cloud twin serves
requests arithmetically (Lindley's recursion per node in a Numba kernel) and only
node-level changes go through SimPy, so it is compared on three counts, all printed:

- requests per wall second: the like-for-like figure (one request is one customer in
  both models);
- model events per wall second: one arrival plus one completion per request, the two
  events a per-request DES needs at the least (raw SimPy actually schedules about six
  SimPy events per request: the arrival timeout, process start, resource request,
  service timeout, release and process end; counted, not assumed);
- SimPy events per wall second: what each engine actually scheduled (the twin's are
  only the sync epochs and node launches, drains and power-offs; not comparable work,
  printed for honesty, not as a ratio).

Simulated seconds per wall second are printed for the twin.

The same week at smaller rates (``--growth-rates``) and the anchor at a third of its
requests give docs/benchmarks/cloud_scale.png: wall seconds against requests simulated.
The last line printed is the like-for-like ratio (requests per wall second).

Usage: python benchmarks/cloud_scale.py [--days D] [--rate R] [--anchor-requests N]
    [--growth-rates R ...]
"""

from __future__ import annotations

import argparse
import time

from des_overhead import ARRIVAL_RATE, raw_simpy_counted
from growth import save_growth_plot

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY

SEED = 12345
DEFAULT_RATES = {"ingestion": 100.0, "inference": 40.0, "dashboard": 5.0, "batch": 1.0}
"""The default diurnal cluster's weekday mean rates (146 requests/s), scaled below."""


def raw_simpy_mm1(requests: int) -> tuple[float, int, int, float]:
    """Textbook M/M/1 at 90% load (``des_overhead``'s anchor): (wall s, requests served,
    SimPy events scheduled, mean wait)."""
    started = time.perf_counter()
    mean_wait, served, scheduled = raw_simpy_counted(requests / ARRIVAL_RATE)
    return time.perf_counter() - started, served, scheduled, mean_wait


def cloud_week(days: float, rate_per_s: float) -> dict[str, float]:
    scale = rate_per_s / sum(DEFAULT_RATES.values())
    config = ScenarioConfig(
        id="cloud/diurnal-v0",
        horizon_s=days * SECONDS_PER_DAY,
        params={
            "classes": _scaled_classes(scale),
            "min_nodes": 2,
            "max_nodes": 400,
            "initial_nodes": 20,
        },
    )
    run = prepare_run(config, "scaling/hpa-v0", SEED)
    started = time.perf_counter()
    run.world.run(config.horizon_s)
    result = run.result(wall_s=time.perf_counter() - started)
    wall = time.perf_counter() - started
    kpis = {name: kpi.value for name, kpi in result.kpis.items()}
    cluster = run.scenario.cluster
    return {
        "wall_s": wall,
        "simulated_s": config.horizon_s,
        "requests": float(cluster.arrived_total),
        "served": float(cluster.served_total),
        "simpy_events": float(next(run.world.env._eid)),
        "nodes_mean": kpis["nodes_mean"],
        "latency_p95_s": kpis["latency_p95_s"],
        "node_hours": kpis["node_hours"],
    }


def _scaled_classes(scale: float) -> list[dict]:
    from twin.cloud.config import CloudParams

    classes = []
    for spec in CloudParams().classes:
        entry = spec.model_dump(mode="json")
        entry["rate_per_s"] = spec.rate_per_s * scale
        classes.append(entry)
    return classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="weekday mean requests/s (default 1000)"
    )
    parser.add_argument(
        "--anchor-requests", type=int, default=300_000, help="requests in the raw-SimPy run"
    )
    parser.add_argument(
        "--growth-rates",
        type=float,
        nargs="*",
        default=[100.0, 300.0],
        help="smaller weekday mean rates, run for the growth plot only",
    )
    args = parser.parse_args()

    growth: dict[str, list[tuple[float, float]]] = {"twin cloud/diurnal-v0": [], "raw SimPy": []}
    small_wall, small_served, _, _ = raw_simpy_mm1(args.anchor_requests // 3)
    growth["raw SimPy"].append((small_served, small_wall))
    for rate in args.growth_rates:
        small = cloud_week(args.days, rate)
        growth["twin cloud/diurnal-v0"].append((small["requests"], small["wall_s"]))
        print(
            f"growth: twin at {rate:,.0f} requests/s weekday mean, {small['requests']:,.0f} "
            f"requests in {small['wall_s']:.1f} s wall",
            flush=True,
        )

    raw_wall, raw_served, raw_events, raw_wait = raw_simpy_mm1(args.anchor_requests)
    growth["raw SimPy"].append((raw_served, raw_wall))
    raw_requests_per_s = raw_served / raw_wall
    raw_events_per_s = raw_events / raw_wall
    print(
        f"raw SimPy M/M/1 (rho 0.9): {raw_served:,} requests in {raw_wall:.2f} s wall; "
        f"{raw_requests_per_s:,.0f} requests/s, {raw_events / raw_served:.2f} SimPy events "
        f"per request, {raw_events_per_s:,.0f} events/s; mean wait {raw_wait:.2f} s "
        "(theory 9.00 s)"
    )

    week = cloud_week(args.days, args.rate)
    wall = week["wall_s"]
    requests = week["requests"]
    model_events = requests + week["served"]
    print(
        f"twin cloud/diurnal-v0, HPA, {args.days:g} simulated days at {args.rate:,.0f} "
        f"requests/s weekday mean: {requests:,.0f} requests "
        f"({requests / week['simulated_s']:,.0f}/s over the run, weekend dip included), "
        f"{wall:.1f} s wall, mean {week['nodes_mean']:.1f} nodes, "
        f"p95 latency {week['latency_p95_s'] * 1000:.0f} ms"
    )
    growth["twin cloud/diurnal-v0"].append((requests, wall))
    print(f"  simulated seconds per wall second: {week['simulated_s'] / wall:,.0f}")
    print(
        f"  model events (arrival + completion) per wall second: {model_events / wall:,.0f} = "
        f"{model_events / wall / raw_events_per_s:.1f}x raw SimPy's SimPy events/s"
    )
    print(
        f"  SimPy events the twin scheduled: {week['simpy_events']:,.0f} "
        f"({week['simpy_events'] / wall:,.0f}/s; epochs and node changes only)"
    )
    save_growth_plot(
        "cloud_scale",
        x_label="requests simulated",
        y_label="wall s",
        series=growth,
        title=f"cloud: {args.days:g} simulated days against raw SimPy M/M/1",
    )
    print(
        f"requests per wall second: twin {requests / wall:,.0f}, raw SimPy "
        f"{raw_requests_per_s:,.0f}: {requests / wall / raw_requests_per_s:.1f}x raw SimPy"
    )


if __name__ == "__main__":
    main()
