"""Every installed scenario is a Gymnasium and a PettingZoo environment that passes the
libraries' own checkers (the issue's "check_env / parallel_api_test / seed_test on all
scenarios")."""

from __future__ import annotations

from typing import Any

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test, parallel_seed_test

import twin.rl
from twin.core.run import default_registry
from twin.rl.env import TwinEnv
from twin.rl.episode import env_id
from twin.rl.parallel import TwinParallelEnv
from twin.traffic.sumo_tools import resco_configs

REGISTRY = default_registry()
SCENARIOS = [entry.id for entry in REGISTRY.scenarios()]
PARAMS: dict[str, dict[str, Any]] = {
    # The one scenario without a default world: RESCO's grid, as sumo-rl ships it.
    "traffic/sumo-net-v0": {
        "sumocfg": str(resco_configs()["grid4x4"]),
        "adaptive_green_s": [5.0, 50.0],
    }
}
CHECK_HORIZON_S = 86_400.0
"""A day: every scenario's deciders decide several times in it (supply sites review daily)."""
FEW_CYCLES = 60
"""Parallel steps of the PettingZoo checkers (each resolves one decision)."""


def horizon(scenario: str) -> float:
    domain = REGISTRY.domain(REGISTRY.scenario(scenario).domain)
    return min(CHECK_HORIZON_S, max(domain.checks_for(scenario).horizon_s, 900.0)) * (
        3 if scenario.startswith("supply/") else 1
    )


def kwargs(scenario: str) -> dict[str, Any]:
    return {"params": PARAMS.get(scenario, {}), "horizon_s": horizon(scenario)}


def test_every_registered_scenarios_decision_area_has_a_learning_interface() -> None:
    without = [
        s
        for s in SCENARIOS
        if REGISTRY.domain(REGISTRY.scenario(s).domain).area(REGISTRY.scenario(s).domain).learning
        is None
    ]
    assert without == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_gymnasium_make_passes_the_env_checker(scenario: str) -> None:
    assert twin.rl.TwinEnv is TwinEnv
    env = gymnasium.make(env_id(scenario), **kwargs(scenario))
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parallel_env_passes_parallel_api_test(scenario: str) -> None:
    env = TwinParallelEnv(scenario, **kwargs(scenario))
    try:
        parallel_api_test(env, num_cycles=FEW_CYCLES)
    finally:
        env.close()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_parallel_env_passes_seed_test(scenario: str) -> None:
    parallel_seed_test(lambda: TwinParallelEnv(scenario, **kwargs(scenario)), FEW_CYCLES)


def test_gymnasium_imports_twin_itself_given_the_module_prefix() -> None:
    env = gymnasium.make("twin.rl:twin/station-mmc-v0", horizon_s=3_600.0)
    try:
        observation, info = env.reset(seed=1)
        assert env.observation_space.contains(observation)
        assert info["agent"] == "station"
    finally:
        env.close()
