"""``traffic.signals`` as a learning agent sees it: sumo-rl's observation, actions and rewards.

One agent per signalised intersection (``intersection:<id>``). The definitions are
sumo-rl's (``sumo_rl/environment/traffic_signal.py`` and ``observations.py``, version
1.4), so an agent trained on twin and one trained on sumo-rl on the same RESCO network
see the same vector and are paid the same reward; where twin computes a quantity
differently from SUMO, the docstring or the reward's description says how.

**Observation** (``float32``, every element in ``[0, 1]``; ``P`` green phases, ``L``
incoming lanes of the intersection):

- ``[0, P)``: one-hot of the green phase being shown (``SignalObservation.phase``);
- ``[P]``: min-green flag, 1 when the phase has been green at least its minimum green
  (a request to switch now is obeyed, not clamped), else 0; sumo-rl's
  ``time_since_last_phase_change >= min_green + yellow_time`` counts from the start of
  the yellow, twin's ``phase_elapsed_s`` from the start of the green: the same instant;
- ``[P + 1, P + 1 + L)``: density of each incoming lane, ``vehicles * (MIN_GAP_M + mean
  vehicle length on the lane) / lane length``, capped at 1 (sumo-rl's
  ``get_lanes_density``);
- ``[P + 1 + L, P + 1 + 2L)``: queue of each incoming lane, halting vehicles (<= 0.1 m/s)
  times the same footprint over the lane length, capped at 1 (``get_lanes_queue``).

The incoming lanes are the distinct lanes the intersection's movements leave from, in
link-index order of their first movement (sumo-rl's ``dict.fromkeys(getControlledLanes)``);
movements sharing a lane share its reading. The observation uses the true lane counts
(``queue``, ``vehicles``), as sumo-rl does, never the sensed ones, so no element can be
missing; a NaN count would still encode as 0 and an infinite one as 1 (never NaN).

**Actions**: ``Discrete(P)``; index ``k`` is ``SignalAction(phase=k,
duration_s=DECISION_STEP_S)``: show green phase ``k`` (row ``k`` of ``phase_green``) for
the next :data:`DECISION_STEP_S` seconds. The controller does the rest (see
:class:`~twin.traffic.observation.SignalAction`): the same phase is extended; another
phase gets yellow and all-red first; a change before min green is held until min green;
max green forces the programme's next phase. Timing differs from sumo-rl's in two ways.
sumo-rl's ``delta_time`` includes the yellow (a switch gives ``5 - yellow_time`` s of
green before the next decision, and every agent acts on one 5 s grid), twin's 5 s are
green after the yellow and all-red, unless the scenario sets ``decision_grid_s = 5``:
then decisions fall on sumo-rl's grid, the yellow within the 5 s, and a change asked
before min green waits for the first instant of the grid after it (sumo-rl asks in
between and ignores the change). And yellow, all-red, min and max green are the
programme's (SUMO's ``tlLogic``, twin's grid ``yellow_s``/``min_green_s``/``max_green_s``),
not sumo-rl's ``yellow_time=2``, ``min_green=5``, ``max_green=50`` arguments. A phase of
a static SUMO ``tlLogic`` without ``minDur``/``maxDur`` (every phase of RESCO's grid4x4,
arterial4x4, ingolstadt1 and ingolstadt7) has min = max green = its duration: the
controller ends it itself and never asks the agent.

**Rewards** (per intersection; ``agent=None``: the sum over all intersections):
``"diff-waiting-time"`` (default), ``"queue"``, ``"pressure"``, ``"average-speed"``,
as defined in :data:`REWARDS`.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numba
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.core.learning import LearningInterface, Reward
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.kernels import DRIVING
from twin.traffic.observation import (
    ENTITY_PREFIX,
    SignalAction,
    SignalActions,
    SignalObservation,
    SignalTurn,
)
from twin.traffic.signals import never_asked

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DECISION_STEP_S = 5.0
"""Green asked for at each decision: sumo-rl's default ``delta_time`` (5 s between an
agent's actions, ``SumoEnvironment(delta_time=5)``)."""

MIN_GAP_M = 2.5
"""Gap counted behind every vehicle in the density and queue: sumo-rl's
``TrafficSignal.MIN_GAP`` (SUMO's default ``minGap``), whatever the vehicle type's."""

WAITING_SCALE = 0.01
"""sumo-rl divides the accumulated waiting time by 100 before differencing it."""

