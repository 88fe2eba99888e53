"""The plant's second policy (AGV dispatch) resolves through the run's registry."""

from __future__ import annotations

from typing import ClassVar

import pytest

from models.dispatch.nearest_idle import NearestIdle
from models.maintenance.run_to_failure import RunToFailure
from twin.core.errors import ConfigError
from twin.core.registry import Registry
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.factory.observation import DispatchAction, DispatchObservation
from twin.factory.scenario import JobShop


class CountingDispatch(NearestIdle):
    """The baseline, registered under an id only the test's registry knows."""

    id: ClassVar[str] = "dispatch/counting-test-v0"
    calls: ClassVar[int] = 0

    def act(self, obs: DispatchObservation) -> DispatchAction:
        CountingDispatch.calls += 1
        return super().act(obs)


def registry_with(*policies: type) -> Registry:
    registry = Registry(discover=False)
    registry.register_scenario(JobShop)
    registry.register_policy(RunToFailure)
    for policy in policies:
        registry.register_policy(policy)
    return registry


def config(dispatch_policy: str) -> ScenarioConfig:
    return ScenarioConfig(
        id="factory/jobshop-agv-v0",
        horizon_s=4 * 3600.0,
        params={"dispatch_policy": dispatch_policy},
    )


def test_a_dispatch_policy_known_only_to_the_runs_registry_is_used() -> None:
    CountingDispatch.calls = 0
    registry = registry_with(CountingDispatch)
    result = simulate(config(CountingDispatch.id), RunToFailure.id, seed=1, registry=registry)
    assert CountingDispatch.calls > 0
    assert result.kpis["agv_deliveries"].value > 0


def test_a_dispatch_policy_missing_from_the_runs_registry_is_a_clear_error() -> None:
    # The installed entry points know nearest-idle; the run's registry does not.
    registry = registry_with()
    with pytest.raises(ConfigError, match="unknown policy 'dispatch/nearest-idle-v0'"):
        simulate(config(NearestIdle.id), RunToFailure.id, seed=1, registry=registry)
