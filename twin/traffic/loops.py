"""Induction loops placed by the user (SUMO's ``<inductionLoop>``, its e1 detector).

A loop is a point ``pos_m`` on one lane. As SUMO's ``MSInductLoop`` does
(``src/microsim/output/MSInductLoop.cpp``), a vehicle *enters* the loop when its front
passes the point and *leaves* when its back passes it; the times are interpolated
within the step at the vehicle's new speed (SUMO's ``MSCFModel::passingTime`` under the
Euler update: distance to the point / speed). Per interval of ``period_s`` a loop
reports what SUMO's e1 ``<interval>`` reports:

- ``nVehContrib``: vehicles that left the loop in the interval;
- ``speed``: mean over them of ``length / (leave - entry)`` (-1 in SUMO, NaN here, when
  none left);
- ``occupancy``: the share of the interval (in %) the loop was covered: for each vehicle
  that left, ``leave - max(interval begin, entry)``, plus the time a vehicle still on
  the loop has covered it;
- ``nVehEntered``: vehicles whose front passed the point in the interval.

Time as SUMO's e1 tells it. SUMO's step at time ``t`` moves every vehicle from its state
at ``t - dt`` to its state at ``t`` (what its fcd output shows at ``t``), and the loop
stamps a passing during that move ``t + distance / speed`` (``SIMTIME`` plus the passing
time), i.e. one step later than the passing happened; an interval ending at ``t`` is
written between the insertions of step ``t - dt`` and the moves of step ``t``. Twin's
tick from ``now_s`` moves vehicles from their state at ``now_s`` to ``now_s + dt`` after
inserting at ``now_s``: it is SUMO's insertion at ``now_s`` plus SUMO's moves at
``now_s + dt``. So the kernel stamps a tick's passings with ``now_s + dt`` (the time of
SUMO's step making that move), and :class:`LoopBank` closes the interval ending at ``t``
at ``t - dt``, before that tick's moves (a SimPy event the tick batch stops at). Stamping
with ``now_s`` instead gives the same trajectories but counts a vehicle whose front
passes the point in the tick ending exactly at an interval's end in the earlier interval
(SUMO: the later one): one vehicle moves between two intervals.

The kernel calls :func:`loop_move` for every vehicle it moves and
:func:`loop_arrive` for every vehicle that arrives; the state is a
:class:`LoopState`, whose arrays the kernel's ``Lanes`` carries as its ``loop_*``
fields. A vehicle is followed by one loop at a time: loops a vehicle could cover at
once (closer than the longest vehicle, on one lane or across a junction) would get
wrong times, and the SUMO scenario refuses them (``sumo_scenario._check_loop_spacing``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import quoteattr

import numba
import numpy as np
import numpy.typing as npt

from twin.core.units import SECONDS_PER_HOUR

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ENTERED, LEFT, SPEED_SUM, OCCUPIED_S, ENTRY_S, SINCE_S = 0, 1, 2, 3, 4, 5
"""Columns of :attr:`LoopState.acc`."""
_COLUMNS = 6


class LoopState(NamedTuple):
    """Loops by lane (CSR ``start``) and what they have seen since ``acc[:, SINCE_S]``.

    ``acc[k]``: vehicles entered and left, the sum of the speeds of those that left,
    the time they covered the loop since the interval began, the entry time of the
    vehicle on the loop now (NaN: none), the interval's begin. ``held[v]``: the loop
    vehicle ``v`` is on (-1: none); ``remaining_m[v]``: how far its back is still
    before the point.
    """

    start: IntArray
    pos_m: FloatArray
    length_m: FloatArray  # the vehicle length of the loop's occupant
    acc: FloatArray
    held: IntArray
    remaining_m: FloatArray


def no_loops(n_lanes: int = 0) -> LoopState:
    """A state without loops (the kernel skips them at once)."""
    return LoopState(
        np.zeros(n_lanes + 1, dtype=np.int64),
        np.zeros(0),
        np.zeros(0),
        np.zeros((0, _COLUMNS)),
        np.full(0, -1, dtype=np.int64),
        np.zeros(0),
    )


def loop_state(lanes: Sequence[int], pos_m: Sequence[float], n_lanes: int, n_veh: int) -> LoopState:
    """State of loops ``k`` at ``pos_m[k]`` on lane ``lanes[k]`` (kernel lane indices),
    ordered by lane; ``loop_order`` of the result maps back (see :class:`LoopBank`)."""
    lane_arr = np.asarray(lanes, dtype=np.int64)
    counts = np.bincount(lane_arr, minlength=n_lanes) if len(lane_arr) else np.zeros(n_lanes)
    start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    order = np.argsort(lane_arr, kind="stable")
    acc = np.zeros((len(lane_arr), _COLUMNS))
    acc[:, ENTRY_S] = math.nan
    return LoopState(
        start,
        np.asarray(pos_m, dtype=np.float64)[order],
        np.zeros(len(lane_arr)),
        acc,
        np.full(n_veh, -1, dtype=np.int64),
        np.zeros(n_veh),
    )


@numba.njit(cache=True, _nrt=False)
def loop_move(
    lanes: Any,
    lane: int,
    v: int,
    old: float,
    new: float,
    speed: float,
    length: float,
    now_s: float,
) -> None:
    """Vehicle ``v`` moved on ``lane`` from ``old`` to ``new`` at ``speed`` in SUMO's
    step at ``now_s`` (twin's tick from ``now_s - dt``, see the module docstring): count
    its front entering and its back leaving loops.

    ``lanes`` is the kernel's :class:`~twin.traffic.kernels.Lanes`: its ``loop_*``
    fields are a :class:`LoopState`'s arrays.
    """
    if len(lanes.loop_pos_m) == 0:
        return
    moved = new - old
    k = lanes.loop_held[v]
    if k >= 0 and moved > 0.0:
        r = lanes.loop_remaining_m[v]
        if r <= moved:
            _leave(lanes, k, v, now_s + r / speed)
        else:
            lanes.loop_remaining_m[v] = r - moved
    for k in range(lanes.loop_start[lane], lanes.loop_start[lane + 1]):
        x = lanes.loop_pos_m[k]
        if old < x <= new:
            if lanes.loop_held[v] >= 0:
                _leave(lanes, lanes.loop_held[v], v, now_s + (x - old) / speed)
            acc = lanes.loop_acc[k]
            acc[ENTERED] += 1.0
            acc[ENTRY_S] = now_s + (x - old) / speed
            lanes.loop_length_m[k] = length
            lanes.loop_held[v] = k
            r = x + length - old
            if r <= moved:
                _leave(lanes, k, v, now_s + r / speed)
            else:
                lanes.loop_remaining_m[v] = r - moved


@numba.njit(cache=True, _nrt=False)
def loop_arrive(lanes: Any, v: int, at_s: float) -> None:
    """Vehicle ``v`` arrived: if it was on a loop, it leaves it at ``at_s``, counted in
    the occupancy but not among the vehicles that passed (SUMO's ``notifyLeave``: a
    vehicle that "left early", at ``SIMTIME + TS`` of the step it arrived in, which the
    kernel passes: the end of its tick plus one tick)."""
    if len(lanes.loop_pos_m) == 0:
        return
    k = lanes.loop_held[v]
    if k < 0:
        return
    acc = lanes.loop_acc[k]
    acc[OCCUPIED_S] += at_s - max(acc[SINCE_S], acc[ENTRY_S])
    acc[ENTRY_S] = math.nan
    lanes.loop_held[v] = -1


@numba.njit(cache=True, _nrt=False)
def _leave(lanes: Any, k: int, v: int, leave_s: float) -> None:
    acc = lanes.loop_acc[k]
    entry = acc[ENTRY_S]
    acc[LEFT] += 1.0
    acc[SPEED_SUM] += lanes.loop_length_m[k] / max(leave_s - entry, 1e-9)
    acc[OCCUPIED_S] += leave_s - max(acc[SINCE_S], entry)
    acc[ENTRY_S] = math.nan
    lanes.loop_held[v] = -1


@dataclass(frozen=True)
class LoopInterval:
    """One loop's e1 ``<interval>``: SUMO's attributes (speed NaN when none left)."""

    begin_s: float
    end_s: float
    id: str
    n_veh_contrib: int
    occupancy_pct: float
    speed_mps: float
    n_veh_entered: int


class LoopBank:
    """Interval readings of the loops, taken every period by a SimPy process.

    Args:
        ids: loop ids, in the order given to :func:`loop_state`.
        lanes: their kernel lanes (the same order).
        periods_s: their intervals.
        state: the kernel state.
        offset_s: added to every reported time (SUMO's ``begin`` when twin's clock
            starts there).
        step_s: the tick: an interval ending at ``t`` is closed at ``t - step_s``,
            before the tick whose moves are SUMO's step at ``t`` (module docstring).
        end_s: SUMO's ``end`` on twin's clock: every interval is closed then (at
            ``end_s - step_s``), as SUMO closes its detectors after its last step.
    """

    def __init__(
        self,
        ids: Sequence[str],
        lanes: Sequence[int],
        periods_s: Sequence[float],
        state: LoopState,
        offset_s: float = 0.0,
        step_s: float = 0.0,
        end_s: float = math.inf,
    ) -> None:
        order = np.argsort(np.asarray(lanes, dtype=np.int64), kind="stable")
        self.row = {ids[int(i)]: r for r, i in enumerate(order)}  # loop id -> state row
        self.ids = list(ids)
        self.periods = dict(zip(ids, periods_s, strict=True))
        self.state = state
        self.offset_s = offset_s
        self.step_s = step_s
        self.end_s = end_s
        self.intervals: list[LoopInterval] = []

    def read(self, loop_ids: Sequence[str], now_s: float) -> None:
        """Close the interval of ``loop_ids`` at ``now_s`` and start the next."""
        acc = self.state.acc
        for loop_id in loop_ids:
            interval = self._interval(loop_id, now_s)
            if interval is None:
                continue
            self.intervals.append(interval)
            a = acc[self.row[loop_id]]
            a[ENTERED] = a[LEFT] = a[SPEED_SUM] = a[OCCUPIED_S] = 0.0
            a[SINCE_S] = now_s

    def _interval(self, loop_id: str, now_s: float) -> LoopInterval | None:
        """The interval of ``loop_id`` from its begin to ``now_s`` (None: empty span)."""
        a = self.state.acc[self.row[loop_id]]
        since = float(a[SINCE_S])
        span = now_s - since
        if span <= 0:
            return None
        occupied = float(a[OCCUPIED_S])
        if not math.isnan(a[ENTRY_S]):
            occupied += max(0.0, now_s - max(since, float(a[ENTRY_S])))
        left = int(a[LEFT])
        return LoopInterval(
            since + self.offset_s,
            now_s + self.offset_s,
            loop_id,
            left,
            100.0 * occupied / span,
            float(a[SPEED_SUM]) / left if left else math.nan,
            int(a[ENTERED]),
        )

    def intervals_until(self, now_s: float) -> list[LoopInterval]:
        """Every interval so far, the open ones closed at ``now_s`` (as SUMO writes
        a last, possibly shorter, interval when the simulation ends); nothing closes."""
        out = list(self.intervals)
        for loop_id in self.ids:
            interval = self._interval(loop_id, now_s)
            if interval is not None:
                out.append(interval)
        return sorted(out, key=lambda r: (r.begin_s, r.id))

    def process(self, env: object, period_s: float, clock: Callable[[], float]):  # type: ignore[no-untyped-def]
        """A SimPy process closing the intervals of every loop of ``period_s`` at every
        multiple ``t`` of it (and at ``end_s``), ``step_s`` early (module docstring)."""
        ids = [i for i in self.ids if self.periods[i] == period_s]
        k = 0
        while True:
            k += 1
            close = min(k * period_s, self.end_s)
            yield env.timeout(max(0.0, close - self.step_s - clock()))  # type: ignore[attr-defined]
            self.read(ids, close)
            if close >= self.end_s:
                return

    def totals(self, now_s: float) -> dict[str, tuple[int, float, float]]:
        """Per loop until ``now_s``: vehicles, mean speed, time-mean occupancy (%)."""
        out: dict[str, tuple[int, float, float]] = {}
        intervals = self.intervals_until(now_s)
        for loop_id in self.ids:
            rows = [r for r in intervals if r.id == loop_id]
            n = sum(r.n_veh_contrib for r in rows)
            speed = sum(r.speed_mps * r.n_veh_contrib for r in rows if r.n_veh_contrib)
            span = sum(r.end_s - r.begin_s for r in rows)
            occ = sum(r.occupancy_pct * (r.end_s - r.begin_s) for r in rows)
            out[loop_id] = (n, speed / n if n else math.nan, occ / span if span else math.nan)
        return out


def write_e1(path: str | Path, intervals: Sequence[LoopInterval]) -> Path:
    """Write ``intervals`` as SUMO writes an e1 detector file (``<detector>`` of
    ``<interval>``; speed -1 when no vehicle was counted), atomically.

    Only the attributes twin measures are written: ``begin``, ``end``, ``id``,
    ``nVehContrib``, ``flow`` (veh/h), ``occupancy`` (%), ``speed`` (m/s),
    ``nVehEntered``.
    """
    from twin.core.files import write_atomically  # pandas: not for the kernel's import

    out = Path(path)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<detector>"]
    for r in intervals:
        span = r.end_s - r.begin_s
        flow = r.n_veh_contrib / span * SECONDS_PER_HOUR if span > 0 else 0.0
        speed = -1.0 if math.isnan(r.speed_mps) else r.speed_mps
        lines.append(
            f'    <interval begin="{r.begin_s:.2f}" end="{r.end_s:.2f}" id={quoteattr(r.id)} '
            f'nVehContrib="{r.n_veh_contrib}" flow="{flow:.2f}" '
            f'occupancy="{r.occupancy_pct:.2f}" speed="{speed:.2f}" '
            f'nVehEntered="{r.n_veh_entered}"/>'
        )
    lines.append("</detector>")
    write_atomically(out, "\n".join(lines) + "\n")
    return out
