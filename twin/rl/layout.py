"""How a decider's vector becomes a network's input: written once, for the environments
that train a network and the :class:`~twin.rl.agent_policy.AgentPolicy` that runs it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Layout = Literal["single", "shared", "agent"]
"""``"single"``: one decider, its vector as is (a Gymnasium env with one agent);
``"shared"``: one network for many deciders, the vector zero-padded to ``width`` and
followed by a one-hot of the decider (the Gymnasium env of a many-decider scenario);
``"agent"``: each decider's own vector (a PettingZoo agent's)."""


@dataclass(frozen=True)
class InputLayout:
    """The input layout of a network: its kind, width and the deciders it knows."""

    kind: Layout
    width: int
    agents: tuple[str, ...]

    @property
    def size(self) -> int:
        """Length of the network's input."""
        return self.width + (len(self.agents) if self.kind == "shared" else 0)

    def assemble(self, agent: str, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The network's input for ``agent``'s encoded observation."""
        if self.kind != "shared":
            return vector.astype(np.float32, copy=False)
        out = np.zeros(self.size, np.float32)
        out[: len(vector)] = vector
        out[self.width + self._positions[agent]] = 1.0
        return out

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        # A dict, not tuple.index: a plant has a thousand deciders.
        return {agent: k for k, agent in enumerate(self.agents)}
