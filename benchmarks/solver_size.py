"""Solve time per decision of the two optimisers against their instance size.

Route planner (``transport/cvrptw-v0``): a depot with ``n`` stops spread over a 60 km
disc, 1-12 pallets each, 33-pallet trucks, a fleet of ``n``; the time of one
:func:`plan_routes` (OR-Tools, default parameters). AGV assignment
(``dispatch/min-cost-assignment-v0``): ``n`` requests and ``n`` idle AGVs on a 20x20
aisle grid; the time of one :func:`assign` (cost matrix and SciPy's matching). Each
point is the median of ``--repeats`` instances. The last lines print the growth of the
time per stop / per request from the smallest to the largest size (1.00x: linear), and
the plot goes to docs/benchmarks/solver_size.png.

Usage: python benchmarks/solver_size.py [--stops 5 10 20 40 80] [--agvs 5 20 50 100]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import numpy as np
from growth import save_growth_plot

from models.dispatch.assignment import AssignmentParams, assign
from models.routing.cvrptw import CvrptwParams, plan_routes
from twin.factory.kit import _grid_layout
from twin.factory.observation import AgvView, DispatchObservation, TransportRequest
from twin.supply.kit import transport_edge_cases
from twin.supply.observation import WaitingLoad


def route_instance(n: int, rng: np.random.Generator):
    radius = 60.0 * np.sqrt(rng.uniform(0, 1, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    points = np.column_stack((radius * np.cos(angle), radius * np.sin(angle)))
    pallets = rng.integers(1, 13, n)
    loads = tuple(
        WaitingLoad(
            f"s{k}",
            1.3 * float(np.hypot(*points[k])),
            40 * int(p),
            0,
            40 * int(p),
            int(p),
            480.0 * int(p),
            0.0,
            math.inf,
        )
        for k, p in enumerate(pallets)
    )
    road = tuple(
        tuple(1.3 * float(np.hypot(*(points[i] - points[j]))) for j in range(n)) for i in range(n)
    )
    return transport_edge_cases()[1]._replace(waiting=loads, road_km=road, trucks_total=n)


def agv_instance(n: int, rng: np.random.Generator) -> DispatchObservation:
    layout = _grid_layout(20, 20)
    nodes = layout.nodes
    requests = tuple(
        TransportRequest(k, a, b, 0.0, layout.distance_m(a, b))
        for k, (a, b) in enumerate(
            (nodes[rng.integers(len(nodes))], nodes[rng.integers(len(nodes))]) for _ in range(n)
        )
    )
    agvs = tuple(
        AgvView(k, nodes[rng.integers(len(nodes))], True, 1.0, math.inf, "idle") for k in range(n)
    )
    return DispatchObservation(10.0, requests, agvs, layout)


def median_s(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, nargs="+", default=[5, 10, 20, 40, 80])
    parser.add_argument("--agvs", type=int, nargs="+", default=[5, 20, 50, 100])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; median of {args.repeats}")
    rng = np.random.default_rng(1)
    routes = []
    print(f"{'stops':>6} {'solve ms':>10} {'ms/stop':>8} {'trucks':>7}")
    for n in args.stops:
        obs = route_instance(n, rng)
        plan = plan_routes(obs, CvrptwParams())
        seconds = median_s(lambda obs=obs: plan_routes(obs, CvrptwParams()), args.repeats)
        routes.append((n, seconds))
        print(f"{n:>6} {1e3 * seconds:>10.1f} {1e3 * seconds / n:>8.2f} {len(plan.routes):>7}")
    matches = []
    print(f"{'agvs':>6} {'assign ms':>10} {'ms/request':>10}")
    for n in args.agvs:
        obs = agv_instance(n, rng)
        idle = list(obs.agvs)
        seconds = median_s(
            lambda obs=obs, idle=idle: assign(obs, idle, AssignmentParams()), args.repeats
        )
        matches.append((n, seconds))
        print(f"{n:>6} {1e3 * seconds:>10.2f} {1e3 * seconds / n:>10.3f}")
    save_growth_plot(
        "solver_size",
        x_label="stops / requests (= idle AGVs)",
        y_label="wall s per decision",
        series={"cvrptw (stops)": routes, "assignment (requests)": matches},
        title="optimisers: solve time per decision",
    )
    for name, points in (("route plan", routes), ("assignment", matches)):
        (n0, t0), (n1, t1) = points[0], points[-1]
        print(
            f"{name}: {n1 / n0:.0f}x the size costs {t1 / t0:.1f}x the time "
            f"(per unit: {(t1 / n1) / (t0 / n0):.2f}x)"
        )


if __name__ == "__main__":
    main()
