"""SUMO's actuated traffic lights (``<tlLogic type="actuated">``): where their loops sit,
which phase each loop extends, and the controller's decision.

Read from ``src/microsim/traffic_lights/MSActuatedTrafficLightLogic.cpp`` (``init``,
``trySwitch``, ``gapControl``, ``duration``) for programmes whose phases run in order
(no ``next``/``earlyTarget``: :mod:`twin.traffic.sumo` refuses those):

- **Loops.** Every lane with a link that is green in an actuated phase (``minDur !=
  maxDur``) gets a loop ``min(detector-gap * speed limit, (minDur / passing-time + 0.5)
  * 7.5 m)`` before its stop line, ``minDur`` the least of those phases' (so the minimum
  green can clear the cars between loop and line); at the lane's start when the lane is
  shorter (SUMO moves it onto a lone predecessor lane; twin does not).
- **Which loops extend a phase.** A loop extends an actuated phase when every link
  leaving its lane is green in it: ``'G'``, or ``'g'`` where the link is never ``'G'``
  (or is a turnaround) and a ``'G'`` link leaves the same lane, or its edge has one lane.
  SUMO's second check, for loops on consecutive joined lights, is not made.
- **One decision per light.** A light that spans several junctions (netconvert's
  ``--tls.join``, which osmWebWizard uses) keeps its phases in every junction's part and
  reads the loops of all of them, so its parts decide alike and stay in step.
- **The decision** (:func:`decide`), at the end of the green asked for: a phase that is
  not actuated, or at its ``maxDur``, ends; otherwise, if some loop of the phase was
  left less than ``max-gap`` ago (``gap``; 0 while a vehicle is on it), the phase goes
  on for ``max(minDur - elapsed, detector-gap - gap)`` rounded up to a whole second of
  green (at most to ``maxDur``), else it ends. The next phase (in order) is green for
  its ``minDur`` (at least a second) before the next decision, and so is the first phase
  of the run (SUMO
  1.28 ends it after its ``minDur`` when nothing has come, not after its ``duration``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.network import Intersection, Network, NetworkArrays
from twin.traffic.observation import SignalAction, SignalObservation

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

LENGTH_WITH_GAP_M = 7.5
"""SUMO's ``DEFAULT_LENGTH_WITH_GAP``: a queued vehicle's length plus gap."""
NO_LOOP = -1.0
MIN_SWITCH_S = 1.0
"""SUMO's actuated logic never asks again sooner than a second after it switches."""


def loop_positions(network: Network, arrays: NetworkArrays) -> FloatArray:
    """Per lane (every lane), where the loop of its actuated light sits from the lane's
    start; :data:`NO_LOOP` where it has none."""
    positions = np.full(arrays.total_lanes, NO_LOOP)
    for inter in network.intersections:
        program = inter.program
        if program is None or program.actuation is None:
            continue
        actuation = program.actuation
        min_green: dict[int, float] = {}
        for p, phase in enumerate(program.phases):
            if not actuation.actuated[p]:
                continue
            for k, m in enumerate(inter.movements):
                if phase.state[k] in "Gg":
                    lane = int(arrays.mov_from_lane[m])
                    min_green[lane] = min(min_green.get(lane, math.inf), phase.min_green_s)
        for lane, min_dur in min_green.items():
            ahead = min(
                actuation.detector_gap_s * float(arrays.lane_speed_mps[lane]),
                (min_dur / actuation.passing_time_s + 0.5) * LENGTH_WITH_GAP_M,
            )
            positions[lane] = max(float(arrays.lane_length_m[lane]) - ahead, 0.0)
    return positions


