"""answer_all applies an instant's answers as the bank's _apply applies each: holds,
clamps, changes with and without a yellow, and a bad answer applies none."""

from __future__ import annotations

import numpy as np
import pytest

from twin.traffic.answers import (
    CHANGE,
    CHANGE_NOW,
    CHANGE_SHOWN,
    CLAMP,
    HOLD,
    BankArrays,
    YellowStates,
    answer_all,
)
from twin.traffic.fixed_lights import CHANGE_YELLOW, GREEN, BankTimers

NOW_S = 10.0


def four_lights() -> BankArrays:
    """Four two-phase lights, each green in phase 0 (light 1: since 8 s, the others
    since 0 s); min green 5 s, max green 50 s, yellow 3 s (light 3: none), all-red 2 s."""
    yellow = np.array([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0])
    return BankArrays(
        timers=BankTimers(
            phase=np.zeros(4, dtype=np.int64),
            stage=np.full(4, GREEN, dtype=np.int64),
            target=np.zeros(4, dtype=np.int64),
            target_green_s=np.zeros(4),
            green_start_s=np.array([0.0, 8.0, 0.0, 0.0]),
            next_event_s=np.full(4, NOW_S),
        ),
        phase_start=np.arange(0, 10, 2, dtype=np.int64),
        min_green_s=np.full(8, 5.0),
        max_green_s=np.full(8, 50.0),
        yellow_s=yellow,
        all_red_s=np.full(8, 2.0),
    )


def yellows(known: bool) -> YellowStates:
    """Each light has two movements (light ``i``: ``2i, 2i + 1``); changing from phase 0
    to 1 shows yellow (code 9) on the first and red (code 0) on the second, where
    ``known``; otherwise no yellow is worked out (the bank shows it)."""
    row = np.full(16, -1, dtype=np.int64)
    if known:
        row[np.arange(4) * 4 + 1] = 0  # pair (0, 1) of each light
    return YellowStates(
        pair_start=np.arange(0, 20, 4, dtype=np.int64),
        row=row,
        states=np.array([9, 0], dtype=np.int8),
        mov_start=np.arange(0, 10, 2, dtype=np.int64),
        movements=np.arange(8, dtype=np.int64),
    )


def answer(bank: BankArrays, yellow: YellowStates, grid_s: float = 0.0, **given):
    """answer_all on lights ``deciding`` (all four); the kinds, the count and the shown
    movement states (7 where untouched)."""
    deciding = given.get("deciding", np.arange(4, dtype=np.int64))
    kind = np.full(len(deciding), -1, dtype=np.int64)
    mov_state = np.full(8, 7, dtype=np.int8)
    outcome = answer_all(
        deciding,
        given.get("target", np.array([0, 1, 1, 1], dtype=np.int64)),
        given.get("duration_s", np.full(len(deciding), 20.0)),
        NOW_S,
        grid_s,
        bank,
        yellow,
        mov_state,
        kind,
    )
    return kind.tolist(), outcome, mov_state.tolist()


@pytest.mark.parametrize(
    ("grid_s", "hold_until_s", "clamp_until_s", "target_green_s"),
    [(0.0, 30.0, 13.0, 20.0), (5.0, 30.0, 15.0, 15.0)],
)
def test_a_hold_a_clamp_a_change_and_a_change_without_yellow(
    grid_s: float, hold_until_s: float, clamp_until_s: float, target_green_s: float
) -> None:
    bank = four_lights()
    kind, clamped, shown = answer(bank, yellows(known=False), grid_s)
    assert clamped == 1
    assert kind == [HOLD, CLAMP, CHANGE, CHANGE_NOW]
    assert shown == [7] * 8  # the bank shows the yellow
    # On a grid a change's 20 s hold the yellow and the all-red (20 - 3 - 2).
    assert bank.timers.next_event_s.tolist() == [hold_until_s, clamp_until_s, NOW_S + 3.0, NOW_S]
    assert bank.timers.stage.tolist() == [GREEN, GREEN, CHANGE_YELLOW, GREEN]
    assert bank.timers.target.tolist() == [0, 0, 1, 1]
    assert bank.timers.target_green_s[2] == target_green_s


def test_a_change_whose_yellow_is_known_shows_it_on_its_movements() -> None:
    kind, _, shown = answer(four_lights(), yellows(known=True))
    assert kind == [HOLD, CLAMP, CHANGE_SHOWN, CHANGE_NOW]
    assert shown == [7, 7, 7, 7, 9, 0, 7, 7]  # light 2's movements; light 3 has no yellow


def test_a_hold_never_runs_past_max_green() -> None:
    bank = four_lights()
    answer(
        bank,
        yellows(known=False),
        deciding=np.array([0]),
        target=np.array([0]),
        duration_s=np.array([90.0]),
    )
    assert bank.timers.next_event_s[0] == 50.0


@pytest.mark.parametrize(("phase", "duration_s"), [(2, 5.0), (-1, 5.0), (0, 0.0), (0, np.inf)])
def test_a_bad_answer_is_named_and_no_answer_is_applied(phase: int, duration_s: float) -> None:
    bank = four_lights()
    _, outcome, shown = answer(
        bank,
        yellows(known=True),
        deciding=np.array([2, 0]),
        target=np.array([1, phase], dtype=np.int64),
        duration_s=np.array([20.0, duration_s]),
    )
    assert outcome == -1 - 1  # the second answer
    assert shown == [7] * 8
    assert bank.timers.stage.tolist() == [GREEN] * 4
    assert bank.timers.next_event_s.tolist() == [NOW_S] * 4
