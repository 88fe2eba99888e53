"""What forking a running world costs, measured side by side with the replay it replaces.

For the 10x10 city (traffic/grid10x10-v0, forked after 30 simulated minutes) and the
1,000-machine plant (factory/plant-1000-v0, forked after one simulated day):

- fork: ``LiveRun.fork`` with the copy-on-write process method, a branch that runs 0 s on
  and returns its KPIs (the fixed cost of one branch: fork, finish, send the result back);
- replay: the same branch by rebuilding the world and replaying it to the fork time
  (what a platform without fork, or a SUMO-style state file, pays);
- look-ahead: four branches each running one look-ahead (15 min city, 1 day plant) with
  the process method, two at a time on the two cores.

Each is the median of ``--rounds`` rounds, alternating, so drift hits both.
Usage: python benchmarks/fork_cost.py [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from twin.core.run import default_registry
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.live.branches import Branch, LiveRun

CASES = (
    ("traffic/grid10x10-v0", 3600.0, 1800.0, 900.0),
    ("factory/plant-1000-v0", 3 * SECONDS_PER_DAY, SECONDS_PER_DAY, SECONDS_PER_DAY),
)


def timed_fork(live: LiveRun, branches: list[Branch], until_s: float, **options: Any) -> float:
    started = time.perf_counter()
    live.fork(branches, until_s, **options)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    registry = default_registry()
    header = ("scenario", "fork s", "replay s", "replay/fork", "4 look-aheads s")
    print(f"{header[0]:<24} {header[1]:>8} {header[2]:>9} {header[3]:>12} {header[4]:>16}")
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
        print(
            f"{scenario:<24} {fork_s:>8.3f} {replay_s:>9.2f} {replay_s / fork_s:>11.0f}x "
            f"{statistics.median(aheads):>16.2f}"
        )


if __name__ == "__main__":
    main()
