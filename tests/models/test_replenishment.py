"""Replenishment rules: base stock and min-max by their textbook formulas, the forecaster
by what it must learn from history alone (weekday shape, promotion lift, price)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from models.replenishment.base_stock import BaseStock, BaseStockParams
from models.replenishment.forecast import ForecastDriven
from models.replenishment.forecasting import fit_and_forecast
from models.replenishment.min_max import MinMax, MinMaxParams
from models.replenishment.planning import daily_mean_and_std, protection_days
from twin.supply.kit import replenishment_edge_cases
from twin.supply.observation import ReplenishmentObservation

BASE = replenishment_edge_cases()[0]


def obs(**changes) -> ReplenishmentObservation:
    return BASE._replace(**changes)


@pytest.mark.parametrize(
    ("review", "lead", "days"), [(1, 0.05, 1), (1, 2.05, 3), (7, 14.1, 21), (2, 0.4, 2)]
)
def test_the_protection_interval_counts_the_customer_noons_before_the_next_receipt(
    review, lead, days
):
    assert protection_days(obs(review_period_days=review, lead_time_mean_days=lead)) == days


def test_base_stock_orders_up_to_mean_plus_normal_safety_stock():
    rng = np.random.default_rng(0)
    history = tuple(float(x) for x in rng.poisson(30, 28))
    mean, std = float(np.mean(history)), float(np.std(history, ddof=1))
    o = obs(demand_history=history, lead_time_mean_days=2.05, on_hand=40, inventory_position=40)
    level = 3 * mean + NormalDist().inv_cdf(0.95) * std * math.sqrt(3)
    policy = BaseStock()
    assert policy.level(o) == pytest.approx(level)
    assert policy.act(o).order_units == math.ceil(level - 40)


def test_base_stock_never_orders_a_negative_amount_and_a_fixed_level_overrides():
    o = obs(demand_history=(20.0,) * 28, on_hand=500, inventory_position=500)
    assert BaseStock().act(o).order_units == 0
    fixed = BaseStock(BaseStockParams(order_up_to=75))
    assert fixed.act(obs(inventory_position=-5)).order_units == 80


def test_lumpy_weekly_orders_are_measured_per_review_period():
    # A DC reviewing weekly sees its store's 70-unit order every seventh day: steady demand
    # of 10 a day, no spread, however lumpy the daily series looks.
    history = tuple(70.0 if d % 7 == 6 else 0.0 for d in range(28))
    assert daily_mean_and_std(history, 28, 7) == pytest.approx((10.0, 0.0))
    assert daily_mean_and_std(history, 28, 1)[1] > 20


def test_min_max_waits_above_the_reorder_point_and_lots_by_eoq():
    history = (20.0,) * 28
    policy = MinMax()
    o = obs(demand_history=history, order_cost=50.0, holding_cost_per_unit_day=0.02)
    reorder, top = policy.levels(o)
    assert reorder == pytest.approx(20.0)  # one day of demand, no spread
    assert top - reorder == pytest.approx(math.sqrt(2 * 50.0 * 20.0 / 0.02))  # EOQ 316
    assert policy.act(o._replace(inventory_position=21)).order_units == 0
    assert policy.act(o._replace(inventory_position=20)).order_units == math.ceil(top - 20)
    fixed = MinMax(MinMaxParams(reorder_point=10, order_up_to=50))
    assert fixed.act(o._replace(inventory_position=11)).order_units == 0
    assert fixed.act(o._replace(inventory_position=10)).order_units == 40


def weekly_promoted_history(days: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = np.array([0.8, 0.8, 0.9, 1.0, 1.2, 1.5, 0.8])
    promoted = rng.random(days) < 0.15
    prices = np.where(promoted, 8.0, 10.0)
    mean = 40.0 * shape[np.arange(days) % 7] * (prices / 10.0) ** -2.5
    demand = rng.poisson(mean).astype(float)
    return tuple(demand), tuple(prices.tolist()), tuple(promoted.tolist()), shape


def test_the_forecaster_learns_the_week_and_the_promotion_lift_from_history_alone():
    demand, prices, promoted, shape = weekly_promoted_history(112)
    forecast = fit_and_forecast(
        demand, 112, 7, prices=prices, promotions=promoted, window_days=112, ridge=0.1
    )
    expected = 40.0 * shape[np.arange(112, 119) % 7]
    assert np.allclose(forecast.daily, expected, rtol=0.15)
    assert 4.0 < forecast.error_std < 9.0  # Poisson noise of ~40 a day is ~6.3
    planned = fit_and_forecast(
        demand,
        112,
        7,
        prices=prices,
        promotions=promoted,
        price_plan=(8.0,) * 7,
        promotion_plan=(True,) * 7,
        window_days=112,
        ridge=0.1,
    )
    lift = sum(planned.daily) / sum(forecast.daily)
    assert 1.4 < lift < 2.1  # (8 / 10) ** -2.5 = 1.75


def test_an_upstream_forecast_is_made_per_review_period_not_per_lumpy_day():
    # Orders of 70 every seventh day, growing by 7 a week: 10 a day and rising.
    history = tuple(70.0 + 7.0 * (d // 7) if d % 7 == 6 else 0.0 for d in range(56))
    forecast = fit_and_forecast(history, 56, 14, period_days=7, trend_damping=1.0)
    assert forecast.error_std == pytest.approx(0.0, abs=1e-9)
    assert forecast.daily[0] == pytest.approx((70.0 + 7 * 8) / 7)
    assert forecast.daily[13] > forecast.daily[0]
    daily = fit_and_forecast(history, 56, 14)  # the same stream taken day by day
    assert daily.error_std > 5.0


def test_the_forecast_policy_stocks_up_before_a_planned_promotion():
    demand, prices, promoted, _ = weekly_promoted_history(91, seed=3)
    o = obs(
        day=91,
        demand_history=demand,
        price_history=prices,
        promotion_history=promoted,
        price_plan=(10.0,) * 28,
        promotion_plan=(False,) * 28,
        lead_time_mean_days=2.0,
    )
    policy = ForecastDriven()
    regular = policy.act(o).order_units
    promo = policy.act(o._replace(price_plan=(8.0,) * 28, promotion_plan=(True,) * 28))
    assert promo.order_units > 1.4 * regular


def test_every_policy_answers_the_edge_cases_with_a_finite_non_negative_order():
    for policy in (BaseStock(), MinMax(), ForecastDriven()):
        for case in replenishment_edge_cases():
            units = policy.act(case).order_units
            assert isinstance(units, int)
            assert 0 <= units <= 10**9
