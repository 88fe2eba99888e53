"""The baseline: admit every arrival, serve in arrival order."""

from __future__ import annotations

from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.station import ADMIT, StationAction, StationObservation


class AdmitAll(BasePolicy[StationObservation, StationAction]):
    """FIFO, admit all: the M/M/c textbook station."""

    id: ClassVar[str] = "admission/admit-all-v0"
    domain: ClassVar[str] = "station"
    description: ClassVar[str] = "baseline: admit every arrival (FIFO, no rejection)"

    def act(self, obs: StationObservation) -> StationAction:
        return ADMIT
