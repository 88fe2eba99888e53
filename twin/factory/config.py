"""The plant as a config: products and routes, stations, buffers, crew, costs, AGVs;
and the params of each registered factory scenario.

Defaults and their sources: docs/PARAMETERS.md (section "Factory").
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from twin.core.config import policy_in_params
from twin.core.distributions import (
    Deterministic,
    Distribution,
    Exponential,
    Gamma,
    Lognormal,
    Uniform,
)
from twin.core.scenario import ScenarioParams
from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.factory.layout import Edge, LayoutSpec


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MachinePower(_Spec):
    """Electric power of one machine in each state, kW."""

    busy_kw: float = Field(default=12.0, ge=0, description="processing a part")
    idle_kw: float = Field(default=7.0, ge=0, description="on, waiting: starved or blocked")
    down_kw: float = Field(default=0.5, ge=0, description="failed, under repair or maintenance")


class DegradationSpec(_Spec):
    """Wiener degradation of a machine's health: failure when it reaches 1.

    At nominal load and reference temperature the mean time to failure is about
    ``1 / drift_per_h`` hours; health cannot fall below new, which shortens it a little
    (exactly: :func:`twin.factory.kernels.first_passage_mean_reflected_s`).
    """

    drift_per_h: float = Field(default=1 / 500, gt=0, description="mean wear per operating hour")
    volatility: float = Field(
        default=0.3,
        ge=0,
        le=3,
        description="coefficient of variation of the time to failure at constant stress",
    )
    temp_ref_c: float = Field(default=40.0, description="operating temperature of rated life")
    temp_rise_load_c: float = Field(default=20.0, ge=0, description="heating at full load")
    temp_rise_wear_c: float = Field(default=15.0, ge=0, description="extra heating when worn out")


class StationSpec(_Spec):
    """A station: identical parallel machines fed by one input buffer."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    machines: int = Field(default=1, ge=1, le=100_000)
    processing: Distribution = Field(default_factory=lambda: Exponential(mean=60.0))
    buffer: int = Field(default=5, ge=0, description="input buffer places; 0 = none")
    power: MachinePower = Field(default_factory=MachinePower)
    degradation: DegradationSpec = Field(default_factory=DegradationSpec)
    defect_rate_new: float = Field(default=0.01, ge=0, le=1, description="scrap share when new")
    defect_rate_worn: float = Field(
        default=0.05, ge=0, le=1, description="scrap share at the failure threshold"
    )
    node: str | None = Field(default=None, description="layout node, for AGV transport")
    setup_s: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="changeover time of a machine before a part of another product, s",
    )


