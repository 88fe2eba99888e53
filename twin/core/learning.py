"""How a learning agent sees, answers and is rewarded in one decision area.

A domain's observation and action types (:class:`~twin.core.domain.DecisionArea`) are
written for people and hand-written policies: named fields, arrays as long as an
intersection has movements, NaN where a sensor has dropped out. A neural network wants a
fixed-size vector of finite numbers and a small set of choices. A
:class:`LearningInterface` is that translation, written once per decision area next to
the domain (``twin/<domain>/learning.py``) and read by :mod:`twin.rl`'s Gymnasium and
PettingZoo environments, which never name a domain:

- ``agents(model)``: the deciders of a built world, named as
  :attr:`~twin.core.domain.DecisionArea.entity_of` names the entity an observation is
  about (one intersection, one machine, one site);
- ``observation_space(model, agent)`` and ``encode(model, observation)``: a 1-D ``float32``
  ``Box`` and the observation as a vector inside it (a missing reading becomes a value
  and a mask flag, never NaN);
- ``action_space(model, agent)`` and ``decode(model, observation, action)``: a
  ``Discrete`` space and the domain action an index means;
- ``rewards``: named :class:`Reward` functions of the world's state, selectable by name.

Where many agents take their turn at one instant (every intersection of a city on one
decision grid), a decision area may also give ``encode_each``, ``decode_each`` and a
reward's ``measure_each``: the same numbers and actions for all of them in one pass,
which an environment then uses instead of one call per agent (the domain may hand its
turn's observations as one batch, and apply the batch of actions at once).

Needs ``gymnasium`` (the ``rl`` extra) only when spaces are built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from twin.core.world import World

if TYPE_CHECKING:
    from gymnasium import spaces

ModelT = TypeVar("ModelT")

RewardKind = Literal["drop", "level"]
"""``"drop"``: the reward of a turn is how much a running total fell since the agent's
previous turn (a cost, accumulated waiting time); ``"level"``: the reward is the measure
at the turn itself (minus the queue, pressure)."""


@dataclass(frozen=True)
class Reward:
    """A named reward, a function of the world's state.

    Attributes:
        name: selectable in an environment's config (``reward="queue"``).
        description: one line for the reference page, with its source (sumo-rl's names
            and definitions where the reward is sumo-rl's).
        measure: ``(world, model, agent)`` -> the quantity; ``agent`` is ``None`` for the
            whole world (a single-agent environment's reward).
        kind: how a turn's reward follows from the measure (:data:`RewardKind`).
        scale: the reward is the measure's change (or level) times this (sumo-rl divides
            accumulated waiting time by 100).
        measure_each: optional, ``(world, model, agents)`` -> the measure of each agent,
            equal to ``measure`` of each, in one pass (see the module's docstring).
    """

    name: str
    description: str
    measure: Callable[[World, Any, str | None], float]
    kind: RewardKind
    scale: float = 1.0
    measure_each: Callable[[World, Any, Sequence[str]], npt.NDArray[np.float64]] | None = None

    def measures(self, world: World, model: Any, agents: Sequence[str]) -> list[float]:
        """The measure of each of ``agents`` now (``measure_each`` where there is one)."""
        if self.measure_each is None:
            return [float(self.measure(world, model, agent)) for agent in agents]
        return [float(value) for value in self.measure_each(world, model, agents)]

    def value(self, before: float, now: float) -> float:
        """The reward of a turn whose measure was ``before`` at the agent's previous turn
        and is ``now``."""
        if self.kind == "drop":
            return (before - now) * self.scale
        return now * self.scale


@dataclass(frozen=True)
class LearningInterface(Generic[ModelT]):
    """One decision area as a learning agent sees it (see the module's docstring).

    Attributes:
        agents: ``(model)`` -> the deciders' names, in a fixed order.
        observation_space: ``(model, agent)`` -> a 1-D ``float32`` ``Box``.
        encode: ``(model, observation)`` -> the observation as a vector in the space of
            the agent it is about.
        action_space: ``(model, agent)`` -> a ``Discrete`` space.
        decode: ``(model, observation, index)`` -> the domain action the index means for
            the agent the observation is about.
        rewards: name -> :class:`Reward`.
        default_reward: the reward used when a config names none.
        episode_s: simulated seconds of an episode when the environment is made without
            a horizon (a day unless the domain says otherwise).
        description: one line for the reference page: what the vector holds and what the
            choices are.
        never_asked: ``(model)`` -> why the deciders of this built world will never be
            asked (one line that says what to change), or ``None``; the environment
            refuses such a world when it is made rather than find no decision later.
        encode_each: optional, ``(model, observations)`` -> the vector of each, equal to
            ``encode`` of each, in one pass (see the module's docstring).
        decode_each: optional, ``(model, observations, indices)`` -> the action of each,
            equal to ``decode`` of each, in one pass (a sequence the domain may apply at
            once).
    """

    agents: Callable[[ModelT], tuple[str, ...]]
    observation_space: Callable[[ModelT, str], spaces.Box]
    encode: Callable[[ModelT, Any], npt.NDArray[np.float32]]
    action_space: Callable[[ModelT, str], spaces.Discrete]
    decode: Callable[[ModelT, Any, int], Any]
    rewards: Mapping[str, Reward]
    default_reward: str
    episode_s: float = 86_400.0
    description: str = ""
    never_asked: Callable[[ModelT], str | None] | None = None
    encode_each: Callable[[ModelT, Sequence[Any]], list[npt.NDArray[np.float32]]] | None = None
    decode_each: Callable[[ModelT, Sequence[Any], Sequence[int]], Sequence[Any]] | None = None

    def encode_all(
        self, model: ModelT, observations: Sequence[Any]
    ) -> list[npt.NDArray[np.float32]]:
        """The vector of each observation (``encode_each`` where there is one)."""
        if self.encode_each is None:
            return [self.encode(model, observation) for observation in observations]
        return self.encode_each(model, observations)

    def decode_all(
        self, model: ModelT, observations: Sequence[Any], indices: Sequence[int]
    ) -> Sequence[Any]:
        """The action each index means for its observation (``decode_each`` where there
        is one)."""
        if self.decode_each is None:
            return [self.decode(model, o, k) for o, k in zip(observations, indices, strict=True)]
        return self.decode_each(model, observations, indices)

    def reward(self, name: str | None) -> Reward:
        """The reward called ``name`` (the default for ``None``); ``KeyError`` naming the
        rewards there are when there is none of that name."""
        chosen = self.default_reward if name is None else name
        if chosen not in self.rewards:
            known = ", ".join(sorted(self.rewards))
            raise KeyError(f"unknown reward {chosen!r}; this decision area has: {known}")
        return self.rewards[chosen]


def ledger_cost(world: World, model: object, agent: str | None) -> float:
    """Money booked so far (the whole world's: costs are shared by every agent)."""
    return world.ledger.cost()


COST = Reward(
    name="cost",
    description="minus the money booked since the agent's previous turn (whole world)",
    measure=ledger_cost,
    kind="drop",
)
"""The reward of every domain whose KPI is a cost in the ledger."""
