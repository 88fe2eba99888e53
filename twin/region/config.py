"""A region as a config: the plant, the supply network, the city and the cloud, and where
the supply network's sites stand in the city.

Each domain keeps its own params model; the region adds what joins them (``places``, the
truck as a vehicle of the city, the on-call trips the city keeps for trucks) and checks
that they fit together. Defaults and their sources: docs/PARAMETERS.md, section "Region".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.cloud.config import CloudParams, RequestClass
from twin.core.distributions import Exponential, Lognormal
from twin.core.scenario import ScenarioParams
from twin.core.units import SECONDS_PER_DAY
from twin.factory.config import FlowLineParams, JobShopParams, PlantParams
from twin.supply.config import DemandSpec, SiteSpec, SupplyParams, TruckSpec, holding_per_day
from twin.traffic.config import DemandSpec as CityDemandSpec
from twin.traffic.config import GridSpec, TrafficParams
from twin.traffic.demand import VehicleType

TRUCK_EMISSION_CLASS = "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C"
"""A 34-40 t articulated truck, Euro VI: the HBEFA 4 class of a 33-pallet semi-trailer."""
SUMO_VCLASS = {
    "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C": "trailer",
    "HBEFA4/RT_le7.5t_Euro-VI_A-C": "truck",
}
"""SUMO's vehicle class of each truck emission class (SUMO's own default class of it): a
route file twin writes for SUMO then gets SUMO's coasting rule for that vehicle's mass."""


class TruckVehicleSpec(BaseModel):
    """The supply chain's truck as a vehicle of the city (SUMO's ``trailer`` vType,
    top speed held by the EU's heavy-vehicle speed limiter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    length_m: float = Field(default=16.5, gt=0, le=30)
    min_gap_m: float = Field(default=2.5, ge=0)
    accel_mps2: float = Field(default=1.1, gt=0)
    decel_mps2: float = Field(default=4.0, gt=0)
    emergency_decel_mps2: float = Field(default=7.0, gt=0)
    max_speed_mps: float = Field(default=25.0, gt=0, le=40)
    sigma: float = Field(default=0.5, ge=0, le=1)
    tau_s: float = Field(default=1.0, gt=0)
    emission_class: Literal["HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C", "HBEFA4/RT_le7.5t_Euro-VI_A-C"] = (
        TRUCK_EMISSION_CLASS
    )

    @model_validator(mode="after")
    def _brakes_ordered(self) -> TruckVehicleSpec:
        if self.emergency_decel_mps2 < self.decel_mps2:
            raise ValueError("emergency_decel_mps2 must be at least decel_mps2")
        return self

    def build(self) -> VehicleType:
        # Every truck drives at the limit (no speed factor spread): the supply twin's own
        # model, distance / speed, is then the free-flow drive (the coupling test).
        return VehicleType(
            id="truck",
            length_m=self.length_m,
            min_gap_m=self.min_gap_m,
            accel_mps2=self.accel_mps2,
            decel_mps2=self.decel_mps2,
            emergency_decel_mps2=self.emergency_decel_mps2,
            max_speed_mps=self.max_speed_mps,
            sigma=self.sigma,
            tau_s=self.tau_s,
            speed_factor_mean=1.0,
            speed_factor_std=0.0,
            emission_class=self.emission_class,
            vclass=SUMO_VCLASS[self.emission_class],
        )


