"""A PettingZoo Parallel environment on any registered scenario: one agent per decider.

Every intersection, machine, site or cluster of the scenario's main decision area is an
agent with its own spaces. twin's deciders act at their own epochs (a signal when its
green has run what it asked for, a machine after each part), and the world cannot go on
until they have answered, so a parallel step resolves the decisions due at one instant:
every agent deciding then acts, the other agents' actions are ignored (sumo-rl does the
same with agents whose ``time_to_act`` is false). Where the domain asks its deciders due
together at once (signals: all intersections whose epoch falls on one tick), that
is all of them; elsewhere one at a time. ``infos[agent]["acts"]`` says whose actions will
count at the next step; their observations are fresh, every other agent's is the one
from its own last turn (before its first: the point of its space nearest zero).

An agent's reward arrives at its turn and covers the time since its previous turn
(``"drop"`` rewards: the fall of its measure over that interval; ``"level"`` rewards:
its measure at the turn); it is 0 at other steps, and at the horizon every agent gets
the reward of its last interval and is truncated.
"""

from __future__ import annotations

from typing import Any, ClassVar, Unpack

import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from pettingzoo import ParallelEnv

from twin.rl.episode import Episode, check_index, seed_from
from twin.rl.host import RENDER_MODES, EnvOptions, EpisodeHost

Vector = npt.NDArray[np.float32]


class TwinParallelEnv(EpisodeHost, ParallelEnv[str, Vector, np.int64]):
    """One scenario as a PettingZoo Parallel environment (arguments as
    :class:`twin.rl.env.TwinEnv`)."""

    metadata: ClassVar[dict[str, Any]] = {
        "name": "twin_parallel_v0",
        "render_modes": list(RENDER_MODES),
        "render_fps": 4,
        "is_parallelizable": True,
    }

    def __init__(self, scenario: str, **options: Unpack[EnvOptions]) -> None:
        EpisodeHost.__init__(self, scenario, **options)
        self.possible_agents: list[str] = list(self.setup.agents)
        self.agents: list[str] = []
        self._observations: dict[str, Vector] = {}
        self._measures: dict[str, float] = {}
        self._np_random = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Box:
        return self.setup.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self.setup.action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Vector], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._np_random = np.random.default_rng(seed)
        root = seed if seed is not None else seed_from(self._np_random)
        episode = self._start_episode(root)
        self.agents = list(self.possible_agents)
        self._observations = {
            a: _before_first_turn(self.setup.observation_spaces[a]) for a in self.agents
        }
        self._measures = {}
        if not episode.next_turn():
            raise RuntimeError(
                f"{self.setup.name}: no decision within horizon_s={self.setup.config.horizon_s}"
            )
        rewards = dict.fromkeys(self.agents, 0.0)
        self._take_turn(episode, rewards)
        return dict(self._observations), self._infos(episode)

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, Vector],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        episode = self._episode
        if episode is None or not self.agents:
            raise RuntimeError(f"{self.setup.name}: call reset() before step()")
        deciding = episode.turn_agents
        for agent in deciding:
            if agent not in actions:
                raise ValueError(
                    f"{self.setup.name}: agent {agent!r} decides now, but actions has no "
                    f"entry for it (got {sorted(actions)[:5]})"
                )
        # Every action checked before any is handed on: a bad one leaves the turn as it was.
        spaces = self.setup.action_spaces
        episode.answer_turn([check_index(self.setup, a, actions[a], spaces[a]) for a in deciding])
        rewards = dict.fromkeys(self.agents, 0.0)
        if episode.next_turn():
            self._take_turn(episode, rewards)
            infos = self._infos(episode)
            done = dict.fromkeys(self.agents, False)
            return dict(self._observations), rewards, done, dict(done), infos
        # The horizon: every agent's last interval, then all are truncated.
        self._reward_intervals(episode, [a for a in self.agents if a in self._measures], rewards)
        kpis = episode.kpis()
        infos = {
            name: {"acts": False, "time_s": episode.now_s(), "kpis": kpis} for name in self.agents
        }
        observations = dict(self._observations)
        finished = dict.fromkeys(self.agents, False)
        truncated = dict.fromkeys(self.agents, True)
        self.agents = []
        return observations, rewards, finished, truncated, infos

    def close(self) -> None:
        self._close_episode()

    def _take_turn(self, episode: Episode, rewards: dict[str, float]) -> None:
        """The deciding agents' fresh observations, and their rewards since their last
        turns (each encoded and measured in one pass for all of them)."""
        agents = episode.turn_agents
        vectors = episode.encoded_all(episode.turn)
        for agent, vector in zip(agents, vectors, strict=True):
            self._observations[agent] = vector.astype(np.float32, copy=False)
        self._reward_intervals(episode, agents, rewards)

    def _reward_intervals(
        self, episode: Episode, agents: list[str], rewards: dict[str, float]
    ) -> None:
        """Each agent's reward for the interval since its previous turn (none before its
        first), and its measure now as the start of its next interval."""
        reward = self.setup.reward
        for agent, measure in zip(agents, episode.measures(agents), strict=True):
            before = self._measures.get(agent)
            if before is not None:
                rewards[agent] = float(reward.value(before, measure))
            self._measures[agent] = measure

    def _infos(self, episode: Episode) -> dict[str, dict[str, Any]]:
        now = episode.now_s()
        infos = {name: {"acts": False, "time_s": now} for name in self.agents}
        for agent in episode.turn_agents:
            infos[agent]["acts"] = True
        return infos


def _before_first_turn(space: spaces.Box) -> Vector:
    return np.clip(np.zeros(space.shape, np.float32), space.low, space.high)


def parallel_env(scenario: str, **kwargs: Any) -> TwinParallelEnv:
    """PettingZoo's constructor convention: ``twin.rl.parallel_env("acme/line-v0")``."""
    return TwinParallelEnv(scenario, **kwargs)
