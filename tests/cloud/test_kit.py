"""The cloud kit: its observations are clusters that can exist, and it catches bad policies."""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
from hypothesis import given, settings

from twin.cloud import ScalingAction, ScalingObservation, check_scaling_action
from twin.cloud.kit import scaling_edge_cases
from twin.core.policy import BasePolicy, InvalidActionError
from twin.testing import CheckFailed, check_policy, strategies


@settings(max_examples=80)
@given(strategies.observations("cloud.scaling"))
def test_scaling_observations_are_clusters_that_can_exist(obs):
    assert obs.min_nodes <= obs.current_nodes <= obs.max_nodes
    assert obs.ready_nodes + obs.starting_nodes == obs.current_nodes
    assert len(obs.queue_lengths) == obs.ready_nodes
    if obs.ready_nodes == 0:
        assert math.isnan(obs.utilisation)
    assert len(obs.carbon_forecast) == 24
    deadlines = [deadline for _, deadline in obs.deferred]
    assert deadlines == sorted(deadlines)


def test_the_edge_cases_cover_what_the_issue_names():
    cases = scaling_edge_cases()
    assert any(o.utilisation == 0.0 for o in cases)  # zero load
    assert any(o.ready_nodes == 0 and o.starting_nodes > 0 for o in cases)  # all starting
    assert any(o.current_nodes == o.max_nodes for o in cases)  # at max
    assert any(math.isnan(o.utilisation) for o in cases)  # no metric
    assert any(o.arrival_rates_per_s and max(o.arrival_rates_per_s) >= 1e6 for o in cases)


class AlwaysOneMore(BasePolicy[ScalingObservation, ScalingAction]):
    """Broken on purpose: asks for a node more than the cluster may run when at max."""

    id: ClassVar[str] = "broken/one-more-v0"
    domain: ClassVar[str] = "cloud.scaling"

    def act(self, obs: ScalingObservation) -> ScalingAction:
        return ScalingAction(obs.current_nodes + 1)


def test_a_policy_breaking_the_action_rule_is_caught():
    with pytest.raises(CheckFailed, match=r"outside \[min_nodes, max_nodes\]"):
        check_policy(AlwaysOneMore(), max_examples=20, run=False)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (ScalingAction(2.0), "desired_nodes must be an int"),  # type: ignore[arg-type]
        (ScalingAction(True), "desired_nodes must be an int"),
        (ScalingAction(2, -1), "release_deferred must be None or an int >= 0"),
        ((2, None), "expected ScalingAction"),
    ],
)
def test_the_action_rule_refuses_non_integer_counts_and_negative_releases(action, message):
    obs = scaling_edge_cases()[0]
    with pytest.raises(InvalidActionError, match=message):
        check_scaling_action(action, obs, "test/v0")
