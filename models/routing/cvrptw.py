"""Truck routes from a vehicle-routing solver: a capacitated VRP with (soft) time windows
over every load waiting at an origin, solved with OR-Tools' routing library.

The planner decides *when* a dispatch wave leaves (a load is old, the part loads fill a
truck, an order is close to its due time, or a full truckload waits) and *how*: it
minimises money, a fixed cost per truck, a cost per km and a cost per hour late against
each destination's due time, subject to the truck's pallets and kilograms. A destination's
full truckloads always go direct; the routes combine their part loads.

Determinism: the search has fixed parameters (first solution by path cheapest arc, then
the chosen local search) and stops at ``solution_limit`` solutions, so the same
observation gives the same routes on any machine load; ``time_limit_s`` is a guard, and a
solve that reaches it without a solution falls back. OR-Tools' routing search is single
threaded, so batches are byte-identical across executors.

Failures (no OR-Tools, no feasible plan, no solution within the time limit) fall back to
ship-now: every waiting load leaves direct, with one warning line per reason and run, and
the network counts the fallbacks (KPI ``transport_plan_fallbacks``).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.core.units import SECONDS_PER_HOUR
from twin.supply.observation import (
    SHIP,
    WAIT,
    Route,
    TransportAction,
    TransportObservation,
    WaitingLoad,
)

MONEY_SCALE = 3600
"""Solver costs are integers in 1/3600 of the currency: a cost per hour late becomes a
whole number per second of lateness."""
HORIZON_S = 10**9
"""The time dimension's bound: far beyond any route, only there because OR-Tools needs one."""


class CvrptwParams(PolicyParams):
    time_limit_s: float = Field(
        default=5.0, gt=0, le=3600, description="wall-clock guard per solve, seconds"
    )
    solution_limit: int = Field(
        default=50, ge=1, le=10**6, description="solutions the search stops at (determinism)"
    )
    local_search: Literal["guided_local_search", "greedy_descent"] = Field(
        default="guided_local_search", description="OR-Tools local search metaheuristic"
    )
    lateness_cost_per_h: float = Field(
        default=36.0, ge=0, le=1e6, description="money per hour a stop is reached after due"
    )
    fill_target: float = Field(
        default=0.8, gt=0, le=1, description="plan once part loads fill this share of a truck"
    )
    max_wait_s: float = Field(
        default=8 * SECONDS_PER_HOUR, ge=0, description="plan once the oldest load waited this"
    )
    due_margin_s: float = Field(
        default=4 * SECONDS_PER_HOUR,
        ge=0,
        description="plan once a load would reach its destination less than this before due",
    )


@dataclass(frozen=True)
class Plan:
    """The routes of one solve and what they were planned to cost."""

    routes: tuple[Route, ...]
    planned_cost: float
    """Fixed + km cost of the routes, and the lateness cost of their planned arrivals."""
    status: str


class PlanningFailed(Exception):
    """The solver gave no plan; the message says why, in one line."""


class Cvrptw(BasePolicy[TransportObservation, TransportAction]):
    """Dispatch waves of truck routes planned by OR-Tools (CVRP with soft time windows)."""

    id: ClassVar[str] = "transport/cvrptw-v0"
    domain: ClassVar[str] = "supply.transport"
    description: ClassVar[str] = "truck routes over the origin's waiting loads (OR-Tools CVRPTW)"
    Params = CvrptwParams
    params: CvrptwParams

    def __init__(self, params: PolicyParams | None = None) -> None:
        super().__init__(params)
        self._warned: set[str] = set()
        """Failure reasons already warned about in this run: one line each."""

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self._warned = set()

    def act(self, obs: TransportObservation) -> TransportAction:
        if not obs.waiting:  # no view of the origin: only this lane, as ship-now would
            return SHIP if obs.pending_units else WAIT
        if not self._time_to_plan(obs):
            return WAIT
        try:
            plan = plan_routes(obs, self.params)
        except PlanningFailed as failure:
            reason = str(failure)
            self._warn(reason, obs)
            return TransportAction(True, direct_routes(obs), reason)
        return TransportAction(True, plan.routes)

    def _time_to_plan(self, obs: TransportObservation) -> bool:
        p = self.params
        pallets = sum(load.part_pallets for load in obs.waiting)
        kg = math.fsum(load.part_kg for load in obs.waiting)
        fill = max(pallets / obs.truck_capacity_pallets, kg / obs.truck_capacity_kg)
        if fill >= p.fill_target or any(load.full_loads for load in obs.waiting):
            return True
        for load in obs.waiting:
            if not load.oldest_wait_s < p.max_wait_s:  # NaN waits count as long waits
                return True
            arrival_s = obs.now_s + direct_time_s(load, obs)
            if not load.due_s - arrival_s > p.due_margin_s:
                return True
        return False

    def _warn(self, reason: str, obs: TransportObservation) -> None:
        if reason in self._warned:
            return
        self._warned.add(reason)
        warnings.warn(
            f"{self.id} at {obs.origin}, t={obs.now_s:.0f} s: {reason}; shipping every waiting "
            "load direct (ship-now) - counted in KPI transport_plan_fallbacks",
            RuntimeWarning,
            stacklevel=3,
        )


