"""answer_all applies an instant's answers as the bank's _apply applies each: holds,
clamps, changes with and without a yellow, and a bad answer applies none."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.answers import CHANGE, CHANGE_NOW, CLAMP, HOLD, BankArrays, answer_all
from twin.traffic.fixed_lights import CHANGE_YELLOW, GREEN

NOW_S = 10.0


def four_lights() -> BankArrays:
    """Four two-phase lights, each green in phase 0 (light 1: since 8 s, the others
    since 0 s); min green 5 s, max green 50 s, yellow 3 s (light 3: none), all-red 2 s."""
    yellow = np.array([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0])
    return BankArrays(
        phase=np.zeros(4, dtype=np.int64),
        stage=np.full(4, GREEN, dtype=np.int64),
        target=np.zeros(4, dtype=np.int64),
        target_green_s=np.zeros(4),
        green_start_s=np.array([0.0, 8.0, 0.0, 0.0]),
        next_event_s=np.full(4, NOW_S),
        phase_start=np.arange(0, 10, 2, dtype=np.int64),
        min_green_s=np.full(8, 5.0),
        max_green_s=np.full(8, 50.0),
        yellow_s=yellow,
        all_red_s=np.full(8, 2.0),
    )


@pytest.mark.parametrize(
    ("grid_s", "hold_until_s", "clamp_until_s", "target_green_s"),
    [(0.0, 30.0, 13.0, 20.0), (5.0, 30.0, 15.0, 15.0)],
)
def test_a_hold_a_clamp_a_change_and_a_change_without_yellow(
    grid_s: float, hold_until_s: float, clamp_until_s: float, target_green_s: float
) -> None:
    bank = four_lights()
    kind = np.full(4, -1, dtype=np.int64)
    clamped = answer_all(
        np.arange(4, dtype=np.int64),
        np.array([0, 1, 1, 1], dtype=np.int64),
        np.full(4, 20.0),
        NOW_S,
        grid_s,
        bank,
        kind,
    )
    assert clamped == 1
    assert kind.tolist() == [HOLD, CLAMP, CHANGE, CHANGE_NOW]
    # On a grid a change's 20 s hold the yellow and the all-red (20 - 3 - 2).
    assert bank.next_event_s.tolist() == [hold_until_s, clamp_until_s, NOW_S + 3.0, NOW_S]
    assert bank.stage.tolist() == [GREEN, GREEN, CHANGE_YELLOW, GREEN]
    assert bank.target.tolist() == [0, 0, 1, 1]
    assert bank.target_green_s[2] == target_green_s


def test_a_hold_never_runs_past_max_green() -> None:
    bank = four_lights()
    kind = np.zeros(1, dtype=np.int64)
    answer_all(np.array([0]), np.array([0]), np.array([90.0]), NOW_S, 0.0, bank, kind)
    assert bank.next_event_s[0] == 50.0


@pytest.mark.parametrize(("phase", "duration_s"), [(2, 5.0), (-1, 5.0), (0, 0.0), (0, np.inf)])
def test_a_bad_answer_is_named_and_no_answer_is_applied(phase: int, duration_s: float) -> None:
    bank = four_lights()
    kind = np.zeros(2, dtype=np.int64)
    outcome = answer_all(
        np.array([0, 2]),
        np.array([1, phase], dtype=np.int64),
        np.array([20.0, duration_s]),
        NOW_S,
        0.0,
        bank,
        kind,
    )
    assert outcome == -1 - 1  # the second answer
    assert bank.stage.tolist() == [GREEN] * 4
    assert bank.next_event_s.tolist() == [NOW_S] * 4
