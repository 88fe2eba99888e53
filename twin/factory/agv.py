"""Automated guided vehicles (AGVs): a battery-powered fleet that carries loads on a layout.

A transport request waits in a FIFO list until the dispatch policy assigns it to an idle
AGV. The AGV drives empty to the pickup, loads, drives loaded to the drop, unloads and,
when its battery runs low, drives to the nearest charger. Each direction of an aisle is a
one-vehicle segment, held only while it is driven, so vehicles queue at nodes and can
never deadlock (no vehicle holds one segment while waiting for another).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from typing import TYPE_CHECKING, Any

import simpy

from twin.core.caches import keep_bounded
from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.scenario import KPI
from twin.core.units import METRES_PER_KM, SECONDS_PER_HOUR
from twin.factory.layout import ROUTE_CACHE_SIZE, Layout
from twin.factory.observation import (
    WAIT,
    AgvView,
    DispatchAction,
    DispatchObservation,
    FleetViews,
    TransportRequest,
    check_dispatch_action,
)

if TYPE_CHECKING:
    from simpy.events import ProcessGenerator

    from twin.core.ledger import PowerMeter
    from twin.core.probes import Tally
    from twin.core.world import World
    from twin.factory.config import AgvSpec

_new_tuple = tuple.__new__

_WORKING = frozenset(("to_pickup", "loading", "loaded", "unloading"))
_CHARGING = frozenset(("to_charger", "charging"))


class Lane:
    """One direction of an aisle: at most one vehicle on it, the others queue at its entry.

    A lighter ``simpy.Resource(capacity=1)``: a vehicle that finds the lane free takes it
    without an event (a SimPy request and release are two events each, and a plant-day
    drives 80,000 segments); a vehicle that finds it taken waits for the one ahead to hand
    it over on leaving, first come first served, as the resource did.

    Attributes:
        count: vehicles holding the lane (0 or 1), as ``Resource.count``.
    """

    __slots__ = ("_env", "_queue", "count")

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self.count = 0
        self._queue: deque[simpy.Event] = deque()

    def claim(self) -> simpy.Event | None:
        """Take the lane now (``None``), or the event of the turn to wait for."""
        if self.count:
            turn = self._env.event()
            self._queue.append(turn)
            return turn
        self.count = 1
        return None

    def release(self) -> None:
        """Leave the lane; the first vehicle waiting at its entry takes it."""
        self.count -= 1
        if self._queue:
            self.count += 1
            self._queue.popleft().succeed()


_Leg = tuple[str, float, float, Lane, tuple[float, float], tuple[float, float]]
"""One segment of a route: ``(to, length_m, duration_s, lane, halfway, arrival)``, the
last two the positions shown while driving it and once there."""


class _Job:
    """A transport request inside the fleet."""

    __slots__ = ("done", "payload", "picked_up", "view")

    def __init__(
        self,
        view: TransportRequest,
        payload: object,
        done: simpy.Event,
        picked_up: simpy.Event | None = None,
    ) -> None:
        self.view = view
        self.payload = payload
        self.done = done
        self.picked_up = picked_up


class Agv(Entity):
    """One vehicle: a SimPy process that serves the jobs the fleet gives it.

    The entity ``<fleet prefix>:<index>`` (``agv:3``); its ``pos`` is its node's position,
    or the middle of the aisle it is driving.

    Attributes:
        index: its number in the fleet (the ``id`` a policy sees).
        node: the node it is at, or the last node it reached while moving.
        segment: the directed segment ``(from, to)`` it is driving now, else ``None``.
        energy_kwh: energy left in the battery.
        odometer_m: metres driven since the start (not reset by the warm-up).
        job: the request it is serving, if any.
        entity: how the ledger names it (``agv3``).
    """

    def __init__(self, fleet: AgvFleet, index: int, node: str) -> None:
        super().__init__(fleet.world, f"{fleet.prefix}:{index}", fleet.position(node))
        spec = fleet.spec
        self.fleet = fleet
        self.index = index
        self.node = node
        self.segment: tuple[str, str] | None = None
        self.state = "idle"
        self.energy_kwh = spec.charge_to_soc * spec.battery_kwh
        self.odometer_m = 0.0
        self.job: _Job | None = None
        self.entity = f"{fleet.prefix}{index}"
        self._charge_first = False
        self._wake: simpy.Event | None = None
        self._meter: PowerMeter = fleet.world.power_meter(
            self.entity, {"charging": spec.charge_power_kw, "not_charging": 0.0}, "not_charging"
        )
        self.process = fleet.env.process(self.run())

    @property
    def soc(self) -> float:
        """State of charge, 0..1."""
        return self.energy_kwh / self.fleet.spec.battery_kwh

    @property
    def range_m(self) -> float:
        """Metres it can still drive on its charge."""
        per_m = self.fleet.spec.consumption_kwh_per_m
        return self.energy_kwh / per_m if per_m else math.inf

    def view(self) -> AgvView:
        # tuple.__new__ skips NamedTuple's generated __new__; this runs per AGV per epoch.
        return _new_tuple(
            AgvView,
            (self.index, self.node, self.state == "idle", self.soc, self.range_m, self.state),
        )

    def inspect(self) -> dict[str, Any]:
        """Where it is, what it does, its battery and its job."""
        job = self.job
        return {
            "entity": self.name,
            "state": self.state,
            "node": self.node,
            "segment": list(self.segment) if self.segment is not None else None,
            "soc": self.soc,
            "range_m": self.range_m,
            "odometer_m": self.odometer_m,
            "job": None
            if job is None
            else {
                "request": job.view.number,
                "pickup": job.view.pickup,
                "drop": job.view.drop,
                "requested_s": job.view.requested_s,
            },
        }

    def run(self) -> ProcessGenerator:
        fleet = self.fleet
        spec = fleet.spec
        env = fleet.env
        while True:
            if self.job is None:
                self._wake = env.event()
                yield self._wake
                self._wake = None
            job = self.job
            assert job is not None  # only assign() wakes an idle AGV, after setting job
            if self._charge_first:
                yield from self._charge()
                fleet._switch(self, "to_pickup")
            yield from self._drive(job.view.pickup, fleet.empty_m)
            fleet._switch(self, "loading")
            if spec.load_time_s:
                yield env.timeout(spec.load_time_s)
            fleet._switch(self, "loaded")
            if job.picked_up is not None:
                job.picked_up.succeed(job.payload)
            yield from self._drive(job.view.drop, fleet.loaded_m)
            fleet._switch(self, "unloading")
            if spec.unload_time_s:
                yield env.timeout(spec.unload_time_s)
            self.job = None
            fleet._delivered(job)
            if spec.consumption_kwh_per_m and self.soc < spec.recharge_below_soc:
                yield from self._charge()
            fleet._become_idle(self)

    def _drive(self, target: str, metres: Tally) -> ProcessGenerator:
        """Drive the cached shortest path to ``target``, one segment at a time."""
        legs = self.fleet._legs(self.node, target)
        if not legs:
            return
        env = self.fleet.env
        driven_m = 0.0
        for to, length_m, duration_s, lane, halfway, arrival in legs:
            # Claim the segment at its entry node and release it on arrival: a vehicle
            # waiting for a segment holds nothing, so there is no hold-and-wait.
            turn = lane.claim()
            if turn is not None:
                yield turn
            self.segment = (self.node, to)
            self.pos = halfway
            yield env.timeout(duration_s)
            self.segment = None
            lane.release()
            self._use_energy(length_m)  # marks the view out of date, with the new node
            self.node = to
            self.pos = arrival
            driven_m += length_m
        self.odometer_m += driven_m
        metres.observe(driven_m)

    def _charge(self) -> ProcessGenerator:
        """Drive to the nearest charger, wait for it, charge to ``charge_to_soc``."""
        fleet = self.fleet
        spec = fleet.spec
        fleet._switch(self, "to_charger")
        charger = fleet.layout.nearest_charger(self.node)
        yield from self._drive(charger, fleet.empty_m)
        with fleet.chargers[charger].request() as plug:
            yield plug
            fleet._switch(self, "charging")
            self._meter.switch("charging")
            target_kwh = max(self.energy_kwh, spec.charge_to_soc * spec.battery_kwh)
            duration_s = (target_kwh - self.energy_kwh) / spec.charge_power_kw * SECONDS_PER_HOUR
            if duration_s > 0:
                yield fleet.env.timeout(duration_s)
            self.energy_kwh = target_kwh
            self.fleet._changed(self)
            self._meter.switch("not_charging")
        fleet.charges.add()

    def _use_energy(self, length_m: float) -> None:
        used = length_m * self.fleet.spec.consumption_kwh_per_m
        left = self.energy_kwh - used
        # The dispatch check guarantees the energy; only rounding may dip below zero.
        if left < -1e-6 * self.fleet.spec.battery_kwh:
            raise RuntimeError(f"{self.entity} would drive its battery below 0 ({left} kWh)")
        self.energy_kwh = max(left, 0.0)
        self.fleet._changed(self)


class AgvFleet(Entity):
    """A fleet of AGVs on a layout, dispatched by a policy; the entity ``fleet:<name>``.

    Args:
        world: the run's world.
        layout: the plant layout (paths, chargers).
        spec: the fleet's parameters.
        policy: the dispatch policy (domain ``"factory.dispatch"``).
        name: prefix of probe names, KPI names, ledger entities and entity names
            (``agv`` gives ``agv_busy``, ``agv_utilisation``, ``agv0``, ``agv:0``); two
            fleets need two names.

    The policy is called when a request arrives and when an AGV becomes idle, as long as
    a request waits and an AGV is idle.
    """

    def __init__(
        self,
        world: World,
        layout: Layout,
        spec: AgvSpec,
        policy: Policy[DispatchObservation, DispatchAction],
        *,
        name: str = "agv",
    ) -> None:
        super().__init__(world, f"fleet:{name}")
        self.world = world
        self.env = world.env
        self.layout = layout
        self.spec = spec
        self.policy = policy
        self.policy_id: str = getattr(policy, "id", type(policy).__name__)
        self.prefix = name
        homes = self._homes()
        self.lanes = {seg: Lane(self.env) for seg in layout.edge_lengths_m}
        """One single-vehicle resource per directed segment."""
        self.chargers = {node: simpy.Resource(self.env, capacity=1) for node in layout.chargers}
        """One single-vehicle resource per charger node."""
        self.waiting: list[_Job] = []
        """Requests not yet assigned, oldest first."""
        self.requested_total = 0
        self.delivered_total = 0
        self._legs_cache: dict[tuple[str, str], tuple[_Leg, ...]] = {}
        self._feasible: set[tuple[str, str]] = set()
        self._counts = {"idle": spec.count, "working": 0, "charging": 0}
        self._views: FleetViews | None = None

        probes = world.probes
        self.busy = probes.level(f"{name}_busy")
        """AGVs working a job (to pickup, loading, loaded, unloading)."""
        self.charging = probes.level(f"{name}_charging")
        """AGVs driving to, queueing for or at a charger."""
        self.queue = probes.level(f"{name}_waiting_requests")
        self.requests = probes.counter(f"{name}_requests")
        self.deliveries = probes.counter(f"{name}_deliveries")
        self.charges = probes.counter(f"{name}_charges")
        self.request_wait = probes.tally(f"{name}_request_wait_s", keep_values=False)
        """Time from request to assignment."""
        self.lead_time = probes.tally(f"{name}_lead_time_s", keep_values=False)
        """Time from request to drop."""
        self.empty_m = probes.tally(f"{name}_empty_m", keep_values=False)
        """Metres of each empty trip (to a pickup or a charger)."""
        self.loaded_m = probes.tally(f"{name}_loaded_m", keep_values=False)
        """Metres of each loaded trip."""
        self.planned_empty_m = probes.tally(f"{name}_planned_empty_m", keep_values=False)
        """Metres from the AGV to the pickup at each assignment: what the dispatch planned."""
        self.dispatch_fallbacks = probes.counter(f"{name}_dispatch_fallbacks")
        """Dispatch answers in which a planner fell back to its rule."""
        self._ask_at_s = math.inf
        """When a batching dispatcher asked to be asked again (inf: it did not)."""
        self.agvs = [Agv(self, i, homes[i % len(homes)]) for i in range(spec.count)]
        self._view_list: list[AgvView] = [agv.view() for agv in self.agvs]
        self._stale: set[int] = set()
        self._version = 0
        self._views_token = object()  # names this fleet's views, and holds nothing

    # -- public API ------------------------------------------------------------------
    def position(self, node: str, towards: str | None = None) -> tuple[float, float]:
        """Where an AGV at ``node`` stands, or half-way to ``towards`` while driving there."""
        nodes = self.layout.spec.nodes
        xa, ya = nodes[node]
        if towards is None:
            return (float(xa), float(ya))
        xb, yb = nodes[towards]
        return ((xa + xb) / 2, (ya + yb) / 2)

    def request(
        self,
        pickup: str,
        drop: str,
        payload: object = None,
        picked_up: simpy.Event | None = None,
    ) -> simpy.Event:
        """Ask for ``payload`` to be carried; the event succeeds with it once dropped.

        ``picked_up``, if given, is succeeded when the load is on the vehicle, so a
        machine holding the part can start its next one.
        """
        self._check_feasible(pickup, drop)
        now = self.env.now
        view = TransportRequest(
            self.requested_total, pickup, drop, now, self.layout.distance_m(pickup, drop)
        )
        done = self.env.event()
        self.waiting.append(_Job(view, payload, done, picked_up))
        self.requested_total += 1
        self.requests.count += 1
        self.queue.set(len(self.waiting))
        self._dispatch()
        return done

    def _changed(self, agv: Agv) -> None:
        """``agv``'s state, node or charge changed: its view is out of date."""
        self._stale.add(agv.index)
        self._views = None

    def _agv_views(self) -> FleetViews:
        # Requests arrive far more often than vehicles change state, node or charge, and
        # a change is one vehicle's: only the views of vehicles that changed are rebuilt
        # (100 AGVs in the large plant; rebuilding all of them was half a plant-day's time).
        if self._views is None:
            views = self._view_list
            for index in self._stale:
                views[index] = self.agvs[index].view()
            self._version += 1
            self._views = FleetViews.of(
                views, self._views_token, self._version, frozenset(self._stale)
            )
            self._stale.clear()
        return self._views

    def observe(self) -> DispatchObservation:
        """The fleet as the dispatch policy sees it now."""
        return _new_tuple(
            DispatchObservation,
            (
                self.env.now,
                tuple(job.view for job in self.waiting),
                self._agv_views(),
                self.layout,
            ),
        )

    def inspect(self) -> dict[str, Any]:
        """Vehicles by activity, requests waiting, in progress and delivered."""
        return {
            "entity": self.name,
            "agvs": self.spec.count,
            "idle": self._counts["idle"],
            "working": self._counts["working"],
            "charging": self._counts["charging"],
            "requests_waiting": len(self.waiting),
            "requests_in_progress": self.in_progress,
            "requested": self.requested_total,
            "delivered": self.delivered_total,
        }

    @property
    def in_progress(self) -> int:
        """Requests assigned to an AGV and not yet dropped."""
        return sum(1 for agv in self.agvs if agv.job is not None)

    def kpis(self) -> dict[str, KPI]:
        """The fleet's KPIs since the start (or the end of the warm-up)."""
        n = self.prefix
        empty_m = _total(self.empty_m.mean, self.empty_m.count)
        loaded_m = _total(self.loaded_m.mean, self.loaded_m.count)
        driven_m = empty_m + loaded_m
        for agv in self.agvs:
            agv._meter.flush()  # book charging in progress, so the ledger is current
        ledger = self.world.ledger
        charging_kwh = sum(
            ledger.energy_kwh(entity=agv.entity, state="charging") for agv in self.agvs
        )
        count = self.spec.count
        return {
            f"{n}_utilisation": KPI(
                self.busy.mean() / count if count else math.nan,
                "1",
                "share of AGV time spent on jobs (to pickup, loading, loaded, unloading)",
            ),
            f"{n}_empty_travel_share": KPI(
                empty_m / driven_m if driven_m else 0.0,
                "1",
                "share of metres driven without a load (to pickups and chargers)",
            ),
            f"{n}_km": KPI(driven_m / METRES_PER_KM, "km", "distance driven by the fleet"),
            f"{n}_empty_km": KPI(
                empty_m / METRES_PER_KM, "km", "distance driven without a load (pickups, chargers)"
            ),
            f"{n}_planned_empty_km": KPI(
                _total(self.planned_empty_m.mean, self.planned_empty_m.count) / METRES_PER_KM,
                "km",
                "empty km to the pickups as assigned (the dispatch plan; charging detours not in)",
            ),
            f"{n}_dispatch_fallbacks": KPI(
                float(self.dispatch_fallbacks.count),
                "decisions",
                "dispatch answers that fell back to the planner's rule",
            ),
            f"{n}_deliveries": KPI(float(self.deliveries.count), "loads", "loads dropped"),
            f"{n}_request_wait_mean_s": KPI(
                self.request_wait.mean, "s", "mean time from request to assignment of an AGV"
            ),
            f"{n}_charging_kwh": KPI(charging_kwh, "kWh", "grid electricity drawn by chargers"),
        }

    # -- the vehicles call these ----------------------------------------------------
    def _legs(self, start: str, target: str) -> tuple[_Leg, ...]:
        """:data:`_Leg` per segment of the path, cached per pair
        (as many pairs as the layout keeps routes)."""
        key = (start, target)
        legs = self._legs_cache.get(key)
        if legs is None:
            lengths = self.layout.edge_lengths_m
            speed = self.spec.speed_mps
            legs = tuple(
                (
                    b,
                    lengths[(a, b)],
                    lengths[(a, b)] / speed,
                    self.lanes[(a, b)],
                    self.position(a, b),
                    self.position(b),
                )
                for a, b in itertools.pairwise(self.layout.route(start, target))
            )
            keep_bounded(self._legs_cache, key, legs, ROUTE_CACHE_SIZE)
        return legs

    def _switch(self, agv: Agv, state: str) -> None:
        """Move ``agv`` to ``state`` and keep the fleet's time-weighted counts."""
        old = _kind(agv.state)
        new = _kind(state)
        agv.state = state
        self._changed(agv)
        if old != new:
            counts = self._counts
            counts[old] -= 1
            counts[new] += 1
            self.busy.set(counts["working"])
            self.charging.set(counts["charging"])

    def _become_idle(self, agv: Agv) -> None:
        self._switch(agv, "idle")
        if self.waiting:
            self._dispatch()

    def _delivered(self, job: _Job) -> None:
        self.delivered_total += 1
        self.deliveries.count += 1
        self.lead_time.observe(self.env.now - job.view.requested_s)
        job.done.succeed(job.payload)

    # -- dispatching ----------------------------------------------------------------
    def _dispatch(self) -> None:
        if not self.waiting or not self._counts["idle"]:
            return
        obs = self.observe()
        action = self.policy.act(obs)
        if action is WAIT:
            return
        pairs = self._check(action, obs)
        if action.fallback:
            self.dispatch_fallbacks.count += 1
        if action.ask_again_in_s < math.inf:
            self._ask_again(self.env.now + action.ask_again_in_s)
        if not pairs:
            return
        taken = set()
        for r, a in pairs:
            taken.add(r)
            self._assign(self.agvs[a], self.waiting[r])
        self.waiting = [job for k, job in enumerate(self.waiting) if k not in taken]
        self.queue.set(len(self.waiting))

    def _ask_again(self, at_s: float) -> None:
        """Ask the dispatcher again at ``at_s`` (one timer: the earliest asked for)."""
        if at_s >= self._ask_at_s:
            return
        self._ask_at_s = at_s
        self.env.process(self._asking(at_s))

    def _asking(self, at_s: float) -> ProcessGenerator:
        yield self.env.timeout(at_s - self.env.now)
        if self._ask_at_s == at_s:  # not superseded by an earlier one
            self._ask_at_s = math.inf
            self._dispatch()

    def _assign(self, agv: Agv, job: _Job) -> None:
        view = job.view
        self.request_wait.observe(self.env.now - view.requested_s)
        self.planned_empty_m.observe(self.layout.distance_m(agv.node, view.pickup))
        agv.job = job
        agv._charge_first = not self.layout.covers(agv.node, view.pickup, view.drop, agv.range_m)
        self._switch(agv, "to_charger" if agv._charge_first else "to_pickup")
        if agv._wake is not None:
            agv._wake.succeed()
            agv._wake = None

    def _check(self, action: object, obs: DispatchObservation) -> list[tuple[int, int]]:
        return check_dispatch_action(action, obs, self.policy_id)

    # -- validation -----------------------------------------------------------------
    def _homes(self) -> list[str]:
        spec = self.spec
        layout = self.layout
        if spec.count and spec.consumption_kwh_per_m and not layout.chargers:
            raise ValueError("AGVs that use energy need at least one charger in the layout")
        homes = list(spec.home_nodes or layout.chargers or layout.nodes)
        start_kwh = spec.charge_to_soc * spec.battery_kwh
        for home in homes:
            layout.index(home)  # names the known nodes if unknown
            if spec.consumption_kwh_per_m:
                need_kwh = layout.charger_distance_m(home) * spec.consumption_kwh_per_m
                if need_kwh > start_kwh:
                    raise ValueError(
                        f"an AGV starting at {home!r} cannot reach a charger: it needs "
                        f"{need_kwh:.3g} kWh and starts with {start_kwh:.3g} kWh"
                    )
        return homes

    def _check_feasible(self, pickup: str, drop: str) -> None:
        """Refuse a request that even a charged AGV leaving any charger could not finish.

        An AGV short of charge goes to its nearest charger first, which may be any of
        them; a request that passes this check can therefore always be served.
        """
        key = (pickup, drop)
        if key in self._feasible:
            return
        layout = self.layout
        layout.index(pickup)
        layout.index(drop)
        per_m = self.spec.consumption_kwh_per_m
        if per_m and self.spec.count:
            full_m = self.spec.charge_to_soc * self.spec.battery_kwh / per_m
            need_m = (
                layout.farthest_charger_m(pickup)
                + layout.distance_m(pickup, drop)
                + layout.charger_distance_m(drop)
            )
            if need_m > full_m * (1.0 + 1e-9):  # the slack of Layout.covers
                # Only now find which charger: on a large layout that is a search each.
                charger = next(
                    c for c in layout.chargers if not layout.covers(c, pickup, drop, full_m)
                )
                raise ValueError(
                    f"request {pickup!r} -> {drop!r} is beyond the range of an AGV charged "
                    f"to {self.spec.charge_to_soc:.0%} at charger {charger!r} "
                    f"({full_m:.0f} m); use a larger battery or add chargers"
                )
        self._feasible.add(key)


def _kind(state: str) -> str:
    if state in _WORKING:
        return "working"
    if state in _CHARGING:
        return "charging"
    return "idle"


def _total(mean: float, count: int) -> float:
    return mean * count if count else 0.0
