"""Consolidate to full truck loads: wait until a lane fills a truck, within a time limit."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.core.units import SECONDS_PER_DAY
from twin.supply.observation import SHIP, WAIT, TransportAction, TransportObservation


class ConsolidateParams(PolicyParams):
    fill_target: float = Field(
        default=0.8, gt=0, le=1, description="ship once this share of a truck is waiting"
    )
    max_wait_s: float = Field(
        default=SECONDS_PER_DAY,
        ge=0,
        description="ship anyway once the oldest load waited this long",
    )
    expedite_when_out: bool = Field(
        default=True, description="ship at once when the destination has no stock"
    )


class Consolidate(BasePolicy[TransportObservation, TransportAction]):
    """Hold loads for a lane until they fill ``fill_target`` of a truck (by pallets or
    weight, whichever binds) or the oldest has waited ``max_wait_s``; a destination
    that has run out is never kept waiting when ``expedite_when_out``."""

    id: ClassVar[str] = "transport/consolidate-v0"
    domain: ClassVar[str] = "supply.transport"
    description: ClassVar[str] = "consolidate to full truck loads, within a maximum wait"
    Params = ConsolidateParams
    params: ConsolidateParams

    def act(self, obs: TransportObservation) -> TransportAction:
        p = self.params
        fill = max(
            obs.pending_pallets / obs.truck_capacity_pallets if obs.truck_capacity_pallets else 1.0,
            obs.pending_kg / obs.truck_capacity_kg if obs.truck_capacity_kg > 0 else 1.0,
        )
        if not math.isfinite(fill) or fill >= p.fill_target:
            return SHIP
        if not obs.oldest_wait_s < p.max_wait_s:  # NaN waits count as long waits
            return SHIP
        if p.expedite_when_out and (obs.destination_on_hand <= 0 or obs.destination_backorders > 0):
            return SHIP
        return WAIT
