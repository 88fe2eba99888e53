"""Baseline: preventive maintenance at a fixed interval of use or of calendar time."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.factory.observation import CONTINUE, MAINTAIN, MaintenanceAction, MaintenanceObservation


class FixedIntervalParams(PolicyParams):
    basis: Literal["operating", "calendar"] = Field(
        default="operating", description="count processing hours, or hours on the clock"
    )
    interval_h: float = Field(
        default=250.0, gt=0, description="hours between maintenance actions on one machine"
    )


class FixedInterval(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Maintain a machine once ``interval_h`` hours have passed since its last service.

    Usage-based (``operating``) counts processing hours; time-based (``calendar``)
    counts clock hours. A repair after a failure restarts the count, as in practice.
    """

    id: ClassVar[str] = "maintenance/fixed-interval-v0"
    domain: ClassVar[str] = "factory.maintenance"
    description: ClassVar[str] = "baseline: preventive maintenance every interval_h hours"
    Params = FixedIntervalParams
    params: FixedIntervalParams

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        elapsed = obs.operating_h if self.params.basis == "operating" else obs.calendar_h
        return MAINTAIN if elapsed >= self.params.interval_h else CONTINUE
