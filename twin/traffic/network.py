"""The road network: nodes, directed edges with lanes, intersections, movements, signals.

Everything here is a plain frozen dataclass (or a tuple of them) so that a generator
(:func:`grid`) and an importer (a SUMO ``.net.xml`` through ``sumolib``) build the same
objects. :meth:`Network.compile` turns a network into the flat arrays the vehicle kernel
reads (:class:`NetworkArrays`).

Conventions (SUMO's where SUMO has one):

- Indices, not ids, link objects: ``Edge.from_node`` is an index into ``Network.nodes``,
  ``Movement.from_edge`` an index into ``Network.edges``, and so on. Ids are strings kept
  for people, configs and importers (``Network.edge_index(id)``).
- Lanes of an edge are numbered ``0 .. lanes-1`` from the right (SUMO's lane index).
- A **movement** is one way through an intersection: from one lane of an incoming edge
  to one lane of an outgoing edge (SUMO's connection, lane to lane). ``to_lane = -1``
  leaves the target lane open (twin's own generator): the kernel then puts an entering
  vehicle on the target edge's lane with the most room that serves its next turn. A
  vehicle heading for edge ``e`` takes, among its lane's connections to ``e``, the one
  whose target lane has a connection to the edge after ``e`` on its route, with most
  room. A movement has its own path through the junction (``length_m``, ``speed_mps``),
  which the kernel treats as an internal lane, as SUMO does.
- Within an intersection its movements are numbered ``0 .. M-1`` (SUMO's ``linkIndex``);
  that number is the position of the movement's character in a phase ``state`` string.
- **Foes**: ``foes[i, j]`` is true when the paths of movements ``i`` and ``j`` cross or
  merge (SUMO's ``<request foes=...>``). **Yields**: ``yields[i, j]`` is true when ``i``
  must give way to ``j`` if both may go (SUMO's ``response``). At a traffic light two
  movements may yield to each other (netconvert writes the junction's rules for the
  light switched off, src/netbuild/NBRequest.cpp); then the letters decide, as in
  src/microsim/MSLink.cpp ``opened``: a major letter (``'G'``, ``'O'``) has priority
  over its foe. Otherwise, whatever the letter (``'G'`` included), a movement gives way
  to the foes it yields to. Two foes that may go together while neither gives way to
  the other are a conflicting green, refused when a programme is built and never shown
  by the signal controller (:meth:`Intersection.conflicts`).
- A **phase** is a green state (one character per movement, :data:`GREEN_CHARS` or
  ``'r'`` red) with its green, yellow and all-red times and its minimum and maximum
  green. Yellow is shown to movements that lose green when the controller leaves the
  phase; all-red follows the yellow.

Defaults and their sources: docs/PARAMETERS.md, section "Traffic".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

LANE_WIDTH_M = 3.2
"""SUMO's default lane width (netconvert ``default.lanewidth``)."""
CORNER_RADIUS_M = 4.0
"""SUMO's default junction corner radius (netconvert ``default.junctions.radius``)."""
TURN_LATERAL_ACCEL_MPS2 = 5.5
"""Turn speed limit ``sqrt(a * radius)`` (netconvert ``junctions.limit-turn-speed``)."""
GREEN_CHARS = frozenset("GgsoO")
"""Signal letters under which a movement may enter the junction (SUMO's
``LinkState``, utils/xml/SUMOXMLDefinitions.h): ``'G'`` major green, ``'g'`` minor
green, ``'s'`` stop then go (right on red), ``'o'`` off and blinking (minor), ``'O'``
off (no signal). Under each the movement still gives way to the foes its junction's
``response`` makes it yield to (:attr:`Intersection.yields`)."""
STATE_CHARS = GREEN_CHARS | {"r"}
MAJOR_CHARS = frozenset("GOM")
"""Letters with priority over a foe that yields to them when they yield to it too."""
PRIORITY_CHARS = frozenset("GgMm=swZo")
"""Link letters of an unsignalised junction (SUMO's ``<connection state>``): ``'M'``
major, ``'m'`` minor, ``'='`` right before left, ``'s'`` stop (``priority_stop``),
``'w'`` all-way stop, ``'Z'`` zipper, ``'o'`` yield; ``'G'``/``'g'`` are twin's own
(the movement has, or has not, a foe to yield to)."""


class NetworkError(ValueError):
    """A network, movement or signal programme that cannot be driven; one line."""


@dataclass(frozen=True)
class Node:
    """A point where edges meet: an intersection, or a dead end at the boundary."""

    id: str
    x_m: float
    y_m: float


@dataclass(frozen=True)
class Edge:
    """A directed road from one node to another.

    Attributes:
        length_m: driven length of every lane, stop line to start of the next junction.
        speed_mps: speed limit.
        lanes: lanes in this direction, numbered from the right.
        closed_lane_speeds_mps: speed limits of the edge's lanes closed to twin's
            vehicles (an imported SUMO edge's sidewalk): SUMO's mean edge speed, on which
            it routes trips, counts each as an empty lane (:mod:`twin.traffic.rerouting`).
        sumo_lane_indices: an imported SUMO edge's own index of each of twin's lanes
            (``departLane="2"`` in a route file means SUMO's lane 2, which is twin's lane 1
            where a sidewalk is lane 0); empty where they are the same.
    """

    id: str
    from_node: int
    to_node: int
    length_m: float
    speed_mps: float
    lanes: int = 1
    closed_lane_speeds_mps: tuple[float, ...] = ()
    sumo_lane_indices: tuple[int, ...] = ()

    @property
    def sumo_lanes(self) -> tuple[int, ...]:
        """SUMO's index of each of twin's lanes, in twin's order."""
        return self.sumo_lane_indices or tuple(range(self.lanes))