class ProductSpec(_Spec):
    """A product: orders arrive and each part visits ``route`` in order."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    route: list[str] = Field(min_length=1, description="station names, in processing order")
    interarrival: Distribution = Field(default_factory=lambda: Exponential(mean=90.0))
    material_cost: float = Field(default=20.0, ge=0, description="money per raw part")
    margin: float = Field(default=30.0, ge=0, description="money earned per good part")
    source_node: str | None = Field(default=None, description="pickup node; plant's if unset")
    sink_node: str | None = Field(default=None, description="drop node; plant's if unset")


class Shift(_Spec):
    start_h: float = Field(ge=0, lt=24, description="hour of day the shift starts")
    hours: float = Field(gt=0, le=24, description="length of the shift")


class CrewSpec(_Spec):
    """Maintenance technicians: a pool with shifts."""

    technicians: int = Field(default=2, ge=1)
    shifts: list[Shift] = Field(
        default_factory=lambda: [Shift(start_h=0.0, hours=24.0)],
        description="when technicians are on site; repairs running at shift end finish",
    )
    wage_per_h: float = Field(default=38.0, ge=0, description="labour cost per technician hour")
    repair: Distribution = Field(
        default_factory=lambda: Lognormal(mean=3 * 3600.0, cv=0.8),
        description="corrective repair time, s",
    )
    preventive: Distribution = Field(
        default_factory=lambda: Lognormal(mean=1 * 3600.0, cv=0.3),
        description="preventive maintenance time, s",
    )
    spare_part_lead: Distribution = Field(
        default_factory=lambda: Exponential(mean=4 * 3600.0),
        description="wait for a spare part before a corrective repair, s",
    )
    repair_part_cost: float = Field(default=800.0, ge=0)
    preventive_part_cost: float = Field(default=150.0, ge=0)


class OrderStreamSpec(_Spec):
    """Customer orders of one product: when each may start, how many parts, when due."""

    product: str = Field(min_length=1, description="the product ordered")
    interarrival: Distribution = Field(
        default_factory=lambda: Exponential(mean=4 * 3600.0),
        description="time between the release dates of consecutive orders, s",
    )
    min_quantity: int = Field(default=5, ge=1, le=100_000, description="fewest parts an order")
    max_quantity: int = Field(default=20, ge=1, le=100_000, description="most parts an order")
    due_after: Distribution = Field(
        default_factory=lambda: Uniform(low=86_400.0, high=3 * 86_400.0),
        description="due date minus release date, s",
    )

    @model_validator(mode="after")
    def _quantities_ordered(self) -> OrderStreamSpec:
        if self.max_quantity < self.min_quantity:
            raise ValueError(
                f"max_quantity ({self.max_quantity}) must be at least "
                f"min_quantity ({self.min_quantity})"
            )
        return self


class OrderBookSpec(_Spec):
    """Make-to-order production: an order book known at the start, released by a planner.

    With an order book the plant's products do not arrive by their ``interarrival``: parts
    enter only when the planning policy (``factory.planning``) releases an order.
    """

    streams: list[OrderStreamSpec] = Field(min_length=1, description="one per product ordered")
    horizon_s: float = Field(
        default=7 * 86_400.0,
        gt=0,
        allow_inf_nan=False,
        description="orders whose release date falls before this are in the book, s",
    )
    planning_period_s: float = Field(
        default=7 * 86_400.0,
        gt=0,
        allow_inf_nan=False,
        description="time between planning epochs (weekly; 86400 re-plans daily), s",
    )


def _default_sensors() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=600.0, noise_std=0.2, dropout_prob=0.01),
        pipeline=PipelineSpec(moving_average_window=3, latency_mean_s=2.0),
    )


class AgvSpec(BaseModel):
    """The AGV fleet: size, speed, battery and handling times.

    Defaults and their sources are listed in docs/PARAMETERS.md.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(default=2, ge=0, le=10_000, description="vehicles in the fleet")
    speed_mps: float = Field(
        default=1.0, gt=0, allow_inf_nan=False, description="travel speed, m/s"
    )
    battery_kwh: float = Field(
        default=1.2, gt=0, allow_inf_nan=False, description="usable battery energy, kWh"
    )
    consumption_kwh_per_m: float = Field(
        default=5e-5, ge=0, allow_inf_nan=False, description="battery energy per metre driven"
    )
    charge_power_kw: float = Field(
        default=1.0, gt=0, allow_inf_nan=False, description="charger power (grid side), kW"
    )
    recharge_below_soc: float = Field(
        default=0.2, gt=0, lt=1, description="after a job, go charging below this state of charge"
    )
    charge_to_soc: float = Field(
        default=0.9, gt=0, le=1, description="charge up to this state of charge (also the start)"
    )
    load_time_s: float = Field(default=15.0, ge=0, allow_inf_nan=False, description="to load")
    unload_time_s: float = Field(default=15.0, ge=0, allow_inf_nan=False, description="to unload")
    home_nodes: list[str] | None = Field(
        default=None,
        min_length=1,
        description="start nodes, AGV i at home_nodes[i % len]; default: the chargers",
    )

    @model_validator(mode="after")
    def _charge_above_threshold(self) -> AgvSpec:
        if self.charge_to_soc <= self.recharge_below_soc:
            raise ValueError(
                f"charge_to_soc ({self.charge_to_soc}) must be above "
                f"recharge_below_soc ({self.recharge_below_soc})"
            )
        return self


