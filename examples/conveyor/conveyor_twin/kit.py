"""What twin's checkers feed a belt-speed policy and vary in a belt scenario."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from conveyor_twin.observation import BeltObservation
from twin.core.scenario import ScenarioConfig


@st.composite
def observations(draw: st.DrawFn) -> BeltObservation:
    places = draw(st.integers(1, 400))
    return BeltObservation(
        now_s=draw(st.floats(0.0, 1e8, allow_nan=False)),
        items_on_belt=draw(st.integers(0, places)),
        belt_places=places,
        waiting=draw(st.integers(0, 1000)),
        speed=draw(st.floats(0.2, 1.0)),
        jammed=draw(st.booleans()),
        jams=draw(st.integers(0, 10_000)),
    )


def edge_cases() -> list[BeltObservation]:
    """Empty and idle; full, jammed and queued; a belt of one place."""
    empty = BeltObservation(0.0, 0, 40, 0, 1.0, False, 0)
    return [
        empty,
        empty._replace(items_on_belt=40, waiting=1000, jammed=True, jams=10_000, speed=0.2),
        empty._replace(belt_places=1, items_on_belt=1),
    ]


def run_config(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    return ScenarioConfig(id="conveyor/belt-v0", horizon_s=3_600.0, tick_s=60.0), None


@st.composite
def params(draw: st.DrawFn) -> dict[str, Any]:
    """Short, busy belts that jam often within an hour."""
    return {
        "length_m": draw(st.floats(1.0, 30.0)),
        "interarrival_s": draw(st.floats(0.5, 5.0)),
        "infeed_places": draw(st.integers(0, 10)),
        "jams_per_h": draw(st.floats(0.0, 60.0)),
        "clear_s": draw(st.floats(10.0, 300.0)),
    }
