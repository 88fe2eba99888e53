"""The CVRPTW route planner: optimal on tiny instances (brute force), dispatch waves,
its fallbacks, the kit, and routes the twin drives exactly as planned."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import models.routing.cvrptw as cvrptw
from models.routing.cvrptw import Cvrptw, CvrptwParams, plan_routes, route_cost
from twin.core.policy import PolicyContext
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.supply.kit import transport_edge_cases
from twin.supply.observation import TransportObservation, WaitingLoad, check_transport_action

BASE = transport_edge_cases()[1]


def origin(points: list[tuple[float, float]], pallets: list[int], **changes: object):
    """An origin at (0, 0) km with a part load of ``pallets[k]`` for a site at
    ``points[k]``; straight-line km, nothing due."""
    loads = tuple(
        WaitingLoad(f"s{k}", math.hypot(x, y), 40 * p, 0, 40 * p, p, 480.0 * p, 0.0, math.inf)
        for k, ((x, y), p) in enumerate(zip(points, pallets, strict=True))
    )
    road = tuple(tuple(math.hypot(a[0] - b[0], a[1] - b[1]) for b in points) for a in points)
    obs = BASE._replace(
        destination="s0", waiting=loads, road_km=road, trucks_total=len(points), **changes
    )
    return obs


def brute_force_cost(obs: TransportObservation) -> float:
    """The cheapest set of tours: every partition of the stops into truckloads, each
    tour in its best order."""
    n = len(obs.waiting)
    best = math.inf

    def tour_km(order: tuple[int, ...]) -> float:
        path = [None, *order, None]
        return sum(
            obs.waiting[b].distance_km
            if a is None
            else obs.waiting[a].distance_km
            if b is None
            else obs.road_km[a][b]
            for a, b in itertools.pairwise(path)
        )

    def partitions(items: list[int]):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for smaller in partitions(rest):
            for k in range(len(smaller)):
                yield [*smaller[:k], [first, *smaller[k]], *smaller[k + 1 :]]
            yield [[first], *smaller]

    for groups in partitions(list(range(n))):
        if len(groups) > obs.trucks_total:
            continue
        if any(
            sum(obs.waiting[k].part_pallets for k in g) > obs.truck_capacity_pallets for g in groups
        ):
            continue
        km = sum(min(tour_km(p) for p in itertools.permutations(g)) for g in groups)
        best = min(best, obs.truck_fixed_cost * len(groups) + obs.truck_cost_per_km * km)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_tiny_instances_are_solved_to_the_brute_force_optimum(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 7))
    points = [tuple(rng.uniform(-50, 50, 2)) for _ in range(n)]
    pallets = [int(p) for p in rng.integers(1, 12, n)]
    obs = origin(points, pallets, truck_capacity_pallets=20)
    plan = plan_routes(obs, CvrptwParams())
    assert plan.planned_cost == pytest.approx(brute_force_cost(obs), rel=1e-6)
    assert check_transport_action(cvrptw.TransportAction(True, plan.routes), obs, "t") is not None


def test_a_due_time_is_worth_a_detour_when_lateness_costs():
    # s0 lies on the way to s1; s1 is due before a truck could reach it via s0.
    obs = origin([(10.0, 0.0), (20.0, 0.0)], [2, 2], truck_capacity_pallets=20)
    drive_s1_s = 20.0 * 1.0 / 60.0 * SECONDS_PER_HOUR  # 20 km at 60 km/h
    due = obs.waiting[1]._replace(due_s=obs.now_s + 900.0 + 240.0 + drive_s1_s + 60.0)
    urgent = obs._replace(waiting=(obs.waiting[0], due))
    relaxed = plan_routes(urgent, CvrptwParams(lateness_cost_per_h=0.0))
    assert [r.stops for r in relaxed.routes] in ([("s0", "s1")], [("s1", "s0")])
    strict = plan_routes(urgent, CvrptwParams(lateness_cost_per_h=10_000.0))
    assert [r.stops for r in strict.routes] == [("s1", "s0")]
    assert route_cost(strict.routes[0], urgent, 10_000.0) == strict.planned_cost


def test_planned_arrivals_follow_loading_driving_and_unloading():
    obs = origin([(30.0, 40.0)], [3], truck_capacity_pallets=20)  # 50 km away
    (route,) = plan_routes(obs, CvrptwParams()).routes
    assert route.stops == ("s0",)
    assert route.planned_km == 100.0
    assert route.planned_arrivals_s == (900.0 + 3 * 60.0 + 50.0 / 60.0 * SECONDS_PER_HOUR,)


def policy(**params: object) -> Cvrptw:
    chosen = Cvrptw(CvrptwParams(**params))
    chosen.reset(PolicyContext("test", np.random.default_rng(0)))
    return chosen


def test_a_wave_leaves_when_a_load_is_old_the_trucks_fill_or_an_order_is_nearly_due():
    obs = origin([(10.0, 0.0), (0.0, 10.0)], [2, 2], truck_capacity_pallets=20)
    planner = policy(max_wait_s=8 * SECONDS_PER_HOUR, fill_target=0.5)
    assert planner.act(obs).ship is False  # 4 of 20 pallets, nothing old, nothing due
    old = obs.waiting[1]._replace(oldest_wait_s=8 * SECONDS_PER_HOUR)
    assert planner.act(obs._replace(waiting=(obs.waiting[0], old))).ship is True
    assert planner.act(obs._replace(truck_capacity_pallets=8)).ship is True  # half full
    soon = obs.waiting[0]._replace(due_s=2 * SECONDS_PER_HOUR)
    assert planner.act(obs._replace(waiting=(soon, obs.waiting[1]))).ship is True
    action = planner.act(obs._replace(truck_capacity_pallets=8))
    assert {stop for route in action.routes for stop in route.stops} == {"s0", "s1"}
    assert action.fallback == ""


def test_an_infeasible_plan_falls_back_to_ship_now_with_one_warning():
    # Two part loads of 3 pallets, trucks of 4 pallets, a fleet of one truck.
    obs = origin([(10.0, 0.0), (0.0, 10.0)], [3, 3], truck_capacity_pallets=4)._replace(
        trucks_total=1, oldest_wait_s=SECONDS_PER_DAY
    )
    planner = policy(max_wait_s=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action = planner.act(obs)
        planner.act(obs)  # the same reason again: no second line
    assert len(caught) == 1
    assert "no feasible route plan" in str(caught[0].message)
    assert "ship-now" in str(caught[0].message)
    assert action.fallback.startswith("no feasible route plan")
    assert [r.stops for r in action.routes] == [("s0",), ("s1",)]  # each on its own truck


def test_a_missing_solver_falls_back_to_ship_now(monkeypatch: pytest.MonkeyPatch):
    def missing() -> None:
        raise ImportError("No module named 'ortools'")

    monkeypatch.setattr(cvrptw, "_ortools", missing)
    obs = origin([(10.0, 0.0), (0.0, 10.0)], [3, 3])
    with pytest.warns(RuntimeWarning, match="OR-Tools is not installed"):
        action = policy(max_wait_s=0.0).act(obs)
    assert action.fallback.startswith("OR-Tools is not installed")
    assert [r.stops for r in action.routes] == [("s0",), ("s1",)]


def test_a_time_limit_without_a_solution_falls_back_to_ship_now():
    rng = np.random.default_rng(3)
    points = [tuple(rng.uniform(-50, 50, 2)) for _ in range(300)]
    obs = origin(points, [1] * 300, truck_capacity_pallets=33)
    with pytest.warns(RuntimeWarning, match="time limit"):
        action = policy(max_wait_s=0.0, time_limit_s=0.001).act(obs)
    assert action.fallback.startswith("no route plan within the time limit")
    assert len(action.routes) == 300


@pytest.mark.slow
def test_the_planner_passes_the_policy_kit(check_policy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the kit's one-truck fleet falls back
        report = check_policy("transport/cvrptw-v0", max_examples=10)
    assert report.ok


def regional(horizon_days: int, **params: object) -> ScenarioConfig:
    from twin.supply.config import regional_sites

    sites = [s.model_dump(mode="json") for s in regional_sites(dcs=2, retailers_per_dc=6)]
    for site in sites:
        if site["trucks"]:
            site["trucks"] = 50
    return ScenarioConfig(
        id="supply/regional-v0",
        horizon_s=horizon_days * SECONDS_PER_DAY,
        params={"sites": sites, "transport_policy": "transport/cvrptw-v0", **params},
    )


def test_without_disturbances_the_twin_drives_the_planned_km_and_arrives_on_plan():
    from twin.core.run import prepare_run
    from twin.supply.network import SupplyNetwork

    run = prepare_run(regional(21), "replenishment/base-stock-v0", seed=4)
    run.world.run(21 * SECONDS_PER_DAY)
    network = run.world.the(SupplyNetwork)
    routes = network.transport_checks.route_km
    assert len(routes) > 20
    assert any(len(stops) > 1 for stops, _, _ in routes)  # tours, not only direct trips
    assert all(planned == driven for _, planned, driven in routes)  # to the bit
    kpis = run.result(wall_s=0.0).kpis
    assert kpis["route_arrival_delay_mean_h"].value == pytest.approx(0.0, abs=1e-9)
    assert kpis["route_arrival_deviation_mean_h"].value == pytest.approx(0.0, abs=1e-9)
    assert kpis["route_late_stops_share"].value == kpis["route_late_stops_planned_share"].value
    assert kpis["planned_route_km"].value == pytest.approx(kpis["routed_km"].value, rel=1e-12)
    assert kpis["transport_plan_fallbacks"].value == 0.0


def test_the_same_seed_gives_the_same_routes():
    first = simulate(regional(10), "replenishment/base-stock-v0", seed=9)
    again = simulate(regional(10), "replenishment/base-stock-v0", seed=9)
    assert {k: v.value for k, v in first.kpis.items()} == pytest.approx(
        {k: v.value for k, v in again.kpis.items()}, nan_ok=True, rel=0, abs=0
    )


ROUTING_BATCH = """
name = "routing batch"
seed = 11

[[scenarios]]
id = "twin.supply.scenario:RegionalTransport"
horizon_s = 864_000

[scenarios.params]
truck = { travel_time_cv = 0.3 }

[[arms]]
name = "ship-now"
policy = "transport/ship-now-v0"

[[arms]]
name = "cvrptw"
policy = "transport/cvrptw-v0"

[replications]
count = 2
"""


@pytest.mark.slow
def test_a_batch_of_routing_runs_is_byte_identical_in_one_process_and_in_a_pool(tmp_path):
    import filecmp

    from experiments.runner import run_experiment

    config = tmp_path / "routing.toml"
    config.write_text(ROUTING_BATCH)
    run_experiment(config, tmp_path / "inprocess", executor="inprocess", report=False)
    run_experiment(config, tmp_path / "pool", executor="process", workers=2, report=False)
    assert filecmp.cmp(tmp_path / "inprocess/kpis.parquet", tmp_path / "pool/kpis.parquet", False)