@dataclass(frozen=True)
class Movement:
    """A turning movement: from lane ``from_lane`` of edge ``from_edge`` onto ``to_edge``.

    Attributes:
        to_lane: the lane of ``to_edge`` it leads to (SUMO's connection ``toLane``), or
            -1: the vehicle picks the lane of ``to_edge`` with most room that serves its
            next turn.
        turn: SUMO's direction letter: ``'s'`` straight, ``'r'`` right, ``'l'`` left,
            ``'t'`` turnaround.
        length_m: path length through the junction (the internal lane), > 0.
        speed_mps: speed limit on that path (turns are slower).
        keep_clear: whether a vehicle waits before the junction while there is no room
            beyond (SUMO's connection ``keepClear``, default true; it matters only where
            the movement has foes).
        minor_links: links on the way through the junction (the entry link, and the
            link of an internal junction where the way waits inside) that no traffic
            light controls and that have no priority; SUMO's router charges each a
            penalty (:func:`twin.traffic.demand.routing_penalties_s`). 0 for twin's own
            networks, whose junctions all have lights.
        internal_stop_m: how far along the path its internal junction is (SUMO's
            connection through a second internal lane; a left turn's waiting point);
            0: none. Positive where that junction's link has no priority
            (``state="m"``): the turn approaches it as a minor link and waits there for
            its foes. Negative (minus the distance) where the link is major
            (``state="M"``, as networks before SUMO 1.0 wrote it): SUMO's link
            there is open (``MSLink::opened``, ``havePriority``), so the turn drives
            on, minding only foes already on their paths through the junction (its
            link leaders). Either way the link into the junction is SUMO's ``cont``
            link, open to all but red.
    """

    from_edge: int
    from_lane: int
    to_edge: int
    turn: str
    length_m: float
    speed_mps: float
    to_lane: int = -1
    keep_clear: bool = True
    minor_links: int = 0
    internal_stop_m: float = 0.0


@dataclass(frozen=True)
class Phase:
    """One green phase of a signal programme and the change interval that ends it.

    Attributes:
        state: one of ``'G'``, ``'g'``, ``'r'`` per movement of the intersection.
        green_s: green time in the fixed-time programme.
        yellow_s: yellow shown to movements losing green when the phase ends.
        all_red_s: all-red after the yellow (clearance), before the next green.
        min_green_s: a controller may not end the phase earlier.
        max_green_s: a controller may not hold it longer.
    """

    state: str
    green_s: float
    yellow_s: float = 3.0
    all_red_s: float = 0.0
    min_green_s: float = 5.0
    max_green_s: float = 50.0

    @property
    def green(self) -> tuple[int, ...]:
        """Indices of the movements that have green (protected or permissive)."""
        return tuple(i for i, c in enumerate(self.state) if c in GREEN_CHARS)


def phase_kind(state: str) -> str:
    """``"green"``, ``"yellow"`` or ``"red"``: a SUMO phase row as its letters say (a
    yellow letter makes it a yellow; else a green one a green; else red)."""
    if any(c in "yY" for c in state):
        return "yellow"
    return "green" if any(c in "GgOo" for c in state) else "red"


@dataclass(frozen=True)
class Actuation:
    """SUMO's ``type="actuated"`` control of a programme (gap control,
    ``src/microsim/traffic_lights/MSActuatedTrafficLightLogic.cpp``), with SUMO's
    defaults; twin's fixed-time policy runs it (``models/signals/fixed_time.py``).

    Attributes:
        actuated: per phase, SUMO's ``isActuated``: its ``minDur`` differs from its
            ``maxDur`` (either defaulting to ``duration``); the other phases run their
            duration.
        tls_id: the SUMO traffic light; the junctions of one light (``--tls.join``)
            decide together, on all their loops.
        max_gap_s: ``max-gap``: a phase is extended while a vehicle left one of its
            loops less than this long ago.
        detector_gap_s: ``detector-gap``: loops sit this many seconds of travel at the
            lane's speed limit before the stop line (closer where ``passing_time_s``
            says the minimum green could not clear them).
        passing_time_s: ``passing-time``: seconds per vehicle leaving a queue.
    """

    actuated: tuple[bool, ...] = ()
    tls_id: str = ""
    max_gap_s: float = 3.0
    detector_gap_s: float = 2.0
    passing_time_s: float = 1.9


