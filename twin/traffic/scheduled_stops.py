"""Scheduled stops (SUMO's ``<stop>``): a vehicle halts on a lane, or at a stopping place
such as a ``<busStop>``, for a duration or until a time, then drives on.

The tick keeps them in :class:`Stops`: each vehicle's next stop in its row of ``at``
(the columns below), the stops after it in ``plan`` (one row per stop of the run,
chained by :data:`FOLLOWING`), and ``holders``, the trips that stop at all, which are
the only ones looked at: before the speeds of a tick (:func:`before_speeds`: the stop's
limit, through the lane-change cap the speed step reads), after them
(:func:`after_speeds`: who has arrived at a stop) and after the move
(:func:`after_move`: the tick's stop time in place of time loss and waiting). A run
without stops has empty arrays and the tick never looks, so the vehicle kernel itself
is unchanged. SUMO 1.28's rules, each from ``src/microsim/MSVehicle.cpp`` unless said
otherwise:

- **Approach** (``planMoveInternal``): the vehicle brakes to stop with its front at the
  stop's end (``MSStop::getEndPos``), never harder than its comfortable deceleration
  (``MAX2(stopSpeed, vMinComfortable)``: a stop is no emergency); at a stopping place
  behind the vehicles already stopped there (``MSStoppingPlace::getLastFreePos``: the
  back of the last one, less the vehicle's minimum gap).
- **Reached** (``processNextStop``): on the stop's lane with its new speed at most
  0.1 m/s and its front past the stop's start (a lane stop), or within 0.5 m of where
  it stops and fitting into the place (a stopping place: ``STOPPING_PLACE_OFFSET``,
  ``MSStoppingPlace::fits``).
- **Ends** (``MSStop::getMinDuration``): after ``duration``, and not before ``until``
  (``until`` alone: until then; passed already: one step). The vehicle stands for
  ``max(1, ceil(D / step))`` steps counting the one it arrived in and moves in the next.
- **Tripinfo** (``MSDevice_Tripinfo::notifyMove``): a stopped step counts to
  ``stopTime``, never to ``waitingTime`` or ``timeLoss``; slowing for the stop and
  speeding up after it lose no time either (SUMO 1.28: the time loss is measured
  against the speed from which the vehicle can still stop at the stop, and after it
  against a start from standstill at its full acceleration; measured with
  ``traci.vehicle.getTimeLoss``, step by step).
- **Lanes** (``updateBestLanes``): on the stop's edge only the stop's lane leads on
  (:func:`twin.traffic.lane_change.leads_on`), so the vehicle changes to it in time
  and does not leave it for speed; before that edge it chooses its lanes for the
  route alone (SUMO's best lanes end the others at the stop already). A stopped
  vehicle changes no lane and never teleports (its halted time stays 0, as SUMO's
  ``getWaitingTime``).

A vehicle that has passed its stop's edge (a teleport took it beyond) or its stop's end
without reaching it skips the stop, as SUMO does ("skips stop"), counted in
:data:`SKIPPED`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

# The module, not its names: the tick's kernels import this module in turn.
from twin.traffic import kernels
from twin.traffic.demand import ScheduledStop

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EDGE = 0
"""Column: the stop's route edge (-1: no stop ahead)."""
LANE = 1
"""Column: the stop's lane (twin's lane number)."""
START = 2
"""Column: where the stop begins on its lane (m)."""
END = 3
"""Column: where it ends (m): a lane stop's vehicle stops with its front there."""
PLACE = 4
"""Column: the stopping place, -1 for a stop on a lane."""
DURATION = 5
"""Column: ``duration`` (s), -1 if not given."""
UNTIL = 6
"""Column: ``until`` (s, the run's clock), -1 if not given."""
FOLLOWING = 7
"""Column: the row of ``stop_plan`` with the stop after this one (-1: none)."""
PLAN_COLUMNS = 8
"""Columns of ``plan`` (the above); ``at`` adds the state below."""
ENDS = 8
"""Column of ``at``: when the vehicle stands at its stop, the start of the tick in
which it drives on; NaN while it is not stopped."""
REFERENCE = 9
"""Column of ``at``: this tick's speed against which its time loss is measured
(``inf``: the lane's allowed speed alone)."""
RAMP = 10
"""Column of ``at``: the reference speed of a start from a stop, growing by the
vehicle's acceleration each tick (``inf``: none)."""
STOPPED_S = 11
"""Column of ``at``: seconds stopped over the trip (tripinfo ``stopTime``)."""
SKIPPED = 12
"""Column of ``at``: stops the vehicle passed without reaching them."""
HALTING_BEFORE = 13
"""Column of ``at``: whether the vehicle was halting before this tick's move (1.0)."""
STOP_AT_COLUMNS = 14


