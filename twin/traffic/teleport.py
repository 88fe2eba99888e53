"""SUMO's teleporting of jammed vehicles (``--time-to-teleport``, 300 s by default).

A vehicle at the front of its lane that has stood longer than ``time-to-teleport``
leaves the network (src/microsim/MSLane.cpp ``executeMovements``: the first vehicle of
the lane, whatever holds it: a jam beyond, a minor link it must yield at, a red light,
a lane change it cannot make). It travels on outside the network (the vehicle transfer,
src/microsim/MSVehicleTransfer.cpp): first to the next edge of its route, where, from
the next step on, it is put back on the lane with the most room among those that lead
on along its route, in the first gap with secure gaps to both neighbours
(``MSLane::freeInsertion``, at the speed limit lowered to what is safe). While it finds
none it waits that edge's travel time at its vehicles' mean speed (at least
``TELEPORT_MIN_SPEED_MPS``), then moves on to the next edge; past its route's last edge
it arrives. As in SUMO the travel time is that of the edge it was on when its wait
began, and a vehicle in transfer accrues trip time but no time loss, waiting or
emissions.

A run without ``time-to-teleport`` (``Transfer.after_s`` infinite, SUMO's ``-1``)
never teleports: twin's own worlds, and a SUMO config that sets it to a value <= 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.insertion import Departs, _free
from twin.traffic.kernels import (
    _WORD_SHIFT,
    ARRIVED,
    IN_TRANSFER,
    TELEPORTING,
    TELEPORTS,
    Lanes,
    NetArrays,
    Vehicles,
    VTypes,
    _bit_of,
    find_movement,
    lane_brutto_m,
    route_edge,
    unlink_head,
)
from twin.traffic.loops import loop_arrive

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TELEPORT_MIN_SPEED_MPS = 1.0
"""SUMO's ``MSVehicleTransfer::TeleportMinSpeed``: a vehicle in transfer crosses an edge
no slower than this."""


class Transfer(NamedTuple):
    """Teleporting: ``after_s[0]``, the time a lane's front vehicle may stand before it
    is teleported (infinite: never); ``queue``, the vehicles in transfer (the first
    ``counters[IN_TRANSFER]``, in vehicle order); ``proceed_s[v]``, when vehicle ``v``
    moves on to its next route edge (-1: not yet set)."""

    after_s: FloatArray
    queue: IntArray
    proceed_s: FloatArray


def transfer_state(n_trips: int, time_to_teleport_s: float = math.inf) -> Transfer:
    """A run's teleporting state; ``time_to_teleport_s`` <= 0 or infinite: never."""
    after = time_to_teleport_s if time_to_teleport_s > 0 else math.inf
    return Transfer(
        np.array([after], dtype=np.float64),
        np.zeros(max(n_trips, 1), dtype=np.int64),
        np.full(max(n_trips, 1), -1.0),
    )


@numba.njit(cache=True, _nrt=False)
def teleport_jammed(
    lanes: Lanes,
    veh: Vehicles,
    transfer: Transfer,
    counters: IntArray,
    arrived: IntArray,
    n_arrived: int,
    now_s: float,
    dt: float,
) -> int:
    """Teleport the front vehicle of every lane that has stood longer than
    ``transfer.after_s[0]``; the arrivals so far (one whose route ends on its edge
    arrives, into ``arrived``)."""
    after = transfer.after_s[0]
    if not after < math.inf:
        return n_arrived
    occ = lanes.occupied
    for w in range(len(occ)):
        word = occ[w]
        while word != 0:
            low = word & -word
            word ^= low
            lane = (w << _WORD_SHIFT) + _bit_of(low)
            v = lanes.head[lane]
            if v < 0 or veh.halted_s[v] <= after:
                continue
            unlink_head(lanes, veh, lane)
            loop_arrive(lanes, v, now_s + 2.0 * dt)
            veh.lane[v] = -1
            veh.next_lane[v] = -1
            veh.speed[v] = 0.0
            veh.accel[v] = 0.0
            veh.halting[v] = False
            veh.halted_s[v] = 0.0
            counters[TELEPORTS] += 1
            if route_edge(veh, v, veh.route_k[v] + 1) < 0:
                n_arrived = _arrive(veh, v, arrived, n_arrived, now_s + dt)
                continue
            veh.route_k[v] += 1
            veh.state[v] = TELEPORTING
            transfer.proceed_s[v] = -1.0
            _enqueue(transfer.queue, counters, v)
    return n_arrived


