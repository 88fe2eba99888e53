"""Overhead of twin over raw SimPy on the same M/M/1 model, measured side by side.

Four versions of one model draw the same random numbers (the same named numpy
streams, in the same blocks), so their mean waits must agree: that is the check that
they are the same model.

- raw SimPy, textbook: a Resource and a process per job, as SimPy's bank and carwash
  examples write it: the anchor of issue 2's target.
- raw SimPy, server processes: servers are processes that take every job from a
  Store (two SimPy events per job for the hand-over), with no instrumentation: twin's
  structure until issue 19, and the anchor of issue 19's target.
- raw SimPy, hand-off: the structure twin's station has used since issue 19: only an
  idle server waits on the Store; a job that finds every server busy joins its list
  without a SimPy event and a server ending a service takes the next job at once (two
  events fewer per queued job). twin against this one is the instrumentation alone.
- twin: ``simulate`` on ``station/mmc-v0`` with probes and ledger on (the server draws
  power, so energy and CO2e are booked) and the time series off.

Runs rotate through the four, so drift in machine speed hits all; ratios are medians
of per-round ratios. The same rotation at a quarter and a half of the jobs gives the
growth plot (docs/benchmarks/des_overhead.png: seconds per run against jobs).

Usage: python benchmarks/des_overhead.py [--jobs N] [--rounds R]
Targets: issue 2, twin <= 1.15x raw SimPy (textbook); issue 19, twin <= 1.05x raw SimPy
with server processes, probes and ledger on. The last line printed is that ratio.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable, Iterator

import simpy
from growth import save_growth_plot

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.streams import Streams
from twin.core.units import SECONDS_PER_HOUR

ARRIVAL_RATE = 0.9
SERVICE_MEAN_S = 1.0
SEED = 12345
BLOCK = 4096


def blocks(rng, mean: float) -> Iterator[float]:
    """Exponential draws in blocks, exactly as twin's ``Draws`` serves them."""
    while True:
        yield from rng.exponential(mean, BLOCK).tolist()


def raw_simpy(horizon_s: float) -> tuple[float, int]:
    """The M/M/1 queue as a SimPy user writes it: a Resource and a process per job."""
    mean_wait, served, _ = raw_simpy_counted(horizon_s)
    return mean_wait, served


def raw_simpy_counted(horizon_s: float) -> tuple[float, int, int]:
    """:func:`raw_simpy`, and the number of events SimPy scheduled (read from its own
    event counter, not assumed); other benchmarks use it as their anchor."""
    streams = Streams(SEED)
    interarrival = blocks(streams["station.arrivals"], 1.0 / ARRIVAL_RATE)
    service = blocks(streams["station.service"], SERVICE_MEAN_S)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    waits = [0.0, 0]

    def job(service_s: float):
        arrived = env.now
        with server.request() as request:
            yield request
            waits[0] += env.now - arrived
            waits[1] += 1
            yield env.timeout(service_s)

    def source():
        while True:
            yield env.timeout(next(interarrival))
            env.process(job(next(service)))

    env.process(source())
    env.run(until=horizon_s)
    return waits[0] / waits[1], int(waits[1]), next(env._eid)


def raw_simpy_servers(horizon_s: float) -> tuple[float, int]:
    """The same queue with the server as a process pulling jobs from a Store."""
    streams = Streams(SEED)
    interarrival = blocks(streams["station.arrivals"], 1.0 / ARRIVAL_RATE)
    service = blocks(streams["station.service"], SERVICE_MEAN_S)
    env = simpy.Environment()
    jobs = simpy.Store(env)
    waits = [0.0, 0]

    def source():
        while True:
            yield env.timeout(next(interarrival))
            jobs.put((env.now, next(service)))

    def server():
        while True:
            arrived, service_s = yield jobs.get()
            waits[0] += env.now - arrived
            waits[1] += 1
            yield env.timeout(service_s)

    env.process(source())
    env.process(server())
    env.run(until=horizon_s)
    return waits[0] / waits[1], int(waits[1])


