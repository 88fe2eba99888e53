"""Signal offsets anywhere in the cycle: the programme starts in the right phase and
interval (green, yellow, all-red) with the right elapsed time.

A programme shifted by ``offset_s`` must show at time ``t`` what the unshifted one shows
at ``t + offset_s``: the reference is the same bank run from offset 0.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from tests.traffic.support import Cyclic
from twin.traffic.network import Phase, SignalProgram, grid
from twin.traffic.signals import CHANGE_ALL_RED, CHANGE_YELLOW, GREEN, SignalBank

STEP_S = 0.5


def bank(offset_s: float, phases: tuple[Phase, ...]) -> SignalBank:
    network = grid(1, 1, 150.0, 1)
    inters = tuple(
        dataclasses.replace(i, program=SignalProgram(phases, offset_s))
        if i.program is not None
        else i
        for i in network.intersections
    )
    network = dataclasses.replace(network, intersections=inters)
    state = np.zeros(len(network.movements), dtype=np.int8)
    holder: list[SignalBank] = []

    def observe(i: int, now_s: float) -> SimpleNamespace:
        b = holder[0]
        return SimpleNamespace(phase=int(b.phase[i]), green_s=np.array([p.green_s for p in phases]))

    holder.append(SignalBank(network, state, Cyclic(), observe))  # type: ignore[arg-type]
    return holder[0]


def trace(b: SignalBank, until_s: float) -> list[tuple[bytes, int, int, float]]:
    """State shown, phase, stage and elapsed green after each update on a 0.5 s grid."""
    rows = []
    for k in range(int(until_s / STEP_S) + 1):
        now = k * STEP_S
        b.update(now)
        rows.append(
            (b.mov_state.tobytes(), int(b.phase[0]), int(b.stage[0]), now - b.green_start_s[0])
        )
    return rows


THREE_PHASES = (
    Phase("GGgrrrGGgrrr", 30.0, yellow_s=4.0, all_red_s=2.0, min_green_s=5.0, max_green_s=60.0),
    Phase("rrrGGgrrrGGg", 20.0, yellow_s=3.0, all_red_s=1.0, min_green_s=5.0, max_green_s=60.0),
    Phase("rrrGGgrrrrrr", 10.0, yellow_s=3.0, all_red_s=0.0, min_green_s=5.0, max_green_s=60.0),
)
CYCLE_S = 73.0


def test_the_three_phase_cycle():
    assert SignalProgram(THREE_PHASES).cycle_s == CYCLE_S


@pytest.mark.parametrize("offset_s", [k * STEP_S for k in range(int(CYCLE_S / STEP_S))])
def test_any_offset_starts_where_the_programme_is_at_that_time(offset_s):
    reference = trace(bank(0.0, THREE_PHASES), 3 * CYCLE_S)
    shifted = trace(bank(offset_s, THREE_PHASES), 2 * CYCLE_S)
    lag = int(offset_s / STEP_S)
    for k, (state, phase, stage, elapsed) in enumerate(shifted):
        ref_state, ref_phase, ref_stage, ref_elapsed = reference[k + lag]
        assert (state, phase, stage) == (ref_state, ref_phase, ref_stage), (offset_s, k)
        assert elapsed == pytest.approx(ref_elapsed), (offset_s, k)


def test_an_offset_beyond_the_cycle_wraps():
    a = trace(bank(10.0, THREE_PHASES), CYCLE_S)
    b = trace(bank(10.0 + 2 * CYCLE_S, THREE_PHASES), CYCLE_S)
    assert a == b


def test_offsets_land_in_green_yellow_and_all_red():
    assert bank(0.0, THREE_PHASES).stage[0] == GREEN
    b = bank(31.0, THREE_PHASES)  # 1 s into phase 0's yellow
    assert (b.phase[0], b.stage[0], b.next_event_s[0]) == (0, CHANGE_YELLOW, 3.0)
    b = bank(35.5, THREE_PHASES)  # 1.5 s into phase 0's all-red
    assert (b.phase[0], b.stage[0], b.next_event_s[0]) == (0, CHANGE_ALL_RED, 0.5)
    b = bank(64.0, THREE_PHASES)  # phase 2 starts at 36 + 24 = 60 s: 4 s into its green
    assert (b.phase[0], b.stage[0], b.next_event_s[0]) == (2, GREEN, 6.0)
    assert b.green_start_s[0] == -4.0
    b = bank(64.0 + CYCLE_S + 22.0, THREE_PHASES)  # wraps to 13 s into phase 0's green
    assert (b.phase[0], b.stage[0], b.next_event_s[0]) == (0, GREEN, 17.0)
