"""Trucks: a fleet per shipping site, and lanes where loads wait for the transport policy.

A truck trip is one load from an origin to one destination and back empty: dock and
handle the pallets, drive, dock and unload, drive back. Fuel is booked per leg by load
(litres per km rising linearly with the weight carried); the ledger derives CO2e.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import simpy

from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.ports import Road
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World
from twin.supply.config import ProductSpec, TruckSpec
from twin.supply.observation import TransportObservation, check_transport_action


@dataclass(slots=True, eq=False)
class Order:
    """Units one site ordered from its source, and how many are still to arrive."""

    number: int
    site: int
    units: int
    placed_s: float
    outstanding: int


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

    def reset(self) -> None:
        self.trips = 0
        self.km = self.load_factor_sum = 0.0


@dataclass
class TransportChecks:
    """What the invariants read, kept from the start of the run (never reset)."""

    max_pallets: int = 0
    max_kg: float = 0.0
    min_transit_s: float = math.inf
    """Shortest arrival - departure over all trips."""


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
        )

    def _decide(self) -> bool:
        """Ask the transport policy; dispatch everything waiting if it says ship."""
        if not self.pending:
            return True
        observation = self.observation()
        action = check_transport_action(self.policy.act(observation), observation, self.policy_id)
        if not action.ship:
            return False
        for units, lines in self._loads():
            self.in_flight_units += units
            self.world.env.process(self._trip(units, lines))
        self.pending = []
        self.pending_units = 0
        return True

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
        self.on_road[number] = (departed_s, drive_s, True)
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
            yield env.timeout(drive_s + handling_s)
        else:
            yield self.road.drive(self.origin, self.destination)
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
        self.on_road[number] = (float(env.now), drive_s, False)
        if self.road is None:
            yield env.timeout(drive_s)
        else:
            yield self.road.drive(self.destination, self.origin)
        del self.on_road[number]
        self.fleet.give_back(number)
        self.fleet.resource.release(request)
