"""twin's RL environments against sumo-rl's: environment speed on the same RESCO network.

In one process, side by side, ``--repeats`` times alternating:

1. **sumo-rl** (PyPI ``sumo-rl``, SUMO through ``libsumo``: ``LIBSUMO_AS_TRACI=1``, its
   fastest mode): ``SumoEnvironment`` on a RESCO network (``--network``, default
   grid4x4) with the network, routes and begin time of its ``.sumocfg`` and 3600 s (as
   ``sumo_rl.environment.resco_envs`` sets them up), with its defaults: the default
   observation, reward ``diff-waiting-time``, ``delta_time`` 5 s, yellow 2 s, min green
   5 s; every agent that may act gets a uniformly random action at every step (one draw
   for all of them, as a batched agent would; the same on both sides).
2. **twin**: :class:`twin.rl.parallel.TwinParallelEnv` on ``traffic/sumo-net-v0`` with the
   same ``.sumocfg`` and horizon, the traffic signals' learning interface (sumo-rl's
   observation and ``diff-waiting-time`` reward, phases free between sumo-rl's 5 s min and
   50 s max green: ``adaptive_green_s``), deciding on sumo-rl's 5 s grid
   (``decision_grid_s = 5``: a change's yellow within the 5 s, every agent on the same
   instants; ``--green-after-yellow``: twin's own timing, 5 s of green after each
   change); every agent deciding at the step's instant (``infos[agent]["acts"]``) gets a
   uniformly random action.

twin runs twice: as made (its queue detectors and induction loops sampled through their
noise, dropout and latency models, which sumo-rl's observation never reads), and without
them (``detectors`` and ``loop_detectors`` off: what sumo-rl's SUMO simulates; the same
observation and reward). Only the first counts against the target.

One episode each, from making the environment to the horizon; the wall time covers
making it, ``reset`` (SUMO's start and network load; twin's world build) and every
``step``. Reported: simulated
seconds per wall second (the ratio is the speed-up at equal simulated time), and agent
decisions per second (sumo-rl: the agents whose ``time_to_act`` was true at a step;
twin: the agents with ``acts``). Numba compiles before the clock starts (a first, untimed episode).
Then the factory (``factory/flowline-v0``) and cloud (``cloud/diurnal-v0``) Gymnasium
environments' steps per second with random actions, which have no sumo-rl counterpart.

Episodes of a quarter and a half of the horizon, the same repeats, give
docs/benchmarks/rl_env_speed.png: wall seconds per episode against simulated seconds.
The ratio twin / sumo-rl (simulated seconds per wall second) is printed last.

Usage:
    python benchmarks/rl_env_speed.py                     # grid4x4, 2 repeats
    python benchmarks/rl_env_speed.py --network arterial4x4 --repeats 3
Target (issue 17): twin >= 10x sumo-rl's simulated seconds per wall second, aim 20x.
"""

from __future__ import annotations

import os

# Both sides on one thread; libsumo instead of a TraCI socket: sumo-rl's fastest setting.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ["LIBSUMO_AS_TRACI"] = "1"

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from growth import save_growth_plot

HORIZON_S = 3_600
"""RESCO's episode: sumo-rl's resco_envs set ``num_seconds=3600``."""

DELTA_TIME_S = 5.0
"""sumo-rl's default ``delta_time``: seconds between an agent's actions."""


@dataclass(frozen=True)
class Speed:
    wall_s: float
    simulated_s: float
    decisions: int

    @property
    def sim_per_wall(self) -> float:
        return self.simulated_s / self.wall_s

    @property
    def decisions_per_s(self) -> float:
        return self.decisions / self.wall_s


def random_actions(rng: np.random.Generator, sizes: list[int]) -> list[int]:
    """A uniformly random action of each of the ``sizes``-way choices, in one draw (the
    agent of both sides; ``Generator.integers`` with a list of bounds costs more than the
    draw itself)."""
    return (rng.random(len(sizes)) * np.array(sizes)).astype(np.int64).tolist()


def resco_files(network: str) -> tuple[Path, tuple[Path, ...], float]:
    """The network, route files and begin time of a RESCO network's ``.sumocfg``."""
    from twin.traffic.sumo_tools import resco_configs
    from twin.traffic.sumocfg import read_sumocfg

    config = read_sumocfg(resco_configs()[network])
    return config.net_file, tuple(config.route_files), config.begin_s


def sumo_rl_episode(network: str, seed: int, horizon_s: int = HORIZON_S) -> Speed:
    from twin.traffic.sumo_tools import sumo_home

    os.environ.setdefault("SUMO_HOME", str(sumo_home()))  # the eclipse-sumo wheel's
    from sumo_rl import SumoEnvironment

    net, routes, begin_s = resco_files(network)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    env = SumoEnvironment(
        net_file=str(net),
        route_file=",".join(str(r) for r in routes),
        begin_time=int(begin_s),
        num_seconds=horizon_s,
        single_agent=False,
        sumo_seed=seed,
        sumo_warnings=False,
        add_per_agent_info=False,
    )
    observations = env.reset()
    decisions = len(observations)
    done = False
    while not done:
        deciding = list(observations)
        sizes = [env.action_spaces(ts).n for ts in deciding]
        actions = dict(zip(deciding, random_actions(rng, sizes), strict=True))
        observations, _, dones, _ = env.step(actions)
        decisions += len(observations)
        done = dones["__all__"]
    simulated = env.sim_step - begin_s
    env.close()
    return Speed(time.perf_counter() - started, simulated, decisions)


