"""What the traffic twin offers a live twin: the stop-line loops a city has, the twin's
own values of them, and inflows and queues estimated from the counts.

**Channels.** Every incoming lane of every signalised intersection has a loop 1 m before
its stop line (the twin's stop-line loop, :meth:`twin.traffic.city.City._build_net`; the
SUMO reality, :mod:`twin.live.sumo_reality`, places its e1 loops 1 m behind a halted
car's front too, which is 2 m before SUMO's line). Per period
(:data:`LIVE_PERIOD_S` unless ``traffic_live(period_s)`` says otherwise) it publishes
``lane:<edge>_<k>/count`` (vehicles that crossed it) and ``lane:<edge>_<k>/occupancy``
(% of the period a vehicle covered it); ``k`` numbers the edge's car lanes from the
right (:func:`lane_entity`), SUMO's lane id when every lane of the edge allows cars.

**Prediction.** :func:`predict` gives the twin's count and occupancy over the last
complete period ``[(n-1) P, n P)``. The twin's loop counters are cumulative, so a small
recorder (a SimPy process, started by the first of :func:`channels`, :func:`predict`,
the estimator or :func:`truth` on a city) takes them at every period end, ``step_s``
early as :class:`twin.traffic.loops.LoopBank` does, so that a period holds the moves
SUMO's e1 loop counts in it. Before a period has been recorded whole (or across the
warm-up's reset) the values are NaN. The twin counts a vehicle when its front crosses
the loop and SUMO when its back leaves it: at most the vehicle on the loop at a period
end moves between two periods.

**Alarm.** Counts: ``max(5, 3 sqrt(E))`` vehicles, the three-sigma band of a Poisson
count of mean ``E``, with ``E`` the count of a lane at half its saturation flow over a
period (HCM base saturation flow, 1900 veh/h/lane): 11.9 vehicles for 60 s. Occupancy:
50 points of %: twin and SUMO on grid4x4 without any fault differ by more in 1.2% of
lane-periods (by more than 25 points in 2.6%), when a car stands over the loop in one
and not the other. Both are in docs/PARAMETERS.md, "Live twin: traffic estimation".

**Estimation** (:class:`TrafficEstimator`). Inflow per lane: the posterior mean of a
Poisson rate under a gamma prior, discounted each period by ``exp(-P / memory_s)``
(exponential forgetting, memory the HCM's 15-min analysis period): shape ``a <- f a +
count``, rate ``b <- f b + P``, estimate ``a / b`` veh/s. A lane whose queue never clears
counts its discharge, not its demand: the estimate is the lane's served flow, which
equals its inflow while its queue is bounded. Queue per lane (time-mean halting
vehicles over the period): the loop is covered ``occ P`` seconds, of which the counted
vehicles passing at the lane's speed account for ``n l / v`` (``l`` = 5 m, SUMO's
passenger car); the rest, ``S``, a vehicle stands at the stop line (red). Vehicles
arriving at rate ``inflow`` during it queue behind it (deterministic arrivals, one red
per period, Webster's uniform-delay model), a mean of ``inflow S^2 / (2 P)`` over the
period. It is a rough model; the measured error is in tests/traffic/test_live.py.

**Truth** (:func:`truth`, to score the estimates on a world that knows them): a lane's
inflow is the vehicles over its upstream loop (2 s before the stop line at the speed
limit) per second in the last period; its queue the time-mean of its halting vehicles
(<= 0.1 m/s) over that period.

**Correction.** None: the twin's demand is a trip table drawn when the city is built
(Poisson trips or a SUMO route file), and the kernel has no way to add or remove trips
while it runs, so an estimated inflow cannot be put into it honestly. ``correction``
returns ``{}`` and :func:`correct` refuses anything else.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Generator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.core.errors import UserError
from twin.core.live import Channel, LiveInterface, Reading
from twin.traffic.city import City
from twin.traffic.kernels import STOP_LOOP, UPSTREAM_LOOP

LIVE_PERIOD_S = 60.0
"""Detector period of the live twin: one reading per loop a minute (docs/PARAMETERS.md)."""

SATURATION_FLOW_VEH_S = 1900.0 / 3600.0
"""HCM base saturation flow, 1900 veh/h per lane (docs/PARAMETERS.md)."""

COUNT_ALARM_MIN_VEH = 5.0
"""The count alarm never falls below five vehicles (docs/PARAMETERS.md)."""

OCCUPANCY_ALARM_PCT = 50.0
"""Occupancy divergence alarm, percentage points (docs/PARAMETERS.md)."""

MEMORY_S = 900.0
"""Forgetting time of the inflow estimate: the HCM's 15-min analysis period."""

PRIOR_RATE_VEH_S = 1.0 / 60.0
"""Prior mean inflow (one vehicle a minute), weighted as one period of data."""

