"""A demand forecaster fitted online from the history a site has seen.

Ridge regression of daily demand on a level, a local trend, the day of the week, the
promotion flag and the log of the price relative to the regular price, over a moving
window. It learns weekly shape, promotion lift and price response from the run itself:
nothing is read from the demand generator. The residual standard deviation (with the
degrees-of-freedom correction) is the forecast's own error, used for safety stock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class Forecast:
    """Daily forecasts from today on, and the standard deviation of one day's error."""

    daily: tuple[float, ...]
    error_std: float


def _design(
    days: FloatArray,
    weekday: npt.NDArray[np.int64],
    promotion: FloatArray | None,
    log_price: FloatArray | None,
    scale_days: float,
) -> FloatArray:
    columns = [np.ones_like(days), days / scale_days]
    columns += [(weekday == k).astype(np.float64) for k in range(1, DAYS_PER_WEEK)]
    if promotion is not None and log_price is not None:
        columns += [promotion, log_price]
    return np.column_stack(columns)


def fit_and_forecast(
    demand: tuple[float, ...],
    today: int,
    horizon_days: int,
    *,
    prices: tuple[float, ...] = (),
    promotions: tuple[bool, ...] = (),
    price_plan: tuple[float, ...] = (),
    promotion_plan: tuple[bool, ...] = (),
    window_days: int = 56,
    ridge: float = 1.0,
    trend_damping: float = 0.5,
    period_days: int = 1,
) -> Forecast:
    """Fit on the last ``window_days`` of ``demand`` (ending yesterday) and forecast
    ``horizon_days`` from ``today``.

    Args:
        demand: daily demand, oldest first, the last value is yesterday's.
        today: the day number of today (gives the weekday of every day).
        horizon_days: days to forecast, today included.
        prices, promotions: the shelf price and promotion flag on the days of
            ``demand`` (empty when the site has none: upstream sites).
        price_plan, promotion_plan: the same, known from today on; beyond them the
            regular price (the most common in the window) and no promotion.
        window_days: how much history to fit on.
        ridge: L2 penalty on every coefficient but the level (keeps short windows sane).
        trend_damping: share of the fitted trend carried into the future.
        period_days: a site that sees demand once a period (upstream sites see their
            customers' orders at their reviews) is fitted on period totals, with level
            and trend alone: the day-to-day pattern of such a stream is the customers'
            review calendar, not demand. The forecast is spread evenly over the days.
    """
    if period_days > 1:
        return _forecast_by_period(demand, horizon_days, period_days, window_days, trend_damping)
    values = np.asarray(demand[-window_days:], dtype=np.float64)
    n = len(values)
    values = np.where(np.isfinite(values), values, 0.0)
    if n == 0:
        return Forecast((0.0,) * horizon_days, 0.0)
    first_day = today - n
    past_days = np.arange(first_day, today, dtype=np.float64)
    future_days = np.arange(today, today + horizon_days, dtype=np.float64)
    with_price = len(prices) >= n and len(promotions) >= n
    promo_past = promo_future = log_price_past = log_price_future = None
    if with_price:
        past_prices = np.asarray(prices[-n:], dtype=np.float64)
        regular = _regular_price(past_prices)
        log_price_past = np.log(np.clip(past_prices / regular, 1e-3, 1e3))
        promo_past = np.asarray(promotions[-n:], dtype=np.float64)
        planned = min(len(price_plan), len(promotion_plan), horizon_days)
        future_prices = np.full(horizon_days, regular)
        future_prices[:planned] = np.asarray(price_plan[:planned], dtype=np.float64)
        log_price_future = np.log(np.clip(future_prices / regular, 1e-3, 1e3))
        promo_future = np.zeros(horizon_days)
        promo_future[:planned] = np.asarray(promotion_plan[:planned], dtype=np.float64)
    scale = max(float(n), 1.0)
    x = _design(
        past_days - today, past_days.astype(np.int64) % 7, promo_past, log_price_past, scale
    )
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0
    # Solve (X'X + diag(penalty)) b = X'y; the penalty keeps it solvable for any n.
    gram = x.T @ x + np.diag(penalty)
    try:
        coef = np.linalg.solve(gram, x.T @ values)
    except np.linalg.LinAlgError:
        coef = np.zeros(x.shape[1])
        coef[0] = float(values.mean())
    residual = values - x @ coef
    dof = max(n - x.shape[1], 1)
    error_std = float(math.sqrt(float(residual @ residual) / dof)) if n > 1 else 0.0
    coef_future = coef.copy()
    coef_future[1] *= trend_damping
    x_future = _design(
        future_days - today,
        future_days.astype(np.int64) % 7,
        promo_future,
        log_price_future,
        scale,
    )
    daily = np.maximum(x_future @ coef_future, 0.0)
    if not np.all(np.isfinite(daily)):
        daily = np.full(horizon_days, float(values.mean()))
    return Forecast(tuple(daily.tolist()), error_std if math.isfinite(error_std) else 0.0)


def _regular_price(prices: FloatArray) -> float:
    """The most common price in a window: the shelf price outside promotions."""
    finite = prices[np.isfinite(prices) & (prices > 0)]
    if finite.size == 0:
        return 1.0
    values, counts = np.unique(finite, return_counts=True)
    return float(values[int(np.argmax(counts))])


def _forecast_by_period(
    demand: tuple[float, ...],
    horizon_days: int,
    period_days: int,
    window_days: int,
    trend_damping: float,
) -> Forecast:
    """Level and trend fitted on totals of ``period_days`` (the newest ending yesterday),
    per day; the error of one day is the period's error over ``sqrt(period_days)``."""
    values = np.asarray(demand[-max(window_days, period_days) :], dtype=np.float64)
    values = np.where(np.isfinite(values), values, 0.0)
    buckets = len(values) // period_days
    if buckets == 0:
        mean = float(values.mean()) if len(values) else 0.0
        return Forecast((mean,) * horizon_days, 0.0)
    totals = values[len(values) - buckets * period_days :].reshape(buckets, period_days).sum(1)
    if buckets < 3:
        per_day = float(totals.mean()) / period_days
        return Forecast((per_day,) * horizon_days, 0.0)
    age = np.arange(buckets, dtype=np.float64) - buckets  # -buckets .. -1, next bucket is 0
    x = np.column_stack([np.ones(buckets), age])
    coef, *_ = np.linalg.lstsq(x, totals, rcond=None)
    residual = totals - x @ coef
    error = math.sqrt(float(residual @ residual) / (buckets - 2)) / math.sqrt(period_days)
    ahead = (np.arange(horizon_days, dtype=np.float64) / period_days) * trend_damping
    daily = np.maximum(coef[0] + coef[1] * ahead, 0.0) / period_days
    if not np.all(np.isfinite(daily)):
        daily = np.full(horizon_days, float(totals.mean()) / period_days)
    return Forecast(tuple(daily.tolist()), error if math.isfinite(error) else 0.0)
