"""Baseline: periodic-review base stock (R, S) with safety stock from a normal approximation."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from models.replenishment.planning import (
    daily_mean_and_std,
    order_up_to,
    protection_days,
    protection_std,
    safety_factor,
)
from twin.core.policy import BasePolicy, PolicyParams
from twin.supply.observation import ReplenishmentAction, ReplenishmentObservation


class BaseStockParams(PolicyParams):
    service_level: float = Field(
        default=0.95, gt=0.5, lt=1.0, description="target cycle service level"
    )
    window_days: int = Field(
        default=28, ge=2, le=3650, description="days of history the demand estimate uses"
    )
    order_up_to: int | None = Field(
        default=None, ge=0, description="a fixed level S instead of the estimate (theory checks)"
    )


class BaseStock(BasePolicy[ReplenishmentObservation, ReplenishmentAction]):
    """Order up to ``S = mu * P + z * sigma_P`` at every review.

    ``P`` is the protection interval (review period plus lead time), ``mu`` and the
    daily standard deviation come from a moving window of the site's own history (a
    moving-average forecast, the textbook rule behind the bullwhip effect), and ``z``
    is the normal quantile of the target service level.
    """

    id: ClassVar[str] = "replenishment/base-stock-v0"
    domain: ClassVar[str] = "supply.replenishment"
    description: ClassVar[str] = (
        "baseline: (R, S) base stock, moving-average demand, normal safety stock"
    )
    Params = BaseStockParams
    params: BaseStockParams

    def level(self, obs: ReplenishmentObservation) -> float:
        """The order-up-to level S at this review."""
        if self.params.order_up_to is not None:
            return float(self.params.order_up_to)
        days = protection_days(obs)
        mean, std = daily_mean_and_std(
            obs.demand_history, self.params.window_days, obs.review_period_days
        )
        spread = protection_std(std, mean, days, obs.lead_time_std_days)
        return mean * days + safety_factor(self.params.service_level) * spread

    def act(self, obs: ReplenishmentObservation) -> ReplenishmentAction:
        return ReplenishmentAction(order_up_to(obs, self.level(obs)))
