"""What the cloud twin offers a live twin: each request class's measured arrival rate, the
twin's expected value of it, a multiplier of each class's load estimated from the
measurements, and that multiplier put into the twin's workload.

**Channels.** Per request class, ``class:<name>/rate_per_s``: the requests of that class
that arrived over the last period (:data:`LIVE_PERIOD_S`, 60 s: Prometheus' default
scrape interval, the rate a cluster's metrics pipeline reports) divided by the period.
The cluster has no entity per class (its entities are ``cluster`` and ``node:<slot>``),
so every channel is measured on the entity ``cluster``; the class is in the name.
A latency channel is not offered: the twin keeps latency histograms since the warm-up,
not per period.

**Prediction** (:func:`expected_arrivals`). The twin's *expected* rate of each class
over the last complete period ``[(n-1) P, n P)``: its pattern rate (day, week, its own
bursts) in each sync window the period covers, times the multiplier that window was
drawn at, weighted by the overlap, over ``P``. Not the twin's own Poisson draws: the
real cluster's count and the twin's are independent draws of the same law, so the
twin's draw would only add its own noise to the gap; against the mean, the gap of a
twin that follows the real load is the real count's Poisson noise alone, which is what
the alarm is sized for. NaN before the first period is complete. Nothing is recorded,
so watching a cluster cannot change it.

**Alarm.** ``max(3 sqrt(E), 5) / P`` requests/s: the three-sigma band of a Poisson count
of mean ``E``, with ``E`` the class's count over a period at its busiest pattern rate
(mean rate times ``1 + diurnal_amplitude`` when it follows the day; bursts left out),
never below five requests (as the traffic twin's count alarm). 3.87 requests/s for the
default ingestion class (100/s, no day pattern), 3.10 for inference (40/s at 1.6x).

**Estimation** (:class:`CloudEstimator`). Per class, the multiplier ``m`` of the twin's
own pattern rate that the measurements show: a reading ``r`` of the period ending at
``t`` is a Poisson count ``n = r P`` of mean ``m E``, ``E`` the twin's expected count
without multiplier over ``[t - P, t)``. With a gamma prior the posterior is gamma;
discounted each reading by ``f = exp(-P / memory_s)`` (exponential forgetting,
``memory_s`` 900 s by default): shape ``a <- f a + n``, rate ``b <- f b + E``, estimate
``a / b``. The prior is ``m = 1`` weighted as one period at the class's mean rate. The
estimated rate is ``m`` times the twin's expected rate (without multiplier) over the
last complete period. On the twin's random-burst scenario the pattern includes the
twin's own bursts; a real burst at another time shows as a raised multiplier while it
lasts (forgotten within ``memory_s`` after it).

**Correction.** ``{"rate_multiplier": {"<class>": m, ...}}``; :func:`correct` sets each
named class's multiplier on its arrival stream
(:attr:`twin.cloud.workload.ClassStream.multiplier`). The sync window being served
was drawn at its start, so a correction takes effect from the next window drawn (at most
``sync_period_s`` later); it draws no random number and is deterministic.

**Truth** (:func:`truth`): the multiplier each class is drawn at now (1.0 unless
corrected) and its expected rate, with multipliers, over the last complete period.

**Measured** (``tests/cloud/test_live.py``). Fed four hours of per-minute rates of a
cluster built with 1.5x every class's rate (seeds 10-19), the multiplier ends within
0.0056 (ingestion), 0.015 (inference), 0.044 (dashboard) and 0.126 (batch) of 1.5,
about two posterior sigmas. After a step in the load the estimate closes 90% of the gap
in 35 readings (``900 s x ln 10``). A shadow corrected every 5 min on such a cluster
raises alarms in its first quarter hour only (ingestion at 6 min). ``predict`` takes
about 20 µs and ``ingest`` 4 µs (``cloud/burst-v0`` at 12 h).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any

from twin.cloud.cluster import Cluster
from twin.cloud.workload import ClassStream
from twin.core.errors import UserError
from twin.core.live import Channel, LiveInterface, Reading

LIVE_PERIOD_S = 60.0
"""Measurement period: Prometheus' default scrape interval, 1 min (docs/PARAMETERS.md)."""

ALARM_SIGMAS = 3.0
"""Width of the alarm band in Poisson standard deviations of a period's count."""

ALARM_MIN_REQUESTS = 5.0
"""The alarm never falls below five requests a period (as the traffic count alarm)."""