EPISODE_S = 3600.0
"""An episode is an hour: each of RESCO's eight ``.sumocfg`` runs one hour (``end`` -
``begin`` = 3600 s, as sumo-rl ships them), and twin's grids' demand lasts an hour."""

_EPS_S = 1e-9
"""Slack of the min-green comparison (the signal controller's ``EPS_S``)."""

AGENT_PREFIX = ENTITY_PREFIX
"""Agents are named as ``traffic.signals``' ``entity_of`` names intersections."""


@dataclass(frozen=True)
class _Junction:
    """What one signalised intersection's vector is made of.

    Attributes:
        phases: its green phases (``P``).
        movements: its movements (link indices).
        lanes: its distinct incoming edge lanes, in link-index order of first use (``L``).
        first: per incoming lane, the first movement (link index) leaving from it.
        length_m: per incoming lane, its length.
        out_lanes: its distinct outgoing edge lanes (sumo-rl's ``out_lanes``): each
            movement's target lane, every lane of its target edge where the vehicle
            chooses the lane (``to_lane = -1``).
        scale: per incoming lane, footprint / length (a vehicle's share of the lane)
            when the fleet has one vehicle length; ``None`` for a mixed fleet.
    """

    phases: int
    movements: int
    lanes: IntArray
    first: IntArray
    length_m: FloatArray
    out_lanes: IntArray
    scale: FloatArray | None

    @property
    def size(self) -> int:
        """Length of the observation vector."""
        return self.phases + 1 + 2 * len(self.lanes)


@dataclass(frozen=True)
class _Lanes:
    """Every signalised intersection's incoming lanes, junction after junction, for
    encoding many vectors at once (:func:`encode_signals`).

    Attributes:
        junction: per incoming lane, its intersection (index among the signalised).
        start: per intersection, where its lanes start (one more entry than them).
        first: its first movement, counted within its intersection's movements.
        scale: footprint / length for a fleet of one length, else ``None``.
        phases, movements, size: per intersection, ``P``, its movements and its vector's
            length.
    """

    junction: IntArray
    start: IntArray
    first: IntArray
    scale: FloatArray | None
    phases: IntArray
    movements: IntArray
    size: IntArray


def _all_lanes(junctions: Sequence[_Junction], footprint_m: float | None) -> _Lanes:
    per = [len(j.lanes) for j in junctions]
    scales = [j.scale for j in junctions if j.scale is not None]
    return _Lanes(
        junction=np.repeat(np.arange(len(junctions)), per),
        start=np.cumsum([0, *per], dtype=np.int64),
        first=np.concatenate([np.zeros(0, dtype=np.int64), *(j.first for j in junctions)]),
        scale=None if footprint_m is None else np.concatenate([np.zeros(0), *scales]),
        phases=np.array([j.phases for j in junctions], dtype=np.int64),
        movements=np.array([j.movements for j in junctions], dtype=np.int64),
        size=np.array([j.size for j in junctions], dtype=np.int64),
    )


@dataclass(frozen=True)
class _Layout:
    """Per built city: the agents and every junction's lanes (computed once).

    Attributes:
        agents: agent names, in the order of the signalised intersections.
        index: agent name -> index among the signalised intersections.
        by_id: intersection id -> the same index.
        junctions: per signalised intersection.
        owner: per lane (edge and internal), the intersection it is an incoming lane of
            (-1: none).
        incoming, outgoing: every junction's incoming (outgoing) lanes, concatenated.
        outgoing_owner: the junction each outgoing lane belongs to (the incoming
            lanes': ``lanes.junction``).
        footprint_m: ``MIN_GAP_M`` + the vehicle length when every trip's vehicle type
            has the same length; ``None`` for a mixed fleet (the mean length of the
            vehicles on each lane is then read at each encode, as SUMO's
            ``getLastStepLength``).
        mean_length_m: the trips' mean vehicle length, the mixed fleet's length on a lane
            with no vehicle.
        lanes: ``incoming`` with what each lane is to its junction's vector.
    """

    agents: tuple[str, ...]
    index: dict[str, int]
    by_id: dict[str, int]
    junctions: tuple[_Junction, ...]
    owner: IntArray
    incoming: IntArray
    outgoing: IntArray
    outgoing_owner: IntArray
    footprint_m: float | None
    mean_length_m: float
    lanes: _Lanes


_LAYOUTS: weakref.WeakKeyDictionary[City, _Layout] = weakref.WeakKeyDictionary()


