"""The vehicle kernel: one tick of every vehicle in the city, in compiled code.

Vehicles are a struct of arrays indexed by trip (:class:`Vehicles`); each lane keeps its
vehicles as a doubly linked list from its head (nearest the stop line) to its tail
(``ahead``/``behind``), so no per-tick sorting is needed: vehicles never overtake inside
a lane and leave it at the head; they enter at the tail from a junction, and anywhere
along it by insertion or a lane change, linked in at their position
(:mod:`twin.traffic.insertion`, :mod:`twin.traffic.lane_change`).

A tick: insert waiting trips (0), new speeds (1), moves (2), on to the next lane or
arrive (3), gaps restored (4), lane changes (5) -- SUMO's order within a step, with its
insertion at the end of one step being the start of the next tick here.

Speed: Numba passes the network, lane, vehicle and type tuples (about 150 arrays) by
value to every function it does not inline, about a thousand stack words a call. The
functions called per vehicle and tick (:func:`_limit`, :func:`_advance`,
``lane_change._consider``, and those a vehicle near a junction calls) are therefore
``inline="always"``: on RESCO's cities those pushes were 38% of the run's samples.

Car following is the Krauss model (Krauß 1998), SUMO's default, chosen over IDM so that
twin's numbers compare with SUMO's on the same network (the fidelity check) and because
its safe speed makes collision-freedom a property of the model rather than of the time
step. Per tick ``dt``, with the leader's speed ``vl``, the gap ``g`` (front of the
follower to the back of the leader minus the minimum gap) and SUMO's defaults::

    v_safe = vl + (g - vl*tau) / ((v + vl) / (2*b) + tau)
    v_max  = min(v + a*dt, speed_limit * speed_factor, v_type_max, v_safe)
    v_dawdle = max(0, v_max - sigma * dt * (a if v_max >= a else v_max) * r)   # r ~ U[0,1)
    v_next = max(v_dawdle, v - b*dt)   unless v_max < v - b*dt (then the harder brake)

``r`` is drawn *outside* the kernel (stream ``traffic.dawdle``) and passed in
(``dawdle``, one value per vehicle on the network, consumed in lane order). Positions
advance by Euler, ``x += v_next * dt`` (SUMO's default update).

Stop lines: a vehicle whose next movement is red stops at the stop line (and cannot pass
it: its speed is also capped at ``distance / dt``); at yellow it stops if it can do so
with its comfortable deceleration, else it goes; at ``'s'`` (:data:`STOP`) it first
halts at the line; under any green it stops while a foe it yields to (the junction's
response, whatever the letter) is in the junction or will reach its stop line within
:data:`CRITICAL_GAP_S` (a foe inside the junction holds it until it has passed the
crossing, :func:`in_conflict`); and it does not enter a junction the far side of which
has no room for it while it can still stop (SUMO's junction-blocking avoidance,
:func:`withdraws`), which is how queues spill back.

Arrival: when the front passes the end of the last edge of its route (SUMO's
``arrivalPos="max"``). Insertion, at the start of each tick, before anyone moves: each
waiting trip tries once, with its depart lane, position and speed and SUMO's checks
(:mod:`twin.traffic.insertion`).

Trip statistics follow SUMO's tripinfo: ``time_loss`` grows by ``dt * (1 - v/v_ideal)``
with ``v_ideal`` the vehicle's own allowed speed; ``waiting`` counts time at
``v <= 0.1 m/s`` and ``stops`` the number of times it started waiting. Emissions per
tick from :mod:`twin.traffic.emissions` (each class's HBEFA3/HBEFA4 rule) at the new
speed and acceleration.

Several ticks per call: :func:`run_ticks` releases due trips and calls :func:`step` tick
after tick, for as long as nothing else in the simulation is due (the city tells it the
next signal event and the next SimPy event), so the state after ``k`` ticks is the one
``k`` separate calls would give, bit for bit.

Speed: every kernel is compiled with ``_nrt=False`` (no reference counting). The state
is passed as named tuples of arrays; with reference counting on, Numba increments and
decrements (atomically) the count of every array it takes out of a tuple in every
helper call, which cost three quarters of the kernel's time on the 10x10 city (1.2 ms
against 0.29 ms a tick at ~600 vehicles). The kernels never allocate, so they need no
reference counting: scratch space, if any, lives in the state.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np
import numpy.typing as npt

from twin.core.jit import drop_stale_numba_cache
from twin.traffic.emissions import tick_rates_mg_s
from twin.traffic.loops import loop_arrive, loop_move, no_loops

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PENDING, WAITING, DRIVING, ARRIVED, TELEPORTING, DISCARDED = 0, 1, 2, 3, 4, 5
"""Vehicle states: trip not yet due; due but waiting to be inserted; on the network;
arrived; teleporting out of a jam (off the lanes, :mod:`twin.traffic.teleport`);
discarded, never inserted within SUMO's ``max-depart-delay``
(:func:`twin.traffic.insertion.insert_pending`)."""
RED, YELLOW, PERMISSIVE, PROTECTED, STOP, OFF_BLINKING, OFF = 0, 1, 2, 3, 4, 5, 6
MAJOR, MINOR, EQUAL, ALLWAY_STOP, ZIPPER = 7, 8, 9, 10, 11
"""State of a movement: SUMO's link states (src/utils/xml/SUMOXMLDefinitions.h).
Signals: ``'r'``, ``'y'``, ``'g'``, ``'G'``, ``'s'`` (stop at the line, then go as a
minor link: right on red), ``'o'`` (light off, blinking), ``'O'`` (light off).
Unsignalised junctions: ``'M'`` major (priority road), ``'m'`` minor, ``'='``
(right before left), ``'w'`` (all-way stop: stop, then first come first served),
``'Z'`` (zipper: alternate). Every state but red and yellow gives way to the foes the
junction's response makes the movement yield to (src/microsim/MSLink.cpp ``opened``)."""
STATE_LETTERS = "rygGsoOMm=wZ"
"""The letter of each state code, by code."""
HALTING_SPEED_MPS = 0.1
"""SUMO's halting threshold (tripinfo ``waitingTime``, lane-area ``jamThreshold``)."""
CRITICAL_GAP_S = 4.1
"""A permissive left turn goes only if every foe is further than this from the junction
(HCM 2010 critical headway of a left turn from the major street)."""
NO_CONTINUATION = -2
"""``next_lane`` of a vehicle whose lane has no connection to the next edge of its
route: it stops at the lane's end until it has changed lanes (-1: its route ends)."""
LOOKAHEAD_MIN_M = 30.0
LANE_CHOICE_ROOM_M = 7.5
"""A vehicle leaves its connection's target lane for a lane with more room than this
(one default car and its gap) more: twin's stand-in for SUMO's lane changes between
junctions (modelling choice)."""
TIMEGAP_MINOR_S = 1.0
"""A minor link goes only if no foe arrives before it has left the junction plus this
(SUMO's ``jmTimegapMinor`` default, MSLink::blockedByFoe)."""
VISIBILITY_M = 4.5
"""A vehicle on a minor link approaches slowly enough to stop at the line until it is
this close (netconvert's default connection ``visibility``, SUMO's
MSVehicle::planMoveInternal ``determinedFoePresence``)."""
TIME_TO_IMPATIENCE_S = 180.0
"""A vehicle's impatience grows to 1 over this much waiting (SUMO's
``--time-to-impatience`` default, MSVehicle::getImpatience; twin counts the trip's
waiting time so far)."""
STOP_LINE_REACH_M = 1.0
"""A vehicle halted within this of the stop line has stopped at it (SUMO's
``jmStoplineGap`` default, src/utils/vehicle/SUMOVTypeParameter.cpp)."""
POSITION_EPS_M = 0.1
"""SUMO's ``POSITION_EPS`` (src/utils/common/StdDefs.h)."""
BEST_LANES_LOOK_AHEAD_M = 3000.0
"""How far along its route a vehicle looks when it chooses a connection (SUMO's best
lanes, src/microsim/MSVehicle.cpp ``updateBestLanes``)."""
BEST_LANES_LOOK_AHEAD_EDGES = 8
"""The most route edges past the next that this look-ahead follows."""
REACH_CACHE = 8
"""Entries of each vehicle's :func:`reach_m` cache (a power of two)."""
SPEED_EPS = 1e-4
"""A planned speed below this is none (SUMO's ``NUMERICAL_EPS_SPEED`` at a 1 s step,
src/utils/common/StdDefs.h)."""
CRLL_LOOK_AHEAD = 5
"""The junction-blocking rule looks this many vehicle lengths of lanes beyond a junction
ahead (src/microsim/MSVehicle.cpp ``CRLL_LOOK_AHEAD``)."""
STOP_LOOP, UPSTREAM_LOOP = 0, 1
# Slots of the ``counters`` array that :class:`twin.traffic.city.City` keeps between
# kernel calls (:func:`step` and :func:`run_ticks` read and write them).
WAITING_TRIPS = 0
"""Trips released and waiting to be inserted (the first ones of ``pending``)."""
VEHICLES_ON_NETWORK = 1
"""Vehicles on the network."""
ARRIVALS_THIS_TICK = 2
"""Arrivals of the last tick (the first ones of ``arrived`` of that tick)."""
EMERGENCY_BRAKES = 3
"""Brakings harder than the vehicle's ``decel`` (cumulative)."""
INSERTIONS_THIS_TICK = 4
"""Trips inserted in the last tick."""
NEXT_DAWDLE = 5
"""Index of the next unused dawdling uniform."""
TRIPS_RELEASED = 6
"""Trips released into the insertion queue so far (trip order is departure order)."""
VEHICLE_UPDATES = 7
"""Vehicles on the network summed over ticks (SUMO's vehicle updates)."""
ARRIVALS_THIS_CALL = 8
"""Arrivals of all ticks of the last :func:`run_ticks` call (in ``arrived``, in order)."""
LANE_CHANGES = 9
"""Lane changes (cumulative)."""
TELEPORTS = 10
"""Vehicles teleported out of a jam (cumulative; :mod:`twin.traffic.teleport`)."""
IN_TRANSFER = 11
"""Vehicles teleporting now (the first ones of ``Transfer.queue``)."""
TICK_COUNTERS = 12
"""Length of the ``counters`` array."""
_NO_LOOPS = no_loops()
_NO_ACTUATION = np.zeros(0)


class NetArrays(NamedTuple):
    """The network in the kernel's terms (see :class:`twin.traffic.network.NetworkArrays`).

    ``mov_to_lane[m]``: the edge lane movement ``m`` enters (SUMO's connection target
    lane), or -1 when the vehicle chooses it. ``yield_mutual[k]``: foe ``yield_to[k]``
    yields to the movement too (then a major state, ``'G'``/``'O'``, goes first).
    ``det_pos_m[l, k]``: position on lane
    ``l`` of its stop-line loop (k=0) and its upstream loop (k=1). ``yield_clear_m[k]``:
    a vehicle of foe ``yield_to[k]`` whose back is this far along its path through the
    junction has passed the crossing (``Intersection.clear_m``). ``mov_keep_clear[m]``: 1
    when a vehicle keeps movement ``m``'s junction clear (SUMO's ``MSVehicle::keepClear``:
    the link has foes and is not ``keepClear="0"``). ``mov_internal_stop_m[m]``: where
    along movement ``m``'s internal lane its internal junction is (0: none), negative
    where that junction's link is major (``Movement.internal_stop_m``).
    ``inside_*``: as ``yield_*``, the foes a turn minds at its internal junction (of
    a movement without one: its link leaders, :func:`link_leader_ahead`);
    ``inside_approach[k]``: 1 when a vehicle approaching that foe's line holds it too;
    ``inside_from_m[k]``: a vehicle on the foe's path holds it once its front is past
    this point (``-inf``: anywhere).
    """

    lane_length: FloatArray
    lane_speed: FloatArray
    lane_edge: IntArray
    lane_movement: IntArray
    edge_lane_start: IntArray
    edge_lanes: IntArray
    lane_out_start: IntArray
    out_movements: IntArray
    mov_to_edge: IntArray
    mov_from_lane: IntArray
    mov_lane: IntArray
    yield_start: IntArray
    yield_to: IntArray
    det_pos_m: FloatArray
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


class VTypes(NamedTuple):
    """Vehicle-type parameters, one entry per type (see ``demand.VehicleType``)."""

    length: FloatArray
    min_gap: FloatArray
    accel: FloatArray
    decel: FloatArray
    emergency_decel: FloatArray
    vmax: FloatArray
    sigma: FloatArray
    tau: FloatArray
    emission_class: IntArray


