"""How a region is drawn: its plant, its city with the supply trucks, and its supply
network, side by side (:class:`~twin.core.scene.Panel`), linked by the trucks.

Each panel reuses its domain's own view; the region adds only what joins them: the
supply trucks as a layer of the city of their own (apart from its background cars),
the supply sites at the junctions they stand at, trucks placed on the network by how
far they have driven in the city, and a :class:`Truck` entity per supply truck that
drives through the city, so a truck picked on either panel is the same selection: the
inspector reads its order, route and delay, and each panel highlights it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from twin.core.entity import Entity
from twin.core.scene import FloatArray, Highlight, Marks, PointLayer, SceneFrame, SceneLayout
from twin.core.world import World
from twin.region.wiring import CityRoad, TruckDrive
from twin.supply.network import SupplyNetwork
from twin.supply.view import SupplyView
from twin.traffic.kernels import ARRIVED, DRIVING
from twin.traffic.view import TrafficView

TRUCK_PREFIX = "truck:"
SITE_PREFIX = "site:"
CITY_TRUCK_CLASSES = ("supply truck, returning empty", "supply truck, loaded")
CITY_TRUCK_RGB = ((0.95, 0.55, 0.10), (0.80, 0.05, 0.45))
"""Orange and magenta: neither is on the speed scale (viridis) of the background cars."""
CITY_TRUCK_SIZE_PT = 6.0
"""Larger than a car's mark (1.8 pt): a truck is the thing to find in the city."""
SITE_MARK_RGB = (0.10, 0.35, 0.80)
SITE_MARK_SIZE_PT = 9.0


def truck_name(vehicle: str) -> str:
    """The entity of a supply truck from its ledger name (``trucks.plant.2`` ->
    ``truck:plant.2``)."""
    return TRUCK_PREFIX + vehicle.removeprefix("trucks.")


class Truck(Entity):
    """A supply truck that drives through the city (entity ``truck:<site>.<number>``):
    what it carries, the route it drives and how late it is against the supply twin's
    own model of the drive (distance over speed).

    Args:
        world: the run's world.
        road: the city road its drives go through.
        vehicle: its supply (ledger) name, ``trucks.<site>.<number>``.
        limit_mps: the free-flow speed of the supply model (the city's limit for trucks).
    """

    def __init__(self, world: World, road: CityRoad, vehicle: str, limit_mps: float) -> None:
        super().__init__(world, truck_name(vehicle))
        self.road = road
        self.vehicle = vehicle
        self.limit_mps = limit_mps

    def drive(self) -> TruckDrive | None:
        """Its drive in the city now, or its last one; ``None``: it has not driven yet."""
        return self.road.by_vehicle.get(self.vehicle)

    def driven_m(self, drive: TruckDrive) -> float:
        """Metres of ``drive``'s route behind it."""
        state = int(self.road.city.veh.state[drive.trip])
        if state == ARRIVED:
            return self.road.route_of(drive).length_m
        if state != DRIVING:
            return 0.0
        return float(self.road.city.veh.dist_m[drive.trip])

    def inspect(self) -> dict[str, Any]:
        info: dict[str, Any] = {"entity": self.name, "truck": self.vehicle}
        drive = self.drive()
        if drive is None:
            info["state"] = "at its depot: no drive through the city yet"
            return info
        now = float(self.model.now_s)
        route = self.road.route_of(drive)
        cargo = drive.cargo
        arrived = drive.arrived_s == drive.arrived_s  # not NaN
        loaded = cargo is not None and cargo.units > 0
        if arrived:
            state = f"arrived at {drive.destination}"
        elif int(self.road.city.veh.state[drive.trip]) == DRIVING:
            state = f"driving {'loaded' if loaded else 'empty'} to {drive.destination}"
        else:
            state = f"waiting to enter the city for {drive.destination}"
        info["state"] = state
        info["city_vehicle"] = f"vehicle{drive.trip}"
        info["order"] = {
            "from": drive.origin,
            "to": drive.destination,
            "units": cargo.units if cargo is not None else None,
            "pallets": cargo.pallets if cargo is not None else None,
            "payload_kg": cargo.kg if cargo is not None else None,
            "orders": list(cargo.orders) if cargo is not None else [],
            "dispatched_at_s": cargo.departed_s if cargo is not None else None,
        }
        driven_m = self.driven_m(drive)
        end_s = drive.arrived_s if arrived else now
        model_s = cargo.model_drive_s if cargo is not None else route.length_m / self.limit_mps
        expected_s = end_s if arrived else now + (route.length_m - driven_m) / self.limit_mps
        info["route"] = {
            "edges": len(route.edges),
            "length_m": route.length_m,
            "driven_m": driven_m,
        }
        info["delay"] = {
            "driving_s": end_s - drive.requested_s,
            "model_s": model_s,
            "expected_arrival_at_s": expected_s,
            "late_by_s": expected_s - (drive.requested_s + model_s),
        }
        return info


