"""Predictive scaling: forecast the load one cold start ahead and provision for it now.

The arrival rate of the coming windows is forecast by Holt's linear exponential
smoothing (level and trend; Holt 1957, reprinted in *Int. J. Forecasting* 20(1), 2004)
over the observed per-window rates; the work per request is learned from the CPU
metric. The node count is the larger of what the forecast needs at the target
utilisation and what the HPA replica calculator asks for now (so a surprise the
forecast misses is still met), with the HPA's scale-down stabilisation window.
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from models.scaling.hpa import Stabiliser, replica_recommendation
from twin.cloud import ScalingAction, ScalingObservation
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams


def holt_forecast(rates: tuple[float, ...], steps: int, alpha: float, beta: float) -> float:
    """Holt's linear method: the rate ``steps`` windows after the last one (>= 0)."""
    if not rates:
        return 0.0
    level = rates[0]
    trend = rates[1] - rates[0] if len(rates) > 1 else 0.0
    for rate in rates[1:]:
        previous = level
        level = alpha * rate + (1.0 - alpha) * (level + trend)
        trend = beta * (level - previous) + (1.0 - beta) * trend
    return max(0.0, level + steps * trend)


class PredictiveParams(PolicyParams):
    target_utilisation: float = Field(default=0.5, gt=0, le=1)
    tolerance: float = Field(default=0.1, ge=0, lt=1)
    alpha: float = Field(default=0.3, gt=0, le=1, description="Holt level smoothing")
    beta: float = Field(default=0.05, ge=0, le=1, description="Holt trend smoothing")
    history_windows: int = Field(default=40, ge=2, description="past windows the forecast fits")
    work_smoothing: float = Field(
        default=0.1, gt=0, le=1, description="EWMA weight of a new work-per-request estimate"
    )
    scale_down_stabilisation_s: float = Field(default=300.0, ge=0)


class Predictive(BasePolicy[ScalingObservation, ScalingAction]):
    """Provision for the load forecast one cold start plus one sync period ahead."""

    id: ClassVar[str] = "scaling/predictive-v0"
    domain: ClassVar[str] = "cloud.scaling"
    description: ClassVar[str] = "Holt forecast one cold start ahead, floored by the HPA rule"
    Params = PredictiveParams
    params: PredictiveParams

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self.work_per_request_s = math.nan
        self.stabiliser = Stabiliser(self.params.scale_down_stabilisation_s)

    def act(self, obs: ScalingObservation) -> ScalingAction:
        params = self.params
        rates = obs.arrival_rates_per_s[-params.history_windows :]
        self._learn_work(obs, rates)
        reactive = replica_recommendation(obs, params.target_utilisation, params.tolerance)
        desired = reactive
        if rates and not math.isnan(self.work_per_request_s):
            steps = math.ceil((obs.cold_start_s + obs.sync_period_s) / obs.sync_period_s)
            rate = holt_forecast(tuple(rates), steps, params.alpha, params.beta)
            capacity_s = obs.workers_per_node * params.target_utilisation
            needed = rate * self.work_per_request_s / capacity_s
            if math.isfinite(needed):  # a rate near zero can make the estimate overflow
                desired = max(desired, math.ceil(needed))
        desired = self.stabiliser.stabilise(obs.now_s, desired, obs.current_nodes)
        return ScalingAction(min(max(desired, obs.min_nodes), obs.max_nodes))

    def _learn_work(self, obs: ScalingObservation, rates: tuple[float, ...]) -> None:
        """Work per request = busy worker-seconds per second / requests per second."""
        if not rates or rates[-1] <= 0 or obs.ready_nodes == 0 or math.isnan(obs.utilisation):
            return
        estimate = obs.utilisation * obs.ready_nodes * obs.workers_per_node / rates[-1]
        if not math.isfinite(estimate):  # a subnormal rate: no information about the work
            return
        if math.isnan(self.work_per_request_s):
            self.work_per_request_s = estimate
        else:
            weight = self.params.work_smoothing
            self.work_per_request_s += weight * (estimate - self.work_per_request_s)
