"""Insertion as SUMO does it: depart lane, position and speed per trip, with SUMO's checks.

Every tick, before vehicles move, each trip waiting to enter tries once, in departure
order (SUMO's ``MSInsertionControl::emitVehicles``), except that once an insertion has
failed on a lane in a tick, later trips choosing that lane of that edge wait without
trying (SUMO's ``MSEdge::insertVehicle`` remembers the lanes that refused a vehicle in the
current step, ``myFailedInsertionMemory``, unless ``--eager-insertion``): a queue of trips
behind a blocked start waits in order, as in SUMO, and costs one check per lane. A trip
released at ``t`` is inserted at ``t`` if it fits (SUMO inserts a vehicle whose
``depart <= t`` in step ``t``, after that step's moves; twin's tick from ``t`` starts
with the state after the previous tick's moves, which is the same state).

The depart attributes of :class:`twin.traffic.demand.TripTable` select, per trip
(SUMO's ``MSEdge::getDepartLane``, ``MSLane::insertVehicle``, ``getDepartSpeed``):

- lane: a given index; ``first`` (the rightmost); ``random``; ``free`` (the lane whose
  last vehicle is furthest ahead, ``MSEdge::getFreeLane``); ``allowed`` (each lane from
  the right until one succeeds); ``best`` (the same among SUMO's best lanes: those that
  let the trip drive furthest along its route without a lane change,
  ``MSVehicle::updateBestLanes``, :func:`best_lanes`); ``best_prob`` (SUMO 1.28's
  default, no draw despite its name: as ``best``, but never to the left of a last
  vehicle that may drive faster, ``MSEdge::getProbableLane``). Lanes by gap are chosen
  again at every try, so a trip goes to whichever lane frees first.
- position (of the front): a given one; ``base`` (back at the lane start plus
  ``POSITION_EPS``: ``length + 0.1`` m); ``random``; ``free`` (the first gap, from the
  lane start, with safe gaps to both neighbours, ``MSLane::freeInsertion``);
  ``random_free`` (ten random positions, then ``free``); ``last`` (as far forward as the
  last vehicle on the lane leaves a secure gap, the lane's end if it is empty:
  ``MSLane::lastInsertion``).
- speed: a given one (``patchSpeed`` off: the trip waits until that speed is safe);
  ``0`` (SUMO's default); ``random``, ``max`` (lowered to what is safe, ``patchSpeed``
  on); ``desired`` and ``speedLimit`` (not lowered); ``avg`` (SUMO 1.28's default: the
  mean speed of the lane's vehicles) and ``last`` (the last one's speed), not lowered
  while a vehicle is on the lane (on a free road SUMO enters a car every 2 s at 13.89
  m/s, where ``max`` enters one every 1-2 s at lowered speeds); on an empty lane both
  start from the vehicle's top speed there (``avg``: at most the lane's limit) and are
  lowered as needed (``MSLane::getDepartSpeed``).

The checks (``MSLane::isInsertionSuccess``, re-derived): the leader on the lane (or, if
none, along the route ahead as far as the vehicle's brake gap reaches: the last vehicle
of each next lane, a closed or yielding stop line, a slower next lane) must allow the
insertion speed (Krauss safe speed; with ``patchSpeed`` the speed is lowered, otherwise
the trip waits); the follower on the lane, or a vehicle approaching it through the
junction behind, must have its secure gap (``MSCFModel::getSecureGap``) to the new
vehicle. Random choices use uniforms drawn per trip at the city's construction from
stream ``traffic.depart`` (``Departs.draws``).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic.demand import (
    DEPART_LANE_ALLOWED,
    DEPART_LANE_BEST,
    DEPART_LANE_BEST_PROB,
    DEPART_LANE_FREE,
    DEPART_LANE_RANDOM,
    DEPART_POS_FREE,
    DEPART_POS_LAST,
    DEPART_POS_RANDOM,
    DEPART_POS_RANDOM_FREE,
    DEPART_SPEED_AVG,
    DEPART_SPEED_DESIRED,
    DEPART_SPEED_LAST,
    DEPART_SPEED_LIMIT,
    DEPART_SPEED_MAX,
    DEPART_SPEED_RANDOM,
)
from twin.traffic.kernels import (
    DISCARDED,
    DRIVING,
    MAJOR,
    OFF,
    PROTECTED,
    ZIPPER,
    Lanes,
    NetArrays,
    Vehicles,
    VTypes,
    brake_gap,
    choose_lane,
    find_movement,
    lane_brutto_m,
    last_on_path,
    mark_occupied,
    route_edge,
    safe_speed,
    secure_gap,
    set_next_lane,
    stop_speed,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

POSITION_EPS_M = 0.1
"""SUMO's ``POSITION_EPS``: ``departPos="base"`` puts the front at ``length + 0.1``."""
RANDOM_FREE_TRIES = 10
"""``departPos="random_free"`` tries this many random positions before ``free``."""
DRAW_LANE, DRAW_SPEED, DRAW_POS = 0, 1, 2
"""Slots of a try's uniforms (:func:`try_uniform`): lane, speed, then one per position."""
_LOOKAHEAD_HOPS = 6
_DELAY_EPS_S = 1e-6
"""Slack of the max-depart-delay comparison: SUMO compares whole milliseconds, twin
times in floating seconds (a flow's 0.1 s period adds up to 7.000000000000001)."""
BEST_LANE_LOOKAHEAD_M = 3000.0
"""SUMO's ``BEST_LANE_LOOKAHEAD`` (MSEdge.cpp): beyond it every lane is as good."""
BEST_LANES_EDGES = 64
"""At most this many route edges in :func:`best_lanes` (SUMO looks 4 to 8 ahead, more
only while they add up to under 200 m)."""
_PRIORITY_STATES = (PROTECTED, OFF, MAJOR, ZIPPER)
"""Link states SUMO writes in capitals: ``MSLink::havePriority``."""


