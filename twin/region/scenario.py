"""The region scenarios: a plant, its supply chain, the city its trucks drive through and
the cloud its sensors load, in one World (one ledger, one sampler; the cloud on a side
clock of its own, :mod:`twin.core.side_clock`).

The wiring (:mod:`twin.region.wiring`) goes through ports only; each domain is built by
its own classes, with the small hooks they offer (a plant's ``outbox``, a site's
``production``, a lane's ``road``, a city's on-call trips and arrival listeners).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar, Literal

import numpy as np

from twin.cloud.cluster import NODE_ENTITY
from twin.cloud.config import CloudParams
from twin.cloud.domain import DOMAIN as CLOUD
from twin.cloud.scenario import DiurnalCloud
from twin.core.domain import Domain
from twin.core.ledger import ledger_kpi_is_cost
from twin.core.policy import Policy
from twin.core.ports import GoodsOutbox
from twin.core.run import start_policy
from twin.core.scenario import KPI, Scenario
from twin.core.scene import Panel
from twin.core.side_clock import SideClock
from twin.core.world import World
from twin.factory.domain import DOMAIN as FACTORY
from twin.factory.plant import Plant
from twin.factory.scenario import FlowLine
from twin.region.config import RegionParams, SmallAgvRegionParams, SmallRegionParams
from twin.region.policies import PolicySetParams
from twin.region.view import RegionCityView, RegionNetworkView, Truck, make_trucks
from twin.region.wiring import (
    CityRoad,
    CityRoute,
    ElsewhereInTheRegion,
    IngestionLatency,
    PlantOutput,
    route_between,
    sensor_traffic,
    with_on_call_trips,
)
from twin.supply.config import SupplyParams
from twin.supply.domain import DOMAIN as SUPPLY
from twin.supply.network import SupplyNetwork
from twin.supply.scenario import SupplyScenario
from twin.supply.view import SupplyView
from twin.traffic.city import City
from twin.traffic.demand import Router
from twin.traffic.domain import DOMAIN as TRAFFIC
from twin.traffic.scenario import GridCity
from twin.traffic.view import TrafficView

DOMAINS = ("factory", "supply", "traffic", "cloud")
CO2E_DESCRIPTIONS = {
    "supply": (
        "CO2e of the supply chain: its trucks' drives in the city (HBEFA 4 fuel of each second, "
        "stop-and-go) and its lanes outside it (the long-haul per-km fuel)"
    ),
    "traffic": "CO2e of the city's own traffic (the supply trucks are the supply chain's)",
}
"""What a region's ``co2e_<domain>_kg`` holds where the domain's name does not say it: the
trucks' CO2e is the supply chain's, at the city's rate (docs/VALIDATION.md, "Region")."""
CONTRACTS: dict[str, Domain[Any]] = {
    "factory": FACTORY,
    "supply": SUPPLY,
    "traffic": TRAFFIC,
    "cloud": CLOUD,
}
REGION_KPIS: dict[str, Literal["lower", "higher"]] = {
    "service_level": "higher",
    "order_lead_time_days": "lower",
    "truck_drive_mean_s": "lower",
    "truck_drive_over_model": "lower",
}


