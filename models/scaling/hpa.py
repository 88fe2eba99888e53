"""The Kubernetes Horizontal Pod Autoscaler rule, as its documentation states it.

Sources (docs/PARAMETERS.md, "Cloud"): Kubernetes documentation, "Horizontal Pod
Autoscaling", section "Algorithm details" (desired = ceil(current x current metric /
target), tolerance 0.1, not-yet-ready pods, stabilisation window, default behaviour),
and the replica calculator it describes (kubernetes/kubernetes,
pkg/controller/podautoscaler/replica_calculator.go and horizontal.go).

One node of the cluster plays the part of one pod; the metric is CPU utilisation of the
ready nodes over the last sync period.
"""

from __future__ import annotations

import math
from collections import deque
from typing import ClassVar

from pydantic import Field

from twin.cloud import ScalingAction, ScalingObservation
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams

SCALE_UP_PODS_PER_PERIOD = 4
"""Default scale-up policy: add at most max(4 pods, 100% of current) per 15 s period."""
SCALE_UP_PERCENT_PER_PERIOD = 100


def replica_recommendation(obs: ScalingObservation, target: float, tolerance: float) -> int:
    """The replica calculator: the replica count the metric asks for, before stabilising.

    Ready nodes carry the metric. Without nodes still starting, the answer is
    ``ceil(ready x utilisation / target)``, or the current count when the ratio
    ``utilisation / target`` is within ``tolerance`` of 1. With starting (not yet ready)
    nodes, a scale-up counts them as 0% busy and a scale-down leaves them out; if that
    flips the direction or lands within the tolerance, the count stays. No metric (no
    ready node in the window) keeps the current count.
    """
    current = obs.current_nodes
    ready = obs.ready_nodes
    utilisation = obs.utilisation
    if ready == 0 or math.isnan(utilisation):
        return current
    ratio = utilisation / target
    if obs.starting_nodes == 0:
        if abs(1.0 - ratio) <= tolerance:
            return current
        return math.ceil(ratio * ready)
    if ratio > 1.0:
        counted = ready + obs.starting_nodes
        new_ratio = utilisation * ready / (target * counted)
    else:
        counted = ready
        new_ratio = ratio
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current
    desired = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and desired > current) or (new_ratio > 1.0 and desired < current):
        return current
    return desired


class Stabiliser:
    """Scale-down stabilisation: the highest recommendation within the last window.

    A recommendation is kept with its time; a scale-down goes no lower than the highest
    recommendation made in the last ``window_s`` seconds (strictly after ``now -
    window_s``), the current one included. A scale-up is not delayed (the default
    scale-up window is 0 s).
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._history: deque[tuple[float, int]] = deque()

    def stabilise(self, now_s: float, recommendation: int, current: int) -> int:
        cutoff = now_s - self.window_s
        while self._history and not self._history[0][0] > cutoff:
            self._history.popleft()
        highest = max([recommendation, *(r for _, r in self._history)])
        self._history.append((now_s, recommendation))
        if recommendation >= current:
            return recommendation
        return min(current, highest)


def rate_limited(desired: int, current: int) -> int:
    """The default scale-up limit: max(current + 4, 2 x current) per 15 s period."""
    limit = max(
        current + SCALE_UP_PODS_PER_PERIOD,
        current + math.ceil(current * SCALE_UP_PERCENT_PER_PERIOD / 100),
    )
    return min(desired, limit)


class HpaParams(PolicyParams):
    target_utilisation: float = Field(
        default=0.5, gt=0, le=1, description="target CPU utilisation of the ready nodes"
    )
    tolerance: float = Field(default=0.1, ge=0, lt=1, description="no change within 1 +- this")
    scale_down_stabilisation_s: float = Field(
        default=300.0, ge=0, description="scale-down uses the highest recommendation this long"
    )
    rate_limits: bool = Field(
        default=True, description="apply the default scale-up limit (max(+4, +100%) per 15 s)"
    )


class Hpa(BasePolicy[ScalingObservation, ScalingAction]):
    """Kubernetes HPA on CPU utilisation: the replica calculator, the 300 s scale-down
    stabilisation window, the default scale-up rate limit, then the min/max clamp."""

    id: ClassVar[str] = "scaling/hpa-v0"
    domain: ClassVar[str] = "cloud.scaling"
    description: ClassVar[str] = "baseline: Kubernetes HPA rule (tolerance 0.1, 300 s down window)"
    Params = HpaParams
    params: HpaParams

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self.stabiliser = Stabiliser(self.params.scale_down_stabilisation_s)

    def act(self, obs: ScalingObservation) -> ScalingAction:
        return ScalingAction(self.desired_nodes(obs))

    def desired_nodes(self, obs: ScalingObservation) -> int:
        """The HPA's node count for ``obs`` (also used by policies built on it)."""
        params = self.params
        current = obs.current_nodes
        recommendation = replica_recommendation(obs, params.target_utilisation, params.tolerance)
        desired = self.stabiliser.stabilise(obs.now_s, recommendation, current)
        if params.rate_limits and desired > current:
            desired = rate_limited(desired, current)
        return min(max(desired, obs.min_nodes), obs.max_nodes)
