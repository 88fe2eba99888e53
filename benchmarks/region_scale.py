"""The coupled region against the sum of its parts run alone.

The region (``region/coupled-v0`` by default) runs the plant, the supply network, the
city and the cloud in one World. Each part is then run alone, in a World of its own,
with the same params for the same horizon:

- the plant: ``factory/flowline-v0`` with the region's factory params;
- the supply network: its own scenario class with the region's supply params (the city
  road lengths on the placed lanes, trucks on the distance / speed model, production by
  capacity);
- the city: the region's city params on ``traffic/grid4x4-v0`` (background trips only,
  no trucks);
- the cloud: ``cloud/diurnal-v0`` with the region's cloud params and the ingestion rate
  the region sets from the sensors.

Wall times are medians over rounds (parts and region alternate within a round, so drift
of the machine hits both); each part is warmed up once first (Numba compiles its
kernels), as is the region. The ratio printed last is region wall / sum of the parts'
walls: the price of coupling (ports, on-call truck trips, one event calendar for the
plant, the supply chain and the city; the cloud runs ahead on a side clock).

The plot (``docs/benchmarks/region_scale.png``) shows how both grow with the horizon: one
more run of the region and of each part at a quarter and at half of ``--days``, beside the
medians at ``--days``.

A third figure (``--turn-s``, 60 s by default) runs the same four parts alone, in worlds
of their own with nothing between them, but advanced in turns of that many simulated
seconds: the region's interleaving of their work without its coupling. Where that costs
as much as the region, the price is the interleaving (each part's code and data leave
the processor's caches and branch history between its turns), not the coupling.

Usage: python benchmarks/region_scale.py [--scenario ID] [--days D] [--rounds R]
Target (issue 22): ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from typing import Any

from growth import save_growth_plot

from twin.core.policy import PolicyContext
from twin.core.run import PreparedRun, default_registry, prepare_run, resolve_policy, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.core.world import World
from twin.region.scenario import Region
from twin.supply.config import SupplyParams
from twin.supply.scenario import SupplyScenario


def parts(region: Region) -> dict[str, tuple[str, dict[str, Any], str]]:
    """Scenario id, params and policy of each part, from a built region."""
    supply = region.network.params.model_copy(update={"transport_policy": "transport/ship-now-v0"})
    return {
        "factory": (
            "factory/flowline-v0",
            region.plant.params.model_dump(mode="json"),
            "maintenance/run-to-failure-v0",
        ),
        "supply": ("supply", supply.model_dump(mode="json"), "replenishment/base-stock-v0"),
        "traffic": (
            "traffic/grid4x4-v0",
            region.params.city.model_dump(mode="json"),
            "signals/fixed-time-v0",
        ),
        "cloud": (
            "cloud/diurnal-v0",
            region.cloud.params.model_dump(mode="json"),
            "scaling/hpa-v0",
        ),
    }


class _RegionSupply(SupplyScenario):
    """The region's supply network as a scenario of its own (any sites allowed)."""

    id = "supply/region-part"


class _Part:
    """One part built alone, run to the horizon with ``advance`` and finished with its
    KPIs: the same work ``simulate`` does, in slices if asked."""

    def __init__(
        self, scenario_id: str, params: dict[str, Any], policy: str, horizon_s: float, seed: int
    ) -> None:
        self.run: PreparedRun | None = None
        if scenario_id != "supply":
            config = ScenarioConfig(id=scenario_id, params=params, horizon_s=horizon_s)
            self.run = prepare_run(config, policy, seed)
            run = self.run
            self.world, self.kpis = run.world, lambda: run.result(wall_s=0.0)
            return
        # The region's network is no registered scenario's: build its world as prepare_run does.
        world = World(seed, registry=default_registry())
        scenario = _RegionSupply(SupplyParams.model_validate(params))
        member = resolve_policy(policy, {}, world.registry)
        member.reset(
            PolicyContext(scenario.id, world.streams[f"policy.{member.id}"], scenario.policy_info())
        )
        scenario.build(world, member)
        self.world, self.kpis = world, lambda: scenario.kpis(world)


def run_part(
    scenario_id: str, params: dict[str, Any], policy: str, horizon_s: float, seed: int
) -> float:
    """Wall seconds of one part run alone (build, run, KPIs), as ``simulate`` times it."""
    if scenario_id != "supply":
        started = time.perf_counter()
        simulate(ScenarioConfig(id=scenario_id, params=params, horizon_s=horizon_s), policy, seed)
        return time.perf_counter() - started
    started = time.perf_counter()
    part = _Part(scenario_id, params, policy, horizon_s, seed)
    part.world.run(horizon_s)
    part.kpis()
    return time.perf_counter() - started