class Departs(NamedTuple):
    """How each trip enters, and the junction links the follower check needs.

    ``lane``/``pos``/``speed``: the TripTable's depart codes (``DEPART_*`` of
    :mod:`twin.traffic.demand`, or a value >= 0), defaults filled in; ``draw_key``: one
    64-bit key from stream ``traffic.depart``; ``tries``: per trip, the insertion tries
    so far; ``in_start``/``in_lanes``: per edge (CSR),
    the internal lanes that end on it; ``best_*``: scratch rows for :func:`best_lanes`
    (``(BEST_LANES_EDGES, most lanes of an edge)``); ``max_delay_s[0]``: SUMO's
    ``max-depart-delay`` (negative: a trip waits as long as it takes).
    """

    lane: IntArray
    pos: FloatArray
    speed: FloatArray
    draw_key: npt.NDArray[np.uint64]
    tries: IntArray
    in_start: IntArray
    in_lanes: IntArray
    best_length: FloatArray
    best_offset: IntArray
    best_link: IntArray
    best_edges: IntArray
    max_delay_s: FloatArray


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@numba.njit(cache=True, _nrt=False)
def _splitmix(z: np.uint64) -> np.uint64:
    """SplitMix64's step and output function (Steele, Lea and Flood 2014)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, _nrt=False)
def try_uniform(departs: Departs, v: int, slot: int) -> float:
    """Uniform number ``slot`` in [0, 1) of trip ``v``'s current try: the key, the trip,
    the try and the slot hashed in turn with SplitMix64, a counter-based draw that is
    the same wherever and whenever it is made."""
    z = _splitmix(departs.draw_key[0] ^ np.uint64(v))
    z = _splitmix(z ^ np.uint64(departs.tries[v]))
    z = _splitmix(z ^ np.uint64(slot))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, _nrt=False)
def vehicle_lane_speed(net: NetArrays, veh: Vehicles, vt: VTypes, v: int, lane: int) -> float:
    """The speed ``v`` wants on ``lane`` (``MSLane::getVehicleMaxSpeed``)."""
    return min(net.lane_speed[lane] * veh.speed_factor[v], vt.vmax[veh.vtype[v]])


@numba.njit(cache=True, _nrt=False)
def _check(speed: float, nspeed: float, patch: bool) -> float:
    """``MSLane::checkFailure``: the speed that passes, or -1 (the trip must wait)."""
    if nspeed < speed:
        if patch:
            return max(nspeed, 0.0)
        if speed > 0.0:
            return -1.0
    return speed


@numba.njit(cache=True, _nrt=False)
def neighbours(lanes: Lanes, veh: Vehicles, lane: int, pos: float) -> tuple[int, int]:
    """(follower, leader) on ``lane`` of a front at ``pos``: the vehicles whose fronts
    are behind / at or ahead of it (-1: none)."""
    follower = -1
    c = lanes.tail[lane]
    while c >= 0 and veh.pos[c] < pos:
        follower = c
        c = veh.ahead[c]
    return follower, c


@numba.njit(cache=True, _nrt=False)
def partial_occupier(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, lane: int
) -> tuple[int, float]:
    """(vehicle, back position on ``lane``) of the vehicle that has driven off ``lane``
    into one of its links with its back still on it, the one reaching furthest back
    (-1, inf if none). SUMO keeps such a vehicle on the lane as a partial occupator
    (``MSLane::myPartialVehicles``), and an insertion sees it as the leader
    (``MSLane::isInsertionSuccess`` asks ``getLastVehicleInformation``)."""
    found = -1
    back_on_lane = np.inf
    lane_len = net.lane_length[lane]
    for kk in range(net.lane_out_start[lane], net.lane_out_start[lane + 1]):
        u, back = last_on_path(net, lanes, veh, vt, net.out_movements[kk])
        if u >= 0 and back < 0.0 and lane_len + back < back_on_lane:
            found = u
            back_on_lane = lane_len + back
    return found, back_on_lane


_ROUTE_ENDS = -2
""":func:`_next_along`'s movement when the route ends on the lane."""
_NO_LINK = -3
""":func:`_next_along`'s movement when the lane is inside a junction (its exit has no
link to check)."""


