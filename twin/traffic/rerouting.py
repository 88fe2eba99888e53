"""SUMO's routing of trips: a trip given by origin and destination is routed when it
departs, on the traffic of the moment.

SUMO gives every vehicle defined by its origin and destination (``<trip>``, ``<flow
from= to=>``) a rerouting device (``MSDevice_Routing::buildVehicleDevices``: the vehicle
has ``VEHPARS_FORCE_REROUTE``). The device routes it at its departure time, before the
insertion tries of that step, and again every ``device.rerouting.pre-period`` while it
waits to be inserted (:data:`PRE_PERIOD_S`). The router (``MSRoutingEngine::getEffort``)
charges every edge, internal lanes included,

    max(length / mean speed, length / min(limit x speed factor, top speed) + time penalty)

where the mean speed is the moving average over the last ``device.rerouting.adaptation-
steps`` samples (:data:`ADAPTATION_STEPS`), one at the end of a step every
``adaptation-interval`` seconds (:data:`ADAPTATION_INTERVAL_S`), of the edge's mean
speed (``MSEdge::getMeanSpeed``: each lane weighs by its vehicles, an empty lane as one
vehicle at the lane's limit), and the
time penalty is ``--weights.minor-penalty`` on an internal lane entered by a minor link
(:func:`twin.traffic.demand.routing_penalties_s`). Sampling starts once a vehicle has
departed. Between two edges the router takes the internal lane of their first
connection (``MSEdge::closeBuilding``: one via per successor edge, lanes from the right).

Both run inside the kernel's tick loop: :func:`sample_edge_speeds` at the end of a step,
:func:`route_trip` (one Dijkstra per trip, stopping at the destination: the vehicle's
own speed factor and top speed enter its efforts) before the step's insertions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.demand import MINOR_PENALTY_S, TURNAROUND_PENALTY_S, routing_penalties_s
from twin.traffic.network import Network

if TYPE_CHECKING:  # the kernels import this module (Numba needs no annotations)
    from twin.traffic.kernels import Lanes, NetArrays, Vehicles

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ADAPTATION_STEPS = 180
"""``device.rerouting.adaptation-steps``: samples in the moving average of edge speeds."""
ADAPTATION_INTERVAL_S = 1
"""``device.rerouting.adaptation-interval``: seconds between two samples."""
PRE_PERIOD_S = 60.0
"""``device.rerouting.pre-period``: a trip waiting to be inserted is routed again this
often."""
NUMERICAL_EPS_MPS = 0.001
"""SUMO's ``NUMERICAL_EPS``: the least mean speed an effort divides by."""


class EdgeSpeeds(NamedTuple):
    """The router's mean speeds: one unit per edge, then one per movement (internal lane).

    ``mean_mps``: the moving average; ``past_mps[i, u]``: the samples it averages (one row
    per sample slot, so a sample writes a row); ``closed_sum_mps``/``closed_count``: the
    limits and number of the unit's lanes closed to twin's vehicles (each an empty lane in
    every sample); ``lane_unit``: each lane's unit; ``unit_lanes[unit_lane_start[u]:
    unit_lane_start[u + 1]]``: unit ``u``'s lanes, ascending; ``empty_mean_mps``: each
    unit's mean speed with no vehicle on it; ``work_sum``, ``dirty``, ``dirty_units``:
    scratch; ``state``: the next sample's slot, 1 once a vehicle has departed (SUMO
    samples from then on), the seconds between samples, and the whole seconds left before
    the next."""

    mean_mps: FloatArray
    past_mps: FloatArray
    closed_sum_mps: FloatArray
    closed_count: FloatArray
    lane_unit: IntArray
    unit_lane_start: IntArray
    unit_lanes: IntArray
    empty_mean_mps: FloatArray
    work_sum: FloatArray
    dirty: IntArray
    dirty_units: IntArray
    state: IntArray


