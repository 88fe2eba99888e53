"""Baseline: periodic-review (s, S), called min-max in industry: order up to S only when
the inventory position has fallen to s."""

from __future__ import annotations

import math
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
from twin.supply.observation import NO_ORDER, ReplenishmentAction, ReplenishmentObservation


class MinMaxParams(PolicyParams):
    service_level: float = Field(default=0.95, gt=0.5, lt=1.0, description="target cycle service")
    window_days: int = Field(default=28, ge=2, le=3650, description="days of history used")
    reorder_point: int | None = Field(default=None, ge=0, description="a fixed s")
    order_up_to: int | None = Field(default=None, ge=0, description="a fixed S (with s)")


class MinMax(BasePolicy[ReplenishmentObservation, ReplenishmentAction]):
    """(s, S) with ``s = mu * P + z * sigma_P`` and ``S = s + EOQ``.

    The reorder point covers the protection interval at the target service level; the
    order quantity is the economic order quantity ``sqrt(2 K mu / h)`` from the site's
    order cost ``K`` and holding cost ``h`` (Silver, Pyke and Thomas 2017, sec. 7.7), at
    least one review period of demand. With no order cost it is base stock.
    """

    id: ClassVar[str] = "replenishment/min-max-v0"
    domain: ClassVar[str] = "supply.replenishment"
    description: ClassVar[str] = "baseline: (s, S), normal reorder point, EOQ lot size"
    Params = MinMaxParams
    params: MinMaxParams

    def levels(self, obs: ReplenishmentObservation) -> tuple[float, float]:
        """The reorder point s and order-up-to level S at this review."""
        p = self.params
        if p.reorder_point is not None:
            top = p.order_up_to if p.order_up_to is not None else p.reorder_point
            return float(p.reorder_point), float(max(top, p.reorder_point))
        days = protection_days(obs)
        mean, std = daily_mean_and_std(obs.demand_history, p.window_days, obs.review_period_days)
        spread = protection_std(std, mean, days, obs.lead_time_std_days)
        reorder = mean * days + safety_factor(p.service_level) * spread
        holding = obs.holding_cost_per_unit_day
        eoq = math.sqrt(2 * obs.order_cost * mean / holding) if holding > 0 else 0.0
        return reorder, reorder + max(eoq, mean * obs.review_period_days)

    def act(self, obs: ReplenishmentObservation) -> ReplenishmentAction:
        reorder, top = self.levels(obs)
        if obs.inventory_position > reorder:
            return NO_ORDER
        return ReplenishmentAction(order_up_to(obs, top))