def make_trucks(world: World, network: SupplyNetwork, road: CityRoad, limit_mps: float) -> None:
    """A :class:`Truck` entity for every truck of a fleet whose lanes drive the city."""
    fleets = {lane.origin: lane for lane in network.lanes if lane.road is road}
    for origin in sorted(fleets):
        lane = fleets[origin]
        for number in range(lane.fleet.count):
            Truck(world, road, f"{lane.entity}.{number}", limit_mps)


def _sites_of(drive: TruckDrive, site: str) -> bool:
    return site in (drive.origin, drive.destination)


class RegionCityView:
    """The city as the traffic domain draws it, with the supply trucks as a layer of
    their own (not among the cars) and the supply sites at their junctions.

    Args:
        city_view: the traffic domain's view of the region's city.
        road: the supply trucks' road through it.
        sites: supply site name -> where it stands (its junction), metres.
    """

    def __init__(
        self, city_view: TrafficView, road: CityRoad, sites: dict[str, tuple[float, float]]
    ) -> None:
        self.base = city_view
        self.road = road
        self.sites = sites
        base = city_view.layout
        site_xy = np.array(list(sites.values()), dtype=np.float64).reshape(-1, 2)
        self.layout = dataclasses.replace(
            base,
            static=(
                *base.static,
                Marks(site_xy, "s", SITE_MARK_RGB, SITE_MARK_SIZE_PT, label="supply site"),
            ),
            layers=(
                *base.layers,
                PointLayer(
                    "supply_trucks",
                    CITY_TRUCK_RGB,
                    CITY_TRUCK_CLASSES,
                    marker="s",
                    size_pt=CITY_TRUCK_SIZE_PT,
                    zorder=4.0,
                ),
            ),
            # Sites first: where a site's label and its junction's would overlap, the
            # label placed first (the site's) is the one drawn.
            pick_xy=np.concatenate((site_xy, base.pick_xy)),
            pick_names=(*(SITE_PREFIX + name for name in sites), *base.pick_names),
            pick_labels=(*sites, *base.point_labels),
        )
        edges = city_view.city.network.edges
        starts = city_view.city.arrays.edge_lane_start
        segments = city_view.edge_segments
        self._edge_segments = {
            k: segments[int(starts[k]) : int(starts[k]) + edge.lanes]
            for k, edge in enumerate(edges)
        }

    def _trucks(self) -> tuple[np.ndarray, FloatArray, list[TruckDrive]]:
        """Which of the vehicles on the network are supply trucks, where each truck is,
        and its drive."""
        on, xy = self.base.vehicle_xy()
        driving = {drive.trip: drive for drive in self.road.drives_now()}
        is_truck = np.fromiter((int(v) in driving for v in on), dtype=np.bool_, count=len(on))
        drives = [driving[int(v)] for v in on[is_truck]]
        return is_truck, xy[is_truck], drives

    def frame(self) -> SceneFrame:
        """The traffic domain's frame, its trucks moved from the cars to their own layer."""
        frame = self.base.frame()
        is_truck, xy, drives = self._trucks()
        cars_xy, cars_class = frame.points["vehicles"]
        loaded = [d.cargo is not None and d.cargo.units > 0 for d in drives]
        names = [truck_name(d.cargo.vehicle) if d.cargo is not None else "" for d in drives]
        named = [k for k, name in enumerate(names) if name]
        return dataclasses.replace(
            frame,
            points={
                **frame.points,
                "vehicles": (cars_xy[~is_truck], cars_class[~is_truck]),
                "supply_trucks": (xy, np.array(loaded, dtype=np.int64)),
            },
            caption=f"{frame.caption}; {len(drives)} supply trucks",
            pick_xy=xy[named].reshape(-1, 2),
            pick_names=tuple(names[k] for k in named),
        )

    def route_segments(self, drive: TruckDrive) -> FloatArray:
        """The lanes of the edges ``drive`` follows, ``(n, 2, 2)``."""
        route = self.road.route_of(drive)
        return np.concatenate([self._edge_segments[int(e)] for e in route.edges]).reshape(-1, 2, 2)

    def highlight(self, entity: str) -> Highlight:
        """A truck: the edges of its route and where it is; a site: its trucks."""
        _, xy, drives = self._trucks()
        if entity.startswith(TRUCK_PREFIX):
            for k, drive in enumerate(drives):
                if drive.cargo is not None and truck_name(drive.cargo.vehicle) == entity:
                    return Highlight(self.route_segments(drive), xy[k : k + 1])
            return Highlight()
        if entity.startswith(SITE_PREFIX):
            site = entity.removeprefix(SITE_PREFIX)
            chosen = [k for k, d in enumerate(drives) if _sites_of(d, site)]
            return Highlight(xy=xy[chosen].reshape(-1, 2))
        return Highlight()


