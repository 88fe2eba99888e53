"""A Gymnasium environment on any registered scenario: one step per decision.

``gymnasium.make("twin/acme-line-v0")`` (after ``import twin.rl``, or as
``gymnasium.make("twin.rl:twin/acme-line-v0")``) is :class:`TwinEnv` on
``acme/line-v0``. A step is one decision of the scenario's main decision area, at
the domain's own epochs (a signal's phase end, a machine's part, a site's review). Where
the world has several deciders (16 intersections) the environment is one policy shared by
all of them, taking their turns in event order: the observation is the deciding agent's
vector, zero-padded to the largest agent's, followed by a one-hot of which agent it is;
the action space is the largest agent's, and an index past a decider's last choice means
its last choice. The reward is the whole world's (the interface's measure with no agent).
For one learner per decider use :class:`twin.rl.parallel.TwinParallelEnv`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Unpack

import gymnasium
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.rl.episode import EnvConfigError, Episode, check_index, seed_from
from twin.rl.host import RENDER_MODES, EnvOptions, EpisodeHost
from twin.rl.layout import InputLayout

Vector = npt.NDArray[np.float32]


class TwinEnv(EpisodeHost, gymnasium.Env[Vector, np.int64]):
    """One scenario as a single-agent Gymnasium environment.

    Args:
        scenario: registered scenario id (``"acme/line-v0"``).
        params: the scenario's params, as in an experiment config.
        horizon_s: simulated seconds per episode (the interface's ``episode_s`` if
            omitted); reaching it truncates the episode.
        warmup_s: statistics (the KPIs in the final ``info``) start after this.
        reward: a reward name of the decision area (its default if omitted).
        render_mode: ``"rgb_array"`` draws the domain's view of the world.
        registry: where ids are looked up (the installed entry points by default).
        learner: one decider to learn for (``"intersection:A0"``): the environment hands
            out its turns only and rewards it with its own measure, while ``others`` (a
            policy id; the decision area's baseline by default) answers every other
            decider. The network then reads a decider's own vector (layout ``"agent"``)
            and, through :class:`~twin.rl.agent_policy.AgentPolicy`, can decide for every
            decider of the same width.
        others: see ``learner``.

    ``reset(seed=s)`` runs the world of root seed ``s``: two environments (or an
    environment and ``twin run --seed s``) on one seed see the same arrivals, failures and
    demand whatever they decide. ``info`` carries the deciding ``agent``, the simulated
    ``time_s``, the step's ledger increments (``cost``, ``energy_kwh``, ``co2e_kg``) and,
    at the end, the run's ``kpis``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
        scenario: str,
        *,
        learner: str | None = None,
        others: str | None = None,
        **options: Unpack[EnvOptions],
    ) -> None:
        EpisodeHost.__init__(self, scenario, **options)
        if learner is not None and learner not in self.setup.agents:
            few = ", ".join(self.setup.agents[:3])
            raise EnvConfigError(
                f"{self.setup.name}: learner {learner!r} is not a decider of this world "
                f"({len(self.setup.agents)}: {few}{', ...' if len(self.setup.agents) > 3 else ''})"
            )
        self.learner = learner
        self.others = others
        agents = self.setup.agents if learner is None else (learner,)
        boxes = [self.setup.observation_spaces[a] for a in agents]
        width = max(box.shape[0] for box in boxes)
        kind = "agent" if learner is not None else "shared" if len(agents) > 1 else "single"
        self.layout = InputLayout(kind, width, agents)
        self._choices = {a: int(self.setup.action_spaces[a].n) for a in agents}
        low = np.zeros((len(boxes), width), dtype=np.float32)
        high = np.zeros((len(boxes), width), dtype=np.float32)
        for k, box in enumerate(boxes):
            low[k, : box.shape[0]] = box.low
            high[k, : box.shape[0]] = box.high
        one_hot = self.layout.size - width
        self.observation_space = spaces.Box(
            np.concatenate((low.min(axis=0), np.zeros(one_hot, np.float32))),
            np.concatenate((high.max(axis=0), np.ones(one_hot, np.float32))),
            dtype=np.float32,
        )
        self.action_space = spaces.Discrete(max(self._choices.values()))
        self._vector: Vector = np.zeros(self.observation_space.shape, np.float32)
        self._measure = 0.0
        self._ledger: dict[str, float] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Vector, dict[str, Any]]:
        gymnasium.Env.reset(self, seed=seed)
        root = seed if seed is not None else seed_from(self.np_random)
        episode = self._start_episode(root, self.learner, self.others)
        if not episode.next():
            raise RuntimeError(
                f"{self.setup.name}: no decision within horizon_s={self.setup.config.horizon_s}"
            )
        self._measure = episode.measure(self.learner)
        self._ledger = episode.ledger()
        self._vector = self._observe(episode)
        return self._vector, {"agent": episode.agent, "time_s": episode.now_s(), "seed": root}

    def step(self, action: Any) -> tuple[Vector, float, bool, bool, dict[str, Any]]:
        episode = self._episode
        if episode is None:
            raise RuntimeError(f"{self.setup.name}: call reset() before step()")
        if episode.finished:
            raise RuntimeError(f"{self.setup.name}: the episode has ended; call reset()")
        agent = episode.agent
        index = check_index(self.setup, agent, action, self.action_space)
        episode.answer(min(index, self._choices[agent] - 1))
        running = episode.next()
        measure = episode.measure(self.learner)
        reward = self.setup.reward.value(self._measure, measure)
        self._measure = measure
        ledger = episode.ledger()
        increments = {key: ledger[key] - self._ledger[key] for key in ledger}
        self._ledger = ledger
        info: dict[str, Any] = {"agent": agent, "time_s": episode.now_s(), "ledger": increments}
        if running:
            self._vector = self._observe(episode)
        else:
            info["kpis"] = episode.kpis()
        return self._vector, float(reward), False, not running, info

    def close(self) -> None:
        self._close_episode()
        gymnasium.Env.close(self)

    def _observe(self, episode: Episode) -> Vector:
        return self.layout.assemble(episode.agent, episode.encoded())