@numba.njit(cache=True, _nrt=False)
def _next_along(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, v: int, cur: int, k: int
) -> tuple[int, int, int]:
    """(next lane, route edges passed, movement entered) after lane ``cur`` along the
    route of ``v``, not yet inserted, having passed ``k`` route edges: into the junction
    by the movement to the next route edge, or out of it onto the lane it would choose.
    The movement is -1 (and the lane -1) when ``cur`` does not continue along the route,
    :data:`_ROUTE_ENDS` when the route ends on it, :data:`_NO_LINK` out of a junction."""
    m_cur = net.lane_movement[cur]
    if m_cur >= 0:
        lane = choose_lane(net, lanes, veh, vt, net.mov_to_edge[m_cur], route_edge(veh, v, k + 2))
        return lane, k + 1, _NO_LINK
    nxt_edge = route_edge(veh, v, k + 1)
    if nxt_edge < 0:
        return -1, k, _ROUTE_ENDS
    mv = find_movement(net, cur, nxt_edge)
    return (net.mov_lane[mv] if mv >= 0 else -1), k, mv


@numba.njit(cache=True, _nrt=False)
def insertion_speed(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    v: int,
    lane: int,
    pos: float,
    speed: float,
    patch: bool,
    dt: float,
) -> float:
    """The speed ``v`` may enter ``lane`` with, front at ``pos``, or -1 if it may not
    (``MSLane::isInsertionSuccess``, re-derived)."""
    t = veh.vtype[v]
    decel = vt.decel[t]
    tau = vt.tau[t]
    min_gap = vt.min_gap[t]
    length = vt.length[t]
    pos = min(max(pos, 0.0), net.lane_length[lane])
    follower, leader = neighbours(lanes, veh, lane, pos)
    if leader >= 0:
        gap = veh.pos[leader] - vt.length[veh.vtype[leader]] - pos - min_gap
        if gap < 0.0:
            return -1.0
        speed = _check(speed, safe_speed(speed, veh.speed[leader], gap, decel, tau, dt), patch)
        if speed < 0.0:
            return -1.0
    else:
        # A vehicle that has just left the lane with its back still on it leads.
        u, u_back = partial_occupier(net, lanes, veh, vt, lane)
        if u >= 0:
            gap = u_back - pos - min_gap
            if gap < 0.0:
                return -1.0
            speed = _check(speed, safe_speed(speed, veh.speed[u], gap, decel, tau, dt), patch)
            if speed < 0.0:
                return -1.0
        # Along the route ahead, as far as the brake gap reaches.
        seen = net.lane_length[lane] - pos
        cur = lane
        k = veh.route_k[v]  # 0 for a trip; a teleported vehicle re-enters further on
        hops = 0
        while seen < brake_gap(speed, decel, dt) + speed * tau + min_gap and hops < _LOOKAHEAD_HOPS:
            hops += 1
            nl, k, mv = _next_along(net, lanes, veh, vt, v, cur, k)
            if mv == _ROUTE_ENDS:
                break
            if mv == -1 or (mv >= 0 and mov_state[mv] not in (PROTECTED, MAJOR, OFF)):
                # The lane does not continue along the route, or its link is red,
                # yellow or yields: able to stop at the line. A link with priority
                # ('G', 'M', 'O') is open to it (MSLink::opened), so SUMO checks no stop
                # there: a given depart speed too fast to stop before one still inserts.
                speed = _check(speed, stop_speed(seen, decel, tau, dt), patch)
                if speed < 0.0:
                    return -1.0
                break
            tl = lanes.tail[nl]
            if tl >= 0:
                gap = seen + veh.pos[tl] - vt.length[veh.vtype[tl]] - min_gap
                nspeed = safe_speed(speed, veh.speed[tl], gap, decel, tau, dt) if gap >= 0 else 0.0
                speed = _check(speed, nspeed, patch)
                if speed < 0.0:
                    return -1.0
                break
            slower = vehicle_lane_speed(net, veh, vt, v, nl)
            if slower < speed and patch:
                bdt = decel * dt
                reach = np.sqrt(bdt * bdt + slower * slower + 2.0 * decel * seen) - bdt
                speed = min(speed, max(reach, slower))
            seen += net.lane_length[nl]
            cur = nl
    # The follower on the lane, or a vehicle coming through the junction behind.
    back = pos - length
    if follower >= 0:
        tf = veh.vtype[follower]
        gap = back - veh.pos[follower] - vt.min_gap[tf]
        need = secure_gap(veh.speed[follower], speed, vt.decel[tf], decel, vt.tau[tf], dt)
        if gap < need:
            return -1.0
        return speed
    if approaching(net, lanes, veh, vt, departs, lane, back, speed, decel, dt):
        return -1.0
    return speed


