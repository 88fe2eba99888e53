"""Baseline: reactive thresholds on CPU utilisation, one step at a time, with a cooldown."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field, model_validator

from twin.cloud import ScalingAction, ScalingObservation
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams


class ThresholdParams(PolicyParams):
    scale_out_above: float = Field(default=0.7, gt=0, le=1, description="utilisation to add at")
    scale_in_below: float = Field(default=0.3, ge=0, lt=1, description="utilisation to remove at")
    step: int = Field(default=1, ge=1, description="nodes added or removed per action")
    cooldown_s: float = Field(default=300.0, ge=0, description="no action this long after one")

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdParams:
        if self.scale_in_below >= self.scale_out_above:
            raise ValueError(
                f"scale_in_below ({self.scale_in_below}) must be below scale_out_above "
                f"({self.scale_out_above})"
            )
        return self


class Threshold(BasePolicy[ScalingObservation, ScalingAction]):
    """Add ``step`` nodes above ``scale_out_above``, remove ``step`` below
    ``scale_in_below``; after an action, wait ``cooldown_s`` (simple scaling)."""

    id: ClassVar[str] = "scaling/threshold-v0"
    domain: ClassVar[str] = "cloud.scaling"
    description: ClassVar[str] = "baseline: +/- one node at utilisation thresholds, cooldown"
    Params = ThresholdParams
    params: ThresholdParams

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self.last_action_s = -math.inf

    def act(self, obs: ScalingObservation) -> ScalingAction:
        params = self.params
        current = obs.current_nodes
        desired = current
        cooled = obs.now_s - self.last_action_s >= params.cooldown_s
        if not math.isnan(obs.utilisation) and cooled:
            if obs.utilisation > params.scale_out_above:
                desired = current + params.step
            elif obs.utilisation < params.scale_in_below:
                desired = current - params.step
        desired = min(max(desired, obs.min_nodes), obs.max_nodes)
        if desired != current:
            self.last_action_s = obs.now_s
        return ScalingAction(desired)
