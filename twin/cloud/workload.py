"""Request streams: diurnal and weekly rates, bursts, and per-window arrival batches.

Arrivals of one window are drawn in a few numpy calls: a Poisson count at the window's
rate, then that many uniform times (given its count, a Poisson process on an interval
has uniform, independent arrival times) and service times. The rate is held constant
within a window (15 s by default), a step approximation of the smooth day pattern; a
burst starts and ends on the window boundaries it falls in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from twin.cloud.config import CloudParams, RequestClass, Workload
from twin.core.distributions import Deterministic, Distribution, Exponential, Gamma, Lognormal
from twin.core.streams import Streams
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

FloatArray = npt.NDArray[np.float64]
WEEKEND_DAYS = (5, 6)
"""Day 0 of simulated time is a Monday."""


def block_sampler(
    distribution: Distribution, rng: np.random.Generator
) -> Callable[[int], FloatArray]:
    """``n -> n`` draws of ``distribution`` in one numpy call (the law of its ``draws``)."""
    if isinstance(distribution, Exponential):
        mean = distribution.mean
        return lambda n: rng.exponential(mean, n)
    if isinstance(distribution, Deterministic):
        value = distribution.value
        return lambda n: np.full(n, value)
    if isinstance(distribution, Gamma):
        shape = 1.0 / distribution.cv**2
        scale = distribution.mean / shape
        return lambda n: rng.gamma(shape, scale, n)
    if isinstance(distribution, Lognormal):
        sigma2 = math.log1p(distribution.cv**2)
        mu = math.log(distribution.mean) - sigma2 / 2
        sigma = math.sqrt(sigma2)
        return lambda n: rng.lognormal(mu, sigma, n)
    low, high = distribution.low, distribution.high
    return lambda n: rng.uniform(low, high, n)


class LoadPattern:
    """The multiplier of a class's mean rate at any time: day, week and bursts.

    Random bursts are drawn day by day from the stream ``cloud.bursts`` as time reaches
    each day, so the bursts of day ``d`` do not depend on how long the run is.
    """

    def __init__(self, workload: Workload, rng: np.random.Generator) -> None:
        self.workload = workload
        self._rng = rng
        self._bursts: list[tuple[float, float, float]] = [
            (b.start_s, b.start_s + b.duration_s, b.multiplier) for b in workload.bursts
        ]
        self._days_drawn = 0

    def daily(self, time_s: float) -> float:
        """Day and week factor (what a class that follows the diurnal pattern gets)."""
        workload = self.workload
        hour = (time_s % SECONDS_PER_DAY) / SECONDS_PER_HOUR
        factor = 1.0 + workload.diurnal_amplitude * math.cos(
            2.0 * math.pi * (hour - workload.peak_hour) / 24.0
        )
        if int(time_s // SECONDS_PER_DAY) % 7 in WEEKEND_DAYS:
            factor *= workload.weekend_factor
        return factor

    def burst(self, time_s: float) -> float:
        """Product of the multipliers of the bursts in force at ``time_s``."""
        self._draw_days_until(time_s)
        factor = 1.0
        for start, end, multiplier in self._bursts:
            if start <= time_s < end:
                factor *= multiplier
        return factor

    def _draw_days_until(self, time_s: float) -> None:
        workload = self.workload
        if workload.random_bursts_per_day <= 0:
            return
        while self._days_drawn * SECONDS_PER_DAY <= time_s:
            day_start = self._days_drawn * SECONDS_PER_DAY
            count = int(self._rng.poisson(workload.random_bursts_per_day))
            starts = np.sort(self._rng.uniform(day_start, day_start + SECONDS_PER_DAY, count))
            self._bursts.extend(
                (float(s), float(s) + workload.random_burst_duration_s,
                 workload.random_burst_multiplier)
                for s in starts
            )  # fmt: skip
            self._days_drawn += 1


class ClassStream:
    """Arrivals of one request class, window by window, from its own named streams."""

    def __init__(self, index: int, spec: RequestClass, rate_per_s: float, streams: Streams) -> None:
        self.index = index
        self.spec = spec
        self.rate_per_s = rate_per_s
        self.multiplier = 1.0
        """Scales every window drawn from now on: the live twin's correction of the rate
        (:mod:`twin.cloud.live`); 1.0 draws exactly what the pattern alone draws."""
        self.applied: list[tuple[float, float]] = [(0.0, 1.0)]
        """``(window start, multiplier)`` whenever a drawn window's multiplier changed,
        so the rate each past window was drawn at can be told afterwards."""
        self._arrivals = streams[f"cloud.arrivals.{spec.name}"]
        self._service = block_sampler(spec.service, streams[f"cloud.service.{spec.name}"])

    def rate_at(self, pattern: LoadPattern, time_s: float) -> float:
        """The pattern's rate at ``time_s`` (without :attr:`multiplier`)."""
        rate = self.rate_per_s
        if self.spec.follows_diurnal:
            rate *= pattern.daily(time_s)
        if self.spec.bursts:
            rate *= pattern.burst(time_s)
        return rate

    def window(
        self, pattern: LoadPattern, start_s: float, end_s: float
    ) -> tuple[FloatArray, FloatArray]:
        """Sorted arrival times in ``[start_s, end_s)`` and their service times."""
        rate = self.rate_at(pattern, 0.5 * (start_s + end_s)) * self.multiplier
        if self.multiplier != self.applied[-1][1]:
            self.applied.append((start_s, self.multiplier))
        count = int(self._arrivals.poisson(rate * (end_s - start_s))) if rate > 0 else 0
        if count == 0:
            empty = np.empty(0)
            return empty, empty
        times = np.sort(self._arrivals.uniform(start_s, end_s, count))
        return times, self._service(count)