@numba.njit(cache=True, _nrt=False)
def approaching(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    departs: Departs,
    lane: int,
    back: float,
    speed: float,
    decel: float,
    dt: float,
) -> bool:
    """Whether a vehicle coming onto ``lane`` through the junction behind it (the first
    on each internal lane ending there, or else the first before that lane's stop line,
    if it is headed for ``lane``) lacks its secure gap to a back at ``back`` moving at
    ``speed`` (``MSLane::getFollowersOnConsecutive``, one junction deep). Which lane a
    vehicle before the stop line takes is decided as it enters the junction: it counts
    if it would take ``lane`` now."""
    edge = net.lane_edge[lane]
    for k in range(departs.in_start[edge], departs.in_start[edge + 1]):
        il = departs.in_lanes[k]
        u = lanes.head[il]
        gap = back + net.lane_length[il]
        if u < 0:
            fl = net.mov_from_lane[net.lane_movement[il]]
            u = lanes.head[fl]
            if u < 0 or veh.next_lane[u] != il:
                continue
            gap += net.lane_length[fl]
            after = route_edge(veh, u, veh.route_k[u] + 2)
            if choose_lane(net, lanes, veh, vt, edge, after) != lane:
                continue
        elif veh.next_lane[u] != lane:
            continue
        tu = veh.vtype[u]
        gap -= veh.pos[u] + vt.min_gap[tu]
        if gap < secure_gap(veh.speed[u], speed, vt.decel[tu], decel, vt.tau[tu], dt):
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def link_between(
    lanes: Lanes, veh: Vehicles, lane: int, v: int, follower: int, leader: int
) -> None:
    """Put ``v`` on ``lane`` between ``follower`` (behind) and ``leader`` (ahead)."""
    veh.ahead[v] = leader
    veh.behind[v] = follower
    if leader >= 0:
        veh.behind[leader] = v
    else:
        lanes.head[lane] = v
    if follower >= 0:
        veh.ahead[follower] = v
    else:
        lanes.tail[lane] = v
    veh.back_lane[v] = -1
    veh.lane[v] = lane
    lanes.count[lane] += 1
    mark_occupied(lanes, lane)


@numba.njit(cache=True, _nrt=False)
def _try_at(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    v: int,
    lane: int,
    pos: float,
    speed: float,
    patch: bool,
    now_s: float,
    dt: float,
) -> bool:
    pos = min(max(pos, 0.0), net.lane_length[lane])
    s = insertion_speed(net, lanes, veh, vt, mov_state, departs, v, lane, pos, speed, patch, dt)
    if s < 0.0:
        return False
    follower, leader = neighbours(lanes, veh, lane, pos)
    veh.pos[v] = pos
    veh.speed[v] = s
    veh.accel[v] = 0.0
    link_between(lanes, veh, lane, v, follower, leader)
    set_next_lane(net, lanes, veh, vt, v, dt)
    veh.state[v] = DRIVING
    veh.insert_s[v] = now_s
    return True


@numba.njit(cache=True, _nrt=False)
def _depart_speed(
    net: NetArrays, lanes: Lanes, veh: Vehicles, departs: Departs, vt: VTypes, v: int, lane: int
) -> tuple[float, bool]:
    """(speed, patch) of ``MSLane::getDepartSpeed``."""
    code = departs.speed[v]
    vmax = vehicle_lane_speed(net, veh, vt, v, lane)
    if code >= 0.0:
        return code, False
    if code == DEPART_SPEED_RANDOM:
        return try_uniform(departs, v, DRAW_SPEED) * vmax, True
    if code == DEPART_SPEED_MAX:
        return vmax, True
    if code == DEPART_SPEED_DESIRED:
        return vmax, False
    if code == DEPART_SPEED_LIMIT:
        return net.lane_speed[lane], False
    # "last" and "avg" with a vehicle on the lane are not lowered (the trip waits until
    # that speed is safe); on an empty lane patchSpeed stays on.
    if code == DEPART_SPEED_LAST:
        c = lanes.tail[lane]
        return (min(veh.speed[c], vmax), False) if c >= 0 else (vmax, True)
    if code == DEPART_SPEED_AVG:
        c = lanes.tail[lane]
        if c < 0:
            return min(vmax, net.lane_speed[lane]), True
        total = 0.0
        n = 0
        while c >= 0:
            total += veh.speed[c]
            n += 1
            c = veh.ahead[c]
        return min(total / n, vmax), False
    return 0.0, False


