"""Solve time of the planning MIP per epoch against the size of the plant and its order book.

A plant of ``lines`` lines of ten single-machine stations (the plant-1000 layout), two
products per line sharing its machines (a 30-minute changeover between them, 10 minutes of
processing per part and station), and a week of orders of 5-20 parts due one to three days
after their release date, drawn so each line is loaded to about 75% by processing alone.
For each size the weekly epoch is planned once by ``planning/mip-v0`` with its defaults
(8-hour buckets over 14 days, one thread, 2,000 nodes, 60 s limit) and the script prints
the orders, the model's size, the wall seconds of building and of solving, the MIP gap
and whether the solver or the fallback planned; then the 100-machine case against its
target (a week of orders within a minute) as a ratio.

Usage: python benchmarks/planning_solve.py [--lines 1 3 10 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from growth import save_growth_plot

from models.planning.mip import LotSizingParams, build_model, solve
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.factory.observation import (
    OpenOrder,
    PlanningObservation,
    ProductPlanView,
    StationPlanView,
)

STATIONS_PER_LINE = 10
WORK_S = 600.0
SETUP_S = 1800.0
LOAD = 0.6
WEEK_S = 7 * SECONDS_PER_DAY
TARGET_S = 60.0
"""Issue 23: a plant of 100 machines and a week of orders solves within a minute."""


def week_of_orders(lines: int, seed: int) -> PlanningObservation:
    """The planning observation at the start of the week (no backlog, every machine up)."""
    rng = np.random.default_rng(seed)
    stations = []
    products = []
    for line in range(lines):
        names = tuple(f"L{line:02d}S{s}" for s in range(STATIONS_PER_LINE))
        stations += [StationPlanView(name, 1, 1, 0.98, SETUP_S, 0.0) for name in names]
        products += [
            ProductPlanView(f"P{line:02d}{kind}", names, (WORK_S,) * STATIONS_PER_LINE)
            for kind in "ab"
        ]
    # Parts a line can process in a week at LOAD, in orders of 12.5 parts on average.
    orders_per_product = LOAD * WEEK_S / WORK_S / 12.5 / 2
    gap_s = WEEK_S / orders_per_product
    drawn = []
    for product in products:
        ready = float(rng.exponential(gap_s))
        while ready < WEEK_S:
            due = ready + float(rng.uniform(1.0, 3.0)) * SECONDS_PER_DAY
            drawn.append((ready, product.name, int(rng.integers(5, 21)), due))
            ready += float(rng.exponential(gap_s))
    drawn.sort()
    orders = tuple(
        OpenOrder(number, name, quantity, ready, due)
        for number, (ready, name, quantity, due) in enumerate(drawn)
    )
    return PlanningObservation(0.0, WEEK_S, orders, tuple(stations), tuple(products))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1, 3, 10, 20])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    params = LotSizingParams()
    print(
        f"{'machines':>8} {'orders':>7} {'columns':>8} {'build s':>8} {'solve s':>8} "
        f"{'gap':>8} {'planned tard. h':>15}  status"
    )
    points: list[tuple[float, float]] = []
    at_100 = None
    for lines in args.lines:
        obs = week_of_orders(lines, args.seed)
        started = time.perf_counter()
        model = build_model(obs, params)
        built = time.perf_counter()
        solution = solve(model, params)
        solved = time.perf_counter()
        columns = int(np.isfinite(model.done_s).sum()) + len(model.product_names) * model.buckets
        planned_h = (
            model.tardiness_s(solution.buckets) / SECONDS_PER_HOUR
            if solution.buckets is not None
            else float("nan")
        )
        machines = lines * STATIONS_PER_LINE
        print(
            f"{machines:>8} {len(obs.orders):>7} {columns:>8} {built - started:>8.2f} "
            f"{solved - built:>8.2f} {solution.mip_gap:>8.4f} {planned_h:>15.1f}  "
            f"{solution.status}" + ("" if solution.buckets is not None else " -> EDD fallback")
        )
        points.append((float(len(obs.orders)), solved - started))
        if machines == 100:
            at_100 = solved - started
    save_growth_plot(
        "planning_solve",
        x_label="orders in the week (about 48 per 10 machines)",
        y_label="wall s per planning epoch",
        series={"lot-sizing MIP, HiGHS 1 thread": points},
        title="planning MIP: build + solve per epoch",
    )
    if at_100 is not None:
        print(
            f"100 machines, a week of orders: {at_100:.1f} s; target {TARGET_S:.0f} s; "
            f"ratio {at_100 / TARGET_S:.2f}"
        )


if __name__ == "__main__":
    main()
