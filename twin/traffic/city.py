"""The city: a network, its trips, its signals and one SimPy process that ticks them.

One SimPy process (:meth:`City.run`) advances the whole city every ``step_s``: it
lets due signal controllers act, draws the dawdling random numbers for every vehicle
on the network from stream ``traffic.dawdle``, and calls the Numba kernel
(:func:`twin.traffic.kernels.run_ticks`), which releases due trips into the insertion
queue and moves every vehicle, tick by tick (:func:`twin.traffic.kernels.step`), until
something else is due. Python work per tick does not depend on the number of vehicles;
arrivals are booked into the ledger one by one (fuel litres per vehicle).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import simpy

from twin.core.entity import Entity
from twin.core.errors import ConfigError
from twin.core.jit import RepeatedCall
from twin.core.policy import Policy
from twin.core.scenario import KPI
from twin.core.sensors import ReadingBoard, SensorConfig, SensorFeed
from twin.core.units import METRES_PER_KM, SECONDS_PER_HOUR
from twin.core.world import World, timeout_at
from twin.traffic import actuation, emissions
from twin.traffic.demand import (
    DEPART_LANE_FIRST,
    DEPART_POS_BASE,
    MINOR_PENALTY_S,
    TURNAROUND_PENALTY_S,
    TripTable,
    VehicleType,
)
from twin.traffic.detectors import QUANTITIES, LoopDetectorConfig, LoopSignal
from twin.traffic.entities import Fleet, Junction
from twin.traffic.feeds import OwnFeeds
from twin.traffic.insertion import BEST_LANES_EDGES, Departs
from twin.traffic.kernels import (
    ARRIVALS_THIS_CALL,
    ARRIVED,
    DISCARDED,
    DRIVING,
    EMERGENCY_BRAKES,
    LANE_CHANGES,
    NEXT_DAWDLE,
    PENDING,
    REACH_CACHE,
    STOP_LOOP,
    TELEPORTING,
    TELEPORTS,
    TICK_COUNTERS,
    TRIPS_RELEASED,
    UPSTREAM_LOOP,
    VEHICLE_UPDATES,
    VEHICLES_ON_NETWORK,
    WAITING,
    WAITING_TRIPS,
    Lanes,
    NetArrays,
    Vehicles,
    VTypes,
    occupied_words,
    run_ticks,
)
from twin.traffic.lane_change import lane_change_state
from twin.traffic.loops import LoopBank, LoopState, no_loops
from twin.traffic.network import Intersection, Network
from twin.traffic.observation import (
    ENTITY_PREFIX,
    ActuationReading,
    SignalObservation,
    SignalTurn,
)
from twin.traffic.rerouting import (
    ADAPTATION_INTERVAL_S,
    ADAPTATION_STEPS,
    PRE_PERIOD_S,
    edge_speeds,
    trip_routing,
)
from twin.traffic.scheduled_stops import SKIPPED, STOPPED_S, stop_arrays
from twin.traffic.signals import EPS_S, SignalBank
from twin.traffic.teleport import transfer_state

_MAX_BATCH_TICKS = 4096
_new_tuple = tuple.__new__
_GATHER_ALL_SHARE = 16
"""One gather of every signalised intersection's readings serves all deciding at an
instant from two of them, or one in this many of the city's: gathering a city's all
costs about as much as one intersection's alone per this many intersections (RESCO
grid4x4: 10 us for all 16, 9.5 us for one)."""
UPSTREAM_LOOP_HEADWAY_S = 2.0
"""SUMO's actuated detectors sit ``detector-gap`` (2 s at the speed limit) upstream."""