class Region(Scenario[RegionParams]):
    """A plant feeding a supply chain whose trucks drive through a city, with every
    sensor's readings ingested by a cloud."""

    id = "region/coupled-v0"
    domain = "factory.maintenance"
    description = "flow line -> supply chain (2 DCs, 6 retailers) trucked through a 4x4 city; cloud"
    Params: ClassVar[type[RegionParams]] = RegionParams
    default_policy = "region/policy-set-v0"
    cloud_ahead_s: ClassVar[float] = 86_400.0
    """How far the cloud may run ahead of the region's clock in one stretch (a day: 5,760
    windows of 15 s, whose counts the ingestion-latency reader keeps until read, a few
    hundred kB); the results do not depend on it, the cost does: an hour's stretches
    still left the cloud's windows 1.1-1.6x their cost alone (``docs/BENCHMARKS.md``)."""
    headline_kpis = (
        "service_level",
        "order_lead_time_days",
        "truck_drive_mean_s",
        "factory.throughput_per_h",
        "traffic.time_loss_mean_s",
        "cloud.latency_p95_s",
        "co2e_factory_kg",
        "co2e_supply_kg",
        "co2e_traffic_kg",
        "co2e_cloud_kg",
    )

    def policy_info(self) -> dict[str, Any]:
        """The plant's facts: the run's policy decides its maintenance."""
        return FlowLine(self.params.factory).policy_info()

    @classmethod
    def better(cls, kpi: str) -> Literal["lower", "higher"] | None:
        """A domain's KPI (``supply.fill_rate``) as its contract says; the region's own
        as :data:`REGION_KPIS` says; cost and electricity by domain are better lower."""
        domain, _, name = kpi.partition(".")
        if name and domain in CONTRACTS:
            return CONTRACTS[domain].better(name)
        if kpi in REGION_KPIS:
            return REGION_KPIS[kpi]
        if kpi.startswith(("cost_", "energy_kwh_")) and kpi.rsplit("_", 1)[-1] in DOMAINS:
            return "lower"
        if ledger_kpi_is_cost(kpi):
            return "lower"
        return None

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        params = self.params
        chosen = getattr(policy, "params", None)
        self.areas = chosen if isinstance(chosen, PolicySetParams) else PolicySetParams()
        areas = self.areas

        factory = params.factory.model_copy(update={"dispatch_policy": areas.dispatch})
        dispatch = None
        if factory.agvs is not None:
            # Resolved here, as the plant would, so that the set's params reach it.
            dispatch = self._member("dispatch", {"agvs": factory.agvs.count}, world)
        self.plant = Plant(world, factory, policy, self.id, dispatch=dispatch)
        self.outbox = GoodsOutbox()
        self.plant.outbox = self.outbox

        network = params.city.network()
        router = Router(network)
        self.routes = self._routes(network, router)
        background = GridCity(params.city).trips(world, network)
        trips, slots = with_on_call_trips(
            background, self.routes, params.truck.build(), params.on_call_trips_per_lane
        )
        self.background_trips = len(background)
        signals = self._member("signals", GridCity(params.city).policy_info(), world)
        self.city = City(
            world,
            network,
            trips,
            signals,
            step_s=params.city.step_s,
            sensors=params.city.detectors,
            per_intersection_kpis=params.city.per_intersection_kpis,
            loop_detectors=params.city.loop_detectors,
            decision_grid_s=params.city.decision_grid_s,
        )
        self.road = CityRoad(self.city, slots, self.routes)

        supply = self._supply_params()
        replenishment = self._member("replenishment", SupplyScenario(supply).policy_info(), world)
        self.network = SupplyNetwork(world, supply, replenishment, self.id)
        plant_site = next(site for site in self.network.sites if site.is_plant)
        plant_site.production = PlantOutput(self.outbox, params.units_per_part)
        for lane in self.network.lanes:
            if (lane.origin, lane.destination) in self.routes:
                lane.road = self.road
        self._set_tour_km()

        self.sensors = sensor_traffic(
            factory, len(self.plant.machines), params.city, int(self.city.arrays.n_lanes)
        )
        cloud = self._cloud_params(sum(s.messages_per_s for s in self.sensors))
        scaling = self._member("scaling", DiurnalCloud(cloud).policy_info(), world)
        self.cloud = DiurnalCloud(cloud)
        # Nothing in the region changes the cloud (its load is set here): it runs ahead
        # on a clock of its own, in stretches, and is read as of the reader's time.
        self.cloud_clock = SideClock(world, self.cloud_ahead_s)
        self.cloud.build(world, scaling, env=self.cloud_clock.env)
        if params.readings_through_cloud:
            # A late reading is a late decision: maintenance and signal policies see the
            # sensors only once the cloud has ingested them. (Made only here: it keeps
            # the served windows until a reading asks, so with no reader they would pile up.)
            latency = IngestionLatency(self.cloud.cluster, lambda: world.now_s, self.cloud_clock)
            self.plant.feed.backend_delay = latency
            for feed in self.city.own_feeds.feeds:
                feed.backend_delay = latency
        # Nothing of the plant touches the city: its kernel runs past the plant's events
        # (the cloud's are on its own clock).
        self.city.own_feeds.passable = ElsewhereInTheRegion(("twin.factory.",), [self.plant.feed])
        # Last, so every agent built before keeps its unique_id.
        make_trucks(world, self.network, self.road, self._limit_mps())

    # -- building --------------------------------------------------------------------------
    def _member(self, area: str, info: dict[str, Any], world: World) -> Policy[Any, Any]:
        """The area's policy from the set, resolved in the run's registry and started."""
        return start_policy(
            world, getattr(self.areas, area), self.areas.params_of(area), self.id, info
        )

    def _routes(self, network: Any, router: Router) -> dict[tuple[str, str], CityRoute]:
        """Both directions of every lane between two placed sites, then both directions
        between every two placed sites one source serves (the legs of a tour)."""
        places = self.params.places
        routes: dict[tuple[str, str], CityRoute] = {}
        served: dict[str, list[str]] = {}
        for site in self.params.supply.sites:
            source = site.source
            if source is None or site.name not in places or source not in places:
                continue
            served.setdefault(source, []).append(site.name)
            for a, b in ((source, site.name), (site.name, source)):
                routes[(a, b)] = route_between(network, router, places[a], places[b])
        # After the lanes' routes, so the lanes' on-call trips keep their numbers.
        for ends in served.values():
            for a, b in itertools.permutations(ends, 2):
                routes[(a, b)] = route_between(network, router, places[a], places[b])
        return routes

    def _set_tour_km(self) -> None:
        """Each depot's road km between its destinations: the city's route lengths, as
        the lanes' own distances are (:meth:`_supply_params`)."""
        for depot in self.network.depots.values():
            ends = [lane.destination for lane in depot.lanes]
            for i, a in enumerate(ends):
                for j, b in enumerate(ends):
                    route = self.routes.get((a, b))
                    if route is not None:
                        depot.road_km[i][j] = _km(route)

    def _supply_params(self) -> SupplyParams:
        """The supply network with the city's road lengths on its placed lanes, the
        truck's speed at the city's limit (the supply twin's own model of the same drive)
        and the set's transport policy."""
        supply = self.params.supply
        sites = []
        for site in supply.sites:
            route = self.routes.get((site.source, site.name)) if site.source else None
            if route is not None:
                site = site.model_copy(update={"distance_km": _km(route)})
            sites.append(site)
        limit_kmh = self._limit_mps() * 3.6
        truck = supply.truck.model_copy(update={"speed_kmh": limit_kmh})
        return supply.model_copy(
            update={
                "sites": sites,
                "truck": truck,
                "transport_policy": self.areas.transport,
                "transport_policy_params": self.areas.params_of("transport"),
            }
        )

    def _cloud_params(self, ingestion_per_s: float) -> CloudParams:
        cloud = self.params.cloud
        classes = [
            c.model_copy(update={"rate_per_s": ingestion_per_s}) if c.name == "ingestion" else c
            for c in cloud.classes
        ]
        return cloud.model_copy(update={"classes": classes})

    # -- results ---------------------------------------------------------------------------
    def accounts(self, world: World) -> dict[str, dict[str, float]]:
        """Cost, energy (kWh), fuel (L) and CO2e (kg) by domain, from the ledger's rows;
        ``unattributed`` holds whatever no domain booked (nothing, unless a hook is wrong)."""
        self.cloud_clock.to_stop(world.now_s)  # the cloud's bookings up to now, none later
        domain_of = self._domain_of_entity()
        totals = {
            d: {"cost": 0.0, "energy_kwh": 0.0, "fuel_l": 0.0, "co2e_kg": 0.0}
            for d in (*DOMAINS, "unattributed")
        }
        for category, _item, entity, amount in world.ledger.money_rows():
            totals[domain_of(entity, category)]["cost"] += amount
        for carrier, entity, _state, amount, kg in world.ledger.use_rows():
            row = totals[domain_of(entity, "")]
            row["co2e_kg"] += kg
            row["fuel_l" if carrier in ("diesel", "petrol") else "energy_kwh"] += amount
        return totals

    def _domain_of_entity(self) -> Any:
        supply_names = {site.site_name for site in self.network.sites}
        trucks = self.road.vehicle_names()
        factory_names = {machine.label for machine in self.plant.machines}
        if self.plant.fleet is not None:
            factory_names |= {agv.entity for agv in self.plant.fleet.agvs}

        def domain_of(entity: str, category: str) -> str:
            if entity in supply_names or entity.startswith("trucks.") or entity in trucks:
                return "supply"
            if entity.startswith("vehicle"):
                return "traffic"
            if entity == NODE_ENTITY:
                return "cloud"
            # The plant books material and scrap for the plant as a whole (no entity).
            if entity in factory_names or (entity == "" and category != ""):
                return "factory"
            return "unattributed"

        return domain_of

    def kpis(self, world: World) -> dict[str, KPI]:
        kpis: dict[str, KPI] = {}
        self.cloud_clock.to_stop(world.now_s)  # however the world was run: the cloud to now
        parts = {
            "factory": self.plant.kpis(),
            "supply": self.network.kpis(),
            "traffic": self.city.kpis(),
            "cloud": self.cloud.kpis(world),
        }
        for domain, values in parts.items():
            for name, kpi in values.items():
                kpis[f"{domain}.{name}"] = kpi
        supply = parts["supply"]
        currency = world.ledger.currency
        for domain, row in self.accounts(world).items():
            if domain == "unattributed" and not any(row.values()):
                continue
            kpis[f"cost_{domain}"] = KPI(row["cost"], currency, f"money booked by the {domain}")
            kpis[f"co2e_{domain}_kg"] = KPI(
                row["co2e_kg"], "kg", CO2E_DESCRIPTIONS.get(domain, f"CO2e booked by the {domain}")
            )
            kpis[f"energy_kwh_{domain}"] = KPI(row["energy_kwh"], "kWh", "electricity")
        drives = self.road.counts.duration_s
        free_flow = self._free_flow_s()
        kpis.update(
            {
                "service_level": KPI(
                    supply["fill_rate"].value, "1", "share of customer demand served on the day"
                ),
                "order_lead_time_days": KPI(
                    supply["retailer_order_lead_time_days"].value,
                    "d",
                    "retailer order placed to received: plant, DC, trucks and city",
                ),
                "truck_drive_mean_s": KPI(
                    sum(drives) / len(drives) if drives else math.nan,
                    "s",
                    "truck drives through the city, request to arrival",
                ),
                "truck_drive_over_model": KPI(
                    self._drive_over_model(free_flow),
                    "1",
                    "city drive time / the supply twin's distance-over-speed time",
                ),
                "trucks_sent": KPI(float(self.road.counts.sent), "drives", "into the city"),
                "trucks_in_city": KPI(
                    float(self.road.in_city), "drives", "still driving at the end"
                ),
                "plant_stock_units": KPI(
                    float(self.outbox.level * self.params.units_per_part),
                    "units",
                    "made by the factory, not yet taken by the supply plant",
                ),
                "ingestion_per_s": KPI(
                    sum(s.messages_per_s for s in self.sensors),
                    "1/s",
                    "sensor messages the plant and the city send to the cloud",
                ),
            }
        )
        return kpis

    def _limit_mps(self) -> float:
        """The trucks' free-flow speed: the city's limit, or the truck's own if lower."""
        return min(self.params.city.grid.speed_mps, self.params.truck.max_speed_mps)

    def _free_flow_s(self) -> dict[tuple[str, str], float]:
        limit = self._limit_mps()
        return {key: route.length_m / limit for key, route in self.routes.items()}

    # -- views -----------------------------------------------------------------------------
    def panels(self, world: World) -> tuple[Panel, ...]:
        """The plant as the factory draws it, the city with the supply trucks, and the
        supply network on the city's plane; a truck selected on one is highlighted on
        each (:mod:`twin.region.view`)."""
        city_view = TrafficView(self.city)
        nodes = {node.id: (node.x_m, node.y_m) for node in self.city.network.nodes}
        placed = {
            site.site_name: nodes[self.params.places[site.site_name]]
            for site in self.network.sites
            if site.site_name in self.params.places
        }
        block_m = self.params.city.grid.block_m
        x_min, _, y_min, y_max = city_view.layout.bounds
        outside = [site for site in self.network.sites if site.site_name not in placed]
        # Sites outside the city (the supplier) stand in a column left of it.
        for k, site in enumerate(outside):
            y = (y_min + y_max) / 2 + (k - (len(outside) - 1) / 2) * block_m
            placed[site.site_name] = (x_min - block_m, y)
        site_xy = np.array([placed[site.site_name] for site in self.network.sites])
        trucks = frozenset(
            truck.name for truck in world.agents.select(agent_type=Truck) if truck.road is self.road
        )
        in_city = {name: xy for name, xy in placed.items() if name in self.params.places}
        return (
            Panel("plant", "Plant: the flow line", FACTORY.view(self.plant)),
            Panel(
                "city",
                "City: traffic and supply trucks",
                RegionCityView(city_view, self.road, in_city),
            ),
            Panel(
                "network",
                "Supply network: stock and trucks",
                RegionNetworkView(
                    SupplyView(self.network, site_xy, block_m / 4), self.road, trucks
                ),
            ),
        )

    def _drive_over_model(self, free_flow: dict[tuple[str, str], float]) -> float:
        """Mean over loaded drives (a trip's way out, a tour's legs to its stops)."""
        ratios = []
        for lane in self.network.lanes:
            model_s = free_flow.get((lane.origin, lane.destination))
            if model_s is None:
                continue
            ratios.extend((arrived - departed) / model_s for departed, arrived in lane.drives)
        for depot in self.network.depots.values():
            ratios.extend(drive.duration_s / free_flow[(a, b)] for a, b, drive in depot.drives)
        return sum(ratios) / len(ratios) if ratios else math.nan


def _km(route: CityRoute) -> float:
    """A city route's length as the supply twin's road km."""
    return round(route.length_m / 1000, 4)


class SmallRegion(Region):
    """The region for tests: a 3x3 town, one DC, two retailers."""

    id = "region/coupled-small-v0"
    description = "flow line -> supply chain (1 DC, 2 retailers) trucked through a 3x3 city; cloud"
    Params = SmallRegionParams


class SmallAgvRegion(SmallRegion):
    """The small region with the AGV job shop as its plant: the dispatch area decides."""

    id = "region/coupled-agv-small-v0"
    description = (
        "AGV job shop -> supply chain (1 DC, 2 retailers) trucked through a 3x3 city; cloud"
    )
    Params = SmallAgvRegionParams
