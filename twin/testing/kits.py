"""What the checkers need to know about a domain, and where they find it.

A :class:`PolicyKit` knows a policy domain's observations (with the edge cases a policy
must survive), the rule its actions obey, and a small run to exercise a policy in. A
:class:`ScenarioKit` knows a scenario's parameters worth varying, its invariants and a
short horizon. The kits of twin's own domains are listed here; a third-party domain
passes its own kit to the checkers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from twin.core.policy import Policy
from twin.core.scenario import Scenario, ScenarioConfig
from twin.core.world import World

Invariants = Callable[[Scenario[Any], World], list[str]]
"""The violations of a domain's invariants in a world (empty when all hold)."""


@dataclass(frozen=True)
class PolicyKit:
    """How to test a policy of one domain without knowing the policy.

    Attributes:
        domain: the policy domain (``Policy.domain``), e.g. ``"factory.maintenance"``.
        observations: a strategy for valid observations, edge cases included.
        edge_cases: observations every policy must answer, tried before generated ones.
        check_action: ``(action, obs, policy_id)`` -> raises
            :class:`~twin.core.policy.InvalidActionError` when the domain would refuse it.
        run_config: ``(policy reference)`` -> the scenario config and the policy (id or
            reference) of a short run in which the policy decides; the policy being
            checked is run in place of ``None``.
        context_info: the facts a run gives the policy at reset
            (``PolicyContext.info``); the run scenario's ``policy_info()`` when ``None``.
    """

    domain: str
    observations: Callable[[], st.SearchStrategy[Any]]
    edge_cases: Callable[[], Sequence[Any]]
    check_action: Callable[[object, Any, str], object]
    run_config: Callable[[str], tuple[ScenarioConfig, str | None]]
    context_info: Callable[[], dict[str, Any]] | None = None


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

    params: Callable[[], st.SearchStrategy[dict[str, Any]]] = field(default=lambda: st.just({}))
    horizon_s: float = 86_400.0
    invariants: Invariants = field(default=lambda scenario, world: [])
    check_period_s: float = 600.0


def policy_kit(domain: str) -> PolicyKit:
    """The kit of one of twin's policy domains; a clear error for any other."""
    kits = _policy_kits()
    if domain not in kits:
        raise KeyError(
            f"no policy kit for domain {domain!r}; twin knows {', '.join(sorted(kits))}; "
            "pass kit=PolicyKit(...) for your own domain"
        )
    return kits[domain]


def scenario_kit(scenario_id: str, domain: str) -> ScenarioKit:
    """The kit for a scenario: its own, else its domain's invariants over default params."""
    from twin.testing import cloud, station, supply, traffic

    by_id: dict[str, ScenarioKit] = {
        **station.SCENARIO_KITS,
        **_factory_scenario_kits(),
        **traffic.SCENARIO_KITS,
        **supply.SCENARIO_KITS,
        **cloud.SCENARIO_KITS,
    }
    if scenario_id in by_id:
        return by_id[scenario_id]
    by_domain: dict[str, Invariants] = {
        **station.INVARIANTS,
        "factory.maintenance": _factory_invariants,
        **traffic.INVARIANTS,
        **supply.INVARIANTS,
        **cloud.INVARIANTS,
    }
    if domain in by_domain:
        return ScenarioKit(invariants=by_domain[domain])
    return ScenarioKit()


def policy_reference(policy: Policy[Any, Any]) -> str:
    """How a config names ``policy``: its registered id when the registry maps that id to
    its class, else ``package.module:Class``."""
    from twin.core.registry import UnknownIdError
    from twin.core.run import default_registry

    cls = type(policy)
    try:
        registered = default_registry().policy(cls.id)
    except UnknownIdError:
        registered = None
    if registered is cls:
        return cls.id
    return f"{cls.__module__}:{cls.__qualname__}"


def _policy_kits() -> dict[str, PolicyKit]:
    # Imported here, not at module level, so importing the registry of kits does not
    # import every domain (and their Numba kernels) before one is needed.
    from twin.factory.domain import DOMAIN as FACTORY
    from twin.testing import cloud, station, supply, traffic

    factory = tuple(
        PolicyKit(
            domain=area.name,
            observations=area.observations,
            edge_cases=area.edge_cases,
            check_action=area.check_action,
            run_config=area.run_config,
            context_info=area.context_info,
        )
        for area in FACTORY.areas
    )
    kits = (station.ADMISSION, *factory, traffic.SIGNALS)
    kits += (supply.REPLENISHMENT, supply.TRANSPORT)
    kits += (cloud.SCALING,)
    return {kit.domain: kit for kit in kits}


# The factory describes itself in twin.factory.domain; until these kits are generated
# from every registered domain, its kits are built from that description here.
def _factory_invariants(scenario: Scenario[Any], world: World) -> list[str]:
    from twin.factory.domain import DOMAIN

    return DOMAIN.check_world(world)


def _factory_scenario_kits() -> dict[str, ScenarioKit]:
    from twin.factory.domain import DOMAIN

    kits: dict[str, ScenarioKit] = {}
    for scenario_id, checks in DOMAIN.scenario_checks.items():
        kit = ScenarioKit(
            horizon_s=checks.horizon_s,
            invariants=_factory_invariants,
            check_period_s=checks.check_period_s,
        )
        if checks.params is not None:
            kit = ScenarioKit(
                params=checks.params,
                horizon_s=checks.horizon_s,
                invariants=_factory_invariants,
                check_period_s=checks.check_period_s,
            )
        kits[scenario_id] = kit
    return kits