class PlantParams(ScenarioParams):
    """A plant: what is made, where, by what, and who keeps it running."""

    products: list[ProductSpec] = Field(min_length=1)
    stations: list[StationSpec] = Field(min_length=1)
    crew: CrewSpec = Field(default_factory=CrewSpec)
    sensors: SensorConfig = Field(default_factory=_default_sensors)
    degradation_step_s: float = Field(
        default=60.0, gt=0, description="time step of the wear and sensor-signal kernel"
    )
    ambient_c: float = Field(default=22.0, description="shop-floor temperature")
    ambient_humidity_pct: float = Field(default=45.0, ge=0, le=100)
    downtime_cost_per_h: float = Field(
        default=0.0, ge=0, description="lost production per machine-hour down, beyond margin"
    )
    electricity_price_per_kwh: float = Field(default=0.0, ge=0)
    layout: LayoutSpec | None = Field(default=None, description="floor plan for AGV transport")
    agvs: AgvSpec | None = Field(
        default=None, description="AGV fleet carrying parts; without it parts move instantly"
    )
    source_node: str | None = Field(default=None, description="where raw parts are picked up")
    sink_node: str | None = Field(default=None, description="where finished parts are dropped")
    dispatch_policy: str = Field(
        default="dispatch/nearest-idle-v0", description="AGV dispatching policy id"
    )
    orders: OrderBookSpec | None = Field(
        default=None,
        description="an order book released by a planning policy; without it parts arrive",
    )

    @field_validator("dispatch_policy")
    @classmethod
    def _a_dispatch_policy(cls, reference: str, info: ValidationInfo) -> str:
        # Checked here so a wrong id is reported against this key; the plant resolves
        # it again in the run's registry (``world.registry``).
        policy_in_params(reference, info, "factory.dispatch")
        return reference

    @model_validator(mode="after")
    def _agvs_have_a_floor(self) -> PlantParams:
        if self.agvs is None:
            if self.layout is not None:
                raise ValueError("a layout is only used with agvs; add an [agvs] table")
            return self
        if self.layout is None:
            raise ValueError("agvs need a layout (nodes, edges, chargers)")
        known = self.layout.nodes
        places = {f"station {s.name!r}": s.node for s in self.stations}
        for product in self.products:
            places[f"product {product.name!r} source_node"] = (
                product.source_node or self.source_node
            )
            places[f"product {product.name!r} sink_node"] = product.sink_node or self.sink_node
        for what, node in places.items():
            if node is None:
                raise ValueError(f"with agvs, {what} needs a layout node")
            if node not in known:
                raise ValueError(
                    f"{what} is at unknown node {node!r}; nodes: {', '.join(sorted(known))}"
                )
        for station in self.stations:
            if station.buffer < 1:
                raise ValueError(
                    f"station {station.name!r} is served by AGVs and needs buffer >= 1, "
                    "so a vehicle is only sent when its part has a place"
                )
        return self

    @model_validator(mode="after")
    def _routes_name_stations(self) -> PlantParams:
        names = [station.name for station in self.stations]
        # Names key random streams, which are lowercase: "Mill" and "mill" would share one.
        folded = Counter(name.lower() for name in names)
        duplicates = sorted({name for name in names if folded[name.lower()] > 1})
        if duplicates:
            raise ValueError(
                f"station names must be unique (ignoring case); repeated: {', '.join(duplicates)}"
            )
        products = [product.name.lower() for product in self.products]
        if len(set(products)) < len(products):
            raise ValueError("product names must be unique (ignoring case)")
        for product in self.products:
            for station in product.route:
                if station not in names:
                    raise ValueError(
                        f"product {product.name!r} routes to unknown station {station!r}; "
                        f"stations: {', '.join(names)}"
                    )
        if self.orders is not None:
            known = [product.name for product in self.products]
            for stream in self.orders.streams:
                if stream.product not in known:
                    raise ValueError(
                        f"orders name unknown product {stream.product!r}; "
                        f"products: {', '.join(known)}"
                    )
        return self


# -- the params of the registered scenarios ---------------------------------------------


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
    edges: list[Edge] = [(line[c], line[c + 1]) for line in names for c in range(2)]
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


PLANT_LINES = 100
PLANT_STATIONS_PER_LINE = 10


def _line_name(line: int) -> str:
    return f"L{line:02d}"


def _plant_stations(lines: int = PLANT_LINES) -> list[StationSpec]:
    return [
        StationSpec(
            name=f"{_line_name(line)}S{step}",
            processing=Gamma(mean=3000.0, cv=0.3),
            buffer=3,
            node=f"{_line_name(line)}S{step}",
        )
        for line in range(lines)
        for step in range(PLANT_STATIONS_PER_LINE)
    ]


