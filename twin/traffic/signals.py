"""Signal controllers of every intersection, timers in arrays.

Each tick the city asks :meth:`SignalBank.update` to handle intersections whose next
event (end of yellow, end of all-red, decision epoch) is due; a single vectorised
comparison finds them, so the per-tick cost does not grow with idle intersections.

Safety: a phase's green state is checked against the intersection's foes when the bank
is built (:func:`twin.traffic.network.check_program`), and every state the bank shows is
checked again (:meth:`SignalBank.check_safe`) — a policy only chooses phases, never
individual signals, so it cannot produce a conflicting green.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.core.jit import RepeatedCall
from twin.core.policy import ActsTogether, InvalidActionError, Policy
from twin.traffic.actuation import MIN_SWITCH_S
from twin.traffic.answers import (
    CHANGE,
    CHANGE_NOW,
    BankArrays,
    YellowStates,
    all_green_under_max,
    answer_all,
)
from twin.traffic.change_intervals import ChangeIntervals
from twin.traffic.fixed_lights import CLAMPED, DECISIONS, FORCED, BankTimers, FixedLights
from twin.traffic.kernels import (
    OFF,
    OFF_BLINKING,
    PERMISSIVE,
    PROTECTED,
    RED,
    STATE_LETTERS,
    STOP,
    YELLOW,
)
from twin.traffic.network import Intersection, Network, check_program
from twin.traffic.observation import (
    SignalActions,
    SignalObservation,
    SignalTurn,
    check_signal_action,
)

GREEN, CHANGE_YELLOW, CHANGE_ALL_RED = 0, 1, 2
_CODES = {c: k for k, c in enumerate(STATE_LETTERS)}
_RANK = np.zeros(len(STATE_LETTERS), dtype=np.int64)
# From most to least restrictive: a movement green in a phase and the next keeps the
# more restrictive of its two states during the change interval.
for _rank, _code in enumerate((RED, YELLOW, STOP, OFF_BLINKING, PERMISSIVE, OFF, PROTECTED)):
    _RANK[_code] = _rank
EPS_S = 1e-9
_LIMITS = ("min_green_s", "max_green_s", "yellow_s", "all_red_s")
MAX_KERNEL_PHASES = 16
"""Lights with more phases keep their change intervals in Python: the kernel holds a
state for every pair of phases (one per movement, 256 pairs at most)."""

Observer = Callable[[int, float], SignalObservation]
TurnObserver = Callable[[npt.NDArray[np.int64], float], SignalTurn]
ActuatedParts = tuple[
    npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64], float, float
]
"""What an actuated light's controller reads: per phase whether it is actuated, the lanes
of the loops that extend each phase (starts per phase, lanes), max-gap, detector-gap."""


@dataclass
class _Known:
    """What banks have worked out about one network's lights, by bank index: a network is
    immutable and these are functions of its programmes alone, so a city built on it
    again (a learning environment's reset, a batch worker's next run) reuses them."""

    safe: set[tuple[int, bytes]] = field(default_factory=set)
    """The states found safe (:meth:`SignalBank.check_safe`)."""
    changes: dict[tuple[int, int, int, bool], npt.NDArray[np.int8]] = field(default_factory=dict)
    """The states shown while a light changes, by (light, phase, target phase, yellow),
    read-only (:meth:`SignalBank._show_change`)."""
    kernel_changes: dict[int, tuple[list[int], list[int], npt.NDArray[np.int8]] | None] = field(
        default_factory=dict
    )
    """What :meth:`SignalBank._change_intervals` holds of each light."""
    yellows: YellowStates | None = None
    """The yellow of every change, for answers applied at once
    (:meth:`SignalBank._yellow_states`)."""


_KNOWN: weakref.WeakKeyDictionary[Network, _Known] = weakref.WeakKeyDictionary()


def follows_programme(policy: object) -> bool:
    """Whether ``policy`` declares that it answers with the programme: at every light
    without actuation the programme's next phase for its programmed green, at every
    actuated one what SUMO's gap control decides (:func:`twin.traffic.actuation.decide`)
    (a class attribute ``follows_programme = True``, on the class that also defines
    ``act``: a subclass that answers otherwise does not inherit it), so the kernel may
    run those lights (:mod:`twin.traffic.fixed_lights`) without asking it."""
    for klass in type(policy).__mro__:
        if "act" in vars(klass):  # the class whose act answers
            return vars(klass).get("follows_programme") is True
    return False


def never_asked(signalised: Sequence[Intersection]) -> str | None:
    """Why no controller of these signalised intersections will ever be asked, or
    ``None``: there are none, or every phase has its minimum green equal to its maximum
    (a static programme, as SUMO's without ``minDur``/``maxDur``), which
    :class:`SignalBank` ends at its time without asking (the next phase follows)."""
    if not signalised:
        return "the network has no traffic lights, so there is no signal to control"
    for inter in signalised:
        assert inter.program is not None
        if not inter.program.greens_fixed:
            return None
    return (
        f"every phase of its {len(signalised)} traffic lights has a fixed green "
        "(min green = max green: a static programme), so no controller is ever asked; "
        "give the phases room, e.g. adaptive_green_s = [5, 50] (sumo-rl's min_green, "
        "max_green) for traffic/sumo-net-v0"
    )


def all_red_state(
    current: npt.NDArray[np.int8], target: npt.NDArray[np.int8], same: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int8]:
    """The state shown after the yellow of a change from the green ``current`` to the
    green ``target`` (arrays of states, broadcast): a movement green in both keeps the
    stricter of its two letters, every other is red. A change from a phase to itself
    (``same``: a one-phase programme cycling through its own yellow and all-red, SUMO
    rows "G", "y", "r", a ramp meter) keeps only 's'."""
    keep = np.where(same, (current == STOP) & (target == STOP), (current != RED) & (target != RED))
    stricter = np.where(_RANK[current] <= _RANK[target], current, target)
    return np.where(keep, stricter, RED).astype(np.int8)


class _Count:
    """A count of the run: the bank's own, plus the kernel's for the lights it runs
    (:meth:`SignalBank.hand_to_kernel`); setting it (0 at the warm-up's end) sets the
    sum."""

    def __init__(self, which: int, doc: str) -> None:
        self.which = which
        self.__doc__ = doc

    def __get__(self, bank: SignalBank, owner: object = None) -> int:
        return bank._counted_here[self.which] + int(bank.fixed.counts[self.which])

    def __set__(self, bank: SignalBank, value: int) -> None:
        bank._counted_here[self.which] = value - int(bank.fixed.counts[self.which])


class SignalBank:
    """Controllers of all signalised intersections of a network.

    Args:
        network: the network (its programmes are validated here).
        mov_state: the kernel's per-movement signal state, written in place.
        policy: decides at each epoch of each intersection.
        observe: builds the observation of signalised intersection ``i`` at time ``t``.
        decision_grid_s: see the attribute.
        observe_turn: builds the observations of the intersections deciding together at
            time ``t``, as one batch (for a policy that acts together; else ``observe``
            builds each).
    """

    forced = _Count(FORCED, "Greens ended at their maximum without asking the policy.")
    decisions = _Count(DECISIONS, "Answers of the policy.")
    clamped = _Count(CLAMPED, "Answers that would have ended a green before its minimum.")

    def __init__(
        self,
        network: Network,
        mov_state: npt.NDArray[np.int8],
        policy: Policy[Any, Any],
        observe: Observer,
        decision_grid_s: float | None = None,
        observe_turn: TurnObserver | None = None,
    ) -> None:
        self.mov_state = mov_state
        self.decision_grid_s = decision_grid_s
        """``None``: a policy is asked when the green it asked for has run. A number
        ``D``: only at multiples of ``D`` s, every epoch rounded up to the next, an action's
        ``duration_s`` counted from the decision with the change's yellow and all-red in it
        (sumo-rl's ``delta_time``), so intersections deciding on one grid decide together."""
        self.policy = policy
        self.policy_id = getattr(policy, "id", type(policy).__name__)
        self.observe = observe
        self.observe_turn = observe_turn
        self.intersections: list[Intersection] = []
        checked_before = network in _KNOWN  # by a bank on this very network
        self._known = _KNOWN.setdefault(network, _Known())
        for inter in network.intersections:
            if inter.program is None:
                state = inter.priority_state()
                mov_state[list(inter.movements)] = [_CODES[c] for c in state]
            else:
                if not checked_before:
                    check_program(inter, inter.program)
                self.intersections.append(inter)
        n = len(self.intersections)
        self.movements = [np.array(i.movements, dtype=np.int64) for i in self.intersections]
        self.codes: list[npt.NDArray[np.int8]] = []  # (phases, M) per intersection
        self.unsafe: list[npt.NDArray[np.bool_]] = []
        for inter in self.intersections:
            assert inter.program is not None
            codes = np.array(
                [[_CODES[c] for c in p.state] for p in inter.program.phases], dtype=np.int8
            )
            self.codes.append(codes)
            self.unsafe.append(inter.foes & ~inter.yields)
        self.phase = np.zeros(n, dtype=np.int64)
        self.stage = np.full(n, GREEN, dtype=np.int64)
        self.green_start_s = np.zeros(n)
        self.next_event_s = np.zeros(n)
        self.target = np.zeros(n, dtype=np.int64)
        self.target_green_s = np.zeros(n)
        self._timers = BankTimers(
            self.phase,
            self.stage,
            self.target,
            self.target_green_s,
            self.green_start_s,
            self.next_event_s,
        )
        """The timer arrays as the compiled light functions take them (written in place)."""
        self._counted_here = [0, 0, 0]  # forced, decisions, clamped (FORCED, ...)
        self.fixed = self._fixed_lights([])
        """The lights the kernel runs (:meth:`hand_to_kernel`)."""
        self.changes = self._change_intervals([])
        """The asked lights whose change intervals the kernel ends (:meth:`hand_to_kernel`)."""
        self._stops_kernel: npt.NDArray[np.bool_] | None = None
        """Per asked light, whether its change intervals' ends stop the kernel too (the
        kernel does not end them); ``None``: no light's do."""
        self._asked = np.arange(n)
        """The intersections :meth:`update` handles: all but those the kernel runs."""
        self._next_due = 0.0
        self._together = isinstance(policy, ActsTogether)
        self._checked = self._known.safe
        self.due_count = 0
        """How many intersections the current :meth:`update` round handles."""
        self._changes = self._known.changes
        every = list(range(n))
        self._arrays = BankArrays(
            self._timers,
            np.cumsum([0, *(len(c) for c in self.codes)], dtype=np.int64),
            *(self._per_phase(every, name) for name in _LIMITS),
        )
        """The timers and per-phase limits, for the answers applied at once
        (:meth:`_apply_all`)."""
        self._answer_kind = np.zeros(n, dtype=np.int64)
        self._yellow: YellowStates | None = None  # made at the first answers applied at once
        self._answer_all = RepeatedCall(answer_all)
        self._all_green_under_max = RepeatedCall(all_green_under_max)
        for i in range(n):
            self._start_at_offset(i)
        self._next_due = self._asked_next_due()

    def __len__(self) -> int:
        return len(self.intersections)

    @property
    def next_due_s(self) -> float:
        """When the kernel must next stop for the bank (``inf``: never): the next event
        of a light :meth:`update` handles, but for the ends of change intervals the
        kernel ends itself (:attr:`changes`), which are computed afresh: the kernel moves
        those lights' timers."""
        if len(self.changes.intersection) == 0:
            return self._next_due  # the kernel moves none of these lights' timers
        asked = self._asked
        every = len(asked) == len(self)
        events = self.next_event_s if every else self.next_event_s[asked]
        stops = (self.stage if every else self.stage[asked]) == GREEN
        if self._stops_kernel is not None:
            stops |= self._stops_kernel
        return float(np.where(stops, events, math.inf).min())

    def runs_as_programmed(self, i: int) -> bool:
        """Whether intersection ``i`` runs its programme as given, whatever the policy:
        it is static (every green at its maximum, which is its minimum: the policy is
        never asked, :func:`never_asked`) or its policy answers with the programme
        (:func:`follows_programme`: the next phase for its programmed green, or SUMO's
        gap control for an actuated programme)."""
        program = self.intersections[i].program
        assert program is not None
        if program.actuation is None and program.greens_fixed:
            return True
        if not follows_programme(self.policy) or self._together:
            return False
        # A programmed green the policy answers must be one check_signal_action accepts.
        return program.actuation is not None or all(
            math.isfinite(p.green_s) and p.green_s > 0 for p in program.phases
        )

    def hand_to_kernel(self, actuation: Sequence[ActuatedParts | None] = ()) -> FixedLights:
        """Leave the lights that run as programmed (:meth:`runs_as_programmed`) to
        :func:`twin.traffic.fixed_lights.advance_fixed_lights`, which the kernel calls
        at every tick; :meth:`update` handles the others from now on, and the kernel
        ends their change intervals (:attr:`changes`,
        :func:`twin.traffic.change_intervals.end_change_intervals`). The states those
        lights can show are checked here, once. An actuated light goes to the kernel
        only with what its controller reads (``actuation[i]``, the city's: per phase
        whether it is actuated, its loops' lanes as starts and lanes, max-gap and
        detector-gap)."""
        programmed = [
            i
            for i in range(len(self))
            if self.runs_as_programmed(i)
            and (
                self.intersections[i].program.actuation is None  # type: ignore[union-attr]
                or (i < len(actuation) and actuation[i] is not None)
            )
        ]
        counted = [self.forced, self.decisions, self.clamped]  # kept across the hand-over
        self.fixed = self._fixed_lights(programmed, actuation)
        self._counted_here = counted
        self._asked = np.setdiff1d(np.arange(len(self)), programmed).astype(np.int64)
        self._next_due = self._asked_next_due()
        self.changes = self._change_intervals(self._asked.tolist())
        kernel_ends = self.changes.intersection
        if 0 < len(kernel_ends) < len(self._asked):
            self._stops_kernel = ~np.isin(self._asked, kernel_ends)
        return self.fixed

    def _fixed_lights(
        self, lights: list[int], actuation: Sequence[ActuatedParts | None] = ()
    ) -> FixedLights:
        """``lights`` (bank indices) as the kernel runs them as programmed: each phase's
        green, the yellow of its change to the next phase and the all-red, checked; an
        actuated light's loops and gaps (``actuation[i]``)."""
        actuated_light: list[bool] = []
        gaps: list[tuple[float, float]] = []  # max-gap, detector-gap
        phase_actuated: list[bool] = []
        loop_start, loop_lanes = [0], []
        for i in lights:
            parts = actuation[i] if i < len(actuation) else None
            n_phases = len(self.codes[i])
            if parts is None:
                actuated_light.append(False)
                gaps.append((0.0, 0.0))
                phase_actuated.extend([False] * n_phases)
                loop_start.extend([len(loop_lanes)] * n_phases)
                continue
            actuated, start, lanes, max_gap_s, detector_gap_s = parts
            actuated_light.append(True)
            gaps.append((max_gap_s, detector_gap_s))
            phase_actuated.extend(bool(a) for a in actuated)
            loop_start.extend((len(loop_lanes) + start[1:]).tolist())
            loop_lanes.extend(lanes.tolist())
        row_start: list[int] = []
        states: list[npt.NDArray[np.int8]] = []
        row = 0
        for i in lights:
            n_phases = len(self.codes[i])
            for k in range(n_phases):
                nxt = (k + 1) % n_phases
                green = self.codes[i][k]
                self.check_safe(i, green)
                row_start.append(row)
                for state in (
                    green,
                    self._change_state(i, k, nxt, yellow=True),
                    self._change_state(i, k, nxt, yellow=False),
                ):
                    states.append(state)
                    row += len(state)
        return FixedLights(
            **self._kernel_layout(lights),
            green_s=self._per_phase(lights, "green_s"),
            min_green_s=self._per_phase(lights, "min_green_s"),
            max_green_s=self._per_phase(lights, "max_green_s"),
            yellow_s=self._per_phase(lights, "yellow_s"),
            all_red_s=self._per_phase(lights, "all_red_s"),
            row_start=np.array(row_start, dtype=np.int64),
            states=np.concatenate(states) if states else np.zeros(0, dtype=np.int8),
            counts=np.zeros(3, dtype=np.int64),
            actuated_light=np.array(actuated_light, dtype=np.bool_),
            max_gap_s=np.array([g for g, _ in gaps], dtype=np.float64),
            detector_gap_s=np.array([d for _, d in gaps], dtype=np.float64),
            phase_actuated=np.array(phase_actuated, dtype=np.bool_),
            loop_start=np.array(loop_start, dtype=np.int64),
            loop_lanes=np.array(loop_lanes, dtype=np.int64),
        )

    def _change_intervals(self, asked: list[int]) -> ChangeIntervals:
        """The lights of ``asked`` whose change intervals the kernel can end: every state
        a change can show is computed and checked here (lights with more than
        :data:`MAX_KERNEL_PHASES` phases, or a change whose state fails the check, stay
        with :meth:`update`, which raises if that change is ever made)."""
        lights: list[int] = []
        green_row: list[int] = []
        all_red_row: list[int] = []
        states: list[npt.NDArray[np.int8]] = []
        row = 0
        for i in asked:
            shown = self._kernel_change_states(i)
            if shown is None:
                continue
            greens, all_reds, distinct = shown
            lights.append(i)
            green_row.extend(row + r for r in greens)
            all_red_row.extend(row + r for r in all_reds)
            states.append(distinct)
            row += len(distinct)
        n_phases_of = [len(self.codes[i]) for i in lights]
        return ChangeIntervals(
            **self._kernel_layout(lights),
            min_green_s=self._per_phase(lights, "min_green_s"),
            max_green_s=self._per_phase(lights, "max_green_s"),
            all_red_s=self._per_phase(lights, "all_red_s"),
            green_row=np.array(green_row, dtype=np.int64),
            pair_start=np.cumsum([0, *(n * n for n in n_phases_of)], dtype=np.int64),
            all_red_row=np.array(all_red_row, dtype=np.int64),
            states=np.concatenate(states) if states else np.zeros(0, dtype=np.int8),
        )

    def _kernel_change_states(
        self, i: int
    ) -> tuple[list[int], list[int], npt.NDArray[np.int8]] | None:
        """Light ``i``'s states for :meth:`_change_intervals`: where each green and the
        all-red of each change ``(a, b)`` (in order ``a * P + b``) start among its distinct
        states, and those states one after another; ``None`` for a light the kernel
        cannot hold (more than :data:`MAX_KERNEL_PHASES` phases, or a change whose state
        fails the check). Kept per network: a function of its programmes alone."""
        known = self._known.kernel_changes
        if i in known:
            return known[i]
        codes = self.codes[i]
        n_phases, n_movements = codes.shape
        result: tuple[list[int], list[int], npt.NDArray[np.int8]] | None = None
        if n_phases <= MAX_KERNEL_PHASES:
            # Every green, then the all-red of every change (a, b) in order a * P + b;
            # each distinct state once (most changes share their all-red).
            same = np.eye(n_phases, dtype=np.bool_)[:, :, None]
            pairs = all_red_state(codes[:, None, :], codes[None, :, :], same)
            shown = np.concatenate((codes, pairs.reshape(-1, n_movements)))
            row_of: dict[bytes, int] = {}
            distinct: list[npt.NDArray[np.int8]] = []
            at: list[int] = []
            for state in shown:
                key = state.tobytes()
                if key not in row_of:
                    row_of[key] = len(distinct) * n_movements
                    distinct.append(state)
                at.append(row_of[key])
            try:
                for state in distinct:
                    self.check_safe(i, state)
                flat = np.concatenate(distinct)
                flat.setflags(write=False)
                result = (at[:n_phases], at[n_phases:], flat)
            except RuntimeError:
                result = None
        known[i] = result
        return result

    def _kernel_layout(self, lights: list[int]) -> dict[str, npt.NDArray[Any]]:
        """What the kernel's structures of ``lights`` (bank indices) share: where each
        light's phases and movements start in their flat arrays, the bank's own timer
        arrays (written in place) and its decision grid."""
        movements = [self.movements[i] for i in lights]
        return {
            "intersection": np.array(lights, dtype=np.int64),
            "phase_start": np.cumsum([0, *(len(self.codes[i]) for i in lights)], dtype=np.int64),
            "mov_start": np.cumsum([0, *(len(m) for m in movements)], dtype=np.int64),
            "movements": np.concatenate(movements) if movements else np.zeros(0, dtype=np.int64),
            "timers": self._timers,
            "grid_s": np.array([self.decision_grid_s or 0.0]),
        }

    def _per_phase(self, lights: list[int], name: str) -> npt.NDArray[np.float64]:
        """Attribute ``name`` of every phase of ``lights``, light after light."""
        values = []
        for i in lights:
            program = self.intersections[i].program
            assert program is not None
            values.extend(getattr(phase, name) for phase in program.phases)
        return np.array(values, dtype=np.float64)

    def _asked_next_due(self) -> float:
        if len(self._asked) == len(self):
            return float(self.next_event_s.min()) if len(self) else math.inf
        return float(self.next_event_s[self._asked].min()) if len(self._asked) else math.inf

    # -- timing -------------------------------------------------------------------

    def update(self, now_s: float) -> None:
        """Handle every event due at or before ``now_s``."""
        if now_s + EPS_S < self._next_due:
            return
        asked = self._asked
        every = len(asked) == len(self)
        while True:
            if every:
                due = np.flatnonzero(self.next_event_s <= now_s + EPS_S)
            else:
                due = asked[self.next_event_s[asked] <= now_s + EPS_S]
            if due.size == 0:
                break
            self.due_count = int(due.size)
            if self._together:
                self._handle_together(due, now_s)
            else:
                for i in due:
                    self._handle(int(i), now_s)
        self._next_due = self._asked_next_due()

    def _handle(self, i: int, now_s: float) -> None:
        if self._needs_decision(i, now_s):
            observation = self.observe(i, now_s)
            self._apply(i, now_s, observation, self.policy.act(observation))

    def _needs_decision(self, i: int, now_s: float) -> bool:
        """Intersection ``i``'s due event: the end of a yellow or all-red, or a phase at
        its max green, is handled here (``False``); ``True`` when the policy decides."""
        if self.stage[i] != GREEN:
            self._end_interval(i, now_s)
            return False
        return not self._forced(i, now_s)

    def _handle_together(self, due: npt.NDArray[np.int64], now_s: float) -> None:
        """:meth:`_handle` for a policy that answers the instant's decisions at once
        (:class:`~twin.core.policy.ActsTogether`): the others' events first, then every
        due decision's observation, one call, the answers in the same order."""
        deciding = self._deciding(due, now_s)
        if len(deciding) == 0:
            return
        observations: Sequence[SignalObservation]
        if self.observe_turn is not None:
            observations = self.observe_turn(deciding, now_s)
        else:
            observations = [self.observe(i, now_s) for i in deciding.tolist()]
        actions = self.policy.act_together(observations)  # type: ignore[attr-defined]
        if len(actions) != len(observations):
            raise InvalidActionError(
                self.policy_id,
                actions,
                f"{len(actions)} answers to the {len(observations)} decisions due at {now_s:g} s",
            )
        if isinstance(actions, SignalActions):
            self._apply_all(deciding, observations, actions, now_s)
            return
        for i, observation, action in zip(deciding.tolist(), observations, actions, strict=True):
            self._apply(i, now_s, observation, action)

    def min_green_s(self, lights: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """The minimum green of the phase each of ``lights`` shows."""
        arrays = self._arrays
        return arrays.min_green_s[arrays.phase_start[lights] + self.phase[lights]]

    def _deciding(self, due: npt.NDArray[np.int64], now_s: float) -> npt.NDArray[np.int64]:
        """Which of ``due`` the policy decides for now; the others' events handled (in
        ``due``'s order, as :meth:`_needs_decision` does). Usually every due light is
        green short of its maximum: then all decide, and nothing else is to do."""
        arrays = self._arrays
        if self._all_green_under_max(
            due,
            now_s,
            self.stage,
            self.phase,
            self.green_start_s,
            arrays.phase_start,
            arrays.max_green_s,
        ):
            return due
        return np.array([i for i in due.tolist() if self._needs_decision(i, now_s)], dtype=np.int64)

    def _apply_all(
        self,
        deciding: npt.NDArray[np.int64],
        observations: Sequence[SignalObservation],
        actions: SignalActions,
        now_s: float,
    ) -> None:
        """:meth:`_apply` of every answer, at once (:func:`twin.traffic.answers.answer_all`),
        every answer checked first as :func:`check_signal_action` checks one."""
        target, duration = actions.phase, actions.duration_s
        if not (
            target.dtype == np.int64
            and duration.dtype == np.float64
            and target.shape == duration.shape == deciding.shape
        ):
            raise InvalidActionError(
                self.policy_id,
                actions,
                "SignalActions holds one int64 phase and one float64 duration_s per decision",
            )
        if self._yellow is None:
            self._yellow = self._yellow_states()
        kind = self._answer_kind
        outcome = self._answer_all(
            deciding,
            target,
            duration,
            now_s,
            self.decision_grid_s or 0.0,
            self._arrays,
            self._yellow,
            self.mov_state,
            kind,
        )
        if outcome < 0:
            bad = -1 - outcome
            check_signal_action(actions[bad], observations[bad], self.policy_id)  # raises
            raise InvalidActionError(self.policy_id, actions[bad], "not a phase for a duration")
        self._counted_here[DECISIONS] += len(deciding)
        self._counted_here[CLAMPED] += outcome
        kind = kind[: len(deciding)]
        for n in np.flatnonzero((kind == CHANGE) | (kind == CHANGE_NOW)).tolist():
            i = int(deciding[n])
            if kind[n] == CHANGE:
                self._show_change(i, yellow=True)
            else:  # no yellow: the change goes on at once
                self._begin_change(i, int(target[n]), now_s, float(self.target_green_s[i]))

    def _yellow_states(self) -> YellowStates:
        """The yellow of every change of every light with at most
        :data:`MAX_KERNEL_PHASES` phases, checked (a change whose state fails the check
        is left to :meth:`_show_change`, which raises if it is ever made); kept per
        network with the other change states."""
        if self._known.yellows is not None:
            return self._known.yellows
        sizes = [len(codes) ** 2 for codes in self.codes]
        pair_start = np.cumsum([0, *sizes], dtype=np.int64)
        row = np.full(int(pair_start[-1]), -1, dtype=np.int64)
        states: list[npt.NDArray[np.int8]] = []
        at = 0
        for i, codes in enumerate(self.codes):
            phases = len(codes)
            if phases > MAX_KERNEL_PHASES:
                continue
            for a in range(phases):
                for b in range(phases):
                    if a == b:
                        continue
                    try:
                        state = self._change_shown(i, a, b, yellow=True)
                    except RuntimeError:
                        continue
                    row[pair_start[i] + a * phases + b] = at
                    states.append(state)
                    at += len(state)
        layout = self._kernel_layout(list(range(len(self))))
        yellow = YellowStates(
            pair_start,
            row,
            np.concatenate(states) if states else np.zeros(0, dtype=np.int8),
            layout["mov_start"],
            layout["movements"],
        )
        self._known.yellows = yellow
        return yellow

    def _end_interval(self, i: int, now_s: float) -> None:
        """The yellow or the all-red of intersection ``i``'s change ends."""
        program = self.intersections[i].program
        assert program is not None
        if self.stage[i] == CHANGE_YELLOW:
            phase = program.phases[self.phase[i]]
            self._show_change(i, yellow=False)
            self.stage[i] = CHANGE_ALL_RED
            self.next_event_s[i] = now_s + phase.all_red_s
            if phase.all_red_s <= 0:
                self._handle(i, now_s)
        else:
            self._start_green(i, int(self.target[i]), now_s, float(self.target_green_s[i]))

    def _forced(self, i: int, now_s: float) -> bool:
        """Whether max green ends intersection ``i``'s phase now, without asking the
        policy (the programme's next phase follows)."""
        program = self.intersections[i].program
        assert program is not None
        current = int(self.phase[i])
        elapsed = now_s - self.green_start_s[i]
        if elapsed < program.phases[current].max_green_s - EPS_S:
            return False
        self.forced += 1
        nxt = (current + 1) % len(program.phases)
        # An actuated programme's next phase starts at its minimum green, as after a
        # gap-out (SUMO's trySwitch); a static one's runs its programmed green.
        green = program.phases[nxt].green_s if program.actuation is None else MIN_SWITCH_S
        self._begin_change(i, nxt, now_s, green)
        return True

    def _apply(self, i: int, now_s: float, observation: SignalObservation, action: Any) -> None:
        """Intersection ``i`` does what the policy answered to ``observation``."""
        program = self.intersections[i].program
        assert program is not None
        current = int(self.phase[i])
        phase = program.phases[current]
        elapsed = now_s - self.green_start_s[i]
        self.decisions += 1
        target, duration = check_signal_action(action, observation, self.policy_id)
        if target == current:
            end = min(self._on_grid(now_s + duration), self.green_start_s[i] + phase.max_green_s)
            self.next_event_s[i] = max(end, now_s + EPS_S * 10)
            if len(program.phases) == 1 and phase.yellow_s + phase.all_red_s <= 0:
                # Nothing to change to (a one-phase programme's cycle with a yellow or
                # an all-red, a ramp meter's, still runs at max green: _forced).
                self.next_event_s[i] = now_s + duration
        elif elapsed < phase.min_green_s - EPS_S:
            self.clamped += 1
            self.next_event_s[i] = self._on_grid(self.green_start_s[i] + phase.min_green_s)
        else:
            if self.decision_grid_s is not None:
                duration = max(duration - phase.yellow_s - phase.all_red_s, 0.0)
            self._begin_change(i, target, now_s, duration)

    def _begin_change(self, i: int, target: int, now_s: float, green_s: float) -> None:
        program = self.intersections[i].program
        assert program is not None
        phase = program.phases[self.phase[i]]
        self.target[i] = target
        self.target_green_s[i] = green_s
        self._show_change(i, yellow=True)
        self.stage[i] = CHANGE_YELLOW
        self.next_event_s[i] = now_s + phase.yellow_s
        if phase.yellow_s <= 0:
            self._handle(i, now_s)

    def _show_change(self, i: int, *, yellow: bool) -> None:
        state = self._change_shown(i, int(self.phase[i]), int(self.target[i]), yellow=yellow)
        self.mov_state[self.movements[i]] = state

    def _change_shown(
        self, i: int, current: int, target: int, *, yellow: bool
    ) -> npt.NDArray[np.int8]:
        """:meth:`_change_state`, worked out once per network (read-only)."""
        key = (i, current, target, yellow)
        state = self._changes.get(key)
        if state is None:
            state = self._change_state(i, current, target, yellow=yellow)
            state.setflags(write=False)
            self._changes[key] = state
        return state

    def _change_state(
        self, i: int, current: int, target: int, *, yellow: bool
    ) -> npt.NDArray[np.int8]:
        """The (checked) state shown while changing from ``current`` to ``target``."""
        codes = self.codes[i]
        cur = codes[current]
        nxt = codes[target]
        state = all_red_state(cur, nxt, np.bool_(current == target))
        if yellow:
            losing = (cur != RED) & (state == RED)
            # Yellow movements keep their phase's right of way (protected or yielding).
            self.check_safe(i, np.where(losing, cur, state).astype(np.int8))
            state[losing] = YELLOW
        else:
            self.check_safe(i, state)
        return state

    def _start_at_offset(self, i: int) -> None:
        """Start intersection ``i`` at t = 0 where its programme is ``offset_s`` into
        its cycle: in the green, yellow or all-red of whichever phase that falls in,
        with that interval's elapsed time (the offset taken modulo the cycle)."""
        program = self.intersections[i].program
        assert program is not None
        cycle = program.cycle_s
        into = program.offset_s % cycle if cycle > 0 else 0.0
        phases = program.phases
        k = 0
        # Walk the cycle to the phase whose green + yellow + all-red holds ``into``.
        while k < len(phases) - 1:
            span = phases[k].green_s + phases[k].yellow_s + phases[k].all_red_s
            if into < span - EPS_S:
                break
            into -= span
            k += 1
        phase = phases[k]
        nxt = (k + 1) % len(phases)
        self._start_green(i, k, 0.0, phase.green_s)
        # The green began ``into`` before t = 0 (elapsed green and max-out count from it).
        self.green_start_s[i] = -into
        if into < phase.green_s - EPS_S:
            hold = min(max(phase.green_s, phase.min_green_s), phase.max_green_s)
            if program.actuation is not None:
                # SUMO's actuated logic first asks at the phase's minimum green (at least
                # a second).
                hold = max(phase.min_green_s, MIN_SWITCH_S)
            end = min(self._on_grid(hold - into), phase.max_green_s - into)
            self.next_event_s[i] = max(EPS_S, end)
            return
        into -= phase.green_s
        self.target[i] = nxt
        self.target_green_s[i] = phases[nxt].green_s
        if into < phase.yellow_s - EPS_S:
            self._show_change(i, yellow=True)
            self.stage[i] = CHANGE_YELLOW
            self.next_event_s[i] = phase.yellow_s - into
            return
        into -= phase.yellow_s
        self._show_change(i, yellow=False)
        self.stage[i] = CHANGE_ALL_RED
        self.next_event_s[i] = max(EPS_S, phase.all_red_s - into)

    def _start_green(self, i: int, phase_index: int, now_s: float, green_s: float) -> None:
        program = self.intersections[i].program
        assert program is not None
        phase = program.phases[phase_index]
        self.phase[i] = phase_index
        self.stage[i] = GREEN
        self.green_start_s[i] = now_s
        hold = min(max(green_s, phase.min_green_s), phase.max_green_s)
        self.next_event_s[i] = min(self._on_grid(now_s + hold), now_s + phase.max_green_s)
        self._show(i, self.codes[i][phase_index])

    def _on_grid(self, epoch_s: float) -> float:
        """``epoch_s`` rounded up to the decision grid (itself without one)."""
        grid = self.decision_grid_s
        if grid is None:
            return epoch_s
        return math.ceil(epoch_s / grid - EPS_S) * grid

    def _show(self, i: int, state: npt.NDArray[np.int8]) -> None:
        self.check_safe(i, state)
        self.mov_state[self.movements[i]] = state

    def check_safe(self, i: int, state: npt.NDArray[np.int8]) -> None:
        """Raise ``RuntimeError`` if ``state`` lets two foes go while neither yields to
        the other (every state but red counts as going; yellow is checked with the
        letter of the phase it ends).

        A state already checked at this intersection (by any bank on this network) is
        not checked again (the set of states a programme can show is small), so the
        check costs nothing per tick.
        """
        key = (i, state.tobytes())
        if key in self._checked:
            return
        inter = self.intersections[i]
        # A pair is fine if one side gives way to the other (the kernel makes it wait).
        bad = inter.conflicts(state != RED, (state == PROTECTED) | (state == OFF))
        if bad.any():
            a, b = np.argwhere(bad)[0]
            raise RuntimeError(
                f"intersection {inter.id!r}: movements {a} and {b} would be green together"
            )
        self._checked.add(key)
