"""Lane changing: the essentials of SUMO's LC2013 model, one instantaneous change a tick.

After the tick's moves (SUMO: ``MSEdge::changeLanes`` after ``executeMovements``), every
vehicle on an edge lane of a multi-lane edge may move to a neighbouring lane of the same
edge, at its position, if the gaps there are safe (``MSLaneChanger``, no sublane model:
the change is instantaneous). It is unlinked from its lane's list and linked into the
target lane's at its position. Why it changes (``src/microsim/lcmodels/MSLCM_LC2013.cpp``,
re-derived; ``lcStrategic``, ``lcCooperative``, ``lcSpeedGain``, ``lcKeepRight`` all 1, the
defaults of ``MSLCM_LC2013.h``):

- strategic: its lane has no connection to the next edge of its route. It changes
  towards the nearest lane that has, whenever the gaps allow. A vehicle on such a lane
  stops at the lane's end (:data:`NO_CONTINUATION` in ``next_lane``) and waits for a gap.
  Within ``laDist = max(v, 5 m/s) * 10 s`` of the end (x2 to the left: LC2013's
  ``LOOK_FORWARD`` and ``lookaheadLeft``) a blocked changer is urgent: it passes the
  neighbour lane's leader if it has the room, else falls in behind it, gently
  (``informLeader``), and asks that lane's follower to let it in (``informFollower``:
  the follower treats it as its leader next tick, if it can do so braking no harder
  than its comfortable deceleration; cooperative).
- speed gain: ``mySpeedGainProbability`` accumulates the relative gain
  ``(v_neigh - v_here) / max(v_neigh, 10 m/s)`` of the safe speeds on the two lanes
  (``anticipateFollowSpeed``: while a leader on either lane speeds up, no more than the
  speed plus one second of acceleration on both), halved per second while the own lane
  is better and times 0.8 while the two are equal; it changes left above 0.2 and right
  below -2.0 (``myChangeProbThresholdLeft/Right``), if the neighbour lane goes on for
  20 s at its speed.
- keep right: ``myKeepRightProbability`` falls by ``2 * dt * (s / acceptance) / 5 s``
  per tick while the right lane is free at full speed for ``s`` of the next
  ``acceptance = 7 * vMax * max(1, v) / limit`` seconds; below -2.0 it changes right.

Only lanes that lead on along the route are targets (``changeToBest``): a vehicle on a
good lane never leaves it for one that does not continue. Both probabilities restart
at zero after a change (LC2013's ``changed``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.traffic import scheduled_stops  # the module: it imports the kernels in turn
from twin.traffic.insertion import (
    Departs,
    approaching,
    link_between,
    neighbours,
    vehicle_lane_speed,
)
from twin.traffic.kernels import (
    Lanes,
    NetArrays,
    Vehicles,
    VTypes,
    find_movement,
    next_occupied,
    reach_m,
    route_edge,
    safe_speed,
    secure_gap,
    set_next_lane,
    stop_speed,
    unlink,
)

FloatArray = npt.NDArray[np.float64]

LOOK_FORWARD_S = 10.0
"""LC2013 ``LOOK_FORWARD``: strategic look-ahead in seconds at the look-ahead speed."""
LOOKAHEAD_LEFT = 2.0
"""LC2013 ``lcLookaheadLeft``: left changes look twice as far ahead."""
LOOK_AHEAD_MIN_SPEED_MPS = 5.0
"""LC2013 ``LOOK_AHEAD_MIN_SPEED``."""
RELGAIN_NORMALIZATION_MIN_SPEED_MPS = 10.0
"""LC2013 ``RELGAIN_NORMALIZATION_MIN_SPEED``."""
KEEP_RIGHT_TIME_S = 5.0
"""LC2013 ``KEEP_RIGHT_TIME``."""
KEEP_RIGHT_ACCEPTANCE = 7.0
"""LC2013 ``KEEP_RIGHT_ACCEPTANCE``."""
URGENCY = 2.0
"""LC2013 ``URGENCY``: an urgent changer's remaining seconds are its distance to the lane
end over its look-ahead speed, halved."""
MIN_FALLBEHIND_MPS2 = 7.0 / 3.6
"""LC2013 ``MIN_FALLBEHIND``: the least deceleration of a changer falling in behind."""
CONGESTED_SPEED_MPS = 60.0 / 3.6
"""``MSVehicle::congested``: below this a vehicle may pass a left lane's car on the right."""
REACT_TO_STOPPED_M = 100.0
"""LC2013 ``REACT_TO_STOPPED_DISTANCE``: how near a leader standing at a stop must be for
a vehicle to change lanes to pass it."""
SPEED_GAIN_MIN_TIME_S = 20.0
"""A speed-gain change needs the neighbour lane to go on this long at the speed now."""
RIGHT_DISCOUNT_MPS = 5.0 / 3.6
"""LC2013: the right lane counts as no worse unless 5 km/h slower."""


