"""What joins the domains of a region: their ports, implemented on the built domains.

- :class:`PlantOutput`: the supply plant's :class:`~twin.supply.production.ProductionModel`
  drawn from the factory's :class:`~twin.core.ports.GoodsOutbox`;
- :class:`CityRoad`: the :class:`~twin.core.ports.Road` the supply lanes' trucks drive,
  on-call trips of the traffic twin's city;
- :func:`sensor_traffic`: the plant's and the city's sensors as the cloud's ingestion load;
- :func:`domain_of_entity`: which domain a ledger row belongs to.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import simpy

from twin.cloud.cluster import Cluster
from twin.core.ports import Cargo, Drive, GoodsOutbox, SensorTraffic
from twin.core.sensors import SensorConfig
from twin.core.side_clock import SideClock
from twin.core.world import callback_owner
from twin.factory.config import PlantParams
from twin.factory.kernels import SENSOR_CHANNELS
from twin.traffic.city import City
from twin.traffic.config import TrafficParams
from twin.traffic.demand import DemandError, Router, TripTable, VehicleType
from twin.traffic.detectors import QUANTITIES
from twin.traffic.network import Network


class PlantOutput:
    """The supply plant's production is what the factory made: at each midnight the
    network asks, and gets the good parts put since (as units), at most the raw
    material on hand; parts beyond that wait in the outbox (the factory's stock)."""

    def __init__(self, outbox: GoodsOutbox, units_per_part: int = 1) -> None:
        self.outbox = outbox
        self.units_per_part = units_per_part

    def produce(self, day: int, raw_units: int) -> int:
        parts = self.outbox.take(raw_units // self.units_per_part)
        return parts * self.units_per_part


@dataclass(frozen=True)
class CityRoute:
    """A truck's way between two junctions: the edges and their driven length."""

    edges: npt.NDArray[np.int64]
    length_m: float


def route_between(network: Network, router: Router, origin: str, destination: str) -> CityRoute:
    """The shortest drive from junction ``origin`` to junction ``destination``: it starts
    on an edge leaving ``origin`` and ends on one entering ``destination`` (junction to
    junction, fringe edges left out)."""
    node = {n.id: k for k, n in enumerate(network.nodes)}
    a, b = node[origin], node[destination]
    junctions = {node[i.id] for i in network.intersections}
    leaving = [
        k for k, e in enumerate(network.edges) if e.from_node == a and e.to_node in junctions
    ]
    entering = [
        k for k, e in enumerate(network.edges) if e.to_node == b and e.from_node in junctions
    ]
    best: CityRoute | None = None
    for first in leaving:
        for last in entering:
            try:
                edges = router.route(first, last)
            except DemandError:  # no way from this edge to that one (no U-turns)
                continue
            length = route_length_m(network, edges)
            if best is None or length < best.length_m:
                best = CityRoute(np.asarray(edges, dtype=np.int64), length)
    if best is None:
        raise ValueError(f"no drive from junction {origin!r} to {destination!r} in the city")
    return best


def route_length_m(network: Network, edges: Iterable[int]) -> float:
    """Edges plus the paths through the junctions between them."""
    edges = list(edges)
    through: dict[tuple[int, int], float] = {}
    for m in network.movements:
        key = (m.from_edge, m.to_edge)
        through[key] = min(through.get(key, math.inf), m.length_m)
    length = sum(network.edges[e].length_m for e in edges)
    length += sum(through[(a, b)] for a, b in itertools.pairwise(edges))
    return float(length)


def with_on_call_trips(
    background: TripTable,
    routes: Mapping[tuple[str, str], CityRoute],
    truck: VehicleType,
    per_route: int,
) -> tuple[TripTable, dict[tuple[str, str], list[int]]]:
    """The city's trips: its own, then ``per_route`` on-call truck trips per route
    (departure ``inf``: they leave when :meth:`City.dispatch` sends them), and the
    on-call trips of each route, in table order.

    A trip table is in departure order and the on-call trips depart last, so the table
    is the city's own arrays with the trucks' appended (copying tens of thousands of
    background routes one by one was a tenth of a short region run)."""
    if np.any(np.diff(background.depart_s) < 0):
        raise ValueError("the city's trips must be in departure order")
    truck_type = len(background.vtypes)
    depart = [background.depart_s]
    vtype = [background.vtype]
    lengths = [np.diff(background.route_start)]
    edges = [background.route_edges]
    slots: dict[tuple[str, str], list[int]] = {}
    first = len(background)
    for key, route in routes.items():
        slots[key] = list(range(first, first + per_route))
        first += per_route
        depart.append(np.full(per_route, math.inf))
        vtype.append(np.full(per_route, truck_type, dtype=np.int64))
        lengths.append(np.full(per_route, len(route.edges), dtype=np.int64))
        edges.append(np.tile(route.edges, per_route))
    table = TripTable(
        depart_s=np.concatenate(depart).astype(np.float64),
        vtype=np.concatenate(vtype).astype(np.int64),
        route_start=np.concatenate(([0], np.cumsum(np.concatenate(lengths)))).astype(np.int64),
        route_edges=np.concatenate(edges).astype(np.int64),
        vtypes=(*background.vtypes, truck),
    )
    return table, slots


@dataclass
class TruckDrive:
    """A truck on its way through the city: the on-call trip it drives, between which
    sites, and what its sender said it carries."""

    trip: int
    requested_s: float
    done: simpy.Event
    origin: str = ""
    destination: str = ""
    cargo: Cargo | None = None
    arrived_s: float = math.nan


@dataclass
class RoadCounts:
    """Drives asked for and finished, for the border's conservation check."""

    sent: int = 0
    arrived: int = 0
    duration_s: list[float] = field(default_factory=list)


class CityRoad:
    """The supply lanes' road: each drive is an on-call trip of the city, routed through
    its network, held up by its traffic and signals; the event succeeds at the arrival.

    Args:
        city: the built city.
        slots: (origin site, destination site) -> the city's on-call trips of that route.
        routes: the routes, for their lengths.
        on_call_key: the config key that sizes ``slots`` (named when they run out).
    """

    def __init__(
        self,
        city: City,
        slots: Mapping[tuple[str, str], list[int]],
        routes: Mapping[tuple[str, str], CityRoute],
        on_call_key: str = "on_call_trips_per_lane",
    ) -> None:
        self.city = city
        self.env = city.env
        self.slots = {key: deque(trips) for key, trips in slots.items()}
        self.routes = dict(routes)
        self.on_call_key = on_call_key
        self.trucks = frozenset(t for trips in slots.values() for t in trips)
        self.per_route = max((len(trips) for trips in slots.values()), default=0)
        self._length_m = {
            trip: routes[key].length_m for key, trips in slots.items() for trip in trips
        }
        self._driving: dict[int, TruckDrive] = {}
        self.by_vehicle: dict[str, TruckDrive] = {}
        """The sender's vehicle name (``Cargo.vehicle``) -> its drive in the city now, or
        its last one (``arrived_s`` set): what an inspector of that truck reads."""
        self.counts = RoadCounts()
        city.arrival_listeners.append(self._arrived)

    def vehicle_names(self) -> frozenset[str]:
        """The ledger's names of the truck trips (the city books their fuel)."""
        return frozenset(f"vehicle{t}" for t in self.trucks)

    def length_m(self, trip: int) -> float:
        """The route length of truck trip ``trip``."""
        return self._length_m[trip]

    @property
    def in_city(self) -> int:
        """Trucks sent and not yet arrived."""
        return len(self._driving)

    def drives_now(self) -> list[TruckDrive]:
        """The drives sent and not yet arrived, in the order they were sent."""
        return list(self._driving.values())

    def route_of(self, drive: TruckDrive) -> CityRoute:
        """The city route ``drive`` follows."""
        return self.routes[(drive.origin, drive.destination)]

    def drive(self, origin: str, destination: str, cargo: Cargo | None = None) -> simpy.Event:
        free = self.slots.get((origin, destination))
        if free is None:
            raise KeyError(f"the city has no route from {origin!r} to {destination!r}")
        if not free:
            raise RuntimeError(
                f"the city ran out of on-call truck trips from {origin!r} to {destination!r}; "
                f"raise the region's {self.on_call_key} (now {self.per_route})"
            )
        trip = free.popleft()
        now = float(self.env.now)
        done = self.env.event()
        drive = TruckDrive(trip, now, done, origin, destination, cargo)
        self._driving[trip] = drive
        if cargo is not None:
            self.by_vehicle[cargo.vehicle] = drive
        self.city.dispatch(trip)
        self.counts.sent += 1
        return done

    def _arrived(self, vehicles: npt.NDArray[np.int64]) -> None:
        veh = self.city.veh
        now = float(self.env.now)
        for v in vehicles.tolist():
            drive = self._driving.pop(v, None)
            if drive is None:
                continue
            arrived_s = float(veh.arrive_s[v])
            drive.arrived_s = arrived_s
            record = Drive(
                vehicle=f"vehicle{v}",
                requested_s=drive.requested_s,
                entered_s=float(veh.insert_s[v]),
                arrived_s=arrived_s,
                distance_m=self._length_m[v],
            )
            self.counts.arrived += 1
            self.counts.duration_s.append(record.duration_s)
            # The kernel reports arrivals after running ahead to the next event of the
            # rest of the world; the drive ends at the vehicle's own arrival time.
            self.env.timeout(max(arrived_s - now, 0.0)).callbacks.append(
                lambda _, done=drive.done, record=record: done.succeed(record)
            )


class IngestionLatency:
    """The cloud's ingestion latency at the reader's time: the mean latency of the
    ingestion requests the cluster served since it was last asked (the last value
    while none were served), so a reading the plant or the city sends is seen that
    much later by the policies.

    The cluster may run ahead of the region on a side clock (``side``,
    :mod:`twin.core.side_clock`): each served window's counts are kept by its end time,
    and a reader at ``t`` (the region's clock, ``now``) gets the windows ended at or
    before ``t`` and no later one.
    """

    def __init__(
        self,
        cluster: Cluster,
        now: Callable[[], float],
        side: SideClock | None = None,
        request_class: str = "ingestion",
    ) -> None:
        self.index = cluster.class_names.index(request_class)
        self._cluster = cluster
        self._now = now
        self._side = side
        self._windows: deque[tuple[float, int, float]] = deque()
        """(end, requests served, their latency sum) of windows not yet read, oldest first."""
        self._sum = 0.0
        self._served = 0
        self.latency_s = 0.0
        cluster.window_listeners.append(self._window_served)

    def _window_served(self, end_s: float) -> None:
        cluster, i = self._cluster, self.index
        self._windows.append((end_s, int(cluster.assigned[i]), float(cluster.latency_sum[i])))

    def __call__(self) -> float:
        now_s = self._now()
        if self._side is not None:
            self._side.through(now_s)
        windows = self._windows
        if not windows or windows[0][0] > now_s:
            return self.latency_s
        while len(windows) > 1 and windows[1][0] <= now_s:
            windows.popleft()
        _, served, total = windows.popleft()
        if served > self._served:
            self.latency_s = (total - self._sum) / (served - self._served)
            self._sum, self._served = total, served
        return self.latency_s


class ElsewhereInTheRegion:
    """Whether an event belongs only to parts of the region that never read or change the
    city (the plant), so the city's kernel may run past it: the city's run
    is the same, in fewer kernel calls. Anything else, and anything not recognised, stops
    the kernel as usual (the supply chain's events may send a truck).

    Args:
        modules: module prefixes of the objects whose processes and callbacks pass.
        objects: single objects whose callbacks and processes pass too (the plant's
            sensor feed: its deliveries and its samples).
    """

    def __init__(self, modules: tuple[str, ...], objects: Iterable[object] = ()) -> None:
        self.modules = modules
        self.objects = list(objects)
        self._known: dict[int, tuple[object, bool]] = {}

    def __call__(self, event: simpy.Event) -> bool:
        callbacks = event.callbacks
        if callbacks is None:
            return False
        return all(self._passes(callback) for callback in callbacks)

    def _passes(self, callback: object) -> bool:
        target = callback_owner(callback)
        if target is None:
            return False
        known = self._known.get(id(target))
        if known is not None and known[0] is target:
            return known[1]
        passes = self._classify(target)
        self._known[id(target)] = (target, passes)
        return passes

    def _classify(self, target: object) -> bool:
        if isinstance(target, simpy.Process):
            # A process of the object whose method it runs (a feed's samples).
            frame = getattr(target._generator, "gi_frame", None)
            owner = frame.f_locals.get("self") if frame is not None else None
            if owner is None:
                return False
            target = owner
        if any(target is obj for obj in self.objects):
            return True
        return type(target).__module__.startswith(self.modules)


def sensor_traffic(
    plant: PlantParams, machines: int, city: TrafficParams, lanes: int
) -> list[SensorTraffic]:
    """The message streams the region's sensors send to the cloud: the plant's machine
    sensors, the city's queue detectors and induction loops (when configured).

    A pipeline that reports by exception has no known sent fraction before a run; it is
    taken as 1 (every surviving sample sent), the load's upper bound.
    """
    streams = [_traffic(machines * len(SENSOR_CHANNELS), plant.sensors)]
    if city.detectors is not None:
        streams.append(_traffic(lanes, city.detectors))
    if city.loop_detectors is not None:
        for quantity in QUANTITIES:
            streams.append(_traffic(2 * lanes, city.loop_detectors.feed(quantity)))
    return streams


def _traffic(channels: int, sensor: SensorConfig) -> SensorTraffic:
    fraction = 1.0 if sensor.pipeline.deadband is not None else None
    return SensorTraffic(channels=channels, sensor=sensor, sent_fraction=fraction)
