"""Carbon-aware scaling: the HPA for the nodes, and deferrable batch work held for clean hours.

Batch work (a class marked deferrable) waits in the cluster's backlog until this policy
releases it. Each epoch the policy looks at the grid's forecast intensity from now to the
oldest backlog deadline: when no hour before that deadline is cleaner than the current
one (within ``slack``), it releases the backlog spread evenly over the run of hours that
stay this clean, and adds nodes for the increase in released work at once, since the
HPA sees it only a window later. The cluster still releases any work near its deadline
by itself, so deferring never breaks a deadline. In the spirit of carbon-aware temporal
shifting (Wiesner et al., "Let's Wait Awhile", Middleware 2021; Radovanovic et al.,
"Carbon-Aware Computing for Datacenters", IEEE Trans. Power Syst. 38(2), 2023).

The forecast is the scenario's day profile itself (a perfect day-ahead forecast).
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from models.scaling.hpa import Hpa, HpaParams
from twin.cloud import ScalingAction, ScalingObservation
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.core.units import SECONDS_PER_HOUR


class CarbonAwareParams(PolicyParams):
    target_utilisation: float = Field(default=0.5, gt=0, le=1)
    tolerance: float = Field(default=0.1, ge=0, lt=1)
    scale_down_stabilisation_s: float = Field(default=300.0, ge=0)
    slack: float = Field(
        default=0.02, ge=0, le=1, description="an hour this much dirtier still counts as cleanest"
    )
    provision_for_release: bool = Field(
        default=True, description="add nodes for released batch work before the HPA sees it"
    )


class CarbonAware(BasePolicy[ScalingObservation, ScalingAction]):
    """HPA node counts; deferrable work released only in the cleanest hours before its deadline."""

    id: ClassVar[str] = "scaling/carbon-aware-v0"
    domain: ClassVar[str] = "cloud.scaling"
    description: ClassVar[str] = "HPA nodes; batch work deferred to the cleanest forecast hours"
    Params = CarbonAwareParams
    params: CarbonAwareParams

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        params = self.params
        self.hpa = Hpa(
            HpaParams(
                target_utilisation=params.target_utilisation,
                tolerance=params.tolerance,
                scale_down_stabilisation_s=params.scale_down_stabilisation_s,
            )
        )
        self.hpa.reset(context)
        means = context.info.get("service_mean_s", {})
        deferrable = context.info.get("deferrable", [])
        works = [means[name] for name in deferrable if name in means]
        self.batch_work_s = max(works) if works else math.nan
        self.previous_release = 0

    def act(self, obs: ScalingObservation) -> ScalingAction:
        desired = self.hpa.desired_nodes(obs)
        release = self.release_count(obs)
        change = release - self.previous_release
        self.previous_release = release
        feed_forward = self.params.provision_for_release and not math.isnan(self.batch_work_s)
        if feed_forward and change > 0 and not math.isnan(obs.utilisation):
            # The HPA sees released work one window late; size for the extra work now.
            busy_workers = obs.utilisation * obs.ready_nodes * obs.workers_per_node
            extra_workers = change * self.batch_work_s / obs.sync_period_s
            capacity = obs.workers_per_node * self.params.target_utilisation
            desired = max(desired, math.ceil((busy_workers + extra_workers) / capacity))
        return ScalingAction(min(max(desired, obs.min_nodes), obs.max_nodes), release)

    def release_count(self, obs: ScalingObservation) -> int:
        """Deferred requests to release now: a share of the backlog in a cleanest hour, else 0."""
        backlog = obs.deferred_requests
        if backlog == 0:
            return 0
        deadline_s = obs.deferred[0][1]
        forecast = obs.carbon_forecast
        hours_ahead = min(
            len(forecast), max(1, math.ceil((deadline_s - obs.now_s) / SECONDS_PER_HOUR))
        )
        cleanest = min(forecast[:hours_ahead])
        threshold = cleanest * (1.0 + self.params.slack)
        if obs.carbon_intensity > threshold:
            return 0
        clean_hours = 0
        while clean_hours < len(forecast) and forecast[clean_hours] <= threshold:
            clean_hours += 1
        elapsed_in_hour_s = (obs.hour_of_day % 1.0) * SECONDS_PER_HOUR
        clean_left_s = max(obs.sync_period_s, clean_hours * SECONDS_PER_HOUR - elapsed_in_hour_s)
        return math.ceil(backlog * obs.sync_period_s / clean_left_s)