@dataclass(frozen=True)
class SignalProgram:
    """A cyclic sequence of green phases; ``offset_s`` shifts the cycle start;
    ``actuation``: SUMO's actuated control of it (``None``: a static programme)."""

    phases: tuple[Phase, ...]
    offset_s: float = 0.0
    actuation: Actuation | None = None

    @property
    def cycle_s(self) -> float:
        return sum(p.green_s + p.yellow_s + p.all_red_s for p in self.phases)

    @property
    def greens_fixed(self) -> bool:
        """Whether every green ends at its maximum, which is its minimum, so no
        controller is ever asked (SUMO's phases without ``minDur``/``maxDur``)."""
        return all(p.max_green_s <= p.min_green_s for p in self.phases)

    @classmethod
    def from_sumo(
        cls,
        phases: Sequence[tuple[str, float, float | None, float | None]],
        offset_s: float = 0.0,
        actuation: Actuation | None = None,
        kinds: Sequence[str] | None = None,
    ) -> SignalProgram:
        """A programme from SUMO ``<phase state duration minDur maxDur>`` rows, in order.

        A phase with a ``'G'``/``'g'``/``'o'``/``'O'`` and no yellow is a green phase; the
        yellow (``'y'``/``'Y'``) phase after it is its yellow; phases of only ``'r'`` and
        ``'s'`` after that are its all-red. Letters are kept as SUMO writes them
        (:data:`GREEN_CHARS`), except red-yellow ``'u'``, read as red. During twin's
        yellow and all-red a movement with green (or ``'s'``) in both the phase and the
        next keeps the stricter of its two letters, as SUMO's generated programmes do;
        the others show yellow, then red. A one-phase programme (a ramp meter's "G",
        "y", "r") runs through its own yellow and all-red, where only ``'s'`` stays.
        ``kinds`` (``"green"``, ``"yellow"``, ``"red"`` per row) overrides what the
        letters say: one junction's part of a light that spans several.
        """
        greens: list[Phase] = []
        actuated: list[bool] = []
        for k, (state, duration, min_dur, max_dur) in enumerate(phases):
            norm = state.replace("u", "r")
            kind = kinds[k] if kinds is not None else phase_kind(norm)
            if kind == "yellow":
                if not greens:
                    continue  # a cycle that starts in yellow: the last green owns it
                last = greens[-1]
                greens[-1] = Phase(
                    last.state,
                    last.green_s,
                    last.yellow_s + duration,
                    last.all_red_s,
                    last.min_green_s,
                    last.max_green_s,
                )
            elif kind == "green":
                # A static programme runs each phase for its duration whatever minDur and
                # maxDur say (MSSimpleTrafficLightLogic::trySwitch); they bound adaptive
                # control only, so they are widened to hold the duration.
                min_green = duration if min_dur is None else min(min_dur, duration)
                max_green = duration if max_dur is None else max(max_dur, duration)
                if actuation is not None:
                    # An actuated phase runs its duration only first (the run's start),
                    # then between minDur and maxDur (MSActuatedTrafficLightLogic).
                    min_green = duration if min_dur is None else min_dur
                    max_green = max(duration if max_dur is None else max_dur, min_green)
                actuated.append(
                    (duration if min_dur is None else min_dur)
                    != (duration if max_dur is None else max_dur)
                )
                greens.append(
                    Phase(
                        norm,
                        float(duration),
                        yellow_s=0.0,
                        all_red_s=0.0,
                        min_green_s=float(min_green),
                        max_green_s=float(max_green),
                    )
                )
            elif greens:
                last = greens[-1]
                greens[-1] = Phase(
                    last.state,
                    last.green_s,
                    last.yellow_s,
                    last.all_red_s + duration,
                    last.min_green_s,
                    last.max_green_s,
                )
        if not greens:
            raise NetworkError("a signal programme needs at least one phase with green")
        if actuation is not None:
            actuation = dataclasses.replace(actuation, actuated=tuple(actuated))
        return cls(tuple(greens), float(offset_s), actuation)


@dataclass(frozen=True, eq=False)
class Intersection:
    """A node where movements meet, with its conflict matrix and (maybe) signals.

    Attributes:
        node: index into ``Network.nodes``.
        movements: global movement indices; position ``k`` here is link index ``k``.
        foes: ``(M, M)`` symmetric bool, paths cross or merge.
        yields: ``(M, M)`` bool, ``yields[i, j]``: ``i`` gives way to ``j``.
        program: the signal programme; ``None`` for an unsignalised (priority)
            intersection, where every movement always has green, ``'g'`` (yield) for
            movements that yield to a foe and ``'G'`` for the others.
        link_states: for an unsignalised intersection, SUMO's letter of each movement
            (:data:`PRIORITY_CHARS`, e.g. ``'M'``/``'m'`` at a priority junction,
            ``'='`` right before left, ``'w'`` all-way stop, ``'Z'`` zipper); empty:
            ``'g'``/``'G'`` as above.
        clear_m: ``(M, M)`` or ``None``: ``clear_m[i, j]``, for ``i`` yielding to
            ``j``, how far along ``j``'s path through the junction a vehicle of ``j``
            must have moved its back before it no longer holds ``i`` (past the point
            where the paths cross, SUMO's ``lengthBehindCrossing``); ``inf`` (and
            ``None``: every pair) while it is anywhere inside the junction, as for
            paths that merge.
        inside_yields: ``(M, M)`` or ``None`` (then ``yields``): ``inside_yields[i, j]``,
            a turn ``i`` that waits inside the junction (``Movement.internal_stop_m``)
            minds ``j`` there (SUMO's internal junction, which lists its own foes): a
            vehicle on ``j``'s path until its back is ``inside_clear_m[i, j]`` along it
            (``-inf``: none), and, where ``inside_approach[i, j]`` (``None``: all), a
            vehicle approaching ``j``'s line; where ``inside_second_part[i, j]``, a vehicle
            on ``j``'s path holds ``i`` only once past ``j``'s own internal junction. In
            the row of a movement without an internal junction only its link leaders
            count (``inside_second_part``): turns past their internal junction and not
            yet across its path, which may hold it at its line
            (:func:`twin.traffic.kernels.link_leader_ahead`).
        inside_clear_m: ``(M, M)`` or ``None`` (then ``clear_m``): as ``clear_m``, for a
            vehicle on ``j``'s path holding turn ``i`` at its internal junction.
    """

    id: str
    node: int
    movements: tuple[int, ...]
    foes: BoolArray
    yields: BoolArray
    program: SignalProgram | None = None
    link_states: str = ""
    clear_m: FloatArray | None = None
    inside_yields: BoolArray | None = None
    inside_approach: BoolArray | None = None
    inside_second_part: BoolArray | None = None
    inside_clear_m: FloatArray | None = None

    @property
    def signalised(self) -> bool:
        return self.program is not None

    def priority_state(self) -> str:
        """The always-green state of an unsignalised intersection."""
        if self.link_states:
            return self.link_states
        return "".join("g" if self.yields[i].any() else "G" for i in range(len(self.movements)))

    def gives_way(self, major: BoolArray) -> BoolArray:
        """``(M, M)``: ``i`` gives way to ``j`` under a state whose major letters
        (:data:`MAJOR_CHARS`) are ``major``: ``i`` yields to ``j``, unless they yield
        to each other and ``i``'s letter is major (MSLink::opened: a major link goes)."""
        return self.yields & ~(major[:, None] & self.yields.T)

    def conflicts(self, going: BoolArray, major: BoolArray) -> BoolArray:
        """``(M, M)``: foes that may both go (``going``) while neither gives way."""
        way = self.gives_way(major)
        return going[:, None] & going[None, :] & self.foes & ~(way | way.T)

    def conflicting_greens(self, state: str) -> list[tuple[int, int]]:
        """Pairs of link indices that ``state`` would let go together unsafely: foes
        that may both go (:data:`GREEN_CHARS`) while neither gives way to the other."""
        going = np.array([c != "r" for c in state], dtype=np.bool_)
        major = np.array([c in MAJOR_CHARS for c in state], dtype=np.bool_)
        bad = np.argwhere(np.triu(self.conflicts(going, major)))
        return [(int(i), int(j)) for i, j in bad]