class Vehicles(NamedTuple):
    """Every trip of the run, by trip index. Routes: ``route_edges[route_start[k]:route_end[k]]``
    (a trip SUMO routes when it departs gets a new slice, :mod:`twin.traffic.rerouting`).

    ``waiting_s``: seconds halted over the whole trip (tripinfo ``waitingTime``);
    ``halted_s``: seconds halted since the vehicle last moved (SUMO's
    ``MSVehicle::getWaitingTime``, from which its impatience grows); ``back_lane``: the
    lane it drove off last, where its back may still be (-1 after an insertion, a lane
    change or a teleport); ``reach_lane``/``reach_k``/``reach_cached_m``: a small cache
    of :func:`reach_m` per vehicle (a pure function of the route, the lane and the route
    edge; -1: empty; cleared when the vehicle is rerouted); ``arrive_pos_m``: where on its
    last edge each trip arrives (SUMO's ``arrivalPos``; ``inf``: the lane's end), or an
    empty array when every trip arrives at the end (the tick then never looks)."""

    state: npt.NDArray[np.int8]
    lane: IntArray
    pos: FloatArray
    speed: FloatArray
    accel: FloatArray
    ahead: IntArray
    behind: IntArray
    next_lane: IntArray
    back_lane: IntArray
    reach_lane: IntArray
    reach_k: IntArray
    reach_cached_m: FloatArray
    route_k: IntArray
    route_start: IntArray
    route_end: IntArray
    route_edges: IntArray
    vtype: IntArray
    speed_factor: FloatArray
    depart_s: FloatArray
    insert_s: FloatArray
    arrive_s: FloatArray
    arrive_pos_m: FloatArray
    time_loss_s: FloatArray
    waiting_s: FloatArray
    halted_s: FloatArray
    stops: IntArray
    halting: npt.NDArray[np.bool_]
    dist_m: FloatArray
    co2_mg: FloatArray
    fuel_mg: FloatArray
    nox_mg: FloatArray


class Lanes(NamedTuple):
    """Per-lane lists and measurements (every lane: edge lanes, then internal lanes).

    ``count``/``halting``: vehicles now, and those at <= 0.1 m/s; ``queue_sum``/
    ``queue_max``: sum and maximum of ``halting`` over ticks; ``det_*[l, k]``: loop
    detector k of lane l: vehicles passed, sum of their speeds, ticks occupied, time of
    the last passage. ``loop_*``: the user's induction loops (a
    :class:`twin.traffic.loops.LoopState`'s arrays; none by default).
    ``insert_failed``: the insertion step's scratch, a lane on which an insertion failed
    this tick (the kernels allocate nothing). ``occupied``: a bit per lane
    (:data:`OCCUPIED_BITS` lanes per word), set when a vehicle enters the lane and
    cleared by the move step once the lane is empty, so the per-tick walks visit the
    lanes that hold vehicles (and a few just emptied) in index order, not every lane
    (:func:`next_occupied`). ``act_*``: the loops of SUMO's actuated traffic lights
    (:func:`actuation_move`; none by default).
    """

    head: IntArray
    tail: IntArray
    count: IntArray
    halting: IntArray
    queue_sum: FloatArray
    queue_max: IntArray
    det_count: IntArray
    det_speed_sum: FloatArray
    det_occupied: IntArray
    det_last_s: FloatArray
    insert_failed: npt.NDArray[np.bool_]
    occupied: IntArray
    loop_start: IntArray = _NO_LOOPS.start
    loop_pos_m: FloatArray = _NO_LOOPS.pos_m
    loop_length_m: FloatArray = _NO_LOOPS.length_m
    loop_acc: FloatArray = _NO_LOOPS.acc
    loop_held: IntArray = _NO_LOOPS.held
    loop_remaining_m: FloatArray = _NO_LOOPS.remaining_m
    act_pos_m: FloatArray = _NO_ACTUATION
    act_on_s: FloatArray = _NO_ACTUATION
    act_left_s: FloatArray = _NO_ACTUATION


class Snapshots(NamedTuple):
    """The detector state the kernel copies in the middle of a batch, for the city's own
    sensor feeds, which sample while the city has run ahead of them
    (:class:`twin.traffic.feeds.OwnFeeds`).

    ``queue_s``: the times (ascending; ``inf`` after the last) at which the queue feed
    samples; before the first tick at or after each, ``halting`` of the edge lanes is
    copied into that row of ``queue_halting`` (the state a sample at that time sees).
    ``loop_s`` likewise for the loop feeds: ``det_count``, ``det_speed_sum`` and
    ``det_occupied`` of the edge lanes into ``loop_count``, ``loop_speed_sum``,
    ``loop_occupied``. ``taken``: the rows written of each (queue, loops).
    """

    queue_s: FloatArray
    queue_halting: IntArray
    loop_s: FloatArray
    loop_count: IntArray
    loop_speed_sum: FloatArray
    loop_occupied: IntArray
    taken: IntArray


def snapshots(n_edge_lanes: int, rows: int) -> Snapshots:
    """Room for ``rows`` samples of each kind of ``n_edge_lanes`` lanes, none due."""
    return Snapshots(
        np.full(rows, math.inf),
        np.zeros((rows, n_edge_lanes), dtype=np.int64),
        np.full(rows, math.inf),
        np.zeros((rows, n_edge_lanes, 2), dtype=np.int64),
        np.zeros((rows, n_edge_lanes, 2)),
        np.zeros((rows, n_edge_lanes, 2), dtype=np.int64),
        np.zeros(2, dtype=np.int64),
    )


@numba.njit(cache=True, _nrt=False)
def take_snapshots(snaps: Snapshots, lanes: Lanes, now_s: float) -> None:
    """Before the tick at ``now_s``: copy what the samples due by then see."""
    n = snaps.queue_halting.shape[1]
    k = snaps.taken[0]
    while k < len(snaps.queue_s) and snaps.queue_s[k] <= now_s:
        for lane in range(n):
            snaps.queue_halting[k, lane] = lanes.halting[lane]
        k += 1
    snaps.taken[0] = k
    k = snaps.taken[1]
    while k < len(snaps.loop_s) and snaps.loop_s[k] <= now_s:
        for lane in range(n):
            for d in range(2):
                snaps.loop_count[k, lane, d] = lanes.det_count[lane, d]
                snaps.loop_speed_sum[k, lane, d] = lanes.det_speed_sum[lane, d]
                snaps.loop_occupied[k, lane, d] = lanes.det_occupied[lane, d]
        k += 1
    snaps.taken[1] = k


@numba.njit(cache=True, _nrt=False)
def copied_rows(due_s: FloatArray, taken: int, times: FloatArray, rows: IntArray) -> None:
    """For each of ``times`` (ascending), the row of ``due_s[:taken]`` (the times of the
    kernel's copies, ascending) that equals it, or -1 (not copied: the live state)."""
    k = 0
    for r in range(times.shape[0]):
        while k < taken and due_s[k] < times[r]:
            k += 1
        rows[r] = k if k < taken and due_s[k] == times[r] else -1


# -- small pure helpers ----------------------------------------------------------------


@numba.njit(cache=True, _nrt=False)
def stop_speed(gap: float, decel: float, tau: float, dt: float) -> float:
    """Largest speed ``x`` for this tick from which the vehicle still stops within
    ``gap``: it covers ``x * tau`` (reaction), then brakes by ``decel`` every tick (Euler
    steps ``x - k*decel*dt``). The distance is piecewise linear in ``x``; the branch with
    ``n`` braking steps gives ``x = (gap + dt*B*n(n+1)/2) / (tau + dt*n)``, ``B=decel*dt``,
    valid for ``n*B <= x < (n+1)*B`` (SUMO's ``maximumSafeStopSpeedEuler``, re-derived)."""
    if gap <= 0.0:
        return 0.0
    b = decel * dt
    n = 0.0
    while True:
        x = (gap + dt * b * n * (n + 1.0) / 2.0) / (tau + dt * n)
        if x < (n + 1.0) * b:
            return max(x, 0.0)
        n += 1.0


@numba.njit(cache=True, _nrt=False)
def stops_at_yellow(speed: float, dist: float, decel: float, tau: float, dt: float) -> bool:
    """Whether a vehicle ``dist`` before a yellow light stops: if its comfortable
    braking suffices, else it goes on."""
    return stop_speed(dist, decel, tau, dt) >= speed - decel * dt


@numba.njit(cache=True, _nrt=False)
def brake_gap(speed: float, decel: float, dt: float) -> float:
    """Distance to stop from ``speed`` braking by ``decel`` per tick (Euler update)."""
    reduction = decel * dt
    steps = math.floor(speed / reduction)
    return dt * (steps * speed - reduction * steps * (steps + 1) / 2.0)


@numba.njit(cache=True, _nrt=False)
def secure_gap(
    speed: float, leader_speed: float, decel: float, leader_decel: float, tau: float, dt: float
) -> float:
    """Gap a follower at ``speed`` needs behind a leader at ``leader_speed``: its brake
    gap with reaction time minus the leader's at the harder of both decelerations
    (``MSCFModel::getSecureGap``)."""
    follower = brake_gap(speed, decel, dt) + speed * tau
    leader = brake_gap(leader_speed, max(decel, leader_decel), dt)
    return max(0.0, follower - leader)


@numba.njit(cache=True, _nrt=False)
def safe_speed(v: float, v_leader: float, gap: float, decel: float, tau: float, dt: float) -> float:
    """Krauss safe speed behind a leader at ``v_leader`` ``gap`` metres ahead: the speed
    from which we can stop before the point where the leader would stop braking as hard
    as we do (Krauß 1998, in SUMO's Euler form, ``maximumSafeFollowSpeed``)."""
    return stop_speed(gap + brake_gap(v_leader, decel, dt), decel, tau, dt)


@numba.njit(cache=True, _nrt=False)
def find_movement(net: NetArrays, lane: int, to_edge: int) -> int:
    """Some movement (the first) from edge lane ``lane`` onto ``to_edge``, or -1."""
    for k in range(net.lane_out_start[lane], net.lane_out_start[lane + 1]):
        m = net.out_movements[k]
        if net.mov_to_edge[m] == to_edge:
            return m
    return -1


@numba.njit(cache=True, _nrt=False)
def lane_room(net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, lane: int) -> float:
    """Free length at the start of ``lane``: up to the back of its last vehicle."""
    t = lanes.tail[lane]
    if t < 0:
        return net.lane_length[lane]
    return veh.pos[t] - vt.length[veh.vtype[t]]


@numba.njit(cache=True, _nrt=False)
def choose_lane(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, edge: int, next_edge: int
) -> int:
    """The lane of ``edge`` with most room among those with a movement to ``next_edge``
    (any lane when ``next_edge`` is -1); ties go to the rightmost."""
    start = net.edge_lane_start[edge]
    best = -1
    best_room = -1e300
    for lane in range(start, start + net.edge_lanes[edge]):
        if next_edge >= 0 and find_movement(net, lane, next_edge) < 0:
            continue
        room = lane_room(net, lanes, veh, vt, lane)
        if room > best_room:
            best_room = room
            best = lane
    return start if best < 0 else best


# Inlined into its caller: once its body grew by the cut-in check LLVM stopped inlining
# it, and a call that passes the kernel's four structs cost RESCO cologne3 15% of its hour.
@numba.njit(cache=True, _nrt=False, inline="always")
def target_lane(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, m: int, v: int, k_to: int, dt: float
) -> int:
    """The lane of movement ``m``'s target edge a vehicle enters: the connection's own
    target lane, or (``mov_to_lane`` -1) the lane with most room towards the route's
    edge after (the target edge is edge ``k_to`` of vehicle ``v``'s route).

    The vehicle does here what SUMO's lane-change model does as it enters the edge: a
    lane that reaches further along the route without a change (:func:`reach_m`, SUMO's
    best lanes) than the connection's is taken instead, and one that reaches as far with
    more room than the connection's by over :data:`LANE_CHOICE_ROOM_M`. But while the
    neighbour lane that reaches further has no room for the vehicle and the secure gap
    behind its last car at the vehicle's speed (SUMO's change needs that gap,
    ``MSLaneChanger::checkChange``), and the connection's lane has room, it enters the
    connection's lane and changes along the edge
    (:mod:`twin.traffic.lane_change`), standing at the lane's end if it must, holding
    the cars behind it, as SUMO's does: on RESCO's arterial4x4 the left-turners onto
    ``nt2_nt3`` wait on its lane 0 while lane 1 is full (vehicle-seconds on lane 0 over
    the hour, SUMO 38,258, twin 39,129; 0 when they waited upstream instead, and twin
    finished 4.9% more trips than SUMO). A vehicle two or more lanes away from the lane
    it needs still takes that lane at once: twin's change along the edge, one lane a
    tick, falls behind SUMO's there (on RESCO ingolstadt7's 44.6 m ``104012170``, whose
    two left lanes alone lead on, vehicles from its right lanes spent 2,585
    vehicle-seconds waiting to change, SUMO's 488, and twin lost 2.6% of SUMO's trips).
    Kept with LC2013 in place, because it agrees better with SUMO: ``twin sumo-compare``,
    seed 0, trips completed and mean time loss twin/SUMO, with it / with the
    connection's lane always and LC2013 alone: RESCO cologne1 1.002, 1.18 / 0.922, 1.84;
    cologne3 0.998, 1.63 / 0.465, 0.74; ingolstadt7 0.960, 1.27 / 0.370, 1.04 (the last
    two lock up without it: 1,548 and 1,983 trips unfinished)."""
    after_edge = route_edge(veh, v, k_to + 1)
    tl = net.mov_to_lane[m]
    alt = choose_lane(net, lanes, veh, vt, net.mov_to_edge[m], after_edge)
    if tl < 0 or alt == tl:
        return alt
    reach_tl = reach_m(net, veh, v, tl, k_to)
    reach_alt = reach_m(net, veh, v, alt, k_to)
    if reach_alt < reach_tl:
        return tl
    if reach_alt > reach_tl:
        if abs(alt - tl) > 1:
            return alt
        t = veh.vtype[v]
        need = vt.length[t] + vt.min_gap[t]
        need_alt = need
        last = lanes.tail[alt]
        if last >= 0:
            need_alt += secure_gap(
                veh.speed[v], veh.speed[last], vt.decel[t], vt.decel[veh.vtype[last]], vt.tau[t], dt
            )
        if (
            lane_room(net, lanes, veh, vt, alt) >= need_alt
            or lane_room(net, lanes, veh, vt, tl) < need
        ):
            return alt
        return tl
    room = lane_room(net, lanes, veh, vt, tl)
    if room >= lane_room(net, lanes, veh, vt, alt) - LANE_CHOICE_ROOM_M:
        return tl
    if _cuts_in(net, lanes, veh, vt, v, alt, dt):
        return tl
    return alt


