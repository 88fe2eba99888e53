"""What the Gymnasium and the PettingZoo environment do alike: resolve the scenario once,
hold the running episode, draw it, and unwind it."""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from twin.core.registry import Registry
from twin.rl.episode import Episode, resolve
from twin.rl.render import SceneRenderer

RENDER_MODES = ("rgb_array",)
"""``render_mode`` values: ``"rgb_array"`` draws the domain's view of the world."""


class EnvOptions(TypedDict, total=False):
    """What both environments take besides the scenario (see :class:`twin.rl.env.TwinEnv`)."""

    params: dict[str, Any] | None
    horizon_s: float | None
    warmup_s: float
    reward: str | None
    render_mode: str | None
    registry: Registry | None


class EpisodeHost:
    """An environment's scenario setup and its current episode (arguments as
    :class:`twin.rl.env.TwinEnv`)."""

    def __init__(
        self,
        scenario: str,
        *,
        params: dict[str, Any] | None = None,
        horizon_s: float | None = None,
        warmup_s: float = 0.0,
        reward: str | None = None,
        render_mode: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {list(RENDER_MODES)}")
        self.setup = resolve(
            scenario,
            params=params,
            horizon_s=horizon_s,
            warmup_s=warmup_s,
            reward=reward,
            registry=registry,
        )
        self.render_mode = render_mode
        self._episode: Episode | None = None
        self._renderer: SceneRenderer | None = None

    def render(self) -> npt.NDArray[np.uint8] | None:
        """The world now as ``(height, width, 3)`` uint8, with ``render_mode="rgb_array"``."""
        if self.render_mode is None or self._episode is None:
            return None
        if self._renderer is None:
            self._renderer = SceneRenderer(self.setup.domain.view_of(self._episode.stream.world))
        return self._renderer.draw()

    def _start_episode(
        self, seed: int, learner: str | None = None, others: str | None = None
    ) -> Episode:
        self._close_episode()
        self._episode = Episode(self.setup, seed, learner, others)
        return self._episode

    def _close_episode(self) -> None:
        if self._episode is not None:
            self._episode.close()
            self._episode = None
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