class City(Entity):
    """A traffic network with its vehicles and signals, running in ``world``.

    Args:
        world: the world (clock, streams, ledger, probes).
        network: the road network.
        trips: every trip of the run.
        policy: the signal policy (asked at decision epochs of each intersection).
        step_s: the vehicle kernel's time step (not the display tick).
        sensors: detector model for the lane-area queue detectors seen by policies
            (``None``: no sensed readings, ``sensed_queue`` is NaN).
        per_intersection_kpis: also report queue KPIs per intersection.
        loop_detectors: the stop-line and upstream induction loops seen by policies
            (``None``: none; ``sensed_count``, ``sensed_occupancy`` and
            ``sensed_speed_mps`` are NaN).
        loops: induction loops placed by the user (:func:`twin.traffic.loops.loop_state`,
            sized for this network and these trips), counted by the kernel.
    """

    _obs_snapshot: tuple[float, tuple[npt.NDArray[np.float64], ...]] | None

    def __init__(
        self,
        world: World,
        network: Network,
        trips: TripTable,
        policy: Policy[Any, Any],
        *,
        step_s: float = 1.0,
        sensors: SensorConfig | None = None,
        per_intersection_kpis: bool = False,
        loop_detectors: LoopDetectorConfig | None = None,
        loops: LoopState | None = None,
        routing_penalties_s: tuple[float, float] = (MINOR_PENALTY_S, TURNAROUND_PENALTY_S),
        rerouting: tuple[int, float, int] = (ADAPTATION_STEPS, PRE_PERIOD_S, ADAPTATION_INTERVAL_S),
        time_to_teleport_s: float = math.inf,
        max_depart_delay_s: float = -1.0,
        decision_grid_s: float | None = None,
    ) -> None:
        super().__init__(world, "city")
        self.world = world
        self.env: simpy.Environment = world.env
        self.network = network
        self.trips = trips
        self.step_s = step_s
        self.per_intersection_kpis = per_intersection_kpis
        self.arrays = network.compile()
        self.loops = no_loops(self.arrays.total_lanes) if loops is None else loops
        self.net = self._build_net()
        self.lanes = self._build_lanes()
        self._build_vehicle_types(trips.vtypes)
        self.veh = self._build_vehicles()
        self.stops = stop_arrays(trips.scheduled_stops, self.net.edge_lane_start)
        self._build_rerouting(routing_penalties_s, *rerouting)
        self.departs = _departs(
            trips, self.arrays, world.streams["traffic.depart"], max_depart_delay_s
        )
        self.lane_change = lane_change_state(len(trips), len(trips.vtypes))
        self.transfer = transfer_state(len(trips), time_to_teleport_s)
        self.emission = emissions.coefficients()
        self.mov_state = np.zeros(len(network.movements), dtype=np.int8)
        self._build_tick_state()
        self._policy_cache()
        self.board: ReadingBoard | None = None
        self.loop_boards: dict[str, ReadingBoard] = {}
        self._loop_signals: list[LoopSignal] = []
        self.loop_failed: npt.NDArray[np.bool_] | None = None
        self.own_feeds = OwnFeeds(self.env, step_s, self.arrays.n_lanes)
        """The detector feeds below, whose events the kernel runs past."""
        self.signals = SignalBank(
            network, self.mov_state, policy, self.observe, decision_grid_s, self.observe_turn
        )
        self.fixed_lights = self.signals.hand_to_kernel(self._actuation)
        """The lights that run as programmed, inside the kernel's ticks (no batch ends at
        their events)."""
        self.change_intervals = self.signals.changes
        """The other lights' change intervals, ended inside the kernel's ticks (a batch
        ends only where a light is asked)."""
        if sensors is not None:
            self._attach_sensors(sensors)
        if loop_detectors is not None:
            self._attach_loops(loop_detectors)
        self._build_probes()
        self._build_entities()
        self.loop_bank: LoopBank | None = None
        """The user's induction loops as SUMO reports them (a SUMO scenario sets it);
        their totals are KPIs."""
        self.arrival_listeners: list[Callable[[npt.NDArray[np.int64]], None]] = []
        """Called with the vehicles that arrived, after each kernel call (their
        ``veh.arrive_s`` says when): how a scenario learns that a vehicle it sent
        with :meth:`dispatch` has arrived."""
        self.dispatched = 0
        """On-call trips sent so far (:meth:`dispatch`)."""
        world.at_warmup_end(self._restart_statistics)
        self.process = self.env.process(self.run())

    # -- building -------------------------------------------------------------------------

    def _build_net(self) -> NetArrays:
        """The kernel's view of the network, with a stop-line and an upstream loop
        (policies' detectors) on every edge lane."""
        arrays = self.arrays
        det = np.full((arrays.total_lanes, 2), -1.0)
        edge_lane = arrays.lane_edge >= 0
        length = arrays.lane_length_m
        det[edge_lane, STOP_LOOP] = np.maximum(length[edge_lane] - 1.0, 0.0)
        det[edge_lane, UPSTREAM_LOOP] = np.maximum(
            length[edge_lane] - UPSTREAM_LOOP_HEADWAY_S * arrays.lane_speed_mps[edge_lane], 0.0
        )
        return NetArrays(
            arrays.lane_length_m,
            arrays.lane_speed_mps,
            arrays.lane_edge,
            arrays.lane_movement,
            arrays.edge_lane_start,
            arrays.edge_lanes,
            arrays.lane_out_start,
            arrays.out_movements,
            arrays.mov_to_edge,
            arrays.mov_from_lane,
            arrays.mov_lane,
            arrays.yield_start,
            arrays.yield_to,
            det,
            arrays.mov_to_lane,
            arrays.yield_mutual,
            arrays.yield_clear_m,
            arrays.mov_keep_clear,
            arrays.mov_internal_stop_m,
            arrays.inside_start,
            arrays.inside_to,
            arrays.inside_clear_m,
            arrays.inside_approach,
            arrays.inside_from_m,
        )

    def _build_lanes(self) -> Lanes:
        """Empty lanes: no vehicle, no queue, nothing detected yet."""
        n_all = self.arrays.total_lanes
        return Lanes(
            head=np.full(n_all, -1, dtype=np.int64),
            tail=np.full(n_all, -1, dtype=np.int64),
            count=np.zeros(n_all, dtype=np.int64),
            halting=np.zeros(n_all, dtype=np.int64),
            queue_sum=np.zeros(n_all),
            queue_max=np.zeros(n_all, dtype=np.int64),
            det_count=np.zeros((n_all, 2), dtype=np.int64),
            det_speed_sum=np.zeros((n_all, 2)),
            det_occupied=np.zeros((n_all, 2), dtype=np.int64),
            det_last_s=np.full((n_all, 2), -math.inf),
            insert_failed=np.zeros(n_all, dtype=np.bool_),
            occupied=occupied_words(n_all),
            **_loop_fields(self.loops),
            **self._actuation_fields(),
        )

    def _actuation_fields(self) -> dict[str, npt.NDArray[np.float64]]:
        """The loops of SUMO's actuated lights as the kernel's ``Lanes.act_*`` fields
        (:mod:`twin.traffic.actuation`); none without an actuated programme."""
        if not any(
            i.program is not None and i.program.actuation is not None
            for i in self.network.intersections
        ):
            return {}
        n_all = self.arrays.total_lanes
        return {
            "act_pos_m": actuation.loop_positions(self.network, self.arrays),
            "act_on_s": np.full(n_all, -math.inf),
            "act_left_s": np.full(n_all, -math.inf),
        }

    def _build_vehicle_types(self, vtypes: Sequence[VehicleType]) -> None:
        """The kernel's vehicle types, the fuel each burns and the emission model named
        in the KPIs' descriptions."""
        self.vt = VTypes(
            length=np.array([t.length_m for t in vtypes]),
            min_gap=np.array([t.min_gap_m for t in vtypes]),
            accel=np.array([t.accel_mps2 for t in vtypes]),
            decel=np.array([t.decel_mps2 for t in vtypes]),
            emergency_decel=np.array([t.emergency_decel_mps2 for t in vtypes]),
            vmax=np.array([t.max_speed_mps for t in vtypes]),
            sigma=np.array([t.sigma for t in vtypes]),
            tau=np.array([t.tau_s for t in vtypes]),
            emission_class=np.array(
                [emissions.class_index(t.emission_class) for t in vtypes], dtype=np.int64
            ),
        )
        # Each type's fuel follows its emission class (None: the zero-emission class).
        self.fuel_carrier = [emissions.fuel_of(t.emission_class) for t in vtypes]
        for carrier in set(self.fuel_carrier) - {None}:
            # A petrol car needs a petrol factor in the ledger; the core ships diesel.
            self.world.ledger.factors.setdefault(carrier, emissions.FUEL_FACTORS[carrier])
        # Per type: the carrier's index in _carriers (-1: none) and its density (inf:
        # no fuel, so no litres), for turning many vehicles' fuel into litres at once.
        self._carriers = sorted(set(self.fuel_carrier) - {None})
        self._carrier_of_type = np.array(
            [-1 if c is None else self._carriers.index(c) for c in self.fuel_carrier],
            dtype=np.int64,
        )
        self._density_of_type = np.array(
            [
                math.inf if c is None else emissions.FUEL_DENSITY_G_PER_L[c]
                for c in self.fuel_carrier
            ],
            dtype=np.float64,
        )
        models = sorted({emissions.model_of(t.emission_class) for t in vtypes} - {"zero"})
        self._emission_model = "+".join(models) or "zero-emission"

    def _build_vehicles(self) -> Vehicles:
        """Every trip's vehicle, pending; speed factors drawn once per trip, in trip
        order, from stream ``traffic.speed_factor`` (common random numbers), except where
        a trip brings its own (``TripTable.speed_factor``: its draw is made and unused, so
        every other trip keeps its factor)."""
        trips = self.trips
        vtypes = trips.vtypes
        n = len(trips)
        rng = self.world.streams["traffic.speed_factor"]
        mean = np.array([t.speed_factor_mean for t in vtypes])[trips.vtype]
        std = np.array([t.speed_factor_std for t in vtypes])[trips.vtype]
        factor = np.clip(mean + std * rng.standard_normal(n), 0.2, 2.0)
        if trips.speed_factor is not None:
            factor = np.where(np.isnan(trips.speed_factor), factor, trips.speed_factor)
        return Vehicles(
            state=np.full(n, PENDING, dtype=np.int8),
            lane=np.full(n, -1, dtype=np.int64),
            pos=np.zeros(n),
            speed=np.zeros(n),
            accel=np.zeros(n),
            ahead=np.full(n, -1, dtype=np.int64),
            behind=np.full(n, -1, dtype=np.int64),
            next_lane=np.full(n, -1, dtype=np.int64),
            back_lane=np.full(n, -1, dtype=np.int64),
            reach_lane=np.full((n, REACH_CACHE), -1, dtype=np.int64),
            reach_k=np.full((n, REACH_CACHE), -1, dtype=np.int64),
            reach_cached_m=np.zeros((n, REACH_CACHE)),
            route_k=np.zeros(n, dtype=np.int64),
            # Copies: a trip routed when it departs may get a new slice (rerouting).
            route_start=trips.route_start[:-1].copy(),
            route_end=trips.route_start[1:].copy(),
            route_edges=trips.route_edges.copy(),
            vtype=trips.vtype,
            speed_factor=factor,
            depart_s=trips.depart_s,
            insert_s=np.full(n, math.nan),
            arrive_s=np.full(n, math.nan),
            arrive_pos_m=(
                trips.arrival_pos_m.copy() if trips.arrival_pos_m is not None else np.zeros(0)
            ),
            time_loss_s=np.zeros(n),
            waiting_s=np.zeros(n),
            halted_s=np.zeros(n),
            stops=np.zeros(n, dtype=np.int64),
            halting=np.zeros(n, dtype=np.bool_),
            dist_m=np.zeros(n),
            co2_mg=np.zeros(n),
            fuel_mg=np.zeros(n),
            nox_mg=np.zeros(n),
        )

    def _build_tick_state(self) -> None:
        """What :meth:`run` keeps between kernel calls: the pending queue, the counters,
        the arrivals, the dawdling uniforms drawn ahead, the per-tick history."""
        n = len(self.trips)
        self.pending = np.zeros(max(n, 1), dtype=np.int64)
        self.counters = np.zeros(TICK_COUNTERS, dtype=np.int64)
        self.arrived = np.zeros(max(n, 1), dtype=np.int64)
        self._dawdle_rng = self.world.streams["traffic.dawdle"]
        self._dawdle = np.zeros(0)
        self._history = np.zeros((_MAX_BATCH_TICKS, 3), dtype=np.int64)
        self._next_tick_s = 0.0
        self.kernel_calls = 0
        # Thousands of calls on the same structures: skip Numba's typing of each.
        self._run_ticks = RepeatedCall(run_ticks)
        self.max_batch_ticks = _MAX_BATCH_TICKS
        self._stats_start_s = 0.0
        self._ticks = 0
        self._booked_mg = np.zeros(n)  # fuel of each vehicle already in the ledger

    def _build_rerouting(
        self, penalties_s: tuple[float, float], steps: int, pre_period_s: float, interval_s: int
    ) -> None:
        """SUMO's routing of trips given by origin and destination, at departure and
        every ``pre_period_s`` while they wait, on edge speeds averaged over ``steps``
        samples (:mod:`twin.traffic.rerouting`); nothing for a table of given routes."""
        stops = self.trips.stops
        routed = stops is not None and any(stops)
        self.edge_speeds = edge_speeds(
            self.net, self.lanes, self.veh, self.network, steps if routed else 0, interval_s
        )
        self.routing = trip_routing(
            self.network,
            stops if routed else None,
            len(self.trips),
            len(self.veh.route_edges),
            *penalties_s,
            pre_period_s,
        )
        if routed:  # room for new routes: as much as the given ones take, and more later
            self._grow_route_buffer()

    def _grow_route_buffer(self) -> None:
        """Twice the room in the vehicles' route buffer (its routes stay where they are)."""
        edges = self.veh.route_edges
        self.veh = self.veh._replace(route_edges=np.concatenate((edges, edges)))

    @property
    def reroutes(self) -> int:
        """Trips routed so far when they departed or while they waited (SUMO's
        rerouting device)."""
        return int(self.routing.state[1])

    def _build_probes(self) -> None:
        probes = self.world.probes
        self.on_network = probes.level("vehicles_on_network")
        self.waiting_insert = probes.level("vehicles_waiting_to_insert")
        self.arrivals = probes.counter("trips_arrived")
        self.halting_total = probes.level("vehicles_halting")

    def _build_entities(self) -> None:
        """A :class:`~twin.traffic.entities.Junction` per intersection and one
        :class:`~twin.traffic.entities.Fleet` for the vehicles (no random draws)."""
        signalised = {inter.id: k for k, inter in enumerate(self.signals.intersections)}
        self.junctions = [
            Junction(self, k, signalised.get(inter.id))
            for k, inter in enumerate(self.network.intersections)
        ]
        self.fleet = Fleet(self)

    def inspect(self) -> dict[str, Any]:
        """The network's size and the signal controllers' decisions so far."""
        return {
            "entity": self.name,
            "network": self.network.name,
            "intersections": len(self.network.intersections),
            "signalised": len(self.signals),
            "lanes": int(self.arrays.n_lanes),
            "trips": len(self.trips),
            "signal_decisions": int(self.signals.decisions),
        }

    # -- the tick ---------------------------------------------------------------------

    def run(self) -> simpy.events.ProcessGenerator:
        """Tick the city forever (the world's horizon ends the run).

        Between two events of the rest of the simulation (signal events included),
        one kernel call runs all the ticks (:func:`twin.traffic.kernels.run_ticks`):
        nothing can observe or change the city in between, so this is the tick-by-tick
        run, bit for bit, with the Python and call overhead paid once per call.
        """
        env = self.env
        dt = self.step_s
        while True:
            ticks = self._advance(self.max_batch_ticks)
            if ticks == 0:  # the city's own detector event due now goes first
                yield env.timeout(0.0)
            elif ticks == 1:
                yield env.timeout(dt)
            else:
                yield timeout_at(env, self._next_tick_s)  # as one tick at a time would

    def tick(self) -> None:
        """One kernel step from now: releases, signals, vehicles, arrivals."""
        self._advance(1)

    def dispatch(self, trip: int) -> None:
        """Send on-call trip ``trip`` now: a trip of the table whose departure is
        ``inf`` (it waits for a caller, e.g. a supply chain's truck); it queues for
        insertion behind the trips already waiting, as a trip due now would.

        Raises:
            ValueError: the trip is not on call, or was sent already.
        """
        veh = self.veh
        if not (math.isinf(veh.depart_s[trip]) and veh.state[trip] == PENDING):
            raise ValueError(f"trip {trip} is not an on-call trip waiting to be sent")
        veh.depart_s[trip] = float(self.env.now)
        veh.state[trip] = WAITING
        waiting = int(self.counters[WAITING_TRIPS])
        self.pending[waiting] = trip
        self.counters[WAITING_TRIPS] = waiting + 1
        self.dispatched += 1

    @property
    def signalised(self) -> tuple[Intersection, ...]:
        """The signalised intersections, in the order policies index them
        (``SignalObservation.intersection``)."""
        return tuple(self._signalised)

    @property
    def vehicle_updates(self) -> int:
        """Vehicles on the network summed over ticks so far (SUMO's vehicle updates)."""
        return int(self.counters[VEHICLE_UPDATES])

    def _advance(self, max_ticks: int) -> int:
        """Signals due now, then up to ``max_ticks`` ticks; the number run (0: one of
        the city's own detector events is due now and goes first, see
        :mod:`twin.traffic.feeds`)."""
        env = self.env
        now = float(env.now)
        dt = self.step_s
        counters = self.counters
        run_ahead = max_ticks > 1
        if run_ahead and self.own_feeds.scan(now):
            return 0
        # Every intersection deciding now sees the same city: gather it once for all.
        self._obs_caching = True
        try:
            self.signals.update(now)
        finally:
            self._obs_caching = False
            self._obs_snapshot = None
        # Every trip waiting or due now may be inserted and move this tick.
        due = int(np.searchsorted(self.veh.depart_s, now, side="right")) - int(
            counters[TRIPS_RELEASED]
        )
        # Sent on-call trips sit among later trips in departure order, so ``due`` may miss
        # or count some of them: counting them all keeps enough uniforms drawn ahead.
        need = max(
            int(counters[VEHICLES_ON_NETWORK])
            + int(counters[WAITING_TRIPS])
            + due
            + self.dispatched,
            1,
        )
        if int(counters[NEXT_DAWDLE]) + need > len(self._dawdle):
            # One draw of many uniforms equals many draws of few (same stream order).
            fresh = self._dawdle_rng.random(max(64 * need, 4096))
            self._dawdle = np.concatenate((self._dawdle[int(counters[NEXT_DAWDLE]) :], fresh))
            counters[NEXT_DAWDLE] = 0
        signal_due_s = self.signals.next_due_s
        stop_before_s = self.own_feeds.plan(now, signal_due_s, run_ahead)
        ticks = self._run_ticks(
            self.net,
            self.lanes,
            self.veh,
            self.vt,
            self.mov_state,
            self.emission,
            self._dawdle,
            self.pending,
            counters,
            self.arrived,
            self._history,
            now,
            dt,
            max_ticks,
            stop_before_s,
            signal_due_s,
            EPS_S,
            self.departs,
            self.lane_change,
            self.own_feeds.snaps,
            self.edge_speeds,
            self.routing,
            self.transfer,
            self.fixed_lights,
            self.change_intervals,
            self.stops,
        )
        if self.routing.state[2]:  # a departing trip's route found no room: make some
            self._grow_route_buffer()
            self.routing.state[2] = 0
        self._ticks += ticks
        self.kernel_calls += 1
        n_arr = int(counters[ARRIVALS_THIS_CALL])
        listened = False
        if n_arr:
            self.arrivals.add(n_arr)
            self._book(self.arrived[:n_arr])
            for listener in self.arrival_listeners:
                listener(self.arrived[:n_arr])
                listened = True
        levels = self._history[:ticks].astype(np.float64)
        self.on_network.set_each(levels[:, 0].tolist(), now, dt)
        self._next_tick_s = self.waiting_insert.set_each(levels[:, 1].tolist(), now, dt)
        runs_on = run_ahead and self.own_feeds.runs_ahead and not listened
        if runs_on:
            # Until the city wakes again only its own feeds' events run (a listener may
            # have scheduled something: then deliveries keep their events).
            self.own_feeds.unread_until(min(stop_before_s, self._next_tick_s))
        self.own_feeds.settle()
        if runs_on:
            # A feed sampling when the city wakes next, before it, sends a reading that
            # arrives after the city's decisions there: held until it has run on.
            self.own_feeds.hold(self._next_tick_s)
        return int(ticks)

    def _book(self, vehicles: npt.NDArray[np.int64], at_s: float | None = None) -> None:
        """The fuel ``vehicles`` burned since it was last booked into the ledger, per
        vehicle (at their arrival unless ``at_s`` is given).

        Booking only what is new keeps the ledger right however often KPIs are read
        during a run (the browser view reads them at every frame).
        """
        veh = self.veh
        n = len(vehicles)
        order, litres = np.empty(n, dtype=np.int64), np.empty(n)
        bounds = np.zeros(len(self._carriers) + 1, dtype=np.int64)
        fuel_to_book(
            vehicles, veh.fuel_mg, self._booked_mg, veh.vtype, self._density_of_type,
            self._carrier_of_type, order, litres, bounds,
        )  # fmt: skip
        for code, carrier in enumerate(self._carriers):
            start, end = int(bounds[code]), int(bounds[code + 1])
            if start == end:
                continue
            booked = order[start:end]
            at = veh.arrive_s[booked].tolist() if at_s is None else [at_s] * (end - start)
            self.world.ledger.use_each(
                carrier,
                litres[start:end].tolist(),
                at_s=at,
                entities=[f"vehicle{v}" for v in booked.tolist()],
                state="driving",
            )

    def _restart_statistics(self) -> None:
        """At the end of the warm-up: fuel, distance and queues count from now on."""
        veh, lanes = self.veh, self.lanes
        for array in (veh.dist_m, veh.co2_mg, veh.fuel_mg, veh.nox_mg):
            array[:] = 0.0
        lanes.queue_sum[:] = 0.0
        lanes.queue_max[:] = 0
        lanes.det_count[:] = 0
        lanes.det_speed_sum[:] = 0.0
        lanes.det_occupied[:] = 0
        for signal in self._loop_signals:
            signal.restart()
        self._stats_start_s = float(self.env.now)
        self._ticks = 0
        self._booked_mg[:] = 0.0
        self.signals.decisions = self.signals.clamped = self.signals.forced = 0

    # -- what policies see ----------------------------------------------------------------

    def _policy_cache(self) -> None:
        """Index arrays of what every signalised intersection observes, all together:
        one gather per decision instant serves every intersection deciding then."""
        net, arrays = self.network, self.arrays
        self._obs_lanes: list[npt.NDArray[np.int64]] = []
        self._phase_green: list[npt.NDArray[np.bool_]] = []
        self._movement_lane: list[npt.NDArray[np.int64]] = []
        self._green_s: list[npt.NDArray[np.float64]] = []
        self._phase_limits: list[list[tuple[float, float]]] = []
        self._obs_bounds: list[tuple[int, int]] = []
        self._signalised = [i for i in net.intersections if i.program is not None]
        self._signalised_ids = [i.id for i in self._signalised]
        self._entities = [f"{ENTITY_PREFIX}{i}" for i in self._signalised_ids]
        downs: list[npt.NDArray[np.int64]] = []
        counts_all: list[npt.NDArray[np.int64]] = []
        at = 0
        for inter in self._signalised:
            movs = np.array(inter.movements, dtype=np.int64)
            self._obs_lanes.append(arrays.mov_from_lane[movs])
            # Movements leaving from one lane share its number: 0, 1, ... in lane order.
            lane = np.unique(self._obs_lanes[-1], return_inverse=True)[1].astype(np.int64)
            lane.setflags(write=False)
            self._movement_lane.append(lane)
            self._obs_bounds.append((at, at + len(movs)))
            at += len(movs)
            to_edge = arrays.mov_to_edge[movs]
            counts = arrays.edge_lanes[to_edge]
            downs.extend(
                np.arange(s, s + c)
                for s, c in zip(arrays.edge_lane_start[to_edge], counts, strict=True)
            )
            counts_all.append(counts)
            assert inter.program is not None
            phases = inter.program.phases
            green = np.array([[c != "r" for c in p.state] for p in phases])
            green.setflags(write=False)
            self._phase_green.append(green)
            greens = np.array([p.green_s for p in phases])
            greens.setflags(write=False)
            self._green_s.append(greens)
            self._phase_limits.append([(p.min_green_s, p.max_green_s) for p in phases])
        self._actuation = self._actuated_lights()
        empty = np.zeros(0, dtype=np.int64)
        self._obs_from = np.concatenate(self._obs_lanes) if self._obs_lanes else empty
        self._obs_down = np.concatenate(downs) if downs else empty
        counts = np.concatenate(counts_all) if counts_all else empty
        self._obs_down_counts = counts
        self._obs_down_offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        self._obs_snapshot = None
        self._obs_caching = False
        # Per intersection: its movements' lanes, downstream lanes and where each
        # movement's downstream lanes start among them, and how many.
        self._obs_one: list[tuple[npt.NDArray[np.int64], ...]] = []
        for k, (a, b) in enumerate(self._obs_bounds):
            c = counts[a:b]
            start = int(self._obs_down_offsets[a]) if b > a else 0
            end = start + int(c.sum())
            down = self._obs_down[start:end]
            offsets = self._obs_down_offsets[a:b] - start
            self._obs_one.append((self._obs_lanes[k], down, offsets, c))
        self._gather_all_from = max(2, len(self._signalised) // _GATHER_ALL_SHARE)
        self._obs_bounds_array = np.array(self._obs_bounds, dtype=np.int64).reshape(-1, 2)
        self._any_actuated = any(parts is not None for parts in self._actuation)
        self._no_values = np.zeros(0)
        """Stands for a board the city does not have (no sensors, no loop detectors)."""

    def _actuated_lights(self) -> list[tuple[Any, ...] | None]:
        """Per signalised intersection, what its actuated light's reading is made of:
        per phase whether it is actuated, the loop lanes that extend it on every
        junction of the light (CSR: starts, lanes), max-gap and detector-gap; ``None``
        for a static programme."""
        positions = self.lanes.act_pos_m
        serving: dict[str, list[list[int]]] = {}
        for inter in self._signalised:
            program = inter.program
            assert program is not None
            if program.actuation is None:
                continue
            serves = actuation.loops_serving(inter, self.network, self.arrays, positions)
            lanes = self.arrays.mov_from_lane[np.array(inter.movements, dtype=np.int64)]
            light = serving.setdefault(
                program.actuation.tls_id, [[] for _ in range(len(program.phases))]
            )
            for p, row in enumerate(serves):
                light[p].extend(sorted(set(lanes[row].tolist()) - set(light[p])))
        csr = {
            tls: (
                np.cumsum([0] + [len(lanes) for lanes in per_phase]).astype(np.int64),
                np.array([lane for lanes in per_phase for lane in lanes], dtype=np.int64),
            )
            for tls, per_phase in serving.items()
        }
        out: list[tuple[Any, ...] | None] = []
        for inter in self._signalised:
            program = inter.program
            assert program is not None
            if program.actuation is None:
                out.append(None)
                continue
            start, flat = csr[program.actuation.tls_id]
            actuated = np.array(program.actuation.actuated, dtype=np.bool_)
            actuated.setflags(write=False)
            out.append(
                (
                    actuated,
                    start,
                    flat,
                    program.actuation.max_gap_s,
                    program.actuation.detector_gap_s,
                )
            )
        return out

    def _actuation_reading(self, i: int, now_s: float) -> ActuationReading | None:
        """Intersection ``i``'s actuated light's reading at ``now_s`` (``None``: static
        programme)."""
        parts = self._actuation[i]
        if parts is None:
            return None
        actuated, start, loop_lanes, max_gap, detector_gap = parts
        gap = actuation.phase_gaps(
            self.lanes.act_on_s, self.lanes.act_left_s, start, loop_lanes, now_s
        )
        return _new_tuple(ActuationReading, (actuated, gap, max_gap, detector_gap))

    def _observe_all(self, now_s: float) -> tuple[npt.NDArray[np.float64], ...]:
        """Queue, vehicles, downstream, gap, flow, sensed queue and sensed loops of every
        movement of every signalised intersection at ``now_s`` (read-only arrays)."""
        return self._readings(
            self._obs_from, self._obs_down, self._obs_down_offsets, self._obs_down_counts, now_s
        )

    def _readings(
        self,
        from_lane: npt.NDArray[np.int64],
        down: npt.NDArray[np.int64],
        down_start: npt.NDArray[np.int64],
        down_count: npt.NDArray[np.int64],
        now_s: float,
    ) -> tuple[npt.NDArray[np.float64], ...]:
        """The lane readings of the movements leaving from ``from_lane`` (see
        :func:`gather_readings`), as the observation's nine read-only arrays."""
        n = len(from_lane)
        readings, loops = np.empty((6, n)), np.empty((3, n, 2))
        no_values = self._no_values
        loop_values = tuple(board.values for board in self.loop_boards.values()) or (
            no_values,
            no_values,
            no_values,
        )
        gather_readings(
            self.lanes.halting,
            self.lanes.count,
            self.lanes.det_last_s,
            self.lanes.det_count,
            from_lane,
            down,
            down_start,
            down_count,
            now_s,
            max(now_s - self._stats_start_s, 1.0),
            self.board.values if self.board is not None else no_values,
            *loop_values,
            readings,
            loops,
        )
        # Intersections share these arrays (as views): no policy may write to them.
        readings.setflags(write=False)
        loops.setflags(write=False)
        return (*readings, *loops)

    def observe(self, i: int, now_s: float) -> SignalObservation:
        """The observation of signalised intersection ``i`` at ``now_s``."""
        snapshot = self._obs_snapshot
        if snapshot is not None and snapshot[0] == now_s:
            values = snapshot[1]
        elif self._obs_caching and self.signals.due_count >= self._gather_all_from:
            values = self._observe_all(now_s)
            self._obs_snapshot = (now_s, values)
        else:
            return self._observe_one(i, now_s)
        a, b = self._obs_bounds[i]
        return self._observation(i, now_s, tuple(array[a:b] for array in values))

    def observe_turn(self, deciding: npt.NDArray[np.int64], now_s: float) -> SignalTurn:
        """The observations of the signalised intersections ``deciding`` at ``now_s``,
        as one batch (what :meth:`observe` would give each, item by item)."""
        if len(deciding) >= self._gather_all_from:
            values = self._observe_all(now_s)
            bounds = self._obs_bounds_array[deciding]
        else:
            parts = [self._readings(*self._obs_one[i], now_s) for i in deciding.tolist()]
            values = tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))
            for array in values:
                array.setflags(write=False)
            sizes = [len(part[0]) for part in parts]
            ends = np.cumsum(sizes, dtype=np.int64)
            bounds = np.stack((ends - sizes, ends), axis=1)
        signals = self.signals
        phase = signals.phase[deciding]
        elapsed = now_s - signals.green_start_s[deciding]
        ids = deciding.tolist()
        min_green = signals.min_green_s(deciding)
        # Read now, not when an item is made: the world moves on after the instant.
        if self._any_actuated:
            actuation = [self._actuation_reading(i, now_s) for i in ids]
        else:
            actuation = [None] * len(ids)

        def make(k: int) -> SignalObservation:
            a, b = bounds[k].tolist()
            lane_values = tuple(array[a:b] for array in values)
            return self._observation_of(
                ids[k], now_s, lane_values, int(phase[k]), float(elapsed[k]), actuation[k]
            )

        return SignalTurn(
            now_s,
            deciding,
            [self._entities[i] for i in ids],
            phase,
            elapsed,
            min_green,
            values[1],
            values[0],
            bounds,
            make,
        )

    def _observation(
        self, i: int, now_s: float, lane_values: tuple[npt.NDArray[np.float64], ...]
    ) -> SignalObservation:
        """Intersection ``i``'s observation now, with its movements' ``lane_values``."""
        return self._observation_of(
            i,
            now_s,
            lane_values,
            int(self.signals.phase[i]),
            now_s - float(self.signals.green_start_s[i]),
            self._actuation_reading(i, now_s),
        )

    def _observation_of(
        self,
        i: int,
        now_s: float,
        lane_values: tuple[npt.NDArray[np.float64], ...],
        phase: int,
        elapsed_s: float,
        actuation: ActuationReading | None,
    ) -> SignalObservation:
        """Intersection ``i`` showing ``phase`` for ``elapsed_s``, with its movements' lane
        values (queue, vehicles, downstream, gap, flow, sensed queue, loop count,
        occupancy, speed) and which movements share a lane."""
        min_green, max_green = self._phase_limits[i][phase]
        # tuple.__new__ skips NamedTuple's generated __new__: this runs at every decision.
        return _new_tuple(
            SignalObservation,
            (
                now_s,
                i,
                self._signalised_ids[i],
                phase,
                elapsed_s,
                min_green,
                max_green,
                self._phase_green[i],
                self._green_s[i],
                *lane_values,
                self._movement_lane[i],
                actuation,
            ),
        )

    def _observe_one(self, i: int, now_s: float) -> SignalObservation:
        """``observe`` for one intersection alone (few decide at this instant)."""
        return self._observation(i, now_s, self._readings(*self._obs_one[i], now_s))

    def _attach_sensors(self, config: SensorConfig) -> None:
        """Lane-area queue detectors on every edge lane, through the sensor pipeline."""
        n = self.arrays.n_lanes
        lanes = self.lanes

        self.board = ReadingBoard(n)
        signal = _QueueSignal(lanes, self.own_feeds, self.own_feeds.clock)
        feed = SensorFeed.attach(self.world, "traffic.queue", signal, config, n, self.board)
        self.own_feeds.add(feed, "queue")

    def _attach_loops(self, config: LoopDetectorConfig) -> None:
        """Stop-line and upstream loops on every edge lane: one feed per quantity, one
        channel per loop (``2 * lane + loop``), dead loops drawn once per run."""
        n = self.arrays.n_lanes
        failed = self.world.streams["traffic.loop_failures"].random(2 * n) < (
            config.failed_fraction
        )
        failed.setflags(write=False)
        self.loop_failed = failed.reshape(n, 2)
        clock = self.own_feeds.clock
        for quantity in QUANTITIES:
            board = ReadingBoard(2 * n)
            signal = LoopSignal(self.lanes, n, quantity, self.step_s, clock, failed, self.own_feeds)
            feed = SensorFeed.attach(
                self.world, f"traffic.loop_{quantity}", signal, config.feed(quantity), 2 * n, board
            )
            self.own_feeds.add(feed, "loop")
            self.loop_boards[quantity] = board
            self._loop_signals.append(signal)

    # -- results ---------------------------------------------------------------------------

    def _resco_delay(self, done: npt.NDArray[np.bool_], now: float) -> float:
        """RESCO's delay metric (``resco_benchmark/utils/readXML.py``): timeLoss plus
        departDelay of every finished trip, and for every trip due but never inserted the
        time from its departure to the end, over the finished and never-inserted trips;
        trips still driving at the end are left out, as SUMO writes them no tripinfo."""
        veh = self.veh
        stuck = (veh.state == WAITING) & (veh.depart_s >= self._stats_start_s)
        total = float(
            (veh.time_loss_s[done] + (veh.insert_s - veh.depart_s)[done]).sum()
            + (now - veh.depart_s[stuck]).sum()
        )
        trips = int(done.sum() + stuck.sum())
        return total / trips if trips else math.nan

    def trips_unfinished(self) -> int:
        """Trips on the network (teleporting ones included) or waiting to enter it now."""
        state = self.veh.state
        on = (state == DRIVING) | (state == WAITING) | (state == TELEPORTING)
        return int(np.count_nonzero(on))

    def kpis(self) -> dict[str, KPI]:
        """KPIs in two families, named so that nobody compares the wrong pair:

        - **finished trips** (those that arrived after the warm-up), defined as SUMO's
          ``--tripinfo-output`` and ``--duration-log.statistics`` define them: means
          (``trip_duration_mean_s``, ``time_loss_mean_s``, ...) and sums over those trips
          (``trips_*``: ``trips_co2_kg`` is what SUMO's tripinfo ``CO2_abs`` adds up to);
        - **network totals** (``network_*``): every vehicle that drove after the warm-up,
          finished or not (what a city emits, whatever the trips' fate). Their fuel is
          booked into the ledger, so the run's ``fuel_l`` and ``co2e_kg`` are the network's
          fuel and its CO2e by the fuel's factor; ``network_co2_kg`` is the emission
          model's tailpipe CO2, the figure SUMO would report.

        Then queues per intersection (if asked) and the user's induction loops
        (``loop.<id>.*``, whole run, warm-up included, as SUMO's detectors know none).
        This is the one place the traffic KPIs are computed; the scenarios return it.
        """
        veh, lanes = self.veh, self.lanes
        warm = self._stats_start_s
        now = float(self.env.now)
        done = (veh.state == ARRIVED) & (veh.arrive_s > warm)
        # Vehicles still driving burned fuel too: book what they burned so far.
        self._book(np.flatnonzero((veh.state == DRIVING) | (veh.state == TELEPORTING)), now)
        duration = veh.arrive_s[done] - veh.insert_s[done]
        hours = max(now - warm, 1e-9) / SECONDS_PER_HOUR
        ticks = max(self._ticks, 1)
        approach = self._approach_lanes()
        queue_mean = lanes.queue_sum[approach] / ticks
        fuel_l = self._fuel_l_per_vehicle()
        route_m = veh.dist_m[done]
        depart_delay = (veh.insert_s - veh.depart_s)[done]
        model = self._emission_model

        def mean(x: npt.NDArray[Any]) -> float:
            return float(np.mean(x)) if len(x) else math.nan

        kpis = {
            "trips_completed": KPI(float(done.sum()), "trips", "arrived after the warm-up"),
            "trips_unfinished": KPI(
                float(self.trips_unfinished()),
                "trips",
                "on the network or waiting to enter at the end",
            ),
            "throughput_per_h": KPI(float(done.sum()) / hours, "trips/h", "arrivals per hour"),
            "trip_duration_mean_s": KPI(mean(duration), "s", "tripinfo duration"),
            "time_loss_mean_s": KPI(mean(veh.time_loss_s[done]), "s", "tripinfo timeLoss"),
            "waiting_time_mean_s": KPI(
                mean(veh.waiting_s[done]), "s", "tripinfo waitingTime (speed <= 0.1 m/s)"
            ),
            "stops_mean": KPI(
                mean(veh.stops[done].astype(float)), "stops", "tripinfo waitingCount"
            ),
            "depart_delay_mean_s": KPI(mean(depart_delay), "s", "tripinfo departDelay"),
            "resco_delay_mean_s": KPI(
                self._resco_delay(done, now), "s", "RESCO's average delay (Ault & Sharon 2021)"
            ),
            "route_length_mean_m": KPI(mean(route_m), "m", "tripinfo routeLength"),
            "speed_mean_mps": KPI(
                mean(route_m / np.maximum(duration, 1e-9)),
                "m/s",
                "mean of routeLength / duration (statistics Speed)",
            ),
            "trips_duration_total_s": KPI(
                float(duration.sum()), "s", "sum of tripinfo duration (totalTravelTime)"
            ),
            "trips_time_loss_total_s": KPI(
                float(veh.time_loss_s[done].sum()), "s", "sum of tripinfo timeLoss"
            ),
            "trips_depart_delay_total_s": KPI(
                float(depart_delay.sum()), "s", "sum of tripinfo departDelay (totalDepartDelay)"
            ),
            "trips_vehicle_km": KPI(float(route_m.sum()) / METRES_PER_KM, "km", "finished trips"),
            "trips_fuel_l": KPI(float(fuel_l[done].sum()), "L", f"{model} fuel of finished trips"),
            "trips_co2_kg": KPI(
                float(veh.co2_mg[done].sum()) / 1e6,
                "kg",
                f"{model} CO2 of finished trips (tripinfo)",
            ),
            "trips_nox_g": KPI(
                float(veh.nox_mg[done].sum()) / 1e3, "g", f"{model} NOx of finished trips"
            ),
            "queue_mean_veh": KPI(
                mean(queue_mean), "veh", "time-mean halting vehicles per approach lane"
            ),
            "queue_max_veh": KPI(
                float(lanes.queue_max[approach].max()) if len(approach) else math.nan,
                "veh",
                "largest halting queue on any approach lane",
            ),
            "network_vehicle_km": KPI(
                float(veh.dist_m.sum()) / METRES_PER_KM, "km", "all vehicles"
            ),
            # No network fuel total: it is the ledger's fuel_l, booked from the same litres.
            "network_co2_kg": KPI(
                float(veh.co2_mg.sum()) / 1e6,
                "kg",
                f"{model} tailpipe CO2 of all vehicles, from speed and acceleration "
                "(co2e_kg is the ledger's: fuel_l x the fuel's CO2e factor)",
            ),
            "network_nox_g": KPI(
                float(veh.nox_mg.sum()) / 1e3, "g", f"{model} NOx of all vehicles"
            ),
            "signal_decisions": KPI(
                float(self.signals.decisions), "decisions", "times a signal policy was asked"
            ),
            "signal_requests_clamped": KPI(
                float(self.signals.clamped),
                "decisions",
                "changes asked before the phase's min green (it stayed until min green)",
            ),
            "signal_max_outs": KPI(
                float(self.signals.forced),
                "phases",
                "ended at max green by the controller, the policy not asked",
            ),
            "emergency_brakes": KPI(
                float(self.counters[EMERGENCY_BRAKES]), "events", "harder than decel"
            ),
            "lane_changes": KPI(float(self.counters[LANE_CHANGES]), "changes", "LC2013 essentials"),
            "teleports": KPI(
                float(self.counters[TELEPORTS]),
                "vehicles",
                "front vehicles teleported out of a jam (SUMO's time-to-teleport)",
            ),
        }
        if len(self.stops.holders):  # scheduled stops (SUMO's <stop>)
            kpis["stop_time_mean_s"] = KPI(
                mean(self.stops.at[done, STOPPED_S]), "s", "tripinfo stopTime"
            )
            kpis["stops_skipped"] = KPI(
                float(self.stops.at[:, SKIPPED].sum()),
                "stops",
                "scheduled stops passed without reaching them (SUMO: 'skips stop')",
            )
        if self.departs.max_delay_s[0] >= 0:  # SUMO's max-depart-delay
            kpis["trips_discarded"] = KPI(
                float(np.count_nonzero(self.veh.state == DISCARDED)),
                "trips",
                "never inserted within max-depart-delay (SUMO: loaded - inserted - waiting)",
            )
        if self.per_intersection_kpis:
            for i, inter in enumerate(self._signalised):
                lanes_i = np.unique(self._obs_lanes[i])
                kpis[f"queue_mean_veh.{inter.id}"] = KPI(
                    float(np.mean(lanes.queue_sum[lanes_i] / ticks)), "veh", "per approach lane"
                )
                kpis[f"queue_max_veh.{inter.id}"] = KPI(
                    float(lanes.queue_max[lanes_i].max()), "veh", "largest approach queue"
                )
        if self.loop_bank is not None:
            for loop_id, (count, speed, occupancy) in self.loop_bank.totals(now).items():
                kpis[f"loop.{loop_id}.count"] = KPI(
                    float(count), "veh", "e1 nVehContrib summed over the run"
                )
                kpis[f"loop.{loop_id}.speed_mps"] = KPI(
                    speed, "m/s", "e1 speed: mean over the vehicles counted"
                )
                kpis[f"loop.{loop_id}.occupancy_pct"] = KPI(
                    occupancy, "%", "e1 occupancy: time-mean over the run"
                )
        return kpis

    def _approach_lanes(self) -> npt.NDArray[np.int64]:
        if not self._obs_lanes:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(self._obs_lanes))

    def _fuel_l_per_vehicle(self) -> npt.NDArray[np.float64]:
        return self.veh.fuel_mg / 1000.0 / self._density_of_type[self.veh.vtype]


