"""Maintenance technicians: a priority pool that is only on site during shifts."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from twin.core.probes import Level
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.factory.config import CrewSpec

CORRECTIVE = 0
PREVENTIVE = 1
_OFF_SHIFT = -1  # placeholders that hold a technician while the shift is off


class Crew:
    """``technicians`` people; corrective repairs go before preventive maintenance.

    Off shift, each technician is held by a placeholder request of the highest priority,
    queued like any job: a repair in progress at the end of a shift is finished
    (overtime), and nobody starts new work until the next shift.
    """

    def __init__(self, env: simpy.Environment, spec: CrewSpec, busy: Level) -> None:
        self.env = env
        self.spec = spec
        self.pool = simpy.PriorityResource(env, capacity=spec.technicians)
        self.busy = busy
        self._on_shift_intervals = _shift_intervals(spec)
        if self._on_shift_intervals != [(0.0, SECONDS_PER_DAY)]:
            env.process(self._shifts())

    @property
    def free(self) -> int:
        return self.spec.technicians - self.pool.count

    @property
    def waiting(self) -> int:
        return sum(1 for request in self.pool.queue if request.priority >= 0)

    def request(self, priority: int) -> simpy.resources.resource.PriorityRequest:
        return self.pool.request(priority=priority)

    def _shifts(self) -> Generator[simpy.Event, Any, None]:
        """Hold every technician outside the shift intervals of each day."""
        held: list[simpy.resources.resource.PriorityRequest] = []
        while True:
            now = self.env.now
            day_start = now - now % SECONDS_PER_DAY
            on = any(
                day_start + start <= now < day_start + end
                for start, end in self._on_shift_intervals
            )
            if not on and not held:
                held = [
                    self.pool.request(priority=_OFF_SHIFT) for _ in range(self.spec.technicians)
                ]
            elif on and held:
                for request in held:
                    if request.triggered:
                        self.pool.release(request)
                    else:
                        request.cancel()
                held = []
            yield self.env.timeout(self._next_change(now) - now)

    def _next_change(self, now: float) -> float:
        day_start = now - now % SECONDS_PER_DAY
        edges = sorted(
            {day_start + t for start, end in self._on_shift_intervals for t in (start, end)}
            | {
                day_start + SECONDS_PER_DAY + t
                for start, end in self._on_shift_intervals
                for t in (start, end)
            }
        )
        return next(edge for edge in edges if edge > now)


def _shift_intervals(spec: CrewSpec) -> list[tuple[float, float]]:
    """On-shift intervals within one day, in seconds from midnight, merged."""
    raw: list[tuple[float, float]] = []
    for shift in spec.shifts:
        start = shift.start_h * SECONDS_PER_HOUR
        end = start + shift.hours * SECONDS_PER_HOUR
        if end <= SECONDS_PER_DAY:
            raw.append((start, end))
        else:  # a night shift runs past midnight
            raw.extend([(start, SECONDS_PER_DAY), (0.0, end - SECONDS_PER_DAY)])
    raw.sort()
    merged: list[tuple[float, float]] = []
    for start, end in raw:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
