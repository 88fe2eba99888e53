"""TwinEnv: a scenario as a Gymnasium environment, one step per decision."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from tests.rl.learning_world import PLANT_SCENARIO, SCENARIO, plant_registry, registry
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.rl.env import TwinEnv
from twin.rl.episode import EnvConfigError, env_id

ADMIT, REJECT = 1, 0
CONTINUE_MACHINE = 0


def make(**kwargs: object) -> TwinEnv:
    return TwinEnv(SCENARIO, registry=registry(), **kwargs)  # type: ignore[arg-type]


def play(env: TwinEnv, seed: int, action: int) -> tuple[list[float], list[float], dict]:
    """Times of every decision and rewards of a whole episode answering ``action``."""
    _, info = env.reset(seed=seed)
    times, rewards = [info["time_s"]], []
    while True:
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        assert not terminated
        if truncated:
            return times, rewards, info
        times.append(info["time_s"])


def test_passes_gymnasiums_env_checker() -> None:
    with make(horizon_s=1_800.0, render_mode="rgb_array") as env:
        check_env(env, skip_render_check=False)


def test_the_id_of_a_scenario_is_its_id_under_the_twin_namespace() -> None:
    assert env_id("traffic/grid4x4-v0") == "twin/traffic-grid4x4-v0"
    assert gymnasium.envs.registration.parse_env_id(env_id("station/mmc-v0")) == (
        "twin",
        "station-mmc",
        0,
    )


def test_a_step_is_a_decision_and_the_reward_is_the_named_measures_drop() -> None:
    # Every decision of the station is an arrival: turning each away rejects exactly one
    # job before the next decision, so every step's "rejections" reward is -1.
    with make(horizon_s=3_600.0) as env:
        _, rewards, info = play(env, seed=4, action=REJECT)
    assert rewards[:-1] == [-1.0] * (len(rewards) - 1)
    assert info["kpis"]["rejected"] == len(rewards)


def test_info_carries_the_ledgers_increment_of_the_step() -> None:
    with TwinEnv(
        SCENARIO, registry=registry(), params={"rejection_cost": 5.0}, reward="cost"
    ) as env:
        env.reset(seed=1)
        _, reward, _, _, info = env.step(REJECT)
    assert info["ledger"]["cost"] == 5.0
    assert reward == -5.0


def test_answering_like_a_policy_gives_that_policys_run_exactly() -> None:
    config = ScenarioConfig(id=SCENARIO, horizon_s=3_600.0)
    expected = simulate(config, "admission/admit-all-v0", seed=9)
    with make(horizon_s=3_600.0) as env:
        _, _, info = play(env, seed=9, action=ADMIT)
    assert info["kpis"] == {name: kpi.value for name, kpi in expected.kpis.items()}


def test_one_seed_is_one_world_whatever_the_agent_decides() -> None:
    # Common random numbers: the arrivals (the decision times) do not depend on the actions.
    with make(horizon_s=3_600.0) as env:
        admitting, _, _ = play(env, seed=2, action=ADMIT)
        rejecting, _, _ = play(env, seed=2, action=REJECT)
        other_seed, _, _ = play(env, seed=3, action=ADMIT)
    assert admitting == rejecting
    assert admitting != other_seed


def test_same_seed_same_trajectory() -> None:
    def trajectory(env: TwinEnv) -> list[np.ndarray]:
        obs, _ = env.reset(seed=5)
        seen = [obs]
        rng = np.random.default_rng(0)
        for _ in range(30):
            obs, *_ = env.step(int(rng.integers(2)))
            seen.append(obs)
        return seen

    with make() as first, make() as second:
        assert np.array_equal(trajectory(first), trajectory(second))


def test_an_action_outside_the_space_names_the_env_agent_and_value() -> None:
    with make() as env:
        env.reset(seed=0)
        with pytest.raises(ValueError, match=r"twin/station-mmc-v0: agent 'station': action 7 "):
            env.step(7)


@pytest.mark.parametrize("action", [2, -1, True, 1.0, "1", np.array([1])])
def test_only_an_integer_index_of_the_space_is_an_action(action: object) -> None:
    with make() as env:
        env.reset(seed=0)
        assert env.action_space.n == 2
        with pytest.raises(ValueError, match="is outside its action space"):
            env.step(action)


@pytest.mark.parametrize("action", [0, 1, np.int64(1), np.array(1)])
def test_python_and_numpy_integers_of_the_space_are_actions(action: object) -> None:
    with make() as env:
        env.reset(seed=0)
        env.step(action)


def test_an_unknown_reward_is_one_line_listing_the_rewards() -> None:
    with pytest.raises(EnvConfigError) as error:
        make(reward="throughput")
    assert str(error.value) == (
        "twin/station-mmc-v0: unknown reward 'throughput'; this decision area has: cost, rejections"
    )


def test_a_scenario_without_a_learning_interface_has_no_environment() -> None:
    with pytest.raises(EnvConfigError, match="has no learning interface"):
        TwinEnv(SCENARIO, registry=registry(learning=None))


def test_an_unknown_scenario_is_one_line() -> None:
    with pytest.raises(EnvConfigError, match="twin/nowhere-x-v0: unknown scenario"):
        TwinEnv("nowhere/x-v0", registry=registry())


def test_renders_the_domains_view_as_rgb() -> None:
    with make(render_mode="rgb_array") as env:
        env.reset(seed=0)
        frame = env.render()
    assert frame is not None
    assert frame.shape == (480, 640, 3)
    assert frame.dtype == np.uint8
    assert frame.min() < frame.max()  # something is drawn


@pytest.mark.parametrize(
    "vector_class", [gymnasium.vector.SyncVectorEnv, gymnasium.vector.AsyncVectorEnv]
)
def test_a_vector_of_envs_differs_only_by_seed(vector_class: type) -> None:
    def factory() -> TwinEnv:
        return make(horizon_s=1_800.0)

    vector = vector_class([factory, factory])
    try:
        batch, _ = vector.reset(seed=[11, 12])
        steps = [vector.step(np.array([ADMIT, ADMIT]))[0] for _ in range(5)]
    finally:
        vector.close()
    for k, seed in enumerate((11, 12)):
        with make(horizon_s=1_800.0) as alone:
            obs, _ = alone.reset(seed=seed)
            assert np.array_equal(batch[k], obs)
            for step in steps:
                obs, *_ = alone.step(ADMIT)
                assert np.array_equal(step[k], obs)


def test_a_gym_env_for_one_learner_hands_out_its_turns_only_and_lets_the_baseline_answer() -> None:
    horizon_s = 2 * 86_400.0
    env = TwinEnv(
        PLANT_SCENARIO, registry=plant_registry(), horizon_s=horizon_s, learner="machine:1"
    )
    assert env.observation_space.shape == (1,)  # the machine's own vector, no one-hot
    _, info = env.reset(seed=8)
    agents = {info["agent"]}
    while True:
        _, _, _, truncated, info = env.step(CONTINUE_MACHINE)
        if truncated:
            break
        agents.add(info["agent"])
    env.close()
    assert agents == {"machine:1"}
    # Every machine answered "continue" (the learner) or by run-to-failure (the others).
    config = ScenarioConfig(id=PLANT_SCENARIO, horizon_s=horizon_s)
    expected = simulate(config, "maintenance/run-to-failure-v0", seed=8, registry=plant_registry())
    np.testing.assert_equal(info["kpis"], {k: v.value for k, v in expected.kpis.items()})


def test_a_learner_that_is_no_decider_is_one_line() -> None:
    with pytest.raises(
        EnvConfigError, match=r"learner 'machine:99' is not a decider of this world \("
    ):
        TwinEnv(PLANT_SCENARIO, registry=plant_registry(), learner="machine:99")
