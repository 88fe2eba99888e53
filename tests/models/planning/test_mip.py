"""The lot-sizing MIP: the optimum of tiny instances (checked by enumeration), its plan
as releases, and the fallback to EDD when the solver cannot plan."""

from __future__ import annotations

import itertools
import logging
import math
import sys

import numpy as np
import pytest

from models.planning.mip import (
    LotSizingMip,
    LotSizingParams,
    build_model,
    greedy_buckets,
    independent_orders,
    solve,
)
from models.planning.rules import Edd
from twin.core.policy import PolicyContext
from twin.factory.observation import (
    OpenOrder,
    PlanningObservation,
    ProductPlanView,
    StationPlanView,
    check_planning_action,
)

HOUR = 3600.0
PRODUCTS = (
    ProductPlanView("A", ("cut", "finish"), (100.0, 60.0)),
    ProductPlanView("B", ("cut", "finish"), (150.0, 40.0)),
)


def _stations(setup_s: float = 600.0) -> tuple[StationPlanView, ...]:
    return (
        StationPlanView("cut", 1, 1, 1.0, setup_s, 0.0),
        StationPlanView("finish", 1, 1, 1.0, setup_s / 2, 0.0),
    )


def _observation(orders: list[OpenOrder], setup_s: float = 600.0) -> PlanningObservation:
    return PlanningObservation(0.0, 86_400.0, tuple(orders), _stations(setup_s), PRODUCTS)


def _random_orders(seed: int, count: int) -> list[OpenOrder]:
    rng = np.random.default_rng(seed)
    orders = []
    for number in range(count):
        ready = float(rng.choice([0.0, 0.5 * HOUR, 1.5 * HOUR]))
        orders.append(
            OpenOrder(
                number,
                str(rng.choice(["A", "B"])),
                int(rng.integers(3, 12)),
                ready,
                ready + float(rng.uniform(0.5, 4.0)) * HOUR,
            )
        )
    return orders


TINY = LotSizingParams(
    bucket_s=HOUR, horizon_s=4 * HOUR, load_factor=1.0, mip_rel_gap=0.0, mip_abs_gap_h=0.0
)


@pytest.mark.parametrize("seed", range(6))
def test_the_solver_finds_the_optimum_that_enumeration_finds(seed: int) -> None:
    obs = _observation(_random_orders(seed, 5))
    model = build_model(obs, TINY)
    candidates = (model.objective(b) for b in itertools.product(range(model.buckets), repeat=5))
    feasible = [value for value in candidates if value is not None]
    solution = solve(model, TINY)
    assert feasible  # every instance of these seeds has a plan (some with tardiness)
    assert solution.buckets is not None
    assert solution.mip_gap == pytest.approx(0.0, abs=1e-9)
    assert model.objective(solution.buckets) == pytest.approx(min(feasible), rel=1e-9)
    assert solution.objective == pytest.approx(min(feasible), rel=1e-6)


def test_two_orders_that_do_not_fit_one_bucket_go_by_due_date() -> None:
    # Each order is 20 parts x 100 s = 2000 s on the cutter, plus a 600 s changeover:
    # one order fills an hour's bucket, so the one due first goes first.
    orders = [OpenOrder(0, "A", 20, 0.0, 2 * HOUR), OpenOrder(1, "A", 20, 0.0, HOUR)]
    model = build_model(_observation(orders), TINY)
    solution = solve(model, TINY)
    assert solution.buckets == (1, 0)
    assert model.tardiness_s(solution.buckets) == 0.0


def test_orders_of_one_product_share_a_bucket_and_its_changeover() -> None:
    # Three small orders: A, B, A. Putting both A orders in the first hour saves a
    # changeover; the B order is due late enough to wait.
    orders = [
        OpenOrder(0, "A", 5, 0.0, HOUR),
        OpenOrder(1, "B", 5, 0.0, 3 * HOUR),
        OpenOrder(2, "A", 5, 0.0, HOUR),
    ]
    obs = _observation(orders, setup_s=1200.0)
    model = build_model(obs, TINY)
    solution = solve(model, TINY)
    assert solution.buckets is not None
    assert solution.buckets[0] == solution.buckets[2] == 0
    policy = LotSizingMip(TINY)
    action = policy.act(obs)
    releases = check_planning_action(action, obs, policy.id)
    assert [r.order for r in releases][:2] in ([0, 2], [2, 0])
    assert action.planned_tardiness_s == 0.0
    assert not action.fallback