def _departs(
    trips: TripTable, arrays: Any, rng: np.random.Generator, max_depart_delay_s: float
) -> Departs:
    """The depart codes of every trip (SUMO's defaults where the table has none), the
    key of their random choices (one 64-bit integer from stream ``traffic.depart``),
    per edge the internal lanes that end on it, and the longest wait before a trip is
    discarded (negative: none)."""
    n = len(trips)
    lane = trips.depart_lane if trips.depart_lane is not None else np.full(n, DEPART_LANE_FIRST)
    pos = trips.depart_pos_m if trips.depart_pos_m is not None else np.full(n, DEPART_POS_BASE)
    speed = trips.depart_speed_mps if trips.depart_speed_mps is not None else np.zeros(n)
    first_edge = trips.route_edges[trips.route_start[:-1]] if n else np.zeros(0, np.int64)
    n_lanes = arrays.edge_lanes[first_edge]
    bad = np.flatnonzero(lane >= n_lanes)
    if len(bad):
        k = int(bad[0])
        raise ConfigError(
            "<trips>",
            f"trip {k}.departLane",
            f"lane {int(lane[k])} on an edge with {int(n_lanes[k])} lane(s); "
            "twin needs an index below the edge's lane count or a keyword",
        )
    draw_key = rng.integers(0, 2**64, size=1, dtype=np.uint64)
    to_edge = arrays.mov_to_edge
    order = np.argsort(to_edge, kind="stable")
    in_start = np.zeros(len(arrays.edge_lanes) + 1, dtype=np.int64)
    np.cumsum(np.bincount(to_edge, minlength=len(arrays.edge_lanes)), out=in_start[1:])
    widest = int(arrays.edge_lanes.max(initial=1))
    return Departs(
        np.ascontiguousarray(lane, dtype=np.int64),
        np.ascontiguousarray(pos, dtype=np.float64),
        np.ascontiguousarray(speed, dtype=np.float64),
        draw_key,
        np.zeros(n, dtype=np.int64),
        in_start,
        np.ascontiguousarray(arrays.mov_lane[order], dtype=np.int64),
        np.zeros((BEST_LANES_EDGES, widest)),
        np.zeros((BEST_LANES_EDGES, widest), dtype=np.int64),
        np.zeros((BEST_LANES_EDGES, widest), dtype=np.int64),
        np.zeros(BEST_LANES_EDGES, dtype=np.int64),
        np.array([max_depart_delay_s]),
    )