@numba.njit(cache=True, _nrt=False)
def _cuts_in(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, v: int, lane: int, dt: float
) -> bool:
    """Whether vehicle ``v``, on its internal lane, would take ``lane`` (the next edge's)
    behind a vehicle already further on its way into it from another lane of the same
    approach (the first on each internal lane headed for ``lane``) without the secure
    gap to it. SUMO enters its connection's lane and changes only with that gap
    (``MSLaneChanger::checkChange``). Without the check, the vehicle whose lane the tick
    moved first took the lane even when it was behind: a car from the second lane of a
    two-lane approach, taking the emptier lane after the junction, landed in front of a
    car already on its way into that lane, which stopped dead at the end of its internal
    lane (sumo-rl's single-intersection: 12% fewer cars through each green than SUMO, 388
    emergency brakes an hour). Cars from other approaches into the edge meet at the
    junction's merge rules, not here; a car behind ``v`` brakes for it, as before (asking
    its gap too, over every approach, took RESCO ingolstadt1's time loss at seed 0 to
    0.892 of SUMO's)."""
    own = veh.lane[v]
    t = veh.vtype[v]
    to_go = net.lane_length[own] - veh.pos[v]
    edge = net.lane_edge[lane]
    # the other lanes of v's approach whose movements lead onto the same edge
    from_edge = net.lane_edge[net.mov_from_lane[net.lane_movement[own]]]
    first = net.edge_lane_start[from_edge]
    for fl in range(first, first + net.edge_lanes[from_edge]):
        for k in range(net.lane_out_start[fl], net.lane_out_start[fl + 1]):
            m = net.out_movements[k]
            il = net.mov_lane[m]
            if net.mov_to_edge[m] != edge or il == own:
                continue
            u = lanes.head[il]
            if u < 0 or veh.next_lane[u] != lane:
                continue
            tu = veh.vtype[u]
            u_to_go = net.lane_length[il] - veh.pos[u]
            if u_to_go > to_go:
                continue  # v gets there first
            gap = to_go - u_to_go - vt.length[tu] - vt.min_gap[t]
            need = secure_gap(veh.speed[v], veh.speed[u], vt.decel[t], vt.decel[tu], vt.tau[t], dt)
            if gap < 0.0 or gap < need:
                return True
    return False


@numba.njit(cache=True, _nrt=False)
def choose_movement(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    lane: int,
    to_edge: int,
    v: int,
    k_next: int,
) -> int:
    """The connection from edge lane ``lane`` to ``to_edge`` (edge ``k_next`` of vehicle
    ``v``'s route) the vehicle takes, or -1.

    Among the connections to ``to_edge``, the one whose target lane reaches furthest
    along the route without a lane change (:func:`reach_m`; SUMO's best lanes,
    src/microsim/MSVehicle.cpp ``updateBestLanes``, whose ``bestContinuations`` the
    vehicle follows through a junction), and among those the one whose target lane
    has most room; ties go to the lowest link index.
    """
    best = -1
    best_room = -1e300
    best_reach = -1.0
    n_to_edge = 0
    for k in range(net.lane_out_start[lane], net.lane_out_start[lane + 1]):
        if net.mov_to_edge[net.out_movements[k]] == to_edge:
            n_to_edge += 1
            best = net.out_movements[k]
    if n_to_edge <= 1:
        return best
    best = -1
    for k in range(net.lane_out_start[lane], net.lane_out_start[lane + 1]):
        m = net.out_movements[k]
        if net.mov_to_edge[m] != to_edge:
            continue
        tl = net.mov_to_lane[m]
        if tl < 0:
            return m  # the target lane is chosen on entry: one movement per edge
        reach = reach_m(net, veh, v, tl, k_next)
        room = lane_room(net, lanes, veh, vt, tl)
        if best < 0 or reach > best_reach or (reach == best_reach and room > best_room):
            best = m
            best_room = room
            best_reach = reach
    return best


@numba.njit(cache=True, _nrt=False)
def reach_m(net: NetArrays, veh: Vehicles, v: int, lane: int, k: int) -> float:
    """:func:`reach_along_route`, remembered per vehicle (every tick's look-ahead asks
    again for the same lanes)."""
    slot = (lane + 7 * k) & (REACH_CACHE - 1)
    if veh.reach_lane[v, slot] == lane and veh.reach_k[v, slot] == k:
        return veh.reach_cached_m[v, slot]
    dist = reach_along_route(net, veh, v, lane, k)
    veh.reach_lane[v, slot] = lane
    veh.reach_k[v, slot] = k
    veh.reach_cached_m[v, slot] = dist
    return dist


@numba.njit(cache=True, _nrt=False)
def reach_along_route(net: NetArrays, veh: Vehicles, v: int, lane: int, k: int) -> float:
    """How far vehicle ``v`` can drive along its route from the start of ``lane`` (on
    route edge ``k``) without changing lanes, up to :data:`BEST_LANES_LOOK_AHEAD_M` (also
    when the route ends first): at each junction the connection to the next route edge
    whose target lane leads on to the edge after it (SUMO's best lanes look ahead up to
    3,000 m, src/microsim/MSVehicle.cpp ``updateBestLanes``)."""
    dist = net.lane_length[lane]
    cur = lane
    for depth in range(BEST_LANES_LOOK_AHEAD_EDGES):
        e = route_edge(veh, v, k + 1 + depth)
        if e < 0 or dist >= BEST_LANES_LOOK_AHEAD_M:
            return BEST_LANES_LOOK_AHEAD_M
        after = route_edge(veh, v, k + 2 + depth)
        m = -1
        m_ok = False
        for kk in range(net.lane_out_start[cur], net.lane_out_start[cur + 1]):
            mm = net.out_movements[kk]
            if net.mov_to_edge[mm] != e:
                continue
            tl = net.mov_to_lane[mm]
            ok = tl < 0 or after < 0 or find_movement(net, tl, after) >= 0
            if m < 0 or (ok and not m_ok):
                m = mm
                m_ok = ok
        if m < 0:
            return dist
        nxt = net.mov_to_lane[m]
        if nxt < 0:
            nxt = choose_lane_towards(net, e, after)
        dist += net.lane_length[net.mov_lane[m]] + net.lane_length[nxt]
        cur = nxt
    return min(dist, BEST_LANES_LOOK_AHEAD_M)


@numba.njit(cache=True, _nrt=False)
def choose_lane_towards(net: NetArrays, edge: int, next_edge: int) -> int:
    """The rightmost lane of ``edge`` with a movement to ``next_edge`` (-1: any), else
    its rightmost lane."""
    start = net.edge_lane_start[edge]
    if next_edge >= 0:
        for lane in range(start, start + net.edge_lanes[edge]):
            if find_movement(net, lane, next_edge) >= 0:
                return lane
    return start


@numba.njit(cache=True, _nrt=False)
def route_edge(veh: Vehicles, v: int, k: int) -> int:
    """Edge ``k`` of vehicle ``v``'s route, or -1 past its end."""
    start = veh.route_start[v]
    if start + k >= veh.route_end[v]:
        return -1
    return veh.route_edges[start + k]


@numba.njit(cache=True, _nrt=False)
def space_till_last_standing(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, lane: int, ego: int, dt: float
) -> tuple[float, bool]:
    """(space, found): the room on ``lane`` up to its last standing vehicle (speed below
    :data:`HALTING_SPEED_MPS`, not ``ego``), less the lengths and gaps of the moving
    vehicles behind it; with none standing, the lane's length less the lengths and gaps
    of all its vehicles (src/microsim/MSLane.cpp ``getSpaceTillLastStanding``)."""
    lengths = 0.0
    u = lanes.tail[lane]
    while u >= 0:
        tu = veh.vtype[u]
        if u != ego and veh.speed[u] < HALTING_SPEED_MPS:
            back = veh.pos[u] - vt.length[tu]
            return back + brake_gap(veh.speed[u], vt.decel[tu], dt) - lengths, True
        lengths += vt.length[tu] + vt.min_gap[tu]
        u = veh.ahead[u]
    return net.lane_length[lane] - lengths, False


@numba.njit(cache=True, _nrt=False)
def lane_brutto_m(lanes: Lanes, veh: Vehicles, vt: VTypes, lane: int) -> float:
    """Lengths plus minimum gaps of the vehicles on ``lane`` (SUMO's
    ``getBruttoVehLenSum``)."""
    total = 0.0
    u = lanes.head[lane]
    while u >= 0:
        total += vt.length[veh.vtype[u]] + vt.min_gap[veh.vtype[u]]
        u = veh.behind[u]
    return total


@numba.njit(cache=True, _nrt=False, inline="always")
def junction_space(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    v: int,
    m: int,
    k: int,
    in_front: float,
    dt: float,
) -> tuple[float, bool]:
    """(space, found): the room vehicle ``v`` finds beyond movement ``m`` (entered from
    edge ``k`` of its route), and whether a standing vehicle or a closed link bounds it.

    Re-derived from src/microsim/MSVehicle.cpp ``checkRewindLinkLanes``: the space starts at
    minus ``in_front`` (the lengths and gaps of the vehicles ahead of ``v`` on its lane,
    which go first), loses the vehicles inside the junction (a keep-clear link, one with
    foes and not ``keepClear="0"``: ``getBruttoVehLenSum`` of the internal lane; any other
    movement is room like any lane, up to its last standing vehicle) and gains the room on
    the lane beyond up to its last standing vehicle (:func:`space_till_last_standing`; a
    whole empty lane). A last vehicle that waits at a red light counts as standing
    (``myHaveToWaitOnNextLink``). While nothing standing is found the look-ahead goes on
    along the route, over at most ``CRLL_LOOK_AHEAD`` vehicle lengths of lanes beyond
    (MSVehicle::planMoveInternal), and a red link ahead ends it as found (the backward
    pass's ``!opened``)."""
    t = veh.vtype[v]
    length = vt.length[t]
    seen = -in_front
    seen_edges = 0.0
    seen_internal = 0.0
    for _ in range(4):
        inner = net.mov_lane[m]
        if net.mov_keep_clear[m]:
            seen -= lane_brutto_m(lanes, veh, vt, inner)
        else:
            # A junction not kept clear (no foes, or keepClear="0"): its internal lane
            # is room to queue in like any lane (SUMO adds its getSpaceTillLastStanding).
            space, stopped = space_till_last_standing(net, lanes, veh, vt, inner, v, dt)
            seen += space
            if stopped:
                return seen, True
        seen_internal += net.lane_length[inner]
        down = target_lane(net, lanes, veh, vt, m, v, k + 1, dt)
        k += 1
        last = lanes.tail[down]
        if last < 0 or last == v:
            seen += net.lane_length[down]
        else:
            space, stopped = space_till_last_standing(net, lanes, veh, vt, down, v, dt)
            seen += space
            nl = veh.next_lane[last]
            waits = nl >= 0 and net.lane_movement[nl] >= 0
            if stopped or (waits and mov_state[net.lane_movement[nl]] == RED):
                return seen, True
        seen_edges += net.lane_length[down]
        if seen_edges > max(CRLL_LOOK_AHEAD * length, length + seen_internal):
            break
        nxt = route_edge(veh, v, k + 1)
        if nxt < 0:
            break
        m = choose_movement(net, lanes, veh, vt, down, nxt, v, k + 1)
        if m < 0:
            break
        if mov_state[m] == RED:
            return seen - lane_brutto_m(lanes, veh, vt, net.mov_lane[m]), True
    return seen, False