@dataclass(frozen=True, eq=False)
class Network:
    """A road network: what a generator or an importer builds.

    Call :meth:`validate` (done by :meth:`compile`) to check it; every problem is a
    :class:`NetworkError` with one line naming the object.
    """

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    movements: tuple[Movement, ...]
    intersections: tuple[Intersection, ...]
    name: str = "network"

    def edge_index(self, edge_id: str) -> int:
        """Index of the edge named ``edge_id`` (``KeyError`` naming a few known ids)."""
        index = self._edge_ids
        try:
            return index[edge_id]
        except KeyError:
            known = ", ".join(list(index)[:8])
            raise KeyError(f"unknown edge {edge_id!r}; known edges include {known}") from None

    @cached_property
    def _edge_ids(self) -> dict[str, int]:
        return {edge.id: k for k, edge in enumerate(self.edges)}

    @cached_property
    def lane_offset(self) -> IntArray:
        """Global index of lane 0 of each edge (normal lanes come first), plus the total."""
        return np.concatenate(([0], np.cumsum([e.lanes for e in self.edges]))).astype(np.int64)

    @property
    def n_lanes(self) -> int:
        """Normal lanes; internal lanes (one per movement) follow them in the kernel."""
        return int(self.lane_offset[-1])

    def lane(self, edge: int, lane: int) -> int:
        """Global index of lane ``lane`` of edge ``edge``."""
        return int(self.lane_offset[edge]) + lane

    @cached_property
    def successors(self) -> tuple[frozenset[int], ...]:
        """For each edge, the edges a movement leads to."""
        out: list[set[int]] = [set() for _ in self.edges]
        for m in self.movements:
            out[m.from_edge].add(m.to_edge)
        return tuple(frozenset(s) for s in out)

    @cached_property
    def entry_edges(self) -> tuple[int, ...]:
        """Edges no movement leads onto: where trips enter the network."""
        fed = {m.to_edge for m in self.movements}
        return tuple(k for k in range(len(self.edges)) if k not in fed)

    @cached_property
    def exit_edges(self) -> tuple[int, ...]:
        """Edges no movement leaves: where trips leave the network."""
        return tuple(k for k, s in enumerate(self.successors) if not s)

    # -- checks -------------------------------------------------------------------

    def validate(self) -> None:
        """Raise :class:`NetworkError` on the first problem found."""
        n_nodes, n_edges = len(self.nodes), len(self.edges)
        if n_edges == 0:
            raise NetworkError(f"network {self.name!r} has no edges")
        if len(self._edge_ids) != n_edges:
            raise NetworkError(f"network {self.name!r} repeats an edge id")
        for e in self.edges:
            if not (0 <= e.from_node < n_nodes and 0 <= e.to_node < n_nodes):
                raise NetworkError(f"edge {e.id!r} joins a node that does not exist")
            if not (math.isfinite(e.length_m) and e.length_m > 0):
                raise NetworkError(f"edge {e.id!r} needs length_m > 0, got {e.length_m}")
            if not (math.isfinite(e.speed_mps) and e.speed_mps > 0):
                raise NetworkError(f"edge {e.id!r} needs speed_mps > 0, got {e.speed_mps}")
            if e.lanes < 1:
                raise NetworkError(f"edge {e.id!r} needs at least one lane, got {e.lanes}")
        for k, m in enumerate(self.movements):
            if not (0 <= m.from_edge < n_edges and 0 <= m.to_edge < n_edges):
                raise NetworkError(f"movement {k} uses an edge that does not exist")
            src, dst = self.edges[m.from_edge], self.edges[m.to_edge]
            if not 0 <= m.from_lane < src.lanes:
                raise NetworkError(
                    f"movement {k} leaves lane {m.from_lane} of edge {src.id!r}, "
                    f"which has {src.lanes} lane(s)"
                )
            if src.to_node != dst.from_node:
                raise NetworkError(
                    f"movement {k} joins edge {src.id!r} to {dst.id!r}, which do not meet"
                )
            if not -1 <= m.to_lane < dst.lanes:
                raise NetworkError(
                    f"movement {k} enters lane {m.to_lane} of edge {dst.id!r}, "
                    f"which has {dst.lanes} lane(s)"
                )
            if not (m.length_m > 0 and m.speed_mps > 0):
                raise NetworkError(f"movement {k} needs length_m > 0 and speed_mps > 0")
        owned = [0] * len(self.movements)
        for inter in self.intersections:
            self._validate_intersection(inter, owned)
        orphans = [k for k, n in enumerate(owned) if n != 1]
        if orphans:
            raise NetworkError(
                f"movement {orphans[0]} belongs to {owned[orphans[0]]} intersections; "
                "each movement belongs to exactly one"
            )

    def _validate_intersection(self, inter: Intersection, owned: list[int]) -> None:
        m = len(inter.movements)
        for k in inter.movements:
            if not 0 <= k < len(self.movements):
                raise NetworkError(f"intersection {inter.id!r} lists unknown movement {k}")
            owned[k] += 1
            if self.edges[self.movements[k].from_edge].to_node != inter.node:
                raise NetworkError(f"intersection {inter.id!r} lists movement {k} of another node")
        if inter.foes.shape != (m, m) or inter.yields.shape != (m, m):
            raise NetworkError(f"intersection {inter.id!r}: foes and yields must be {m}x{m}")
        if not np.array_equal(inter.foes, inter.foes.T):
            raise NetworkError(f"intersection {inter.id!r}: foes must be symmetric")
        if inter.program is None:
            state = inter.priority_state()
            if len(state) != m or set(state) - PRIORITY_CHARS:
                raise NetworkError(
                    f"intersection {inter.id!r}: link_states {state!r} needs one of "
                    f"{''.join(sorted(PRIORITY_CHARS))!r} per movement ({m})"
                )
            bad = inter.conflicting_greens(state)
            if bad:
                i, j = bad[0]
                raise NetworkError(
                    f"intersection {inter.id!r}: movements {i} and {j} cross and neither "
                    f"gives way to the other ({state[i]!r}, {state[j]!r})"
                )
        if inter.program is not None:
            check_program(inter, inter.program)

    # -- arrays for the kernel ----------------------------------------------------

    def compile(self) -> NetworkArrays:
        """Validate and flatten into the arrays :mod:`twin.traffic.kernels` reads (once per
        network: every city built on it shares them, and reads them only)."""
        return self._arrays

    @cached_property
    def _arrays(self) -> NetworkArrays:
        self._validation  # noqa: B018 (computed once)
        return NetworkArrays.build(self)

    @cached_property
    def _validation(self) -> None:
        # Once per network: it is immutable, and an imported one is shared by every run
        # of the process (twin.traffic.sumo.read_net).
        self.validate()