@numba.njit(cache=True)
def fuel_to_book(
    vehicles: npt.NDArray[np.int64],
    fuel_mg: npt.NDArray[np.float64],
    booked_mg: npt.NDArray[np.float64],
    vtype: npt.NDArray[np.int64],
    density_of_type: npt.NDArray[np.float64],
    carrier_of_type: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64],
    litres: npt.NDArray[np.float64],
    bounds: npt.NDArray[np.int64],
) -> None:
    """The litres of fuel each of ``vehicles`` burned since ``booked_mg`` (updated), to
    book carrier by carrier: ``order[bounds[c]:bounds[c + 1]]`` are the vehicles of
    carrier ``c`` with litres to book, ``litres`` theirs, type by type in ascending type
    order and in the given order within a type (the order runs have always booked them
    in, so a carrier's running totals match theirs to the bit). ``bounds`` holds one
    more entry than carriers and must come zeroed; ``order`` and ``litres`` hold room
    for every vehicle."""
    n_types = density_of_type.shape[0]
    n = vehicles.shape[0]
    count = np.zeros(n_types, dtype=np.int64)
    kept = np.empty(n, dtype=np.int64)
    kept_litres = np.empty(n)
    k = 0
    for i in range(n):
        v = vehicles[i]
        unbooked = fuel_mg[v] - booked_mg[v]
        if not unbooked > 0.0:
            continue
        booked_mg[v] = fuel_mg[v]
        t = vtype[v]
        burned = unbooked / 1000.0 / density_of_type[t]  # no fuel: an infinite density
        if burned > 0.0 and carrier_of_type[t] >= 0:
            kept[k] = i
            kept_litres[k] = burned
            count[t] += 1
            k += 1
    # Types in order within each carrier, carriers in order: where each type starts.
    start = np.zeros(n_types, dtype=np.int64)
    at = 0
    for c in range(bounds.shape[0] - 1):
        bounds[c] = at
        for t in range(n_types):
            if carrier_of_type[t] == c:
                start[t] = at
                at += count[t]
    bounds[bounds.shape[0] - 1] = at
    for j in range(k):
        v = vehicles[kept[j]]
        t = vtype[v]
        order[start[t]] = v
        litres[start[t]] = kept_litres[j]
        start[t] += 1


