"""The HPA baseline against hand-computed sequences of the Kubernetes rule.

Each expected value below is worked out by hand from the documented algorithm:
desired = ceil(ready x utilisation / target), no change within a 10% tolerance, not-yet-
ready pods counted as 0% on a scale-up and left out on a scale-down, scale-down to the
highest recommendation of the last 300 s, scale-up at most max(+4, +100%) per period,
then the min/max clamp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.scaling.hpa import Hpa, HpaParams, replica_recommendation
from twin.cloud import ScalingAction, ScalingObservation
from twin.core.policy import PolicyContext


def obs(
    now_s: float = 0.0,
    *,
    ready: int,
    starting: int = 0,
    utilisation: float,
    min_nodes: int = 1,
    max_nodes: int = 100,
) -> ScalingObservation:
    return ScalingObservation(
        now_s=now_s,
        sync_period_s=15.0,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        current_nodes=ready + starting,
        ready_nodes=ready,
        starting_nodes=starting,
        workers_per_node=4,
        cold_start_s=100.0,
        utilisation=utilisation,
        queue_lengths=(0,) * ready,
        arrival_rates_per_s=(),
        hour_of_day=0.0,
        carbon_intensity=0.4,
        carbon_forecast=(0.4,) * 24,
        deferred=(),
    )


def hpa(**params) -> Hpa:
    policy = Hpa(HpaParams(**params))
    policy.reset(PolicyContext("cloud/diurnal-v0", np.random.default_rng(0), {}))
    return policy


@pytest.mark.parametrize(
    ("ready", "starting", "utilisation", "expected"),
    [
        (4, 0, 0.90, 8),  # ratio 1.8: ceil(4 x 1.8) = ceil(7.2) = 8
        (4, 0, 0.54, 4),  # ratio 1.08, inside the tolerance
        (4, 0, 0.55, 5),  # 0.55 / 0.5 = 1.1000000000000003 in float64, as in the
        # controller: just over the tolerance, so ceil(4.4) = 5
        (4, 0, 0.56, 5),  # ratio 1.12: ceil(4.48) = 5
        (4, 0, 0.44, 4),  # ratio 0.88, outside the tolerance, but ceil(3.52) = 4
        (10, 0, 0.10, 2),  # ratio 0.2: ceil(2.0) = 2
        (2, 2, 0.90, 4),  # unready at 0%: 0.9 x 2 / (0.5 x 4) = 0.9 reverses the direction
        (2, 2, 1.00, 4),  # 1.0 x 2 / (0.5 x 4) = 1.0, inside the tolerance
        (3, 1, 1.00, 6),  # 1.0 x 3 / (0.5 x 4) = 1.5: ceil(1.5 x 4) = 6
        (4, 2, 0.20, 2),  # scale-down leaves starting nodes out: ceil(0.4 x 4) = 2
        (0, 3, math.nan, 3),  # no ready node, no metric: no change
    ],
)
def test_replica_calculator(ready, starting, utilisation, expected):
    observation = obs(ready=ready, starting=starting, utilisation=utilisation)
    assert replica_recommendation(observation, 0.5, 0.1) == expected


def test_scale_down_waits_for_the_highest_recommendation_of_the_last_300_s():
    policy = hpa()
    # t = 0: 4 nodes at 90% -> 8.
    assert policy.act(obs(0.0, ready=4, utilisation=0.9)) == ScalingAction(8)
    # Then 8 nodes at 20%: each epoch recommends ceil(8 x 0.4) = 4, but the 8 of t = 0
    # is within the window until t = 300 (the window holds times strictly after t - 300).
    for now in np.arange(15.0, 300.0, 15.0):
        assert policy.act(obs(float(now), ready=8, utilisation=0.2)).desired_nodes == 8, now
    assert policy.act(obs(300.0, ready=8, utilisation=0.2)).desired_nodes == 4


def test_scale_down_goes_to_the_highest_recent_recommendation_not_the_lowest():
    policy = hpa()
    policy.act(obs(0.0, ready=10, utilisation=0.5))  # ratio 1: recommends 10
    assert policy.act(obs(15.0, ready=10, utilisation=0.36)).desired_nodes == 10  # rec 8
    assert policy.act(obs(30.0, ready=10, utilisation=0.16)).desired_nodes == 10  # rec 4
    # At 300 s the 10 of t = 0 has left the window; the highest left is the 8 of t = 15.
    assert policy.act(obs(300.0, ready=10, utilisation=0.16)).desired_nodes == 8
    # At 315 s only recommendations of 4 remain.
    assert policy.act(obs(315.0, ready=10, utilisation=0.16)).desired_nodes == 4


def test_scale_up_is_immediate_and_rate_limited():
    # ratio 1.0 / 0.1 = 10: ceil(2 x 10) = 20, limited to max(2 + 4, 2 x 2) = 6.
    policy = hpa(target_utilisation=0.1)
    assert policy.act(obs(0.0, ready=2, utilisation=1.0, max_nodes=50)) == ScalingAction(6)
    # From 10 nodes: ceil(10 x 1.0 / 0.3) = 34, limited to max(14, 20) = 20.
    policy = hpa(target_utilisation=0.3)
    assert policy.act(obs(0.0, ready=10, utilisation=1.0, max_nodes=50)).desired_nodes == 20
    policy = hpa(target_utilisation=0.1, rate_limits=False)
    assert policy.act(obs(0.0, ready=2, utilisation=1.0, max_nodes=50)).desired_nodes == 20


def test_min_and_max_clamp_the_result():
    assert hpa().act(obs(ready=4, utilisation=0.9, max_nodes=6)).desired_nodes == 6
    assert hpa().act(obs(ready=4, utilisation=0.05, min_nodes=3)).desired_nodes == 3


def test_tolerance_and_window_are_parameters():
    assert hpa(tolerance=0.0).act(obs(ready=4, utilisation=0.54)).desired_nodes == 5
    policy = hpa(scale_down_stabilisation_s=0.0)
    policy.act(obs(0.0, ready=4, utilisation=0.9))
    assert policy.act(obs(15.0, ready=8, utilisation=0.2)).desired_nodes == 4
