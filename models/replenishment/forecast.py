"""AI: forecast-driven replenishment: order up to the forecast of the protection interval
plus safety stock sized by the forecaster's own error."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from models.replenishment.forecasting import fit_and_forecast
from models.replenishment.planning import (
    order_up_to,
    protection_days,
    protection_std,
    safety_factor,
)
from twin.core.policy import BasePolicy, PolicyParams
from twin.supply.observation import ReplenishmentAction, ReplenishmentObservation


class ForecastParams(PolicyParams):
    service_level: float = Field(
        default=0.95, gt=0.5, lt=1.0, description="target cycle service level"
    )
    window_days: int = Field(default=56, ge=7, le=3650, description="days the model is fitted on")
    min_history_days: int = Field(
        default=14, ge=2, description="below this, the mean of what is known is the forecast"
    )
    ridge: float = Field(default=1.0, ge=0, description="L2 penalty of the regression")
    trend_damping: float = Field(default=0.5, ge=0, le=1)


class ForecastDriven(BasePolicy[ReplenishmentObservation, ReplenishmentAction]):
    """Order up to ``sum(forecast over P days) + z * sigma_P``.

    The forecaster (:func:`models.replenishment.forecasting.fit_and_forecast`) is
    refitted at every review on the site's recent history, with the weekday, price and
    promotion features a retailer knows, and the promotion calendar ahead. A site that
    reviews less often than daily (upstream, where orders arrive at the customers'
    reviews) forecasts totals per review period with level and trend alone.
    """

    id: ClassVar[str] = "replenishment/forecast-v0"
    domain: ClassVar[str] = "supply.replenishment"
    description: ClassVar[str] = (
        "AI: regression forecast (weekday, price, promotion, trend) sets order-up-to levels"
    )
    Params = ForecastParams
    params: ForecastParams

    def level(self, obs: ReplenishmentObservation) -> float:
        """The order-up-to level at this review."""
        p = self.params
        days = protection_days(obs)
        history = obs.demand_history
        if len(history) < p.min_history_days:
            known = [x for x in history if math.isfinite(x)]
            mean = sum(known) / len(known) if known else 0.0
            return mean * days + safety_factor(p.service_level) * math.sqrt(days * mean)
        forecast = fit_and_forecast(
            history,
            obs.day,
            days,
            prices=obs.price_history,
            promotions=obs.promotion_history,
            price_plan=obs.price_plan,
            promotion_plan=obs.promotion_plan,
            window_days=p.window_days,
            ridge=p.ridge,
            trend_damping=p.trend_damping,
            period_days=obs.review_period_days,
        )
        expected = math.fsum(forecast.daily)
        spread = protection_std(forecast.error_std, expected / days, days, obs.lead_time_std_days)
        return expected + safety_factor(p.service_level) * spread

    def act(self, obs: ReplenishmentObservation) -> ReplenishmentAction:
        return ReplenishmentAction(order_up_to(obs, self.level(obs)))
