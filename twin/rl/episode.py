"""What the Gymnasium and PettingZoo environments share: resolving a scenario into its
decision area's learning interface once, and running one episode as a decision stream.

An environment is made of a registered scenario (any domain's, a third party's too);
its main decision area's :class:`~twin.core.learning.LearningInterface` says how the
deciders see, answer and are rewarded. The spaces are read from a world built (not run)
at construction; every episode is one :class:`~twin.rl.stream.DecisionStream` on the
episode's seed, so ``reset(seed=s)`` sees exactly the world ``twin run --seed s`` sees.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.core.domain import DecisionArea, Domain
from twin.core.learning import LearningInterface, Reward
from twin.core.policy import BindsModel, PolicyContext
from twin.core.registry import Registry, UnknownIdError
from twin.core.run import default_registry, prepare_run, resolve_policy
from twin.core.scenario import ScenarioConfig
from twin.rl.stream import DecisionStream, Seat

ENV_NAMESPACE = "twin"
"""Gymnasium namespace of twin's environments: ``twin/acme-line-v0`` is ``acme/line-v0``."""


def env_id(scenario_id: str) -> str:
    """The Gymnasium id of a scenario: its id under twin's namespace, ``/`` as ``-``
    (Gymnasium's ids allow one ``/``, between namespace and name)."""
    return f"{ENV_NAMESPACE}/{scenario_id.replace('/', '-')}"


class EnvConfigError(ValueError):
    """An environment asked for something its scenario cannot give (one line, naming the
    environment, what is wrong and what is allowed)."""


@dataclass(frozen=True)
class EnvSetup:
    """A scenario resolved for learning: its area, interface, reward and deciders."""

    name: str
    config: ScenarioConfig
    registry: Registry
    domain: Domain[Any]
    area: DecisionArea
    interface: LearningInterface[Any]
    reward: Reward
    agents: tuple[str, ...]
    observation_spaces: dict[str, spaces.Box]
    action_spaces: dict[str, spaces.Discrete]


def resolve(
    scenario: str,
    *,
    params: dict[str, Any] | None = None,
    horizon_s: float | None = None,
    warmup_s: float = 0.0,
    reward: str | None = None,
    registry: Registry | None = None,
) -> EnvSetup:
    """The setup of an environment on ``scenario``; :class:`EnvConfigError` when the
    scenario is unknown, has no learning interface or the reward is not one of its own."""
    registry = registry if registry is not None else default_registry()
    name = env_id(scenario)
    try:
        scenario_cls = registry.scenario(scenario)
        domain = registry.domain(scenario_cls.domain)
    except UnknownIdError as error:
        raise EnvConfigError(f"{name}: {error}") from None
    area = domain.area(scenario_cls.domain)
    if area.learning is None:
        raise EnvConfigError(
            f"{name}: decision area {area.name!r} of scenario {scenario!r} has no learning "
            "interface (DecisionArea.learning), so it has no Gymnasium environment"
        )
    interface = area.learning()
    try:
        chosen = interface.reward(reward)
    except KeyError as error:
        raise EnvConfigError(f"{name}: {error.args[0]}") from None
    horizon = horizon_s if horizon_s is not None else interface.episode_s
    if not (math.isfinite(horizon) and horizon > warmup_s >= 0.0):
        raise EnvConfigError(
            f"{name}: horizon_s must be finite and greater than warmup_s >= 0 "
            f"(got horizon_s={horizon}, warmup_s={warmup_s})"
        )
    config = ScenarioConfig(
        id=scenario, params=dict(params or {}), horizon_s=horizon, warmup_s=warmup_s
    )
    # A world built but not run: the deciders and their spaces. Its warnings are the
    # episodes' to give (each builds its own world); this one only looks.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = prepare_run(config, Seat(scenario_cls.domain), 0, registry=registry)
    model = domain.model_of(built.world)
    agents = tuple(interface.agents(model))
    why = interface.never_asked(model) if interface.never_asked is not None else None
    if not agents:
        because = f": {why}" if why else ""
        raise EnvConfigError(
            f"{name}: the scenario's world has no decider of {area.name!r}{because}"
        )
    if why:
        raise EnvConfigError(f"{name}: {why}")
    return EnvSetup(
        name=name,
        config=config,
        registry=registry,
        domain=domain,
        area=area,
        interface=interface,
        reward=chosen,
        agents=agents,
        observation_spaces={a: interface.observation_space(model, a) for a in agents},
        action_spaces={a: interface.action_space(model, a) for a in agents},
    )