def edge_speeds(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    network: Network,
    steps: int = ADAPTATION_STEPS,
    interval_s: int = ADAPTATION_INTERVAL_S,
) -> EdgeSpeeds:
    """Fresh speeds for ``network`` (every unit at its mean speed now, on the empty
    network of a run's start: as SUMO starts), sampled every ``interval_s`` whole
    seconds; ``steps`` 0 builds an empty tracker that samples nothing."""
    n_edges = len(network.edges)
    units = n_edges + len(network.movements) if steps > 0 else 0
    lane_unit = np.full(len(net.lane_length), -1, dtype=np.int64)
    closed_sum = np.zeros(units)
    closed_count = np.zeros(units)
    if steps > 0:
        edge_lane = net.lane_edge >= 0
        lane_unit[edge_lane] = net.lane_edge[edge_lane]
        inner = net.lane_movement >= 0
        lane_unit[inner] = n_edges + net.lane_movement[inner]
        for k, edge in enumerate(network.edges):
            closed_sum[k] = sum(edge.closed_lane_speeds_mps)
            closed_count[k] = len(edge.closed_lane_speeds_mps)
    with_unit = np.flatnonzero(lane_unit >= 0)
    unit_lanes = with_unit[np.argsort(lane_unit[with_unit], kind="stable")]
    speeds = EdgeSpeeds(
        mean_mps=np.zeros(units),
        past_mps=np.zeros((max(steps, 0), units)),
        closed_sum_mps=closed_sum,
        closed_count=closed_count,
        lane_unit=lane_unit,
        unit_lane_start=np.searchsorted(lane_unit[unit_lanes], np.arange(units + 1)).astype(
            np.int64
        ),
        unit_lanes=unit_lanes.astype(np.int64),
        empty_mean_mps=np.zeros(units),
        work_sum=np.zeros(units),
        dirty=np.zeros(units, dtype=np.int64),
        dirty_units=np.zeros(units, dtype=np.int64),
        state=np.array([0, 0, interval_s, 0], dtype=np.int64),
    )
    if units:
        _empty_means(net, lanes, veh, speeds)
        _current_means(net, lanes, veh, speeds)
        speeds.mean_mps[:] = speeds.work_sum
        speeds.past_mps[:] = speeds.work_sum[None, :]
    return speeds


@numba.njit(cache=True, _nrt=False)
def _unit_mean(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    speeds: EdgeSpeeds,
    u: int,
    with_vehicles: bool = True,
) -> float:
    """Unit ``u``'s mean speed now (``MSEdge::getMeanSpeed``: each lane weighs by its
    vehicles, an empty or closed lane as one at its limit), summed lane by lane in
    ascending order; without vehicles, its mean on an empty network."""
    total = speeds.closed_sum_mps[u]
    count = speeds.closed_count[u]
    for k in range(speeds.unit_lane_start[u], speeds.unit_lane_start[u + 1]):
        lane = speeds.unit_lanes[k]
        v = lanes.head[lane] if with_vehicles else -1
        if v < 0:
            total += net.lane_speed[lane]
            count += 1.0
            continue
        while v >= 0:
            total += veh.speed[v]
            count += 1.0
            v = veh.behind[v]
    return total / count


@numba.njit(cache=True, _nrt=False)
def _empty_means(net: NetArrays, lanes: Lanes, veh: Vehicles, speeds: EdgeSpeeds) -> None:
    """Every unit's mean speed with no vehicle on it, into ``speeds.empty_mean_mps``."""
    for u in range(len(speeds.empty_mean_mps)):
        speeds.empty_mean_mps[u] = _unit_mean(net, lanes, veh, speeds, u, False)


@numba.njit(cache=True, _nrt=False)
def _current_means(net: NetArrays, lanes: Lanes, veh: Vehicles, speeds: EdgeSpeeds) -> None:
    """Every unit's mean speed now into ``speeds.work_sum``: a unit none of whose lanes
    holds a vehicle has its empty mean; the others are summed (:func:`_unit_mean`). Only
    the lanes whose occupied bit is set are looked at (most of a city is empty most of
    the time), and each unit's sum is what a walk over every lane would add up."""
    work_sum = speeds.work_sum
    for u in range(len(work_sum)):
        work_sum[u] = speeds.empty_mean_mps[u]
    n_dirty = 0
    occ = lanes.occupied
    for w in range(len(occ)):
        word = occ[w]
        while word != 0:
            low = word & -word
            word ^= low
            u = speeds.lane_unit[(w << _WORD_SHIFT) + _bit_of(low)]
            if u >= 0 and speeds.dirty[u] == 0:
                speeds.dirty[u] = 1
                speeds.dirty_units[n_dirty] = u
                n_dirty += 1
    for j in range(n_dirty):
        u = speeds.dirty_units[j]
        speeds.dirty[u] = 0
        work_sum[u] = _unit_mean(net, lanes, veh, speeds, u)