@numba.njit(cache=True, _nrt=False)
def _enqueue(queue: IntArray, counters: IntArray, v: int) -> None:
    """Into the transfer queue in vehicle order (SUMO sorts it by numerical id)."""
    i = counters[IN_TRANSFER]
    while i > 0 and queue[i - 1] > v:
        queue[i] = queue[i - 1]
        i -= 1
    queue[i] = v
    counters[IN_TRANSFER] += 1


@numba.njit(cache=True, _nrt=False)
def _arrive(veh: Vehicles, v: int, arrived: IntArray, n_arrived: int, at_s: float) -> int:
    veh.state[v] = ARRIVED
    veh.arrive_s[v] = at_s
    arrived[n_arrived] = v
    return n_arrived + 1


@numba.njit(cache=True, _nrt=False)
def reenter(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    transfer: Transfer,
    counters: IntArray,
    arrived: IntArray,
    n_arrived: int,
    now_s: float,
    dt: float,
) -> int:
    """Every vehicle in transfer tries to get back onto its edge, or moves on along its
    route (see the module docstring); the arrivals so far."""
    kept = 0
    queue = transfer.queue
    for i in range(counters[IN_TRANSFER]):
        v = queue[i]
        edge = route_edge(veh, v, veh.route_k[v])
        nxt = route_edge(veh, v, veh.route_k[v] + 1)
        lane = _free_lane(net, lanes, veh, vt, edge, nxt)
        if lane >= 0:
            # MSVehicleTransfer: the lane's limit (not the vehicle's share of it).
            speed = min(net.lane_speed[lane], vt.vmax[veh.vtype[v]])
            insert_s = veh.insert_s[v]
            if _free(net, lanes, veh, vt, mov_state, departs, v, lane, speed, True, now_s, dt):
                veh.insert_s[v] = insert_s
                transfer.proceed_s[v] = -1.0
                continue
        if transfer.proceed_s[v] < 0.0:
            transfer.proceed_s[v] = now_s + _travel_time(net, lanes, veh, edge)
        elif transfer.proceed_s[v] < now_s:
            if nxt < 0:
                n_arrived = _arrive(veh, v, arrived, n_arrived, now_s)
                continue
            veh.route_k[v] += 1
            transfer.proceed_s[v] = now_s + _travel_time(net, lanes, veh, edge)
        queue[kept] = v
        kept += 1
    counters[IN_TRANSFER] = kept
    return n_arrived


@numba.njit(cache=True, _nrt=False)
def _free_lane(net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, edge: int, nxt: int) -> int:
    """``MSEdge::getFreeLane`` among the lanes of ``edge`` that lead onto ``nxt`` (all
    of them at the route's end): the one whose last vehicle is furthest ahead (an empty
    lane counts its length), else the least occupied; -1 if none leads on."""
    start = net.edge_lane_start[edge]
    best_gap = 0.0
    by_gap = -1
    least = math.inf
    by_occupancy = -1
    for lane in range(start, start + net.edge_lanes[edge]):
        if nxt >= 0 and find_movement(net, lane, nxt) < 0:
            continue
        occupancy = lane_brutto_m(lanes, veh, vt, lane)
        if occupancy < least:
            least = occupancy
            by_occupancy = lane
        tail = lanes.tail[lane]
        gap = veh.pos[tail] if tail >= 0 else net.lane_length[lane]
        if gap > best_gap:
            best_gap = gap
            by_gap = lane
    return by_gap if by_gap >= 0 else by_occupancy


@numba.njit(cache=True, _nrt=False)
def _travel_time(net: NetArrays, lanes: Lanes, veh: Vehicles, edge: int) -> float:
    """``MSEdge::getCurrentTravelTime(TeleportMinSpeed)``: the edge's length at its
    mean speed (``MSEdge::getMeanSpeed``, as the router samples it in
    :mod:`twin.traffic.rerouting`: each vehicle's speed, an empty lane as one vehicle at
    its limit), at least :data:`TELEPORT_MIN_SPEED_MPS`."""
    start = net.edge_lane_start[edge]
    total = 0.0
    n = 0
    for lane in range(start, start + net.edge_lanes[edge]):
        u = lanes.head[lane]
        if u < 0:
            total += net.lane_speed[lane]
            n += 1
        while u >= 0:
            total += veh.speed[u]
            n += 1
            u = veh.behind[u]
    return net.lane_length[start] / max(total / n, TELEPORT_MIN_SPEED_MPS)
