"""Induction loops through the core sensor pipeline: counts, occupancy and speed.

Every edge lane has two loops (as SUMO's ``actuated`` lights place them): one at the
stop line and one upstream. The kernel accumulates what crosses and covers them
(``Lanes.det_*``); here three :class:`twin.core.sensors.SensorFeed` objects sample
those accumulators every period and report, per loop, what SUMO's ``e1Detector``
reports per interval: ``nVehContrib`` (vehicles counted), ``occupancy`` (as a fraction
of the interval, not a percentage) and ``speed`` (mean speed of the counted vehicles,
NaN when none passed, where SUMO writes -1).

Channel ``2 * lane + loop`` of each feed is loop ``loop`` (0 stop line, 1 upstream;
:data:`twin.traffic.observation.LOOP_STOP_LINE`, ``LOOP_UPSTREAM``) of edge lane
``lane``. Noise, quantisation, dropout and latency are the core's; a *failed* loop
(a broken loop or a dead detector card: a fraction of loops drawn once per run from
stream ``traffic.loop_failures``) reports nothing for the whole run, so the sensor sees
NaN and the board counts its samples as dropped. The core has no stuck-at mode; a
failed loop here is a dead one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.traffic.kernels import Lanes, copied_rows, snapshots

if TYPE_CHECKING:
    from twin.traffic.feeds import OwnFeeds

Quantity = Literal["count", "occupancy", "speed"]
QUANTITIES: tuple[Quantity, ...] = ("count", "occupancy", "speed")

LOOP_PERIOD_S = 30.0
"""Caltrans PeMS collects loop counts and occupancy every 30 s (docs/PARAMETERS.md)."""


def _count() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=LOOP_PERIOD_S, quantum=1.0, dropout_prob=0.02),
        pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
    )


def _occupancy() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=LOOP_PERIOD_S, dropout_prob=0.02),
        pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
    )


def _speed() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=LOOP_PERIOD_S, noise_std=1.0, dropout_prob=0.02),
        pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
    )


class LoopDetectorConfig(BaseModel):
    """The stop-line and upstream induction loops of every lane, one feed per quantity.

    Each quantity has its own sensor (noise in its own unit: vehicles, fraction of
    time, m/s) and period; a reading covers the time since that feed's previous sample.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: SensorConfig = Field(default_factory=_count, description="vehicles per period")
    occupancy: SensorConfig = Field(
        default_factory=_occupancy, description="fraction of the period a vehicle covered it"
    )
    speed: SensorConfig = Field(
        default_factory=_speed, description="mean speed of the counted vehicles, m/s"
    )
    failed_fraction: float = Field(
        default=0.0, ge=0, le=1, description="share of loops dead for the whole run"
    )

    def feed(self, quantity: Quantity) -> SensorConfig:
        """The sensor configuration of ``quantity``."""
        config: SensorConfig = getattr(self, quantity)
        return config


class LoopSignal:
    """True per-interval readings of every loop of one quantity (a named callable).

    Args:
        lanes: the kernel's lane state (its cumulative loop counters).
        n: number of edge lanes (channels are ``2 * n``).
        quantity: what this signal reports.
        tick_s: the kernel step (occupancy counts occupied ticks).
        clock: returns the simulated time now.
        failed: ``(2 * n,)`` bool: dead loops (always NaN).
        feeds: the city's own feeds, whose copies of the counters give the state at the
            sample's time when the kernel has run past it (None: ``lanes`` as they are).
    """

    def __init__(
        self,
        lanes: Lanes,
        n: int,
        quantity: Quantity,
        tick_s: float,
        clock: Callable[[], float],
        failed: npt.NDArray[np.bool_],
        feeds: OwnFeeds | None = None,
    ) -> None:
        self.lanes = lanes
        self.feeds = feeds
        self.n = n
        self.quantity = quantity
        self.tick_s = tick_s
        self.clock = clock
        self.failed = failed
        self._code = {"count": COUNT, "occupancy": OCCUPANCY, "speed": SPEED}[quantity]
        self.last_s = clock()
        self.restart()

    def restart(self) -> None:
        """The kernel's counters were zeroed (end of warm-up): count from zero again."""
        n = self.n
        self.last_count = np.zeros(2 * n, dtype=np.int64)
        self.last_speed_sum = np.zeros(2 * n)
        self.last_occupied = np.zeros(2 * n, dtype=np.int64)

    def __call__(self) -> npt.NDArray[np.float64]:
        values: npt.NDArray[np.float64] = self.at_times([self.clock()])[0]
        return values

    def at_times(self, times: Sequence[float]) -> npt.NDArray[np.float64]:
        """The readings of samples at ``times`` (ascending, none before the last sample),
        ``(len(times), 2 * n)``, in order: each covers the time since the one before."""
        lanes = self.lanes
        snaps = _NO_COPIES if self.feeds is None else self.feeds.snaps
        values = np.empty((len(times), 2 * self.n))
        self.last_s = loop_readings_at(
            self._code, snaps.loop_s, int(snaps.taken[1]), snaps.loop_count,
            snaps.loop_speed_sum, snaps.loop_occupied, lanes.det_count, lanes.det_speed_sum,
            lanes.det_occupied, self.last_count, self.last_speed_sum, self.last_occupied,
            self.tick_s, np.asarray(times, dtype=np.float64), self.last_s, self.failed, values,
        )  # fmt: skip
        return values