@numba.njit(cache=True, _nrt=False)
def sample_edge_speeds(
    net: NetArrays, lanes: Lanes, veh: Vehicles, speeds: EdgeSpeeds, departed: bool
) -> None:
    """Called at the end of every step that ends on a whole second: one sample into the
    moving averages (``MSRoutingEngine::adaptEdgeEfforts``) every ``state[2]`` such
    calls, the first once a vehicle has departed."""
    units = len(speeds.mean_mps)
    if units == 0:
        return
    if speeds.state[1] == 0:
        if not departed:
            return
        speeds.state[1] = 1
    if speeds.state[3] > 0:  # not yet a whole interval since the last sample
        speeds.state[3] -= 1
        return
    speeds.state[3] = speeds.state[2] - 1
    _current_means(net, lanes, veh, speeds)
    steps = speeds.past_mps.shape[0]
    i = speeds.state[0]
    past = speeds.past_mps[i]
    for u in range(units):
        current = speeds.work_sum[u]
        if current == past[u]:
            continue  # adding (0.0) / steps would change no bit of the (positive) mean
        speeds.mean_mps[u] += (current - past[u]) / steps
        past[u] = current
    speeds.state[0] = (i + 1) % steps


class TripRouting(NamedTuple):
    """What the kernel routes departing trips with (:func:`route_trip`).

    ``stops_start``/``stops``: per trip, the edges SUMO routes it through (origin, vias,
    destination; none: its route is given); ``reroute_s``: when a trip waiting to be
    inserted is routed again (``inf``: not routed yet, or never). The router's graph:
    the arcs leaving edge ``a`` are ``arc_start[a]:arc_start[a + 1]``, to edge
    ``arc_to``, through the internal lane of unit ``arc_via`` (its length, limit and
    routing penalty ``via_*``; ``to_*``: the target edge's). ``dist``, ``pred``,
    ``done``, ``heap_*`` and ``path``: scratch. ``state``: the route buffer's fill, the
    routings done, and 1 while a route found no room in the buffer. ``pre_period_s[0]``:
    how often a waiting trip is routed again."""

    stops_start: IntArray
    stops: IntArray
    reroute_s: FloatArray
    arc_start: IntArray
    arc_to: IntArray
    arc_via: IntArray
    via_length: FloatArray
    via_limit: FloatArray
    via_penalty: FloatArray
    to_length: FloatArray
    to_limit: FloatArray
    dist: FloatArray
    pred: IntArray
    done: npt.NDArray[np.int8]
    heap_key: FloatArray
    heap_node: IntArray
    path: IntArray
    state: IntArray
    pre_period_s: FloatArray


