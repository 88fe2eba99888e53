"""Baseline: never stop a machine until it breaks."""

from __future__ import annotations

from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.factory.observation import CONTINUE, MaintenanceAction, MaintenanceObservation


class RunToFailure(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Corrective maintenance only: repair what fails, maintain nothing."""

    id: ClassVar[str] = "maintenance/run-to-failure-v0"
    domain: ClassVar[str] = "factory.maintenance"
    description: ClassVar[str] = "baseline: no preventive maintenance, repair on failure"

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        return CONTINUE
