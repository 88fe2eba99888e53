"""A region's policies: one per decision area, as one arm of an experiment.

An experiment's arm is one policy with its params; a region's arm is a policy per area.
:class:`PolicySet` is that set. It acts in ``factory.maintenance`` (the run's policy is
the plant's maintenance policy, which it hands every decision to), and the region
scenario reads the other areas' ids from its params and resolves them through the run's
registry (``world.registry``), as a plant resolves its AGV dispatcher.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from twin.core.config import policy_in_params
from twin.core.policy import Policy, PolicyContext, PolicyParams

AREAS = {
    "maintenance": "factory.maintenance",
    "dispatch": "factory.dispatch",
    "signals": "traffic.signals",
    "replenishment": "supply.replenishment",
    "transport": "supply.transport",
    "scaling": "cloud.scaling",
}
"""A region's decision areas: the key in :class:`PolicySetParams` -> the domain's area."""


class PolicySetParams(PolicyParams):
    """One policy (and its params) per decision area; the defaults are the baselines."""

    maintenance: str = "maintenance/run-to-failure-v0"
    maintenance_params: dict[str, Any] = Field(default_factory=dict)
    dispatch: str = "dispatch/nearest-idle-v0"
    dispatch_params: dict[str, Any] = Field(default_factory=dict)
    signals: str = "signals/fixed-time-v0"
    signals_params: dict[str, Any] = Field(default_factory=dict)
    replenishment: str = "replenishment/base-stock-v0"
    replenishment_params: dict[str, Any] = Field(default_factory=dict)
    transport: str = "transport/ship-now-v0"
    transport_params: dict[str, Any] = Field(default_factory=dict)
    scaling: str = "scaling/hpa-v0"
    scaling_params: dict[str, Any] = Field(default_factory=dict)

    @field_validator(*AREAS)
    @classmethod
    def _a_policy_of_its_area(cls, reference: str, info: ValidationInfo) -> str:
        assert info.field_name is not None
        policy_in_params(reference, info, AREAS[info.field_name])
        return reference

    def params_of(self, area: str) -> dict[str, Any]:
        """The params given for ``area``'s policy."""
        params: dict[str, Any] = getattr(self, f"{area}_params", {})
        return dict(params)


class PolicySet:
    """The region's policies, one per area; the plant's maintenance decisions go to the
    maintenance policy (resolved when the world is bound, in the run's registry)."""

    id: ClassVar[str] = "region/policy-set-v0"
    domain: ClassVar[str] = "factory.maintenance"
    Params = PolicySetParams

    def __init__(self, params: PolicySetParams | None = None) -> None:
        self.params = params if params is not None else PolicySetParams()
        self.maintenance: Policy[Any, Any] | None = None
        self._context: PolicyContext | None = None

    def reset(self, context: PolicyContext) -> None:
        self._context = context
        if self.maintenance is not None:
            self._reset_member(context)

    def bind(self, world: Any) -> None:
        """Resolve the maintenance policy in the run's registry and start it."""
        from twin.core.run import resolve_policy  # run builds worlds: import late

        self.maintenance = resolve_policy(
            self.params.maintenance, self.params.params_of("maintenance"), world.registry
        )
        world.add_policy(self.maintenance)  # watched with the set: a failure names the member
        if self._context is not None:
            self._reset_member(self._context)

    def _reset_member(self, context: PolicyContext) -> None:
        # The set's own stream is the member's: the set adds no randomness of its own.
        assert self.maintenance is not None
        self.maintenance.reset(context)

    def act(self, obs: Any) -> Any:
        if self.maintenance is None:
            raise RuntimeError(
                f"{self.id} acts once bound to a world (twin binds it when a run is built)"
            )
        return self.maintenance.act(obs)