@numba.njit(cache=True, _nrt=False)
def _insert_on_lane(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    v: int,
    lane: int,
    now_s: float,
    dt: float,
) -> bool:
    """``MSLane::insertVehicle``: position by the trip's code, then the checks."""
    t = veh.vtype[v]
    length = vt.length[t]
    lane_len = net.lane_length[lane]
    speed, patch = _depart_speed(net, lanes, veh, departs, vt, v, lane)
    code = departs.pos[v]
    base = min(length + POSITION_EPS_M, lane_len)
    if code >= 0.0:
        pos = code
    elif code == DEPART_POS_RANDOM:
        pos = try_uniform(departs, v, DRAW_POS) * lane_len
    elif code == DEPART_POS_RANDOM_FREE:
        for i in range(RANDOM_FREE_TRIES):
            pos = try_uniform(departs, v, DRAW_POS + i) * lane_len
            if _try_at(
                net, lanes, veh, vt, mov_state, departs, v, lane, pos, speed, patch, now_s, dt
            ):
                return True
        return _free(net, lanes, veh, vt, mov_state, departs, v, lane, speed, patch, now_s, dt)
    elif code == DEPART_POS_FREE:
        return _free(net, lanes, veh, vt, mov_state, departs, v, lane, speed, patch, now_s, dt)
    elif code == DEPART_POS_LAST:
        # MSLane::lastInsertion: as far forward as the last vehicle on the lane allows
        # at the depart speed (its secure gap, the minimum gap and POSITION_EPS behind
        # it), or at the lane's end when the lane is empty; no room that far: wait.
        pos = lane_len - POSITION_EPS_M
        tl = lanes.tail[lane]
        if tl >= 0:
            leader_back = veh.pos[tl] - vt.length[veh.vtype[tl]]
        else:  # the first vehicle ahead along the route within its brake gap
            reach = brake_gap(speed, vt.decel[t], dt)
            tl, ahead = _first_ahead(net, lanes, veh, vt, v, lane, reach)
            leader_back = pos + ahead
        if tl >= 0:
            needed = (
                secure_gap(
                    speed, veh.speed[tl], vt.decel[t], vt.decel[veh.vtype[tl]], vt.tau[t], dt
                )
                + vt.min_gap[t]
                + POSITION_EPS_M
            )
            if leader_back < needed:
                return False
            pos = min(pos, leader_back - needed)
    else:
        pos = base
    return _try_at(net, lanes, veh, vt, mov_state, departs, v, lane, pos, speed, patch, now_s, dt)


@numba.njit(cache=True, _nrt=False)
def _first_ahead(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, v: int, lane: int, reach: float
) -> tuple[int, float]:
    """(vehicle, distance from the end of ``lane`` to its back) of the first vehicle on
    the lanes after ``lane`` along ``v``'s route, no further than ``reach``; (-1, inf)
    if none (``MSLane::getLeader`` over the best lanes' continuation)."""
    seen = 0.0
    cur = lane
    k = 0
    for _ in range(_LOOKAHEAD_HOPS):
        if seen >= reach:
            break
        nl, k, _ = _next_along(net, lanes, veh, vt, v, cur, k)
        if nl < 0:
            break
        tl = lanes.tail[nl]
        if tl >= 0:
            back = seen + veh.pos[tl] - vt.length[veh.vtype[tl]]
            return (tl, back) if back <= reach else (-1, np.inf)
        seen += net.lane_length[nl]
        cur = nl
    return -1, np.inf


