"""The supply twin against inventory theory: the newsvendor, base stock with Poisson
lead-time demand, and the bullwhip effect of order-up-to with a moving-average forecast.

Each analytic figure must fall inside a 99% confidence interval over independent
replications (t with n - 1 degrees of freedom).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from scipy import stats

from twin.core.run import RunResult, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY

SEEDS = range(1, 7)
DEMAND_PER_DAY = 20.0
HOLDING = 20.0 * 0.25 / 365  # the single-echelon store's holding cost per unit-day


def store_network(**store: Any) -> dict[str, Any]:
    """The single-echelon network with the store's settings replaced."""
    return {
        "sites": [
            {"name": "supplier", "kind": "supplier"},
            {
                "name": "store",
                "kind": "retailer",
                "source": "supplier",
                "distance_km": 40.0,
                "trucks": 0,
                "demand": {"base_per_day": DEMAND_PER_DAY},
                **store,
            },
        ]
    }


def run(params: dict[str, Any], order_up_to: int, seed: int, days: int, warmup_days: int):
    config = ScenarioConfig(
        id="supply/single-echelon-v0",
        params=params,
        horizon_s=days * SECONDS_PER_DAY,
        warmup_s=warmup_days * SECONDS_PER_DAY,
    )
    return simulate(
        config, "replenishment/base-stock-v0", seed, policy_params={"order_up_to": order_up_to}
    )


def confidence_interval(samples: list[float], level: float = 0.99) -> tuple[float, float]:
    values = np.asarray(samples)
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def poisson_expectations(mean: float, level: int) -> tuple[float, float]:
    """E[(level - D)+] and E[(D - level)+] for D ~ Poisson(mean)."""
    k = np.arange(0, int(mean + 20 * np.sqrt(mean) + 50))
    p = stats.poisson.pmf(k, mean)
    return float(np.sum(np.maximum(level - k, 0) * p)), float(np.sum(np.maximum(k - level, 0) * p))


# -- the newsvendor: one day of stock, lost sales, leftovers scrapped ------------------------

UNDERAGE = 3.0  # lost margin per unit short
OVERAGE = 1.0  # written off per unit left over
NEWSVENDOR = store_network(
    lead_time={"kind": "deterministic", "value": 0.0},
    lost_sales=True,
    shelf_life_days=1,
    shortage_cost_per_unit=UNDERAGE,
    obsolescence_cost_per_unit=OVERAGE,
    holding_cost_per_unit_day=0.0,
)
NEWSVENDOR_DAYS = 301


def newsvendor_cost(level: int) -> float:
    over, under = poisson_expectations(DEMAND_PER_DAY, level)
    return OVERAGE * over + UNDERAGE * under


def newsvendor_day_costs(level: int) -> list[float]:
    costs = []
    for seed in SEEDS:
        kpis = run(NEWSVENDOR, level, seed, NEWSVENDOR_DAYS, 1).kpis
        costs.append((kpis["cost_shortage"].value + kpis["cost_obsolescence"].value) / 300)
    return costs


def test_the_newsvendor_critical_fractile_is_the_cheapest_stock_and_costs_what_theory_says():
    ratio = UNDERAGE / (UNDERAGE + OVERAGE)
    best = int(stats.poisson.ppf(ratio, DEMAND_PER_DAY))
    assert best == 23
    costs = {level: newsvendor_day_costs(level) for level in (best - 4, best, best + 4)}
    for level, samples in costs.items():
        low, high = confidence_interval(samples)
        assert low <= newsvendor_cost(level) <= high, (level, low, newsvendor_cost(level), high)
    # Common random numbers: every level sees the same demand, so the differences pair.
    for level in (best - 4, best + 4):
        extra = np.subtract(costs[level], costs[best])
        assert confidence_interval(list(extra))[0] > 0, (level, extra)


# -- base stock: daily review, two-day lead time, backorders -------------------------------

BACKORDER = 0.5
BASE_STOCK = store_network(
    lead_time={"kind": "deterministic", "value": 2 * SECONDS_PER_DAY},
    shortage_cost_per_unit=BACKORDER,
    holding_cost_per_unit_day=HOLDING,
    initial_on_hand=60,
)
BASE_STOCK_DAYS = 410
BASE_STOCK_WARMUP = 10


