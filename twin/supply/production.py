"""How much a plant makes in a day: the seam where a plant's output is modelled.

The network asks its plant's :class:`ProductionModel` once a day, at midnight, how many
units of the raw material on hand become product. Here that is a capacity model; a
factory twin can stand behind the same protocol, fed through a port a scenario wires,
without the supply domain importing the factory.
"""

from __future__ import annotations

import math
from typing import Protocol


class ProductionModel(Protocol):
    """A plant's daily output."""

    def produce(self, day: int, raw_units: int) -> int:
        """Units made on ``day`` from ``raw_units`` of raw material (at most that many)."""
        ...


class CapacityProduction:
    """Make up to ``capacity_units_per_day`` a day (whole units) from what raw material
    there is: a plant whose only limits are its capacity and its supply."""

    def __init__(self, capacity_units_per_day: float) -> None:
        if not capacity_units_per_day > 0:
            raise ValueError(f"capacity must be > 0 units a day, got {capacity_units_per_day}")
        self.capacity = math.floor(capacity_units_per_day)

    def produce(self, day: int, raw_units: int) -> int:
        return min(raw_units, self.capacity)