class Stops(NamedTuple):
    """The run's scheduled stops: ``at[v]``, vehicle ``v``'s next stop and its state;
    ``plan``, every stop of the run; ``holders``, the trips with a stop (ascending)."""

    at: FloatArray
    plan: FloatArray
    holders: IntArray


NUMERICAL_EPS_M = 0.001
"""SUMO's ``NUMERICAL_EPS``: the stop point lies this far beyond the stop's end."""
LANE_END_MARGIN_M = 1e-6
"""How far short of its lane's end a vehicle stops whose stop point is that end."""
STOPPING_PLACE_OFFSET_M = 0.5
"""SUMO's ``STOPPING_PLACE_OFFSET``: how close to its place a vehicle has stopped."""


@numba.njit(cache=True, _nrt=False)
def target_m(
    lanes: kernels.Lanes, veh: kernels.Vehicles, vt: kernels.VTypes, stops: Stops, v: int
) -> float:
    """Where vehicle ``v``'s front stops on its stop's lane: the stop's end, or at a
    stopping place behind the backs of the vehicles stopped there
    (``MSStoppingPlace::getLastFreePos``)."""
    row = stops.at[v]
    if row[PLACE] < 0:
        return row[END]
    free = math.inf
    u = lanes.head[int(row[LANE])]
    while u >= 0:
        if u != v and stops.at[u, PLACE] == row[PLACE] and not math.isnan(stops.at[u, ENDS]):
            free = min(free, veh.pos[u] - vt.length[veh.vtype[u]])
        u = veh.behind[u]
    if free == math.inf:
        return row[END]
    return free - vt.min_gap[veh.vtype[v]] - NUMERICAL_EPS_M


@numba.njit(cache=True, _nrt=False)
def _via_m(net: kernels.NetArrays, edge: int, to_edge: int) -> float:
    """Length of the first connection from a lane of ``edge`` onto ``to_edge`` (0 if none)."""
    first = net.edge_lane_start[edge]
    for lane in range(first, first + net.edge_lanes[edge]):
        m = kernels.find_movement(net, lane, to_edge)
        if m >= 0:
            return net.lane_length[net.mov_lane[m]]
    return 0.0


@numba.njit(cache=True, _nrt=False)
def distance_m(
    net: kernels.NetArrays,
    veh: kernels.Vehicles,
    stop_edge: int,
    v: int,
    target: float,
    horizon: float,
) -> float:
    """Metres from vehicle ``v``'s front to ``target`` on ``stop_edge`` along its route,
    the edges' lanes taken as long as their first; ``inf`` if further than ``horizon``
    or not ahead on the route."""
    lane = veh.lane[v]
    k = veh.route_k[v]
    dist = net.lane_length[lane] - veh.pos[v]
    if net.lane_movement[lane] < 0:
        here = kernels.route_edge(veh, v, k)
        if here == stop_edge:
            return target - veh.pos[v]
    else:  # on an internal lane into route edge k + 1
        here = kernels.route_edge(veh, v, k + 1)
        if here == stop_edge:
            return dist + target
        dist += net.lane_length[net.edge_lane_start[here]]
        k += 1
    while dist <= horizon:
        k += 1
        e = kernels.route_edge(veh, v, k)
        if e < 0:
            return math.inf
        dist += _via_m(net, here, e)
        if e == stop_edge:
            return dist + target
        dist += net.lane_length[net.edge_lane_start[e]]
        here = e
    return math.inf


@numba.njit(cache=True, _nrt=False)
def _still_ahead(veh: kernels.Vehicles, v: int, edge: int) -> bool:
    """Whether ``edge`` is on the rest of ``v``'s route (its current edge included)."""
    for j in range(veh.route_start[v] + veh.route_k[v], veh.route_end[v]):
        if veh.route_edges[j] == edge:
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def _next(stops: Stops, v: int) -> None:
    """Vehicle ``v`` is done with its stop: the next one of its plan becomes its stop."""
    row = stops.at[v]
    following = int(row[FOLLOWING])
    if following >= 0:
        for column in range(PLAN_COLUMNS):
            row[column] = stops.plan[following, column]
    else:
        row[EDGE] = -1.0
    row[ENDS] = math.nan