def test_an_order_book_beyond_capacity_falls_back_to_edd_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    orders = [OpenOrder(n, "A", 500, 0.0, HOUR) for n in range(3)]  # 50,000 s each
    obs = _observation(orders)
    with caplog.at_level(logging.WARNING, logger="models.planning"):
        action = LotSizingMip(TINY).act(obs)
    assert action.fallback
    assert math.isnan(action.mip_gap)
    assert action.releases == Edd().act(obs).releases
    assert len(caplog.records) == 1
    assert "Infeasible" in caplog.records[0].getMessage()
    assert "EDD" in caplog.records[0].getMessage()


def test_a_missing_solver_falls_back_to_edd(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "highspy", None)  # import highspy raises ImportError
    obs = _observation(_random_orders(0, 4))
    with caplog.at_level(logging.WARNING, logger="models.planning"):
        action = LotSizingMip(TINY).act(obs)
    assert action.fallback
    assert "solver missing" in caplog.records[0].getMessage()


def test_a_time_limit_without_a_solution_falls_back_to_edd(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Eight orders of 1500 s of cutting, due first, then eight of 2100 s, into eight
    # one-hour buckets: only 1500 + 2100 in every bucket fits, which the greedy start (by
    # due date, earliest bucket) misses, so the solver starts with no plan, and a limit
    # that stops it at once leaves it none.
    orders = [OpenOrder(n, "A", 15 if n < 8 else 21, 0.0, (1 + n / 100) * HOUR) for n in range(16)]
    obs = _observation(orders, setup_s=0.0)
    eight_hours = TINY.model_copy(update={"horizon_s": 8 * HOUR})
    assert greedy_buckets(build_model(obs, eight_hours)) is None
    assert not LotSizingMip(eight_hours).act(obs).fallback  # given time, it plans
    stopped = eight_hours.model_copy(update={"time_limit_s": 1e-9})
    with caplog.at_level(logging.WARNING, logger="models.planning"):
        action = LotSizingMip(stopped).act(obs)
    assert action.fallback
    assert "Time limit" in caplog.records[0].getMessage()


def test_the_same_observation_gives_the_same_plan() -> None:
    obs = _observation(_random_orders(2, 12))
    params = LotSizingParams(bucket_s=HOUR, horizon_s=12 * HOUR)
    plans = []
    for _ in range(2):
        policy = LotSizingMip(params)
        policy.reset(PolicyContext("factory/orders-small-v0", np.random.default_rng(0)))
        plans.append(policy.act(obs))
    assert plans[0] == plans[1]


def test_lines_that_share_no_station_are_solved_apart_and_joined() -> None:
    products = (*PRODUCTS, ProductPlanView("C", ("press",), (100.0,)))
    stations = (*_stations(), StationPlanView("press", 1, 1, 1.0, 600.0, 0.0))
    orders = [
        *_random_orders(3, 4),
        OpenOrder(4, "C", 10, 0.0, HOUR),
        OpenOrder(5, "C", 5, 0.0, HOUR),
    ]
    obs = PlanningObservation(0.0, 86_400.0, tuple(orders), stations, products)
    model = build_model(obs, TINY)
    assert independent_orders(model) == [[0, 1, 2, 3], [4, 5]]
    joined = solve(model, TINY)
    assert joined.buckets is not None
    best = min(
        value
        for b in itertools.product(range(model.buckets), repeat=6)
        if (value := model.objective(b)) is not None
    )
    assert model.objective(joined.buckets) == pytest.approx(best, rel=1e-9)
    assert joined.mip_gap == pytest.approx(0.0, abs=1e-9)
