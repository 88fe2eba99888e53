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
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.traffic.kernels import Lanes

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
        clock: Clock,
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
        self._any_failed = bool(failed.any())
        self.last_s = clock()
        self.restart()

    def restart(self) -> None:
        """The kernel's counters were zeroed (end of warm-up): count from zero again."""
        n = self.n
        self.last_count = np.zeros(2 * n, dtype=np.int64)
        self.last_speed_sum = np.zeros(2 * n)
        self.last_occupied = np.zeros(2 * n, dtype=np.int64)

    def __call__(self) -> npt.NDArray[np.float64]:
        lanes, n = self.lanes, self.n
        now = self.clock()
        if self.feeds is None:
            counts = lanes.det_count[:n], lanes.det_speed_sum[:n], lanes.det_occupied[:n]
        else:
            counts = self.feeds.loop_state(lanes, now)
        # Each quantity copies and remembers only the counters it reads: a sample is a
        # handful of small array operations, and each costs about as much as the work.
        if self.quantity == "occupancy":
            occupied = counts[2].reshape(-1).copy()
            span = now - self.last_s
            if span > 0:
                values = (occupied - self.last_occupied) * self.tick_s / span
                np.minimum(values, 1.0, out=values)
            else:
                values = np.zeros(2 * n)
            self.last_occupied = occupied
        else:
            count = counts[0].reshape(-1).copy()
            passed = count - self.last_count
            if self.quantity == "count":
                values = passed.astype(np.float64)
            else:
                speed_sum = counts[1].reshape(-1).copy()
                # NaN where none passed, computed only where some did (no 0/0 warnings).
                values = np.divide(
                    speed_sum - self.last_speed_sum,
                    passed,
                    out=np.full(2 * n, math.nan),
                    where=passed > 0,
                )
                self.last_speed_sum = speed_sum
            self.last_count = count
        self.last_s = now
        if self._any_failed:
            values[self.failed] = math.nan
        return values


class Clock:
    """``env.now`` as a float (a named callable, so runs pickle)."""

    def __init__(self, env: object) -> None:
        self.env = env

    def __call__(self) -> float:
        return float(self.env.now)  # type: ignore[attr-defined]
