"""The factory as a domain: its three decision areas, invariants, view and KPIs, declared once.

Registered through the entry point ``twin.domains: factory``. Hypothesis is imported only
when a strategy or an edge case is asked for (:mod:`twin.factory.kit`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.core.domain import Better, Clock, DecisionArea, Deferred, Domain, Quantity, ScenarioChecks
from twin.core.scenario import ScenarioConfig
from twin.core.scene import View
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World
from twin.factory.observation import (
    AGV_STATES,
    MACHINE_STATES,
    DispatchAction,
    DispatchObservation,
    MaintenanceAction,
    MaintenanceObservation,
    PlanningAction,
    PlanningObservation,
    check_dispatch_action,
    check_maintenance_action,
    check_planning_action,
)
from twin.factory.plant import Plant

# -- decision areas ------------------------------------------------------------------


def _machine_of(observation: MaintenanceObservation) -> str:
    return f"machine:{observation.machine}"


def _fleet_of(observation: DispatchObservation) -> str:
    return "fleet:agv"  # a dispatch decision is about the whole fleet


_maintenance_edge_cases = Deferred("twin.factory.kit:maintenance_edge_cases")


_maintenance_observations = Deferred("twin.factory.kit:maintenance_observations")


def _maintenance_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # Three days of the default flow line: every machine reports many times, and wear
    # moves far enough for condition rules to act.
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=3 * SECONDS_PER_DAY, tick_s=600.0)
    return config, None


_maintenance_learning = Deferred("twin.factory.learning:maintenance_learning")


_dispatch_edge_cases = Deferred("twin.factory.kit:dispatch_edge_cases")


_dispatch_observations = Deferred("twin.factory.kit:dispatch_observations")


def _dispatch_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # The plant resolves its dispatch policy by reference, so the maintenance policy is
    # the scenario's default and the policy under test rides in the params.
    config = ScenarioConfig(
        id="factory/jobshop-agv-v0",
        horizon_s=SECONDS_PER_DAY,
        tick_s=600.0,
        params={"dispatch_policy": policy_ref},
    )
    return config, "maintenance/run-to-failure-v0"


def _dispatch_info() -> dict[str, Any]:
    return {"agvs": 5}  # what the plant tells its dispatcher: the job shop's fleet size


_COUNT = Quantity(low=0)

MAINTENANCE_FIELDS = {
    "now_s": Quantity("s", low=0, description="simulated time of the decision"),
    "machine": Quantity(low=0, description="index of the machine in the plant, from 0"),
    "station": Quantity(description="the station the machine belongs to"),
    "state": Quantity(choices=MACHINE_STATES, description="what the machine is doing"),
    "vibration_mm_s": Quantity(
        "mm/s", missing=True, description="delivered vibration RMS (noisy; NaN on dropout)"
    ),
    "temperature_c": Quantity(
        "degC", missing=True, description="delivered housing temperature (noisy; NaN on dropout)"
    ),
    "pressure_bar": Quantity(
        "bar", missing=True, description="delivered hydraulic pressure (noisy; NaN on dropout)"
    ),
    "humidity_pct": Quantity(
        "%", missing=True, description="delivered relative humidity (noisy; NaN on dropout)"
    ),
    "reading_age_s": Quantity(
        "s", low=0, missing=True, description="time since the readings were measured"
    ),
    "operating_h": Quantity("h", low=0, description="processing hours since the last service"),
    "calendar_h": Quantity("h", low=0, description="hours since the last service or the start"),
    "parts": Quantity(low=0, description="parts processed since the last service"),
    "failures": Quantity(low=0, description="unplanned failures of this machine so far"),
    "technicians_free": Quantity(low=0, description="technicians on shift and not working"),
    "maintenance_queue": Quantity(low=0, description="machines waiting for a technician"),
}

MAINTENANCE = DecisionArea(
    name="factory.maintenance",
    observation=MaintenanceObservation,
    action=MaintenanceAction,
    check_action=check_maintenance_action,
    entity_of=_machine_of,
    edge_cases=_maintenance_edge_cases,
    observations=_maintenance_observations,
    run_config=_maintenance_run,
    observation_fields=MAINTENANCE_FIELDS,
    action_fields={
        "maintain": Quantity(description="stop the machine for maintenance after its part")
    },
    baseline="maintenance/run-to-failure-v0",
    check_policy_s=25.0,  # s on a shared 2-core machine, 2026-12-04
    description="at each sensor report of a machine: maintain it now, or let it run",
    epochs=(
        "Event-driven, per machine: whenever the sensor board delivers a report of the "
        "machine's channels (every `sensors.sensor.period_s`, after the pipeline's latency), "
        "once per machine in the report."
    ),
    learning=_maintenance_learning,
)

DISPATCH_FIELDS = {
    "now_s": Quantity("s", low=0, description="simulated time of the decision"),
    "requests": Quantity(description="waiting transport requests, oldest first"),
    "requests.number": Quantity(low=0, description="serial number of the request, from 0"),
    "requests.pickup": Quantity(description="layout node where the load is picked up"),
    "requests.drop": Quantity(description="layout node where the load is dropped"),
    "requests.requested_s": Quantity("s", low=0, description="when it was requested"),
    "requests.trip_m": Quantity("m", low=0, description="shortest path pickup -> drop"),
    "agvs": Quantity(description="every AGV of the fleet, by id"),
    "agvs.id": Quantity(low=0, description="the AGV's number in the fleet, from 0"),
    "agvs.node": Quantity(description="node it is at, or the last one it reached"),
    "agvs.idle": Quantity(description="whether it may be assigned a request"),
    "agvs.soc": Quantity("1", low=0, high=1, description="state of charge"),
    "agvs.range_m": Quantity(
        "m", low=0, description="metres it can still drive (infinite if driving is free)"
    ),
    "agvs.state": Quantity(choices=AGV_STATES, description="what it is doing"),
    "layout": Quantity(description="the plant layout, for path distances (no space: read only)"),
}

DISPATCH = DecisionArea(
    name="factory.dispatch",
    observation=DispatchObservation,
    action=DispatchAction,
    check_action=check_dispatch_action,
    entity_of=_fleet_of,
    edge_cases=_dispatch_edge_cases,
    observations=_dispatch_observations,
    run_config=_dispatch_run,
    context_info=_dispatch_info,
    observation_fields=DISPATCH_FIELDS,
    action_fields={
        "assignments": Quantity(
            description="(request position in requests, AGV id) pairs; empty: wait"
        ),
        "ask_again_in_s": Quantity(
            "s", low=0.0, description="ask again this much later if nothing happens (inf: never)"
        ),
        "fallback": Quantity(description="why a planner fell back to its rule ('' if it did not)"),
    },
    epochs=(
        "Event-driven: when a transport request arrives or an AGV becomes idle, and again after"
        " `ask_again_in_s` when the last answer asked for it."
    ),
    baseline="dispatch/nearest-idle-v0",
    check_policy_s=30.0,  # s on a shared 2-core machine, 2026-12-04
    description="when a request waits and an AGV is idle: which AGV takes which request",
    # No learning interface yet: an answer assigns any number of the waiting requests to
    # any of the idle AGVs, a set whose size changes with every decision, which a fixed
    # Discrete(n) cannot index without a flattening (one request at a time, or a pointer
    # network) that is a design of its own.
    learning=None,
)

_planning_edge_cases = Deferred("twin.factory.kit:planning_edge_cases")


_planning_observations = Deferred("twin.factory.kit:planning_observations")


def _plant_of(observation: PlanningObservation) -> str:
    return "plant"  # a plan is about the whole plant


def _planning_run(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # Two days of the make-to-order job shop, six planning epochs: loaded enough that
    # plans differ (on the two-machine plant every release rule gives the same run).
    config = ScenarioConfig(
        id="factory/jobshop-orders-v0", horizon_s=2 * SECONDS_PER_DAY, tick_s=600.0
    )
    return config, None


PLANNING_FIELDS = {
    "now_s": Quantity("s", low=0, description="simulated time of the planning epoch"),
    "period_s": Quantity("s", low=0, description="time until the next epoch re-plans"),
    "orders": Quantity(description="open orders (not yet released), by number"),
    "orders.number": Quantity(low=0, description="serial number of the order, from 0"),
    "orders.product": Quantity(description="the product ordered"),
    "orders.quantity": Quantity("parts", low=1, description="good parts ordered"),
    "orders.ready_s": Quantity("s", low=0, description="release date: not before"),
    "orders.due_s": Quantity("s", low=0, description="due date"),
    "stations": Quantity(description="every station"),
    "stations.name": Quantity(description="the station"),
    "stations.machines": Quantity(low=1, description="machines in the station"),
    "stations.machines_up": Quantity(low=0, description="machines not down now"),
    "stations.availability": Quantity(
        "1", low=0, high=1, description="forecast long-run share of machine time up"
    ),
    "stations.setup_s": Quantity("s", low=0, description="changeover time per product change"),
    "stations.backlog_s": Quantity(
        "s", low=0, description="processing still owed here to released parts"
    ),
    "products": Quantity(description="every product: route and mean processing times"),
    "products.name": Quantity(description="the product"),
    "products.route": Quantity(description="station names, in processing order"),
    "products.work_s": Quantity("s", low=0, description="mean processing time per step"),
}

PLANNING = DecisionArea(
    name="factory.planning",
    observation=PlanningObservation,
    action=PlanningAction,
    check_action=check_planning_action,
    entity_of=_plant_of,
    edge_cases=_planning_edge_cases,
    observations=_planning_observations,
    run_config=_planning_run,
    observation_fields=PLANNING_FIELDS,
    action_fields={
        "releases": Quantity(
            description="Release(order, release_s, planned_done_s) in sequence; unnamed stay open"
        ),
        "planned_tardiness_s": Quantity(
            "s", low=0, missing=True, description="the plan's own tardiness estimate"
        ),
        "mip_gap": Quantity("1", low=0, missing=True, description="proven relative MIP gap"),
        "fallback": Quantity(description="made by the fallback rule because the optimiser failed"),
    },
    epochs=(
        "Periodic: at the start of the run and then every `order_book.planning_period_s`, for "
        "the whole order book at once."
    ),
    baseline="planning/fifo-v0",
    check_policy_s=60.0,  # s on a shared 2-core machine, 2026-12-04
    description="at each planning epoch: which open orders to release when, in which sequence",
    # An answer is a sequence over a changing set of orders: a learning agent chooses
    # the release rule that makes it.
    learning=Deferred("twin.factory.planning_learning:planning_learning"),
)

# -- invariants ------------------------------------------------------------------------

INVARIANT_RULES = (
    "parts are conserved: released = good + scrapped + in process",
    "every machine is in one of the machine states",
    "busy technicians are between 0 and the crew size",
    "every buffer holds between 0 and its capacity",
    "health never goes below new (0)",
    "at most one AGV drives each direction of an aisle at a time",
    "every AGV battery holds between 0 and its capacity",
    "no order has more good parts than it ordered",
)


def plant_invariants(plant: Plant, world: World) -> list[str]:
    """The violations of :data:`INVARIANT_RULES` in ``plant`` now (empty when all hold)."""
    problems = []
    accounted = plant.finished.count + plant.scrapped.count + plant.wip.level
    if plant.released.count != accounted:
        problems.append(
            f"parts not conserved: released {plant.released.count} != good "
            f"{plant.finished.count} + scrapped {plant.scrapped.count} + WIP {plant.wip.level}"
        )
    for machine in plant.machines:
        if machine.state not in MACHINE_STATES:
            problems.append(f"machine {machine.label} in unknown state {machine.state!r}")
    technicians = plant.params.crew.technicians
    if not 0 <= plant.crew.busy.level <= technicians:
        problems.append(f"{plant.crew.busy.level} technicians busy of {technicians}")
    for buffer in plant.buffers:
        if not 0 <= buffer.held <= buffer.capacity:
            problems.append(f"buffer {buffer.name} holds {buffer.held} of {buffer.capacity}")
    if not bool(np.all(plant.health >= 0.0)):
        problems.append(f"negative health {plant.health.min()}")
    fleet = plant.fleet
    if fleet is not None:
        for segment, lane in fleet.lanes.items():
            if lane.count > 1:
                problems.append(f"{lane.count} AGVs on segment {segment} at once")
        battery_kwh = fleet.spec.battery_kwh
        for agv in fleet.agvs:
            if not -1e-9 <= agv.energy_kwh <= battery_kwh + 1e-9:
                problems.append(f"AGV {agv.index} holds {agv.energy_kwh} kWh of {battery_kwh}")
    book = plant.order_book
    if book is not None:
        for order in book.orders:
            if order.good > order.quantity:
                problems.append(f"order {order.number} has {order.good} of {order.quantity} parts")
    return problems


# -- view, scenario checks, KPIs -------------------------------------------------------


def plant_view(plant: Plant) -> View:
    """The plant's floor (:class:`twin.factory.view.FactoryView`)."""
    from twin.factory.view import FactoryView

    return FactoryView(plant)