def check_program(inter: Intersection, program: SignalProgram) -> None:
    """Raise :class:`NetworkError` if ``program`` cannot run at ``inter`` safely."""
    m = len(inter.movements)
    if not program.phases:
        raise NetworkError(f"intersection {inter.id!r}: a signal programme needs phases")
    for p, phase in enumerate(program.phases):
        where = f"intersection {inter.id!r} phase {p}"
        if len(phase.state) != m:
            raise NetworkError(
                f"{where}: state {phase.state!r} has {len(phase.state)} signals for {m} movements"
            )
        if set(phase.state) - STATE_CHARS:
            raise NetworkError(
                f"{where}: state {phase.state!r} may only use 'G', 'g', 's', 'o', 'O' and 'r'"
            )
        times = (phase.green_s, phase.yellow_s, phase.all_red_s, phase.min_green_s)
        if any(not math.isfinite(t) or t < 0 for t in (*times, phase.max_green_s)):
            raise NetworkError(f"{where}: times must be finite and >= 0")
        if phase.green_s <= 0:
            raise NetworkError(f"{where}: green_s must be > 0, got {phase.green_s}")
        if phase.min_green_s > phase.max_green_s:
            raise NetworkError(
                f"{where}: min_green_s ({phase.min_green_s}) exceeds max_green_s "
                f"({phase.max_green_s})"
            )
        bad = inter.conflicting_greens(phase.state)
        if bad:
            i, j = bad[0]
            raise NetworkError(
                f"{where}: conflicting greens: movements {i} and {j} cross and are both "
                f"green in {phase.state!r} without the junction making one yield to the other"
            )


