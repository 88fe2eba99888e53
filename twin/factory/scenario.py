"""Factory scenarios registered by id."""

from __future__ import annotations

from typing import Any, ClassVar

from twin.core.policy import Policy
from twin.core.run import start_policy
from twin.core.scenario import KPI, Scenario
from twin.core.world import World
from twin.factory.config import (
    FlowLineParams,
    JobShopDispatchParams,
    JobShopOrdersParams,
    JobShopParams,
    MaintainedBy,
    OrdersParams,
    Plant1000Params,
    PlantParams,
    SmallOrdersParams,
)
from twin.factory.plant import Plant


class FlowLine(Scenario[PlantParams]):
    """Five-station machining flow line with finite buffers and degrading machines."""

    id = "factory/flowline-v0"
    domain = "factory.maintenance"
    description = "5-station machining flow line: degrading machines, sensors, repair crew"
    Params: ClassVar[type[PlantParams]] = FlowLineParams
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


class JobShop(FlowLine):
    """Job shop: three products with their own routes, parts carried by AGVs."""

    id = "factory/jobshop-agv-v0"
    description = "job shop: 3 products, 5 stations on a 3x3 aisle grid, 5 AGVs"
    Params = JobShopParams


class LargePlant(FlowLine):
    """1,000 machines in 100 ten-station lines, 100 AGVs: the scale benchmark plant."""

    id = "factory/plant-1000-v0"
    description = "1,000 machines in 100 lines of 10 stations, 100 AGVs, 20 technicians"
    Params = Plant1000Params


class JobShopOrders(FlowLine):
    """Make-to-order job shop: a week of orders with due dates, changeovers between
    products, released by the run's planning policy; machines wear and fail."""

    id = "factory/jobshop-orders-v0"
    domain = "factory.planning"
    description = "job shop making to order: a week of orders, changeovers, a planner"
    Params: ClassVar[type[PlantParams]] = JobShopOrdersParams
    default_policy = "planning/edd-v0"
    headline_kpis = ("tardiness_h", "orders_late", "setup_h", "throughput_per_h")

    def policy_info(self) -> dict[str, Any]:
        """What a planner is told at reset: the stations and the planning period."""
        params = self.params
        assert isinstance(params, OrdersParams)
        assert params.orders is not None
        return {
            "stations": [station.name for station in params.stations],
            "machines": sum(station.machines for station in params.stations),
            "planning_period_s": params.orders.planning_period_s,
        }

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        params = self.params
        assert isinstance(params, OrdersParams)
        maintenance = _maintenance_policy(self, params, world)
        self.plant = Plant(world, params, maintenance, self.id, planner=policy)


class SmallOrders(JobShopOrders):
    """Two products on two machines, a day of orders: the smallest make-to-order plant."""

    id = "factory/orders-small-v0"
    description = "two machines making two products to order: a day of orders, a plan per shift"
    Params = SmallOrdersParams


class JobShopDispatch(FlowLine):
    """The AGV job shop, where the run's policy dispatches the AGVs: dispatchers compared
    on the same parts, failures and repairs (run-to-failure maintenance by default)."""

    id = "factory/jobshop-dispatch-v0"
    domain = "factory.dispatch"
    description = "the AGV job shop; the run's policy dispatches its 5 AGVs"
    Params = JobShopDispatchParams
    params: JobShopDispatchParams
    default_policy = "dispatch/nearest-idle-v0"
    headline_kpis = ("throughput_per_h", "lead_time_mean_s", "agv_km", "agv_request_wait_mean_s")

    def policy_info(self) -> dict[str, Any]:
        """What the plant tells its dispatcher: the fleet size."""
        agvs = self.params.agvs
        return {"agvs": agvs.count if agvs is not None else 0}

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        params = self.params
        maintenance = _maintenance_policy(self, params, world)
        self.plant = Plant(world, params, maintenance, self.id, dispatch=policy)


def _maintenance_policy(scenario: FlowLine, params: MaintainedBy, world: World) -> Policy[Any, Any]:
    """The policy ``params`` name for the machines, told what a maintenance policy is told
    in the flow line (its own streams, so the run's policy draws are unchanged)."""
    return start_policy(
        world,
        params.maintenance_policy,
        dict(params.maintenance_policy_params),
        scenario.id,
        FlowLine.policy_info(scenario),
    )