def _region_sites(dcs: int = 2, retailers_per_dc: int = 3) -> list[SiteSpec]:
    """A supplier outside the city, the plant, ``dcs`` DCs and their retailers in it.

    Demand is sized to the flow line's output (a part every 90 s: 960 a day, about 85%
    of it good): the retailers sell about 700 units a day.
    """
    unit_value = 20.0
    holding = holding_per_day(unit_value)
    per_retailer = 700.0 / (dcs * retailers_per_dc)
    sites = [
        SiteSpec(name="supplier", kind="supplier", trucks=4),
        SiteSpec(
            name="plant",
            kind="plant",
            source="supplier",
            distance_km=80.0,
            lead_time=Exponential(mean=4 * 3600.0),
            review_period_days=1,
            initial_on_hand=2100,
            holding_cost_per_unit_day=holding * 0.5,
            order_cost=100.0,
            capacity_units_per_day=5000.0,
            trucks=2 * dcs,
        ),
    ]
    for d in range(dcs):
        dc = f"dc{d}"
        sites.append(
            SiteSpec(
                name=dc,
                kind="dc",
                source="plant",
                lead_time=Exponential(mean=2 * 3600.0),
                review_period_days=1,
                initial_on_hand=round(per_retailer * retailers_per_dc * 2),
                holding_cost_per_unit_day=holding * 0.8,
                order_cost=50.0,
                trucks=retailers_per_dc,
            )
        )
        for r in range(retailers_per_dc):
            sites.append(
                SiteSpec(
                    name=f"r{d}{r}",
                    kind="retailer",
                    source=dc,
                    lead_time=Exponential(mean=3600.0),
                    review_period_days=1,
                    initial_on_hand=round(per_retailer * 1.5),
                    holding_cost_per_unit_day=holding,
                    order_cost=10.0,
                    shortage_cost_per_unit=2.0,
                    lost_sales=True,
                    trucks=0,
                    demand=DemandSpec(base_per_day=per_retailer, price=unit_value * 1.5),
                )
            )
    return sites


def _region_supply() -> SupplyParams:
    # Trucks in town: the city's speed limit (50 km/h) bounds them; the region sets
    # speed_kmh from the city, so this value is only the supply twin's own fallback.
    return SupplyParams(sites=_region_sites(), truck=TruckSpec(speed_kmh=50.0))


def _region_places() -> dict[str, str]:
    # A 4x4 grid: the plant in a corner, the DCs across town, retailers spread out.
    return {
        "plant": "J0_0",
        "dc0": "J0_3",
        "dc1": "J3_0",
        "r00": "J1_3",
        "r01": "J2_2",
        "r02": "J3_3",
        "r10": "J2_0",
        "r11": "J3_1",
        "r12": "J1_1",
    }


def _region_city() -> TrafficParams:
    # A quiet town around the clock: 0.1 trips/s (360 an hour) on the 4x4 grid.
    return TrafficParams(
        demand=CityDemandSpec(rates_per_s=[0.1]),
        demand_horizon_s=7 * SECONDS_PER_DAY,
        loop_detectors=None,
    )


def _region_cloud() -> CloudParams:
    # Only what the region sends: sensor ingestion (its rate is set from the plant's and
    # the city's sensors) and the dashboards people watch it on.
    return CloudParams(
        classes=[
            RequestClass(
                name="ingestion",
                rate_per_s=1.0,
                service=Exponential(mean=0.005),
                slo_s=0.1,
                follows_diurnal=False,
                bursts=False,
            ),
            RequestClass(
                name="dashboard", rate_per_s=0.5, service=Lognormal(mean=0.2, cv=1.0), slo_s=2.0
            ),
        ],
        min_nodes=1,
        max_nodes=8,
    )


DOMAIN_TABLES = ("factory", "supply", "city", "cloud")
"""The region's fields that hold a whole domain's params."""


