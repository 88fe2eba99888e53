"""Hypothesis strategies for your own property tests, from the same kits the checkers use.

from hypothesis import given
from twin.testing import strategies

@given(strategies.observations("conveyor"), strategies.seeds())  # examples/conveyor
def test_my_rule(obs, seed): ...
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from twin.core.run import default_registry
from twin.testing.kits import policy_kit, scenario_kit
from twin.testing.scenarios import SEEDS


def seeds() -> st.SearchStrategy[int]:
    """Root seeds of runs (``twin run --seed`` accepts them); shrink towards 0."""
    return SEEDS


def observations(domain: str) -> st.SearchStrategy[Any]:
    """Observations a policy of ``domain`` may be shown: generated ones and the domain's
    edge cases (empty queues, machines down, sensor dropouts and NaNs...)."""
    kit = policy_kit(domain)
    edge_cases = list(kit.edge_cases())
    generated = kit.observations()
    return st.one_of(st.sampled_from(edge_cases), generated) if edge_cases else generated


def observation_streams(domain: str, max_size: int = 20) -> st.SearchStrategy[list[Any]]:
    """Sequences of observations, as a stateful policy meets them between two resets."""
    return st.lists(observations(domain), min_size=1, max_size=max_size)


def scenario_params(scenario_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """Small valid ``params`` of a registered scenario (its defaults when twin has no kit
    for it): small plants and stations a run of a few seconds can exercise."""
    cls = default_registry().scenario(scenario_id)
    return scenario_kit(cls.id, cls.domain).params()