MEMORY_S = 900.0
"""Forgetting time of the multiplier posterior (docs/PARAMETERS.md)."""

CORRECTION_KEY = "rate_multiplier"


def class_entity(name: str) -> str:
    """Channel prefix of request class ``name``: ``class:<name>``."""
    return f"class:{name}"


def _multiplier_at(stream: ClassStream, window_start_s: float) -> float:
    """The multiplier the window starting at ``window_start_s`` was drawn at."""
    applied = stream.applied
    k = bisect.bisect_right(applied, window_start_s, key=lambda entry: entry[0]) - 1
    return applied[max(k, 0)][1]


def expected_arrivals(
    cluster: Cluster, index: int, start_s: float, end_s: float, *, multiplied: bool = True
) -> float:
    """Expected arrivals of class ``index`` in ``[start_s, end_s)`` under the twin's
    pattern (step rate per sync window, as drawn), times each window's multiplier when
    ``multiplied``. Windows are drawn at their start: ask only about drawn ones."""
    stream = cluster.class_streams[index]
    sync = cluster.params.sync_period_s
    total = 0.0
    k = math.floor(start_s / sync)
    while k * sync < end_s:
        w0 = k * sync
        overlap = min(w0 + sync, end_s) - max(w0, start_s)
        if overlap > 0:
            rate = stream.rate_at(cluster.pattern, w0 + 0.5 * sync)
            if multiplied:
                rate *= _multiplier_at(stream, w0)
            total += rate * overlap
        k += 1
    return total


def last_period(now_s: float, period_s: float) -> tuple[float, float] | None:
    """``[(n-1) P, n P)``, the last period complete at ``now_s``; None before one."""
    n = math.floor(now_s / period_s + 1e-9)
    if n < 1:
        return None
    return (n - 1) * period_s, n * period_s


def arrivals_so_far(cluster: Cluster) -> list[int]:
    """Arrivals of each class before now (lifetime): what a real cluster's request
    counter reads. The window being served was drawn at its start, so the part of it
    before now is counted from the drawn times."""
    now = float(cluster.env.now)
    out = []
    for i, (times, _) in enumerate(cluster._drawn):
        first, last = (int(x) for x in times.searchsorted((cluster.window_start_s, now)))
        out.append(int(cluster.arrived_by_class[i]) + last - first)
    return out


def alarm_rate(stream: ClassStream, amplitude: float, period_s: float) -> float:
    """Alarm of a class's rate channel, requests/s (module docstring)."""
    peak = stream.rate_per_s * ((1.0 + amplitude) if stream.spec.follows_diurnal else 1.0)
    count = ALARM_SIGMAS * math.sqrt(peak * period_s)
    return max(count, ALARM_MIN_REQUESTS) / period_s


class CloudEstimator:
    """Each class's load multiplier from its measured rates (a discounted gamma-Poisson
    posterior, module docstring).

    Args:
        cluster: the twin whose pattern the multipliers are relative to (read, never
            changed).
        period_s: the readings' period.
        memory_s: forgetting time of the posterior.
    """

    def __init__(
        self, cluster: Cluster, period_s: float = LIVE_PERIOD_S, memory_s: float = MEMORY_S
    ) -> None:
        self.cluster = cluster
        self.period_s = period_s
        self.forget = math.exp(-period_s / memory_s)
        self.index = {class_entity(s.spec.name): s.index for s in cluster.class_streams}
        prior = {class_entity(s.spec.name): s.rate_per_s * period_s for s in cluster.class_streams}
        self.shape = dict(prior)
        self.rate = dict(prior)
        self.ingested = 0

    def ingest(self, reading: Reading) -> None:
        entity, _, quantity = reading.channel.rpartition("/")
        if entity not in self.index or quantity != "rate_per_s":
            return
        end = reading.at_s
        expected = expected_arrivals(
            self.cluster, self.index[entity], end - self.period_s, end, multiplied=False
        )
        if expected <= 0:
            return  # a class the twin expects none of says nothing about its multiplier
        self.shape[entity] = self.forget * self.shape[entity] + reading.value * self.period_s
        self.rate[entity] = self.forget * self.rate[entity] + expected
        self.ingested += 1

    def multiplier(self, entity: str) -> float:
        """Posterior mean multiplier of class ``entity``; 1.0 for a class of rate 0."""
        return self.shape[entity] / self.rate[entity] if self.rate[entity] > 0 else 1.0

    def correction(self, now_s: float) -> dict[str, Any]:
        """Every class's multiplier, once a reading has come in."""
        if not self.ingested:
            return {}
        return {
            CORRECTION_KEY: {
                entity.removeprefix("class:"): self.multiplier(entity) for entity in self.index
            }
        }

    def estimates(self, now_s: float) -> dict[str, float]:
        window = last_period(now_s, self.period_s)
        out: dict[str, float] = {}
        for entity, index in self.index.items():
            multiplier = self.multiplier(entity)
            out[f"{entity}/rate_multiplier"] = multiplier
            if window is None:
                out[f"{entity}/rate_per_s"] = math.nan
                continue
            base = expected_arrivals(self.cluster, index, *window, multiplied=False)
            out[f"{entity}/rate_per_s"] = multiplier * base / self.period_s
        return out


