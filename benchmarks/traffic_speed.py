"""twin's vehicle updates per second: bare city against the scenario with its detectors.

For each grid size N (N x N signalised junctions, 200 m blocks, one lane, Poisson trips
at ``--rate`` trips/s for ``--hours``, fixed-time signals) the benchmark city runs through
the scenario users run, ``traffic/grid10x10-v0`` with ``grid.rows = grid.cols = N``:

- **detectors**: the scenario as a config gives it, with its default queue detectors
  (every 5 s) and stop-line and upstream loops (every 30 s), each delivered ~0.5 s later
  (the same defaults as ``traffic/sumo-net-v0``);
- **bare**: the same scenario with ``detectors`` and ``loop_detectors`` off.

Both run the same trips (same seed), so they make the same vehicle updates (vehicles on
the network summed over 1 s ticks); speed is updates per wall second of ``world.run``
(building and Numba's compilation left out: a small warm-up city runs first). Sizes and
modes alternate within each round, so a busy machine slows both alike; figures are
medians over the rounds. ``--resco NAME ...`` adds RESCO's real cities (``sumo-rl``'s
sumocfgs, through ``traffic/sumo-net-v0``) in the same two modes.

It prints, last, the two ratios issue 19 sets targets for: detectors / bare updates/s
at the reference size (``--reference``, >= 0.8), and 30x30 / 10x10 updates/s with the
detectors (>= 1/1.5: "within 1.5x"); and writes ``docs/benchmarks/traffic_speed.png``
(wall microseconds per vehicle update against junctions, both modes).

    python benchmarks/traffic_speed.py [--sizes 5 10 20 30] [--rounds 3] [--resco cologne1]
"""

from __future__ import annotations

import os

# One thread, set before Numba is imported (as traffic_vs_sumo.py runs it).
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import statistics
import time
from typing import Any

from growth import save_growth_plot

from twin.core.run import PreparedRun, prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_HOUR

POLICY = "signals/fixed-time-v0"
MODES = ("bare", "detectors")
BARE = {"detectors": None, "loop_detectors": None}
SEED = 1


def grid_run(size: int, rate_per_s: float, hours: float, mode: str) -> tuple[PreparedRun, float]:
    """The benchmark city of ``size`` x ``size`` junctions, built, not yet run."""
    horizon_s = hours * SECONDS_PER_HOUR
    params: dict[str, Any] = {
        "grid": {"rows": size, "cols": size},
        "demand": {"rates_per_s": [rate_per_s]},
        "demand_horizon_s": horizon_s,
    }
    if mode == "bare":
        params.update(BARE)
    config = ScenarioConfig(
        id="traffic/grid10x10-v0", params=params, horizon_s=horizon_s, tick_s=60.0
    )
    return prepare_run(config, POLICY, SEED), horizon_s


def resco_run(name: str, mode: str) -> tuple[PreparedRun, float]:
    """RESCO's city ``name`` through ``traffic/sumo-net-v0``, its config's own window."""
    from twin.traffic.sumo_tools import resco_configs
    from twin.traffic.sumocfg import read_sumocfg

    sumocfg = resco_configs()[name]
    horizon_s = read_sumocfg(sumocfg).duration_s
    params: dict[str, Any] = {"sumocfg": str(sumocfg)}
    if mode == "bare":
        params.update(BARE)
    config = ScenarioConfig(
        id="traffic/sumo-net-v0", params=params, horizon_s=horizon_s, tick_s=60.0
    )
    return prepare_run(config, POLICY, SEED), horizon_s


def timed(run: PreparedRun, horizon_s: float) -> tuple[int, float, dict[str, float]]:
    """(vehicle updates, wall seconds of ``world.run``, a few KPIs)."""
    started = time.perf_counter()
    run.world.run(horizon_s)
    wall_s = time.perf_counter() - started
    city = run.scenario.city  # type: ignore[attr-defined]
    kpis = run.scenario.kpis(run.world)
    names = ("trips_completed", "trip_duration_mean_s", "network_co2_kg")
    return city.vehicle_updates, wall_s, {k: kpis[k].value for k in names}


