"""What a signal policy sees at a decision epoch of one intersection, and what it answers.

Arrays are indexed by the intersection's movements (link index, as in the phase state
strings). A movement's lane quantities are those of the lane it leaves from, so
movements sharing a lane see the same queue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, overload

import numpy as np
import numpy.typing as npt

from twin.core.policy import InvalidActionError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

ENTITY_PREFIX = "intersection:"
"""An intersection's name as a decider (``traffic.signals``' ``entity_of``, a learning
environment's agent): ``intersection:<id>``."""

LOOP_STOP_LINE, LOOP_UPSTREAM = 0, 1
"""Columns of the ``sensed_count``, ``sensed_occupancy`` and ``sensed_speed_mps`` arrays."""


class ActuationReading(NamedTuple):
    """What SUMO's actuated controller of the intersection's light reads (its programme
    is ``type="actuated"``; :mod:`twin.traffic.actuation`).

    Attributes:
        actuated: ``(phases,)``: the phase is actuated (``minDur != maxDur``).
        gap_s: ``(phases,)``: over the loops that extend the phase, on every junction of
            the light, the least time since a vehicle's back left one (0 while a vehicle
            is on one; ``MSInductLoop::getTimeSinceLastDetection``); ``inf`` without a
            loop or a vehicle yet.
        max_gap_s, detector_gap_s: the programme's ``max-gap`` and ``detector-gap``.
    """

    actuated: BoolArray
    gap_s: FloatArray
    max_gap_s: float
    detector_gap_s: float


class SignalObservation(NamedTuple):
    """One intersection at a decision epoch.

    Attributes:
        now_s: simulated time.
        intersection: index of the intersection among the signalised ones.
        intersection_id: its id.
        phase: the green phase being shown.
        phase_elapsed_s: how long it has been green.
        min_green_s, max_green_s: the current phase's limits (the controller enforces them).
        phase_green: ``(phases, movements)`` bool: which movements each phase serves.
        green_s: fixed-time green of each phase (the programme).
        queue: halting vehicles (<= 0.1 m/s) on each movement's lane (lane-area detector).
        vehicles: vehicles on each movement's lane.
        downstream: vehicles per lane on each movement's target edge.
        gap_s: time since a vehicle last crossed the upstream loop of each movement's lane
            (``inf`` if none yet): what SUMO's actuated control calls the gap.
        flow_per_s: vehicles per second that crossed each movement's stop-line loop since
            the start of the run (or the warm-up), for Webster's formula.
        sensed_queue: ``queue`` as delivered by the detector pipeline (noise, dropout,
            latency); NaN where no reading has arrived or without detectors.
        sensed_count: ``(movements, 2)``: vehicles that crossed the stop-line
            (column :data:`LOOP_STOP_LINE`) and upstream (:data:`LOOP_UPSTREAM`) induction
            loops of each movement's lane in the last loop period, as delivered by the
            detector pipeline; NaN where no reading has arrived, the loop is dead, or
            without loop detectors.
        sensed_occupancy: same layout: fraction of the last period each loop was covered.
        sensed_speed_mps: same layout: mean speed of the vehicles counted (the last
            delivered one when a period counted none).
        lane: the lane each movement leaves from, numbered ``0, 1, ...`` among the
            intersection's approach lanes: movements with the same number share a lane
            and so its queue, vehicles, gap, flow and sensed values (count a lane once:
            ``np.unique(lane, return_index=True)``).
        actuation: SUMO's actuated control of the programme, as its controller reads
            it; ``None`` for a static programme.
    """

    now_s: float
    intersection: int
    intersection_id: str
    phase: int
    phase_elapsed_s: float
    min_green_s: float
    max_green_s: float
    phase_green: BoolArray
    green_s: FloatArray
    queue: FloatArray
    vehicles: FloatArray
    downstream: FloatArray
    gap_s: FloatArray
    flow_per_s: FloatArray
    sensed_queue: FloatArray
    sensed_count: FloatArray
    sensed_occupancy: FloatArray
    sensed_speed_mps: FloatArray
    lane: IntArray
    actuation: ActuationReading | None = None


