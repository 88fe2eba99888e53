"""twin's traffic kernel against SUMO on identical inputs: vehicle updates per second.

For each grid size, in one process, side by side:

1. ``netgenerate --grid`` builds an N x N grid of signalised junctions (``--block-m``
   blocks, one lane per direction, SUMO's guessed fixed-time programmes: 42 s green and
   3 s yellow per direction, permissive left turns), with a dead-end street attached to
   every border junction;
2. SUMO's ``randomTrips.py`` (fixed ``--seed``) draws one trip every ``--period-s``
   seconds for ``--duration-s`` seconds between fringe streets, routed by ``duarouter``;
3. SUMO runs it to ``--end-s`` with ``--tripinfo-output``, the emissions device on every
   vehicle (emission class ``HBEFA3/PC_G_EU4``, twin's) and ``--duration-log.statistics``;
   its speed is its own ``vehicleUpdatesPerSecond`` (``--statistic-output``): vehicles
   on the network summed over steps, over the wall time of its simulation loop;
4. twin imports the same ``.net.xml`` and ``.rou.xml`` (``twin.traffic.sumo``) and runs
   them with the fixed-time policy to the same end. Its vehicle updates are counted the
   same way (seconds each vehicle spent on the network, per 1 s tick) over the wall time
   of ``world.run``; Numba compiles before the clock starts (a small warm-up city).

Both run on one thread (``NUMBA_NUM_THREADS=1``; SUMO is single-threaded by default) and
both use 1 s steps, SUMO's default. Loading and routing are timed separately and left out
of the ratio, as SUMO leaves them out of its own UPS.

With ``--sumocfg CITY.sumocfg ...`` (or ``--resco`` for RESCO's eight networks from the
``sumo-rl`` package) it measures real cities instead, through the path users run:
``twin sumo-compare`` (:mod:`twin.traffic.compare`), SUMO on the config as it stands and
twin on scenario ``traffic/sumo-net-v0`` with ``sumocfg =`` and the scenario's detectors
on, alternating ``--repeats`` times.

Usage:
    python benchmarks/traffic_vs_sumo.py                      # 10x10 and 30x30, 1 h
    python benchmarks/traffic_vs_sumo.py --sizes 10 --duration-s 600
    python benchmarks/traffic_vs_sumo.py --resco --repeats 2
    python benchmarks/traffic_vs_sumo.py --sumocfg my_city.sumocfg
Targets: grids (issue 5) twin >= 5x SUMO's vehicle updates per second on one thread;
real networks (issue 15) >= 10x on each RESCO network, aim 20x. The grid runs write
``docs/benchmarks/traffic_vs_sumo.png`` (wall time of both against junctions) and print
the per-grid twin / SUMO ratios last; the config runs print the median ratio last.
"""

from __future__ import annotations

import os

# One thread, set before Numba is imported: SUMO runs on one thread too.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from growth import save_growth_plot

from twin.core.registry import Registry, make_policy
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import TripTable
from twin.traffic.kernels import ARRIVED
from twin.traffic.network import Network
from twin.traffic.sumo import read_net, read_routes
from twin.traffic.sumo_tools import (
    generate_grid,
    random_trips,
    resco_configs,
    run_sumo,
    sumo_home,
)

EMISSION_CLASS = "HBEFA3/PC_G_EU4"
FIXED_TIME = "signals/fixed-time-v0"
KPIS = (
    "trips_completed",
    "trip_duration_mean_s",
    "time_loss_mean_s",
    "waiting_time_mean_s",
    "depart_delay_mean_s",
    "trips_vehicle_km",
    "trips_co2_kg",
)


@dataclass
class TwinRun:
    updates: int
    wall_s: float
    load_s: float
    kpis: dict[str, float]


def vehicle_type_file(directory: Path) -> Path:
    """SUMO's default car with twin's emission class (everything else is SUMO's default)."""
    path = directory / "vtype.add.xml"
    path.write_text(
        f'<additional><vType id="DEFAULT_VEHTYPE" emissionClass="{EMISSION_CLASS}"/></additional>\n'
    )
    return path


def fixed_time_policy() -> Any:
    return make_policy(Registry().policy(FIXED_TIME), {})