class RegionNetworkView:
    """The supply network as the supply domain draws it, its sites at their junctions,
    each truck that drives through the city placed along its lane by how far it has
    driven there (the supply twin's own model places the others).

    Args:
        supply_view: the supply domain's view, built with the sites' places.
        road: the supply trucks' road through the city.
        trucks: the names of the :class:`Truck` entities (what a click can select).
    """

    def __init__(self, supply_view: SupplyView, road: CityRoad, trucks: frozenset[str]) -> None:
        self.base = supply_view
        self.road = road
        self.trucks = trucks
        self.layout: SceneLayout = supply_view.layout

    def _trucks(self) -> tuple[FloatArray, list[int], list[str], list[int]]:
        """Every truck on the road: where, loaded or not, its entity (``""``: none) and
        its lane."""
        network = self.base.network
        now = float(network.env.now)
        xy: list[FloatArray] = []
        loaded: list[int] = []
        names: list[str] = []
        lanes: list[int] = []
        for k, lane in enumerate(network.lanes):
            origin, destination = self.base.lane_segments[k]
            for number, (departed_s, drive_s, full) in lane.on_road.items():
                vehicle = f"{lane.entity}.{number}"
                share = self._share(vehicle, now, departed_s, drive_s)
                start, end = (origin, destination) if full else (destination, origin)
                xy.append(start + share * (end - start))
                loaded.append(int(full))
                name = truck_name(vehicle)
                names.append(name if name in self.trucks else "")
                lanes.append(k)
        return np.array(xy, dtype=np.float64).reshape(-1, 2), loaded, names, lanes

    def _share(self, vehicle: str, now: float, departed_s: float, drive_s: float) -> float:
        """How far along its lane a truck is: its driven share of its city route, or
        the supply model's elapsed share where it does not drive the city."""
        drive = self.road.by_vehicle.get(vehicle)
        if drive is not None and drive.arrived_s != drive.arrived_s:  # driving now
            veh = self.road.city.veh
            if int(veh.state[drive.trip]) != DRIVING:
                return 0.0
            length = self.road.route_of(drive).length_m
            return float(min(max(veh.dist_m[drive.trip] / length, 0.0), 1.0))
        if drive is not None:  # arrived: unloading at the far end
            return 1.0
        return min(max((now - departed_s) / drive_s, 0.0), 1.0) if drive_s > 0 else 1.0

    def frame(self) -> SceneFrame:
        frame = self.base.frame()
        xy, loaded, names, _ = self._trucks()
        named = [k for k, name in enumerate(names) if name]
        return dataclasses.replace(
            frame,
            points={**frame.points, "trucks": (xy, np.array(loaded, dtype=np.int64))},
            pick_xy=xy[named].reshape(-1, 2),
            pick_names=tuple(names[k] for k in named),
        )

    def highlight(self, entity: str) -> Highlight:
        """A truck: where it is and its lane; a site: its trucks on the road."""
        xy, _, names, lanes = self._trucks()
        network = self.base.network
        if entity.startswith(TRUCK_PREFIX):
            chosen = [k for k, name in enumerate(names) if name == entity]
            return Highlight(
                self.base.lane_segments[[lanes[k] for k in chosen]].reshape(-1, 2, 2),
                xy[chosen].reshape(-1, 2),
            )
        site = next((s.site_name for s in network.sites if s.name == entity), None)
        if site is None:
            return Highlight()
        chosen = [
            k
            for k in range(len(names))
            if site in (network.lanes[lanes[k]].origin, network.lanes[lanes[k]].destination)
        ]
        return Highlight(xy=xy[chosen].reshape(-1, 2))
