"""Factory scenarios registered by id."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from twin.core.distributions import Exponential, Gamma
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.world import World
from twin.factory.config import PlantParams, ProductSpec, StationSpec
from twin.factory.plant import Plant


def _flowline_stations() -> list[StationSpec]:
    # A five-step machining line; the mill (two machines, 160 s) is the bottleneck at
    # about 88% utilisation for one order every 90 s.
    return [
        StationSpec(name="saw", machines=1, processing=Gamma(mean=55.0, cv=0.3), buffer=5),
        StationSpec(name="mill", machines=2, processing=Gamma(mean=160.0, cv=0.3), buffer=5),
        StationSpec(name="drill", machines=1, processing=Gamma(mean=70.0, cv=0.3), buffer=5),
        StationSpec(name="wash", machines=1, processing=Gamma(mean=45.0, cv=0.2), buffer=5),
        StationSpec(name="assemble", machines=1, processing=Gamma(mean=75.0, cv=0.4), buffer=5),
    ]


def _flowline_products() -> list[ProductSpec]:
    return [
        ProductSpec(
            name="housing",
            route=["saw", "mill", "drill", "wash", "assemble"],
            interarrival=Exponential(mean=90.0),
        )
    ]


class FlowLineParams(PlantParams):
    products: list[ProductSpec] = Field(default_factory=_flowline_products, min_length=1)
    stations: list[StationSpec] = Field(default_factory=_flowline_stations, min_length=1)


class FlowLine(Scenario[PlantParams]):
    """Five-station machining flow line with finite buffers and degrading machines."""

    id = "factory/flowline-v0"
    domain = "factory.maintenance"
    description = "5-station machining flow line: degrading machines, sensors, repair crew"
    Params = FlowLineParams
    default_policy = "maintenance/run-to-failure-v0"

    def policy_info(self) -> dict[str, Any]:
        """Plant facts a maintenance policy may weigh its decisions by."""
        params = self.params
        crew = params.crew
        return {
            "machines": sum(station.machines for station in params.stations),
            "stations": [station.name for station in params.stations],
            "sensor_period_s": params.sensors.sensor.period_s,
            "wage_per_h": crew.wage_per_h,
            "repair_part_cost": crew.repair_part_cost,
            "preventive_part_cost": crew.preventive_part_cost,
            "repair_mean_s": crew.repair.mean_s,
            "preventive_mean_s": crew.preventive.mean_s,
            "spare_part_lead_mean_s": crew.spare_part_lead.mean_s,
            "downtime_cost_per_h": params.downtime_cost_per_h,
            "margin_per_part": min(product.margin for product in params.products),
        }

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        self.plant = Plant(world, self.params, policy)

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.plant.kpis()
