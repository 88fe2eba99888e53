"""An interactive run: step, reset with a seed, two policies in lock-step, inspection.

:class:`Session` is the model a user interface binds to (the browser app, the GIF
recorder): it owns one or two runs built by :func:`twin.core.run.prepare_run` on the
same seed, so both policy arms see the same arrivals, failures and demand (common
random numbers), and it never draws anything itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twin.core.domain import Domain
from twin.core.errors import RunFailure
from twin.core.policy import Policy, PolicySwitch
from twin.core.registry import Registry
from twin.core.run import (
    PreparedRun,
    default_registry,
    ledger_kpis,
    prepare_run,
    resolve_policy,
)
from twin.core.scenario import KPI, ScenarioConfig
from twin.core.scene import Panel

EXTRA_KPIS = ("cost_total", "co2e_kg")
"""Every report leads with the scenario's headline KPIs plus cost and emissions."""


class PolicyWrapper(PolicySwitch):
    """A policy wrapping another: same id, domain and params; every method forwarded
    explicitly (no ``__getattr__``), so a subclass overrides exactly one of them. The
    engine's :class:`~twin.core.policy.PolicySwitch`, whose policy a session never
    switches."""


@dataclass(frozen=True)
class Decision:
    """One call of a policy: what it saw and what it answered."""

    now_s: float
    observation: Any
    action: Any


class RecordingPolicy(PolicyWrapper):
    """Keeps the latest observation and action per entity (machine, intersection).

    Args:
        policy: the policy to record.
        entity_of: the name of the entity an observation is about (the decision area's
            :attr:`~twin.core.domain.DecisionArea.entity_of`).
    """

    def __init__(self, policy: Policy[Any, Any], entity_of: Callable[[Any], str]) -> None:
        super().__init__(policy)
        self.entity_of = entity_of
        self.last: dict[str, Decision] = {}
        self.decisions = 0

    def act(self, obs: Any) -> Any:
        action = self.policy.act(obs)
        self.decisions += 1
        self.last[self.entity_of(obs)] = Decision(
            float(getattr(obs, "now_s", math.nan)), obs, action
        )
        return action


@dataclass
class Arm:
    """One policy's run in a session."""

    policy_ref: str
    run: PreparedRun
    recorder: RecordingPolicy
    label: str
    """What the page, the charts and the recordings call this arm (:func:`arm_labels`)."""
    warmed_up: bool = False

    @property
    def world(self) -> Any:
        return self.run.world