class Episode:
    """One run of the setup's scenario on one seed, decision by decision.

    With a ``learner``, only that decider's turns are handed out; every other decider is
    answered by ``others`` (a policy id, the decision area's baseline when ``None``),
    which draws from its own named stream as it would in any run.
    """

    def __init__(
        self, setup: EnvSetup, seed: int, learner: str | None = None, others: str | None = None
    ) -> None:
        self.setup = setup
        self.stream = DecisionStream(setup.config, seed, registry=setup.registry)
        self.model = setup.domain.model_of(self.stream.world)
        self.learner = learner
        self.others = _others_policy(setup, self.stream, others) if learner else None
        agents = tuple(setup.interface.agents(self.model))
        if agents != setup.agents:
            self.stream.close()
            raise EnvConfigError(
                f"{setup.name}: seed {seed} builds other deciders than the environment's "
                "spaces were made for (a scenario whose network depends on the seed cannot "
                "be one environment)"
            )
        self.observation: Any = None
        self.agent = ""
        self.turn: Sequence[Any] = []
        """The observation of every decision handed out by :meth:`next_turn`."""
        self.turn_agents: list[str] = []
        """Whose each of them is."""
        self.finished = False

    def next(self) -> bool:
        """Run to the next decision (the learner's, with one); ``False`` when the horizon
        is reached."""
        entity_of = self.setup.area.entity_of
        while (observation := self.stream.next()) is not None:
            agent = entity_of(observation)
            if self.others is None or agent == self.learner:
                self.observation = observation
                self.agent = agent
                return True
            self.stream.answer(self.others.act(observation))
        self.finished = True
        return False

    def next_turn(self) -> bool:
        """Run to the next instant with decisions and hand out all of them (:attr:`turn`;
        several where the domain asks deciders due together at once); ``False`` when the
        horizon is reached. Every decider's turn is handed out (no learner)."""
        assert self.others is None, "next_turn hands out every decider's turn"
        observations = self.stream.next_turn()
        if observations is None:
            self.turn, self.turn_agents = [], []
            self.finished = True
            return False
        self.turn = observations
        named = getattr(observations, "entities", None)  # a NamedTurn names its own
        if named is not None:
            self.turn_agents = list(named)
        else:
            entity_of = self.setup.area.entity_of
            self.turn_agents = [entity_of(observation) for observation in observations]
        return True

    def encoded(self, observation: Any = None) -> npt.NDArray[np.float32]:
        """An observation (the pending decision's if omitted) as its agent's vector."""
        chosen = self.observation if observation is None else observation
        return self.setup.interface.encode(self.model, chosen)

    def encoded_all(self, observations: Sequence[Any]) -> list[npt.NDArray[np.float32]]:
        """Observations handed out together (a turn's), each as its agent's vector."""
        return self.setup.interface.encode_all(self.model, observations)

    def answer(self, index: int, observation: Any = None) -> None:
        """Answer a decision (the pending one if ``observation`` is omitted; a turn's in
        its order) with the action ``index`` means."""
        chosen = self.observation if observation is None else observation
        self.stream.answer(self.setup.interface.decode(self.model, chosen, index))

    def answer_turn(self, indices: Sequence[int]) -> None:
        """Answer every decision of the turn, in its order, with the actions ``indices``
        mean (decoded together: a domain may apply them at once)."""
        self.stream.answer_turn(self.setup.interface.decode_all(self.model, self.turn, indices))

    def measure(self, agent: str | None) -> float:
        """The reward's measure now, of ``agent`` (``None``: the whole world)."""
        return float(self.setup.reward.measure(self.stream.world, self.model, agent))

    def measures(self, agents: Sequence[str]) -> list[float]:
        """The reward's measure now of each of ``agents``."""
        return self.setup.reward.measures(self.stream.world, self.model, agents)

    def ledger(self) -> dict[str, float]:
        """Money, energy and emissions booked so far."""
        ledger = self.stream.world.ledger
        return {
            "cost": ledger.cost(),
            "energy_kwh": ledger.energy_kwh(),
            "co2e_kg": ledger.co2e_kg(),
        }

    def now_s(self) -> float:
        return float(self.stream.world.env.now)

    def kpis(self) -> dict[str, float]:
        """The finished run's KPIs."""
        return {name: kpi.value for name, kpi in self.stream.result().kpis.items()}

    def close(self) -> None:
        self.stream.close()


def _others_policy(setup: EnvSetup, stream: DecisionStream, reference: str | None) -> Any:
    """The policy answering every decider but the learner, reset as a run resets it."""
    reference = reference or setup.area.baseline
    policy = resolve_policy(reference, {}, setup.registry, setup.name)
    if policy.domain != setup.area.name:
        raise EnvConfigError(
            f"{setup.name}: others policy {reference!r} decides in {policy.domain!r}, "
            f"not {setup.area.name!r}"
        )
    world = stream.world
    scenario = stream.run.scenario
    policy.reset(
        PolicyContext(
            scenario_id=scenario.id,
            rng=world.streams[f"policy.{policy.id}"],
            info=scenario.policy_info(),
        )
    )
    if isinstance(policy, BindsModel):
        policy.bind(world)
    return policy


def check_index(setup: EnvSetup, agent: str, action: Any, space: spaces.Discrete) -> int:
    """``action`` as an index of ``space``; ``ValueError`` naming the environment, the
    agent and the value when it is not one."""
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action.item()
    # Discrete.contains would do the same through np.asarray, at 7 us a step.
    if (
        not isinstance(action, int | np.integer)
        or isinstance(action, bool)
        or not space.start <= action < space.start + space.n
    ):
        raise ValueError(
            f"{setup.name}: agent {agent!r}: action {action!r} is outside its action space "
            f"{space} (an int in [{space.start}, {space.start + space.n}))"
        )
    return int(action)


def seed_from(generator: np.random.Generator) -> int:
    """A root seed for an episode reset without one (from the env's own generator)."""
    return int(generator.integers(0, 2**31 - 1))