def raw_simpy_handoff(horizon_s: float) -> tuple[float, int]:
    """Server processes as twin's station runs them: only an idle server waits on the
    Store; a job that finds every server busy joins its list without an event, and a
    server ending a service with jobs waiting takes the oldest at once."""
    streams = Streams(SEED)
    interarrival = blocks(streams["station.arrivals"], 1.0 / ARRIVAL_RATE)
    service = blocks(streams["station.service"], SERVICE_MEAN_S)
    env = simpy.Environment()
    jobs = simpy.Store(env)
    waiting = jobs.items
    idle = [1]
    waits = [0.0, 0]

    def source():
        while True:
            yield env.timeout(next(interarrival))
            if idle[0]:
                idle[0] -= 1
                jobs.put((env.now, next(service)))
            else:
                waiting.append((env.now, next(service)))

    def server():
        while True:
            if waiting:
                arrived, service_s = waiting.pop(0)
            else:
                arrived, service_s = yield jobs.get()
            waits[0] += env.now - arrived
            waits[1] += 1
            yield env.timeout(service_s)
            if not waiting:
                idle[0] += 1

    env.process(source())
    env.process(server())
    env.run(until=horizon_s)
    return waits[0] / waits[1], int(waits[1])


def through_twin(horizon_s: float) -> tuple[float, int]:
    config = ScenarioConfig(
        id="station/mmc-v0",
        params={
            "arrival_rate_per_s": ARRIVAL_RATE,
            "servers": 1,
            "service": {"kind": "exponential", "mean": SERVICE_MEAN_S},
            "server_busy_power_kw": 2.0,
            "server_idle_power_kw": 0.5,
        },
        horizon_s=horizon_s,
    )
    result = simulate(config, "admission/admit-all-v0", SEED)
    served = int(result.kpis["throughput_per_h"].value * horizon_s / SECONDS_PER_HOUR + 0.5)
    return result.kpis["wait_mean_s"].value, served


Model = Callable[[float], tuple[float, int]]


def rotate(
    models: dict[str, Model], horizon_s: float, rounds: int, label: str
) -> tuple[dict[str, list[float]], dict[str, float], int]:
    """``rounds`` rounds of every model in turn: seconds per run, last mean waits, jobs."""
    seconds: dict[str, list[float]] = {name: [] for name in models}
    waits: dict[str, float] = {}
    jobs = 0
    for round_ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            waits[name], jobs = model(horizon_s)
            seconds[name].append(time.perf_counter() - start)
        timings = ", ".join(f"{name} {s[-1]:.3f} s" for name, s in seconds.items())
        print(f"{label} round {round_ + 1}/{rounds}: {timings}", flush=True)
    return seconds, waits, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000, help="jobs per run (about)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the four runs")
    args = parser.parse_args()
    horizon_s = args.jobs / ARRIVAL_RATE
    models: dict[str, Model] = {
        "raw SimPy, textbook": raw_simpy,
        "raw SimPy, server processes": raw_simpy_servers,
        "raw SimPy, hand-off": raw_simpy_handoff,
        "twin": through_twin,
    }

    through_twin(1_000.0)  # import and first-call costs are not what we measure
    growth: dict[str, list[tuple[float, float]]] = {name: [] for name in models}
    for share in (4, 2):  # smaller runs, for the growth plot only
        small, _, small_jobs = rotate(
            models, horizon_s / share, max(1, args.rounds // 2), f"1/{share} of the jobs,"
        )
        for name, times in small.items():
            growth[name].append((small_jobs, statistics.median(times)))
    seconds, waits, jobs = rotate(models, horizon_s, args.rounds, "all jobs,")
    for name, times in seconds.items():
        growth[name].append((jobs, statistics.median(times)))

    print()
    print(f"M/M/1, rho = {ARRIVAL_RATE * SERVICE_MEAN_S}, about {jobs} jobs per run, seed {SEED}")
    for name in models:
        print(
            f"{name:<28}: median {statistics.median(seconds[name]):.3f} s, "
            f"mean wait {waits[name]:.6f} s"
        )
    same = all(math.isclose(w, waits["twin"], rel_tol=1e-9) for w in waits.values())
    print(f"same model (equal mean waits): {'yes' if same else 'NO'}")
    save_growth_plot(
        "des_overhead",
        x_label="jobs per run",
        y_label="wall s per run (median)",
        series=growth,
        title="M/M/1: twin against raw SimPy",
    )
    print(
        "targets: twin / raw SimPy (textbook) <= 1.15 (issue 2); "
        "twin / raw SimPy (server processes) <= 1.05 (issue 19)"
    )
    ratio_lines = []
    for anchor in ("raw SimPy, textbook", "raw SimPy, hand-off", "raw SimPy, server processes"):
        ratios = [t / r for t, r in zip(seconds["twin"], seconds[anchor], strict=True)]
        ratio_lines.append(
            f"ratio twin / {anchor}: median {statistics.median(ratios):.3f} "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
        )
    print("\n".join(ratio_lines))


if __name__ == "__main__":
    main()