@numba.njit(cache=True, _nrt=False, inline="always")
def withdraws(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    v: int,
    m: int,
    k: int,
    dist: float,
    in_front: float,
    dt: float,
) -> bool:
    """Whether vehicle ``v``, ``dist`` before the stop line of movement ``m``, does not
    enter the junction for want of room beyond (SUMO's junction-blocking avoidance,
    src/microsim/MSVehicle.cpp ``checkRewindLinkLanes``): only at a movement with foes
    and not ``keepClear="0"`` (``MSVehicle::keepClear``: ``link->hasFoes() &&
    link->keepClear()``), only when a standing vehicle or
    a closed link bounds the room (:func:`junction_space`), the room is less than its
    length and minimum gap, and it can still stop at the line with its ``decel``
    (``myDistance >= brakeGap + POSITION_EPS``; one that stops within a tick, brake gap
    0, always can: SUMO's waits 1 m short of a priority link,
    ``DIST_TO_STOPLINE_EXPECT_PRIORITY``, where twin's creeps up to the line, and
    within ``POSITION_EPS`` of it at 0.5 m/s it drove into a junction with no room
    beyond); a vehicle that cannot stop goes on, and
    one inside a junction never stops for room (it has no stop line ahead of it here).
    A halted vehicle counts as able to stop however close to the line it stands (twin
    halts vehicles anywhere within :data:`STOP_LINE_REACH_M`; held to the 0.1 m, a
    halted foe with no room announced itself and blocked the permissive left turns of
    the near-saturation grid for good). :func:`must_yield` asks it of a foe too: a foe
    that withdraws does not come."""
    t = veh.vtype[v]
    speed = veh.speed[v]
    gap = brake_gap(speed, vt.decel[t], dt)
    if speed >= HALTING_SPEED_MPS and gap > 0.0 and dist < gap + POSITION_EPS_M:
        return False  # it cannot stop before the line any more (a halted one has)
    if not net.mov_keep_clear[m]:
        return False  # no foe to keep it clear for, or keepClear="0" (MSVehicle::keepClear)
    space, found = junction_space(net, lanes, veh, vt, mov_state, v, m, k, in_front, dt)
    return found and space < vt.length[t] + vt.min_gap[t]


@numba.njit(cache=True, _nrt=False)
def arrival_s(dist: float, speed: float, accel: float) -> float:
    """When a vehicle ``dist`` from its stop line reaches it: at its speed, or from rest
    with its acceleration."""
    if dist <= 0.0:
        return 0.0
    if speed > HALTING_SPEED_MPS:
        return dist / speed
    return math.sqrt(2.0 * dist / accel)


@numba.njit(cache=True, _nrt=False)
def unsafe_merge(
    leader_speed: float, follower_speed: float, leader_decel: float, follower_decel: float
) -> bool:
    """Whether two vehicles entering the same lane one behind the other at these speeds
    may not merge: the leader's braking distance is no longer than the follower's
    (src/microsim/MSLink.h ``unsafeMergeSpeeds``)."""
    return leader_speed * leader_speed / leader_decel <= (
        follower_speed * follower_speed / follower_decel
    )


@numba.njit(cache=True, _nrt=False)
def foe_arrival_braking(
    t_ego: float, t_foe: float, dist: float, decel: float, dt: float, braking_speed: float
) -> tuple[float, float]:
    """(arrival time, arrival speed) of a foe ``dist`` from its line, due in ``t_foe``,
    that brakes by ``decel`` (its deceleration times the waiting vehicle's impatience)
    from the step the waiting vehicle, due in ``t_ego``, would arrive; 30 s later and
    speed 0 if it can stop (src/microsim/MSLink.cpp
    ``computeFoeArrivalTimeBraking``; times from the start of the tick, whose end is
    SUMO's ``SIMSTEP``). Both due in the same step: unchanged (``braking_speed``)."""
    if math.floor(t_ego / dt) == math.floor(t_foe / dt):
        return t_foe, braking_speed
    t_ego = math.ceil(t_ego / dt) * dt
    span = t_foe - t_ego
    slowed = span * decel
    saved = span * slowed / 2.0
    speed = dist / t_foe
    left = dist - speed * (t_ego - dt)
    root = 4.0 * (speed - slowed) * (speed - slowed) - 8.0 * decel * saved
    if 0.5 * speed * speed / decel <= left or root < 0.0:
        return t_foe + 30.0, 0.0
    past = (-0.5 * math.sqrt(root) - slowed + speed) / decel
    return t_foe + past, speed - (span + past) * decel


@numba.njit(cache=True, _nrt=False)
def minimal_arrival_s(
    dist: float, speed: float, arrival_speed: float, accel: float, decel: float
) -> float:
    """The soonest a vehicle at ``speed``, ``dist`` from a line, reaches it at
    ``arrival_speed``: changing speed at once, then holding it (src/microsim/cfmodels/
    MSCFModel.cpp ``getMinimalArrivalTime``)."""
    if dist <= 0.0:
        return 0.0
    rate = accel if arrival_speed >= speed else -decel
    change_s = (arrival_speed - speed) / rate if rate != 0.0 else 0.0
    change_m = change_s * (arrival_speed + speed) * 0.5
    if dist >= change_m:
        return change_s + (dist - change_m) / max(speed, arrival_speed, HALTING_SPEED_MPS)
    return -(speed - math.sqrt(speed * speed + 2.0 * rate * dist)) / rate


@numba.njit(cache=True, _nrt=False)
def link_times(
    net: NetArrays,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    m: int,
    v: int,
    dist: float,
    dt: float,
) -> tuple[float, float, float, float]:
    """(arrival, leave time, arrival speed, leave speed) of vehicle ``v``, ``dist``
    before the line of movement ``m``, as SUMO announces them to the link's foes
    (MSVehicle::planMoveInternal): this tick's speed carried to the line, no faster
    than its lane allows nor, on a minor link still beyond the visibility distance,
    than from a stop within it; then over the junction (``estimateLeaveSpeed``); the
    soonest arrival at that speed (``getMinimalArrivalTime``) and the time its back
    clears the junction (MSLink::getLeaveTime)."""
    t = veh.vtype[v]
    accel = vt.accel[t]
    inner = net.mov_lane[m]
    allowed = min(net.lane_speed[veh.lane[v]] * veh.speed_factor[v], vt.vmax[t])
    v_next = min(veh.speed[v] + accel * dt, allowed)
    v_line = min(math.sqrt(v_next * v_next + 2.0 * accel * dist), allowed)
    if dist > VISIBILITY_M and mov_state[m] in (MINOR, EQUAL, ALLWAY_STOP, STOP, OFF_BLINKING):
        v_vis = stop_speed(VISIBILITY_M, vt.decel[t], 1e-9, dt)
        v_line = min(v_line, math.sqrt(v_vis * v_vis + 2.0 * accel * VISIBILITY_M))
    leave_cap = min(net.lane_speed[inner] * veh.speed_factor[v], vt.vmax[t])
    t_arrive, t_leave, v_leave = crossing_times(
        dist, v_next, v_line, leave_cap, net.lane_length[inner], accel, vt.decel[t], vt.length[t]
    )
    return t_arrive, t_leave, v_line, v_leave


@numba.njit(cache=True, _nrt=False)
def crossing_times(
    dist: float,
    v_next: float,
    v_line: float,
    leave_cap: float,
    cross_m: float,
    accel: float,
    decel: float,
    length: float,
) -> tuple[float, float, float]:
    """(arrival, leave time, leave speed) of a vehicle ``dist`` before a link that it
    reaches at ``v_line`` and crosses over ``cross_m``, accelerating up to
    ``leave_cap``: the soonest arrival (``getMinimalArrivalTime``) and the time its back
    clears the crossing (MSLink::getLeaveTime)."""
    v_leave = min(leave_cap, math.sqrt(v_line * v_line + 2.0 * accel * cross_m))
    t_arrive = minimal_arrival_s(dist, v_next, v_line, accel, decel)
    t_leave = t_arrive + (cross_m + length) / max(0.5 * (v_line + v_leave), 0.1)
    return t_arrive, t_leave, v_leave


@numba.njit(cache=True, _nrt=False)
def in_conflict(net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, k: int) -> bool:
    """Whether the vehicles inside the junction on the path of foe ``yield_to[k]`` still
    hold its yielding movement: any of them moving, or the last one standing with its
    back short of the crossing (``yield_clear_m[k]``). SUMO lets a vehicle go on once
    a foe inside the junction has passed the conflict point (src/microsim/MSLink.cpp
    ``getLeaderInfo``: a foe whose back is past the crossing is no junction leader);
    twin keeps waiting for a moving one, which will be gone within a second or two (its
    older rule, which the SUMO junction tests confirm), and lets a standing one that
    has passed the crossing be -- a queue backing up into the junction does not stop
    the cross traffic behind it."""
    u = lanes.tail[net.mov_lane[net.yield_to[k]]]
    return u >= 0 and veh.pos[u] - vt.length[veh.vtype[u]] < net.yield_clear_m[k]


@numba.njit(cache=True, _nrt=False)
def last_past(lanes: Lanes, veh: Vehicles, path: int, from_m: float) -> int:
    """The last vehicle on lane ``path`` with its front past ``from_m`` (-1: none)."""
    u = lanes.tail[path]
    while u >= 0 and veh.pos[u] <= from_m + POSITION_EPS_M:
        u = veh.ahead[u]
    return u


@numba.njit(cache=True, _nrt=False)
def link_leader_ahead(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    m: int,
    v: int,
    dist_v: float,
    dt: float,
) -> bool:
    """Whether vehicle ``v``, ``dist_v`` before the line of movement ``m`` (a movement
    without an internal junction of its own), has to wait there for a link leader: a
    turn's vehicle past its internal junction whose back has not crossed ``m``'s path
    and will not have crossed it when ``v`` reaches the line at its speed after this
    tick's acceleration (one standing there holds ``v`` until it moves on). SUMO's
    vehicles follow such a leader as if it stood at the crossing
    (src/microsim/MSLink.cpp ``getLeaderInfo``) and ignore one still before its
    internal junction at a green (``ignoreGreenCont``)."""
    t = veh.vtype[v]
    arrive_s = dist_v / (veh.speed[v] + vt.accel[t] * dt)
    for k in range(net.inside_start[m], net.inside_start[m + 1]):
        u = last_past(lanes, veh, net.mov_lane[net.inside_to[k]], net.inside_from_m[k])
        if u < 0:
            continue
        to_clear = net.inside_clear_m[k] - (veh.pos[u] - vt.length[veh.vtype[u]])
        if to_clear > 0.0 and to_clear >= veh.speed[u] * arrive_s:
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def held(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    j: int,
    v: int,
) -> bool:
    """Whether movement ``j`` is held by a foe it yields to (a vehicle in that foe's
    path, or at its line, other than ``v``)."""
    for k in range(net.yield_start[j], net.yield_start[j + 1]):
        f = net.yield_to[k]
        if mov_state[f] == RED:
            continue
        if in_conflict(net, lanes, veh, vt, k):
            return True
        h = lanes.head[net.mov_from_lane[f]]
        if (
            h >= 0
            and h != v
            and veh.next_lane[h] == net.mov_lane[f]
            and net.lane_length[veh.lane[h]] - veh.pos[h] < 2.0
        ):
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def _blocked_by_foe(
    net: NetArrays,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    m: int,
    v: int,
    j: int,
    h: int,
    dist: float,
    t_arrive: float,
    t_leave: float,
    v_line: float,
    v_leave: float,
    dt: float,
) -> bool:
    """Whether vehicle ``v`` on minor movement ``m`` (due at its line in ``t_arrive``
    at ``v_line``, gone in ``t_leave`` at ``v_leave``) waits for foe ``h`` heading into
    movement ``j``, ``dist`` from its line and due in ``t_foe``: SUMO's
    src/microsim/MSLink.cpp ``blockedByFoe``. A foe gone before the vehicle arrives
    blocks only a merge into the same lane, when it leaves less than
    :data:`TIMEGAP_MINOR_S` ahead or slower than the vehicle arrives; a foe due later
    than the vehicle leaves plus that gap blocks only a merge the vehicle would lead
    too slowly (its braking distance no longer than the foe's arrival speed's, the foe
    braking by its deceleration times the vehicle's impatience: a vehicle that has
    waited a little lets a far foe pass that could not stop for it so gently); any foe
    in between blocks. A merge is a foe movement into the same edge and lane (or a lane
    the vehicles choose)."""
    t = veh.vtype[v]
    foe_decel = vt.decel[veh.vtype[h]]
    t_foe, leave_foe, _, foe_leave_speed = link_times(net, veh, vt, mov_state, j, h, dist, dt)
    # Its arrival speed braking as hard as it may (0 if it can stop before its line).
    braking_speed = 0.0
    if dist < brake_gap(veh.speed[h], foe_decel, dt):
        braking_speed = math.sqrt(max(veh.speed[h] * veh.speed[h] - 2.0 * foe_decel * dist, 0.0))
    foe_arrival = t_foe
    impatience = min(1.0, veh.halted_s[v] / TIME_TO_IMPATIENCE_S)
    if impatience > 0.0 and t_arrive < t_foe:
        braked, braking_speed = foe_arrival_braking(
            t_arrive, t_foe, dist, foe_decel * impatience, dt, braking_speed
        )
        foe_arrival = (1.0 - impatience) * t_foe + impatience * braked
    merge = net.mov_to_edge[m] == net.mov_to_edge[j] and (
        net.mov_to_lane[m] == net.mov_to_lane[j] or net.mov_to_lane[m] < 0 or net.mov_to_lane[j] < 0
    )
    if leave_foe < t_arrive:  # the vehicle would follow the foe
        return merge and (
            t_arrive - leave_foe < TIMEGAP_MINOR_S
            or unsafe_merge(foe_leave_speed, v_line, foe_decel, vt.decel[t])
        )
    if foe_arrival > t_leave + TIMEGAP_MINOR_S:  # the vehicle would lead the foe
        return merge and unsafe_merge(v_leave, braking_speed, vt.decel[t], foe_decel)
    return True