def _expected_rates(cluster: Cluster, period_s: float) -> dict[str, float]:
    window = last_period(float(cluster.env.now), period_s)
    out = {}
    for stream in cluster.class_streams:
        name = f"{class_entity(stream.spec.name)}/rate_per_s"
        if window is None:
            out[name] = math.nan
        else:
            out[name] = expected_arrivals(cluster, stream.index, *window) / period_s
    return out


def correct(cluster: Cluster, correction: dict[str, Any]) -> None:
    """Set the named classes' multipliers from the next sync window on (module docstring)."""
    if not correction:
        return
    extra = sorted(set(correction) - {CORRECTION_KEY})
    multipliers = correction.get(CORRECTION_KEY)
    if extra or not isinstance(multipliers, Mapping):
        raise UserError(
            f"a cloud correction is {{{CORRECTION_KEY!r}: {{class: multiplier}}}}, "
            f"got keys {sorted(correction)}"
        )
    streams = {s.spec.name: s for s in cluster.class_streams}
    checked: dict[str, float] = {}
    for name, value in multipliers.items():
        if name not in streams:
            raise UserError(f"no request class {name!r}; this cluster has {sorted(streams)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"rate multiplier of {name!r} must be a number, not {value!r}")
        if not (math.isfinite(value) and value >= 0):
            raise UserError(f"rate multiplier of {name!r} must be finite and >= 0, not {value}")
        checked[name] = float(value)
    for name, value in checked.items():  # all checked first: a bad one changes nothing
        streams[name].multiplier = value


def cloud_live(period_s: float = LIVE_PERIOD_S) -> LiveInterface[Cluster]:
    """The cloud domain's live interface, each class's rate measured every ``period_s``."""
    if not (math.isfinite(period_s) and period_s > 0):
        raise UserError(f"period_s must be finite and > 0, not {period_s}")

    def channels(cluster: Cluster) -> list[Channel]:
        amplitude = cluster.params.workload.diurnal_amplitude
        return [
            Channel(
                f"{class_entity(stream.spec.name)}/rate_per_s",
                "cluster",
                "requests/s",
                alarm_rate(stream, amplitude, period_s),
                f"{stream.spec.name} requests arrived in {period_s:g} s, per second",
            )
            for stream in cluster.class_streams
        ]

    def predict(cluster: Cluster) -> dict[str, float]:
        return _expected_rates(cluster, period_s)

    def estimator(cluster: Cluster, options: Mapping[str, Any]) -> CloudEstimator:
        memory = options.get("memory_s", MEMORY_S)
        if isinstance(memory, bool) or not isinstance(memory, int | float):
            raise UserError(f"memory_s must be a number, not {memory!r}")
        if not (math.isfinite(memory) and memory > 0):
            raise UserError(f"memory_s must be finite and > 0, not {memory}")
        return CloudEstimator(cluster, period_s, float(memory))

    def truth(cluster: Cluster) -> dict[str, float]:
        out: dict[str, float] = {}
        rates = _expected_rates(cluster, period_s)
        for stream in cluster.class_streams:
            entity = class_entity(stream.spec.name)
            out[f"{entity}/rate_multiplier"] = stream.multiplier
            out[f"{entity}/rate_per_s"] = rates[f"{entity}/rate_per_s"]
        return out

    return LiveInterface(
        description="arrival rate per request class each minute; each class's load "
        "multiplier estimated from them and put into the twin's workload",
        channels=channels,
        predict=predict,
        estimator=estimator,
        correct=correct,
        truth=truth,
    )
