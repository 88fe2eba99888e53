"""Signal programmes that run as given, inside the kernel's tick loop.

Three kinds of light run their programme as given, whatever the policy: a static one,
whose every phase has its minimum green equal to its maximum (SUMO's ``<tlLogic>``
without ``minDur``/``maxDur``), which never asks its policy, and, under a policy that
declares it answers with the programme (``signals/fixed-time-v0``, see
:func:`twin.traffic.signals.follows_programme`), any light without actuation (the
programme's next phase for its programmed green) and any actuated one (SUMO's gap
control, :func:`twin.traffic.actuation.decide`, which asks every second or so). Handled
in Python, each of their events ended a batch of kernel ticks, so such a city paid the
Python and call overhead of a batch every few seconds (RESCO grid4x4: 553 of 595 kernel
calls in the hour ended at a light's event; an actuated 3x3 grid: 3,425 calls for 37,850
decisions). :func:`advance_fixed_lights` does what
:class:`~twin.traffic.signals.SignalBank` does for those lights (the same arithmetic on
the bank's own arrays, the same checked states, the same counts), at the start of every
tick, so a batch runs until the next event of the rest of the simulation.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.actuation import MIN_SWITCH_S, extension_s, loop_gap

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GREEN, CHANGE_YELLOW, CHANGE_ALL_RED = 0, 1, 2
"""The bank's stages (:mod:`twin.traffic.signals`)."""
EPS_S = 1e-9
"""The bank's slack on event times (:data:`twin.traffic.signals.EPS_S`)."""
FORCED, DECISIONS, CLAMPED = 0, 1, 2
"""Indices of :attr:`FixedLights.counts`."""


class BankTimers(NamedTuple):
    """The signal bank's timers, one entry per signalised intersection
    (:class:`~twin.traffic.signals.SignalBank`'s own arrays, which the kernel's light
    functions write in place): the phase shown or being left, the stage (:data:`GREEN`,
    :data:`CHANGE_YELLOW`, :data:`CHANGE_ALL_RED`), a change's target phase and the green
    it asked for, when the green started and when the next event is due."""

    phase: IntArray
    stage: IntArray
    target: IntArray
    target_green_s: FloatArray
    green_start_s: FloatArray
    next_event_s: FloatArray


class FixedLights(NamedTuple):
    """The lights of a bank that run as programmed: their programmes, and the bank's own
    timer arrays.

    Light ``s`` is bank intersection ``intersection[s]``; its phases are
    ``phase_start[s]:phase_start[s + 1]`` of the per-phase arrays, its movements
    ``mov_start[s]:mov_start[s + 1]`` of ``movements``. Phase ``p`` of a light with
    ``M`` movements shows ``states[row_start[p] + r * M :][:M]``, ``r`` being its
    green (0), the yellow of its change to the next phase (1) and the all-red (2).
    ``timers`` are the bank's (indexed by intersection), written in place; ``counts``
    the greens ended at their maximum (:data:`FORCED`), the
    policy's answers given for it (:data:`DECISIONS`) and those that asked to end a green
    before its minimum (:data:`CLAMPED`); ``grid_s[0]`` is the bank's decision grid (0:
    none)."""

    intersection: IntArray
    phase_start: IntArray
    green_s: FloatArray
    min_green_s: FloatArray
    max_green_s: FloatArray
    yellow_s: FloatArray
    all_red_s: FloatArray
    mov_start: IntArray
    movements: IntArray
    row_start: IntArray
    states: npt.NDArray[np.int8]
    timers: BankTimers
    counts: IntArray
    grid_s: FloatArray
    actuated_light: npt.NDArray[np.bool_]
    max_gap_s: FloatArray
    detector_gap_s: FloatArray
    phase_actuated: npt.NDArray[np.bool_]
    loop_start: IntArray
    loop_lanes: IntArray


@numba.njit(cache=True, _nrt=False)
def on_grid(epoch_s: float, grid_s: float) -> float:
    """``SignalBank._on_grid``: ``epoch_s`` rounded up to the decision grid."""
    if grid_s <= 0.0:
        return epoch_s
    return math.ceil(epoch_s / grid_s - EPS_S) * grid_s


@numba.njit(cache=True, _nrt=False)
def start_green(
    timers: BankTimers,
    i: int,
    target: int,
    min_green_s: float,
    max_green_s: float,
    grid_s: float,
    now_s: float,
) -> float:
    """``SignalBank._start_green``: intersection ``i`` turns phase ``target`` green at
    ``now_s``, held for the green its change asked for, within the phase's minimum and
    maximum and rounded up to the decision grid; returns when its next event is due."""
    timers.phase[i] = target
    timers.stage[i] = GREEN
    timers.green_start_s[i] = now_s
    hold = min(max(timers.target_green_s[i], min_green_s), max_green_s)
    epoch = min(on_grid(now_s + hold, grid_s), now_s + max_green_s)
    timers.next_event_s[i] = epoch
    return epoch