def warm_up() -> None:
    """Compile (or load) the kernel before anything is timed."""
    for mode in MODES:
        run, _ = grid_run(2, 0.2, 0.05, mode)
        run.world.run(120.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--reference", type=int, default=10, help="size of the first ratio")
    parser.add_argument("--rate", type=float, default=2.0, help="trips per second")
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--resco", nargs="*", default=[], help="RESCO cities to add")
    args = parser.parse_args()
    warm_up()
    cases: list[tuple[str, Any]] = [(f"{n}x{n}", n) for n in args.sizes]
    cases += [(name, name) for name in args.resco]
    walls: dict[tuple[str, str], list[float]] = {}
    ratios: dict[str, list[float]] = {}
    updates: dict[tuple[str, str], int] = {}
    kpis: dict[tuple[str, str], dict[str, float]] = {}
    for r in range(args.rounds):
        for label, case in cases:
            # Alternate which mode goes first, so neither always runs on a warmer cache.
            order = MODES if r % 2 == 0 else MODES[::-1]
            wall_of = {}
            for mode in order:
                if isinstance(case, int):
                    run, horizon_s = grid_run(case, args.rate, args.hours, mode)
                else:
                    run, horizon_s = resco_run(case, mode)
                n_updates, wall_s, kpis[label, mode] = timed(run, horizon_s)
                updates[label, mode] = n_updates
                walls.setdefault((label, mode), []).append(wall_s)
                wall_of[mode] = wall_s
            ratios.setdefault(label, []).append(wall_of["bare"] / wall_of["detectors"])
            print(f"round {r + 1} {label}: bare {wall_of['bare']:.3f} s, "
                  f"detectors {wall_of['detectors']:.3f} s", flush=True)  # fmt: skip

    def ups(label: str, mode: str) -> float:
        return updates[label, mode] / statistics.median(walls[label, mode])

    print(f"\n{'city':>12s}{'updates':>12s}{'bare ups':>13s}{'detect. ups':>13s}"
          f"{'det/bare':>10s}{'us/update':>11s}  KPIs equal")  # fmt: skip
    for label, _ in cases:
        same = kpis[label, "bare"] == kpis[label, "detectors"]
        assert updates[label, "bare"] == updates[label, "detectors"]
        print(
            f"{label:>12s}{updates[label, 'bare']:12,d}{ups(label, 'bare'):13,.0f}"
            f"{ups(label, 'detectors'):13,.0f}{statistics.median(ratios[label]):9.2f}x"
            f"{1e6 / ups(label, 'detectors'):11.3f}  {same}"
        )
    grid_labels = [(n, f"{n}x{n}") for n in args.sizes]
    save_growth_plot(
        "traffic_speed",
        x_label="junctions (N x N grid)",
        y_label="wall us per vehicle update",
        series={
            mode: [(n * n, 1e6 / ups(label, mode)) for n, label in grid_labels] for mode in MODES
        },
        title=f"traffic: cost per vehicle update, {args.rate:g} trips/s for {args.hours:g} h",
        linear_reference=False,
    )
    reference = f"{args.reference}x{args.reference}"
    if reference in ratios:
        print(
            f"detectors / bare updates/s at {reference} (median of {args.rounds} rounds; "
            f"target >= 0.8): {statistics.median(ratios[reference]):.2f}"
        )
    if "10x10" in ratios and "30x30" in ratios:
        size_ratio = ups("30x30", "detectors") / ups("10x10", "detectors")
        print(
            "30x30 / 10x10 updates/s, with detectors (target >= 0.67, within 1.5x): "
            f"{size_ratio:.2f}"
        )


if __name__ == "__main__":
    main()