@numba.njit(cache=True, _nrt=False)
def _free(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    v: int,
    lane: int,
    speed: float,
    patch: bool,
    now_s: float,
    dt: float,
) -> bool:
    """``MSLane::freeInsertion``: at the lane start if it is free, else the first gap
    (from the lane start) with safe gaps to the vehicles on both sides."""
    t = veh.vtype[v]
    length = vt.length[t]
    decel = vt.decel[t]
    tau = vt.tau[t]
    min_gap = vt.min_gap[t]
    lane_len = net.lane_length[lane]
    min_pos = min(length, lane_len)
    tl = lanes.tail[lane]
    if tl < 0:
        return _try_at(
            net, lanes, veh, vt, mov_state, departs, v, lane, min_pos, speed, patch, now_s, dt
        )
    # Behind the last vehicle, if it leaves room for the secure gap.
    ttl = veh.vtype[tl]
    s = veh.speed[tl] if patch else speed
    front_needed = secure_gap(s, veh.speed[tl], decel, vt.decel[ttl], tau, dt) + min_gap
    tail_back = veh.pos[tl] - vt.length[ttl]
    if tail_back >= front_needed:
        ts = min(safe_speed(speed, veh.speed[tl], front_needed, decel, tau, dt), speed)
        if _try_at(net, lanes, veh, vt, mov_state, departs, v, lane, min_pos, ts, patch, now_s, dt):
            return True
    partial, partial_back = partial_occupier(net, lanes, veh, vt, lane)
    f = tl
    while f >= 0:
        leader = veh.ahead[f]
        s = speed
        front_max = lane_len
        if leader < 0 and partial >= 0:
            # The first gap ends behind the back of a vehicle still leaving the lane
            # (``freeInsertion``: ``leader = myPartialVehicles.front()``).
            if patch:
                s = min(veh.speed[partial], speed)
            front_max = partial_back - secure_gap(
                s, veh.speed[partial], decel, vt.decel[veh.vtype[partial]], tau, dt
            )
            front_max -= min_gap
        elif leader >= 0:
            tlead = veh.vtype[leader]
            if patch:
                s = min(veh.speed[leader], speed)
            front_max = veh.pos[leader] - vt.length[tlead]
            front_max -= secure_gap(s, veh.speed[leader], decel, vt.decel[tlead], tau, dt) + min_gap
        tf = veh.vtype[f]
        back_min = veh.pos[f] + vt.min_gap[tf] + length
        back_min += secure_gap(veh.speed[f], s, vt.decel[tf], decel, vt.tau[tf], dt)
        if front_max > min_pos and back_min + POSITION_EPS_M < front_max:
            pos = back_min + POSITION_EPS_M
            if _try_at(net, lanes, veh, vt, mov_state, departs, v, lane, pos, s, patch, now_s, dt):
                return True
        f = leader
    return False


@numba.njit(cache=True, _nrt=False)
def _depart_pos_lower_bound(departs: Departs, v: int, edge_len: float) -> float:
    """The least front position the trip may take (``MSEdge::getDepartPosBound``, lower):
    a given position; 0 for ``base`` and ``last``; the edge's length for the random and
    free positions (which may fall anywhere)."""
    code = departs.pos[v]
    if code >= 0.0:
        return code
    if code in (DEPART_POS_RANDOM, DEPART_POS_RANDOM_FREE, DEPART_POS_FREE):
        return edge_len
    return 0.0


@numba.njit(cache=True, _nrt=False)
def _link_to(net: NetArrays, lane: int, next_edge: int, next_lane: int) -> int:
    """The movement from edge lane ``lane`` onto ``next_lane`` of ``next_edge``, or -1
    (a movement whose target lane the vehicle chooses reaches every lane)."""
    for k in range(net.lane_out_start[lane], net.lane_out_start[lane + 1]):
        m = net.out_movements[k]
        if net.mov_to_edge[m] == next_edge and (
            net.mov_to_lane[m] == next_lane or net.mov_to_lane[m] < 0
        ):
            return m
    return -1


