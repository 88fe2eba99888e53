"""twin's vehicle updates per second on the benchmark city (10x10 grid, ~2 trips/s, 1 h).

Prints the number of vehicle updates (vehicles on the network summed over ticks), the
wall time of the run (JIT compilation excluded by a short warm-up run first), and their
ratio. ``build(...)`` and ``run(...)`` are reusable, e.g. by ``traffic_vs_sumo.py``:

    python benchmarks/traffic_speed.py [--rows 10 --cols 10 --rate 2.0 --hours 1]
"""

from __future__ import annotations

import argparse
import time

from models.signals.fixed_time import FixedTime
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, TripTable, poisson_trips
from twin.traffic.network import Network, grid


def build(
    rows: int = 10, cols: int = 10, rate_per_s: float = 2.0, hours: float = 1.0, seed: int = 1
) -> tuple[World, City]:
    """The benchmark city: grid, 200 m blocks, one lane, Poisson trips, fixed time."""
    world = World(seed, tick_s=60.0)
    network = grid(rows, cols, 200.0, 1)
    trips = poisson_trips(
        network,
        RateProfile((0.0,), (rate_per_s,)),
        hours * SECONDS_PER_HOUR,
        world.streams["traffic.demand"],
    )
    return world, City(world, network, trips, FixedTime())


def run_city(world: World, city: City, until_s: float) -> tuple[int, float]:
    """Run to ``until_s``; (vehicle updates, wall seconds)."""
    before = city.vehicle_updates
    started = time.perf_counter()
    world.run(until_s)
    return city.vehicle_updates - before, time.perf_counter() - started


def run_trips(
    network: Network, trips: TripTable, until_s: float, seed: int = 1
) -> dict[str, float]:
    """Run given trips on a given network under fixed time; updates/s and KPIs."""
    world = World(seed, tick_s=60.0)
    city = City(world, network, trips, FixedTime())
    updates, wall = run_city(world, city, until_s)
    kpis = {name: kpi.value for name, kpi in city.kpis().items()}
    return {"updates": updates, "wall_s": wall, "updates_per_s": updates / wall, **kpis}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--cols", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="trips per second")
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    warm_world, warm_city = build(2, 2, 0.2, 0.05)
    run_city(warm_world, warm_city, 120.0)  # compile (or load) the kernel first
    world, city = build(args.rows, args.cols, args.rate, args.hours)
    updates, wall = run_city(world, city, args.hours * SECONDS_PER_HOUR)
    kpis = city.kpis()
    print(f"city: {args.rows}x{args.cols} grid, {len(city.trips)} trips over {args.hours} h")
    print(f"vehicle updates: {updates:,}  wall: {wall:.2f} s  ->  {updates / wall:,.0f} updates/s")
    for name in ("trips_completed", "trip_duration_mean_s", "time_loss_mean_s", "network_co2_kg"):
        print(f"  {name}: {kpis[name].value:.2f} {kpis[name].unit}")


if __name__ == "__main__":
    main()