class LaneChange(NamedTuple):
    """Lane-changing state per vehicle, and the model's parameters per vehicle type.

    ``speed_gain``/``keep_right``: LC2013's ``mySpeedGainProbability`` and
    ``myKeepRightProbability``; ``cap``: a speed limit for the next tick asked by a lane
    changer (cooperation) or by its own urgent change (``inf``: none).
    """

    speed_gain: FloatArray
    keep_right: FloatArray
    cap: FloatArray
    strategic: FloatArray
    cooperative: FloatArray
    speed_gain_param: FloatArray
    keep_right_param: FloatArray


def lane_change_state(n_trips: int, n_types: int) -> LaneChange:
    """Fresh state for ``n_trips`` vehicles, SUMO's default parameters for every type."""
    ones = np.ones(n_types)
    return LaneChange(
        np.zeros(n_trips),
        np.zeros(n_trips),
        np.full(n_trips, math.inf),
        ones.copy(),
        ones.copy(),
        ones.copy(),
        ones.copy(),
    )


@numba.njit(cache=True, _nrt=False)
def leads_on(
    net: NetArrays, veh: Vehicles, stops: scheduled_stops.Stops, v: int, lane: int
) -> bool:
    """Whether ``lane`` (of ``v``'s edge) connects to the next edge of ``v``'s route; on
    the edge of its next scheduled stop, whether it is the stop's lane (SUMO's best
    lanes end the others at the stop, :mod:`twin.traffic.scheduled_stops`)."""
    stop_lane = scheduled_stops.stop_lane_on(stops, v, net.lane_edge[lane])
    if stop_lane >= 0:
        return lane == stop_lane
    nxt = route_edge(veh, v, veh.route_k[v] + 1)
    return nxt < 0 or find_movement(net, lane, nxt) >= 0


@numba.njit(cache=True, _nrt=False)
def reaches_less_far(net: NetArrays, veh: Vehicles, v: int, lane: int, target: int) -> bool:
    """Whether ``target`` (beside ``lane``, ``v``'s lane) takes ``v`` less far along its
    route without a further change than ``lane`` does (:func:`kernels.reach_m`, SUMO's
    best lanes). LC2013 keeps to a best lane rather than leave it for speed or to keep
    right where it would have to come back (src/microsim/lcmodels/MSLCM_LC2013.cpp
    ``_wantsChange``: ``stayOnBest`` within ``TURN_LANE_DIST``, and ``neighLeftPlace * 2 <
    laDist``); twin's strategic change looks only one edge ahead, so it could not come
    back in time, and twin never leaves a lane for one that reaches less far."""
    k = veh.route_k[v]
    return reach_m(net, veh, v, target, k) < reach_m(net, veh, v, lane, k)


@numba.njit(cache=True, _nrt=False)
def _continues(net: NetArrays, veh: Vehicles, v: int, lane: int) -> float:
    """How far ``v`` can drive on ``lane`` along its route: to the lane's end, plus the
    next edge if the lane leads there (LC2013's ``neighDist``, one edge deep)."""
    dist = net.lane_length[lane] - veh.pos[v]
    nxt = route_edge(veh, v, veh.route_k[v] + 1)
    if nxt < 0:
        return 1e9
    m = find_movement(net, lane, nxt)
    if m >= 0:
        dist += net.lane_length[net.mov_lane[m]]
        dist += net.lane_length[net.edge_lane_start[nxt]]
    return dist