@numba.njit(cache=True, _nrt=False)
def best_lanes(
    net: NetArrays,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    v: int,
    dt: float,
) -> None:
    """How far each lane of trip ``v``'s first edge lets it drive along its route without
    a lane change, SUMO's way (``MSVehicle::updateBestLanes``, as a vehicle about to
    depart sees it): into ``departs.best_length[0]`` (and each lane's link to its best
    continuation into ``departs.best_link``).

    Route edges are looked at forward while fewer than 5 (or 9) or shorter in all than
    3,000 m (or 200 m, and the vehicle's stopping distance), then backward: a lane adds
    the length of the best lane it connects to on the next edge, the whole best length
    if that lane is the best connected one and at most one lane change from the best; a
    lane whose next link has no priority while the best lane's has counts only its own
    edge (SUMO: "move away from the lower-priority lane before it ends"). Lane
    permissions are not modelled (twin's lanes admit every vehicle they carry)."""
    length = departs.best_length
    offset = departs.best_offset
    link = departs.best_link
    edges = departs.best_edges
    t = veh.vtype[v]
    vmax = vt.vmax[t]
    first = route_edge(veh, v, 0)
    max_brake = (
        net.lane_length[net.edge_lane_start[first]]
        + vt.tau[t] * vmax
        + brake_gap(vmax, vt.decel[t], dt)
        + vt.min_gap[t]
    )
    n = 0
    seen_m = 0.0
    while n < BEST_LANES_EDGES:
        edge = route_edge(veh, v, n)
        if edge < 0:
            break
        edges[n] = edge
        start = net.edge_lane_start[edge]
        for i in range(net.edge_lanes[edge]):
            length[n, i] = net.lane_length[start]
            offset[n, i] = 0
            link[n, i] = -1
        n += 1
        seen_m += net.lane_length[start]
        if n > 4 and seen_m >= max(max_brake, BEST_LANE_LOOKAHEAD_M):
            break
        if n > 8 and seen_m >= max(max_brake, 200.0):
            break
    for r in range(n - 2, -1, -1):
        edge = edges[r]
        next_edge = edges[r + 1]
        start = net.edge_lane_start[edge]
        n_lanes = net.edge_lanes[edge]
        next_start = net.edge_lane_start[next_edge]
        next_lanes = net.edge_lanes[next_edge]
        best_connected = -1.0
        best_next = -1.0
        for j in range(next_lanes):
            if length[r + 1, j] > best_next:
                best_next = length[r + 1, j]
            if length[r + 1, j] > best_connected:
                for i in range(n_lanes):
                    if _link_to(net, start + i, next_edge, next_start + j) >= 0:
                        best_connected = length[r + 1, j]
                        break
        # Each lane's best continuation (longest, then fewest lane changes from there).
        for i in range(n_lanes):
            pick = -1
            for j in range(next_lanes):
                m = _link_to(net, start + i, next_edge, next_start + j)
                if m < 0:
                    continue
                if (
                    pick < 0
                    or length[r + 1, j] > length[r + 1, pick]
                    or (
                        length[r + 1, j] == length[r + 1, pick]
                        and abs(offset[r + 1, j]) < abs(offset[r + 1, pick])
                    )
                ):
                    pick = j
                    link[r, i] = m
            if pick < 0:
                continue
            if best_connected > 0.0:
                if length[r + 1, pick] == best_connected and abs(offset[r + 1, pick]) < 2:
                    length[r, i] += best_next
                else:
                    length[r, i] += length[r + 1, pick]
                offset[r, i] = offset[r + 1, pick]
        if best_connected <= 0.0:
            continue  # a route SUMO calls disconnected: no lane is preferred
        best = 0
        best_max = 0
        for i in range(1, n_lanes):
            order = _lane_order(mov_state, departs, r, i, best)
            if order > 0:
                best = i
                best_max = i
            elif order == 0:
                best_max = i
        best_prio = _next_priority(mov_state, departs, r, best)
        for i in range(n_lanes):
            prio = _next_priority(mov_state, departs, r, i)
            if (
                length[r, i] < length[r, best]
                or (length[r, i] == length[r, best] and abs(offset[r, i]) > abs(offset[r, best]))
                or prio < best_prio
            ):
                offset[r, i] = best - i if abs(best - i) < abs(best_max - i) else best_max - i
                if prio < best_prio:
                    length[r, i] = net.lane_length[start]
            else:
                offset[r, i] = 0


@numba.njit(cache=True, _nrt=False)
def _next_priority(mov_state: npt.NDArray[np.int8], departs: Departs, r: int, i: int) -> int:
    """``MSVehicle::nextLinkPriority`` of lane ``i`` of row ``r``'s edge: 1 if the link to
    its best continuation has priority now, 0 if not, -1 without one."""
    m = departs.best_link[r, i]
    if m < 0:
        return -1
    state = mov_state[m]
    for p in _PRIORITY_STATES:
        if state == p:
            return 1
    return 0


@numba.njit(cache=True, _nrt=False)
def _lane_order(
    mov_state: npt.NDArray[np.int8], departs: Departs, r: int, i: int, best: int
) -> int:
    """1 if lane ``i`` of row ``r`` beats lane ``best`` (longer, or as long with fewer
    lane changes, or both equal with a priority link where ``best`` has none), 0 if it
    is as good in every respect, -1 if worse."""
    length = departs.best_length
    offset = departs.best_offset
    if length[r, i] != length[r, best]:
        return 1 if length[r, i] > length[r, best] else -1
    if abs(offset[r, i]) != abs(offset[r, best]):
        return 1 if abs(offset[r, i]) < abs(offset[r, best]) else -1
    mine = _next_priority(mov_state, departs, r, i)
    theirs = _next_priority(mov_state, departs, r, best)
    return 0 if mine == theirs else (1 if mine > theirs else -1)


