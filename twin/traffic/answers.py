"""The answers to an instant's signal decisions, applied at once.

A learning agent answers every intersection deciding at one instant in one call
(:class:`~twin.traffic.observation.SignalActions`); :func:`answer_all` does for all of
them what :meth:`twin.traffic.signals.SignalBank._apply` does for one (same arithmetic,
same order of operations), in one compiled call: a hold's or a clamp's next epoch, and
a change's target and yellow (shown here where the bank has worked it out,
:class:`YellowStates`; else by the bank).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.fixed_lights import CHANGE_YELLOW, EPS_S, GREEN, BankTimers

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HOLD, CLAMP, CHANGE, CHANGE_NOW, CHANGE_SHOWN = 0, 1, 2, 3, 4
"""What an answer does: keep the phase, wait for its minimum green, change phase (its
yellow begins and the bank shows it), change with no yellow (the bank makes the change),
change phase with its yellow shown here (:class:`YellowStates`)."""


@numba.njit(cache=True)
def on_grid(epoch_s: float, grid_s: float) -> float:
    """``epoch_s`` rounded up to the decision grid (itself for ``grid_s == 0``: none)."""
    if grid_s == 0.0:
        return epoch_s
    return math.ceil(epoch_s / grid_s - EPS_S) * grid_s


@numba.njit(cache=True)
def all_green_under_max(
    due: IntArray,
    now_s: float,
    stage: IntArray,
    phase: IntArray,
    green_start_s: FloatArray,
    phase_start: IntArray,
    max_green_s: FloatArray,
) -> bool:
    """Whether every light of ``due`` shows a green short of its maximum (all of them
    are the policy's to decide, nothing else is due)."""
    for i in due:
        if (
            stage[i] != GREEN
            or now_s - green_start_s[i] >= max_green_s[phase_start[i] + phase[i]] - EPS_S
        ):
            return False
    return True


class BankArrays(NamedTuple):
    """The signal bank's timers and its lights' per-phase limits (light ``i``'s phases
    from ``phase_start[i]``), as :func:`answer_all` reads and writes them."""

    timers: BankTimers
    phase_start: IntArray
    min_green_s: FloatArray
    max_green_s: FloatArray
    yellow_s: FloatArray
    all_red_s: FloatArray


class YellowStates(NamedTuple):
    """The yellow each change of each light shows, checked by the bank: the change of
    light ``i`` from phase ``a`` to ``b`` shows ``states[row[r]:row[r] + M]`` on its
    ``M`` movements ``movements[mov_start[i]:mov_start[i + 1]]``, where
    ``r = pair_start[i] + a * P + b`` (``P`` its phases); ``row[r] = -1``: the bank shows
    it (not worked out, or not safe: the bank raises if the change is made)."""

    pair_start: IntArray
    row: IntArray
    states: npt.NDArray[np.int8]
    mov_start: IntArray
    movements: IntArray


@numba.njit(cache=True)
def answer_all(
    deciding: IntArray,
    target: IntArray,
    duration_s: FloatArray,
    now_s: float,
    grid_s: float,
    bank: BankArrays,
    yellow: YellowStates,
    mov_state: npt.NDArray[np.int8],
    kind: IntArray,
) -> int:
    """Answer ``target[n]`` for ``duration_s[n]`` at light ``deciding[n]``, as the bank's
    ``_apply`` and ``_begin_change`` do: a hold sets its next epoch (never past max
    green), a change asked before the minimum green is clamped to it, any other change
    begins its yellow (on a grid its target's green is ``duration_s`` less the yellow
    and the all-red), shown in ``mov_state`` where ``yellow`` holds it. ``kind[n]`` says
    which. Returns ``-1 - n`` for the first answer that is not a phase of its light for
    a finite positive duration (nothing applied), else how many were clamped."""
    for n in range(deciding.shape[0]):
        i = deciding[n]
        phases = bank.phase_start[i + 1] - bank.phase_start[i]
        if not (0 <= target[n] < phases and math.isfinite(duration_s[n]) and duration_s[n] > 0):
            return -1 - n
    timers = bank.timers
    clamped = 0
    for n in range(deciding.shape[0]):
        i = deciding[n]
        current = timers.phase[i]
        k = bank.phase_start[i] + current
        elapsed = now_s - timers.green_start_s[i]
        duration = duration_s[n]
        if target[n] == current:
            kind[n] = HOLD
            end = min(
                on_grid(now_s + duration, grid_s), timers.green_start_s[i] + bank.max_green_s[k]
            )
            timers.next_event_s[i] = max(end, now_s + EPS_S * 10)
            single = bank.phase_start[i + 1] - bank.phase_start[i] == 1
            if single and bank.yellow_s[k] + bank.all_red_s[k] <= 0:
                timers.next_event_s[i] = now_s + duration
        elif elapsed < bank.min_green_s[k] - EPS_S:
            kind[n] = CLAMP
            clamped += 1
            timers.next_event_s[i] = on_grid(timers.green_start_s[i] + bank.min_green_s[k], grid_s)
        else:
            if grid_s != 0.0:
                duration = max(duration - bank.yellow_s[k] - bank.all_red_s[k], 0.0)
            timers.target[i] = target[n]
            timers.target_green_s[i] = duration
            if bank.yellow_s[k] <= 0:
                kind[n] = CHANGE_NOW
                continue
            timers.stage[i] = CHANGE_YELLOW
            timers.next_event_s[i] = now_s + bank.yellow_s[k]
            phases = bank.phase_start[i + 1] - bank.phase_start[i]
            row = yellow.row[yellow.pair_start[i] + current * phases + target[n]]
            if row < 0:
                kind[n] = CHANGE
                continue
            kind[n] = CHANGE_SHOWN
            first = yellow.mov_start[i]
            for j in range(yellow.mov_start[i + 1] - first):
                mov_state[yellow.movements[first + j]] = yellow.states[row + j]
    return clamped
