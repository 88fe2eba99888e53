"""Baseline: a fixed number of nodes, whatever the load."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from twin.cloud import ScalingAction, ScalingObservation
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams


class StaticParams(PolicyParams):
    nodes: int | None = Field(
        default=None, ge=1, description="nodes to run; the scenario's initial nodes when omitted"
    )


class Static(BasePolicy[ScalingObservation, ScalingAction]):
    """Static provisioning: run ``nodes`` nodes (clamped to the cluster's [min, max])."""

    id: ClassVar[str] = "scaling/static-v0"
    domain: ClassVar[str] = "cloud.scaling"
    description: ClassVar[str] = "baseline: a fixed node count (static provisioning)"
    Params = StaticParams
    params: StaticParams

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self.nodes: int | None = self.params.nodes or context.info.get("initial_nodes")

    def act(self, obs: ScalingObservation) -> ScalingAction:
        nodes = self.nodes if self.nodes is not None else obs.current_nodes
        return ScalingAction(min(max(nodes, obs.min_nodes), obs.max_nodes))