@numba.njit(cache=True, _nrt=False)
def _lane_by_gap(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    v: int,
    among_best: bool,
    keep_right_of_faster: bool,
    dt: float,
) -> int:
    """SUMO's depart lane by gap (``MSEdge::getFreeLane``; with ``keep_right_of_faster``,
    ``MSEdge::getProbableLane``, for ``best_prob``): of the first edge's lanes (with
    ``among_best``, those that let the trip drive furthest without a lane change,
    :func:`best_lanes`), the one whose last vehicle's front is furthest beyond the least
    depart position (an empty lane counts the edge's length); ``keep_right_of_faster``:
    never left of a last vehicle that may drive faster than this one. No lane with a
    positive gap: the one with the least occupancy. Ties go to the rightmost."""
    edge = route_edge(veh, v, 0)
    start = net.edge_lane_start[edge]
    n_lanes = net.edge_lanes[edge]
    edge_len = net.lane_length[start]
    lower = _depart_pos_lower_bound(departs, v, edge_len)
    best_length = -1.0
    depart_pos = 0.0
    if among_best:
        best_lanes(net, veh, vt, mov_state, departs, v, dt)
        for i in range(n_lanes):
            best_length = max(best_length, departs.best_length[0, i])
        if best_length > BEST_LANE_LOOKAHEAD_M:
            depart_pos = lower
            best_length = min(best_length - depart_pos, BEST_LANE_LOOKAHEAD_M)
    own_speed = vehicle_lane_speed(net, veh, vt, v, start)
    least_lane = -1
    least_occupancy = np.inf
    gap_lane = -1
    largest_gap = 0.0
    largest_speed = 0.0
    for i in range(n_lanes):
        if among_best and departs.best_length[0, i] - depart_pos < best_length:
            continue
        lane = start + i
        occupancy = lane_brutto_m(lanes, veh, vt, lane) / net.lane_length[lane]
        if occupancy < least_occupancy:
            least_lane = lane
            least_occupancy = occupancy
        last = lanes.tail[lane]
        gap = (veh.pos[last] if last >= 0 else edge_len) - lower
        if gap > largest_gap and (not keep_right_of_faster or own_speed >= largest_speed):
            largest_gap = gap
            gap_lane = lane
        if last >= 0:
            largest_speed = max(largest_speed, vehicle_lane_speed(net, veh, vt, last, lane))
    if gap_lane >= 0:
        return gap_lane
    return least_lane if least_lane >= 0 else start


@numba.njit(cache=True, _nrt=False)
def _all_failed(failed: npt.NDArray[np.bool_], start: int, n_lanes: int) -> bool:
    """Every lane of the edge has refused a trip this tick."""
    return bool(np.all(failed[start : start + n_lanes]))


@numba.njit(cache=True, _nrt=False)
def insert_pending(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    departs: Departs,
    pending: IntArray,
    n_pending: int,
    now_s: float,
    dt: float,
) -> tuple[int, int]:
    """Every waiting trip tries once, in departure order; (still waiting, inserted).
    ``pending`` is compacted in place. A trip that has waited longer than
    ``departs.max_delay_s[0]`` (when that is >= 0) is discarded before it tries, never to
    be inserted (SUMO's ``max-depart-delay``). The stored sources of
    src/microsim/MSInsertionControl.cpp ``tryInsert`` check ``time - depart >
    myMaxDepartDelay`` after a failed try; SUMO 1.28 does not try such a trip at all:
    cars due at once and entering every 2 s, with a delay of 9 s the one that would
    enter at 10 s is discarded untried, with 10 s it enters
    (``tests/traffic/test_insertion.py``)."""
    if n_pending == 0:
        return 0, 0  # nothing to try: no lane's flag needs clearing either
    kept = 0
    inserted = 0
    failed = lanes.insert_failed
    for lane in range(len(failed)):
        failed[lane] = False
    max_delay = departs.max_delay_s[0]
    for i in range(n_pending):
        v = pending[i]
        if max_delay >= 0.0 and now_s - veh.depart_s[v] > max_delay + _DELAY_EPS_S:
            veh.state[v] = DISCARDED  # not tried (nor any lane marked as failed by it)
            continue
        edge = veh.route_edges[veh.route_start[v]]
        start = net.edge_lane_start[edge]
        n_lanes = net.edge_lanes[edge]
        code = departs.lane[v]
        ok = False
        if code == DEPART_LANE_ALLOWED:
            for lane in range(start, start + n_lanes):
                if failed[lane]:
                    continue
                ok = _insert_on_lane(net, lanes, veh, vt, mov_state, departs, v, lane, now_s, dt)
                departs.tries[v] += 1  # each lane tried draws its own positions
                if ok:
                    break
                failed[lane] = True
        elif _all_failed(failed, start, n_lanes):
            pass  # whichever lane it chose has refused a trip this tick: no try
        else:
            if code >= 0:
                lane = start + code
            elif code == DEPART_LANE_RANDOM:
                lane = start + min(int(try_uniform(departs, v, DRAW_LANE) * n_lanes), n_lanes - 1)
            elif code == DEPART_LANE_FREE:
                lane = _lane_by_gap(net, lanes, veh, vt, mov_state, departs, v, False, False, dt)
            elif code == DEPART_LANE_BEST:
                lane = _lane_by_gap(net, lanes, veh, vt, mov_state, departs, v, True, False, dt)
            elif code == DEPART_LANE_BEST_PROB:
                lane = _lane_by_gap(net, lanes, veh, vt, mov_state, departs, v, True, True, dt)
            else:  # DEPART_LANE_FIRST
                lane = start
            if not failed[lane]:
                ok = _insert_on_lane(net, lanes, veh, vt, mov_state, departs, v, lane, now_s, dt)
                failed[lane] = not ok
            departs.tries[v] += 1
        if ok:
            inserted += 1
        else:
            pending[kept] = v
            kept += 1
    return kept, inserted
