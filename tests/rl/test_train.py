"""python -m twin.rl.train: a tiny PPO training end to end, and its exported network."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.rl.agent_policy import AgentParams, AgentPolicy, load_network
from twin.rl.env import TwinEnv
from twin.rl.train import main, train

pytest.importorskip("stable_baselines3")

SCENARIO = "station/mmc-v0"
ENV = {"horizon_s": 3_600.0, "params": {"rejection_cost": 5.0}, "reward": "throughput"}


TINY = {
    "ppo": {"n_steps": 256, "batch_size": 64, "n_epochs": 2},
    "dqn": {"learning_starts": 128},
}
"""Small enough for CI: a few hundred steps, still some gradient updates."""


@pytest.mark.slow
@pytest.mark.parametrize(("algo", "activation"), [("ppo", "tanh"), ("dqn", "relu")])
def test_a_tiny_training_exports_a_network_that_takes_the_agents_actions(
    tmp_path: Path, algo: str, activation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    run = train(
        SCENARIO,
        algo=algo,
        steps=512,
        out=tmp_path / "station.npz",
        seed=3,
        env_kwargs=ENV,
        algo_kwargs=TINY[algo],
        progress=False,
    )
    network = load_network(run.model_path)
    assert network.area == "station"
    assert network.activation == activation
    assert network.training["steps"] == 512
    assert run.curve_path.is_file()
    assert run.model_path.with_suffix(".csv").read_text().startswith("step,episode_return\n")
    assert run.agreement == 1.0
    # No empty log folder left behind in the system's temp directory (SB3's default
    # logger makes one there on every learn()); torch's own compile cache may appear.
    assert [p.name for p in scratch.iterdir() if p.name.startswith("SB3-")] == []
    # On observations it never saw, too: the whole space, sampled.
    space = TwinEnv(SCENARIO, **ENV).observation_space
    space.seed(0)
    batch = np.stack([space.sample() for _ in range(500)])
    theirs, _ = run.agent.predict(batch, deterministic=True)
    assert [network.act(x) for x in batch] == list(theirs)
    # And it is a twin policy like any other.
    config = ScenarioConfig(id=SCENARIO, horizon_s=3_600.0, params={"rejection_cost": 5.0})
    result = simulate(config, AgentPolicy(AgentParams(model=str(run.model_path))), seed=1)
    assert result.kpis["arrived"].value > 0


def test_an_unknown_reward_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--scenario",
            SCENARIO,
            "--reward",
            "nope",
            "--steps",
            "10",
            "--out",
            str(tmp_path / "m.npz"),
        ]
    )
    error = capsys.readouterr().err
    assert code == 2
    assert error == (
        "error: twin/station-mmc-v0: unknown reward 'nope'; this decision area has: "
        "cost, throughput\n"
    )
    assert not (tmp_path / "m.npz").exists()
