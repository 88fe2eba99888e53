"""What every replenishment rule here shares: the protection interval, demand estimates
from the observed history, safety stock from a normal approximation, the order itself.

Nothing here reads the demand generator: estimates come from the history a site has seen.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from twin.supply.observation import MAX_ORDER_UNITS, ReplenishmentObservation

_STANDARD_NORMAL = NormalDist()


def protection_days(obs: ReplenishmentObservation) -> int:
    """Days of demand the stock ordered now must cover.

    Customers buy at noon; what is ordered at the next review arrives after
    ``review_period_days + lead_time_mean_days`` days, so the order covers every noon
    before then: ``ceil(R + L - 1/2)`` days, at least one.
    """
    lead = obs.lead_time_mean_days if math.isfinite(obs.lead_time_mean_days) else 0.0
    return max(1, math.ceil(obs.review_period_days + max(lead, 0.0) - 0.5))


def safety_factor(service_level: float) -> float:
    """The standard normal quantile of a cycle service level."""
    return _STANDARD_NORMAL.inv_cdf(service_level)


def recent(history: tuple[float, ...], window_days: int) -> list[float]:
    """The last ``window_days`` finite values of a history."""
    return [x for x in history[-window_days:] if math.isfinite(x)]


def daily_mean_and_std(
    history: tuple[float, ...], window_days: int, period_days: int
) -> tuple[float, float]:
    """Mean and standard deviation per day of the last ``window_days`` of history.

    Demand is summed over buckets of ``period_days`` (the site's review period, newest
    bucket ending yesterday) before its spread is measured: a site upstream sees its
    customers' orders once a period, and the day-to-day spread of that lumpy stream
    says nothing about the spread of a period's total. The variance of a bucket is
    scaled to a day as for independent days.
    """
    period = max(period_days, 1)
    values = recent(history, max(window_days, period))
    buckets = len(values) // period
    if buckets == 0:
        mean, _ = mean_and_std(values)
        return mean, 0.0
    used = values[len(values) - buckets * period :]
    totals = [math.fsum(used[k * period : (k + 1) * period]) for k in range(buckets)]
    mean, std = mean_and_std(totals)
    return mean / period, std / math.sqrt(period)


def mean_and_std(values: list[float]) -> tuple[float, float]:
    """Sample mean and standard deviation (0 for fewer than two values)."""
    if not values:
        return 0.0, 0.0
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = math.fsum((x - mean) ** 2 for x in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def protection_std(
    daily_std: float, daily_mean: float, days: int, lead_time_std_days: float
) -> float:
    """Standard deviation of demand over the protection interval: daily noise over
    ``days`` independent days plus the spread the lead time adds (Silver, Pyke and
    Thomas 2017, eq. 6.6 with a random lead time)."""
    lead_std = lead_time_std_days if math.isfinite(lead_time_std_days) else 0.0
    return math.sqrt(days * daily_std**2 + (daily_mean * lead_std) ** 2)


def order_up_to(obs: ReplenishmentObservation, level: float) -> int:
    """Units to order to raise the inventory position to ``level`` (never negative)."""
    if not math.isfinite(level):
        level = 0.0
    gap = math.ceil(level - obs.inventory_position - 1e-9)
    return int(min(max(gap, 0), MAX_ORDER_UNITS))