@pytest.fixture(scope="module")
def base_stock_runs() -> tuple[int, list[RunResult]]:
    # What arrives by the end of day t was ordered by day t - 2: the level S must cover
    # three days of demand, Poisson(60), and the critical ratio b / (b + h).
    level = int(stats.poisson.ppf(BACKORDER / (BACKORDER + HOLDING), 3 * DEMAND_PER_DAY))
    runs = [run(BASE_STOCK, level, seed, BASE_STOCK_DAYS, BASE_STOCK_WARMUP) for seed in SEEDS]
    return level, runs


def test_base_stock_cycle_service_level_and_fill_rate_match_poisson_lead_time_demand(
    base_stock_runs,
):
    level, runs = base_stock_runs
    assert level == 75
    cycle_service = stats.poisson.cdf(level, 3 * DEMAND_PER_DAY)
    _, short_3 = poisson_expectations(3 * DEMAND_PER_DAY, level)
    _, short_2 = poisson_expectations(2 * DEMAND_PER_DAY, level)
    fill_rate = 1 - (short_3 - short_2) / DEMAND_PER_DAY
    csl = confidence_interval([r.kpis["cycle_service_level"].value for r in runs])
    fill = confidence_interval([r.kpis["fill_rate"].value for r in runs])
    assert csl[0] <= cycle_service <= csl[1], (csl, cycle_service)
    assert fill[0] <= fill_rate <= fill[1], (fill, fill_rate)


def test_base_stock_reaches_the_analytic_optimal_cost(base_stock_runs):
    level, runs = base_stock_runs
    on_hand, backordered = poisson_expectations(3 * DEMAND_PER_DAY, level)
    optimal = HOLDING * on_hand + BACKORDER * backordered
    days = BASE_STOCK_DAYS - BASE_STOCK_WARMUP
    per_day = [(r.kpis["cost_holding"].value + r.kpis["cost_shortage"].value) / days for r in runs]
    low, high = confidence_interval(per_day)
    assert low <= optimal <= high, (low, optimal, high)


# -- the beer game: bullwhip -------------------------------------------------------------


def stationary_beer_game(cases_per_week: float) -> dict[str, Any]:
    """The beer game without the week-5 step: Poisson demand around a constant mean, every
    stage starting with five weeks of it, so what is measured is the stationary effect."""
    from twin.supply.config import BeerGameParams

    sites = BeerGameParams().model_dump(mode="json")["sites"]
    for site in sites:
        if site["kind"] != "supplier":
            site["initial_on_hand"] = round(5 * cases_per_week)
        if site["demand"] is not None:
            site["demand"].update(step_day=None, base_per_day=cases_per_week / 7)
    return {"sites": sites}


@pytest.mark.slow
def test_beer_game_order_variance_grows_upstream_under_order_up_to_with_forecasting():
    # Lee, Padmanabhan and Whang (1997); Chen et al. (2000): a moving-average forecast
    # feeding order-up-to levels amplifies the variance of orders at every stage.
    config = ScenarioConfig(
        id="supply/beer-game-v0",
        params=stationary_beer_game(40.0),
        horizon_s=728 * SECONDS_PER_DAY,
        warmup_s=112 * SECONDS_PER_DAY,
    )
    for seed in (1, 2, 3):
        kpis = simulate(config, "replenishment/base-stock-v0", seed).kpis
        ratios = [kpis[f"bullwhip_echelon_{e}"].value for e in range(1, 5)]
        assert ratios[0] > 1.0, ratios
        assert all(a < b for a, b in itertools.pairwise(ratios)), ratios


def test_the_retailer_amplifies_at_least_as_much_as_chen_et_al_bound():
    # Chen, Drezner, Ryan and Simchi-Levi (2000), Management Science 46(3): with a
    # p-period moving average and lead time L (here L = 3 weeks: 2 of delay + 1 of
    # review, p = 4 weekly buckets of the 28-day window) Var(q) / Var(D) is at least
    # 1 + 2L/p + 2L^2/p^2 = 3.625 when the mean alone is estimated; estimating the
    # spread as well only adds variance.
    bound = 1 + 2 * 3 / 4 + 2 * 9 / 16
    config = ScenarioConfig(
        id="supply/beer-game-v0",
        params=stationary_beer_game(8.0),
        horizon_s=728 * SECONDS_PER_DAY,
        warmup_s=112 * SECONDS_PER_DAY,
    )
    ratios = [
        simulate(config, "replenishment/base-stock-v0", seed).kpis["bullwhip_echelon_1"].value
        for seed in SEEDS
    ]
    low, high = confidence_interval(ratios)
    assert high >= bound, (low, high, bound)
