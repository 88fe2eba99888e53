"""How a learning agent sees, answers and is rewarded in ``cloud.scaling``
(:mod:`twin.cloud.learning`)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tests.cloud.support import poisson_class
from twin.cloud import Cluster, ScalingAction, ScalingObservation
from twin.cloud.domain import DOMAIN
from twin.cloud.kit import _observation
from twin.cloud.learning import (
    OBSERVATION_ELEMENTS,
    capacity_per_s,
    missed_requests,
    scaling_learning,
    slo_penalty,
)
from twin.core.learning import COST, LearningInterface
from twin.core.policy import BasePolicy
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig

AREA = DOMAIN.area("cloud.scaling")
LEARNING = scaling_learning()


@pytest.fixture(scope="module")
def trial():
    """The area's own trial run (ten times the small load, up to 12 nodes) for an hour
    under the HPA."""
    config, _ = AREA.run_config("scaling/hpa-v0")
    prepared = prepare_run(config, "scaling/hpa-v0", seed=3)
    prepared.world.run(3600.0)
    return prepared


@pytest.fixture(scope="module")
def overloaded():
    """One node of one worker, a queue of 5, for 10 minutes under 20 requests/s of 0.1 s
    work (twice its capacity) with a 0.2 s SLO: requests are late and dropped."""
    config = ScenarioConfig(
        id="cloud/diurnal-v0",
        horizon_s=3600.0,
        params={
            "classes": [
                {**poisson_class(20.0, {"kind": "exponential", "mean": 0.1}), "slo_s": 0.2}
            ],
            "node": {"workers": 1, "queue_capacity": 5},
            "min_nodes": 1,
            "max_nodes": 2,
        },
    )
    prepared = prepare_run(config, "scaling/static-v0", seed=1)
    prepared.world.run(600.0)
    return prepared


def cluster_of(prepared) -> Cluster:
    return prepared.world.the(Cluster)


class RandomIndices(BasePolicy[ScalingObservation, ScalingAction]):
    """What an untrained agent does: encode, pick any index, decode."""

    id = "test/random-indices"
    domain = "cloud.scaling"

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.model: Cluster | None = None
        self.seen: list[tuple[ScalingObservation, np.ndarray, ScalingAction]] = []

    def act(self, obs: ScalingObservation) -> ScalingAction:
        assert self.model is not None
        agent = AREA.entity_of(obs)
        vector = LEARNING.encode(self.model, obs)
        index = int(self.rng.integers(LEARNING.action_space(self.model, agent).n))
        action = LEARNING.decode(self.model, obs, index)
        self.seen.append((obs, vector, action))
        return action


def test_the_domain_points_at_the_interface_without_importing_it():
    interface = AREA.learning()
    assert isinstance(interface, LearningInterface)
    assert interface.default_reward == "cost-slo"
    assert set(interface.rewards) == {"cost-slo", "cost", "carbon"}
    assert interface.rewards["cost"] is COST
    code = (
        "import sys, twin.cloud.domain\n"
        "assert 'twin.cloud.learning' not in sys.modules\n"
        "assert 'gymnasium' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_one_agent_is_the_cluster_as_entity_of_names_it(trial):
    cluster = cluster_of(trial)
    assert LEARNING.agents(cluster) == ("cluster",)
    assert AREA.entity_of(AREA.edge_cases()[0]) == "cluster"
    assert LEARNING.agents(cluster)[0] == AREA.entity_of(cluster._last_obs)


def test_every_edge_case_and_the_run_s_observation_encode_inside_the_space(trial):
    cluster = cluster_of(trial)
    space = LEARNING.observation_space(cluster, "cluster")
    assert space.shape == (len(OBSERVATION_ELEMENTS),) == (27,)
    assert np.isfinite(space.low).all()
    assert np.isfinite(space.high).all()
    for obs in [*AREA.edge_cases(), cluster._last_obs]:
        vector = LEARNING.encode(cluster, obs)
        assert vector.dtype == np.float32
        assert space.contains(vector), (obs, vector)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(obs=AREA.observations())
def test_generated_observations_encode_inside_the_space_and_every_index_is_accepted(trial, obs):
    cluster = cluster_of(trial)
    assert LEARNING.observation_space(cluster, "cluster").contains(LEARNING.encode(cluster, obs))
    for index in range(LEARNING.action_space(cluster, "cluster").n):
        action = LEARNING.decode(cluster, obs, index)
        assert AREA.check_action(action, obs, "rl") == action


def test_every_index_of_every_edge_case_is_an_action_the_cluster_accepts(trial):
    cluster = cluster_of(trial)
    assert LEARNING.action_space(cluster, "cluster").n == 10
    for obs in AREA.edge_cases():
        for index in range(10):
            AREA.check_action(LEARNING.decode(cluster, obs, index), obs, "rl")


def test_an_index_is_a_node_change_clamped_and_a_release_or_a_hold(trial):
    cluster = cluster_of(trial)
    obs = _observation(0.0, min_nodes=2, max_nodes=5, ready=3, starting=1, utilisation=0.5)
    decoded = [LEARNING.decode(cluster, obs, i) for i in range(10)]
    assert decoded[:5] == [
        ScalingAction(2, None),  # 4 - 2
        ScalingAction(3, None),
        ScalingAction(4, None),  # keep
        ScalingAction(5, None),
        ScalingAction(5, None),  # 4 + 2 clamped to max_nodes
    ]
    assert decoded[5:] == [ScalingAction(a.desired_nodes, 0) for a in decoded[:5]]
    at_min = obs._replace(current_nodes=2, ready_nodes=2, starting_nodes=0)
    assert LEARNING.decode(cluster, at_min, 0) == ScalingAction(2, None)  # clamped to min
    with pytest.raises(ValueError, match="index 10"):
        LEARNING.decode(cluster, obs, 10)


def test_the_vector_s_elements_mean_what_the_table_says(trial):
    cluster = cluster_of(trial)  # workers 4, queue capacity 1000, 12 nodes at most
    obs = _observation(
        6 * 86_400.0 + 18 * 3600.0,  # a Sunday, 18:00
        min_nodes=1,
        max_nodes=12,
        ready=2,
        starting=1,
        utilisation=math.nan,
        queue=100,  # at each ready node
        rates=(1.0, 2.0, 3.0),
        carbon=(0.5,) + (0.2,) * 23,
        deferred=((36_000, 6 * 86_400.0 + 18 * 3600.0 + 43_200.0),),
    )
    v = dict(zip(OBSERVATION_ELEMENTS, LEARNING.encode(cluster, obs).tolist(), strict=True))
    capacity = capacity_per_s(cluster, obs)
    # 12 nodes x 4 workers over the mean work of 100, 40 and 1 requests/s (0.005, 0.05, 2 s)
    assert capacity == pytest.approx(48 / ((100 * 0.005 + 40 * 0.05 + 1 * 2.0) / 141))
    assert v["current_nodes"] == pytest.approx(3 / 12)
    assert v["ready_nodes"] == pytest.approx(2 / 12)
    assert v["starting_nodes"] == pytest.approx(1 / 12)
    assert v["min_nodes"] == pytest.approx(1 / 12)
    assert (v["utilisation"], v["utilisation_missing"]) == (0.0, 1.0)
    assert v["queue_fill"] == pytest.approx(200 / 2000)
    assert v["queue_per_worker"] == pytest.approx(25 / 26)
    rates = [v[f"rate_{k}"] for k in range(-7, 1)]
    assert rates[:5] == [0.0] * 5
    assert rates[5:] == pytest.approx([1 / capacity, 2 / capacity, 3 / capacity])
    assert v["rate_windows"] == pytest.approx(3 / 8)
    assert v["rate_mean"] == pytest.approx(2 / capacity)
    assert (v["hour_sin"], v["hour_cos"]) == pytest.approx((-1.0, 0.0), abs=1e-6)
    assert v["weekend"] == 1.0
    assert v["carbon_now"] == pytest.approx(0.5)
    assert v["carbon_mean_24h"] == pytest.approx((0.5 + 23 * 0.2) / 24)
    assert v["carbon_min_24h"] == pytest.approx(0.2)
    # 36 000 requests at 1 batch request/s (0.1 x scale 10) is ten hours of batch work.
    assert v["deferred_hours"] == pytest.approx(10 / 24)
    assert v["deferred_slack"] == pytest.approx(0.5)
    assert v["deferred_any"] == 1.0


def test_rewards_after_an_hour_are_finite_and_cost_money_and_carbon(trial):
    cluster, world = cluster_of(trial), trial.world
    measures = {name: r.measure(world, cluster, None) for name, r in LEARNING.rewards.items()}
    assert all(math.isfinite(m) for m in measures.values())
    assert measures["cost"] == pytest.approx(world.ledger.cost())
    assert measures["cost"] > 0
    assert measures["carbon"] == pytest.approx(world.ledger.co2e_kg())
    assert measures["carbon"] > 0
    assert measures["cost-slo"] == pytest.approx(
        measures["cost"] + slo_penalty(cluster) * missed_requests(cluster)
    )
    # A turn's reward is minus what was booked since the previous turn.
    for name, reward in LEARNING.rewards.items():
        assert reward.value(0.0, measures[name]) == pytest.approx(-measures[name])
    # Measuring reads only: the same again, nothing booked.
    again = {name: r.measure(world, cluster, "cluster") for name, r in LEARNING.rewards.items()}
    assert again == measures


def test_the_slo_penalty_is_a_node_for_one_epoch_per_missed_or_dropped_request(overloaded):
    cluster, world = cluster_of(overloaded), overloaded.world
    assert slo_penalty(cluster) == pytest.approx(0.192 * 15.0 / 3600.0)
    _, _, violations, _, dropped = cluster.tallies_since_warmup()
    assert violations.sum() > 0
    assert dropped.sum() > 0
    missed = int(violations.sum() + dropped.sum())
    assert missed_requests(cluster) == missed
    cost_slo = LEARNING.reward("cost-slo").measure(world, cluster, None)
    assert cost_slo == pytest.approx(world.ledger.cost() + 0.192 * 15.0 / 3600.0 * missed)
    assert cost_slo > 2 * world.ledger.cost()  # the misses, not the one node, dominate


def test_random_indices_drive_the_cluster_within_its_invariants():
    config, _ = AREA.run_config("scaling/static-v0")
    policy = RandomIndices(seed=4)
    prepared = prepare_run(config, policy, seed=4)
    cluster = cluster_of(prepared)
    policy.model = cluster
    prepared.world.run(1800.0)
    space = LEARNING.observation_space(cluster, "cluster")
    assert len(policy.seen) == 1800 / 15 - 1  # every epoch before the horizon
    for obs, _, action in policy.seen:
        assert abs(action.desired_nodes - obs.current_nodes) <= 2
    assert all(space.contains(vector) for _, vector, _ in policy.seen)
    assert {a.release_deferred for _, _, a in policy.seen} == {None, 0}
    assert len({a.desired_nodes for _, _, a in policy.seen}) > 3  # it did scale
    assert DOMAIN.check_world(prepared.world) == []