@dataclass(frozen=True, eq=False)
class NetworkArrays:
    """The network as flat arrays (what the kernel reads). Lanes ``0 .. n_lanes-1`` are
    edge lanes, lanes ``n_lanes + m`` the internal lane of movement ``m``.

    Attributes:
        lane_length_m, lane_speed_mps: per lane (edge and internal).
        lane_edge: edge of an edge lane, -1 for an internal lane.
        lane_movement: movement of an internal lane, -1 for an edge lane.
        edge_lane_start, edge_lanes: lanes of each edge are ``start .. start+lanes-1``.
        lane_out_start: movements leaving edge lane ``l`` are
            ``out_movements[lane_out_start[l]:lane_out_start[l+1]]``.
        mov_to_edge, mov_from_lane, mov_lane, mov_to_lane: per movement; ``mov_lane`` is
            its internal lane, ``mov_from_lane`` the global edge lane it leaves,
            ``mov_to_lane`` the global edge lane it enters (-1: the vehicle chooses).
        yield_start, yield_to: movement ``m`` yields to ``yield_to[yield_start[m]:...]``;
            ``yield_mutual`` (0/1, same entries): that foe yields to ``m`` too;
            ``yield_clear_m`` (same entries): ``Intersection.clear_m`` of the pair.
        mov_keep_clear: 1 when a vehicle keeps the junction of movement ``m`` clear
            (SUMO's ``MSVehicle::keepClear``: ``link->hasFoes() && link->keepClear()``):
            the movement has a foe there and its connection is not ``keepClear="0"``.
        mov_internal_stop_m: ``Movement.internal_stop_m`` per movement.
        inside_start, inside_to, inside_clear_m, inside_approach: as ``yield_*`` for
            the foes a turn minds at its internal junction, and the link leaders a
            movement without one minds at its line (``Intersection.inside_yields``,
            ``inside_approach`` 0/1; ``inside_from_m``: a vehicle on the foe's path counts
            once its front is past this point, ``-inf``: anywhere).
        edge_out_start, edge_out: successors of each edge (for routing).
    """

    n_lanes: int
    lane_length_m: FloatArray
    lane_speed_mps: FloatArray
    lane_edge: IntArray
    lane_movement: IntArray
    edge_lane_start: IntArray
    edge_lanes: IntArray
    edge_length_m: FloatArray
    edge_speed_mps: FloatArray
    lane_out_start: IntArray
    out_movements: IntArray
    mov_to_edge: IntArray
    mov_from_lane: IntArray
    mov_lane: IntArray
    yield_start: IntArray
    yield_to: IntArray
    mov_to_lane: IntArray
    yield_mutual: IntArray
    yield_clear_m: FloatArray
    mov_keep_clear: IntArray
    mov_internal_stop_m: FloatArray
    inside_start: IntArray
    inside_to: IntArray
    inside_clear_m: FloatArray
    inside_approach: IntArray
    inside_from_m: FloatArray

    @property
    def total_lanes(self) -> int:
        return len(self.lane_length_m)

    @classmethod
    def build(cls, net: Network) -> NetworkArrays:
        n_lanes = net.n_lanes
        n_mov = len(net.movements)
        edge_lane_start = net.lane_offset[:-1].copy()
        edge_lanes = np.array([e.lanes for e in net.edges], dtype=np.int64)
        lane_length = np.empty(n_lanes + n_mov)
        lane_speed = np.empty(n_lanes + n_mov)
        lane_edge = np.full(n_lanes + n_mov, -1, dtype=np.int64)
        lane_movement = np.full(n_lanes + n_mov, -1, dtype=np.int64)
        for k, e in enumerate(net.edges):
            sl = slice(edge_lane_start[k], edge_lane_start[k] + e.lanes)
            lane_length[sl] = e.length_m
            lane_speed[sl] = e.speed_mps
            lane_edge[sl] = k
        mov_from_lane = np.array(
            [net.lane(m.from_edge, m.from_lane) for m in net.movements], dtype=np.int64
        )
        for k, m in enumerate(net.movements):
            lane_length[n_lanes + k] = m.length_m
            lane_speed[n_lanes + k] = m.speed_mps
            lane_movement[n_lanes + k] = k
        order = np.argsort(mov_from_lane, kind="stable")
        counts = np.bincount(mov_from_lane, minlength=n_lanes + n_mov)
        lane_out_start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        # Yield lists in global movement indices.
        yield_lists: list[list[int]] = [[] for _ in range(n_mov)]
        mutual_lists: list[list[int]] = [[] for _ in range(n_mov)]
        clear_lists: list[list[float]] = [[] for _ in range(n_mov)]
        for inter in net.intersections:
            for i, j in zip(*np.nonzero(inter.yields), strict=True):
                yield_lists[inter.movements[i]].append(inter.movements[j])
                mutual_lists[inter.movements[i]].append(int(inter.yields[j, i]))
                clear = math.inf if inter.clear_m is None else float(inter.clear_m[i, j])
                clear_lists[inter.movements[i]].append(clear)
        inside_lists: list[list[tuple[int, float, int, float]]] = [[] for _ in range(n_mov)]
        for inter in net.intersections:
            inside = inter.yields if inter.inside_yields is None else inter.inside_yields
            approach = inside if inter.inside_approach is None else inter.inside_approach
            for i, j in zip(*np.nonzero(inside), strict=True):
                own = net.movements[inter.movements[i]]
                second = inter.inside_second_part is not None and inter.inside_second_part[i, j]
                if own.internal_stop_m == 0.0 and not second:
                    continue  # a movement without an internal junction minds link leaders only
                clears = inter.clear_m if inter.inside_clear_m is None else inter.inside_clear_m
                clear = math.inf if clears is None else float(clears[i, j])
                foe = inter.movements[j]
                from_m = abs(net.movements[foe].internal_stop_m) if second else -math.inf
                inside_lists[inter.movements[i]].append((foe, clear, int(approach[i, j]), from_m))
        keep_clear = np.zeros(n_mov, dtype=np.int64)
        for inter in net.intersections:
            keep_clear[list(inter.movements)] = inter.foes.any(axis=1)
        keep_clear &= np.array([m.keep_clear for m in net.movements], dtype=np.int64)
        yield_start = np.concatenate(([0], np.cumsum([len(y) for y in yield_lists])))
        yield_to = np.array([j for y in yield_lists for j in y], dtype=np.int64)
        return cls(
            n_lanes=n_lanes,
            lane_length_m=lane_length,
            lane_speed_mps=lane_speed,
            lane_edge=lane_edge,
            lane_movement=lane_movement,
            edge_lane_start=edge_lane_start.astype(np.int64),
            edge_lanes=edge_lanes,
            edge_length_m=np.array([e.length_m for e in net.edges]),
            edge_speed_mps=np.array([e.speed_mps for e in net.edges]),
            lane_out_start=lane_out_start,
            out_movements=order.astype(np.int64),
            mov_to_edge=np.array([m.to_edge for m in net.movements], dtype=np.int64),
            mov_from_lane=mov_from_lane,
            mov_lane=np.arange(n_lanes, n_lanes + n_mov, dtype=np.int64),
            yield_start=yield_start.astype(np.int64),
            yield_to=yield_to,
            mov_to_lane=np.array(
                [net.lane(m.to_edge, m.to_lane) if m.to_lane >= 0 else -1 for m in net.movements],
                dtype=np.int64,
            ),
            yield_mutual=np.array([f for y in mutual_lists for f in y], dtype=np.int64),
            yield_clear_m=np.array([c for y in clear_lists for c in y], dtype=np.float64),
            mov_keep_clear=keep_clear,
            mov_internal_stop_m=np.array([m.internal_stop_m for m in net.movements]),
            inside_start=np.concatenate(([0], np.cumsum([len(x) for x in inside_lists]))).astype(
                np.int64
            ),
            inside_to=np.array([x[0] for y in inside_lists for x in y], dtype=np.int64),
            inside_clear_m=np.array([x[1] for y in inside_lists for x in y], dtype=np.float64),
            inside_approach=np.array([x[2] for y in inside_lists for x in y], dtype=np.int64),
            inside_from_m=np.array([x[3] for y in inside_lists for x in y], dtype=np.float64),
        )