class SignalAction(NamedTuple):
    """Show green phase ``phase`` and ask again after ``duration_s`` of green.

    Same phase: extend it by ``duration_s`` (never past its maximum green). Another
    phase: end the current one (yellow, then all-red) and start ``phase``, which then
    stays green for ``duration_s`` kept within its [min green, max green] before the next
    epoch. A request to change before the current phase's minimum green is *clamped*: the
    phase stays until its minimum green, when the policy is asked again. At maximum green the
    controller ends the phase whatever the policy wants (max-out) and moves to the next
    phase of the programme for its programmed green.
    """

    phase: int
    duration_s: float


def check_signal_action(
    action: object, observation: SignalObservation, policy_id: str
) -> tuple[int, float]:
    """``(phase, duration_s)`` of ``action`` if a signal policy may answer it to
    ``observation`` (a phase of the intersection's programme, one per row of ``green_s``);
    :class:`InvalidActionError` naming what is wrong."""
    phases = len(observation.green_s)
    if not isinstance(action, SignalAction):
        raise InvalidActionError(policy_id, action, "expected SignalAction(phase, duration_s)")
    phase, duration = action
    if not isinstance(phase, int | np.integer) or not 0 <= int(phase) < phases:
        raise InvalidActionError(policy_id, action, f"phase must be an int in [0, {phases})")
    if not (isinstance(duration, float | int) and math.isfinite(duration) and duration > 0):
        raise InvalidActionError(policy_id, action, "duration_s must be finite and > 0")
    return int(phase), float(duration)


class SignalTurn(Sequence[SignalObservation]):
    """The observations of the intersections deciding at one instant, as one batch.

    What the city reads at the instant is here as arrays (the readings of every
    deciding intersection's movements, and each intersection's phase, how long it has
    shown it and its minimum green), so a learning agent's encoding reads them at once
    (:func:`twin.traffic.learning.encode_signals`); an observation object is made only
    when an item is asked for (a rule policy, a check), from the same values.

    Attributes:
        now_s: the instant.
        intersections: the deciding intersections (index among the signalised).
        entities: their decision-area names (``intersection:<id>``), as ``entity_of``
            names each observation.
        phase: the green phase each shows.
        phase_elapsed_s, min_green_s: how long it has shown it, and its minimum green.
        vehicles, queue: vehicles and halting vehicles on each movement's lane; the
            ``k``-th intersection's movements are ``bounds[k, 0]:bounds[k, 1]``.
        bounds: ``(len, 2)``: each intersection's slice of those arrays.
    """

    __slots__ = (
        "_made",
        "_make",
        "bounds",
        "entities",
        "intersections",
        "min_green_s",
        "now_s",
        "phase",
        "phase_elapsed_s",
        "queue",
        "vehicles",
    )

    def __init__(
        self,
        now_s: float,
        intersections: IntArray,
        entities: list[str],
        phase: IntArray,
        phase_elapsed_s: FloatArray,
        min_green_s: FloatArray,
        vehicles: FloatArray,
        queue: FloatArray,
        bounds: IntArray,
        make: Callable[[int], SignalObservation],
    ) -> None:
        self.now_s = now_s
        self.intersections = intersections
        self.entities = entities
        self.phase = phase
        self.phase_elapsed_s = phase_elapsed_s
        self.min_green_s = min_green_s
        self.vehicles = vehicles
        self.queue = queue
        self.bounds = bounds
        self._make = make
        self._made: list[SignalObservation | None] = [None] * len(intersections)

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, k: int) -> SignalObservation: ...
    @overload
    def __getitem__(self, k: slice) -> list[SignalObservation]: ...
    def __getitem__(self, k: int | slice) -> SignalObservation | list[SignalObservation]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        made = self._made[k]
        if made is None:
            made = self._made[k] = self._make(k % len(self._made))
        return made


class SignalActions(Sequence[SignalAction]):
    """The answers to a :class:`SignalTurn`, as arrays: ``phase[k]`` for ``duration_s[k]``
    is the answer to its ``k``-th observation. The signal bank applies them at once."""

    __slots__ = ("duration_s", "phase")

    def __init__(self, phase: IntArray, duration_s: FloatArray) -> None:
        self.phase = phase
        self.duration_s = duration_s

    def __len__(self) -> int:
        return len(self.phase)

    @overload
    def __getitem__(self, k: int) -> SignalAction: ...
    @overload
    def __getitem__(self, k: slice) -> list[SignalAction]: ...
    def __getitem__(self, k: int | slice) -> SignalAction | list[SignalAction]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        return SignalAction(int(self.phase[k]), float(self.duration_s[k]))
