"""The belt's parameters. Illustrative numbers for an example, not measured ones."""

from __future__ import annotations

from pydantic import Field

from twin.core.scenario import ScenarioParams


class BeltParams(ScenarioParams):
    """One belt: items arrive at its infeed, ride it, leave at its end; it jams."""

    length_m: float = Field(default=20.0, gt=0, description="infeed to outfeed")
    top_speed_mps: float = Field(default=0.5, gt=0, description="belt speed at 100%")
    item_pitch_m: float = Field(default=0.5, gt=0, description="least gap between items")
    interarrival_s: float = Field(default=1.6, gt=0, description="mean gap between arrivals")
    infeed_places: int = Field(default=20, ge=0, description="items that wait at the infeed")
    jams_per_h: float = Field(default=4.0, ge=0, description="jam rate of a full belt at top speed")
    clear_s: float = Field(default=120.0, gt=0, description="mean time to clear a jam")
    motor_kw: float = Field(default=0.75, ge=0, description="drive power at top speed")
    step_s: float = Field(default=1.0, gt=0, le=5.0, description="belt motion step")
    decision_period_s: float = Field(default=30.0, gt=0, description="between speed choices")
    lost_item_cost: float = Field(default=2.0, ge=0, description="money per item turned away")