@numba.njit(cache=True, _nrt=False)
def _lane_vsafe(
    net: NetArrays,
    veh: Vehicles,
    vt: VTypes,
    v: int,
    lane: int,
    leader: int,
    reach: float,
    accelerating: bool,
    dt: float,
) -> float:
    """The speed ``v`` could drive on ``lane`` next tick: its limit, the leader there
    (``leader``, -1: none) and the lane's reach along the route (LC2013's
    ``anticipateFollowSpeed``). With ``accelerating`` (a leader on either lane is
    speeding up) SUMO compares the speeds one second ahead instead: no more than the
    vehicle's speed plus one second of its acceleration, so a car starting behind a
    car that starts does not see a free lane beside it as faster."""
    t = veh.vtype[v]
    speed = veh.speed[v]
    vs = vehicle_lane_speed(net, veh, vt, v, lane)
    if accelerating:
        vs = min(vs, speed + vt.accel[t])
    if leader >= 0:
        gap = veh.pos[leader] - vt.length[veh.vtype[leader]] - veh.pos[v] - vt.min_gap[t]
        vs = min(vs, safe_speed(speed, veh.speed[leader], gap, vt.decel[t], vt.tau[t], dt))
    elif reach < _brake_gap_of(vs, vt.decel[t], vt.tau[t], dt) + vs * dt:
        # The lane ends (along the route) within reach of braking from vs.
        vs = min(vs, stop_speed(reach, vt.decel[t], vt.tau[t], dt))
    return vs


@numba.njit(cache=True, _nrt=False)
def _blocked(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    departs: Departs,
    v: int,
    target: int,
    follower: int,
    leader: int,
    dt: float,
) -> tuple[bool, bool]:
    """(blocked by the target lane's leader, by its follower): their gaps to ``v``
    below the secure gaps (``MSLaneChanger::checkChange``)."""
    t = veh.vtype[v]
    pos = veh.pos[v]
    speed = veh.speed[v]
    back = pos - vt.length[t]
    by_leader = False
    by_follower = False
    if leader >= 0:
        tl = veh.vtype[leader]
        gap = veh.pos[leader] - vt.length[tl] - pos - vt.min_gap[t]
        need = secure_gap(speed, veh.speed[leader], vt.decel[t], vt.decel[tl], vt.tau[t], dt)
        by_leader = gap < 0.0 or gap < need
    if follower >= 0:
        tf = veh.vtype[follower]
        gap = back - veh.pos[follower] - vt.min_gap[tf]
        need = secure_gap(veh.speed[follower], speed, vt.decel[tf], vt.decel[t], vt.tau[tf], dt)
        by_follower = gap < 0.0 or gap < need
    else:
        decel = vt.decel[t]
        by_follower = approaching(net, lanes, veh, vt, departs, target, back, speed, decel, dt)
    return by_leader, by_follower


@numba.njit(cache=True, _nrt=False)
def _move_to(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    lc: LaneChange,
    v: int,
    target: int,
    follower: int,
    leader: int,
    dt: float,
) -> None:
    unlink(lanes, veh, v)
    link_between(lanes, veh, target, v, follower, leader)
    set_next_lane(net, lanes, veh, vt, v, dt)
    lc.speed_gain[v] = 0.0
    lc.keep_right[v] = 0.0