_NO_COPIES = snapshots(0, 0)
"""Copies for a signal that always reads the live counters (no city feeds)."""

COUNT, OCCUPANCY, SPEED = 0, 1, 2
"""Codes of the quantities for :func:`loop_readings`."""


@numba.njit(cache=True)
def loop_readings(
    quantity: int,
    count: npt.NDArray[np.int64],
    speed_sum: npt.NDArray[np.float64],
    occupied: npt.NDArray[np.int64],
    last_count: npt.NDArray[np.int64],
    last_speed_sum: npt.NDArray[np.float64],
    last_occupied: npt.NDArray[np.int64],
    tick_s: float,
    span_s: float,
    failed: npt.NDArray[np.bool_],
    out: npt.NDArray[np.float64],
) -> None:
    """One reading per loop into ``out`` from the cumulative counters now and at the
    previous sample (the ``last_*`` arrays, updated in place for this quantity only):
    vehicles counted; the share of ``span_s`` a vehicle covered the loop (at most 1, 0
    over no time); the mean speed of the counted vehicles (NaN when none). NaN for a
    failed loop. In compiled code because a sample is otherwise a dozen tiny array
    operations; element by element it is the same IEEE arithmetic as the array form.
    """
    for i in range(out.shape[0]):
        if quantity == OCCUPANCY:
            if span_s > 0:
                x = (occupied[i] - last_occupied[i]) * tick_s / span_s
                if x > 1.0:
                    x = 1.0
            else:
                x = 0.0
            last_occupied[i] = occupied[i]
        else:
            passed = count[i] - last_count[i]
            if quantity == COUNT:
                x = float(passed)
            else:
                x = (speed_sum[i] - last_speed_sum[i]) / passed if passed > 0 else math.nan
                last_speed_sum[i] = speed_sum[i]
            last_count[i] = count[i]
        if failed[i]:
            x = math.nan
        out[i] = x


@numba.njit(cache=True)
def loop_readings_at(
    quantity: int,
    copied_s: npt.NDArray[np.float64],
    copied: int,
    copied_count: npt.NDArray[np.int64],
    copied_speed_sum: npt.NDArray[np.float64],
    copied_occupied: npt.NDArray[np.int64],
    count: npt.NDArray[np.int64],
    speed_sum: npt.NDArray[np.float64],
    occupied: npt.NDArray[np.int64],
    last_count: npt.NDArray[np.int64],
    last_speed_sum: npt.NDArray[np.float64],
    last_occupied: npt.NDArray[np.int64],
    tick_s: float,
    times: npt.NDArray[np.float64],
    last_s: float,
    failed: npt.NDArray[np.bool_],
    out: npt.NDArray[np.float64],
) -> float:
    """:func:`loop_readings` of samples at ``times`` into the rows of ``out``, in order:
    sample ``r`` reads the counters the kernel copied for its time (the first ``copied``
    rows of the ``copied_*`` arrays, made at ``copied_s``: :func:`copied_rows`), or the
    live ones (``(lanes, 2)`` each, the first ``out.shape[1] // 2`` lanes read), and
    covers the time since the sample before (``last_s`` for the first). Returns the last
    sample's time."""
    rows = np.empty(times.shape[0], dtype=np.int64)
    copied_rows(copied_s, copied, times, rows)
    for r in range(times.shape[0]):
        k = rows[r]
        if k < 0:
            c, s, o = count.reshape(-1), speed_sum.reshape(-1), occupied.reshape(-1)
        else:
            c = copied_count[k].reshape(-1)
            s = copied_speed_sum[k].reshape(-1)
            o = copied_occupied[k].reshape(-1)
        loop_readings(
            quantity, c, s, o, last_count, last_speed_sum, last_occupied, tick_s,
            times[r] - last_s, failed, out[r],
        )  # fmt: skip
        last_s = times[r]
    return last_s


class Clock:
    """``env.now`` as a float (a named callable, so runs pickle)."""

    def __init__(self, env: object) -> None:
        self.env = env

    def __call__(self) -> float:
        return float(self.env.now)  # type: ignore[attr-defined]
