"""Min-cost AGV assignment: optimal against brute force, a batch window that closes on
time, its fallback to nearest-idle, the kit, and empty metres driven as assigned."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import models.dispatch.assignment as assignment
from models.dispatch.assignment import AssignmentParams, MinCostAssignment, assign, costs
from tests.factory.test_agv import deliveries, fleet_on, line
from twin.core.policy import PolicyContext
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_HOUR
from twin.factory.kit import _grid_layout
from twin.factory.observation import AgvView, DispatchObservation, TransportRequest

LAYOUT = _grid_layout(6, 6)  # 10 m aisles, charger at n0_0


def fleet(now_s: float, requests: list[tuple[str, str, float]], agvs: list[str]):
    views = tuple(
        TransportRequest(k, a, b, at, LAYOUT.distance_m(a, b))
        for k, (a, b, at) in enumerate(requests)
    )
    vehicles = tuple(AgvView(k, node, True, 1.0, math.inf, "idle") for k, node in enumerate(agvs))
    return DispatchObservation(now_s, views, vehicles, LAYOUT)


def policy(**params: object) -> MinCostAssignment:
    chosen = MinCostAssignment(AssignmentParams(**params))
    chosen.reset(PolicyContext("test", np.random.default_rng(0)))
    return chosen


@pytest.mark.parametrize("seed", range(10))
def test_the_matching_is_the_brute_force_optimum(seed: int):
    rng = np.random.default_rng(seed)
    nodes = LAYOUT.nodes
    n_requests, n_agvs = (int(x) for x in rng.integers(1, 6, 2))
    requests = [
        (
            nodes[rng.integers(len(nodes))],
            nodes[rng.integers(len(nodes))],
            float(rng.uniform(0, 30)),
        )
        for _ in range(n_requests)
    ]
    obs = fleet(30.0, requests, [nodes[rng.integers(len(nodes))] for _ in range(n_agvs)])
    idle = list(obs.agvs)
    params = AssignmentParams()
    pairs, planned = assign(obs, idle, params)
    matrix = costs(obs, idle, params)
    k = min(n_requests, n_agvs)
    best = min(
        sum(matrix[r, a] for r, a in zip(rows, cols, strict=True))
        for rows in itertools.permutations(range(n_requests), k)
        for cols in itertools.permutations(range(n_agvs), k)
    )
    assert len(pairs) == k
    assert planned == pytest.approx(best, abs=1e-9)


def test_an_agv_short_of_charge_pays_its_detour_through_the_charger():
    # Both AGVs 20 m from the pickup; AGV 0 cannot finish the job on its charge.
    obs = fleet(0.0, [("n2_0", "n5_0", 0.0)], ["n4_0", "n0_0"])
    short = obs.agvs[0]._replace(range_m=30.0, soc=0.1)
    obs = obs._replace(agvs=(short, obs.agvs[1]))
    assert assign(obs, list(obs.agvs), AssignmentParams()) == (((0, 1),), 20.0)


def test_old_requests_go_first_when_vehicles_are_few():
    # One AGV at n0_0; a near new request and a far one that waited 100 s.
    obs = fleet(100.0, [("n5_5", "n0_0", 0.0), ("n1_0", "n0_0", 100.0)], ["n0_0"])
    assert assign(obs, list(obs.agvs), AssignmentParams())[0] == ((0, 0),)
    no_credit = AssignmentParams(wait_credit_m_per_s=0.0)
    assert assign(obs, list(obs.agvs), no_credit)[0] == ((1, 0),)


def test_the_batch_stays_open_for_its_window_then_closes():
    planner = policy(batch_window_s=10.0)
    one = fleet(4.0, [("n1_1", "n2_2", 0.0)], ["n0_0", "n5_5"])
    action = planner.act(one)
    assert action.assignments == ()
    assert action.ask_again_in_s == 6.0  # the window of the oldest request
    assert planner.act(one._replace(now_s=10.0)).assignments == ((0, 0),)
    # As many requests as idle AGVs: nothing to wait for.
    two = fleet(4.0, [("n1_1", "n2_2", 0.0), ("n4_4", "n2_2", 3.0)], ["n0_0", "n5_5"])
    assert planner.act(two).assignments == ((0, 0), (1, 1))


def test_a_missing_solver_falls_back_to_nearest_idle(monkeypatch: pytest.MonkeyPatch):
    def missing() -> None:
        raise ImportError("No module named 'scipy'")

    monkeypatch.setattr(assignment, "_solver", missing)
    obs = fleet(10.0, [("n1_1", "n2_2", 0.0)], ["n0_0", "n5_5"])
    planner = policy(batch_window_s=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action = planner.act(obs)
        planner.act(obs)  # one line per reason and run
    assert [str(w.message) for w in caught] == [
        "dispatch/min-cost-assignment-v0 at t=10 s: SciPy is not installed; dispatching "
        "nearest-idle instead - counted in KPI agv_dispatch_fallbacks"
    ]
    assert action.assignments == ((0, 0),)
    assert action.fallback == "SciPy is not installed"


def test_an_unreachable_pickup_is_infeasible_and_falls_back(monkeypatch: pytest.MonkeyPatch):
    def unreachable(obs, idle, params):
        return np.full((len(obs.requests), len(idle)), np.inf)

    monkeypatch.setattr(assignment, "costs", unreachable)
    obs = fleet(10.0, [("n1_1", "n2_2", 0.0)], ["n0_0"])
    with pytest.warns(RuntimeWarning, match="no feasible assignment"):
        action = policy(batch_window_s=0.0).act(obs)
    assert action.fallback.startswith("no feasible assignment")
    assert action.assignments == ((0, 0),)


@pytest.mark.slow
def test_the_assignment_passes_the_policy_kit(check_policy):
    assert check_policy("dispatch/min-cost-assignment-v0", max_examples=25).ok


def jobshop(hours: float, policy_id: str, **agvs: object) -> ScenarioConfig:
    return ScenarioConfig(
        id="factory/jobshop-agv-v0",
        horizon_s=hours * SECONDS_PER_HOUR,
        params={"dispatch_policy": policy_id, "agvs": {"count": 5, "speed_mps": 1.5, **agvs}},
    )


def test_without_charging_the_agvs_drive_the_empty_metres_they_were_assigned():
    config = jobshop(8, "dispatch/min-cost-assignment-v0", consumption_kwh_per_m=0.0)
    kpis = simulate(config, "maintenance/run-to-failure-v0", seed=3).kpis
    assert kpis["agv_deliveries"].value > 100
    # Every empty trip is a trip to a pickup, on the path the assignment measured.
    assert kpis["agv_empty_km"].value == pytest.approx(kpis["agv_planned_empty_km"].value, rel=1e-9)
    assert kpis["agv_dispatch_fallbacks"].value == 0.0


def test_the_batch_timer_closes_the_window_when_nothing_else_happens():
    # One request on a line, two idle AGVs: no arrival or idle AGV will ask the policy
    # again, so only the fleet's timer can close the 10 s batch.
    layout = line(0.0, 10.0, 20.0)
    world, agvs = fleet_on(
        layout, policy(batch_window_s=10.0), count=2, speed_mps=1.0, consumption_kwh_per_m=0.0
    )
    done = deliveries(world, agvs, [(5.0, "n1", "n2", "part")])
    # Asked at 5 s, assigned at 15 s: 10 m empty from n0, 10 m loaded.
    assert done == {"part": 15.0 + 10.0 + 10.0}
    assert agvs.request_wait.mean == 10.0


def test_the_same_seed_gives_the_same_run():
    config = jobshop(4, "dispatch/min-cost-assignment-v0")
    first = simulate(config, "maintenance/run-to-failure-v0", seed=5).kpis
    again = simulate(config, "maintenance/run-to-failure-v0", seed=5).kpis
    assert {k: v.value for k, v in first.items()} == pytest.approx(
        {k: v.value for k, v in again.items()}, nan_ok=True, rel=0, abs=0
    )