@numba.njit(cache=True, _nrt=False)
def _cooperate(
    veh: Vehicles,
    vt: VTypes,
    lc: LaneChange,
    v: int,
    follower: int,
    leader: int,
    left_space: float,
    remaining_s: float,
    to_left: bool,
    dt: float,
) -> None:
    """An urgent changer blocked on the target lane, ``left_space`` metres before the
    end of its lane, which it reaches in ``remaining_s`` seconds at LC2013's urgency.

    Blocked by the leader there (LC2013's ``informLeader``): it drives on past it while
    it is faster and has room to pass it before the lane end (its brake gap counted,
    ``overtakeDistance``), else it falls in behind it, slowing by at least
    ``MIN_FALLBEHIND`` and at most its deceleration, the speed difference spread over
    the remaining seconds. So a changer drives on beside a standing queue towards the
    lane end as SUMO's does, where it used to brake to a halt beside the queue's first
    car and hold the lane behind it (RESCO arterial4x4, seed 0: the through cars behind
    the left-turners waiting on ``nt15_nt14``'s lane 0 stood at 0-100 m; SUMO's, and
    twin's now, queue up to the stop line). Overtaking on the right is forbidden above
    60 km/h (``MSVehicle::congested``). Not ported: SUMO's speed advice that also holds a
    changer no faster than the leader it follows, blocked or not; with it twin's
    changers wait longer than SUMO's (seed 0 time loss twin/SUMO ingolstadt7 1.10-1.17
    against 0.93 without it; twin's change as a vehicle enters a lane,
    ``kernels.target_lane``, stands in for part of SUMO's changes). Blocked by the follower
    (``informFollower``): the follower lets it in if that costs no more than its
    comfortable braking, else the changer waits for it to pass."""
    t = veh.vtype[v]
    speed = veh.speed[v]
    decel = vt.decel[t]
    if leader >= 0:
        planned = min(speed, stop_speed(left_space, decel, vt.tau[t], dt))
        tl = veh.vtype[leader]
        lead_speed = veh.speed[leader]
        gap = veh.pos[leader] - vt.length[tl] - veh.pos[v] - vt.min_gap[t]
        overtake_m = max(
            0.0,
            gap
            + vt.length[tl]
            + vt.min_gap[tl]
            + vt.length[t]
            + secure_gap(lead_speed, speed, vt.decel[tl], decel, vt.tau[tl], dt),
        )
        dv = planned - lead_speed
        overtake_s = overtake_m / dv if dv > 0.0 else remaining_s + 1.0
        if not (
            dv < 0.0
            or (to_left and speed >= CONGESTED_SPEED_MPS)
            or left_space - _brake_gap_of(speed, decel, vt.tau[t], dt) < overtake_m
            or remaining_s < overtake_s
        ):
            return  # it overtakes the leader: the follower need not make room yet
        # Where the leader will be next tick if it brakes a little (dawdling).
        next_speed = lead_speed - max(1.0, -veh.accel[leader]) * dt
        next_gap = gap + (next_speed - planned) * dt
        follow = safe_speed(speed, max(next_speed, 0.0), max(next_gap, 0.0), decel, vt.tau[t], dt)
        target = max(speed - decel * dt, follow)
        if target < speed:
            fall = min(decel, max(MIN_FALLBEHIND_MPS2, (speed - target) / remaining_s))
            lc.cap[v] = min(lc.cap[v], planned, max(0.0, speed - fall * dt))
    if follower >= 0:
        tf = veh.vtype[follower]
        if lc.cooperative[tf] <= 0.0:
            return
        fs = veh.speed[follower]
        gap = veh.pos[v] - vt.length[t] - veh.pos[follower] - vt.min_gap[tf]
        let_in = safe_speed(fs, speed, gap, vt.decel[tf], vt.tau[tf], dt) if gap > 0 else 0.0
        # A follower already beside the changer (no gap) and no slower than it cannot
        # open a gap by braking: it passes (LC2013's informFollower, vhelp).
        if (gap > 0.0 or speed > fs) and let_in >= fs - vt.decel[tf] * dt:
            lc.cap[follower] = min(lc.cap[follower], let_in)
        else:
            lc.cap[v] = min(lc.cap[v], max(speed - vt.decel[t] * dt, 0.0))