class Backlog:
    """Deferred batch work in cohorts of one arrival hour: origins, services, a deadline.

    A cohort's deadline is that of its oldest request. Hourly cohorts keep the summary a
    policy sees short (a dozen entries for a 12 h deadline) whatever the arrival rate.
    """

    def __init__(self) -> None:
        self._cohorts: list[tuple[list[FloatArray], list[FloatArray], int, float, int]] = []
        self.size = 0
        """Requests held, over every cohort."""

    def add(
        self, origins: FloatArray, services: FloatArray, class_index: int, deadline_s: float
    ) -> None:
        if not origins.size:
            return
        self.size += origins.size
        hour = int(origins[0] // SECONDS_PER_HOUR)
        if self._cohorts:
            last = self._cohorts[-1]
            if last[2] == class_index and last[4] == hour:
                last[0].append(origins)
                last[1].append(services)
                return
        self._cohorts.append(
            ([origins], [services], class_index, float(origins[0]) + deadline_s, hour)
        )

    def summary(self) -> tuple[tuple[int, float], ...]:
        """``(requests, deadline_s)`` per cohort, oldest first."""
        return tuple((sum(part.size for part in c[0]), c[3]) for c in self._cohorts)

    def take(
        self, count: int | None, due_by_s: float
    ) -> tuple[list[tuple[FloatArray, FloatArray, int]], int]:
        """Remove ``count`` oldest requests (all if ``None``) plus every cohort due by
        ``due_by_s``; return the parts taken and how many were taken only because due."""
        taken: list[tuple[FloatArray, FloatArray, int]] = []
        forced = 0
        remaining = math.inf if count is None else count
        kept: list[tuple[list[FloatArray], list[FloatArray], int, float, int]] = []
        for origin_parts, service_parts, cls, deadline, hour in self._cohorts:
            if remaining <= 0 and deadline > due_by_s:
                kept.append((origin_parts, service_parts, cls, deadline, hour))
                continue
            origins = np.concatenate(origin_parts)
            services = np.concatenate(service_parts)
            n = origins.size
            chosen = int(min(n, remaining))
            remaining -= chosen
            if deadline <= due_by_s:
                forced += n - chosen
                chosen = n
            if chosen:
                taken.append((origins[:chosen], services[:chosen], cls))
            if chosen < n:
                kept.append(([origins[chosen:]], [services[chosen:]], cls, deadline, hour))
        self._cohorts = kept
        self.size -= sum(part[0].size for part in taken)
        return taken, forced


def class_streams(params: CloudParams, streams: Streams) -> list[ClassStream]:
    return [
        ClassStream(i, spec, params.class_rate_per_s(spec), streams)
        for i, spec in enumerate(params.classes)
    ]