def _plant_products(lines: int = PLANT_LINES) -> list[ProductSpec]:
    return [
        ProductSpec(
            name=f"P{line:02d}",
            route=[f"{_line_name(line)}S{step}" for step in range(PLANT_STATIONS_PER_LINE)],
            interarrival=Exponential(mean=3600.0),
            source_node=f"{_line_name(line)}in",
            sink_node=f"{_line_name(line)}out",
        )
        for line in range(lines)
    ]


def _plant_layout(lines: int = PLANT_LINES) -> LayoutSpec:
    # Each line is a row of aisle nodes 15 m apart, rows 12 m apart, joined by cross
    # aisles at both ends and in the middle; a charger every fifth row.
    nodes: dict[str, tuple[float, float]] = {}
    edges: list[Edge] = []
    for line in range(lines):
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
    chargers = [f"{_line_name(line)}in" for line in range(0, lines, 5)]
    return LayoutSpec(nodes=nodes, edges=edges, chargers=chargers)


def _plant_sensors() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=3600.0, noise_std=0.2, dropout_prob=0.01),
        pipeline=PipelineSpec(moving_average_window=3, latency_mean_s=2.0),
    )


def _plant_agvs(lines: int = PLANT_LINES) -> AgvSpec:
    return AgvSpec(
        count=lines,
        speed_mps=1.5,
        charge_power_kw=3.0,
        home_nodes=[f"{_line_name(line)}in" for line in range(lines)],
    )