@dataclass
class Session:
    """One run, or two policies on the same seed in lock-step (compare mode).

    Args:
        config: scenario, params, horizon, warm-up and display tick (``tick_s``).
        policies: one policy id (a run) or two (compare mode: first is the baseline).
        seed: root seed of both arms.
        policy_params: parameters of each policy, by position (``None``: defaults).
        source: where the config came from, for error messages.
        names: each arm's name, by position (an experiment's arm: ``all-ai``), shown
            instead of its policy id; ``None`` or missing: named by :func:`arm_labels`.
    """

    config: ScenarioConfig
    policies: list[str]
    seed: int = 0
    policy_params: list[dict[str, Any] | None] = field(default_factory=list)
    source: str = "<session>"
    names: list[str | None] = field(default_factory=list)
    arms: list[Arm] = field(init=False, default_factory=list)
    failure: RunFailure | None = field(init=False, default=None)
    """Why the run stopped before its horizon: a policy raised or did not answer."""
    domain: Domain[Any] = field(init=False, repr=False)
    _registry: Registry = field(init=False, repr=False, default_factory=default_registry)

    def __post_init__(self) -> None:
        if not 1 <= len(self.policies) <= 2:
            raise ValueError(f"a session runs one or two policies, got {len(self.policies)}")
        self.reset(self.seed)

    # -- control ------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Build every arm afresh (on ``seed`` if given): the clock returns to zero."""
        if seed is not None:
            self.seed = seed
        self.arms = []
        self.failure = None
        scenario_cls = self._registry.scenario(self.config.id)
        self.domain = self._registry.domain(scenario_cls.domain)
        every_params = [_at(self.policy_params, k) for k in range(len(self.policies))]
        names = [_at(self.names, k) for k in range(len(self.policies))]
        labels = arm_labels(self.policies, every_params, names)
        for k, ref in enumerate(self.policies):
            params = every_params[k]
            policy = resolve_policy(ref, params or {}, self._registry, self.source)
            # The recorder has the policy's id, so prepare_run gives it the same named
            # stream: a watched run draws exactly the random numbers of an unwatched one.
            # An incompatible policy is refused by prepare_run with a clear message.
            entity_of = (
                self.domain.area(policy.domain).entity_of
                if self.domain.owns(policy.domain)
                else _no_entity
            )
            recorder = RecordingPolicy(policy, entity_of)
            run = prepare_run(
                self.config, recorder, self.seed, registry=self._registry, source=self.source
            )
            self.arms.append(Arm(ref, run, recorder, labels[k]))
        try:  # now, not at the first frame
            self.domain.model_of(self.arms[0].world)
        except LookupError as error:
            raise LookupError(
                f"scenario {self.config.id!r} has no domain view: the {self.domain.name} "
                f"domain draws its model, and {error.args[0]}"
            ) from None

    def step(self, n: int = 1) -> None:
        """Advance every arm by ``n`` display ticks, arm by arm, tick by tick."""
        for _ in range(n):
            self.advance(self.config.tick_s)

    def advance(self, seconds: float) -> None:
        """Advance every arm by ``seconds`` of simulated time (to the horizon at most).

        Stopping a run at any instant and going on gives the run that never stopped
        (the engine's clock is exact), so a view may step in pieces of a tick.

        Raises:
            RunFailure: a policy raised or did not answer within the decision limit
                (one line, kept in :attr:`failure`; the run goes no further).
        """
        if self.done:
            return
        for arm in self.arms:
            try:
                _advance(arm, self.config, seconds)
            except RunFailure as failure:
                self.failure = failure
                raise

    @property
    def now_s(self) -> float:
        return self.arms[0].world.now_s

    @property
    def tick_s(self) -> float:
        return self.config.tick_s

    @property
    def done(self) -> bool:
        """The horizon is reached, or the run failed: stepping further does nothing."""
        return self.failure is not None or self.now_s >= self.config.horizon_s - 1e-9

    @property
    def compare(self) -> bool:
        return len(self.arms) == 2

    # -- reading ------------------------------------------------------------------
    @property
    def headline(self) -> tuple[str, ...]:
        scenario = self.arms[0].run.scenario
        names = tuple(scenario.headline_kpis)
        return names + tuple(k for k in EXTRA_KPIS if k not in names)

    def kpis(self, arm: int = 0) -> dict[str, KPI]:
        """All KPIs of an arm so far (energy of states in progress booked up to now)."""
        run = self.arms[arm].run
        if run.world.now_s <= run.world.warmup_s:
            return {}  # no time measured yet: rates and means are undefined
        run.world.flush()
        return {**run.scenario.kpis(run.world), **ledger_kpis(run.world)}

    def headline_kpis(self, arm: int = 0) -> dict[str, float]:
        kpis = self.kpis(arm)
        return {
            name: float(kpis[name].value) if name in kpis else math.nan for name in self.headline
        }

    def difference(self) -> dict[str, float]:
        """Second arm minus first, per headline KPI (compare mode only)."""
        if not self.compare:
            raise ValueError("difference() needs two policies (compare mode)")
        base, other = self.headline_kpis(0), self.headline_kpis(1)
        return {name: other[name] - base[name] for name in base if name in other}

    def panels(self, arm: int = 0) -> tuple[Panel, ...]:
        """What an arm is watched in, side by side: its scenario's panels (a region: its
        plant, city and network), or one panel of its domain's view (named ``map``).
        The page and the recordings both draw these."""
        world = self.arms[arm].world
        panels = self.arms[arm].run.scenario.panels(world)
        return panels or (Panel("map", "", self.domain.view_of(world)),)

    def inspect(self, entity: str, arm: int = 0) -> dict[str, Any]:
        """What is known of an entity (``machine:3``, ``intersection:B2``, ``belt``): the
        truth the engine holds, its latest sensor readings, and the policy's last decision
        about it.

        Raises:
            ValueError: the world has no entity of that name.
        """
        selected = self.arms[arm]
        try:
            found = selected.world.entity(entity)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
        info = found.inspect()
        info["last_decision"] = selected.recorder.last.get(entity)
        return info


def arm_labels(
    policies: list[str], params: list[dict[str, Any] | None], names: list[str | None]
) -> list[str]:
    """What each arm is called: its name if it has one (an experiment's arm), else its
    policy id, marked ``(params)`` when it runs with params of its own, since then the
    id alone does not say which set of policies runs (a region's ``policy-set-v0``).
    Two arms of one policy with different params are numbered, so a viewer can still
    tell them apart."""
    labels = [
        name or (f"{policy} (params)" if given else policy)
        for policy, given, name in zip(policies, params, names, strict=True)
    ]
    if len(set(labels)) < len(labels) and len({_canonical(p) for p in params}) > 1:
        labels = [f"{label} #{k + 1}" for k, label in enumerate(labels)]
    return labels


def _canonical(params: dict[str, Any] | None) -> str:
    return json.dumps(params or {}, sort_keys=True, default=str)


def _at(values: list[Any], k: int) -> Any:
    return values[k] if k < len(values) else None


def _no_entity(obs: Any) -> str:
    return "policy"


def _advance(arm: Arm, config: ScenarioConfig, seconds: float) -> None:
    # Watched as `twin run` is: a policy that raises or hangs ends the run with one line.
    with arm.run.watched(report_failures=True):
        _run_on(arm, config, seconds)


def _run_on(arm: Arm, config: ScenarioConfig, seconds: float) -> None:
    world = arm.world
    target = min(world.now_s + seconds, config.horizon_s)
    if not arm.warmed_up and config.warmup_s > 0 and world.now_s < config.warmup_s <= target:
        world.run_to(config.warmup_s)
        world.end_warmup()
        arm.warmed_up = True
    if target > world.now_s:
        world.run_to(target)