def direct_time_s(load: WaitingLoad, obs: TransportObservation) -> float:
    """Load, drive and reach the destination on a truck of its own, seconds."""
    handling_s = obs.truck_dock_time_s + obs.truck_handling_s_per_pallet * load.part_pallets
    return handling_s + load.distance_km / obs.truck_speed_kmh * SECONDS_PER_HOUR


def direct_routes(obs: TransportObservation) -> tuple[Route, ...]:
    """Every waiting load on trucks of its own: ship-now, as routes."""
    return tuple(
        _route(obs, [k]) if load.part_units else _route(obs, [], k)
        for k, load in enumerate(obs.waiting)
    )


def _route(obs: TransportObservation, tour: list[int], alone: int | None = None) -> Route:
    """The route through the waiting loads ``tour`` (indices into ``obs.waiting``), or of
    the full loads of ``alone``, with its planned km and arrival times.

    The km and times are computed exactly as the twin drives them (the same sums in the
    same order), so a route driven without disturbances matches its plan to the bit.
    """
    waiting = obs.waiting
    indices = tour if alone is None else [alone]
    legs = [
        2 * waiting[k].distance_km * waiting[k].full_loads for k in indices if waiting[k].full_loads
    ]
    arrivals: list[float] = []
    if tour:
        path: list[int | None] = [None, *tour, None]
        tour_legs = [_leg_km(obs, a, b) for a, b in itertools.pairwise(path)]
        legs.extend(tour_legs)
        speed = obs.truck_speed_kmh
        dock = obs.truck_dock_time_s
        per_pallet = obs.truck_handling_s_per_pallet
        t = obs.now_s
        t += dock + per_pallet * sum(waiting[k].part_pallets for k in tour)
        for leg, k in zip(tour_legs, tour, strict=False):
            t += leg / speed * SECONDS_PER_HOUR
            arrivals.append(t)
            t += dock + per_pallet * waiting[k].part_pallets
    stops = tuple(waiting[k].destination for k in indices)
    return Route(stops, math.fsum(legs), tuple(arrivals))


def _leg_km(obs: TransportObservation, a: int | None, b: int | None) -> float:
    """Road km between waiting loads ``a`` and ``b`` (``None``: the origin)."""
    if a is None:
        assert b is not None
        return obs.waiting[b].distance_km
    if b is None:
        return obs.waiting[a].distance_km
    return obs.road_km[a][b]


def route_cost(route: Route, obs: TransportObservation, lateness_cost_per_h: float) -> float:
    """Money a route is planned at: a fixed cost per truck, its km, its lateness."""
    by_name = {load.destination: load for load in obs.waiting}
    trucks = sum(by_name[s].full_loads for s in route.stops) + bool(route.planned_arrivals_s)
    late_h = (
        sum(
            max(arrival - by_name[s].due_s, 0.0)
            for s, arrival in zip(route.stops, route.planned_arrivals_s, strict=False)
        )
        / SECONDS_PER_HOUR
    )
    return (
        obs.truck_fixed_cost * trucks
        + obs.truck_cost_per_km * route.planned_km
        + lateness_cost_per_h * late_h
    )