def run_twin(
    net_file: Path, routes: Path, end_s: float, seed: int, vtype: Path | None = None
) -> TwinRun:
    start = time.perf_counter()
    network = read_net(net_file)
    # The vType file SUMO gets too: without it twin, like SUMO, would charge HBEFA4.
    trips = read_routes(network, *([vtype] if vtype is not None else []), routes)
    load_s = time.perf_counter() - start
    city, world = build_city(network, trips, seed)
    start = time.perf_counter()
    world.run(end_s)
    wall_s = time.perf_counter() - start
    veh = city.veh
    inserted = ~np.isnan(veh.insert_s)
    left = np.where(veh.state == ARRIVED, veh.arrive_s, end_s)
    updates = int(np.round((left[inserted] - veh.insert_s[inserted]) / city.step_s).sum())
    kpis = {name: kpi.value for name, kpi in city.kpis().items()}
    return TwinRun(updates, wall_s, load_s, kpis)


def build_city(network: Network, trips: TripTable, seed: int) -> tuple[City, World]:
    world = World(seed, tick_s=60.0)
    policy = fixed_time_policy()
    city = City(world, network, trips, policy, step_s=1.0)
    return city, world


def warm_up(directory: Path) -> None:
    """Compile the kernel (and load its cache) before anything is timed."""
    net_file = generate_grid(directory / "warm.net.xml", columns=2, rows=2)
    routes = random_trips(net_file, directory / "warm.rou.xml", end_s=60, period_s=5, seed=1)
    run_twin(net_file, routes, 120.0, seed=1)