class _QueueSignal:
    """The true halting count of every edge lane: what the queue detectors measure (at
    the sample's time, which the kernel may have run past: :mod:`twin.traffic.feeds`)."""

    def __init__(self, lanes: Lanes, feeds: OwnFeeds, clock: Callable[[], float]) -> None:
        self.lanes = lanes
        self.feeds = feeds
        self.clock = clock

    def __call__(self) -> npt.NDArray[np.float64]:
        return self.feeds.queue_halting(self.lanes, [self.clock()])[0]

    def at_times(self, times: Sequence[float]) -> npt.NDArray[np.float64]:
        """The true halting counts at each of ``times``, ``(len(times), lanes)``."""
        return self.feeds.queue_halting(self.lanes, times)


def _loop_fields(loops: LoopState) -> dict[str, Any]:
    """A loop state as the kernel's ``Lanes`` fields (``loop_start``, ...)."""
    return {f"loop_{name}": value for name, value in loops._asdict().items()}


@numba.njit(cache=True)
def gather_readings(
    halting: npt.NDArray[np.int64],
    count: npt.NDArray[np.int64],
    det_last_s: npt.NDArray[np.float64],
    det_count: npt.NDArray[np.int64],
    from_lane: npt.NDArray[np.int64],
    down: npt.NDArray[np.int64],
    down_start: npt.NDArray[np.int64],
    down_count: npt.NDArray[np.int64],
    now_s: float,
    elapsed_s: float,
    sensed: npt.NDArray[np.float64],
    loop_count: npt.NDArray[np.float64],
    loop_occupancy: npt.NDArray[np.float64],
    loop_speed: npt.NDArray[np.float64],
    readings: npt.NDArray[np.float64],
    loops: npt.NDArray[np.float64],
) -> None:
    """Per movement ``m`` leaving from lane ``from_lane[m]``, what a signal policy reads
    (:class:`~twin.traffic.observation.SignalObservation`): ``readings[:, m]`` is its
    lane's halting vehicles and vehicles, the mean vehicles on its downstream lanes
    (``down[down_start[m]:][:down_count[m]]``), the seconds since the upstream loop last
    saw a vehicle, the stop-line loop's vehicles per second over ``elapsed_s``, and the
    sensed queue (``sensed`` per lane; NaN if empty); ``loops[q, m]`` are both loops'
    delivered count, occupancy and speed (``2 * lane + loop`` in each board; NaN if
    empty). One pass for any number of intersections, instead of a dozen array
    operations each."""
    for m in range(from_lane.shape[0]):
        lane = from_lane[m]
        readings[0, m] = halting[lane]
        readings[1, m] = count[lane]
        total = 0
        for d in range(down_start[m], down_start[m] + down_count[m]):
            total += count[down[d]]
        readings[2, m] = total / down_count[m]
        readings[3, m] = now_s - det_last_s[lane, UPSTREAM_LOOP]
        readings[4, m] = det_count[lane, STOP_LOOP] / elapsed_s
        readings[5, m] = sensed[lane] if sensed.shape[0] else np.nan
        for k in range(2):
            at = 2 * lane + k
            loops[0, m, k] = loop_count[at] if loop_count.shape[0] else np.nan
            loops[1, m, k] = loop_occupancy[at] if loop_occupancy.shape[0] else np.nan
            loops[2, m, k] = loop_speed[at] if loop_speed.shape[0] else np.nan