VEHICLE_LENGTH_M = 5.0
"""SUMO's default passenger car length, for the time a passing car covers a loop."""


def lane_entity(edge_id: str, car_lane: int) -> str:
    """Entity of car lane ``car_lane`` (from the right, over the lanes cars may use) of
    edge ``edge_id``: ``lane:<edge>_<k>``. The SUMO reality names its loops so."""
    return f"lane:{edge_id}_{car_lane}"


def detector_lanes(city: City) -> dict[str, int]:
    """Entity -> kernel lane of every incoming lane of every signalised intersection,
    in intersection then movement order."""
    arrays, network = city.arrays, city.network
    out: dict[str, int] = {}
    for inter in city.signalised:
        for m in inter.movements:
            lane = int(arrays.mov_from_lane[m])
            edge = int(arrays.lane_edge[lane])
            k = lane - int(arrays.edge_lane_start[edge])
            out.setdefault(lane_entity(network.edges[edge].id, k), lane)
    return out


class _Periods:
    """The city's cumulative loop and queue counters at the end of each period."""

    def __init__(self, city: City, period_s: float) -> None:
        self.city = city
        self.period_s = period_s
        self.entities = list(detector_lanes(city))
        self.lanes = np.array(list(detector_lanes(city).values()), dtype=np.int64)
        self.last: tuple[float, npt.NDArray[np.float64]] | None = None
        self.before: tuple[float, npt.NDArray[np.float64]] | None = None
        city.world.at_warmup_end(self._reset)
        city.env.process(self._run())

    def _counters(self) -> npt.NDArray[np.float64]:
        lanes, at = self.city.lanes, self.lanes
        return np.stack(
            (
                lanes.det_count[at, STOP_LOOP].astype(np.float64),
                lanes.det_occupied[at, STOP_LOOP].astype(np.float64),
                lanes.det_count[at, UPSTREAM_LOOP].astype(np.float64),
                lanes.queue_sum[at].astype(np.float64),
            )
        )

    def _reset(self) -> None:
        # The warm-up zeroed the counters: no difference across it means anything.
        self.last = self.before = None

    def _run(self) -> Generator[Any, Any, None]:
        env, period, step = self.city.env, self.period_s, self.city.step_s
        k = math.floor(float(env.now) / period) + 1
        if k * period - step < float(env.now):
            k += 1  # this period's end has been taken already: start with the next
        while True:
            close = k * period
            yield env.timeout(max(0.0, close - step - float(env.now)))
            self.before, self.last = self.last, (close, self._counters())
            k += 1

    def period(self) -> tuple[float, npt.NDArray[np.float64]] | None:
        """End and per-lane differences (stop count, occupied ticks, upstream count,
        queue sum) of the last complete period; None before one."""
        if self.last is None or self.before is None:
            return None
        return self.last[0], self.last[1] - self.before[1]


_RECORDERS: weakref.WeakKeyDictionary[City, _Periods] = weakref.WeakKeyDictionary()


def _periods(city: City, period_s: float) -> _Periods:
    recorder = _RECORDERS.get(city)
    if recorder is None:
        recorder = _RECORDERS[city] = _Periods(city, period_s)
    elif recorder.period_s != period_s:
        raise UserError(f"this city's loops are read every {recorder.period_s} s, not {period_s} s")
    return recorder


def count_alarm(period_s: float) -> float:
    """Count divergence alarm: ``max(5, 3 sqrt(E))``, E a lane at half saturation flow."""
    expected = 0.5 * SATURATION_FLOW_VEH_S * period_s
    return max(COUNT_ALARM_MIN_VEH, 3.0 * math.sqrt(expected))


