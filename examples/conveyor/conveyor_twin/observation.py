"""What a belt-speed policy sees every decision period and what it may answer."""

from __future__ import annotations

import math
from typing import NamedTuple

from twin.core.policy import InvalidActionError

LOWEST_SPEED = 0.2
"""The slowest setting of the drive, a share of top speed."""


class BeltObservation(NamedTuple):
    """The belt now.

    Attributes:
        now_s: simulated time.
        items_on_belt: items riding the belt.
        belt_places: most items the belt holds (length / pitch).
        waiting: items queued at the infeed.
        speed: the current setting, a share of top speed.
        jammed: the belt is stopped by a jam.
        jams: jams so far.
    """

    now_s: float
    items_on_belt: int
    belt_places: int
    waiting: int
    speed: float
    jammed: bool
    jams: int


class BeltAction(NamedTuple):
    """Run the belt at ``speed`` (a share of top speed, LOWEST_SPEED .. 1)."""

    speed: float


def check_belt_action(action: object, observation: object, policy_id: str) -> BeltAction:
    """``action`` if the drive can run at it; :class:`InvalidActionError` if not."""
    if type(action) is not BeltAction:
        raise InvalidActionError(policy_id, action, "expected BeltAction(speed=...)")
    speed = action.speed
    if not isinstance(speed, float | int) or not math.isfinite(speed):
        raise InvalidActionError(policy_id, action, "speed must be a finite number")
    if not LOWEST_SPEED <= speed <= 1.0:
        raise InvalidActionError(policy_id, action, f"speed must be in [{LOWEST_SPEED}, 1]")
    return action
