"""The policy protocol: small decision-makers separate from the world (Gymnasium's split).

Each domain defines its typed observation and action and the decision epochs at which it
calls :meth:`Policy.act`. Baselines and AI policies implement the same protocol.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

ObsT_contra = TypeVar("ObsT_contra", contravariant=True)
ActT_co = TypeVar("ActT_co", covariant=True)


class PolicyParams(BaseModel):
    """Base of a policy's parameters: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class PolicyContext:
    """What a policy is told when a run starts.

    Attributes:
        scenario_id: the versioned id of the scenario it acts in.
        rng: the policy's own named stream (``policy.<policy id>``); a policy that
            explores or samples draws only from it, never from global random state.
        info: scenario facts a policy may size itself by (e.g. ``{"servers": 2}``).
    """

    scenario_id: str
    rng: np.random.Generator
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Policy(Protocol[ObsT_contra, ActT_co]):
    """A decision rule. ``id`` is versioned (``"admission/queue-cap-v0"``); ``domain``
    names the observation/action family it understands (``"station"``)."""

    id: ClassVar[str]
    domain: ClassVar[str]

    def reset(self, context: PolicyContext) -> None: ...

    def act(self, obs: ObsT_contra) -> ActT_co: ...


@runtime_checkable
class ActsTogether(Protocol):
    """A policy that answers every decision due at one instant in one call (an outside
    learning agent: one PettingZoo step for all the deciders due, as sumo-rl's).

    A domain whose deciders can fall due together (a grid of signals) asks such a policy
    once per instant: it takes every due decider's observation first, then calls
    :meth:`act_together`, then applies the answers in the same order. A decider's
    observation never depends on another's answer at the same instant (no time passes
    between them), so this is the run of answering one at a time.
    """

    def act_together(self, observations: Sequence[Any]) -> Sequence[Any]: ...


class NamedTurn(Protocol):
    """The observations of one instant's decisions, as a domain may hand them to an
    :class:`ActsTogether` policy: a sequence that also names its deciders
    (``entities[k]`` is what the decision area's ``entity_of`` names the ``k``-th
    observation), so a learning environment reads whose turn it is without making
    every observation (:class:`twin.traffic.observation.SignalTurn`)."""

    entities: Sequence[str]

    def __len__(self) -> int: ...

    def __getitem__(self, k: int) -> Any: ...


@runtime_checkable
class BindsModel(Protocol):
    """A policy that reads the built world's fixed structure (a learned agent's encoding
    needs lane lengths, sensor ranges): handed the world once it is built, before the run
    starts. It may read only what does not change in a run; what changes it sees through
    its observations, like every policy."""

    def bind(self, world: Any) -> None: ...


class PolicySwitch:
    """A policy that hands every decision to another, which can be changed while the
    world runs (a live twin's what-if branch, a snapshot's policy history).

    The world is built with the switch, so the entities that ask it never learn that the
    policy behind it changed. Same ``id``, ``domain`` and ``params`` as the policy it holds.
    """

    def __init__(self, policy: Policy[Any, Any]) -> None:
        self.policy = policy
        self.id = policy.id
        self.domain = policy.domain
        self.params = getattr(policy, "params", None)

    def reset(self, context: PolicyContext) -> None:
        self.policy.reset(context)

    def act(self, obs: Any) -> Any:
        return self.policy.act(obs)

    def bind(self, world: Any) -> None:
        if isinstance(self.policy, BindsModel):
            self.policy.bind(world)

    def switch(self, policy: Policy[Any, Any], context: PolicyContext, world: Any) -> None:
        """Answer every later decision with ``policy``: reset with ``context``, handed the
        world if it reads it; ``policy`` must act in the same domain."""
        if policy.domain != self.domain:
            raise ValueError(
                f"cannot switch from a {self.domain!r} policy to {policy.id!r}, "
                f"which acts in {policy.domain!r}"
            )
        policy.reset(context)
        if isinstance(policy, BindsModel):
            policy.bind(world)
        self.policy = policy
        self.id = policy.id
        self.params = getattr(policy, "params", None)


class InvalidActionError(RuntimeError):
    """A policy returned an action the domain cannot carry out.

    Built from its arguments alone (SimPy re-raises a process's exception as
    ``type(error)(*error.args)``).
    """

    def __init__(self, policy_id: str, action: object, reason: str) -> None:
        super().__init__(policy_id, action, reason)
        self.policy_id = policy_id
        self.action = action
        self.reason = reason

    def __str__(self) -> str:
        return f"policy {self.policy_id!r} returned invalid action {self.action!r}: {self.reason}"


Obs = TypeVar("Obs")
Act = TypeVar("Act")


class BasePolicy(ABC, Generic[Obs, Act]):
    """Convenience base: stores the params and the context; subclasses write ``act``."""

    id: ClassVar[str]
    domain: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[PolicyParams]] = PolicyParams

    def __init__(self, params: PolicyParams | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.context: PolicyContext | None = None

    def reset(self, context: PolicyContext) -> None:
        self.context = context

    @abstractmethod
    def act(self, obs: Obs) -> Act: ...
