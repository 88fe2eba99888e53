"""Maintain on high vibration, or after a fixed number of operating hours at the latest."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.factory.observation import CONTINUE, MAINTAIN, MaintenanceAction, MaintenanceObservation


class HoursOrVibrationParams(PolicyParams):
    vibration_limit_mm_s: float = Field(default=4.5, gt=0, description="ISO 10816-3 zone C")
    confirmations: int = Field(default=2, ge=1, description="reports above the limit in a row")
    max_operating_h: float = Field(default=600.0, gt=0, description="maintain after this at most")


class HoursOrVibration(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Condition-based maintenance with an age limit as a safety net for a dead sensor."""

    id: ClassVar[str] = "acme/hours-or-vibration-v0"
    domain: ClassVar[str] = "factory.maintenance"
    description: ClassVar[str] = "maintain on vibration above the ISO limit, or by age"
    Params = HoursOrVibrationParams
    params: HoursOrVibrationParams

    def __init__(self, params: HoursOrVibrationParams | None = None) -> None:
        super().__init__(params)
        self._above: dict[int, int] = {}

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self._above = {}

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        vibration = obs.vibration_mm_s
        high = not math.isnan(vibration) and vibration > self.params.vibration_limit_mm_s
        count = self._above.get(obs.machine, 0) + 1 if high else 0
        self._above[obs.machine] = count
        if count >= self.params.confirmations or obs.operating_h > self.params.max_operating_h:
            self._above[obs.machine] = 0
            return MAINTAIN
        return CONTINUE