def trip_routing(
    network: Network,
    stops: tuple[tuple[int, ...], ...] | None,
    n_trips: int,
    route_fill: int,
    minor_penalty_s: float = MINOR_PENALTY_S,
    turnaround_penalty_s: float = TURNAROUND_PENALTY_S,
    pre_period_s: float = PRE_PERIOD_S,
) -> TripRouting:
    """The kernel's router for ``network`` and the trips' ``stops`` (``None``: no trip is
    routed); ``route_fill``: where new routes go in the vehicles' route buffer."""
    n = len(network.edges)
    per_trip = [()] * n_trips if stops is None else [tuple(s) for s in stops]
    start = np.zeros(n_trips + 1, dtype=np.int64)
    np.cumsum([len(s) for s in per_trip], out=start[1:])
    flat = np.array([e for s in per_trip for e in s], dtype=np.int64)
    movements = network.movements if len(flat) else []  # nothing routed: no graph
    first: dict[tuple[int, int], int] = {}
    for k, m in enumerate(movements):
        held = first.get((m.from_edge, m.to_edge))
        if held is None or m.from_lane < movements[held].from_lane:
            first[(m.from_edge, m.to_edge)] = k
    pairs = sorted(first)  # by edge left, then edge entered: CSR order
    via = np.array([first[p] for p in pairs], dtype=np.int64)
    to = np.array([b for _, b in pairs], dtype=np.int64)
    arc_start = np.zeros(n + 1, dtype=np.int64)
    leaving = np.array([a for a, _ in pairs], dtype=np.int64)
    np.cumsum(np.bincount(leaving, minlength=n), out=arc_start[1:])
    penalties = (
        routing_penalties_s(network, minor_penalty_s, turnaround_penalty_s)[via]
        if len(via)
        else np.zeros(0)
    )
    legs = max((len(s) - 1 for s in per_trip), default=0)
    return TripRouting(
        stops_start=start,
        stops=flat,
        reroute_s=np.full(n_trips, np.inf),
        arc_start=arc_start,
        arc_to=to,
        arc_via=n + via,
        via_length=np.array([movements[m].length_m for m in via], dtype=np.float64),
        via_limit=np.array([movements[m].speed_mps for m in via], dtype=np.float64),
        via_penalty=penalties,
        to_length=np.array([network.edges[e].length_m for e in to], dtype=np.float64),
        to_limit=np.array([network.edges[e].speed_mps for e in to], dtype=np.float64),
        dist=np.zeros(n),
        pred=np.zeros(n, dtype=np.int64),
        done=np.zeros(n, dtype=np.int8),
        heap_key=np.zeros(len(pairs) + 1),
        heap_node=np.zeros(len(pairs) + 1, dtype=np.int64),
        path=np.zeros(max(legs, 1) * max(n, 1), dtype=np.int64),
        state=np.array([route_fill, 0, 0], dtype=np.int64),
        pre_period_s=np.array([pre_period_s]),
    )


@numba.njit(cache=True, _nrt=False)
def _push(key: FloatArray, node: IntArray, size: int, k: float, v: int) -> int:
    i = size
    key[i] = k
    node[i] = v
    while i > 0:
        parent = (i - 1) // 2
        if key[parent] <= key[i]:
            break
        key[parent], key[i] = key[i], key[parent]
        node[parent], node[i] = node[i], node[parent]
        i = parent
    return size + 1


@numba.njit(cache=True, _nrt=False)
def _pop(key: FloatArray, node: IntArray, size: int) -> int:
    """Removes the heap's least key (read ``key[0]``/``node[0]`` first); the new size."""
    size -= 1
    key[0] = key[size]
    node[0] = node[size]
    i = 0
    while True:
        least = i
        for child in (2 * i + 1, 2 * i + 2):
            if child < size and key[child] < key[least]:
                least = child
        if least == i:
            return size
        key[least], key[i] = key[i], key[least]
        node[least], node[i] = node[i], node[least]
        i = least


@numba.njit(cache=True, _nrt=False)
def _effort(length: float, mean_mps: float, free_s: float) -> float:
    """``MSRoutingEngine::getEffort``: the measured time, at least the free time."""
    return max(length / max(mean_mps, NUMERICAL_EPS_MPS), free_s)


