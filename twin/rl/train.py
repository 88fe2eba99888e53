"""Train an agent in a twin scenario with Stable-Baselines3 and export it as ``.npz``.

    python -m twin.rl.train --scenario acme/line-v0 --algo ppo --steps 50000 --out agent.npz

Needs the ``rl-train`` extra (stable-baselines3, which brings PyTorch). The agent trains
in :class:`~twin.rl.env.TwinEnv` (``--envs K`` copies, seeds ``seed``..``seed+K-1``,
in worker processes with ``--subprocess``); the result is the agent's network as a
:class:`~twin.rl.agent_policy.DenseNetwork` file, with the command, seeds and library
versions in its header, a learning curve (episode return against steps) as ``.png`` and
``.csv`` beside it, and a check that the exported network takes the agent's own
deterministic actions on the observations it saw.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin.core.errors import UserError
from twin.rl.agent_policy import DenseNetwork, load_network
from twin.rl.env import TwinEnv
from twin.rl.episode import EnvConfigError

ALGORITHMS = ("ppo", "dqn")
"""Stable-Baselines3 algorithms whose networks export to a dense network."""

EXPORT_CHECK_OBSERVATIONS = 256
"""Observations on which the exported network must take the agent's own actions."""


@dataclass(frozen=True)
class TrainingRun:
    """What ``train`` produced."""

    model_path: Path
    curve_path: Path
    returns: list[tuple[int, float]]
    agreement: float
    agent: Any
    """The trained Stable-Baselines3 agent (to save in its own format, or compare)."""


def train(
    scenario: str,
    *,
    algo: str = "ppo",
    steps: int = 50_000,
    out: str | Path,
    seed: int = 0,
    envs: int = 1,
    subprocess: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    algo_kwargs: dict[str, Any] | None = None,
    command: str = "",
    progress: bool = True,
) -> TrainingRun:
    """Train ``algo`` for ``steps`` environment steps and export the network to ``out``."""
    import stable_baselines3
    import torch
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import Logger
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    if algo not in ALGORITHMS:
        raise ValueError(f"--algo must be one of {ALGORITHMS}, got {algo!r}")
    kwargs = dict(env_kwargs or {})
    gamma = float((algo_kwargs or {}).get("gamma", 0.99))
    probe = TwinEnv(scenario, **kwargs)  # fails here, with one line, on a bad config
    layout = probe.layout
    probe.close()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    vec_env = make_vec_env(
        TwinEnv,
        n_envs=envs,
        seed=seed,
        env_kwargs={"scenario": scenario, **kwargs},
        vec_env_cls=SubprocVecEnv if subprocess else DummyVecEnv,
    )
    # Rewards in money per decision run from cents to thousands: the agent learns on
    # rewards scaled by their running standard deviation. Observations are not
    # normalised (the learning interfaces already bound them), so the exported network
    # takes the environment's vectors as they are.
    vec_env = VecNormalize(vec_env, norm_obs=False, norm_reward=True, gamma=gamma)
    algorithm = {"ppo": stable_baselines3.PPO, "dqn": stable_baselines3.DQN}[algo]
    agent = algorithm("MlpPolicy", vec_env, seed=seed, verbose=0, **(algo_kwargs or {}))
    # SB3's default logger makes an empty SB3-<time> folder in the system temp directory
    # on every learn(), even when it writes nothing; progress comes from _Curve instead.
    agent.set_logger(Logger(folder=None, output_formats=[]))
    curve = _Curve(steps, progress)
    agent.learn(total_timesteps=steps, callback=curve.callback())
    vec_env.close()
    weights, biases, activation = _dense_layers(agent, algo)
    network = DenseNetwork(
        weights=weights,
        biases=biases,
        activation=activation,
        area=probe.setup.area.name,
        scenario=scenario,
        layout=layout,
        training={
            "command": command,
            "algorithm": algo,
            "steps": steps,
            "seed": seed,
            "envs": envs,
            "env": kwargs,
            "algorithm_params": algo_kwargs or {},
            "episodes": len(curve.returns),
            "versions": {
                "stable-baselines3": stable_baselines3.__version__,
                "torch": torch.__version__,
            },
        },
    )
    model_path = network.save(out)
    agreement = _agreement(agent, load_network(model_path), curve.observations)
    curve_path = _plot(curve.returns, model_path.with_suffix(".png"), scenario, algo)
    return TrainingRun(model_path, curve_path, curve.returns, agreement, agent)


class _Curve:
    """Episode returns as training goes, a progress bar, and observations to check the
    export on."""

    def __init__(self, steps: int, progress: bool) -> None:
        self.steps = steps
        self.progress = progress
        self.returns: list[tuple[int, float]] = []
        self.observations: list[np.ndarray] = []

    def callback(self) -> Any:
        from stable_baselines3.common.callbacks import BaseCallback
        from tqdm import tqdm

        curve = self

        class Recorder(BaseCallback):  # type: ignore[misc]
            def _on_training_start(self) -> None:
                self.bar = tqdm(total=curve.steps, unit="step", disable=not curve.progress)
                self.running = np.zeros(self.training_env.num_envs)

            def _on_step(self) -> bool:
                # The environment's own rewards, not the normalised ones the agent sees.
                rewards = self.training_env.get_original_reward()
                dones = self.locals["dones"]
                self.running += rewards
                for k in np.flatnonzero(dones):
                    curve.returns.append((self.num_timesteps, float(self.running[k])))
                    self.running[k] = 0.0
                    self.bar.set_postfix(episode_return=f"{curve.returns[-1][1]:.4g}")
                if len(curve.observations) < EXPORT_CHECK_OBSERVATIONS:
                    curve.observations.extend(np.asarray(self.locals["new_obs"]))
                self.bar.update(self.training_env.num_envs)
                return True

            def _on_training_end(self) -> None:
                self.bar.close()

        return Recorder()


