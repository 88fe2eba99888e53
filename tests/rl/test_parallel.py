"""TwinParallelEnv: one PettingZoo agent per decider; a step resolves the decisions due at
one instant (one at a time on the plant, every signal due together in the city)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from tests.rl.learning_world import PLANT_SCENARIO, plant_registry
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.rl.parallel import TwinParallelEnv
from twin.traffic.observation import SignalAction, SignalObservation

CONTINUE, MAINTAIN = 0, 1
DAY_S = 86_400.0
CITY = "traffic/grid4x4-v0"


def make(horizon_s: float = DAY_S) -> TwinParallelEnv:
    return TwinParallelEnv(PLANT_SCENARIO, registry=plant_registry(), horizon_s=horizon_s)


def test_passes_pettingzoos_parallel_api_test() -> None:
    env = make(horizon_s=3_600.0)
    try:
        parallel_api_test(env, num_cycles=300)
    finally:
        env.close()


def test_passes_pettingzoos_seed_test() -> None:
    parallel_seed_test(lambda: make(horizon_s=3_600.0), num_cycles=200)


def test_every_machine_is_an_agent_with_its_own_spaces() -> None:
    env = make()
    assert env.possible_agents == [f"machine:{k}" for k in range(len(env.possible_agents))]
    assert len(env.possible_agents) > 1
    assert all(env.action_space(a).n == 2 for a in env.possible_agents)


def test_one_agent_acts_per_step_and_only_its_observation_is_fresh() -> None:
    env = make(horizon_s=3_600.0)
    observations, infos = env.reset(seed=3)
    for _ in range(50):
        acting = [a for a, info in infos.items() if info["acts"]]
        assert len(acting) == 1
        before = observations
        observations, _, _, truncated, infos = env.step(dict.fromkeys(env.agents, CONTINUE))
        if any(truncated.values()):
            break
        now_acting = next(a for a, info in infos.items() if info["acts"])
        for agent in env.agents:
            if agent != now_acting:
                assert np.array_equal(observations[agent], before[agent])
    env.close()


def test_answering_like_a_policy_gives_that_policys_run_exactly() -> None:
    horizon_s = 10 * DAY_S  # long enough for a machine to fail
    config = ScenarioConfig(id=PLANT_SCENARIO, horizon_s=horizon_s)
    expected = simulate(config, "maintenance/run-to-failure-v0", seed=6, registry=plant_registry())
    env = make(horizon_s)
    env.reset(seed=6)
    totals: dict[str, float] = {}
    while env.agents:
        _, rewards, _, _, infos = env.step(dict.fromkeys(env.agents, CONTINUE))
        for agent, reward in rewards.items():
            totals[agent] = totals.get(agent, 0.0) + reward
    kpis = next(iter(infos.values()))["kpis"]
    np.testing.assert_equal(kpis, {name: kpi.value for name, kpi in expected.kpis.items()})
    # Each agent's rewards add up to minus its machine's failures (none fails before its
    # first turn, after its first part).
    assert expected.kpis["unplanned_failures"].value > 0
    assert sum(totals.values()) == -expected.kpis["unplanned_failures"].value
    env.close()


def test_the_acting_agent_must_be_given_an_action() -> None:
    env = make()
    _, infos = env.reset(seed=0)
    acting = next(a for a, info in infos.items() if info["acts"])
    with pytest.raises(
        ValueError, match=f"agent '{acting}' decides now, but actions has no entry for it"
    ):
        env.step({})
    env.close()


class NextPhaseEvery5s:
    """The signal policy the traffic agents below answer like: the next phase, 5 s."""

    id = "test/next-phase-5s"
    domain = "traffic.signals"

    def __init__(self) -> None:
        self.decisions = 0

    def reset(self, context: Any) -> None:
        pass

    def act(self, obs: SignalObservation) -> SignalAction:
        self.decisions += 1
        return SignalAction((obs.phase + 1) % len(obs.green_s), 5.0)


def next_phase(env: TwinParallelEnv, agent: str, vector: np.ndarray) -> int:
    phases = int(env.action_space(agent).n)
    return (int(np.argmax(vector[:phases])) + 1) % phases


def test_every_intersection_due_at_an_instant_acts_in_one_step_as_a_policy_would() -> None:
    config = ScenarioConfig(id=CITY, horizon_s=900.0)
    policy = NextPhaseEvery5s()
    expected = simulate(config, policy, seed=2)
    env = TwinParallelEnv(CITY, horizon_s=900.0)
    observations, infos = env.reset(seed=2)
    sizes = []
    while env.agents:
        acting = [a for a, info in infos.items() if info["acts"]]
        assert acting
        assert len({infos[a]["time_s"] for a in acting}) == 1
        sizes.append(len(acting))
        actions = {a: next_phase(env, a, observations[a]) for a in acting}
        observations, _, _, _, infos = env.step(actions)
    kpis = next(iter(infos.values()))["kpis"]
    np.testing.assert_equal(kpis, {name: kpi.value for name, kpi in expected.kpis.items()})
    assert sum(sizes) == policy.decisions
    assert max(sizes) > 1  # the grid's signals start in step: several fall due together
    env.close()


def test_on_sumo_rls_5_s_grid_every_step_is_an_instant_of_the_grid() -> None:
    env = TwinParallelEnv(CITY, params={"decision_grid_s": 5.0}, horizon_s=900.0)
    rng = np.random.default_rng(0)
    _, infos = env.reset(seed=2)
    times, acting = [], []
    while env.agents:
        agents = [a for a, info in infos.items() if info["acts"]]
        times.append(next(iter(infos.values()))["time_s"])
        acting.append(len(agents))
        actions = {a: int(rng.integers(env.action_space(a).n)) for a in agents}
        _, _, _, _, infos = env.step(actions)
    env.close()
    assert all(t % 5.0 == 0.0 for t in times)
    assert len(times) == len(set(times)) <= 900 / 5
    assert max(acting) == len(env.possible_agents)


def test_a_bad_action_in_a_turn_leaves_the_turn_to_be_answered_again() -> None:
    env = TwinParallelEnv(CITY, horizon_s=900.0)
    _, infos = env.reset(seed=2)
    while len(acting := [a for a, info in infos.items() if info["acts"]]) < 2:
        _, _, _, _, infos = env.step(dict.fromkeys(acting, 0))
    actions = dict.fromkeys(acting, 0)
    actions[acting[-1]] = 99
    with pytest.raises(ValueError, match=f"agent '{acting[-1]}': action 99 is outside"):
        env.step(actions)
    actions[acting[-1]] = 0
    env.step(actions)  # the same turn, answered whole this time
    assert env.agents
    env.close()
