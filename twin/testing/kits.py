"""What the checkers need to know about a domain, read from the domain's contract.

A policy is checked against its :class:`~twin.core.domain.DecisionArea` (observations
with edge cases, the rule its actions obey, a short run to try it in); a scenario against
its domain's invariants and :class:`~twin.core.domain.ScenarioChecks`. Every registered
domain (``twin.domains`` entry point) has them: the checkers name no domain. A user may
still pass an ad-hoc kit (``PolicyKit``, ``ScenarioKit``) for a domain they are writing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from twin.core.domain import DecisionArea
from twin.core.policy import Policy
from twin.core.registry import Registry, UnknownIdError
from twin.core.run import default_registry
from twin.core.scenario import Scenario
from twin.core.world import World

PolicyKit = DecisionArea
"""How to test a policy of one decision area without knowing the policy."""

Invariants = Callable[[Scenario[Any], World], list[str]]
"""The violations of a scenario's invariants in a world (empty when all hold)."""


def _no_params() -> st.SearchStrategy[dict[str, Any]]:
    return st.just({})


def _nothing_broken(scenario: Scenario[Any], world: World) -> list[str]:
    return []


@dataclass(frozen=True)
class ScenarioKit:
    """How to property-test one scenario.

    Attributes:
        params: a strategy for the scenario's ``params`` mapping (small, valid plants,
            stations, grids...); the default params only when nothing varies.
        horizon_s: how long each generated run lasts.
        invariants: checked at every ``check_period_s`` of every run and at its end.
        check_period_s: simulated seconds between invariant checks.
    """

    params: Callable[[], st.SearchStrategy[dict[str, Any]]] = field(default=_no_params)
    horizon_s: float = 86_400.0
    invariants: Invariants = field(default=_nothing_broken)
    check_period_s: float = 600.0


def policy_kit(area: str, registry: Registry | None = None) -> DecisionArea:
    """The decision area ``area`` (a policy's ``domain``) of a registered domain."""
    registry = registry if registry is not None else default_registry()
    try:
        return registry.domain(area).area(area)
    except (UnknownIdError, KeyError) as error:
        raise KeyError(
            f"no registered domain decides {area!r} ({error}); register your domain through "
            "the 'twin.domains' entry point, or pass kit=PolicyKit(...)"
        ) from None


def scenario_kit(scenario_id: str, area: str, registry: Registry | None = None) -> ScenarioKit:
    """How to check a scenario: its domain's invariants and its own checks (params,
    horizon, check period); no invariants for a scenario of an unregistered domain."""
    registry = registry if registry is not None else default_registry()
    try:
        domain = registry.domain(area)
    except UnknownIdError:
        return ScenarioKit()
    checks = domain.checks_for(scenario_id)

    def invariants(scenario: Scenario[Any], world: World) -> list[str]:
        return domain.check_world(world)

    invariants.__qualname__ = f"{domain.name}.invariants"
    return ScenarioKit(
        params=checks.params if checks.params is not None else _no_params,
        horizon_s=checks.horizon_s,
        invariants=invariants,
        check_period_s=checks.check_period_s,
    )


def policy_reference(policy: Policy[Any, Any]) -> str:
    """How a config names ``policy``: its registered id when the registry maps that id to
    its class, else ``package.module:Class``."""
    cls = type(policy)
    try:
        registered = default_registry().policy(cls.id)
    except UnknownIdError:
        registered = None
    if registered is cls:
        return cls.id
    return f"{cls.__module__}:{cls.__qualname__}"