def _ortools() -> tuple[Any, Any]:
    """OR-Tools' routing modules (imported on first use: the ``solvers`` extra)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    return pywrapcp, routing_enums_pb2


def plan_routes(obs: TransportObservation, params: CvrptwParams) -> Plan:
    """Solve the routing problem of every load waiting in ``obs``.

    Raises:
        PlanningFailed: OR-Tools is missing, or it found no solution (infeasible, or the
            time limit came first).
    """
    waiting = obs.waiting
    alone = [k for k, load in enumerate(waiting) if not load.part_units]
    routed = [k for k, load in enumerate(waiting) if load.part_units]
    routes = [_route(obs, [], k) for k in alone]
    status = "nothing to route"
    if routed:
        tours, status = _solve(obs, routed, params)
        routes.extend(_route(obs, tour) for tour in tours)
    for route in routes:
        pallets = sum(load.part_pallets for load in waiting if load.destination in route.stops)
        kg = math.fsum(load.part_kg for load in waiting if load.destination in route.stops)
        if len(route.stops) > 1 and (
            pallets > obs.truck_capacity_pallets or kg > obs.truck_capacity_kg * (1 + 1e-9)
        ):
            raise PlanningFailed("the solver's route overloads a truck (rounding of kilograms)")
    cost = math.fsum(route_cost(r, obs, params.lateness_cost_per_h) for r in routes)
    return Plan(tuple(routes), cost, status)


def _solve(
    obs: TransportObservation, routed: list[int], params: CvrptwParams
) -> tuple[list[list[int]], str]:
    """Tours (indices into ``obs.waiting``) of the part loads ``routed``, and the status."""
    try:
        pywrapcp, enums = _ortools()
    except ImportError:
        raise PlanningFailed(
            "OR-Tools is not installed (install the 'solvers' extra: pip install 'twin[solvers]')"
        ) from None
    waiting = obs.waiting
    nodes = [-1, *routed]  # node 0 is the origin
    count = len(nodes)

    def km(a: int, b: int) -> float:
        i, j = nodes[a], nodes[b]
        if i == j:
            return 0.0
        if i < 0:
            return waiting[j].distance_km
        if j < 0:
            return waiting[i].distance_km
        return obs.road_km[i][j]

    cost_per_km = obs.truck_cost_per_km * MONEY_SCALE
    arc_cost = [[round(km(a, b) * cost_per_km) for b in range(count)] for a in range(count)]
    per_pallet = obs.truck_handling_s_per_pallet
    # Each stop's own loading (at the origin) is charged to it with its unloading: exact
    # for the last stop, a little optimistic for the earlier ones.
    service_s = [obs.truck_dock_time_s] + [
        obs.truck_dock_time_s + 2 * per_pallet * waiting[k].part_pallets for k in routed
    ]
    travel = [
        [
            round(service_s[a] + km(a, b) / obs.truck_speed_kmh * SECONDS_PER_HOUR)
            for b in range(count)
        ]
        for a in range(count)
    ]
    pallets = [0] + [waiting[k].part_pallets for k in routed]
    grams = [0] + [math.ceil(waiting[k].part_kg * 1000 - 1e-6) for k in routed]
    vehicles = max(1, min(obs.trucks_total, len(routed)))

    manager = pywrapcp.RoutingIndexManager(count, vehicles, 0)
    model = pywrapcp.RoutingModel(manager)

    # Matrices, not Python callbacks: the search then runs without calling back into
    # Python (an order of magnitude faster on the small instances a depot sees).
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(arc_cost))
    model.SetFixedCostOfAllVehicles(round(obs.truck_fixed_cost * MONEY_SCALE))
    for name, demand, capacity in (
        ("pallets", pallets, obs.truck_capacity_pallets),
        ("grams", grams, math.floor(obs.truck_capacity_kg * 1000 + 1e-6)),
    ):
        callback = model.RegisterUnaryTransitVector(demand)
        model.AddDimensionWithVehicleCapacity(callback, 0, [capacity] * vehicles, True, name)
    model.AddDimension(model.RegisterTransitMatrix(travel), 0, HORIZON_S, True, "time")
    clock = model.GetDimensionOrDie("time")
    late_cost = round(params.lateness_cost_per_h * MONEY_SCALE / SECONDS_PER_HOUR)
    for node, k in enumerate(routed, start=1):
        due = waiting[k].due_s - obs.now_s
        if late_cost and math.isfinite(due):
            bound = min(max(round(due), 0), HORIZON_S)
            clock.SetCumulVarSoftUpperBound(manager.NodeToIndex(node), bound, late_cost)

    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = enums.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    search.local_search_metaheuristic = (
        enums.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        if params.local_search == "guided_local_search"
        else enums.LocalSearchMetaheuristic.GREEDY_DESCENT
    )
    search.solution_limit = params.solution_limit
    search.time_limit.FromMilliseconds(max(1, round(params.time_limit_s * 1000)))
    search.log_search = False
    solution = model.SolveWithParameters(search)
    status = enums.RoutingSearchStatus.Value.Name(model.status())
    if solution is None:
        if model.status() == enums.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT:
            raise PlanningFailed(
                f"no route plan within the time limit of {params.time_limit_s:g} s"
            )
        raise PlanningFailed(
            f"no feasible route plan ({status}): the part loads do not fit {vehicles} truck(s)"
        )
    tours: list[list[int]] = []
    for vehicle in range(vehicles):
        tour: list[int] = []
        index = solution.Value(model.NextVar(model.Start(vehicle)))
        while not model.IsEnd(index):
            tour.append(nodes[manager.IndexToNode(index)])
            index = solution.Value(model.NextVar(index))
        if tour:
            tours.append(tour)
    return tours, status