def amended(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` with the keys ``given`` names replaced, tables amended key by key
    (lists and values are replaced whole)."""
    merged = dict(defaults)
    for key, value in given.items():
        default = merged.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            merged[key] = amended(default, value)
        else:
            merged[key] = value
    return merged


class RegionParams(ScenarioParams):
    """The four twins of a region and what joins them.

    A domain's table amends the region's own default of it: ``city =
    {demand_horizon_s = 1_209_600}`` keeps the region's town and only lengthens its trips
    (the domain's own defaults are another town).

    Attributes:
        factory: the plant (its good parts are the supply plant's production).
        supply: the supply network; its lanes between placed sites drive through the city.
        city: the traffic twin; its Poisson trips are the background traffic.
        cloud: the cluster; its ``ingestion`` class's rate is set from the sensors.
        places: supply site -> city junction id; a site not listed is outside the
            city (a supplier far away), and its lanes keep the supply twin's own model.
        truck: the truck as a city vehicle.
        on_call_trips_per_lane: trips the city keeps ready per direction of a lane
            between two placed sites, and per direction between two placed sites one
            source serves (a multi-stop tour's legs); a truck drive takes one; running
            out is an error that names this key.
        units_per_part: supply units one good part of the plant makes.
        readings_through_cloud: the plant's and the city's sensor readings reach the
            maintenance and signal policies only after the cloud has ingested them (each
            delivery is delayed by the cloud's current ingestion latency).
    """

    factory: PlantParams = Field(default_factory=FlowLineParams)
    supply: SupplyParams = Field(default_factory=_region_supply)
    city: TrafficParams = Field(default_factory=_region_city)
    cloud: CloudParams = Field(default_factory=_region_cloud)
    places: dict[str, str] = Field(default_factory=_region_places)
    truck: TruckVehicleSpec = Field(default_factory=TruckVehicleSpec)
    on_call_trips_per_lane: int = Field(default=120, ge=1, le=100_000)
    units_per_part: int = Field(default=1, ge=1, le=10_000)
    readings_through_cloud: bool = Field(
        default=True,
        description="sensor readings reach the policies only after the cloud's ingestion latency",
    )

    @model_validator(mode="before")
    @classmethod
    def _tables_amend_the_regions_own(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in DOMAIN_TABLES:
            given = data.get(key)
            if isinstance(given, dict):
                default = cls.model_fields[key].get_default(call_default_factory=True)
                data[key] = amended(default.model_dump(), given)
        return data

    @model_validator(mode="after")
    def _places_fit(self) -> RegionParams:
        sites = {site.name: site for site in self.supply.sites}
        junctions = {junction.id for junction in self.city.network().intersections}
        for name, junction in self.places.items():
            if name not in sites:
                raise ValueError(
                    f"places: {name!r} is not a supply site; sites: {', '.join(sorted(sites))}"
                )
            if junction not in junctions:
                shown = ", ".join(sorted(junctions)[:6])
                raise ValueError(
                    f"places.{name}: {junction!r} is not a junction of the city (e.g. {shown}, ...)"
                )
        plants = [site.name for site in self.supply.sites if site.kind == "plant"]
        if len(plants) != 1:
            raise ValueError(f"supply: the region needs exactly one plant site, found {plants}")
        for site in self.supply.sites:
            source = site.source
            if source is None or site.name not in self.places:
                continue
            if source not in self.places and sites[source].kind != "supplier":
                raise ValueError(
                    f"places: {site.name!r} is in the city but its source {source!r} is not; "
                    "place both or neither"
                )
        if "ingestion" not in {c.name for c in self.cloud.classes}:
            raise ValueError("cloud: the region needs a request class named 'ingestion'")
        return self


class SmallRegionParams(RegionParams):
    """The region for tests: a 3x3 town, one DC with two retailers."""

    supply: SupplyParams = Field(
        default_factory=lambda: SupplyParams(
            sites=_region_sites(dcs=1, retailers_per_dc=2), truck=TruckSpec(speed_kmh=50.0)
        )
    )
    city: TrafficParams = Field(
        default_factory=lambda: TrafficParams(
            grid=GridSpec(rows=3, cols=3),
            demand=CityDemandSpec(rates_per_s=[0.05]),
            demand_horizon_s=7 * SECONDS_PER_DAY,
            loop_detectors=None,
        )
    )
    places: dict[str, str] = Field(
        default_factory=lambda: {"plant": "J0_0", "dc0": "J2_2", "r00": "J0_2", "r01": "J2_0"}
    )
    on_call_trips_per_lane: int = Field(default=40, ge=1, le=100_000)


class SmallAgvRegionParams(SmallRegionParams):
    """The small region whose plant is the AGV job shop: three products on five stations,
    parts carried between them by five AGVs (``factory/jobshop-agv-v0``), so the region
    has a dispatch decision."""

    factory: PlantParams = Field(default_factory=JobShopParams)