# -- geometry of a standard junction ------------------------------------------------------


def turn_letter(heading_in: float, heading_out: float) -> str:
    """SUMO's direction letter for a turn from heading ``heading_in`` to ``heading_out``
    (radians, counter-clockwise from east)."""
    delta = math.remainder(heading_out - heading_in, 2 * math.pi)
    if abs(delta) < math.radians(30):
        return "s"
    if abs(abs(delta) - math.pi) < math.radians(10):
        return "t"
    return "l" if delta > 0 else "r"


def foes_by_geometry(
    approach_angle: Sequence[float], exit_angle: Sequence[float], approach_key: Sequence[int]
) -> BoolArray:
    """Foes of a junction's movements from where they enter and leave (right-hand traffic).

    Each movement is a chord of a circle around the junction from its entry point (the
    incoming leg's angle, shifted a little counter-clockwise: vehicles keep right) to its
    exit point (the outgoing leg's angle, shifted clockwise). Two movements from different
    approaches are foes when their chords cross or they leave on the same edge (merge).

    Args:
        approach_angle: angle of the leg each movement comes from, seen from the centre.
        exit_angle: angle of the leg it leaves by.
        approach_key: which approach (incoming edge) each movement comes from.
    """
    eps = 1e-3
    m = len(approach_angle)
    start = [(a + eps) % (2 * math.pi) for a in approach_angle]
    end = [(b - eps) % (2 * math.pi) for b in exit_angle]
    foes = np.zeros((m, m), dtype=np.bool_)

    def between(x: float, a: float, b: float) -> bool:
        return 0 < (x - a) % (2 * math.pi) < (b - a) % (2 * math.pi)

    for i in range(m):
        for j in range(i + 1, m):
            if approach_key[i] == approach_key[j]:
                continue
            merge = abs(math.remainder(exit_angle[i] - exit_angle[j], 2 * math.pi)) < 1e-6
            cross = between(start[j], start[i], end[i]) != between(end[j], start[i], end[i])
            foes[i, j] = foes[j, i] = merge or cross
    return foes


def left_turns_yield(foes: BoolArray, turns: Sequence[str]) -> BoolArray:
    """``yields[i, j]``: a left turn (or turnaround) gives way to the straight and right
    movements it crosses or merges with; a right turn gives way to a straight it merges
    with. Everything else has priority (the signal separates it)."""
    rank = {"s": 0, "r": 1, "l": 2, "t": 3}
    m = len(turns)
    yields = np.zeros((m, m), dtype=np.bool_)
    for i in range(m):
        for j in range(m):
            if foes[i, j] and rank[turns[i]] > rank[turns[j]]:
                yields[i, j] = True
    return yields


# -- the grid generator -------------------------------------------------------------------


