"""Overhead of twin over raw SimPy on the same M/M/1 model, measured side by side.

Both models draw the same random numbers (the same named numpy streams, in the same
blocks), so their mean waits must agree exactly: that is the check that they are the same
model. twin runs with its probes and ledger on (servers draw power, so energy and CO2e
are booked on every state change) and the time series off. Runs alternate, raw then
twin, so drift in machine speed hits both; the ratio reported is the median.

Usage: python benchmarks/des_overhead.py [--jobs N] [--rounds R]
Target (issue 2): twin <= 1.15x raw SimPy; stretch 1.05x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import simpy

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.streams import Streams

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
    served = int(result.kpis["throughput_per_h"].value * horizon_s / 3600 + 0.5)
    return result.kpis["wait_mean_s"].value, served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000, help="jobs per run (about)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating raw/twin pairs")
    args = parser.parse_args()
    horizon_s = args.jobs / ARRIVAL_RATE

    through_twin(1_000.0)  # import and first-call costs are not what we measure
    raw_s: list[float] = []
    twin_s: list[float] = []
    for round_ in range(args.rounds):
        start = time.perf_counter()
        raw_wait, raw_jobs = raw_simpy(horizon_s)
        raw_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        twin_wait, twin_jobs = through_twin(horizon_s)
        twin_s.append(time.perf_counter() - start)
        print(
            f"round {round_ + 1}/{args.rounds}: raw {raw_s[-1]:.3f} s, twin {twin_s[-1]:.3f} s",
            flush=True,
        )

    ratios = [t / r for t, r in zip(twin_s, raw_s, strict=True)]
    print()
    print(f"M/M/1, rho = {ARRIVAL_RATE * SERVICE_MEAN_S}, {raw_jobs} jobs per run, seed {SEED}")
    print(f"raw SimPy : median {statistics.median(raw_s):.3f} s, mean wait {raw_wait:.6f} s")
    print(f"twin      : median {statistics.median(twin_s):.3f} s, mean wait {twin_wait:.6f} s")
    print(f"same model: {'yes' if raw_wait == twin_wait else 'NO, mean waits differ'}")
    print(
        f"ratio twin/raw: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.15, stretch <= 1.05"
    )
    per_job_us = (statistics.median(twin_s) - statistics.median(raw_s)) / raw_jobs * 1e6
    print(f"twin overhead per job: {per_job_us:.2f} us")


if __name__ == "__main__":
    main()
