"""Condition-based maintenance: act when a health indicator from the sensors is high."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.factory.observation import CONTINUE, MAINTAIN, MaintenanceAction, MaintenanceObservation


class ConditionBasedParams(PolicyParams):
    vibration_limit_mm_s: float = Field(
        default=4.5,
        gt=0,
        description="maintain above this vibration RMS (ISO 10816-3 zone B/C boundary)",
    )
    temperature_limit_c: float | None = Field(
        default=None, description="also maintain above this housing temperature"
    )
    confirmations: int = Field(
        default=2, ge=1, description="consecutive reports above the limit before acting"
    )


class ConditionBased(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Maintain a machine when its filtered vibration (or temperature) stays above a limit.

    Requiring ``confirmations`` consecutive reports above the limit keeps one noisy
    reading from stopping a healthy machine.
    """

    id: ClassVar[str] = "maintenance/condition-based-v0"
    domain: ClassVar[str] = "factory.maintenance"
    description: ClassVar[str] = "maintain when filtered vibration exceeds the ISO zone C limit"
    Params = ConditionBasedParams
    params: ConditionBasedParams

    def __init__(self, params: ConditionBasedParams | None = None) -> None:
        super().__init__(params)
        self._above: dict[int, int] = {}

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self._above = {}

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        count = self._above.get(obs.machine, 0) + 1 if self._alarm(obs) else 0
        self._above[obs.machine] = count
        if count >= self.params.confirmations:
            self._above[obs.machine] = 0
            return MAINTAIN
        return CONTINUE

    def _alarm(self, obs: MaintenanceObservation) -> bool:
        vibration = obs.vibration_mm_s
        if not math.isnan(vibration) and vibration > self.params.vibration_limit_mm_s:
            return True
        limit = self.params.temperature_limit_c
        return limit is not None and obs.temperature_c > limit