@numba.njit(cache=True, _nrt=False)
def change_lanes(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    departs: Departs,
    lc: LaneChange,
    stops: scheduled_stops.Stops,
    dt: float,
) -> int:
    """At most one lane change per vehicle (none at a scheduled stop); the number of
    changes made.

    Lanes are visited in index order, each from its head (the vehicle nearest the stop
    line) back; a vehicle that changed is not looked at again this tick. Only lanes
    holding vehicles are visited (the occupied bits, read afresh at each step, so a
    lane a vehicle changed onto further on is visited as a walk over every lane would):
    an edge's lanes are numbered in a row and edges in order, so the order is the same.
    """
    changes = 0
    n_edges = len(net.edge_lanes)
    edge_lanes_end = (
        net.edge_lane_start[n_edges - 1] + net.edge_lanes[n_edges - 1] if n_edges else 0
    )
    lane = next_occupied(lanes, 0)
    while lane < edge_lanes_end:
        e = net.lane_edge[lane]
        n = net.edge_lanes[e]
        if n >= 2:
            start = net.edge_lane_start[e]
            v = lanes.head[lane]
            while v >= 0:
                nxt_v = veh.behind[v]
                if (
                    veh.lane[v] == lane
                    and not scheduled_stops.stopped(stops, v)
                    and _consider(net, lanes, veh, vt, departs, lc, stops, v, start, n, dt)
                ):
                    changes += 1
                    # It now sits on another lane; carry on behind where it was.
                v = nxt_v
        lane = next_occupied(lanes, lane + 1)
    return changes