@numba.njit(cache=True, _nrt=False)
def last_on_path(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, m: int
) -> tuple[int, float]:
    """(vehicle, back position along movement ``m``'s path) of the last vehicle with its
    back on that path: the tail of its lane, else the last vehicle on the lane it leads
    to if it came from the path and its back is still on it (SUMO's partial
    occupator); (-1, 0) if none."""
    path = net.mov_lane[m]
    u = lanes.tail[path]
    if u >= 0:
        return u, veh.pos[u] - vt.length[veh.vtype[u]]
    after = net.mov_to_lane[m]
    if after >= 0:
        u = lanes.tail[after]
        if u >= 0 and veh.back_lane[u] == path:
            back = veh.pos[u] - vt.length[veh.vtype[u]]
            if back < 0.0:
                return u, net.lane_length[path] + back
    return -1, 0.0


@numba.njit(cache=True, _nrt=False)
def partial_leader_speed(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, v: int, dt: float
) -> float:
    """Safe speed of vehicle ``v``, the head of its (normal) lane, behind the vehicles
    that have turned off the lane into another movement (:func:`turned_off_speed`; the
    movement ``v`` heads for is the look-ahead's: its tail is followed there)."""
    lane = veh.lane[v]
    nl = veh.next_lane[v]
    m = net.lane_movement[nl] if nl >= 0 else -1
    dist = net.lane_length[lane] - veh.pos[v]
    return turned_off_speed(net, lanes, veh, vt, v, lane, dist, m, dt)


@numba.njit(cache=True, _nrt=False)
def turned_off_speed(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    v: int,
    lane: int,
    dist: float,
    m: int,
    dt: float,
) -> float:
    """Safe speed of vehicle ``v``, ``dist`` before the end of normal lane ``lane`` with
    no vehicle between, behind the vehicles that have turned off ``lane`` into one of
    its movements other than ``m`` and are still on it with their backs (SUMO keeps them
    on the lane as partial occupators, MSLane::getLastVehicleInformation); 1e300 if
    there are none."""
    t = veh.vtype[v]
    limit = 1e300
    for kk in range(net.lane_out_start[lane], net.lane_out_start[lane + 1]):
        s = net.out_movements[kk]
        if s == m:
            continue
        u, back = last_on_path(net, lanes, veh, vt, s)
        if u >= 0 and back < 0.0:
            gap = dist + back - vt.min_gap[t]
            limit = min(
                limit, safe_speed(veh.speed[v], veh.speed[u], gap, vt.decel[t], vt.tau[t], dt)
            )
    return limit


@numba.njit(cache=True, _nrt=False)
def next_announced(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, j: int, u: int, dt: float
) -> int:
    """The next vehicle behind ``u`` on movement ``j``'s lane heading into ``j`` that
    has announced itself at ``j``'s line (-1: none): every vehicle that looks far
    enough ahead registers its approach, and SUMO's minor links check them all
    (src/microsim/MSLink.cpp ``blockedAtTime`` loops over ``myApproachingVehicles``)."""
    lane = net.mov_from_lane[j]
    w = veh.behind[u]
    while w >= 0:
        t = veh.vtype[w]
        v_next = min(veh.speed[w] + vt.accel[t] * dt, vt.vmax[t])
        reach = v_next * dt + brake_gap(v_next, vt.decel[t], dt) + v_next * vt.tau[t]
        if net.lane_length[lane] - veh.pos[w] > reach:
            return -1
        if veh.next_lane[w] == net.mov_lane[j]:
            return w
        w = veh.behind[w]
    return -1


@numba.njit(cache=True, _nrt=False)
def approaching_foe(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, j: int, dt: float
) -> int:
    """The first vehicle on movement ``j``'s lane heading into ``j`` that has announced
    itself at ``j``'s line (-1: none). The lane's head always has; a vehicle behind one
    bound elsewhere has once the line is within the distance it looks ahead, this tick's
    travel at its next speed plus its braking distance from it (src/microsim/MSVehicle.cpp
    ``planMoveInternal``: links within ``SPEED2DIST(maxV) + brakeGap(maxV)`` get its
    approach), so a straight car behind a turning one is seen as SUMO sees it."""
    u = lanes.head[net.mov_from_lane[j]]
    if u < 0:
        return -1
    if veh.halting[u] and partial_leader_speed(net, lanes, veh, vt, u, dt) < SPEED_EPS:
        # Held at a standstill behind a car turning off the lane: a vehicle that plans
        # no speed sets no request (MSVehicle::planMoveInternal ``setRequest``), nor
        # can those behind it.
        return -1
    if veh.next_lane[u] == net.mov_lane[j]:
        return u
    return next_announced(net, lanes, veh, vt, j, u, dt)


@numba.njit(cache=True, _nrt=False, inline="always")
def must_yield(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    m: int,
    v: int,
    dist_v: float,
    dt: float,
) -> bool:
    """Whether vehicle ``v``, ``dist_v`` before the stop line of movement ``m``, has to
    wait for a foe it yields to (under any state but red and yellow).

    A foe in the junction blocks until it has passed the crossing
    (:func:`in_conflict`), whatever its light; an approaching foe (the head of its lane,
    heading for the foe movement, with room beyond the junction: a vehicle that may not
    enter does not announce itself) blocks by the rule of ``m``'s state, re-derived from
    src/microsim/MSLink.cpp ``blockedByFoe``: minor links (``'m'``, ``'='``, ``'o'``,
    ``'s'``) go only if the foe arrives later than they leave plus
    :data:`TIMEGAP_MINOR_S`, every announced vehicle of the foe checked
    (:func:`next_announced`; impatience, from the waiting time, makes them accept
    shorter gaps; of links that yield to each other in a circle, all standing at
    their lines, the one that has waited longest goes); ``'w'``: the foe that has
    waited longer goes first (twin compares the trips' waiting times), a foe still
    moving at its line blocks; traffic-light greens keep twin's
    :data:`CRITICAL_GAP_S` test. A major state (``'G'``, ``'O'``, ``'M'``) does not
    wait for a foe that yields to it too."""
    state = mov_state[m]
    major = state in (PROTECTED, OFF, MAJOR)
    minor = state in (MINOR, EQUAL, OFF_BLINKING, STOP)
    signal = state in (PERMISSIVE, PROTECTED, OFF)
    t_arrive = t_leave = v_line = v_leave = 0.0
    if minor:
        t_arrive, t_leave, v_line, v_leave = link_times(net, veh, vt, mov_state, m, v, dist_v, dt)
    for k in range(net.yield_start[m], net.yield_start[m + 1]):
        j = net.yield_to[k]
        if major and net.yield_mutual[k] != 0:
            continue
        if in_conflict(net, lanes, veh, vt, k):
            # Red or not: a foe still in the junction is a junction leader (SUMO's
            # MSLink::getLeaderInfo looks at the foe lanes, whatever their light).
            return True
        if mov_state[j] == RED:
            continue
        h = approaching_foe(net, lanes, veh, vt, j, dt)
        if h < 0:
            continue
        dist = net.lane_length[veh.lane[h]] - veh.pos[h]
        if minor:
            near = dist < 2.0 or _blocked_by_foe(
                net, veh, vt, mov_state, m, v, j, h, dist, t_arrive, t_leave, v_line, v_leave, dt
            )
            u = h
            while not near:
                u = next_announced(net, lanes, veh, vt, j, u, dt)
                if u < 0:
                    break
                du = net.lane_length[veh.lane[u]] - veh.pos[u]
                near = _blocked_by_foe(
                    net, veh, vt, mov_state, m, v, j, u, du, t_arrive, t_leave, v_line, v_leave, dt
                )
            if (
                near
                and state in (EQUAL, MINOR)
                and dist < 2.0
                and dist_v < 2.0
                and veh.halting[h]
                and veh.halting[v]
                and (
                    veh.waiting_s[v] > veh.waiting_s[h]
                    or (veh.waiting_s[v] == veh.waiting_s[h] and v < h)
                )
                and held(net, lanes, veh, vt, mov_state, j, v)
            ):
                # Links yielding in a circle (right before left all round, or minor
                # links of a priority junction): the foe waits for a foe of its own,
                # so the one that has waited longest goes (twin's deadlock breaker;
                # SUMO breaks a right-before-left circle by a random withdrawal and
                # leaves a minor one locked until it teleports: docs/PARAMETERS.md).
                near = False
        elif state == ALLWAY_STOP:
            if dist >= 2.0:
                near = False
            elif not veh.halting[h]:
                # Still approaching: it stops at its line first (one that has stopped
                # and goes is inside the junction within the tick, in_conflict).
                near = False
            else:
                near = veh.waiting_s[h] > veh.waiting_s[v] or (
                    veh.waiting_s[h] == veh.waiting_s[v] and h < v
                )
        else:
            near = dist < 2.0 or dist < CRITICAL_GAP_S * veh.speed[h]
        if near and (signal or dist < 2.0 or veh.halting[h]):
            # A foe that withdrew its request for want of room beyond will not come
            # (checkRewindLinkLanes: it sets no request, so it blocks no one).
            if not withdraws(net, lanes, veh, vt, mov_state, h, j, veh.route_k[h], dist, 0.0, dt):
                return True
        elif near:
            return True
    return False


@numba.njit(cache=True, _nrt=False)
def waits_inside(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    m: int,
    v: int,
    dist_v: float,
    dt: float,
) -> bool:
    """Whether vehicle ``v``, ``dist_v`` before the internal junction of movement ``m``
    (where a turn that has entered the junction waits for oncoming traffic), waits
    there. SUMO's link into such a turn is a ``cont`` link, open to all but red
    (src/microsim/MSLink.cpp ``opened``); the internal junction's link is minor
    (``'m'``) unless the turn entered on a major green (``lastWasContState``), and it
    ignores foes halting at their lines once the turn's own light is red. A foe still in
    its path through the junction blocks it, red or not; an approaching foe blocks by
    the minor rule (:func:`_blocked_by_foe`); a foe at yellow that can stop comfortably
    makes no request."""
    state = mov_state[m]
    if state == PROTECTED:
        return False
    entry_red = state == RED
    t = veh.vtype[v]
    accel = vt.accel[t]
    inner = net.mov_lane[m]
    after = net.lane_length[inner] - abs(net.mov_internal_stop_m[m])
    allowed = min(net.lane_speed[inner] * veh.speed_factor[v], vt.vmax[t])
    v_next = min(veh.speed[v] + accel * dt, allowed)
    v_line = min(math.sqrt(v_next * v_next + 2.0 * accel * dist_v), allowed)
    t_arrive, t_leave, v_leave = crossing_times(
        dist_v, v_next, v_line, allowed, after, accel, vt.decel[t], vt.length[t]
    )
    for k in range(net.inside_start[m], net.inside_start[m + 1]):
        j = net.inside_to[k]
        u = last_past(lanes, veh, net.mov_lane[j], net.inside_from_m[k])
        in_path = u >= 0 and veh.pos[u] - vt.length[veh.vtype[u]] < net.inside_clear_m[k]
        # A foe standing at its own internal junction waits to be let through, not in
        # the way (MSLink::getLeaderInfo); of turns waiting for each other there, the
        # one that has waited longest goes (twin's deadlock breaker).
        let_through = (
            in_path
            and veh.halting[u]
            and net.mov_internal_stop_m[j] != 0.0
            and veh.pos[u] < abs(net.mov_internal_stop_m[j]) + POSITION_EPS_M
            and (
                veh.waiting_s[v] > veh.waiting_s[u]
                or (veh.waiting_s[v] == veh.waiting_s[u] and v < u)
            )
        )
        if in_path and not let_through:
            return True
        if mov_state[j] == RED or not net.inside_approach[k]:
            continue
        h = approaching_foe(net, lanes, veh, vt, j, dt)
        while h >= 0:
            dist = net.lane_length[veh.lane[h]] - veh.pos[h]
            th = veh.vtype[h]
            if (
                not (entry_red and veh.halting[h])
                and not (
                    # A foe halted at its line, held by a foe of its own (this turn,
                    # perhaps), sets no request (SUMO's willPass).
                    veh.halting[h] and dist < 2.0 and held(net, lanes, veh, vt, mov_state, j, v)
                )
                and not (
                    mov_state[j] == YELLOW
                    and stops_at_yellow(veh.speed[h], dist, vt.decel[th], vt.tau[th], dt)
                )
                and not withdraws(
                    net, lanes, veh, vt, mov_state, h, j, veh.route_k[h], dist, 0.0, dt
                )
                and _blocked_by_foe(
                    net,
                    veh,
                    vt,
                    mov_state,
                    m,
                    v,
                    j,
                    h,
                    dist,
                    t_arrive,
                    t_leave,
                    v_line,
                    v_leave,
                    dt,
                )
            ):
                return True
            h = next_announced(net, lanes, veh, vt, j, h, dt)
    return False