def loops_serving(
    inter: Intersection, network: Network, arrays: NetworkArrays, positions: FloatArray
) -> BoolArray:
    """``(phases, movements)``: the loop on the movement's lane extends the phase (SUMO's
    ``myInductLoopsForPhase``; module docstring). All ``False`` for a static programme."""
    program = inter.program
    assert program is not None
    movements = np.array(inter.movements, dtype=np.int64)
    serves = np.zeros((len(program.phases), len(movements)), dtype=np.bool_)
    actuation = program.actuation
    if actuation is None:
        return serves
    lanes = arrays.mov_from_lane[movements]
    never_major = np.array(
        [all(p.state[k] != "G" for p in program.phases) for k in range(len(movements))]
    )
    turnaround = np.array([network.movements[m].turn == "t" for m in inter.movements])
    one_lane = np.array(
        [network.edges[network.movements[m].from_edge].lanes == 1 for m in inter.movements]
    )
    has_loop = positions[lanes] >= 0.0
    for p, phase in enumerate(program.phases):
        if not actuation.actuated[p]:
            continue
        state = np.array(list(phase.state))
        major_lanes = set(lanes[state == "G"].tolist())
        minor_ok = (never_major | turnaround) & np.array([lane in major_lanes for lane in lanes])
        green = (state == "G") | ((state == "g") & (minor_ok | one_lane))
        for lane in set(lanes[has_loop].tolist()):
            mine = lanes == lane
            if green[mine].all():
                serves[p, mine] = True
    return serves


@numba.njit(cache=True, _nrt=False)
def loop_gap(on_s: FloatArray, left_s: FloatArray, lane: int, now_s: float) -> float:
    """What SUMO's controller reads at ``now_s`` on the loop of ``lane``: 0 while a
    vehicle is on it (``on_s``: covered at the end of the last tick), else the time since
    a vehicle's back last left it (``left_s``), ``inf`` before any vehicle (the kernel's
    ``actuation_move`` keeps both)."""
    return 0.0 if on_s[lane] >= now_s - 1e-9 else max(now_s - left_s[lane], 0.0)


@numba.njit(cache=True, _nrt=False)
def extension_s(
    actuated: bool,
    elapsed_s: float,
    min_green_s: float,
    max_green_s: float,
    gap_s: float,
    max_gap_s: float,
    detector_gap_s: float,
) -> float:
    """How much longer SUMO's actuated controller keeps a green whose least loop gap is
    ``gap_s`` (module docstring), or 0: it switches to the next phase."""
    if not (actuated and elapsed_s < max_green_s and gap_s < max_gap_s):
        return 0.0
    more = max(min_green_s - elapsed_s, detector_gap_s - gap_s, 1e-3)
    if abs(more - round(more)) > 1e-9:
        # SUMO: a fractional extension ends the phase at the next whole second.
        more = math.floor(elapsed_s + more + 1e-9) + 1.0 - elapsed_s
    return max(min(more, max_green_s - elapsed_s), 1e-3)


@numba.njit(cache=True, _nrt=True)
def phase_gaps(
    on_s: FloatArray, left_s: FloatArray, start: IntArray, loop_lanes: IntArray, now_s: float
) -> FloatArray:
    """Per phase, the least :func:`loop_gap` on the loops that extend it (lanes
    ``loop_lanes[start[p]:start[p + 1]]``), ``inf`` without a loop."""
    gaps = np.full(len(start) - 1, math.inf)
    for p in range(len(start) - 1):
        for k in range(start[p], start[p + 1]):
            gap = loop_gap(on_s, left_s, loop_lanes[k], now_s)
            if gap < gaps[p]:
                gaps[p] = gap
    return gaps


def decide(obs: SignalObservation) -> SignalAction:
    """SUMO's actuated controller at the end of the green it asked for (module docstring);
    ``obs.actuation`` must be set."""
    actuation = obs.actuation
    assert actuation is not None
    phase = obs.phase
    more = extension_s(
        bool(actuation.actuated[phase]),
        obs.phase_elapsed_s,
        obs.min_green_s,
        obs.max_green_s,
        float(actuation.gap_s[phase]),
        actuation.max_gap_s,
        actuation.detector_gap_s,
    )
    if more > 0.0:
        return SignalAction(phase, more)
    nxt = (phase + 1) % len(obs.green_s)
    # The controller holds a new green for its minimum, at least a second, before asking
    # again (trySwitch: MAX3(TIME2STEPS(1), minDur, ...)).
    return SignalAction(nxt, MIN_SWITCH_S)