@numba.njit(cache=True, _nrt=False)
def _leg(
    routing: TripRouting,
    mean: FloatArray,
    origin: int,
    destination: int,
    factor: float,
    top_speed: float,
    out: int,
) -> int:
    """Dijkstra from edge ``origin`` to ``destination`` on the efforts of the moment; the
    route written into ``routing.path`` from ``out`` on (origin first); its length, 0 if
    there is none."""
    dist, pred, done = routing.dist, routing.pred, routing.done
    for e in range(len(dist)):
        dist[e] = np.inf
        pred[e] = -1
        done[e] = 0
    dist[origin] = 0.0
    size = _push(routing.heap_key, routing.heap_node, 0, 0.0, origin)
    while size > 0:
        d = routing.heap_key[0]
        u = routing.heap_node[0]
        size = _pop(routing.heap_key, routing.heap_node, size)
        if done[u]:
            continue
        done[u] = 1
        if u == destination:
            break
        for s in range(routing.arc_start[u], routing.arc_start[u + 1]):
            b = routing.arc_to[s]
            if done[b]:
                continue
            via_free = (
                routing.via_length[s] / min(routing.via_limit[s] * factor, top_speed)
                + routing.via_penalty[s]
            )
            to_free = routing.to_length[s] / min(routing.to_limit[s] * factor, top_speed)
            w = _effort(routing.via_length[s], mean[routing.arc_via[s]], via_free) + _effort(
                routing.to_length[s], mean[b], to_free
            )
            if d + w < dist[b]:
                dist[b] = d + w
                pred[b] = u
                size = _push(routing.heap_key, routing.heap_node, size, d + w, b)
    if not done[destination]:
        return 0
    length = 1
    e = destination
    while e != origin:
        e = pred[e]
        length += 1
    e = destination
    for i in range(length - 1, -1, -1):
        routing.path[out + i] = e
        e = pred[e]
    return length


@numba.njit(cache=True, _nrt=False)
def route_trip(
    routing: TripRouting, speeds: EdgeSpeeds, veh: Vehicles, top_speed: float, v: int
) -> bool:
    """Route trip ``v`` through its stops now, into the vehicles' route buffer (its own
    slice if the route fits there, else the buffer's end); False if the buffer has no
    room (nothing is changed, ``routing.state[2]`` is set)."""
    first = routing.stops_start[v]
    last = routing.stops_start[v + 1]
    factor = veh.speed_factor[v]
    length = 1
    routing.path[0] = routing.stops[first]
    for k in range(first, last - 1):
        n = _leg(
            routing,
            speeds.mean_mps,
            routing.stops[k],
            routing.stops[k + 1],
            factor,
            top_speed,
            length - 1,
        )
        if n == 0:
            return True  # no way on the efforts of the moment: it keeps its route
        length += n - 1
    start = veh.route_start[v]
    if length > veh.route_end[v] - start:
        start = routing.state[0]
        if start + length > len(veh.route_edges):
            routing.state[2] = 1
            return False
        routing.state[0] = start + length
        veh.route_start[v] = start
    for i in range(length):
        veh.route_edges[start + i] = routing.path[i]
    veh.route_end[v] = start + length
    for slot in range(veh.reach_lane.shape[1]):
        veh.reach_lane[v, slot] = -1  # the remembered reaches were along the old route
    routing.state[1] += 1
    return True


@numba.njit(cache=True, _nrt=False)
def route_due(
    routing: TripRouting,
    speeds: EdgeSpeeds,
    veh: Vehicles,
    top_speed: FloatArray,
    pending: IntArray,
    waiting: int,
    released: int,
    due: int,
    now: float,
) -> bool:
    """SUMO's rerouting devices before a step's insertions: the trips departing now
    (``released:due``), then the waiting ones a pre-period after their last routing
    (``pending[:waiting]``). False if the route buffer is full: the step waits for room.

    Args:
        top_speed: each trip's vehicle type's top speed.
    """
    stops = routing.stops_start
    for t in range(released, due):
        if stops[t + 1] > stops[t] and routing.reroute_s[t] == np.inf:
            if not route_trip(routing, speeds, veh, top_speed[veh.vtype[t]], t):
                return False
            routing.reroute_s[t] = now + routing.pre_period_s[0]
    for i in range(waiting):
        t = pending[i]
        if routing.reroute_s[t] <= now + 1e-9:
            if not route_trip(routing, speeds, veh, top_speed[veh.vtype[t]], t):
                return False
            routing.reroute_s[t] += routing.pre_period_s[0]
    return True


# The kernels import this module at their end; their occupied-lane bits are read here.
from twin.traffic.kernels import _WORD_SHIFT, _bit_of  # noqa: E402