def _layout(city: City) -> _Layout:
    """The city's layout, built on first use and kept as long as the city lives."""
    layout = _LAYOUTS.get(city)
    if layout is None:
        layout = _build_layout(city)
        _LAYOUTS[city] = layout
    return layout


def _build_layout(city: City) -> _Layout:
    arrays = city.arrays
    owner = np.full(arrays.total_lanes, -1, dtype=np.int64)
    # The vehicle lengths of the trips (of the types, when there is no trip at all).
    lengths = city.vt.length[city.veh.vtype] if len(city.veh.vtype) else city.vt.length
    distinct = np.unique(lengths)
    footprint = MIN_GAP_M + float(distinct[0]) if len(distinct) == 1 else None
    junctions = []
    for k, inter in enumerate(city.signalised):
        assert inter.program is not None
        movements = np.array(inter.movements, dtype=np.int64)
        from_lane = arrays.mov_from_lane[movements]
        lanes, first = np.unique(from_lane, return_index=True)
        order = np.argsort(first, kind="stable")
        lanes, first = lanes[order], first[order]
        owner[lanes] = k
        out: list[int] = []
        for m in movements:
            to_lane = int(arrays.mov_to_lane[m])
            if to_lane >= 0:
                out.append(to_lane)
            else:
                edge = int(arrays.mov_to_edge[m])
                start = int(arrays.edge_lane_start[edge])
                out.extend(range(start, start + int(arrays.edge_lanes[edge])))
        junctions.append(
            _Junction(
                phases=len(inter.program.phases),
                movements=len(movements),
                lanes=lanes.astype(np.int64),
                first=first.astype(np.int64),
                length_m=arrays.lane_length_m[lanes],
                out_lanes=np.array(sorted(set(out)), dtype=np.int64),
                scale=None if footprint is None else footprint / arrays.lane_length_m[lanes],
            )
        )
    ids = [inter.id for inter in city.signalised]
    agents = tuple(AGENT_PREFIX + i for i in ids)
    mean_length = float(lengths.mean()) if len(lengths) else 0.0
    empty = np.zeros(0, dtype=np.int64)
    return _Layout(
        agents=agents,
        index={a: k for k, a in enumerate(agents)},
        by_id={i: k for k, i in enumerate(ids)},
        junctions=tuple(junctions),
        owner=owner,
        incoming=np.concatenate([j.lanes for j in junctions]) if junctions else empty,
        outgoing=np.concatenate([j.out_lanes for j in junctions]) if junctions else empty,
        outgoing_owner=np.repeat(np.arange(len(junctions)), [len(j.out_lanes) for j in junctions]),
        footprint_m=footprint,
        mean_length_m=mean_length,
        lanes=_all_lanes(junctions, footprint),
    )


def _unknown(layout: _Layout, agent: str) -> KeyError:
    shown = ", ".join(layout.agents[:5]) + (", ..." if len(layout.agents) > 5 else "")
    return KeyError(f"traffic.signals has no agent {agent!r} in this city; its agents: {shown}")


def _agent_index(layout: _Layout, agent: str) -> int:
    k = layout.index.get(agent)
    if k is None:
        raise _unknown(layout, agent)
    return k


def _index_of(layout: _Layout, observation: SignalObservation) -> int:
    k = layout.by_id.get(observation.intersection_id)
    if k is None:
        raise _unknown(layout, AGENT_PREFIX + str(observation.intersection_id))
    return k


def _junction_of(layout: _Layout, observation: SignalObservation) -> _Junction:
    return layout.junctions[_index_of(layout, observation)]


# -- the interface ------------------------------------------------------------------------


def signal_agents(city: City) -> tuple[str, ...]:
    """Every signalised intersection, ``intersection:<id>``, in the city's order."""
    return _layout(city).agents


def signals_never_asked(city: City) -> str | None:
    """Why no signal controller of ``city`` will ever be asked, or ``None``
    (:func:`twin.traffic.signals.never_asked`)."""
    return never_asked(city.signalised)


def signal_observation_space(city: City, agent: str) -> spaces.Box:
    """``Box(0, 1, (P + 1 + 2L,))`` of the agent's intersection (module docstring)."""
    layout = _layout(city)
    size = layout.junctions[_agent_index(layout, agent)].size
    return spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)