@numba.njit(cache=True, _nrt=False)
def stop_limit(
    net: kernels.NetArrays,
    lanes: kernels.Lanes,
    veh: kernels.Vehicles,
    vt: kernels.VTypes,
    stops: Stops,
    v: int,
    now_s: float,
    dt: float,
) -> float:
    """The speed limit of vehicle ``v`` from its scheduled stop in the tick from
    ``now_s``: 0 while it stands at the stop; approaching it, the speed from which it
    stops at its stop point, at least its speed less a comfortable deceleration. Ends a
    stop that is over and skips one the vehicle has passed; sets the tick's time-loss
    reference (:data:`REFERENCE`)."""
    row = stops.at[v]
    t = veh.vtype[v]
    if not math.isnan(row[ENDS]):
        if now_s < row[ENDS] - 1e-9:
            row[REFERENCE] = math.inf
            return 0.0
        _next(stops, v)
        row[RAMP] = 0.0
    reference = math.inf
    if row[RAMP] < math.inf:
        ramp = row[RAMP] + vt.accel[t] * dt
        row[RAMP] = ramp if ramp < vt.vmax[t] else math.inf
        reference = ramp
    limit = math.inf
    while row[EDGE] >= 0:
        lane = veh.lane[v]
        stop_edge = int(row[EDGE])
        on_edge_lane = net.lane_movement[lane] < 0
        if on_edge_lane and not _still_ahead(veh, v, stop_edge):
            row[SKIPPED] += 1.0
            _next(stops, v)
            continue
        target = target_m(lanes, veh, vt, stops, v)
        if (
            on_edge_lane
            and kernels.route_edge(veh, v, veh.route_k[v]) == stop_edge
            and veh.pos[v] > max(target, row[END]) + kernels.POSITION_EPS_M
        ):
            row[SKIPPED] += 1.0
            _next(stops, v)
            continue
        decel = vt.decel[t]
        allowed = min(net.lane_speed[lane] * veh.speed_factor[v], vt.vmax[t])
        horizon = allowed * dt + allowed * allowed / (2.0 * decel) + kernels.POSITION_EPS_M
        # SUMO aims NUMERICAL_EPS past the stop point; at a lane's end that would take
        # twin's vehicle onto the next lane (SUMO's does not leave a lane without a link
        # it announced, and it announces none beyond its stop): aim just short of the end.
        point = min(target + NUMERICAL_EPS_M, net.lane_length[int(row[LANE])] - LANE_END_MARGIN_M)
        dist = distance_m(net, veh, stop_edge, v, point, horizon)
        if dist < math.inf:
            # SUMO's Krauss stopSpeed has the action step as its headway.
            safe = kernels.stop_speed(max(dist, 0.0), decel, dt, dt)
            limit = max(safe, veh.speed[v] - decel * dt)
            reference = min(reference, safe)
        break
    row[REFERENCE] = reference
    return limit


@numba.njit(cache=True, _nrt=False)
def min_duration_s(duration: float, until: float, at_s: float) -> float:
    """How long a stop reached at ``at_s`` lasts at least (``MSStop::getMinDuration``):
    ``duration``, and up to ``until`` if given (either may be -1: not given)."""
    if until >= 0.0:
        if duration < 0.0:
            return until - at_s
        return max(duration, until - at_s)
    return duration


@numba.njit(cache=True, _nrt=False)
def arrive(
    lanes: kernels.Lanes,
    veh: kernels.Vehicles,
    vt: kernels.VTypes,
    stops: Stops,
    v: int,
    new_speed: float,
    now_s: float,
    dt: float,
) -> None:
    """Vehicle ``v``, about to drive at ``new_speed`` in the tick from ``now_s``, has
    reached its stop if it is slow enough, on the stop's lane and where it stops; its
    stop then lasts ``max(1, ceil(D / dt))`` ticks from this one (SUMO's step that
    starts the stop is this tick's end, ``now_s + dt``)."""
    row = stops.at[v]
    if row[EDGE] < 0 or not math.isnan(row[ENDS]) or new_speed > kernels.HALTING_SPEED_MPS:
        return
    if veh.lane[v] != int(row[LANE]):
        return
    pos = veh.pos[v]
    if row[PLACE] < 0:
        if pos < row[START] - NUMERICAL_EPS_M:
            return
    else:
        target = target_m(lanes, veh, vt, stops, v)
        if target - pos > STOPPING_PLACE_OFFSET_M + NUMERICAL_EPS_M:
            return
        fits = (
            target + kernels.POSITION_EPS_M >= row[END]
            or target - row[START] >= vt.length[veh.vtype[v]] / 2.0
        )
        if not fits:
            return
    lasts = min_duration_s(row[DURATION], row[UNTIL], now_s + dt)
    ticks = max(1.0, math.ceil(lasts / dt - 1e-9))
    row[ENDS] = now_s + ticks * dt
    row[RAMP] = math.inf


