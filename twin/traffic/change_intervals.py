"""The change intervals of the lights a policy decides for, ended inside the kernel's ticks.

A light whose policy decides (max-pressure, an actuated programme, an RL agent) is asked
only at its decision epochs, but every change it decides runs a yellow and an all-red,
and :class:`~twin.traffic.signals.SignalBank` ended those in Python: each end stopped a
batch of kernel ticks. Under sumo-rl's 5 s decision grid every decision instant was
followed by a second batch at the yellow's end (RESCO grid4x4, random actions: 1,471
kernel calls in the hour, two per decision instant). Ending an interval never asks the
policy, so :func:`end_change_intervals` does it at the start of every tick, with
``SignalBank._end_interval`` and ``_start_green``'s arithmetic on the bank's own arrays
and states the bank checked when it handed the lights over
(:meth:`~twin.traffic.signals.SignalBank.hand_to_kernel`); a batch stops only where a
light must be asked.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.fixed_lights import (
    CHANGE_ALL_RED,
    CHANGE_YELLOW,
    EPS_S,
    GREEN,
    BankTimers,
    show_state,
    start_green,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ChangeIntervals(NamedTuple):
    """The lights whose change intervals the kernel ends, and the bank's timer arrays.

    Light ``s`` is bank intersection ``intersection[s]``; its phases are
    ``phase_start[s]:phase_start[s + 1]`` of the per-phase arrays, its movements
    ``mov_start[s]:mov_start[s + 1]`` of ``movements``. Phase ``p``'s green state starts
    at ``states[green_row[p]]``; the all-red of light ``s``'s change from its phase
    ``a`` to its phase ``b`` (``P`` phases) at ``states[all_red_row[pair_start[s] + a *
    P + b]]``; each state has one entry per movement of the light. ``timers`` are the
    bank's (indexed by intersection), written in place; ``grid_s[0]`` is the bank's
    decision grid (0: none)."""

    intersection: IntArray
    phase_start: IntArray
    min_green_s: FloatArray
    max_green_s: FloatArray
    all_red_s: FloatArray
    mov_start: IntArray
    movements: IntArray
    green_row: IntArray
    pair_start: IntArray
    all_red_row: IntArray
    states: npt.NDArray[np.int8]
    timers: BankTimers
    grid_s: FloatArray


@numba.njit(cache=True, _nrt=False)
def _show(changes: ChangeIntervals, mov_state: npt.NDArray[np.int8], s: int, row: int) -> None:
    first = changes.mov_start[s]
    n = changes.mov_start[s + 1] - first
    show_state(mov_state, changes.movements, changes.states, first, n, row)


@numba.njit(cache=True, _nrt=False)
def end_change_intervals(
    changes: ChangeIntervals, mov_state: npt.NDArray[np.int8], now_s: float
) -> float:
    """End every change interval due at ``now_s``, as ``SignalBank.update`` ends it: a
    yellow gives way to the all-red (``_end_interval``), the all-red to the target's
    green (``_start_green``); an interval of zero seconds ends in the same instant.
    Returns the earliest decision epoch of the greens started here (``inf``: none): the
    bank must be asked then, so the kernel stops before it."""
    earliest = math.inf
    for s in range(len(changes.intersection)):
        i = changes.intersection[s]
        first = changes.phase_start[s]
        while changes.timers.stage[i] != GREEN and changes.timers.next_event_s[i] <= now_s + EPS_S:
            current = changes.timers.phase[i]
            target = changes.timers.target[i]
            if changes.timers.stage[i] == CHANGE_YELLOW:
                n_phases = changes.phase_start[s + 1] - first
                pair = changes.pair_start[s] + current * n_phases + target
                _show(changes, mov_state, s, changes.all_red_row[pair])
                changes.timers.stage[i] = CHANGE_ALL_RED
                changes.timers.next_event_s[i] = now_s + changes.all_red_s[first + current]
                continue
            q = first + target
            epoch = start_green(
                changes.timers,
                i,
                target,
                changes.min_green_s[q],
                changes.max_green_s[q],
                changes.grid_s[0],
                now_s,
            )
            _show(changes, mov_state, s, changes.green_row[q])
            earliest = min(earliest, epoch)
    return earliest