def _dense_layers(agent: Any, algo: str) -> tuple[tuple[Any, ...], tuple[Any, ...], str]:
    """The agent's policy network as (weights, biases, activation)."""
    import torch

    if algo == "ppo":
        modules = [*agent.policy.mlp_extractor.policy_net, agent.policy.action_net]
    else:
        modules = list(agent.q_net.q_net)
    linear = [m for m in modules if isinstance(m, torch.nn.Linear)]
    activations = {type(m).__name__ for m in modules if not isinstance(m, torch.nn.Linear)}
    activation = {"Tanh": "tanh", "ReLU": "relu"}[activations.pop()] if activations else "tanh"
    if activations:
        raise ValueError("the network mixes activations; only one kind can be exported")
    weights = tuple(m.weight.detach().cpu().numpy().T.astype(np.float32) for m in linear)
    biases = tuple(m.bias.detach().cpu().numpy().astype(np.float32) for m in linear)
    return weights, biases, activation


def _agreement(agent: Any, network: DenseNetwork, observations: list[np.ndarray]) -> float:
    """The share of observations on which the exported network takes the agent's own
    deterministic action."""
    if not observations:
        return 1.0
    batch = np.stack(observations)
    theirs, _ = agent.predict(batch, deterministic=True)
    ours = np.array([network.act(x) for x in batch.astype(np.float32)])
    return float(np.mean(ours == np.asarray(theirs)))


def _plot(returns: list[tuple[int, float]], path: Path, scenario: str, algo: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    steps = np.array([s for s, _ in returns], dtype=float)
    values = np.array([r for _, r in returns], dtype=float)
    with path.with_suffix(".csv").open("w") as handle:
        handle.write("step,episode_return\n")
        for step, value in returns:
            handle.write(f"{step},{value!r}\n")
    figure = Figure(figsize=(6.4, 4.0))
    ax = figure.add_subplot()
    ax.plot(steps, values, ".", alpha=0.4, label="episode")
    if len(values) >= 5:
        window = max(len(values) // 10, 5)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, label=f"mean of {window}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{algo.upper()} on {scenario}")
    ax.legend()
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin.rl.train", description=__doc__)
    parser.add_argument("--scenario", required=True, help="registered scenario id")
    parser.add_argument("--algo", choices=ALGORITHMS, default="ppo")
    parser.add_argument("--steps", type=int, default=50_000, help="environment steps")
    parser.add_argument("--out", required=True, help="the network's .npz path")
    parser.add_argument("--seed", type=int, default=0, help="training seed (envs: seed+k)")
    parser.add_argument("--envs", type=int, default=1, help="environments stepped together")
    parser.add_argument("--subprocess", action="store_true", help="envs in worker processes")
    parser.add_argument("--reward", help="reward name (the decision area's default if omitted)")
    parser.add_argument("--horizon-s", type=float, help="simulated seconds per episode")
    parser.add_argument("--learner", help="learn for this decider alone (others: --others)")
    parser.add_argument("--others", help="policy id answering the other deciders")
    parser.add_argument("--params", default="{}", help="the scenario's params as JSON")
    parser.add_argument("--algo-params", default="{}", help="the algorithm's kwargs as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        env_kwargs: dict[str, Any] = {"params": json.loads(args.params)}
        algo_kwargs = json.loads(args.algo_params)
    except json.JSONDecodeError as error:
        print(f"error: --params/--algo-params: not JSON: {error}", file=sys.stderr)
        return 2
    if args.reward:
        env_kwargs["reward"] = args.reward
    if args.horizon_s:
        env_kwargs["horizon_s"] = args.horizon_s
    if args.learner:
        env_kwargs["learner"] = args.learner
    if args.others:
        env_kwargs["others"] = args.others
    if args.steps <= 0 or args.envs <= 0:
        print("error: --steps and --envs must be positive", file=sys.stderr)
        return 2
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        print(
            "error: training needs the rl-train extra: pip install 'twin[rl-train]'",
            file=sys.stderr,
        )
        return 2
    command = "python -m twin.rl.train " + shlex.join(sys.argv[1:] if argv is None else argv)
    try:
        run = train(
            args.scenario,
            algo=args.algo,
            steps=args.steps,
            out=args.out,
            seed=args.seed,
            envs=args.envs,
            subprocess=args.subprocess,
            env_kwargs=env_kwargs,
            algo_kwargs=algo_kwargs,
            command=command,
            progress=not args.quiet,
        )
    except (EnvConfigError, UserError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    last = run.returns[-10:]
    mean_last = np.mean([r for _, r in last]) if last else float("nan")
    print(
        f"wrote {run.model_path} ({len(run.returns)} episodes, mean return of the last "
        f"{len(last)}: {mean_last:.4g}); learning curve {run.curve_path}; the exported "
        f"network takes the agent's action on {run.agreement:.1%} of checked observations"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