_flow_line_params = Deferred("twin.factory.kit:flow_line_params")


SCENARIO_CHECKS = {
    "factory/flowline-v0": ScenarioChecks(params=_flow_line_params, horizon_s=SECONDS_PER_DAY),
    "factory/jobshop-agv-v0": ScenarioChecks(horizon_s=SECONDS_PER_DAY),
    # 1,000 machines: a few simulated hours are already many thousand events.
    "factory/plant-1000-v0": ScenarioChecks(horizon_s=6 * SECONDS_PER_HOUR, check_period_s=1800.0),
    "factory/jobshop-orders-v0": ScenarioChecks(horizon_s=SECONDS_PER_DAY),
    "factory/orders-small-v0": ScenarioChecks(horizon_s=SECONDS_PER_DAY),
}

KPIS: dict[str, Better] = {
    "throughput_per_h": "higher",
    "oee": "higher",
    "availability": "higher",
    "performance": "higher",
    "quality": "higher",
    "mtbf_h": "higher",
    "mttr_h": "lower",
    "unplanned_failures": "lower",
    "downtime_h": "lower",
    "wip_mean": "lower",
    "lead_time_mean_s": "lower",
    "parts_good": "higher",
    "parts_scrapped": "lower",
    "maintenance_corrective_cost": "lower",
    "maintenance_preventive_cost": "lower",
    "maintenance_parts_cost": "lower",
    "maintenance_labour_cost": "lower",
    "productivity_index": "higher",
    "agv_empty_travel_share": "lower",
    "agv_request_wait_mean_s": "lower",
    "agv_charging_kwh": "lower",
    "orders_done": "higher",
    "orders_late": "lower",
    "late_share": "lower",
    "tardiness_h": "lower",
    "tardiness_mean_h": "lower",
    "makespan_h": "lower",
    "setups": "lower",
    "setup_h": "lower",
    "planning_fallbacks": "lower",
    "planning_mip_gap": "lower",
    "planned_tardiness_h": "lower",
    "planned_orders_tardiness_h": "lower",
    "plan_gap_h": "lower",
    "agv_empty_km": "lower",
    "agv_planned_empty_km": "lower",
    "agv_dispatch_fallbacks": "lower",
}

DOMAIN: Domain[Plant] = Domain(
    name="factory",
    # Parts take one to three minutes a station: ten minutes shows every machine change state.
    clock=Clock(unit="h", display_tick_s=600.0),
    description="machines that wear and fail, sensors, a repair crew, buffers and AGVs",
    model=Plant,
    areas=(MAINTENANCE, DISPATCH, PLANNING),
    invariants=plant_invariants,
    view=plant_view,
    invariant_rules=INVARIANT_RULES,
    scenario_checks=SCENARIO_CHECKS,
    kpis=KPIS,
    live=Deferred("twin.factory.live:factory_live"),
)
