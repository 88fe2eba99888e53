"""Two belt-speed policies: the way it is done today, and a jam-avoiding rule."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from conveyor_twin.observation import LOWEST_SPEED, BeltAction, BeltObservation
from twin.core.policy import BasePolicy, PolicyParams

FULL = BeltAction(speed=1.0)


class FullSpeed(BasePolicy[BeltObservation, BeltAction]):
    """Always top speed (the baseline)."""

    id: ClassVar[str] = "conveyor/full-speed-v0"
    domain: ClassVar[str] = "conveyor"

    def act(self, obs: BeltObservation) -> BeltAction:
        return FULL


class SlowWhenCrowdedParams(PolicyParams):
    crowded_share: float = Field(default=0.6, gt=0, le=1, description="belt load that is crowded")
    slow_speed: float = Field(default=0.6, ge=LOWEST_SPEED, le=1, description="speed then")


class SlowWhenCrowded(BasePolicy[BeltObservation, BeltAction]):
    """Slow the belt while it is crowded and nothing waits at the infeed."""

    id: ClassVar[str] = "conveyor/slow-when-crowded-v0"
    domain: ClassVar[str] = "conveyor"
    Params = SlowWhenCrowdedParams
    params: SlowWhenCrowdedParams

    def act(self, obs: BeltObservation) -> BeltAction:
        crowded = obs.items_on_belt >= self.params.crowded_share * max(obs.belt_places, 1)
        if crowded and obs.waiting == 0:
            return BeltAction(speed=self.params.slow_speed)
        return FULL
