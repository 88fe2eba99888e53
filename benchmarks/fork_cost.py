"""What forking a running world costs, measured side by side with the replay it replaces.

For the 10x10 city (traffic/grid10x10-v0, forked after 30 simulated minutes) and the
1,000-machine plant (factory/plant-1000-v0, forked after one simulated day):

- fork: ``LiveRun.fork`` with the copy-on-write process method, a branch that runs 0 s on
  and returns its KPIs (the fixed cost of one branch: fork, finish, send the result back);
- replay: the same branch by rebuilding the world and replaying it to the fork time
  (what a platform without fork, or a SUMO-style state file, pays);
- look-ahead: four branches each running one look-ahead (15 min city, 1 day plant) with
  the process method, two at a time on the two cores.

Each is the median of ``--rounds`` rounds, alternating, so drift hits both. The city is
also forked (and replayed) after 10 and 20 simulated minutes, the same rounds, for the
growth plot docs/benchmarks/fork_cost.png: wall seconds of one branch against the
simulated time before the fork. The last line printed is replay / fork per scenario.

Usage: python benchmarks/fork_cost.py [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from growth import save_growth_plot

from twin.core.run import default_registry
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.live.branches import Branch, LiveRun

CASES = (
    ("traffic/grid10x10-v0", 3600.0, 1800.0, 900.0),
    ("factory/plant-1000-v0", 3 * SECONDS_PER_DAY, SECONDS_PER_DAY, SECONDS_PER_DAY),
)
GROWTH_FORKS_S = (600.0, 1200.0)
"""Earlier fork times of the city (before its case's 1800 s), for the growth plot only."""


def timed_fork(live: LiveRun, branches: list[Branch], until_s: float, **options: Any) -> float:
    started = time.perf_counter()
    live.fork(branches, until_s, **options)
    return time.perf_counter() - started


def fork_and_replay(
    registry: Any, scenario: str, horizon_s: float, fork_at_s: float, rounds: int
) -> tuple[float, float]:
    """Median seconds of a 0 s branch by fork and by replay, after ``fork_at_s``."""
    config = ScenarioConfig(id=scenario, horizon_s=horizon_s, tick_s=60.0)
    live = LiveRun(config, registry.scenario(scenario).default_policy, 1)
    live.advance(fork_at_s)
    here = [Branch("here")]
    forks, replays = [], []
    for _ in range(rounds):
        forks.append(timed_fork(live, here, fork_at_s, method="process"))
        replays.append(timed_fork(live, here, fork_at_s, method="replay"))
    return statistics.median(forks), statistics.median(replays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    registry = default_registry()
    header = ("scenario", "fork s", "replay s", "replay/fork", "4 look-aheads s")
    print(f"{header[0]:<24} {header[1]:>8} {header[2]:>9} {header[3]:>12} {header[4]:>16}")
    city, city_horizon_s = CASES[0][0], CASES[0][1]
    growth: dict[str, list[tuple[float, float]]] = {"replay": [], "fork": []}
    for fork_at_s in GROWTH_FORKS_S:
        fork_s, replay_s = fork_and_replay(registry, city, city_horizon_s, fork_at_s, args.rounds)
        growth["fork"].append((fork_at_s, fork_s))
        growth["replay"].append((fork_at_s, replay_s))
        print(
            f"  growth: {city} forked at {fork_at_s:g} s: "
            f"fork {fork_s:.3f} s, replay {replay_s:.2f} s"
        )
    ratios = []
    for scenario, horizon_s, fork_at_s, look_ahead_s in CASES:
        config = ScenarioConfig(id=scenario, horizon_s=horizon_s, tick_s=60.0)
        live = LiveRun(config, registry.scenario(scenario).default_policy, 1)
        live.advance(fork_at_s)
        here = [Branch("here")]
        futures = [Branch(f"future {k}", future=k) for k in range(4)]
        forks, replays, aheads = [], [], []
        for _ in range(args.rounds):
            forks.append(timed_fork(live, here, fork_at_s, method="process"))
            replays.append(timed_fork(live, here, fork_at_s, method="replay"))
            ahead_s = fork_at_s + look_ahead_s
            aheads.append(timed_fork(live, futures, ahead_s, method="process", jobs=2))
        fork_s, replay_s = statistics.median(forks), statistics.median(replays)
        ratios.append(f"{scenario} {replay_s / fork_s:.0f}x")
        if scenario == city:
            growth["fork"].append((fork_at_s, fork_s))
            growth["replay"].append((fork_at_s, replay_s))
        print(
            f"{scenario:<24} {fork_s:>8.3f} {replay_s:>9.2f} {replay_s / fork_s:>11.0f}x "
            f"{statistics.median(aheads):>16.2f}"
        )

    save_growth_plot(
        "fork_cost",
        x_label="simulated s before the fork (traffic/grid10x10-v0)",
        y_label="wall s per branch (median)",
        series=growth,
        title="one what-if branch: fork against replay",
    )
    print("replay / fork: " + ", ".join(ratios))


if __name__ == "__main__":
    main()