def signal_action_space(city: City, agent: str) -> spaces.Discrete:
    """``Discrete(P)``: one index per green phase of the agent's intersection."""
    layout = _layout(city)
    return spaces.Discrete(layout.junctions[_agent_index(layout, agent)].phases)


def _per_lane(values: FloatArray, junction: _Junction) -> FloatArray:
    """A per-movement lane reading as one value per incoming lane (its first movement's).

    An observation with fewer movements than the intersection (hand-made or generated,
    never the city's own) reads 0 on the lanes it does not cover; extra movements are
    ignored.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == junction.movements:
        return values[junction.first]
    picked = np.zeros(len(junction.lanes))
    covered = junction.first < n
    picked[covered] = values[junction.first[covered]]
    return picked


def _lane_footprint_m(city: City, layout: _Layout) -> FloatArray:
    """``MIN_GAP_M`` + the mean length of the vehicles on each lane now (a mixed
    fleet; the trips' mean length on a lane with none)."""
    veh = city.veh
    on = np.flatnonzero(veh.state == DRIVING)
    lane = veh.lane[on]
    mine = layout.owner[lane] >= 0
    n = len(layout.owner)
    total = np.bincount(lane[mine], weights=city.vt.length[veh.vtype[on[mine]]], minlength=n)
    count = np.bincount(lane[mine], minlength=n)
    mean = np.where(count > 0, total / np.maximum(count, 1), layout.mean_length_m)
    return MIN_GAP_M + mean


def encode_signal(city: City, observation: SignalObservation) -> npt.NDArray[np.float32]:
    """The observation as sumo-rl's default vector (module docstring), in ``[0, 1]``.

    Raises ``KeyError`` naming the city's agents for an intersection the city does not
    have.
    """
    layout = _layout(city)
    junction = _junction_of(layout, observation)
    phases, n_lanes = junction.phases, len(junction.lanes)
    vector = np.zeros(junction.size, dtype=np.float32)
    phase = observation.phase
    if 0 <= phase < phases:
        vector[phase] = 1.0
    if observation.phase_elapsed_s + _EPS_S >= observation.min_green_s:
        vector[phases] = 1.0
    scale = junction.scale
    if scale is None:
        scale = _lane_footprint_m(city, layout)[junction.lanes] / junction.length_m
    start = phases + 1
    # fmax/fmin drop NaN: a NaN count reads 0, an infinite one a full lane.
    vehicles = _per_lane(observation.vehicles, junction) * scale
    vector[start : start + n_lanes] = np.fmin(np.fmax(vehicles, 0.0), 1.0)
    queue = _per_lane(observation.queue, junction) * scale
    vector[start + n_lanes :] = np.fmin(np.fmax(queue, 0.0), 1.0)
    return vector


def encode_signals(
    city: City, observations: Sequence[SignalObservation]
) -> list[npt.NDArray[np.float32]]:
    """:func:`encode_signal` of each observation, in one pass: the intersections deciding
    at one instant (views of one new array, one per observation). A
    :class:`~twin.traffic.observation.SignalTurn` is read as its arrays; observations
    with other movement counts than their intersection's (hand-made) are encoded one by
    one."""
    if not observations:
        return []
    layout = _layout(city)
    every = layout.lanes
    if isinstance(observations, SignalTurn):
        deciding = observations.intersections
        phase = observations.phase
        served = observations.phase_elapsed_s + _EPS_S >= observations.min_green_s
        vehicles, queue = observations.vehicles, observations.queue
        starts = observations.bounds[:, 0]
    else:
        deciding = np.array([_index_of(layout, o) for o in observations], dtype=np.int64)
        vehicles_in = [o.vehicles for o in observations]
        queue_in = [o.queue for o in observations]
        movements = every.movements[deciding].tolist()
        if [len(v) for v in vehicles_in] != movements or [len(q) for q in queue_in] != movements:
            return [encode_signal(city, o) for o in observations]
        phase = np.array([o.phase for o in observations], dtype=np.int64)
        served = np.array([o.phase_elapsed_s + _EPS_S >= o.min_green_s for o in observations])
        vehicles = np.concatenate(vehicles_in).astype(np.float64, copy=False)
        queue = np.concatenate(queue_in).astype(np.float64, copy=False)
        starts = np.cumsum([0, *movements[:-1]], dtype=np.int64)
    if every.scale is None:
        lanes = layout.incoming
        scale = _lane_footprint_m(city, layout)[lanes] / city.arrays.lane_length_m[lanes]
    else:
        scale = every.scale
    out = np.zeros(int(every.size[deciding].sum()), dtype=np.float32)
    bounds = np.empty(len(deciding) + 1, dtype=np.int64)
    encode_into(
        out,
        bounds,
        deciding,
        phase,
        served,
        vehicles,
        queue,
        starts,
        every.start,
        every.first,
        scale,
        every.phases,
        every.size,
    )
    return [out[a:b] for a, b in pairwise(bounds.tolist())]


@numba.njit(cache=True)
def encode_into(
    out: npt.NDArray[np.float32],
    bounds: IntArray,
    deciding: IntArray,
    phase: IntArray,
    served: npt.NDArray[np.bool_],
    vehicles: FloatArray,
    queue: FloatArray,
    starts: IntArray,
    lane_start: IntArray,
    first: IntArray,
    scale: FloatArray,
    phases: IntArray,
    size: IntArray,
) -> None:
    """:func:`encode_signal`'s vector of each deciding intersection ``j = deciding[n]``
    into ``out[bounds[n]:bounds[n + 1]]`` (zeroed), one after another (``bounds`` is
    written: ``size[j]`` is ``j``'s vector's length): its shown ``phase[n]`` one-hot,
    ``served[n]`` (min green done), and each incoming lane's density and queue, its first
    movement's reading in ``vehicles`` and ``queue`` (``j``'s movements from
    ``starts[n]``) times the lane's ``scale``, in ``[0, 1]`` (NaN reads 0, as numpy's
    fmax/fmin have it). Lanes ``lane_start[j]:lane_start[j + 1]`` are ``j``'s, with
    ``first`` counted within its movements."""
    bounds[0] = 0
    for n in range(deciding.shape[0]):
        j = deciding[n]
        at = bounds[n]
        bounds[n + 1] = at + size[j]
        p = phases[j]
        if 0 <= phase[n] < p:
            out[at + phase[n]] = 1.0
        if served[n]:
            out[at + p] = 1.0
        n_lanes = lane_start[j + 1] - lane_start[j]
        for slot in range(n_lanes):
            lane = lane_start[j] + slot
            m = starts[n] + first[lane]
            density = vehicles[m] * scale[lane]
            if not density >= 0.0:
                density = 0.0
            if density > 1.0:
                density = 1.0
            out[at + p + 1 + slot] = density
            halted = queue[m] * scale[lane]
            if not halted >= 0.0:
                halted = 0.0
            if halted > 1.0:
                halted = 1.0
            out[at + p + 1 + n_lanes + slot] = halted


def decode_signal(city: City, observation: SignalObservation, index: int) -> SignalAction:
    """Index ``k``: ``SignalAction(k, DECISION_STEP_S)``, green phase ``k`` for the next
    5 s. For an observation with fewer phases than its intersection (hand-made, never the
    city's own) an index past them holds the current phase."""
    k = int(index)
    if not 0 <= k < len(observation.green_s):
        k = int(observation.phase)
    return SignalAction(k, DECISION_STEP_S)


def decode_signals(
    city: City, observations: Sequence[SignalObservation], indices: Sequence[int]
) -> Sequence[SignalAction]:
    """:func:`decode_signal` of each observation and index; a
    :class:`~twin.traffic.observation.SignalTurn`'s as one
    :class:`~twin.traffic.observation.SignalActions` (the bank applies it at once)."""
    if not isinstance(observations, SignalTurn):
        return [decode_signal(city, o, k) for o, k in zip(observations, indices, strict=True)]
    chosen = np.asarray(indices, dtype=np.int64)
    phases = _layout(city).lanes.phases[observations.intersections]
    outside = (chosen < 0) | (chosen >= phases)
    phase = np.where(outside, observations.phase, chosen)
    return SignalActions(phase, np.full(len(phase), DECISION_STEP_S))


# -- rewards ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Incoming:
    """The vehicles on the incoming lanes after one kernel call (``kernel_calls``): every
    agent deciding at one instant reads the same, so it is gathered once for all.

    Attributes:
        vehicles, owner: the vehicles driving on an incoming lane, in index order, and
            the intersection each lane leads to.
    """

    kernel_calls: int
    vehicles: IntArray
    owner: IntArray


_INCOMING: weakref.WeakKeyDictionary[City, _Incoming] = weakref.WeakKeyDictionary()


def _incoming_vehicles(city: City, layout: _Layout) -> _Incoming:
    """Vehicles driving on an incoming lane of a signalised intersection, and which
    (computed once per kernel call: nothing else moves a vehicle)."""
    cached = _INCOMING.get(city)
    if cached is not None and cached.kernel_calls == city.kernel_calls:
        return cached
    veh = city.veh
    on = np.flatnonzero(veh.state == DRIVING)
    owner = layout.owner[veh.lane[on]]
    mine = owner >= 0
    incoming = _Incoming(city.kernel_calls, on[mine], owner[mine])
    _INCOMING[city] = incoming
    return incoming


def _indices(layout: _Layout, agents: Sequence[str]) -> IntArray:
    return np.array([_agent_index(layout, agent) for agent in agents], dtype=np.int64)


def _waiting_by_junction(city: City, layout: _Layout) -> FloatArray:
    veh = city.veh
    out = np.zeros(len(layout.junctions))
    sum_by_owner(veh.state, veh.lane, veh.waiting_s, layout.owner, out)
    return out


@numba.njit(cache=True)
def sum_by_owner(
    state: npt.NDArray[np.int8],
    lane: IntArray,
    value: FloatArray,
    owner: IntArray,
    out: FloatArray,
) -> None:
    """Add each driving vehicle's ``value`` to ``out`` at the owner of its lane (none:
    -1), vehicle after vehicle in index order (as ``np.bincount`` adds them)."""
    for v in range(state.shape[0]):
        if state[v] == DRIVING:
            k = owner[lane[v]]
            if k >= 0:
                out[k] += value[v]


def waiting_time(world: World, city: City, agent: str | None) -> float:
    """Seconds waited (<= 0.1 m/s) so far by the vehicles now on the incoming lanes."""
    layout = _layout(city)
    if agent is None:
        incoming = _incoming_vehicles(city, layout)
        return float(city.veh.waiting_s[incoming.vehicles].sum())
    return float(_waiting_by_junction(city, layout)[_agent_index(layout, agent)])


def waiting_time_each(world: World, city: City, agents: Sequence[str]) -> FloatArray:
    """:func:`waiting_time` of each of ``agents``."""
    layout = _layout(city)
    return _waiting_by_junction(city, layout)[_indices(layout, agents)]


def _halting_by_junction(city: City, layout: _Layout) -> FloatArray:
    halting = city.lanes.halting[layout.incoming]
    return np.bincount(layout.lanes.junction, weights=halting, minlength=len(layout.junctions))


def halting_vehicles(world: World, city: City, agent: str | None) -> float:
    """Minus the vehicles halting (<= 0.1 m/s) on the incoming lanes."""
    layout = _layout(city)
    if agent is None:
        return 0.0 - float(city.lanes.halting[layout.incoming].sum())  # 0.0, not -0.0
    return 0.0 - float(_halting_by_junction(city, layout)[_agent_index(layout, agent)])


def halting_vehicles_each(world: World, city: City, agents: Sequence[str]) -> FloatArray:
    """:func:`halting_vehicles` of each of ``agents``."""
    layout = _layout(city)
    return 0.0 - _halting_by_junction(city, layout)[_indices(layout, agents)]


def _pressure_by_junction(city: City, layout: _Layout) -> FloatArray:
    count = city.lanes.count
    n = len(layout.junctions)
    out = np.bincount(layout.outgoing_owner, weights=count[layout.outgoing], minlength=n)
    into = np.bincount(layout.lanes.junction, weights=count[layout.incoming], minlength=n)
    return out - into


def pressure(world: World, city: City, agent: str | None) -> float:
    """Vehicles on the outgoing lanes minus vehicles on the incoming lanes."""
    layout = _layout(city)
    if agent is None:
        count = city.lanes.count
        return float(count[layout.outgoing].sum() - count[layout.incoming].sum())
    return float(_pressure_by_junction(city, layout)[_agent_index(layout, agent)])


def pressure_each(world: World, city: City, agents: Sequence[str]) -> FloatArray:
    """:func:`pressure` of each of ``agents``."""
    layout = _layout(city)
    return _pressure_by_junction(city, layout)[_indices(layout, agents)]


def _speed_ratio_by_junction(city: City, layout: _Layout) -> FloatArray:
    incoming = _incoming_vehicles(city, layout)
    vehicles, owner = incoming.vehicles, incoming.owner
    veh, vt = city.veh, city.vt
    allowed = np.minimum(
        city.arrays.lane_speed_mps[veh.lane[vehicles]] * veh.speed_factor[vehicles],
        vt.vmax[veh.vtype[vehicles]],
    )
    # allowed > 0: speed limits, speed factors (>= 0.2) and maximum speeds are positive.
    ratio = veh.speed[vehicles] / allowed
    n = len(layout.junctions)
    total = np.bincount(owner, weights=ratio, minlength=n)
    count = np.bincount(owner, minlength=n)
    return np.where(count > 0, total / np.maximum(count, 1), 1.0)


def average_speed(world: World, city: City, agent: str | None) -> float:
    """Mean of speed / allowed speed over the vehicles on the incoming lanes (1 if none);
    summed over intersections for the whole city."""
    layout = _layout(city)
    mean = _speed_ratio_by_junction(city, layout)
    if agent is None:
        return float(mean.sum())
    return float(mean[_agent_index(layout, agent)])


def average_speed_each(world: World, city: City, agents: Sequence[str]) -> FloatArray:
    """:func:`average_speed` of each of ``agents``."""
    layout = _layout(city)
    return _speed_ratio_by_junction(city, layout)[_indices(layout, agents)]


DIFF_WAITING_TIME = Reward(
    name="diff-waiting-time",
    description=(
        "sumo-rl's default: the drop, since the agent's previous turn, of the waiting time "
        "(s at <= 0.1 m/s) of the vehicles on the incoming lanes, /100. twin sums each "
        "vehicle's whole-trip waiting time (tripinfo waitingTime, never forgotten); sumo-rl "
        "reads SUMO's getAccumulatedWaitingTime (waiting within the last 100 s, "
        "--waiting-time-memory) and credits each lane only what was not already credited to "
        "the vehicle's earlier lanes, so in twin a vehicle arriving with waiting from an "
        "upstream junction lowers this junction's reward by it, and raises it again as it "
        "leaves"
    ),
    measure=waiting_time,
    measure_each=waiting_time_each,
    kind="drop",
    scale=WAITING_SCALE,
)
QUEUE = Reward(
    name="queue",
    description=(
        "sumo-rl's 'queue': minus the vehicles halting (<= 0.1 m/s) on the incoming lanes "
        "(get_total_queued), at the turn"
    ),
    measure=halting_vehicles,
    measure_each=halting_vehicles_each,
    kind="level",
)
PRESSURE = Reward(
    name="pressure",
    description=(
        "sumo-rl's 'pressure' (get_pressure): vehicles on the outgoing lanes minus vehicles "
        "on the incoming lanes, at the turn; an outgoing lane is each movement's target "
        "lane, or every lane of its target edge where twin lets the vehicle choose"
    ),
    measure=pressure,
    measure_each=pressure_each,
    kind="level",
)
AVERAGE_SPEED = Reward(
    name="average-speed",
    description=(
        "sumo-rl's 'average-speed' (get_average_speed): mean over the vehicles on the "
        "incoming lanes of speed / allowed speed (min(lane limit x speed factor, vehicle's "
        "maximum), SUMO's getAllowedSpeed), 1 with no vehicle, at the turn; whole city: "
        "the sum over intersections"
    ),
    measure=average_speed,
    measure_each=average_speed_each,
    kind="level",
)

REWARDS = {r.name: r for r in (DIFF_WAITING_TIME, QUEUE, PRESSURE, AVERAGE_SPEED)}
"""sumo-rl's four reward functions (``TrafficSignal.reward_fns``), by its names. No
``"cost"``: the traffic scenarios book fuel litres and CO2e in the ledger but set no
fuel price, so its money stays 0 (checked on grid4x4), and sumo-rl pays for none."""


def signal_learning() -> LearningInterface[City]:
    """``traffic.signals`` for Gymnasium and PettingZoo: sumo-rl's definitions (module
    docstring)."""
    return LearningInterface(
        agents=signal_agents,
        observation_space=signal_observation_space,
        encode=encode_signal,
        encode_each=encode_signals,
        action_space=signal_action_space,
        decode=decode_signal,
        decode_each=decode_signals,
        rewards=REWARDS,
        default_reward=DIFF_WAITING_TIME.name,
        episode_s=EPISODE_S,
        never_asked=signals_never_asked,
        description=(
            "sumo-rl's default observation (green phase one-hot, min-green flag, density "
            "and queue of each incoming lane, all in [0, 1]); index k: green phase k for "
            f"the next {DECISION_STEP_S:g} s"
        ),
    )