def run_parts_in_turns(
    pieces: dict[str, tuple[str, dict[str, Any], str]], horizon_s: float, seed: int, turn_s: float
) -> float:
    """Wall seconds of every part alone, in worlds of their own with nothing between them,
    advanced in turns of ``turn_s`` simulated seconds (build, run, KPIs): the region's
    work interleaved in time as the region interleaves it, without its coupling."""
    started = time.perf_counter()
    built = [_Part(sid, params, policy, horizon_s, seed) for sid, params, policy in pieces.values()]
    with contextlib.ExitStack() as watched:
        for part in built:  # each policy watched, as simulate watches it
            if part.run is not None:
                watched.enter_context(part.run.watched())
        now = 0.0
        while now < horizon_s:
            now = min(now + turn_s, horizon_s)
            for part in built:
                part.world.advance(now)
    for part in built:
        part.world.finish()
        part.kpis()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="region/coupled-v0")
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--turn-s",
        type=float,
        default=60.0,
        help="simulated seconds per turn of the parts run in turns (0: leave that row out)",
    )
    args = parser.parse_args()
    horizon_s = args.days * SECONDS_PER_DAY
    config = ScenarioConfig(id=args.scenario, horizon_s=horizon_s)
    built = prepare_run(config, "region/policy-set-v0", 1, registry=default_registry())
    assert isinstance(built.scenario, Region)
    pieces = parts(built.scenario)

    def region_wall() -> float:
        started = time.perf_counter()
        simulate(config, "region/policy-set-v0", 1)
        return time.perf_counter() - started

    print(f"warming up (Numba) on {args.scenario}, {args.days:g} simulated days per run")
    region_wall()
    for sid, params, policy in pieces.values():
        run_part(sid, params, policy, SECONDS_PER_DAY / 4, 1)
    region_walls: list[float] = []
    turn_walls: list[float] = []
    part_walls: dict[str, list[float]] = {name: [] for name in pieces}
    for r in range(args.rounds):
        region_walls.append(region_wall())
        for name, (sid, params, policy) in pieces.items():
            part_walls[name].append(run_part(sid, params, policy, horizon_s, 1))
        if args.turn_s > 0:
            turn_walls.append(run_parts_in_turns(pieces, horizon_s, 1, args.turn_s))
        print(
            f"round {r + 1}: region {region_walls[-1]:.2f} s, parts "
            + ", ".join(f"{n} {w[-1]:.2f} s" for n, w in part_walls.items())
            + (f", parts in turns {turn_walls[-1]:.2f} s" if turn_walls else "")
        )
    region_s = statistics.median(region_walls)
    medians = {name: statistics.median(w) for name, w in part_walls.items()}
    parts_s = sum(medians.values())
    growth: dict[str, list[tuple[float, float]]] = {
        "coupled region": [(args.days, region_s)],
        "sum of the parts alone": [(args.days, parts_s)],
    }
    for fraction in (0.25, 0.5):
        days = args.days * fraction
        short = ScenarioConfig(id=args.scenario, horizon_s=days * SECONDS_PER_DAY)
        started = time.perf_counter()
        simulate(short, "region/policy-set-v0", 1)
        growth["coupled region"].append((days, time.perf_counter() - started))
        growth["sum of the parts alone"].append(
            (
                days,
                sum(
                    run_part(sid, params, policy, days * SECONDS_PER_DAY, 1)
                    for sid, params, policy in pieces.values()
                ),
            )
        )
    save_growth_plot(
        "region_scale",
        x_label="simulated days",
        y_label="wall s",
        series=growth,
        title=f"{args.scenario}: coupled against its parts",
    )
    print(f"{'part':<10} {'wall s':>8} {'sim days/s':>11}")
    for name, wall in medians.items():
        print(f"{name:<10} {wall:>8.2f} {args.days / wall:>11.2f}")
    print(f"{'sum':<10} {parts_s:>8.2f} {args.days / parts_s:>11.2f}")
    print(f"{'region':<10} {region_s:>8.2f} {args.days / region_s:>11.2f}")
    if turn_walls:
        turns_s = statistics.median(turn_walls)
        print(
            f"the parts alone in turns of {args.turn_s:g} s: {turns_s:.2f} s, "
            f"{turns_s / parts_s:.2f}x the sum of the parts (interleaving alone, no coupling)"
        )
    print(f"coupled region / sum of parts: {region_s / parts_s:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