@numba.njit(cache=True, _nrt=False)
def zipper_speed(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    m: int,
    v: int,
    dist_v: float,
    dt: float,
) -> float:
    """Safe speed of vehicle ``v``, ``dist_v`` before zipper link ``m``: a foe nearer to
    the merge (the end of the junction) is followed as a leader on the merged lane,
    ties to the lower link index (SUMO's zipper: foes become leaders, MSLink
    ``getLeaderInfo``)."""
    t = veh.vtype[v]
    d_v = dist_v + net.lane_length[net.mov_lane[m]]
    limit = 1e300
    for k in range(net.yield_start[m], net.yield_start[m + 1]):
        j = net.yield_to[k]
        inner = net.mov_lane[j]
        for c in range(2):
            h = lanes.tail[inner] if c == 0 else lanes.head[net.mov_from_lane[j]]
            if h < 0:
                continue
            if c == 0:
                d_h = net.lane_length[inner] - veh.pos[h]
            else:
                if veh.next_lane[h] != inner:
                    continue
                d_h = net.lane_length[veh.lane[h]] - veh.pos[h] + net.lane_length[inner]
            if d_h > d_v or (d_h == d_v and j > m):
                continue
            gap = d_v - d_h - vt.length[veh.vtype[h]] - vt.min_gap[t]
            speed = safe_speed(veh.speed[v], veh.speed[h], gap, vt.decel[t], vt.tau[t], dt)
            limit = min(limit, speed)
    return limit


# -- the lanes that hold vehicles ---------------------------------------------------------

OCCUPIED_BITS = 32
"""Lanes per word of ``Lanes.occupied``: 32 of an int64's bits, so that every word and
mask is a small non-negative integer, the same in compiled code and in plain Python
(``NUMBA_DISABLE_JIT=1``)."""


_WORD_SHIFT = 5  # lane >> 5 is its word, lane & 31 its bit
_BIT_MASK = OCCUPIED_BITS - 1


