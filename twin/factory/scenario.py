"""Factory scenarios registered by id."""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import Field

from twin.core.distributions import Exponential, Gamma
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.core.world import World
from twin.factory.config import AgvSpec, CrewSpec, PlantParams, ProductSpec, StationSpec
from twin.factory.layout import LayoutSpec
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
    headline_kpis = ("throughput_per_h", "oee", "unplanned_failures", "productivity_index")

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
        self.plant = Plant(world, self.params, policy, self.id)

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.plant.kpis()


def _jobshop_layout() -> LayoutSpec:
    # A 3 x 3 grid of aisles, 20 m apart: stores and shipping in opposite corners.
    names = [
        ["stores", "lathe", "mill"],
        ["grind", "hub", "drill"],
        ["inspect", "charger", "shipping"],
    ]
    nodes = {
        name: (20.0 * col, 20.0 * row)
        for row, line in enumerate(names)
        for col, name in enumerate(line)
    }
    edges = [(line[c], line[c + 1]) for line in names for c in range(2)]
    edges += [(names[r][c], names[r + 1][c]) for r in range(2) for c in range(3)]
    return LayoutSpec(nodes=nodes, edges=edges, chargers=["charger"])


def _jobshop_stations() -> list[StationSpec]:
    return [
        StationSpec(name="lathe", machines=2, processing=Gamma(mean=180.0, cv=0.4), node="lathe"),
        StationSpec(name="mill", machines=2, processing=Gamma(mean=200.0, cv=0.4), node="mill"),
        StationSpec(name="grind", machines=1, processing=Gamma(mean=120.0, cv=0.3), node="grind"),
        StationSpec(name="drill", machines=1, processing=Gamma(mean=100.0, cv=0.3), node="drill"),
        StationSpec(
            name="inspect", machines=1, processing=Gamma(mean=60.0, cv=0.2), node="inspect"
        ),
    ]


def _jobshop_products() -> list[ProductSpec]:
    return [
        ProductSpec(
            name="shaft", route=["lathe", "grind", "inspect"], interarrival=Exponential(mean=240.0)
        ),
        ProductSpec(
            name="bracket", route=["mill", "drill", "inspect"], interarrival=Exponential(mean=300.0)
        ),
        ProductSpec(
            name="flange",
            route=["lathe", "mill", "drill", "inspect"],
            interarrival=Exponential(mean=400.0),
        ),
    ]


class JobShopParams(PlantParams):
    products: list[ProductSpec] = Field(default_factory=_jobshop_products, min_length=1)
    stations: list[StationSpec] = Field(default_factory=_jobshop_stations, min_length=1)
    layout: LayoutSpec | None = Field(default_factory=_jobshop_layout)
    agvs: AgvSpec | None = Field(default_factory=lambda: AgvSpec(count=5, speed_mps=1.5))
    source_node: str | None = "stores"
    sink_node: str | None = "shipping"


class JobShop(FlowLine):
    """Job shop: three products with their own routes, parts carried by AGVs."""

    id = "factory/jobshop-agv-v0"
    description = "job shop: 3 products, 5 stations on a 3x3 aisle grid, 5 AGVs"
    Params = JobShopParams


PLANT_LINES = 100
PLANT_STATIONS_PER_LINE = 10


def _line_name(line: int) -> str:
    return f"L{line:02d}"


def _plant_stations() -> list[StationSpec]:
    return [
        StationSpec(
            name=f"{_line_name(line)}S{step}",
            processing=Gamma(mean=3000.0, cv=0.3),
            buffer=3,
            node=f"{_line_name(line)}S{step}",
        )
        for line in range(PLANT_LINES)
        for step in range(PLANT_STATIONS_PER_LINE)
    ]


def _plant_products() -> list[ProductSpec]:
    return [
        ProductSpec(
            name=f"P{line:02d}",
            route=[f"{_line_name(line)}S{step}" for step in range(PLANT_STATIONS_PER_LINE)],
            interarrival=Exponential(mean=3600.0),
            source_node=f"{_line_name(line)}in",
            sink_node=f"{_line_name(line)}out",
        )
        for line in range(PLANT_LINES)
    ]


def _plant_layout() -> LayoutSpec:
    # Each line is a row of aisle nodes 15 m apart, rows 12 m apart, joined by cross
    # aisles at both ends and in the middle; a charger every fifth row.
    nodes: dict[str, tuple[float, float]] = {}
    edges: list[tuple[str, str]] = []
    for line in range(PLANT_LINES):
        name = _line_name(line)
        row = (
            [f"{name}in"] + [f"{name}S{s}" for s in range(PLANT_STATIONS_PER_LINE)] + [f"{name}out"]
        )
        for col, node in enumerate(row):
            nodes[node] = (15.0 * col, 12.0 * line)
        edges += list(itertools.pairwise(row))
        if line:
            previous = _line_name(line - 1)
            edges += [(f"{previous}in", f"{name}in"), (f"{previous}out", f"{name}out")]
            edges.append((f"{previous}S5", f"{name}S5"))
    chargers = [f"{_line_name(line)}in" for line in range(0, PLANT_LINES, 5)]
    return LayoutSpec(nodes=nodes, edges=edges, chargers=chargers)


def _plant_sensors() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=3600.0, noise_std=0.2, dropout_prob=0.01),
        pipeline=PipelineSpec(moving_average_window=3, latency_mean_s=2.0),
    )


class Plant1000Params(PlantParams):
    products: list[ProductSpec] = Field(default_factory=_plant_products, min_length=1)
    stations: list[StationSpec] = Field(default_factory=_plant_stations, min_length=1)
    layout: LayoutSpec | None = Field(default_factory=_plant_layout)
    agvs: AgvSpec | None = Field(
        default_factory=lambda: AgvSpec(
            count=100,
            speed_mps=1.5,
            charge_power_kw=3.0,
            home_nodes=[f"{_line_name(line)}in" for line in range(PLANT_LINES)],
        )
    )
    crew: CrewSpec = Field(default_factory=lambda: CrewSpec(technicians=20))
    sensors: SensorConfig = Field(default_factory=_plant_sensors)
    degradation_step_s: float = Field(default=300.0, gt=0)


class LargePlant(FlowLine):
    """1,000 machines in 100 ten-station lines, 100 AGVs: the scale benchmark plant."""

    id = "factory/plant-1000-v0"
    description = "1,000 machines in 100 lines of 10 stations, 100 AGVs, 20 technicians"
    Params = Plant1000Params