def compare(size: int, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    where = directory / f"grid{size}"
    where.mkdir()
    net_file = generate_grid(
        where / f"grid{size}.net.xml", columns=size, rows=size, block_m=args.block_m
    )
    start = time.perf_counter()
    routes = random_trips(
        net_file,
        where / f"grid{size}.rou.xml",
        end_s=args.duration_s,
        period_s=args.period_s,
        seed=args.seed,
        # On the trips, so SUMO and twin both read it (twin reads no SUMO option).
        trip_attributes='departSpeed="0"',
    )
    routing_s = time.perf_counter() - start
    end_s = args.end_s if args.end_s is not None else 2 * args.duration_s
    sumo_runs, twin_runs = [], []
    # Alternate, so that a change in the machine's load hits both.
    for _ in range(args.repeats):
        sumo_runs.append(
            run_sumo(
                net_file,
                routes,
                where / "sumo",
                end_s=end_s,
                additional=[vehicle_type_file(where)],
                seed=args.seed,
                extra_args=["--threads", "1"],
            )
        )
        twin_runs.append(
            run_twin(net_file, routes, end_s, args.seed, vtype=vehicle_type_file(where))
        )
    return {
        "size": size,
        "trips": sumo_runs[0].inserted + sumo_runs[0].waiting,
        "end_s": end_s,
        "routing_s": routing_s,
        "sumo_runs": sumo_runs,
        "twin_runs": twin_runs,
    }


def report(result: dict[str, Any]) -> tuple[float, float, float]:
    """Print one grid's table; (median SUMO wall s, median twin wall s, median of the
    per-round twin / SUMO updates/s ratios)."""
    sumo_runs, twin_runs = result["sumo_runs"], result["twin_runs"]
    sumo_ups = [run.updates_per_s for run in sumo_runs]
    twin_ups = [run.updates / run.wall_s for run in twin_runs]
    # Runs of one simulator are deterministic: the same updates, only the clock varies.
    best_sumo = sumo_runs[sumo_ups.index(max(sumo_ups))]
    best_twin = twin_runs[twin_ups.index(max(twin_ups))]
    sumo, twin = best_sumo, best_twin
    print(
        f"\ngrid {result['size']}x{result['size']}: {result['trips']} trips, "
        f"simulated to {result['end_s']:.0f} s, best of {len(sumo_runs)} alternating runs"
    )
    print(f"{'':28s}{'SUMO':>14s}{'twin':>14s}")
    print(f"{'vehicle updates':28s}{sumo.updates_per_s * sumo.wall_s:14,.0f}{twin.updates:14,d}")
    print(f"{'wall s (simulation loop)':28s}{sumo.wall_s:14.2f}{twin.wall_s:14.2f}")
    print(f"{'vehicle updates per s':28s}{max(sumo_ups):14,.0f}{max(twin_ups):14,.0f}")
    print(f"{'  median of the runs':28s}{statistics.median(sumo_ups):14,.0f}", end="")
    print(f"{statistics.median(twin_ups):14,.0f}")
    ratios = [t / s for t, s in zip(twin_ups, sumo_ups, strict=True)]
    print(f"{'ratio twin / SUMO (best)':28s}{'':14s}{max(twin_ups) / max(sumo_ups):13.2f}x")
    print(f"{'  per round':28s}{'':14s}  " + " ".join(f"{r:.2f}x" for r in ratios))
    print(f"{'twin import (net + routes) s':28s}{'':14s}{twin.load_s:14.2f}")
    print(f"{'SUMO teleports':28s}{sumo.teleports:14d}")
    summary = sumo.trips.summary()
    for name in KPIS:
        s, t = summary[name], twin.kpis[name]
        ratio = t / s if s else float("nan")
        print(f"{name:28s}{s:14.2f}{t:14.2f}   twin/SUMO {ratio:5.3f}")
    return (
        statistics.median(run.wall_s for run in sumo_runs),
        statistics.median(run.wall_s for run in twin_runs),
        statistics.median(ratios),
    )


def compare_configs(configs: list[Path], repeats: int, seed: int) -> None:
    """Each config ``repeats`` times, SUMO and twin alternating (``twin sumo-compare``);
    the median over configs of their median ratio, last."""
    from twin.traffic.compare import compare

    print(f"{'config':24s}{'SUMO ups':>12s}{'twin ups':>12s}{'ratio':>8s}  per round")
    medians = []
    for config in configs:
        runs = [compare(config, seed=seed) for _ in range(repeats)]
        sumo_ups = [run.sumo.updates_per_s for run in runs]
        twin_ups = [run.twin.updates_per_s for run in runs]
        ratios = " ".join(f"{t / s:.1f}x" for t, s in zip(twin_ups, sumo_ups, strict=True))
        print(
            f"{config.stem:24s}{statistics.median(sumo_ups):12,.0f}"
            f"{statistics.median(twin_ups):12,.0f}"
            f"{statistics.median(twin_ups) / statistics.median(sumo_ups):7.1f}x  {ratios}",
            flush=True,
        )
        medians.append(statistics.median(twin_ups) / statistics.median(sumo_ups))
    print(
        f"twin / SUMO vehicle updates per second, median over {len(configs)} "
        f"config(s): {statistics.median(medians):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30], help="grid sizes N")
    parser.add_argument("--duration-s", type=float, default=3600.0, help="demand duration")
    parser.add_argument("--period-s", type=float, default=0.5, help="seconds between trips")
    parser.add_argument("--end-s", type=float, default=None, help="default 2 x duration")
    parser.add_argument("--block-m", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each")
    parser.add_argument("--keep", type=Path, default=None, help="keep the files here")
    parser.add_argument("--sumocfg", type=Path, nargs="+", help="real cities instead of grids")
    parser.add_argument("--resco", action="store_true", help="RESCO's eight networks")
    args = parser.parse_args()
    print(f"SUMO from {sumo_home()}; NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}")
    if args.sumocfg or args.resco:
        configs = list(args.sumocfg or []) + (list(resco_configs().values()) if args.resco else [])
        compare_configs(configs, args.repeats, args.seed)
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        warm_up(directory)
        summary = {size: report(compare(size, args, directory)) for size in args.sizes}
    save_growth_plot(
        "traffic_vs_sumo",
        x_label="junctions (N x N grid)",
        y_label="wall s of the simulation loop",
        series={
            "SUMO": [(size * size, sumo_s) for size, (sumo_s, _, _) in summary.items()],
            "twin": [(size * size, twin_s) for size, (_, twin_s, _) in summary.items()],
        },
        title=f"one trip every {args.period_s:g} s for {args.duration_s:g} s, medians",
    )
    print()
    for size, (_, _, ratio) in summary.items():
        print(f"twin / SUMO vehicle updates per second, {size}x{size} (median of rounds): "
              f"{ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
