"""Customer demand at the retailers: trend, weekly and yearly seasons, price, promotions.

All retailers are drawn together, one day at a time, so each day costs two numpy calls
whatever the network's size, and the draws do not depend on any policy (common random
numbers across policy arms).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from twin.supply.config import DemandSpec

FloatArray = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.0
DAYS_PER_WEEK = 7


class DemandModel:
    """Daily demand of ``len(specs)`` retailers.

    Args:
        specs: one demand table per retailer.
        demand_rng: the stream demand noise is drawn from (``supply.demand``).
        promotion_rng: the stream the promotion calendar is drawn from
            (``supply.promotions``).
    """

    def __init__(
        self,
        specs: Sequence[DemandSpec],
        demand_rng: np.random.Generator,
        promotion_rng: np.random.Generator,
    ) -> None:
        self.specs = list(specs)
        self._rng = demand_rng
        self._promotion_rng = promotion_rng
        self.base = np.array([s.base_per_day for s in specs])
        self.trend = np.array([s.trend_per_year for s in specs])
        weekly = np.array([s.weekly for s in specs], dtype=np.float64).reshape(len(specs), 7)
        self.weekly = weekly / weekly.mean(axis=1, keepdims=True)
        self.amplitude = np.array([s.yearly_amplitude for s in specs])
        self.peak_day = np.array([s.yearly_peak_day for s in specs])
        self.price = np.array([s.price for s in specs])
        self.elasticity = np.array([s.price_elasticity for s in specs])
        self.promotion_probability = np.array([s.promotion_probability for s in specs])
        self.discount = np.array([s.promotion_discount for s in specs])
        self.lift = np.array([s.promotion_lift for s in specs])
        self.notice_days = max((s.promotion_notice_days for s in specs), default=0)
        self.step_day = np.array([math.inf if s.step_day is None else s.step_day for s in specs])
        self.step_factor = np.array([s.step_factor for s in specs])
        # Poisson retailers get an infinite shape: their gamma mixing weight is exactly 1.
        self.shape = np.array(
            [s.dispersion if s.noise == "negative_binomial" else math.inf for s in specs]
        )
        self._mixed = np.isfinite(self.shape)
        self._promotion_weeks: list[npt.NDArray[np.bool_]] = []

    def promoted(self, day: int) -> npt.NDArray[np.bool_]:
        """Which retailers run a promotion on ``day`` (whole weeks, drawn week by week)."""
        week = day // DAYS_PER_WEEK
        while len(self._promotion_weeks) <= week:
            draws = self._promotion_rng.random(len(self.specs))
            self._promotion_weeks.append(draws < self.promotion_probability)
        return self._promotion_weeks[week]

    def shelf_price(self, day: int) -> FloatArray:
        """Each retailer's price on ``day``: regular, or discounted in a promotion week."""
        return np.where(self.promoted(day), self.price * (1.0 - self.discount), self.price)

    def mean(self, day: int) -> FloatArray:
        """Expected demand of each retailer on ``day``."""
        promoted = self.promoted(day)
        price = np.where(promoted, self.price * (1.0 - self.discount), self.price)
        season = 1.0 + self.amplitude * np.cos(
            2.0 * math.pi * (day - self.peak_day) / DAYS_PER_YEAR
        )
        growth = np.maximum(1.0 + self.trend * day / DAYS_PER_YEAR, 0.0)
        step = np.where(day >= self.step_day, self.step_factor, 1.0)
        result: FloatArray = (
            self.base
            * growth
            * step
            * self.weekly[:, day % DAYS_PER_WEEK]
            * season
            * (price / self.price) ** self.elasticity
            * np.where(promoted, self.lift, 1.0)
        )
        return result

    def draw(self, day: int) -> npt.NDArray[np.int64]:
        """One day's demand of every retailer (units)."""
        mean = self.mean(day)
        # Negative binomial as a gamma-Poisson mixture; every retailer draws its gamma
        # so the stream advances the same way whatever the mix of noise models.
        shape = np.where(self._mixed, self.shape, 1.0)
        weight = self._rng.gamma(shape, 1.0 / shape)
        rate = np.where(self._mixed, mean * weight, mean)
        demand: npt.NDArray[np.int64] = self._rng.poisson(rate).astype(np.int64)
        return demand