def grid(
    rows: int,
    cols: int,
    block_m: float = 200.0,
    lanes: int = 1,
    speed_mps: float = 13.89,
    *,
    green_s: float = 42.0,
    yellow_s: float = 3.0,
    all_red_s: float = 0.0,
    min_green_s: float = 5.0,
    max_green_s: float = 50.0,
    lane_width_m: float = LANE_WIDTH_M,
) -> Network:
    """A Manhattan grid of ``rows x cols`` signalised intersections ``block_m`` apart.

    Every border intersection gets an approach of ``block_m`` from a dead-end node
    outside the grid (SUMO netgenerate's ``--grid.attach-length``), so each intersection
    has four legs and trips start and end on those fringe edges. Lanes: with one lane
    per direction it carries right, straight and left; with more, the rightmost carries
    right and straight, the leftmost left and straight, the others straight (as SUMO
    guesses). The junction is a square ``2 * lanes * lane_width_m`` wide; edges run
    between junction boundaries and the movements bridge them with paths whose turn
    radius follows SUMO's corner radius, at most ``sqrt(5.5 m/s² * radius)`` fast.

    Each intersection runs SUMO's guessed two-phase programme (north-south, then
    east-west; left turns permissive, yielding to oncoming traffic), ``green_s`` green
    and ``yellow_s`` yellow per phase (90 s cycle by default), no offsets.

    Node ids are ``J{row}_{col}`` (row 0 at the bottom) and ``F{side}{k}`` for the fringe
    (side ``N``, ``S``, ``E``, ``W``); edge ids are ``{from}_{to}``.
    """
    if rows < 1 or cols < 1:
        raise NetworkError(f"a grid needs rows and cols >= 1, got {rows}x{cols}")
    if lanes < 1:
        raise NetworkError(f"a grid needs at least one lane, got {lanes}")
    box_m = 2 * lanes * lane_width_m
    if block_m <= box_m + 1.0:
        raise NetworkError(f"block_m ({block_m}) must exceed the junction width ({box_m} m) + 1")
    nodes: list[Node] = []
    index: dict[tuple[int, int], int] = {}

    def add(node_id: str, r: int, c: int) -> None:
        index[(r, c)] = len(nodes)
        nodes.append(Node(node_id, c * block_m, r * block_m))

    for r in range(rows):
        for c in range(cols):
            add(f"J{r}_{c}", r, c)
    for c in range(cols):
        add(f"FS{c}", -1, c)
        add(f"FN{c}", rows, c)
    for r in range(rows):
        add(f"FW{r}", r, -1)
        add(f"FE{r}", r, cols)
    inner = {(r, c) for r in range(rows) for c in range(cols)}
    edges: list[Edge] = []
    edge_at: dict[tuple[tuple[int, int], tuple[int, int]], int] = {}
    for (r, c), a in sorted(index.items(), key=lambda kv: kv[1]):
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            other = (r + dr, c + dc)
            if other not in index or ((r, c) not in inner and other not in inner):
                continue
            b = index[other]
            # Half a junction is cut off at each signalised end.
            cut = box_m / 2 * (((r, c) in inner) + (other in inner))
            edge_at[((r, c), other)] = len(edges)
            edges.append(
                Edge(f"{nodes[a].id}_{nodes[b].id}", a, b, block_m - cut, speed_mps, lanes)
            )
    movements: list[Movement] = []
    intersections: list[Intersection] = []
    for r, c in sorted(inner):
        here = (r, c)
        legs = [(r + dr, c + dc) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))]
        first = len(movements)
        approach_angle, exit_angle, approach_key, turns = [], [], [], []
        for src in legs:
            e_in = edge_at[(src, here)]
            a_in = math.atan2(src[0] - r, src[1] - c)
            heading_in = a_in + math.pi
            # Link indices run right, straight, left within an approach, as in SUMO.
            outs = []
            for dst in legs:
                if dst == src:
                    continue
                a_out = math.atan2(dst[0] - r, dst[1] - c)
                outs.append((_TURN_ORDER[turn_letter(heading_in, a_out)], dst, a_out))
            for _, dst, a_out in sorted(outs):
                e_out = edge_at[(here, dst)]
                turn = turn_letter(heading_in, a_out)
                for lane in _lanes_for(turn, lanes):
                    length, speed = _path(turn, box_m, speed_mps)
                    movements.append(Movement(e_in, lane, e_out, turn, length, speed))
                    approach_angle.append(a_in)
                    exit_angle.append(a_out)
                    approach_key.append(e_in)
                    turns.append(turn)
        ids = tuple(range(first, len(movements)))
        foes = foes_by_geometry(approach_angle, exit_angle, approach_key)
        yields = left_turns_yield(foes, turns)
        # Phase 0 serves the north-south approaches, phase 1 east-west.
        ns = [abs(math.sin(a)) > 0.5 for a in approach_angle]
        phases = []
        for serve in (True, False):
            state = "".join(
                ("g" if any(yields[k, j] and ns[j] == serve for j in range(len(ids))) else "G")
                if ns[k] == serve
                else "r"
                for k in range(len(ids))
            )
            phases.append(Phase(state, green_s, yellow_s, all_red_s, min_green_s, max_green_s))
        inter = Intersection(
            nodes[index[here]].id,
            index[here],
            ids,
            foes,
            yields,
            SignalProgram(tuple(phases)),
        )
        intersections.append(inter)
    return Network(
        tuple(nodes),
        tuple(edges),
        tuple(movements),
        tuple(intersections),
        name=f"grid{rows}x{cols}",
    )


_TURN_ORDER = {"r": 0, "s": 1, "l": 2, "t": 3}


def _lanes_for(turn: str, lanes: int) -> range | tuple[int, ...]:
    if lanes == 1:
        return (0,)
    if turn == "r":
        return (0,)
    if turn == "l":
        return (lanes - 1,)
    return range(lanes)


def _path(turn: str, box_m: float, speed_mps: float) -> tuple[float, float]:
    """Length and speed limit of a path through a square junction ``box_m`` wide."""
    if turn == "s":
        return box_m, speed_mps
    radius = CORNER_RADIUS_M + (box_m / 4 if turn == "r" else 3 * box_m / 4)
    length = math.pi / 2 * radius
    return length, min(speed_mps, math.sqrt(TURN_LATERAL_ACCEL_MPS2 * radius))
