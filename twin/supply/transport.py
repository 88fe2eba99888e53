"""Trucks: a fleet per shipping site, and lanes where loads wait for the transport policy.

A truck trip is one load from an origin to one destination and back empty: dock and
handle the pallets, drive, dock and unload, drive back. Fuel is booked per leg by load
(litres per km rising linearly with the weight carried); the ledger derives CO2e.

A transport policy that plans routes answers with :class:`Route` s: the origin's
:class:`Depot` then sends each route's part loads on one truck that visits its stops in
order (a tour) and its full loads direct, and keeps what the route was planned at next to
what the trucks did.

Where a scenario wires the lanes to a road network (``Lane.road``, a city), a trip and
every leg of a tour are drives on it: their times are the road's, and the road books
their fuel (this module books none for them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import simpy

from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.ports import Cargo, Drive, Road
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World
from twin.supply.config import ProductSpec, TruckSpec
from twin.supply.observation import (
    Route,
    TransportAction,
    TransportObservation,
    WaitingLoad,
    check_transport_action,
)


@dataclass(slots=True, eq=False)
class Order:
    """Units one site ordered from its source, and how many are still to arrive."""

    number: int
    site: int
    units: int
    placed_s: float
    outstanding: int
    due_s: float = math.inf
    """When it should be fully received (planned lead time + the network's slack)."""


@dataclass(slots=True, eq=False)
class Shipment:
    """Units prepared for one destination, by the orders they fill."""

    destination: int
    units: int
    lines: list[tuple[Order, int]]
    ready_s: float = 0.0


@dataclass
class TransportStats:
    """Trips since the start or the end of the warm-up."""

    trips: int = 0
    km: float = 0.0
    load_factor_sum: float = 0.0
    routes: int = 0
    """Routes dispatched (a planner's answers)."""
    planned_route_km: float = 0.0
    """Km the dispatched routes were planned at."""
    routed_km: float = 0.0
    """Km the trucks of those routes drove (tours and their stops' full loads)."""
    plan_fallbacks: int = 0
    """Decisions a planner answered with its fallback rule."""
    route_stops: int = 0
    """Stops reached by a tour that had a planned arrival time."""
    arrival_delay_s: float = 0.0
    """Sum over those stops of arrival - planned arrival."""
    arrival_deviation_s: float = 0.0
    """Sum over those stops of |arrival - planned arrival|."""
    late_planned: int = 0
    """Those stops planned to be reached after the due time of their orders."""
    late: int = 0
    """Those stops reached after the due time of their orders."""

    def reset(self) -> None:
        self.trips = self.routes = self.plan_fallbacks = self.route_stops = 0
        self.late_planned = self.late = 0
        self.km = self.load_factor_sum = 0.0
        self.planned_route_km = self.routed_km = 0.0
        self.arrival_delay_s = self.arrival_deviation_s = 0.0


@dataclass
class TransportChecks:
    """What the invariants read, kept from the start of the run (never reset)."""

    max_pallets: int = 0
    max_kg: float = 0.0
    min_transit_s: float = math.inf
    """Shortest arrival - departure over all trips."""
    route_km: list[tuple[tuple[str, ...], float, float]] = field(default_factory=list)
    """``(stops, planned km, driven km)`` of every route dispatched, in order."""


class Fleet:
    """The trucks based at one site: a SimPy resource with a name per truck."""

    def __init__(self, env: simpy.Environment, site: str, count: int) -> None:
        self.site = site
        self.count = count
        self.resource = simpy.Resource(env, capacity=max(count, 1))
        self._free = list(range(count - 1, -1, -1))

    @property
    def idle(self) -> int:
        return self.count - self.resource.count

    def take(self) -> int:
        return self._free.pop()

    def give_back(self, truck: int) -> None:
        self._free.append(truck)


Deliver = Callable[[int, int, list[tuple[Order, int]]], None]
"""``deliver(destination, units, lines)``: a load has been unloaded at its destination."""
DestinationState = Callable[[int], tuple[int, int]]
"""``state(destination)`` -> (on hand, backorders) shown to the transport policy."""


class Lane(Entity):
    """Loads waiting at ``origin`` for ``destination``, and the trips that carry them
    (entity ``lane:<origin>-><destination>``, drawn at the midpoint of its two sites)."""

    def __init__(
        self,
        *,
        world: World,
        origin: str,
        destination: str,
        destination_index: int,
        distance_km: float,
        fleet: Fleet,
        truck: TruckSpec,
        product: ProductSpec,
        policy: Policy[Any, Any],
        review_s: float,
        deliver: Deliver,
        destination_state: DestinationState,
        stats: TransportStats,
        checks: TransportChecks,
        pos: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(world, f"lane:{origin}->{destination}", pos)
        self.world = world
        self.origin = origin
        self.destination = destination
        self.destination_index = destination_index
        self.distance_km = distance_km
        self.fleet = fleet
        self.truck = truck
        self.product = product
        self.policy = policy
        self.policy_id: str = getattr(policy, "id", type(policy).__name__)
        self.review_s = review_s
        self.deliver = deliver
        self.destination_state = destination_state
        self.stats = stats
        self.checks = checks
        self.pending: list[Shipment] = []
        self.pending_units = 0
        self.in_flight_units = 0
        """Units dispatched and not yet unloaded (waiting for a truck, loading or on the road)."""
        self.on_road: dict[int, tuple[float, float, bool]] = {}
        """Truck number -> (departed at, driving seconds, loaded): where a view draws it."""
        self._watching = False
        self.depot: Depot | None = None
        """The origin's depot, which ships routes across its lanes (set by the network)."""
        self.travel: Iterator[float] | None = None
        """Factors on each leg's driving time (traffic, weather), mean 1; None: none."""
        self.units_per_truck = min(
            truck.capacity_pallets * product.units_per_pallet,
            int(truck.capacity_kg // product.kg_per_unit),
        )
        self.entity = f"trucks.{origin}"
        """The ledger's name for this lane's trucks (``trucks.<origin>.<number>``)."""
        self.road: Road | None = None
        """Where the trucks drive when a scenario wires the lane to a road network (a
        city): the drive's time is the road's and the road books the fuel. ``None``:
        distance / speed, fuel by load (this module's model)."""
        self.drives: list[tuple[float, float]] = []
        """(departed, arrived) of every loaded drive on the road, when there is one."""

    def inspect(self) -> dict[str, Any]:
        """What waits on the lane, what is on its way, and its trucks on the road."""
        now = self.world.now_s
        return {
            "entity": self.name,
            "origin": self.origin,
            "destination": self.destination,
            "distance_km": self.distance_km,
            "pending_units": self.pending_units,
            "shipments_waiting": len(self.pending),
            "oldest_wait_s": now - self.pending[0].ready_s if self.pending else 0.0,
            "in_flight_units": self.in_flight_units,
            "trucks_loaded": sum(loaded for _, _, loaded in self.on_road.values()),
            "trucks_returning": sum(not loaded for _, _, loaded in self.on_road.values()),
            "trucks_idle": self.fleet.idle,
            "trucks_total": self.fleet.count,
        }

    def add(self, shipment: Shipment) -> None:
        """A shipment is ready to load: ask the policy now, and again while loads wait."""
        shipment.ready_s = self.world.now_s
        self.pending.append(shipment)
        self.pending_units += shipment.units
        if self.depot is not None:
            self.depot.loaded.add(self.depot.index[self.destination])
        if self._watching:
            self._decide()
        else:
            self._watching = True
            self.world.env.process(self._watch())

    def _watch(self) -> Generator[simpy.Event, Any, None]:
        while self.pending:
            if self._decide():
                break
            yield self.world.env.timeout(self.review_s)
        self._watching = False

    def observation(self) -> TransportObservation:
        units = self.pending_units
        on_hand, backorders = self.destination_state(self.destination_index)
        return TransportObservation(
            now_s=self.world.now_s,
            origin=self.origin,
            destination=self.destination,
            distance_km=self.distance_km,
            pending_units=units,
            pending_pallets=math.ceil(units / self.product.units_per_pallet),
            pending_kg=units * self.product.kg_per_unit,
            oldest_wait_s=self.world.now_s - self.pending[0].ready_s if self.pending else 0.0,
            shipments=len(self.pending),
            truck_capacity_pallets=self.truck.capacity_pallets,
            truck_capacity_kg=self.truck.capacity_kg,
            trucks_idle=self.fleet.idle,
            trucks_total=self.fleet.count,
            destination_on_hand=on_hand,
            destination_backorders=backorders,
            waiting=self.depot.waiting() if self.depot is not None else (),
            road_km=self.depot.road_km_between() if self.depot is not None else (),
            truck_speed_kmh=self.truck.speed_kmh,
            truck_dock_time_s=self.truck.dock_time_s,
            truck_handling_s_per_pallet=self.truck.handling_s_per_pallet,
            truck_fixed_cost=self.truck.fixed_cost_per_trip,
            truck_cost_per_km=self.truck.cost_per_km,
        )

    def waiting_load(self) -> WaitingLoad:
        """What waits on this lane, cut into full truckloads and a part load."""
        units = self.pending_units
        full, part = divmod(units, self.units_per_truck)
        due_s = min(
            (order.due_s for shipment in self.pending for order, _ in shipment.lines),
            default=math.inf,
        )
        return WaitingLoad(
            destination=self.destination,
            distance_km=self.distance_km,
            units=units,
            full_loads=full,
            part_units=part,
            part_pallets=math.ceil(part / self.product.units_per_pallet),
            part_kg=part * self.product.kg_per_unit,
            oldest_wait_s=self.world.now_s - self.pending[0].ready_s if self.pending else 0.0,
            due_s=due_s,
        )

    def _decide(self) -> bool:
        """Ask the transport policy; dispatch everything waiting if it says ship."""
        if not self.pending:
            return True
        observation = self.observation()
        action = check_transport_action(self.policy.act(observation), observation, self.policy_id)
        if action.fallback:
            self.stats.plan_fallbacks += 1
        if not action.ship:
            return False
        if action.routes:
            assert self.depot is not None  # the checker accepts routes only to stops it shows
            self.depot.ship(action)
            return not self.pending
        for units, lines in self._loads():
            self.in_flight_units += units
            self.world.env.process(self._trip(units, lines))
        self.pending = []
        self.pending_units = 0
        return True

    def take_loads(self) -> list[tuple[int, list[tuple[Order, int]]]]:
        """Every waiting load, cut into truckloads (the last may be a part load); the lane
        is empty afterwards and the units count as in flight."""
        loads = self._loads()
        self.in_flight_units += self.pending_units
        self.pending = []
        self.pending_units = 0
        return loads

    def _loads(self) -> list[tuple[int, list[tuple[Order, int]]]]:
        """The waiting units cut into truck loads, oldest first; an order may span two."""
        loads: list[tuple[int, list[tuple[Order, int]]]] = []
        lines: list[tuple[Order, int]] = []
        room = self.units_per_truck
        for shipment in self.pending:
            for order, units in shipment.lines:
                while units:
                    part = min(units, room)
                    lines.append((order, part))
                    units -= part
                    room -= part
                    if room == 0:
                        loads.append((self.units_per_truck, lines))
                        lines, room = [], self.units_per_truck
        if lines:
            loads.append((self.units_per_truck - room, lines))
        return loads

    def _trip(
        self, units: int, lines: list[tuple[Order, int]]
    ) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        ledger = self.world.ledger
        truck = self.truck
        request = self.fleet.resource.request()
        yield request
        number = self.fleet.take()
        entity = f"{self.entity}.{number}"
        pallets = math.ceil(units / self.product.units_per_pallet)
        kg = units * self.product.kg_per_unit
        stats = self.stats
        checks = self.checks
        checks.max_pallets = max(checks.max_pallets, pallets)
        checks.max_kg = max(checks.max_kg, kg)
        handling_s = truck.dock_time_s + truck.handling_s_per_pallet * pallets
        drive_s = self.distance_km / truck.speed_kmh * SECONDS_PER_HOUR
        yield env.timeout(handling_s)
        departed_s = env.now
        out_s = drive_s if self.travel is None else drive_s * next(self.travel)
        self.on_road[number] = (departed_s, out_s, True)
        weight_share = kg / truck.capacity_kg
        if self.road is None:
            litres = self.distance_km * (
                truck.fuel_l_per_km_empty
                + (truck.fuel_l_per_km_full - truck.fuel_l_per_km_empty) * weight_share
            )
            ledger.use("diesel", litres, at_s=departed_s, entity=entity, state="loaded")
        ledger.charge(
            "transport",
            truck.fixed_cost_per_trip + truck.cost_per_km * 2 * self.distance_km,
            entity=entity,
            item="trip",
        )
        stats.trips += 1
        stats.km += 2 * self.distance_km
        stats.load_factor_sum += max(pallets / truck.capacity_pallets, weight_share)
        if self.road is None:
            yield env.timeout(out_s + handling_s)
        else:
            cargo = Cargo(
                entity,
                float(departed_s),
                units,
                pallets,
                float(kg),
                tuple(sorted({order.number for order, _ in lines})),
                drive_s,
            )
            yield self.road.drive(self.origin, self.destination, cargo)
            self.drives.append((departed_s, float(env.now)))
            yield env.timeout(handling_s)
        checks.min_transit_s = min(checks.min_transit_s, env.now - departed_s)
        self.in_flight_units -= units
        self.deliver(self.destination_index, units, lines)
        if self.road is None:
            ledger.use(
                "diesel",
                self.distance_km * truck.fuel_l_per_km_empty,
                at_s=env.now,
                entity=entity,
                state="empty",
            )
        back_s = drive_s if self.travel is None else drive_s * next(self.travel)
        self.on_road[number] = (float(env.now), back_s, False)
        if self.road is None:
            yield env.timeout(back_s)
        else:
            empty = Cargo(entity, float(env.now), model_drive_s=drive_s)
            yield self.road.drive(self.destination, self.origin, empty)
        del self.on_road[number]
        self.fleet.give_back(number)
        self.fleet.resource.release(request)


_Stop = tuple[Lane, int, list[tuple[Order, int]]]
"""A tour's stop: the lane of its destination, the units of its part load and their lines."""


class Depot:
    """The lanes leaving one origin: what waits on all of them, the road km between their
    destinations, and the routes a planner sends across them.

    Args:
        world: the run's world.
        lanes: the origin's lanes, in site order.
        road_km: ``road_km[i][j]`` between the destinations of ``lanes[i]`` and ``lanes[j]``
            (a scenario whose lanes drive a road network sets the network's lengths).
    """

    def __init__(self, world: World, lanes: list[Lane], road_km: list[list[float]]) -> None:
        self.world = world
        self.lanes = lanes
        self.by_destination = {lane.destination: lane for lane in lanes}
        self.index = {lane.destination: k for k, lane in enumerate(lanes)}
        self.road_km = road_km
        self.drives: list[tuple[str, str, Drive]] = []
        """(from, to, the road's drive) of every loaded leg a tour drove on the road."""
        self.loaded: set[int] = set()
        """Lanes (by position) that may have loads waiting: every lane a load was added
        to since it was last found empty. A decision reads only these, not all the
        origin's lanes (a plant serving fifty DCs asks at every load)."""

    def _loaded(self) -> list[int]:
        lanes = self.lanes
        empty = [k for k in self.loaded if not lanes[k].pending_units]
        self.loaded.difference_update(empty)
        return sorted(self.loaded)

    def waiting(self) -> tuple[WaitingLoad, ...]:
        return tuple(self.lanes[k].waiting_load() for k in self._loaded())

    def road_km_between(self) -> tuple[tuple[float, ...], ...]:
        """Road km between the destinations with loads waiting, in :meth:`waiting` order."""
        rows = self._loaded()
        return tuple(tuple(self.road_km[i][j] for j in rows) for i in rows)

    def leg_km(self, a: Lane | None, b: Lane | None) -> float:
        """Road km from ``a``'s destination to ``b``'s (``None``: the origin)."""
        if a is None:
            assert b is not None
            return b.distance_km
        if b is None:
            return a.distance_km
        return self.road_km[self.index[a.destination]][self.index[b.destination]]

    def ship(self, action: TransportAction) -> None:
        """Send every route of ``action``: its tour first, then its stops' full loads."""
        env = self.world.env
        for route in action.routes:
            lanes = [self.by_destination[stop] for stop in route.stops]
            stops: list[_Stop] = []
            direct: list[tuple[Lane, int, list[tuple[Order, int]]]] = []
            legs: list[float] = []
            for lane in lanes:
                loads = lane.take_loads()
                full = [load for load in loads if load[0] == lane.units_per_truck]
                part = [load for load in loads if load[0] != lane.units_per_truck]
                direct.extend((lane, units, lines) for units, lines in full)
                if full:  # one term per stop, as a planner sums it (see Route.planned_km)
                    legs.append(2 * lane.distance_km * len(full))
                stops.extend((lane, units, lines) for units, lines in part)
            tour = self.tour_legs([stop[0] for stop in stops])
            legs.extend(tour)
            driven_km = math.fsum(legs)
            stats = lanes[0].stats
            stats.routes += 1
            stats.planned_route_km += route.planned_km
            stats.routed_km += driven_km
            lanes[0].checks.route_km.append((route.stops, route.planned_km, driven_km))
            if stops:
                env.process(self._tour(stops, tour, route))
            for lane, units, lines in direct:
                env.process(lane._trip(units, lines))

    def tour_legs(self, lanes: list[Lane]) -> list[float]:
        """Km of each leg of a tour through ``lanes``' destinations and back."""
        if not lanes:
            return []
        path: list[Lane | None] = [None, *lanes, None]
        return [self.leg_km(a, b) for a, b in itertools.pairwise(path)]

    def _tour(
        self, stops: list[_Stop], legs: list[float], route: Route
    ) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        ledger = self.world.ledger
        first = stops[0][0]
        truck = first.truck
        product = first.product
        fleet = first.fleet
        stats = first.stats
        checks = first.checks
        request = fleet.resource.request()
        yield request
        number = fleet.take()
        entity = f"{first.entity}.{number}"
        pallets = [math.ceil(units / product.units_per_pallet) for _, units, _ in stops]
        weights = [units * product.kg_per_unit for _, units, _ in stops]
        total_pallets = sum(pallets)
        carried_kg = math.fsum(weights)
        checks.max_pallets = max(checks.max_pallets, total_pallets)
        checks.max_kg = max(checks.max_kg, carried_kg)
        yield env.timeout(truck.dock_time_s + truck.handling_s_per_pallet * total_pallets)
        departed_s = env.now
        km = math.fsum(legs)
        ledger.charge(
            "transport",
            truck.fixed_cost_per_trip + truck.cost_per_km * km,
            entity=entity,
            item="trip",
        )
        stats.trips += 1
        stats.km += km
        stats.load_factor_sum += max(
            total_pallets / truck.capacity_pallets, carried_kg / truck.capacity_kg
        )
        planned = route.planned_arrivals_s
        road = _road_of(stops)
        here = first.origin
        for k, (lane, units, lines) in enumerate(stops):
            drive_s = legs[k] / truck.speed_kmh * SECONDS_PER_HOUR
            if road is None:
                litres = legs[k] * (
                    truck.fuel_l_per_km_empty
                    + (truck.fuel_l_per_km_full - truck.fuel_l_per_km_empty)
                    * carried_kg
                    / truck.capacity_kg
                )
                ledger.use("diesel", litres, at_s=env.now, entity=entity, state="loaded")
                if first.travel is not None:
                    drive_s *= next(first.travel)
                lane.on_road[number] = (float(env.now), drive_s, True)
                yield env.timeout(drive_s)
            else:
                leg_s = float(env.now)
                lane.on_road[number] = (leg_s, drive_s, True)
                cargo = _on_board(entity, leg_s, stops[k:], pallets[k:], carried_kg, drive_s)
                drive: Drive = yield road.drive(here, lane.destination, cargo)
                self.drives.append((here, lane.destination, drive))
            del lane.on_road[number]
            here = lane.destination
            checks.min_transit_s = min(checks.min_transit_s, env.now - departed_s)
            if planned:
                delay_s = env.now - planned[k]
                due_s = min(order.due_s for order, _ in lines)
                stats.route_stops += 1
                stats.arrival_delay_s += delay_s
                stats.arrival_deviation_s += abs(delay_s)
                stats.late_planned += planned[k] > due_s
                stats.late += env.now > due_s
            yield env.timeout(truck.dock_time_s + truck.handling_s_per_pallet * pallets[k])
            lane.in_flight_units -= units
            lane.deliver(lane.destination_index, units, lines)
            carried_kg -= weights[k]
        last = stops[-1][0]
        drive_s = legs[-1] / truck.speed_kmh * SECONDS_PER_HOUR
        if road is None:
            ledger.use(
                "diesel",
                legs[-1] * truck.fuel_l_per_km_empty,
                at_s=env.now,
                entity=entity,
                state="empty",
            )
            if first.travel is not None:
                drive_s *= next(first.travel)
            last.on_road[number] = (float(env.now), drive_s, False)
            yield env.timeout(drive_s)
        else:
            last.on_road[number] = (float(env.now), drive_s, False)
            empty = Cargo(entity, float(env.now), model_drive_s=drive_s)
            yield road.drive(last.destination, first.origin, empty)
        del last.on_road[number]
        fleet.give_back(number)
        fleet.resource.release(request)


def _road_of(stops: list[_Stop]) -> Road | None:
    """The road network a tour through ``stops`` drives: their lanes' one road; ``None``
    (distance / speed) when a stop's lane has none or the lanes do not share one."""
    roads = {id(lane.road): lane.road for lane, _, _ in stops}
    if len(roads) != 1:
        return None
    return next(iter(roads.values()))


def _on_board(
    vehicle: str,
    departed_s: float,
    stops: list[_Stop],
    pallets: list[int],
    kg: float,
    model_drive_s: float,
) -> Cargo:
    """What a tour's truck carries on a leg: the part loads of ``stops``, the ones still
    to come (a truck with any of them on board drives loaded)."""
    return Cargo(
        vehicle,
        departed_s,
        sum(units for _, units, _ in stops),
        sum(pallets),
        float(kg),
        tuple(sorted({order.number for _, _, lines in stops for order, _ in lines})),
        model_drive_s,
    )
