"""Baseline: every load leaves as soon as it is ready, full truck or not."""

from __future__ import annotations

from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.supply.observation import SHIP, TransportAction, TransportObservation


class ShipNow(BasePolicy[TransportObservation, TransportAction]):
    """Dispatch every ready load at once: shortest lead time, emptiest trucks."""

    id: ClassVar[str] = "transport/ship-now-v0"
    domain: ClassVar[str] = "supply.transport"
    description: ClassVar[str] = "baseline: ship every load as soon as it is ready"

    def act(self, obs: TransportObservation) -> TransportAction:
        return SHIP