def twin_episode(
    network: str,
    seed: int,
    horizon_s: float = HORIZON_S,
    *,
    on_grid: bool = True,
    detectors: bool = True,
) -> Speed:
    from twin.rl.parallel import TwinParallelEnv

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    # The network's own sumocfg (files and time window); sumo-rl's min_green 5 s and
    # max_green 50 s for RESCO's static programmes; sumo-rl's delta_time: every agent on
    # one 5 s grid, the yellow within the 5 s (off: 5 s of green after the yellow).
    params: dict[str, object] = {"resco": network, "adaptive_green_s": [5, 50]}
    if on_grid:
        params["decision_grid_s"] = DELTA_TIME_S
    if not detectors:  # what sumo-rl simulates: no queue-detector or loop models
        params.update(detectors=None, loop_detectors=None)
    env = TwinParallelEnv("traffic/sumo-net-v0", params=params, horizon_s=horizon_s)
    _, infos = env.reset(seed=seed)
    decisions = 0
    while env.agents:
        acting = [a for a, info in infos.items() if info["acts"]]
        sizes = [env.action_space(a).n for a in acting]
        actions = dict(zip(acting, random_actions(rng, sizes), strict=True))
        _, _, _, _, infos = env.step(actions)
        decisions += len(acting)
    env.close()
    return Speed(time.perf_counter() - started, horizon_s, decisions)


def gym_steps_per_s(scenario: str, horizon_s: float, seed: int) -> tuple[float, int]:
    from twin.rl.env import TwinEnv

    env = TwinEnv(scenario, horizon_s=horizon_s)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    env.reset(seed=seed)
    steps = 0
    truncated = False
    while not truncated:
        _, _, _, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        steps += 1
    env.close()
    return steps / (time.perf_counter() - started), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default="grid4x4", help="a RESCO network name")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--green-after-yellow",
        action="store_true",
        help="twin's own decision timing (5 s of green after each change's yellow) "
        "instead of sumo-rl's 5 s grid",
    )
    args = parser.parse_args()

    on_grid = not args.green_after_yellow
    # Numba compiles here, untimed.
    twin_episode(args.network, args.seed, horizon_s=60.0, on_grid=on_grid)
    twin_episode(args.network, args.seed, horizon_s=60.0, on_grid=on_grid, detectors=False)
    sumo, ours, bare = [], [], []
    for k in range(args.repeats):
        sumo.append(sumo_rl_episode(args.network, args.seed + k))
        ours.append(twin_episode(args.network, args.seed + k, on_grid=on_grid))
        bare.append(twin_episode(args.network, args.seed + k, on_grid=on_grid, detectors=False))
        print(
            f"repeat {k + 1}: sumo-rl {sumo[-1].sim_per_wall:8.1f} sim-s/s "
            f"{sumo[-1].decisions_per_s:8.1f} decisions/s | twin {ours[-1].sim_per_wall:8.1f} "
            f"sim-s/s {ours[-1].decisions_per_s:8.1f} decisions/s | twin without detector "
            f"models {bare[-1].sim_per_wall:8.1f} sim-s/s",
            flush=True,
        )
    growth: dict[str, list[tuple[float, float]]] = {"twin": [], "sumo-rl (libsumo)": []}
    for share in (4, 2):  # shorter episodes, for the growth plot only
        horizon_s = HORIZON_S // share
        short_sumo, short_twin = [], []
        for k in range(args.repeats):
            short_sumo.append(sumo_rl_episode(args.network, args.seed + k, horizon_s).wall_s)
            short_twin.append(
                twin_episode(args.network, args.seed + k, horizon_s, on_grid=on_grid).wall_s
            )
        growth["sumo-rl (libsumo)"].append((horizon_s, statistics.median(short_sumo)))
        growth["twin"].append((horizon_s, statistics.median(short_twin)))
    growth["sumo-rl (libsumo)"].append((HORIZON_S, statistics.median(s.wall_s for s in sumo)))
    growth["twin"].append((HORIZON_S, statistics.median(s.wall_s for s in ours)))
    sumo_speed = statistics.median(s.sim_per_wall for s in sumo)
    twin_speed = statistics.median(s.sim_per_wall for s in ours)
    bare_speed = statistics.median(s.sim_per_wall for s in bare)
    sumo_decisions = statistics.median(s.decisions_per_s for s in sumo)
    twin_decisions = statistics.median(s.decisions_per_s for s in ours)
    print(
        f"\n{args.network}, {HORIZON_S} s episode, median of {args.repeats}:\n"
        f"  sumo-rl (libsumo): {sumo_speed:9.1f} simulated s per wall s, "
        f"{sumo_decisions:9.1f} agent decisions/s\n"
        f"  twin             : {twin_speed:9.1f} simulated s per wall s, "
        f"{twin_decisions:9.1f} agent decisions/s\n"
        f"  twin, no detector models: {bare_speed:9.1f} simulated s per wall s\n"
        f"  decisions/s twin / sumo-rl: {twin_decisions / sumo_decisions:.1f}x"
    )
    others = (("factory/flowline-v0", 7 * 86_400.0), ("cloud/diurnal-v0", 86_400.0))
    for scenario, horizon in others:
        rate, steps = gym_steps_per_s(scenario, horizon, args.seed)
        print(f"  {scenario}: {rate:9.1f} env steps/s ({steps} steps, random actions)")
    save_growth_plot(
        "rl_env_speed",
        x_label="simulated s per episode",
        y_label="wall s per episode (median)",
        series=growth,
        title=f"RL environment on RESCO {args.network}, random actions",
    )
    print(
        f"ratio twin / sumo-rl (simulated s per wall s): {twin_speed / sumo_speed:.1f}x "
        f"(without twin's detector models: {bare_speed / sumo_speed:.1f}x; "
        "target >= 10x, aim 20x)"
    )


if __name__ == "__main__":
    main()