def plant_of_lines(lines: int) -> dict[str, Any]:
    """Params of ``factory/plant-1000-v0`` grown or shrunk to ``lines`` lines of ten
    machines: one AGV per line and one technician per five lines, as in the 1,000-machine
    plant, so cost per machine can be compared across sizes (``benchmarks/plant_scale.py``)."""
    if lines < 1:
        raise ValueError(f"a plant needs at least one line, got {lines}")
    return {
        "stations": [spec.model_dump(mode="json") for spec in _plant_stations(lines)],
        "products": [spec.model_dump(mode="json") for spec in _plant_products(lines)],
        "layout": _plant_layout(lines).model_dump(mode="json"),
        "agvs": _plant_agvs(lines).model_dump(mode="json"),
        "crew": CrewSpec(technicians=max(1, lines // 5)).model_dump(mode="json"),
    }


class Plant1000Params(PlantParams):
    products: list[ProductSpec] = Field(default_factory=_plant_products, min_length=1)
    stations: list[StationSpec] = Field(default_factory=_plant_stations, min_length=1)
    layout: LayoutSpec | None = Field(default_factory=_plant_layout)
    agvs: AgvSpec | None = Field(default_factory=_plant_agvs)
    crew: CrewSpec = Field(default_factory=lambda: CrewSpec(technicians=20))
    sensors: SensorConfig = Field(default_factory=_plant_sensors)
    degradation_step_s: float = Field(default=300.0, gt=0)


# -- make-to-order scenarios: an order book released by a planning policy ----------------


class MaintainedBy(BaseModel):
    """Params of a scenario whose run policy makes another kind of decision (planning,
    dispatch): the machines are maintained by the policy named here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    maintenance_policy: str = Field(
        default="maintenance/run-to-failure-v0", description="policy maintaining the machines"
    )
    maintenance_policy_params: dict[str, object] = Field(default_factory=dict)

    @field_validator("maintenance_policy")
    @classmethod
    def _a_maintenance_policy(cls, reference: str, info: ValidationInfo) -> str:
        policy_in_params(reference, info, "factory.maintenance")
        return reference


class OrdersParams(PlantParams, MaintainedBy):
    """A plant that makes to order: the planning policy of the run releases the orders;
    machines are maintained by ``maintenance_policy``."""

    @model_validator(mode="after")
    def _has_orders(self) -> OrdersParams:
        if self.orders is None:
            raise ValueError("a make-to-order scenario needs an [orders] table")
        return self


def _orders_stations() -> list[StationSpec]:
    # The job shop's machines with changeovers: a product change on a lathe or a mill
    # means new fixtures and tools (20-30 min), on a grinder or a drill a tool change.
    return [
        StationSpec(name="lathe", machines=2, processing=Gamma(mean=180.0, cv=0.4), setup_s=1200.0),
        StationSpec(name="mill", machines=2, processing=Gamma(mean=200.0, cv=0.4), setup_s=1800.0),
        StationSpec(name="grind", machines=1, processing=Gamma(mean=120.0, cv=0.3), setup_s=600.0),
        StationSpec(name="drill", machines=1, processing=Gamma(mean=100.0, cv=0.3), setup_s=600.0),
        StationSpec(name="inspect", machines=1, processing=Gamma(mean=60.0, cv=0.2)),
    ]


def _orders_products() -> list[ProductSpec]:
    return [
        ProductSpec(name="shaft", route=["lathe", "grind", "inspect"]),
        ProductSpec(name="bracket", route=["mill", "drill", "inspect"]),
        ProductSpec(name="flange", route=["lathe", "mill", "drill", "inspect"]),
    ]


def _orders_book() -> OrderBookSpec:
    # Re-planned every shift (a rolling horizon); the book's default is weekly, and
    # experiments/planning.toml compares weekly and daily planning.
    # One order of each product every two hours on average, 5-20 parts, due half a day
    # to two days after its release date. Processing alone fills about a third of the
    # mills' and the drill's week; changeovers (20-30 min on lathes and mills, each time
    # the product changes) fill as much again when products are mixed, so batching and
    # sequencing decide whether orders are late.
    return OrderBookSpec(
        streams=[
            OrderStreamSpec(
                product=name,
                interarrival=Exponential(mean=2 * 3600.0),
                due_after=Uniform(low=12 * 3600.0, high=48 * 3600.0),
            )
            for name in ("shaft", "bracket", "flange")
        ],
        planning_period_s=8 * 3600.0,
    )


class JobShopOrdersParams(OrdersParams):
    products: list[ProductSpec] = Field(default_factory=_orders_products, min_length=1)
    stations: list[StationSpec] = Field(default_factory=_orders_stations, min_length=1)
    orders: OrderBookSpec | None = Field(default_factory=_orders_book)


def _small_stations() -> list[StationSpec]:
    return [
        StationSpec(name="cut", processing=Gamma(mean=120.0, cv=0.3), setup_s=900.0),
        StationSpec(name="finish", processing=Gamma(mean=90.0, cv=0.3), setup_s=300.0),
    ]


def _small_products() -> list[ProductSpec]:
    return [
        ProductSpec(name="A", route=["cut", "finish"]),
        ProductSpec(name="B", route=["cut", "finish"]),
    ]


def _small_book() -> OrderBookSpec:
    return OrderBookSpec(
        streams=[
            OrderStreamSpec(
                product=name,
                interarrival=Exponential(mean=3 * 3600.0),
                min_quantity=2,
                max_quantity=8,
                due_after=Uniform(low=4 * 3600.0, high=12 * 3600.0),
            )
            for name in ("A", "B")
        ],
        horizon_s=86_400.0,
        planning_period_s=8 * 3600.0,
    )


class SmallOrdersParams(OrdersParams):
    products: list[ProductSpec] = Field(default_factory=_small_products, min_length=1)
    stations: list[StationSpec] = Field(default_factory=_small_stations, min_length=1)
    orders: OrderBookSpec | None = Field(default_factory=_small_book)


def deterministic_orders_params(**changes: Any) -> dict[str, Any]:
    """Params of ``factory/orders-small-v0`` without disturbances: deterministic processing
    at each station's mean and wear too slow to fail in a year, where a plan must come
    true (the plan-vs-reality checks)."""
    stations = [
        spec.model_copy(
            update={
                "processing": Deterministic(value=spec.processing.mean_s),
                "degradation": DegradationSpec(drift_per_h=1e-9, volatility=0.0),
                "defect_rate_new": 0.0,
                "defect_rate_worn": 0.0,
            }
        ).model_dump(mode="json")
        for spec in _small_stations()
    ]
    return {"stations": stations, **changes}


class JobShopDispatchParams(JobShopParams, MaintainedBy):
    """The AGV job shop with the dispatcher as the run's policy (an experiment's arm),
    and the maintenance policy named here."""

    @model_validator(mode="after")
    def _dispatch_is_the_run_policy(self) -> JobShopDispatchParams:
        if "dispatch_policy" in self.model_fields_set:
            raise ValueError(
                "in this scenario the dispatcher is the run's policy (an experiment's arm); "
                "set maintenance_policy for the machines"
            )
        return self