@numba.njit(cache=True, _nrt=False)
def before_speeds(
    net: kernels.NetArrays,
    lanes: kernels.Lanes,
    veh: kernels.Vehicles,
    vt: kernels.VTypes,
    stops: Stops,
    cap: FloatArray,
    now_s: float,
    dt: float,
) -> None:
    """Before the tick's speeds: each stopping vehicle's limit from its stop goes into
    ``cap`` (the lane-change cap the speed step takes as a limit and resets), and its
    halting state is kept for :func:`after_move`."""
    for v in stops.holders:
        if veh.state[v] != kernels.DRIVING:
            continue
        cap[v] = min(cap[v], stop_limit(net, lanes, veh, vt, stops, v, now_s, dt))
        stops.at[v, HALTING_BEFORE] = 1.0 if veh.halting[v] else 0.0


@numba.njit(cache=True, _nrt=False)
def after_speeds(
    lanes: kernels.Lanes,
    veh: kernels.Vehicles,
    vt: kernels.VTypes,
    stops: Stops,
    new_speed: FloatArray,
    now_s: float,
    dt: float,
) -> None:
    """After the tick's speeds (``new_speed``, before the move): who arrives at a stop."""
    for v in stops.holders:
        if veh.state[v] == kernels.DRIVING:
            arrive(lanes, veh, vt, stops, v, new_speed[v], now_s, dt)


@numba.njit(cache=True, _nrt=False)
def after_move(
    net: kernels.NetArrays, veh: kernels.Vehicles, vt: kernels.VTypes, stops: Stops, dt: float
) -> None:
    """After the move, which booked time loss against the lane's allowed speed and
    waiting below 0.1 m/s: a vehicle at its stop books stop time instead (and keeps its
    halting state and a halted time of 0), one slowing for a stop or starting from one
    books its time loss against the reference speed (:data:`REFERENCE`)."""
    for v in stops.holders:
        if veh.state[v] != kernels.DRIVING:
            continue
        row = stops.at[v]
        vn = veh.speed[v]
        t = veh.vtype[v]
        allowed = min(net.lane_speed[veh.lane[v]] * veh.speed_factor[v], vt.vmax[t])
        booked = dt * max(0.0, 1.0 - vn / allowed)
        if not math.isnan(row[ENDS]):
            veh.time_loss_s[v] -= booked
            row[STOPPED_S] += dt
            if vn <= kernels.HALTING_SPEED_MPS:
                veh.waiting_s[v] -= dt
                was = row[HALTING_BEFORE] > 0.0
                if not was:
                    veh.stops[v] -= 1
                veh.halting[v] = was
            veh.halted_s[v] = 0.0
        elif row[REFERENCE] < allowed:
            reference = row[REFERENCE]
            veh.time_loss_s[v] += (
                dt * max(0.0, 1.0 - vn / reference) if reference > 0.0 else 0.0
            ) - booked


@numba.njit(cache=True, _nrt=False)
def stopped(stops: Stops, v: int) -> bool:
    """Whether vehicle ``v`` stands at a scheduled stop (``False`` in a run without)."""
    return len(stops.at) > 0 and not math.isnan(stops.at[v, ENDS])


@numba.njit(cache=True, _nrt=False)
def stop_lane_on(stops: Stops, v: int, edge: int) -> int:
    """The lane of vehicle ``v``'s next stop if that stop is on ``edge`` (-1 otherwise)."""
    if len(stops.at) == 0 or stops.at[v, EDGE] != edge:
        return -1
    return int(stops.at[v, LANE])


def stop_arrays(
    stops: Sequence[Sequence[ScheduledStop]] | None, edge_lane_start: IntArray
) -> Stops:
    """:class:`Stops` of the trips: each trip's first stop in its row of ``at`` (no stop:
    edge -1), all stops in ``plan``, each chained to the one after it; empty arrays when
    no trip stops."""
    if stops is None or not any(stops):
        return Stops(
            np.zeros((0, STOP_AT_COLUMNS)), np.zeros((0, PLAN_COLUMNS)), np.zeros(0, np.int64)
        )
    rows = [
        [s.edge, edge_lane_start[s.edge] + s.lane, s.start_m, s.end_m, s.place, s.duration_s,
         s.until_s, -1.0]
        for trip in stops
        for s in trip
    ]  # fmt: skip
    plan = np.array(rows, dtype=np.float64)
    at = np.zeros((len(stops), STOP_AT_COLUMNS))
    at[:, EDGE] = -1.0
    at[:, ENDS] = math.nan
    at[:, REFERENCE] = math.inf
    at[:, RAMP] = math.inf
    first = 0
    for k, trip in enumerate(stops):
        if trip:
            plan[first : first + len(trip) - 1, FOLLOWING] = np.arange(first + 1, first + len(trip))
            at[k, :PLAN_COLUMNS] = plan[first]
        first += len(trip)
    holders = np.array([k for k, trip in enumerate(stops) if trip], dtype=np.int64)
    return Stops(at, plan, holders)