class TrafficEstimator:
    """Inflow (veh/s) and time-mean queue (veh) of every detector lane from its counts
    and occupancies (module docstring: a discounted Poisson-gamma posterior, Webster's
    uniform queue).

    Args:
        entities: the lanes' entities.
        speeds_mps: each lane's speed limit (how long a passing car covers its loop).
        period_s: the readings' period.
        memory_s: forgetting time of the inflow posterior.
    """

    def __init__(
        self,
        entities: list[str],
        speeds_mps: list[float],
        period_s: float = LIVE_PERIOD_S,
        memory_s: float = MEMORY_S,
    ) -> None:
        self.period_s = period_s
        self.forget = math.exp(-period_s / memory_s)
        self.speed = dict(zip(entities, speeds_mps, strict=True))
        self.shape = dict.fromkeys(entities, PRIOR_RATE_VEH_S * period_s)
        self.rate = dict.fromkeys(entities, period_s)
        self.count: dict[str, float] = {}
        self.queue = dict.fromkeys(entities, 0.0)
        self.occupancy: dict[str, tuple[float, float]] = {}  # entity -> (at_s, %)
        self.counted: dict[str, tuple[float, float]] = {}  # entity -> (at_s, count)

    def ingest(self, reading: Reading) -> None:
        entity, _, quantity = reading.channel.rpartition("/")
        if entity not in self.shape:
            return
        if quantity == "count":
            self.shape[entity] = self.forget * self.shape[entity] + reading.value
            self.rate[entity] = self.forget * self.rate[entity] + self.period_s
            self.counted[entity] = (reading.at_s, reading.value)
        elif quantity == "occupancy":
            self.occupancy[entity] = (reading.at_s, reading.value)
        else:
            return
        self._queue(entity)

    def _queue(self, entity: str) -> None:
        """Webster's uniform queue once the period's count and occupancy are both in."""
        counted, occupied = self.counted.get(entity), self.occupancy.get(entity)
        if counted is None or occupied is None or counted[0] != occupied[0]:
            return
        period = self.period_s
        passing_s = counted[1] * VEHICLE_LENGTH_M / max(self.speed[entity], 0.1)
        standing_s = min(max(occupied[1] / 100.0 * period - passing_s, 0.0), period)
        # The standing car itself, and those arriving behind it while it stands.
        self.queue[entity] = (standing_s + self.inflow(entity) * standing_s**2 / 2.0) / period

    def inflow(self, entity: str) -> float:
        """Posterior mean inflow of ``entity``'s lane, veh/s."""
        return self.shape[entity] / self.rate[entity]

    def correction(self, now_s: float) -> dict[str, Any]:
        """Nothing: the twin's trips cannot be changed while it runs (module docstring)."""
        return {}

    def estimates(self, now_s: float) -> dict[str, float]:
        out: dict[str, float] = {}
        for entity in self.shape:
            out[f"{entity}/inflow_veh_s"] = self.inflow(entity)
            out[f"{entity}/queue_veh"] = self.queue[entity]
        return out


def traffic_live(period_s: float = LIVE_PERIOD_S) -> LiveInterface[City]:
    """The traffic domain's live interface, its loops read every ``period_s``."""

    def channels(city: City) -> list[Channel]:
        _periods(city, period_s)
        alarm = count_alarm(period_s)
        out = []
        for entity in detector_lanes(city):
            out.append(
                Channel(
                    f"{entity}/count",
                    entity,
                    "veh",
                    alarm,
                    f"vehicles over the stop-line loop in {period_s:g} s",
                )
            )
            out.append(
                Channel(
                    f"{entity}/occupancy",
                    entity,
                    "%",
                    OCCUPANCY_ALARM_PCT,
                    f"share of {period_s:g} s the stop-line loop was covered",
                )
            )
        return out

    def predict(city: City) -> dict[str, float]:
        recorder = _periods(city, period_s)
        done = recorder.period()
        out: dict[str, float] = {}
        for k, entity in enumerate(recorder.entities):
            if done is None:
                out[f"{entity}/count"] = out[f"{entity}/occupancy"] = math.nan
                continue
            diff = done[1]
            out[f"{entity}/count"] = float(diff[0, k])
            out[f"{entity}/occupancy"] = float(
                min(100.0, 100.0 * diff[1, k] * city.step_s / period_s)
            )
        return out

    def estimator(city: City, options: Mapping[str, Any]) -> TrafficEstimator:
        recorder = _periods(city, period_s)
        speeds = [float(city.arrays.lane_speed_mps[lane]) for lane in recorder.lanes]
        memory = float(options.get("memory_s", MEMORY_S))
        if not (math.isfinite(memory) and memory > 0):
            raise UserError(f"memory_s must be finite and > 0, not {memory}")
        return TrafficEstimator(recorder.entities, speeds, period_s, memory)

    def correct(city: City, correction: dict[str, Any]) -> None:
        if correction:
            raise UserError(
                "the traffic twin takes no corrections: its trips are drawn when the city "
                f"is built (got {sorted(correction)})"
            )

    def truth(city: City) -> dict[str, float]:
        recorder = _periods(city, period_s)
        done = recorder.period()
        ticks = period_s / city.step_s
        out: dict[str, float] = {}
        for k, entity in enumerate(recorder.entities):
            if done is None:
                out[f"{entity}/inflow_veh_s"] = out[f"{entity}/queue_veh"] = math.nan
                continue
            out[f"{entity}/inflow_veh_s"] = float(done[1][2, k]) / period_s
            out[f"{entity}/queue_veh"] = float(done[1][3, k]) / ticks
        return out

    return LiveInterface(
        description="stop-line loop counts and occupancy per incoming lane; inflows and "
        "queues estimated from them; no corrections (trips are fixed at build)",
        channels=channels,
        predict=predict,
        estimator=estimator,
        correct=correct,
        truth=truth,
    )