@numba.njit(cache=True, _nrt=False)
def show_state(
    mov_state: npt.NDArray[np.int8],
    movements: IntArray,
    states: npt.NDArray[np.int8],
    first: int,
    n: int,
    start: int,
) -> None:
    """Show the state at ``states[start:start + n]`` on a light's movements
    ``movements[first:first + n]``."""
    for k in range(n):
        mov_state[movements[first + k]] = states[start + k]


@numba.njit(cache=True, _nrt=False)
def _show(lights: FixedLights, mov_state: npt.NDArray[np.int8], s: int, p: int, row: int) -> None:
    first = lights.mov_start[s]
    n = lights.mov_start[s + 1] - first
    show_state(mov_state, lights.movements, lights.states, first, n, lights.row_start[p] + row * n)


@numba.njit(cache=True, _nrt=False)
def _gap_control(
    lights: FixedLights,
    on_s: FloatArray,
    left_s: FloatArray,
    s: int,
    p: int,
    current: int,
    nxt: int,
    elapsed: float,
    now_s: float,
) -> tuple[int, float]:
    """:func:`twin.traffic.actuation.decide` for light ``s`` in its phase ``p``
    (``current`` of its programme): the least gap on the loops that extend the phase,
    then SUMO's extension or the switch to the next phase."""
    gap = math.inf
    for k in range(lights.loop_start[p], lights.loop_start[p + 1]):
        gap = min(gap, loop_gap(on_s, left_s, lights.loop_lanes[k], now_s))
    more = extension_s(
        lights.phase_actuated[p],
        elapsed,
        lights.min_green_s[p],
        lights.max_green_s[p],
        gap,
        lights.max_gap_s[s],
        lights.detector_gap_s[s],
    )
    if more > 0.0:
        return current, more
    return nxt, MIN_SWITCH_S


@numba.njit(cache=True, _nrt=False)
def advance_fixed_lights(
    lights: FixedLights,
    act_on_s: FloatArray,
    act_left_s: FloatArray,
    mov_state: npt.NDArray[np.int8],
    now_s: float,
) -> None:
    """Every event of these lights due at ``now_s``, as ``SignalBank.update`` handles it:
    a green at its maximum is forced to end (``_forced``), an earlier one ends as the
    policy's programme answer makes it (``_apply``: the next phase for its programmed
    green), a yellow gives way to the all-red and the all-red to the next green
    (``_end_interval``, ``_start_green``); an interval of zero seconds ends in the same
    instant."""
    for s in range(len(lights.intersection)):
        i = lights.intersection[s]
        first = lights.phase_start[s]
        n_phases = lights.phase_start[s + 1] - first
        while lights.timers.next_event_s[i] <= now_s + EPS_S:
            p = first + lights.timers.phase[i]
            stage = lights.timers.stage[i]
            if stage == GREEN:
                current = lights.timers.phase[i]
                nxt = (current + 1) % n_phases
                elapsed = now_s - lights.timers.green_start_s[i]
                if elapsed >= lights.max_green_s[p] - EPS_S:
                    lights.counts[FORCED] += 1
                    green = lights.green_s[first + nxt]
                    if lights.actuated_light[s]:  # its next phase starts at min green
                        green = MIN_SWITCH_S
                else:  # asked (never, for a static light): the programme's answer
                    lights.counts[DECISIONS] += 1
                    target, green = nxt, lights.green_s[first + nxt]
                    if lights.actuated_light[s]:
                        target, green = _gap_control(
                            lights, act_on_s, act_left_s, s, p, current, nxt, elapsed, now_s
                        )
                    grid = lights.grid_s[0]
                    if target == current:
                        # An extended green (a one-phase programme holds its green).
                        end = min(
                            on_grid(now_s + green, grid),
                            lights.timers.green_start_s[i] + lights.max_green_s[p],
                        )
                        lights.timers.next_event_s[i] = max(end, now_s + EPS_S * 10)
                        if n_phases == 1 and lights.yellow_s[p] + lights.all_red_s[p] <= 0:
                            lights.timers.next_event_s[i] = now_s + green
                        continue
                    if elapsed < lights.min_green_s[p] - EPS_S:
                        lights.counts[CLAMPED] += 1
                        lights.timers.next_event_s[i] = on_grid(
                            lights.timers.green_start_s[i] + lights.min_green_s[p], grid
                        )
                        continue
                    if grid > 0.0:
                        green = max(green - lights.yellow_s[p] - lights.all_red_s[p], 0.0)
                lights.timers.target[i] = nxt
                lights.timers.target_green_s[i] = green
                _show(lights, mov_state, s, p, 1)
                lights.timers.stage[i] = CHANGE_YELLOW
                lights.timers.next_event_s[i] = now_s + lights.yellow_s[p]
            elif stage == CHANGE_YELLOW:
                _show(lights, mov_state, s, p, 2)
                lights.timers.stage[i] = CHANGE_ALL_RED
                lights.timers.next_event_s[i] = now_s + lights.all_red_s[p]
            else:
                target = lights.timers.target[i]
                q = first + target
                start_green(
                    lights.timers,
                    i,
                    target,
                    lights.min_green_s[q],
                    lights.max_green_s[q],
                    lights.grid_s[0],
                    now_s,
                )
                _show(lights, mov_state, s, q, 0)