def occupied_words(n_lanes: int) -> IntArray:
    """An empty ``Lanes.occupied`` for ``n_lanes`` lanes."""
    return np.zeros((n_lanes + OCCUPIED_BITS - 1) // OCCUPIED_BITS, dtype=np.int64)


@numba.njit(cache=True, _nrt=False)
def mark_occupied(lanes: Lanes, lane: int) -> None:
    """A vehicle entered ``lane``: the walks visit it from now on."""
    lanes.occupied[lane >> _WORD_SHIFT] |= 1 << (lane & _BIT_MASK)


_DE_BRUIJN = np.array(
    [0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
     31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9],
    dtype=np.int64,
)  # fmt: skip
"""Bit index by the top five bits of ``lowest bit * 0x077CB531`` (a de Bruijn
sequence), a lookup instead of a branch per halving."""


@numba.njit(cache=True, _nrt=False)
def _bit_of(low: int) -> int:
    """Index of the one set bit of ``low`` (a power of two below 2**32). The product
    stays below 2**59, so no integer wraps, compiled or not."""
    return _DE_BRUIJN[((low * 0x077CB531) & 0xFFFFFFFF) >> 27]


@numba.njit(cache=True, _nrt=False)
def _lowest_bit(word: int) -> int:
    """Index of the lowest set bit of ``0 < word < 2**32``."""
    return _bit_of(word & -word)


@numba.njit(cache=True, _nrt=False)
def next_occupied(lanes: Lanes, lane: int) -> int:
    """The first lane from ``lane`` on whose bit is set, or the number of lanes.

    It reads the bits afresh at every call, so a walk ``lane = next_occupied(lanes,
    lane + 1)`` also visits a lane a vehicle entered during the walk further on, as the
    walk over every lane in index order did (a vehicle moving on to a later lane in the
    same pass is moved again there)."""
    occ = lanes.occupied
    w = lane >> _WORD_SHIFT
    if w >= len(occ):
        return len(lanes.head)
    word = occ[w] >> (lane & _BIT_MASK)
    if word != 0:
        return lane + _lowest_bit(word)
    w += 1
    while w < len(occ):
        word = occ[w]
        if word != 0:
            return (w << _WORD_SHIFT) + _lowest_bit(word)
        w += 1
    return len(lanes.head)


# -- linked-list operations --------------------------------------------------------------


@numba.njit(cache=True, _nrt=False)
def unlink_head(lanes: Lanes, veh: Vehicles, lane: int) -> None:
    h = lanes.head[lane]
    b = veh.behind[h]
    lanes.head[lane] = b
    if b >= 0:
        veh.ahead[b] = -1
    else:
        lanes.tail[lane] = -1
    veh.behind[h] = -1
    lanes.count[lane] -= 1


@numba.njit(cache=True, _nrt=False)
def unlink(lanes: Lanes, veh: Vehicles, v: int) -> None:
    """Take ``v`` out of its lane's list, wherever it is in it."""
    lane = veh.lane[v]
    a = veh.ahead[v]
    b = veh.behind[v]
    if a >= 0:
        veh.behind[a] = b
    else:
        lanes.head[lane] = b
    if b >= 0:
        veh.ahead[b] = a
    else:
        lanes.tail[lane] = a
    veh.ahead[v] = -1
    veh.behind[v] = -1
    lanes.count[lane] -= 1


@numba.njit(cache=True, _nrt=False)
def append_tail(lanes: Lanes, veh: Vehicles, lane: int, v: int) -> None:
    t = lanes.tail[lane]
    veh.ahead[v] = t
    veh.behind[v] = -1
    if t >= 0:
        veh.behind[t] = v
    else:
        lanes.head[lane] = v
    lanes.tail[lane] = v
    veh.back_lane[v] = veh.lane[v]
    veh.lane[v] = lane
    lanes.count[lane] += 1
    mark_occupied(lanes, lane)


@numba.njit(cache=True, _nrt=False, inline="always")
def set_next_lane(
    net: NetArrays, lanes: Lanes, veh: Vehicles, vt: VTypes, v: int, dt: float
) -> None:
    """After ``v`` entered its lane: the lane it will take next (-1: it arrives there)."""
    lane = veh.lane[v]
    m = net.lane_movement[lane]
    if m < 0:  # an edge lane: next is the internal lane towards the next route edge
        nxt = route_edge(veh, v, veh.route_k[v] + 1)
        if nxt < 0:
            veh.next_lane[v] = -1
        else:
            mv = choose_movement(net, lanes, veh, vt, lane, nxt, v, veh.route_k[v] + 1)
            veh.next_lane[v] = net.mov_lane[mv] if mv >= 0 else NO_CONTINUATION
    else:  # an internal lane: next is a lane of the movement's target edge
        veh.next_lane[v] = target_lane(net, lanes, veh, vt, m, v, veh.route_k[v] + 1, dt)


# -- the tick ------------------------------------------------------------------------------


@numba.njit(cache=True, _nrt=False, inline="always")
def _limit(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    v: int,
    dt: float,
    in_front: float,
) -> tuple[float, float]:
    """(safe-speed limit, hard cap) of vehicle ``v`` from its leader, signals, room;
    ``in_front``: the lengths and minimum gaps of the vehicles ahead of it on its lane."""
    t = veh.vtype[v]
    speed = veh.speed[v]
    decel = vt.decel[t]
    tau = vt.tau[t]
    limit = 1e300
    cap = 1e300
    lane = veh.lane[v]
    dist = net.lane_length[lane] - veh.pos[v]
    nl = veh.next_lane[v]
    k = veh.route_k[v]
    needed = speed * tau + speed * speed / (2.0 * decel) + speed * dt + LOOKAHEAD_MIN_M
    m_here = net.lane_movement[lane]
    inside_here = net.mov_internal_stop_m[m_here] if m_here >= 0 else 0.0
    if inside_here != 0.0 and veh.pos[v] < abs(inside_here) + POSITION_EPS_M:
        # Inside the junction, short of the internal junction where it may wait (or
        # standing at it): it plans to stop there until within the visibility
        # distance of a minor link there, then waits there for the foes the turn
        # yields to.
        to_stop = max(abs(inside_here) - veh.pos[v], 0.0)
        if (inside_here > 0.0 and to_stop > VISIBILITY_M) or waits_inside(
            net, lanes, veh, vt, mov_state, m_here, v, to_stop, dt
        ):
            limit = stop_speed(to_stop, decel, tau, dt)
    a = veh.ahead[v]
    if a >= 0:
        gap = veh.pos[a] - vt.length[veh.vtype[a]] - veh.pos[v] - vt.min_gap[t]
        limit = min(limit, safe_speed(speed, veh.speed[a], gap, decel, tau, dt))
        if nl >= 0 and dist < needed and m_here < 0:
            # The junction-blocking rule holds for the vehicles behind the head too,
            # with the room their leaders on the lane take first (SUMO's
            # ``lengthsInFront``). Asked only where stopping at the line would lower the
            # limit (behind a leader it seldom does; the room beyond costs a walk).
            m = net.lane_movement[nl]
            if m >= 0:
                at_line = stop_speed(dist, decel, tau, dt)
                if at_line < limit and withdraws(
                    net, lanes, veh, vt, mov_state, v, m, k, dist, in_front, dt
                ):
                    limit = at_line
        return limit, cap
    if m_here < 0:
        limit = min(limit, partial_leader_speed(net, lanes, veh, vt, v, dt))
    if nl == NO_CONTINUATION:  # on a lane that does not lead on: stop at its end
        return stop_speed(dist, decel, tau, dt), max(dist, 0.0) / dt
    hops = 0
    while nl >= 0 and dist < needed and hops < 4:
        hops += 1
        m = net.lane_movement[nl]
        if m >= 0 and net.lane_movement[lane] < 0:
            # About to cross a stop line into movement m.
            state = mov_state[m]
            stop = False
            if state == RED:
                stop = True
                cap = max(dist, 0.0) / dt
            elif state == YELLOW:
                stop = stops_at_yellow(speed, dist, decel, tau, dt)
            else:
                slow = state in (MINOR, EQUAL, ALLWAY_STOP, STOP, OFF_BLINKING)
                if slow and dist > VISIBILITY_M:
                    # A minor link: approach slowly enough to stop at the line until
                    # close enough to see the foes (MSVehicle::planMoveInternal).
                    # The speed that stops within the visibility distance without
                    # reaction time (maximumSafeStopSpeed with headway 0).
                    v_vis = stop_speed(VISIBILITY_M, decel, 1e-9, dt)
                    bdt = decel * dt
                    gap = dist - VISIBILITY_M
                    reach = math.sqrt(bdt * bdt + v_vis * v_vis + 2.0 * decel * gap) - bdt
                    limit = min(limit, max(reach, v_vis))
                elif state == PERMISSIVE and dist > VISIBILITY_M and not net.mov_internal_stop_m[m]:
                    # A permissive green is a minor link too (``'g'`` has no priority):
                    # until within the visibility distance the vehicle plans to stop at
                    # the line (MSVehicle::processLinkApproaches: ``vSafe = myVLinkWait``
                    # while ``!determinedFoePresence``; a link with an internal junction,
                    # ``isCont()``, waits there instead, below).
                    limit = min(limit, stop_speed(dist, decel, tau, dt))
                if state == ZIPPER:
                    limit = min(limit, zipper_speed(net, lanes, veh, vt, m, v, dist, dt))
                if state in (STOP, ALLWAY_STOP) and not (
                    veh.halting[v] and dist < STOP_LINE_REACH_M
                ):
                    # A stop link opens once the vehicle has halted at the line
                    # (MSLink::opened: waitingTime >= jmStopSignWait, one step).
                    stop = True
                elif (
                    state != ZIPPER
                    and not (net.mov_internal_stop_m[m] != 0.0 and state not in (STOP, ALLWAY_STOP))
                    and must_yield(net, lanes, veh, vt, mov_state, m, v, dist, dt)
                ):
                    # A link into a turn that waits at an internal junction is open to all
                    # but red (SUMO's cont link): the turn yields there (waits_inside).
                    stop = True
                elif (
                    net.mov_internal_stop_m[m] == 0.0
                    and net.inside_start[m] < net.inside_start[m + 1]
                    and link_leader_ahead(net, lanes, veh, vt, m, v, dist, dt)
                ):
                    stop = True
                elif withdraws(net, lanes, veh, vt, mov_state, v, m, k, dist, in_front, dt):
                    # No entering a junction whose far side has no room for us.
                    stop = True
            if stop:
                limit = min(limit, stop_speed(dist, decel, tau, dt))
                break
            inside = net.mov_internal_stop_m[m]
            if inside != 0.0 and (
                (inside > 0.0 and dist + inside > VISIBILITY_M)
                or waits_inside(net, lanes, veh, vt, mov_state, m, v, dist + abs(inside), dt)
            ):
                # The internal junction where a turn waits for oncoming traffic is a
                # minor link: the vehicle plans to stop there until within the
                # visibility distance of it, foes or not (processLinkApproaches, as
                # above), and there waits for its foes (a major one: for its link
                # leaders). Left turns leave a queue at SUMO's pace this way.
                limit = min(limit, stop_speed(dist + abs(inside), decel, tau, dt))
        # Slow down in time for a slower lane ahead (turns through a junction).
        v_next_lane = min(net.lane_speed[nl] * veh.speed_factor[v], vt.vmax[t])
        if v_next_lane < speed:
            # v such that after this tick (v * dt further) braking reaches v_next_lane.
            bdt = decel * dt
            reach = math.sqrt(bdt * bdt + v_next_lane * v_next_lane + 2.0 * decel * dist) - bdt
            limit = min(limit, max(reach, v_next_lane))
        tl = lanes.tail[nl]
        if tl >= 0:
            gap = dist + veh.pos[tl] - vt.length[veh.vtype[tl]] - vt.min_gap[t]
            limit = min(limit, safe_speed(speed, veh.speed[tl], gap, decel, tau, dt))
            break
        dist += net.lane_length[nl]
        # The lane after nl, as the vehicle would choose it now.
        if m >= 0:
            lane = nl
            nl = target_lane(net, lanes, veh, vt, m, v, k + 1, dt)
            k += 1
        else:
            nxt = route_edge(veh, v, k + 1)
            lane = nl
            if nxt < 0:
                nl = -1
            else:
                mv = choose_movement(net, lanes, veh, vt, nl, nxt, v, k + 1)
                nl = net.mov_lane[mv] if mv >= 0 else -1
                # A vehicle that turned off the lane passed through may be on it still.
                limit = min(limit, turned_off_speed(net, lanes, veh, vt, v, lane, dist, mv, dt))
    return limit, cap


@numba.njit(cache=True, _nrt=False)
def step(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    emission: FloatArray,
    dawdle: FloatArray,
    pending: IntArray,
    counters: IntArray,
    arrived: IntArray,
    now_s: float,
    dt: float,
    departs: Departs,
    lc: LaneChange,
    transfer: Transfer,
    stops: scheduled_stops.Stops,
) -> None:
    """Insert waiting trips at ``now_s``, then advance every vehicle by ``dt``.

    Args:
        mov_state: signal state of every movement (RED .. PROTECTED).
        emission: :func:`twin.traffic.emissions.coefficients` (per-class model and rule).
        dawdle: at least ``counters[VEHICLES_ON_NETWORK] + counters[WAITING_TRIPS]``
            uniforms in [0, 1): one per vehicle on the network after the insertions,
            used in lane order (head to tail, lanes in index order).
        pending: trips waiting to be inserted, in departure order,
            ``counters[WAITING_TRIPS]`` of them; compacted in place.
        counters: reads and writes :data:`WAITING_TRIPS`, :data:`VEHICLES_ON_NETWORK`,
            :data:`ARRIVALS_THIS_TICK` (their indices in ``arrived``),
            :data:`EMERGENCY_BRAKES`, :data:`INSERTIONS_THIS_TICK`, :data:`LANE_CHANGES`.
        departs: how trips enter (:class:`twin.traffic.insertion.Departs`).
        lc: lane-changing state (:class:`twin.traffic.lane_change.LaneChange`).
        transfer: vehicles teleported out of jams (:mod:`twin.traffic.teleport`);
            ``counters`` :data:`TELEPORTS` and :data:`IN_TRANSFER`.
        stops: the trips' scheduled stops (:mod:`twin.traffic.scheduled_stops`), looked
            at around the speeds and the move; none in most runs.
    """
    # 0) vehicles in transfer back onto the network, then waiting trips inserted, at
    # now_s, before anyone moves (SUMO does both after the moves of its step, which is
    # the state this tick starts from)
    n_arrived = reenter(
        net, lanes, veh, vt, mov_state, departs, transfer, counters, arrived, 0, now_s, dt
    )
    kept, inserted = insert_pending(
        net, lanes, veh, vt, mov_state, departs, pending, counters[WAITING_TRIPS], now_s, dt
    )
    counters[WAITING_TRIPS] = kept
    counters[INSERTIONS_THIS_TICK] = inserted
    counters[VEHICLES_ON_NETWORK] += inserted
    has_stops = len(stops.holders) > 0
    if has_stops:  # a stop's limit, through the lane-change cap the speeds read
        scheduled_stops.before_speeds(net, lanes, veh, vt, stops, lc.cap, now_s, dt)
    # 1) new speeds from the current state
    counters[EMERGENCY_BRAKES] += _new_speeds(net, lanes, veh, vt, mov_state, dawdle, dt, lc)
    if has_stops:
        scheduled_stops.after_speeds(lanes, veh, vt, stops, veh.accel, now_s, dt)
    # 2) move, with the tick's statistics and emissions
    _move(net, lanes, veh, vt, emission, now_s, dt)
    if has_stops:
        scheduled_stops.after_move(net, veh, vt, stops, dt)
    # 3) vehicles past the end of their lane: on to the next lane, or arrive
    n_arrived += _leave_lanes(net, lanes, veh, vt, mov_state, arrived[n_arrived:], now_s, dt)
    # 4) restore gaps behind vehicles that could not leave their lane
    _restore_gaps(lanes, veh, vt)
    # 5) the front vehicle of a lane that has stood too long teleports (SUMO checks
    # after the moves, before the lane changes)
    n_arrived = teleport_jammed(lanes, veh, transfer, counters, arrived, n_arrived, now_s, dt)
    counters[ARRIVALS_THIS_TICK] = n_arrived
    # 6) lane changes, at most one per vehicle (SUMO changes lanes after the moves)
    counters[LANE_CHANGES] += change_lanes(net, lanes, veh, vt, departs, lc, stops, dt)
    counters[VEHICLES_ON_NETWORK] -= n_arrived


@numba.njit(cache=True, _nrt=False)
def krauss_speed(
    speed: float,
    accel: float,
    decel: float,
    emergency_decel: float,
    sigma: float,
    allowed: float,
    limit: float,
    cap: float,
    dt: float,
    u: float,
) -> tuple[float, bool]:
    """One vehicle's speed after a tick (SUMO's Krauss model) and whether it had to
    brake harder than ``decel``.

    Args:
        speed: its speed now.
        allowed: the lane's limit times its speed factor, at most its maximum speed.
        limit: the safe speed (leaders, stop lines, junctions, a lane changer's request).
        cap: a hard upper bound applied last (a stop the vehicle must make).
        u: a uniform in [0, 1) for the dawdling.
    """
    v_max = min(speed + accel * dt, allowed, limit)
    base = accel if v_max >= accel else v_max
    v_dawdle = max(0.0, v_max - sigma * dt * base * u)
    v_min = max(0.0, speed - decel * dt)
    emergency = False
    if v_max < v_min:
        nxt = max(v_max, speed - emergency_decel * dt, 0.0)
        emergency = nxt < v_min - 1e-9
    else:
        nxt = max(v_dawdle, v_min)
    return min(max(nxt, 0.0), cap), emergency


@numba.njit(cache=True, _nrt=False)
def _new_speeds(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    dawdle: FloatArray,
    dt: float,
    lc: LaneChange,
) -> int:
    """The speed of every vehicle after this tick (Krauss with dawdling), written into
    ``veh.accel`` (which holds it until :func:`_move`); the emergency brakes taken."""
    speed_new = veh.accel  # reuse: holds the new speed until the move, then acceleration
    brakes = 0
    r = 0
    occ = lanes.occupied
    for w in range(len(occ)):
        word = occ[w]
        while word != 0:  # its lanes that hold vehicles, in index order
            low = word & -word
            word ^= low
            lane = (w << _WORD_SHIFT) + _bit_of(low)
            v = lanes.head[lane]
            in_front = 0.0
            while v >= 0:
                t = veh.vtype[v]
                speed = veh.speed[v]
                accel = vt.accel[t]
                decel = vt.decel[t]
                allowed = min(net.lane_speed[lane] * veh.speed_factor[v], vt.vmax[t])
                limit, cap = _limit(net, lanes, veh, vt, mov_state, v, dt, in_front)
                in_front += vt.length[t] + vt.min_gap[t]
                limit = min(limit, lc.cap[v])  # a lane changer's request (lane_change.py)
                lc.cap[v] = math.inf
                nxt, emergency = krauss_speed(
                    speed, accel, decel, vt.emergency_decel[t], vt.sigma[t], allowed, limit, cap,
                    dt, dawdle[r],
                )  # fmt: skip
                r += 1
                brakes += emergency
                speed_new[v] = nxt
                v = veh.behind[v]
    return brakes


@numba.njit(cache=True, _nrt=False)
def _move(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    emission: FloatArray,
    now_s: float,
    dt: float,
) -> None:
    """Move every vehicle at its new speed (never into its leader), then book the
    tick's statistics: time loss, distance, halting and stops, emissions, detectors,
    each lane's queue."""
    speed_new = veh.accel
    occ = lanes.occupied
    for w in range(len(occ)):
        word = occ[w]
        while word != 0:  # its lanes that hold vehicles, in index order
            low = word & -word
            word ^= low
            lane = (w << _WORD_SHIFT) + _bit_of(low)
            v = lanes.head[lane]
            halting = 0
            while v >= 0:
                t = veh.vtype[v]
                old = veh.pos[v]
                vn = speed_new[v]
                new = old + vn * dt
                a = veh.ahead[v]
                if a >= 0:  # never into the leader (it has moved already)
                    back = veh.pos[a] - vt.length[veh.vtype[a]]
                    if new > back:
                        new = max(back, old)
                        vn = (new - old) / dt
                acc = (vn - veh.speed[v]) / dt
                veh.pos[v] = new
                veh.speed[v] = vn
                speed_new[v] = acc
                # SUMO's e1 times a move by its step's time, the end of the move here
                loop_move(lanes, lane, v, old, new, vn, vt.length[t], now_s + dt)
                allowed = min(net.lane_speed[lane] * veh.speed_factor[v], vt.vmax[t])
                veh.time_loss_s[v] += dt * max(0.0, 1.0 - vn / allowed)
                veh.dist_m[v] += vn * dt
                if vn <= HALTING_SPEED_MPS:
                    veh.waiting_s[v] += dt
                    veh.halted_s[v] += dt
                    if not veh.halting[v]:
                        veh.stops[v] += 1
                    veh.halting[v] = True
                    halting += 1
                else:
                    veh.halting[v] = False
                    veh.halted_s[v] = 0.0
                co2, fuel, nox = tick_rates_mg_s(emission, vt.emission_class[t], vn, acc)
                veh.co2_mg[v] += co2 * dt
                veh.fuel_mg[v] += fuel * dt
                veh.nox_mg[v] += nox * dt
                if net.lane_edge[lane] >= 0:
                    _detect(net, lanes, lane, old, new, vn, vt.length[t], now_s + dt)
                    actuation_move(lanes, lane, old, new, vn, vt.length[t], now_s + dt)
                v = veh.behind[v]
            lanes.halting[lane] = halting
            lanes.queue_sum[lane] += halting
            if halting > lanes.queue_max[lane]:
                lanes.queue_max[lane] = halting
            if lanes.head[lane] < 0:
                # Empty (its halting count is zero now): no walk needs it until a vehicle
                # enters (mark_occupied), and the counts of an empty lane stay as they are.
                lanes.occupied[lane >> _WORD_SHIFT] &= ~(1 << (lane & _BIT_MASK))


@numba.njit(cache=True, _nrt=False)
def actuation_move(
    lanes: Lanes, lane: int, old: float, new: float, speed: float, length: float, at_s: float
) -> None:
    """A vehicle of ``length`` moved from ``old`` to ``new`` on ``lane``: the loop of a
    SUMO actuated traffic light there (``lanes.act_pos_m[lane]``, -1: none) notes when
    it was last covered (``act_on_s``, at the end of the move) and when a vehicle's back
    last left it (``act_left_s``, within the move), what ``MSInductLoop::
    getTimeSinceLastDetection`` reads (0 while covered, else the time since the last
    leave). Times are stamped as the user's loops stamp them (:mod:`twin.traffic.loops`)."""
    if len(lanes.act_pos_m) == 0:
        return
    x = lanes.act_pos_m[lane]
    if x < 0.0:
        return
    if new - length < x <= new:
        lanes.act_on_s[lane] = at_s
    back = old - length
    if back < x <= new - length:
        leave = at_s + (x - back) / speed
        if leave > lanes.act_left_s[lane]:
            lanes.act_left_s[lane] = leave


@numba.njit(cache=True, _nrt=False)
def _detect(
    net: NetArrays,
    lanes: Lanes,
    lane: int,
    old: float,
    new: float,
    speed: float,
    length: float,
    at_s: float,
) -> None:
    """A move from ``old`` to ``new`` over the policies' two loops of an edge lane:
    crossings (count, speed, last time) and occupancy of each."""
    for d in range(2):
        x = net.det_pos_m[lane, d]
        if old < x <= new:
            lanes.det_count[lane, d] += 1
            lanes.det_speed_sum[lane, d] += speed
            lanes.det_last_s[lane, d] = at_s
        if new - length < x <= new:
            lanes.det_occupied[lane, d] += 1


@numba.njit(cache=True, _nrt=False)
def _leave_lanes(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    arrived: IntArray,
    now_s: float,
    dt: float,
) -> int:
    """Vehicles past the end of their lane go on to the next one or arrive; the
    arrivals (their indices in ``arrived``, in order)."""
    n_arrived = 0
    n_lanes = len(lanes.head)
    lane = next_occupied(lanes, 0)
    while lane < n_lanes:
        while True:
            v = lanes.head[lane]
            if v < 0 or veh.pos[v] <= net.lane_length[lane]:
                break
            if not _advance(net, lanes, veh, vt, mov_state, v, dt):
                break
            if veh.state[v] == ARRIVED:
                veh.arrive_s[v] = now_s + dt
                # SUMO's step at now_s + dt: its e1 lets an arrival leave at SIMTIME + TS
                loop_arrive(lanes, v, now_s + 2.0 * dt)
                arrived[n_arrived] = v
                n_arrived += 1
        lane = next_occupied(lanes, lane + 1)
    if len(veh.arrive_pos_m) > 0:
        n_arrived += _arrive_before_the_end(net, lanes, veh, arrived[n_arrived:], now_s, dt)
    return n_arrived


@numba.njit(cache=True, _nrt=False)
def _arrive_before_the_end(
    net: NetArrays, lanes: Lanes, veh: Vehicles, arrived: IntArray, now_s: float, dt: float
) -> int:
    """Vehicles on their last edge past their ``arrivalPos`` (by more than SUMO's
    ``POSITION_EPS``: ``MSVehicle::hasArrived``) arrive, wherever they are on the lane;
    the trip's length ends at that position, as SUMO's tripinfo ``routeLength`` does."""
    n_arrived = 0
    n_lanes = len(lanes.head)
    lane = next_occupied(lanes, 0)
    while lane < n_lanes:
        v = lanes.head[lane]
        while v >= 0:
            behind = veh.behind[v]
            # next_lane -1 on an edge lane: its route ends on this edge
            if (
                veh.pos[v] > veh.arrive_pos_m[v] - POSITION_EPS_M
                and veh.next_lane[v] == -1
                and net.lane_movement[lane] < 0
            ):
                veh.dist_m[v] -= veh.pos[v] - veh.arrive_pos_m[v]
                unlink(lanes, veh, v)
                veh.state[v] = ARRIVED
                veh.lane[v] = -1
                veh.arrive_s[v] = now_s + dt
                loop_arrive(lanes, v, now_s + 2.0 * dt)
                arrived[n_arrived] = v
                n_arrived += 1
            v = behind
        lane = next_occupied(lanes, lane + 1)
    return n_arrived


@numba.njit(cache=True, _nrt=False)
def _restore_gaps(lanes: Lanes, veh: Vehicles, vt: VTypes) -> None:
    """Put a vehicle that ends up in its leader (which could not leave its lane) back
    behind it, no faster than it."""
    occ = lanes.occupied
    for w in range(len(occ)):
        word = occ[w]
        while word != 0:  # its lanes that hold vehicles, in index order
            low = word & -word
            word ^= low
            lane = (w << _WORD_SHIFT) + _bit_of(low)
            v = lanes.head[lane]
            while v >= 0:
                a = veh.ahead[v]
                if a >= 0:
                    back = veh.pos[a] - vt.length[veh.vtype[a]]
                    if veh.pos[v] > back:
                        veh.pos[v] = back
                        veh.speed[v] = min(veh.speed[v], veh.speed[a])
                v = veh.behind[v]


@numba.njit(cache=True, _nrt=False, inline="always")
def _advance(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    v: int,
    dt: float,
) -> bool:
    """Move head vehicle ``v`` (past its lane's end) on; False if it has to stay."""
    while True:
        lane = veh.lane[v]
        length = net.lane_length[lane]
        if veh.pos[v] <= length or lanes.head[lane] != v:
            return True
        nl = veh.next_lane[v]
        # Where a vehicle is held at (or arrives at) its lane's end, the part of this
        # step's move past that end was not driven: ``dist_m`` gives it back, so a trip's
        # length is SUMO's ``routeLength`` (departure to arrival position).
        if nl == NO_CONTINUATION:
            veh.dist_m[v] -= veh.pos[v] - length
            veh.pos[v] = length  # waits at the end of its lane for a lane change
            veh.speed[v] = 0.0
            return False
        if nl < 0:
            veh.dist_m[v] -= veh.pos[v] - length  # SUMO's arrival position: the lane's end
            unlink_head(lanes, veh, lane)
            veh.state[v] = ARRIVED
            veh.lane[v] = -1
            return True
        m = net.lane_movement[nl]
        if m >= 0 and net.lane_movement[lane] < 0 and mov_state[m] == RED:
            veh.dist_m[v] -= veh.pos[v] - length
            veh.pos[v] = length  # never across a red stop line
            veh.speed[v] = 0.0
            return False
        past = veh.pos[v] - length
        new = past
        tl = lanes.tail[nl]
        if tl >= 0:
            back = veh.pos[tl] - vt.length[veh.vtype[tl]]
            if new > back:
                new = back
        if new < 0.0:
            veh.dist_m[v] -= past
            veh.pos[v] = length  # no room yet beyond the line
            veh.speed[v] = 0.0
            return False
        veh.dist_m[v] -= past - new  # held back behind the next lane's last vehicle
        unlink_head(lanes, veh, lane)
        append_tail(lanes, veh, nl, v)
        veh.pos[v] = new
        # Entering a slower lane (a turn), the speed is at most its limit.
        allowed = min(net.lane_speed[nl] * veh.speed_factor[v], vt.vmax[veh.vtype[v]])
        if veh.speed[v] > allowed:
            veh.speed[v] = allowed
        if m < 0:
            veh.route_k[v] += 1
        set_next_lane(net, lanes, veh, vt, v, dt)


@numba.njit(cache=True, _nrt=False)
def run_ticks(
    net: NetArrays,
    lanes: Lanes,
    veh: Vehicles,
    vt: VTypes,
    mov_state: npt.NDArray[np.int8],
    emission: FloatArray,
    dawdle: FloatArray,
    pending: IntArray,
    counters: IntArray,
    arrived: IntArray,
    history: IntArray,
    now_s: float,
    dt: float,
    max_ticks: int,
    stop_before_s: float,
    signal_due_s: float,
    signal_eps_s: float,
    departs: Departs,
    lc: LaneChange,
    snaps: Snapshots,
    speeds: EdgeSpeeds,
    routing: TripRouting,
    transfer: Transfer,
    lights: FixedLights,
    changes: ChangeIntervals,
    stops: scheduled_stops.Stops,
) -> int:
    """Run up to ``max_ticks`` ticks from ``now_s``; the number of ticks run.

    Each tick first releases the trips due by its start (``depart_s <= now``, SUMO's
    rule: a vehicle departs in the first step at or after its depart time) into the
    insertion queue, in departure order, then calls :func:`step`. The first tick always
    runs; a later tick at ``t`` runs only if ``t < stop_before_s`` (the next event of the
    rest of the simulation), ``t + signal_eps_s < signal_due_s`` (no signal event due:
    the signal bank's own test) and ``dawdle`` still holds ``max(vehicles, 1)`` unused
    uniforms for it, counting every waiting trip as a vehicle (it may be inserted);
    a tick uses ``max(vehicles moved, 1)`` of them (what one ``Generator.random`` call
    per tick would have drawn).

    Args:
        dawdle: uniforms from stream ``traffic.dawdle``, used from
            ``counters[NEXT_DAWDLE]`` on.
        counters: as in :func:`step`, and :data:`NEXT_DAWDLE`, :data:`TRIPS_RELEASED`,
            :data:`VEHICLE_UPDATES`, :data:`ARRIVALS_THIS_CALL` (in ``arrived``, in
            order).
        history: ``(rows >= max_ticks, 3)``: after each tick, vehicles on the network,
            trips waiting to be inserted, arrivals.
        snaps: detector state to copy before the ticks at or after given times
            (:func:`take_snapshots`).
        speeds: the router's mean edge speeds, sampled at the end of every tick that
            ends on a whole second (:func:`twin.traffic.rerouting.sample_edge_speeds`).
        routing: SUMO's routing of trips by origin and destination, before each tick's
            releases (:func:`twin.traffic.rerouting.route_due`); a tick whose routes find
            no room in ``veh.route_edges`` is not run (``routing.state[2]`` is set).
        transfer: as in :func:`step`.
        lights: the lights that run as programmed, whose events due at a tick's start
            are handled first (:func:`twin.traffic.fixed_lights.advance_fixed_lights`).
        changes: the other lights whose change intervals due at a tick's start end
            next (:func:`twin.traffic.change_intervals.end_change_intervals`); a green
            started there whose decision epoch is due stops the batch before its tick,
            and ``signal_due_s`` moves to the earliest such epoch.
        stops: as in :func:`step`.
    """
    n_trips = len(veh.depart_s)
    now = now_s
    ticks = 0
    total_arrived = 0
    signal_due = signal_due_s
    while ticks < max_ticks:
        if ticks > 0 and not (now < stop_before_s and now + signal_eps_s < signal_due):
            break
        advance_fixed_lights(lights, lanes.act_on_s, lanes.act_left_s, mov_state, now)
        signal_due = min(signal_due, end_change_intervals(changes, mov_state, now))
        if ticks > 0 and now + signal_eps_s >= signal_due:
            break  # a green just started is asked now: the bank decides before this tick
        take_snapshots(snaps, lanes, now)
        released = counters[TRIPS_RELEASED]
        due = released
        while due < n_trips and veh.depart_s[due] <= now:
            due += 1
        r = counters[NEXT_DAWDLE]
        may_move = counters[VEHICLES_ON_NETWORK] + counters[WAITING_TRIPS] + due - released
        if r + max(may_move, 1) > len(dawdle):
            break
        k = counters[WAITING_TRIPS]
        if routing.stops_start[n_trips] > 0 and not route_due(
            routing, speeds, veh, vt.vmax, pending, k, released, due, now
        ):
            break
        while released < due:
            # A trip sent early by City.dispatch (an on-call trip) is already on its way.
            if veh.state[released] == PENDING:
                pending[k] = released
                veh.state[released] = WAITING
                k += 1
            released += 1
        counters[WAITING_TRIPS] = k
        counters[TRIPS_RELEASED] = released
        on_before = counters[VEHICLES_ON_NETWORK]
        busy = on_before + counters[WAITING_TRIPS] + counters[IN_TRANSFER] > 0
        if busy or lanes.occupied.any():  # a lane's bit stays set the tick it empties
            step(
                net,
                lanes,
                veh,
                vt,
                mov_state,
                emission,
                dawdle[r:],
                pending,
                counters,
                arrived[total_arrived:],
                now,
                dt,
                departs,
                lc,
                transfer,
                stops,
            )
        else:
            # Nothing on the network, waiting, in transfer or marked on a lane: the step
            # would change nothing but these two counters (about 1 us a tick saved on a
            # city that empties between waves of trips).
            counters[INSERTIONS_THIS_TICK] = 0
            counters[ARRIVALS_THIS_TICK] = 0
        moved = on_before + counters[INSERTIONS_THIS_TICK]
        counters[VEHICLE_UPDATES] += moved
        counters[NEXT_DAWDLE] = r + max(moved, 1)
        total_arrived += counters[ARRIVALS_THIS_TICK]
        history[ticks, 0] = counters[VEHICLES_ON_NETWORK]
        history[ticks, 1] = counters[WAITING_TRIPS]
        history[ticks, 2] = counters[ARRIVALS_THIS_TICK]
        if math.floor(now + dt + 1e-9) > math.floor(now + 1e-9):
            sample_edge_speeds(net, lanes, veh, speeds, counters[VEHICLES_ON_NETWORK] > 0)
        ticks += 1
        now = now + dt
    counters[ARRIVALS_THIS_CALL] = total_arrived
    return ticks


# Insertion, lane changing, routing and scheduled stops live in their own modules, built on
# the helpers above.
from twin.traffic import scheduled_stops  # noqa: E402
from twin.traffic.change_intervals import ChangeIntervals, end_change_intervals  # noqa: E402
from twin.traffic.fixed_lights import FixedLights, advance_fixed_lights  # noqa: E402
from twin.traffic.insertion import Departs, insert_pending  # noqa: E402
from twin.traffic.lane_change import LaneChange, change_lanes  # noqa: E402
from twin.traffic.rerouting import (  # noqa: E402
    EdgeSpeeds,
    TripRouting,
    route_due,
    sample_edge_speeds,
)
from twin.traffic.teleport import Transfer, reenter, teleport_jammed  # noqa: E402

# The tick compiles the functions of these modules into itself; Numba's cache would not
# see a change in any but this file (twin.core.jit).
drop_stale_numba_cache(
    Path(__file__).with_name(name)
    for name in (
        "kernels.py",
        "fixed_lights.py",
        "actuation.py",
        "change_intervals.py",
        "insertion.py",
        "lane_change.py",
        "teleport.py",
        "rerouting.py",
        "scheduled_stops.py",
        "emissions.py",
        "loops.py",
    )
)