@numba.njit(cache=True, _nrt=False, inline="always")
def _consider(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    departs: Departs,
    lc: LaneChange,
    stops: scheduled_stops.Stops,
    v: int,
    start: int,
    n: int,
    dt: float,
) -> bool:
    """LC2013's wish for ``v`` and, if the gaps allow, the change. True if it changed."""
    lane = veh.lane[v]
    i = lane - start
    t = veh.vtype[v]
    speed = veh.speed[v]
    pos = veh.pos[v]
    if not leads_on(net, veh, stops, v, lane):
        # Strategic: towards the nearest lane that leads on.
        best = -1
        for d in range(1, n):
            if i - d >= 0 and leads_on(net, veh, stops, v, lane - d):
                best = lane - d
                break
            if i + d < n and leads_on(net, veh, stops, v, lane + d):
                best = lane + d
                break
        if best < 0:
            return False
        target = lane - 1 if best < lane else lane + 1
        follower, leader = neighbours(lanes, veh, target, pos)
        by_leader, by_follower = _blocked(
            net, lanes, veh, vt, departs, v, target, follower, leader, dt
        )
        if not by_leader and not by_follower:
            _move_to(net, lanes, veh, vt, lc, v, target, follower, leader, dt)
            return True
        look = max(speed, LOOK_AHEAD_MIN_SPEED_MPS) * LOOK_FORWARD_S * lc.strategic[t]
        if target > lane:
            look *= LOOKAHEAD_LEFT
        left_space = net.lane_length[lane] - pos
        if scheduled_stops.stop_lane_on(stops, v, net.lane_edge[lane]) >= 0:
            # On the stop's lane: the room left is up to the stop.
            left_space = stops.at[v, scheduled_stops.START] - pos
        if left_space < look * abs(best - lane):
            remaining_s = max(
                dt,
                left_space / max(speed, LOOK_AHEAD_MIN_SPEED_MPS) / abs(best - lane) / URGENCY,
            )
            _cooperate(
                veh,
                vt,
                lc,
                v,
                follower if by_follower else -1,
                leader if by_leader else -1,
                left_space,
                remaining_s,
                target > lane,
                dt,
            )
        return False
    # On a lane that leads on: past a leader standing at a scheduled stop; speed gain and
    # keep right, towards lanes that lead on too (or past that leader).
    here_leader = veh.ahead[v]
    passes = here_leader >= 0 and scheduled_stops.stopped(stops, here_leader)
    if passes and _pass_stopped(net, lanes, veh, vt, departs, lc, stops, v, here_leader, i, n, dt):
        return True
    here_reach = _continues(net, veh, v, lane)
    here_accelerating = here_leader >= 0 and veh.accel[here_leader] > 0.0
    v_max = vehicle_lane_speed(net, veh, vt, v, lane)
    threshold_right = 2.0 * lc.keep_right_param[t] / max(lc.speed_gain_param[t], 1e-6)
    threshold_left = 0.2 / max(lc.speed_gain_param[t], 1e-6)
    if i > 0 and (
        (
            leads_on(net, veh, stops, v, lane - 1)
            and not reaches_less_far(net, veh, v, lane, lane - 1)
        )
        or (passes and _room_to_pass(net, veh, vt, v, lane - 1, here_leader))
    ):
        target = lane - 1
        follower, leader = neighbours(lanes, veh, target, pos)
        reach = _continues(net, veh, v, target)
        acc = here_accelerating or (leader >= 0 and veh.accel[leader] > 0.0)
        v_here = _lane_vsafe(net, veh, vt, v, lane, here_leader, here_reach, acc, dt)
        v_there = _lane_vsafe(net, veh, vt, v, target, leader, reach, acc, dt)
        gain = (v_there - v_here) / max(v_there, RELGAIN_NORMALIZATION_MIN_SPEED_MPS)
        want_right = False
        if v_here - RIGHT_DISCOUNT_MPS > v_there:
            if lc.speed_gain[v] < 0.0:
                lc.speed_gain[v] *= 0.5**dt
        else:
            if lc.speed_gain[v] < 0.0 or gain > 0.0:
                lc.speed_gain[v] -= dt * gain
            limit = net.lane_speed[lane]
            acceptance = KEEP_RIGHT_ACCEPTANCE * v_max * max(1.0, speed) / limit
            bg = _brake_gap_of(v_max, vt.decel[t], vt.tau[t], dt)
            full_gap = max(0.0, reach - bg)
            seconds = min(acceptance, full_gap / v_max)
            if leader >= 0 and veh.speed[leader] < v_max:
                tl = veh.vtype[leader]
                lgap = veh.pos[leader] - vt.length[tl] - pos - vt.min_gap[t]
                sg = secure_gap(v_max, veh.speed[leader], vt.decel[t], vt.decel[tl], vt.tau[t], dt)
                full_gap = max(0.0, min(full_gap, lgap - sg))
                seconds = min(seconds, full_gap / (v_max - veh.speed[leader]))
            delta = threshold_right * dt * (seconds / acceptance) / KEEP_RIGHT_TIME_S
            lc.keep_right[v] -= dt * delta
            want_right = lc.keep_right[v] * lc.keep_right_param[t] < -threshold_right
        far = reach / max(0.1, speed) > SPEED_GAIN_MIN_TIME_S
        want_right = want_right or (lc.speed_gain[v] < -threshold_right and far)
        if want_right and _try(net, lanes, veh, vt, departs, lc, v, target, follower, leader, dt):
            return True
    if i < n - 1 and (
        (
            leads_on(net, veh, stops, v, lane + 1)
            and not reaches_less_far(net, veh, v, lane, lane + 1)
        )
        or (passes and _room_to_pass(net, veh, vt, v, lane + 1, here_leader))
    ):
        target = lane + 1
        follower, leader = neighbours(lanes, veh, target, pos)
        reach = _continues(net, veh, v, target)
        acc = here_accelerating or (leader >= 0 and veh.accel[leader] > 0.0)
        v_here = _lane_vsafe(net, veh, vt, v, lane, here_leader, here_reach, acc, dt)
        v_there = _lane_vsafe(net, veh, vt, v, target, leader, reach, acc, dt)
        gain = (v_there - v_here) / max(v_there, RELGAIN_NORMALIZATION_MIN_SPEED_MPS)
        if v_here > v_there:
            if lc.speed_gain[v] > 0.0:
                lc.speed_gain[v] *= 0.5**dt
        elif v_here == v_there:
            if lc.speed_gain[v] > 0.0:
                lc.speed_gain[v] *= 0.8**dt
        else:
            lc.speed_gain[v] += dt * gain
        far = reach / max(0.1, speed) > SPEED_GAIN_MIN_TIME_S
        want_left = lc.speed_gain[v] > threshold_left and gain > 1e-9 and far
        if want_left and _try(net, lanes, veh, vt, departs, lc, v, target, follower, leader, dt):
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def _pass_stopped(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    departs: Departs,
    lc: LaneChange,
    stops: scheduled_stops.Stops,
    v: int,
    leader: int,
    i: int,
    n: int,
    dt: float,
) -> bool:
    """LC2013's strategic change past a leader standing at a scheduled stop within
    :data:`REACT_TO_STOPPED_M`: to a neighbour lane (the right one only below
    :data:`CONGESTED_SPEED_MPS`) on which, and on its own, the vehicle can drive past it
    (its gap, its own length, the leader's with its gap), unless a vehicle standing on
    that lane is nearer (src/microsim/lcmodels/MSLCM_LC2013.cpp ``_wantsChange``: "avoid
    becoming stuck behind a stopped leader"). True if it changed."""
    lane = veh.lane[v]
    t = veh.vtype[v]
    tl = veh.vtype[leader]
    pos = veh.pos[v]
    gap = veh.pos[leader] - vt.length[tl] - pos - vt.min_gap[t]
    if gap >= REACT_TO_STOPPED_M:
        return False
    overtake = gap + vt.length[t] + vt.length[tl] + vt.min_gap[tl]
    here = _continues(net, veh, v, lane)
    for side in (-1, 1):
        target = lane + side
        if target - (lane - i) < 0 or target - (lane - i) >= n:
            continue
        if side < 0 and veh.speed[v] >= CONGESTED_SPEED_MPS:
            continue
        if min(_continues(net, veh, v, target), here) <= overtake:
            continue
        follower, ahead = neighbours(lanes, veh, target, pos)
        if ahead >= 0 and scheduled_stops.stopped(stops, ahead):
            ahead_gap = veh.pos[ahead] - vt.length[veh.vtype[ahead]] - pos - vt.min_gap[t]
            if ahead_gap <= overtake:  # another stopped vehicle leaves no room to pass
                continue
        if _try(net, lanes, veh, vt, departs, lc, v, target, follower, ahead, dt):
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def _room_to_pass(
    net: NetArrays, veh: Vehicles, vt: VTypes, v: int, target: int, stopped_leader: int
) -> bool:
    """Whether ``v`` may leave its best lane for ``target`` to pass a leader standing at
    a scheduled stop: LC2013 then shortens its look-ahead to half of both vehicles'
    lengths with gaps and the gap between them, and stays only if twice the room left on
    ``target`` is less (src/microsim/lcmodels/MSLCM_LC2013.cpp ``_wantsChange``: "react
    to a stopped leader on the current lane"; ``stayOnBest`` does not hold then)."""
    t = veh.vtype[v]
    tl = veh.vtype[stopped_leader]
    gap = veh.pos[stopped_leader] - vt.length[tl] - veh.pos[v]
    look = 0.5 * (vt.length[t] + vt.min_gap[t] + vt.length[tl] + vt.min_gap[tl] + gap)
    return 2.0 * (net.lane_length[target] - veh.pos[v]) >= look


@numba.njit(cache=True, _nrt=False)
def _brake_gap_of(speed: float, decel: float, tau: float, dt: float) -> float:
    """SUMO's ``brakeGap(speed)`` with the reaction time: Euler braking plus ``v*tau``."""
    b = decel * dt
    steps = math.floor(speed / b)
    return dt * (steps * speed - b * steps * (steps + 1) / 2.0) + speed * tau


@numba.njit(cache=True, _nrt=False)
def _try(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    departs: Departs,
    lc: LaneChange,
    v: int,
    target: int,
    follower: int,
    leader: int,
    dt: float,
) -> bool:
    by_leader, by_follower = _blocked(net, lanes, veh, vt, departs, v, target, follower, leader, dt)
    if by_leader or by_follower:
        return False
    _move_to(net, lanes, veh, vt, lc, v, target, follower, leader, dt)
    return True
