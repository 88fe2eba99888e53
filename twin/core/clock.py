"""The one thing probes and meters need from the simulation: the current time."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Anything that tells the simulated time in seconds, such as a ``simpy.Environment``."""

    @property
    def now(self) -> float: ...
