"""The domain contract: each domain describes itself once, everything generic reads it.

Gymnasium builds its checker from what an environment declares; twin does the same for
domains. A :class:`Domain` (one per folder, ``twin/<domain>/domain.py``, registered
through the entry-point group ``twin.domains``) declares the kinds of decision its
policies make (:class:`DecisionArea`: observation and action types with the meaning of
each field, one action checker, the edge cases and generated observations a policy must
survive, a short run to try a policy in), the invariants its world keeps, how its
scenarios are property-tested, how its world is drawn (:mod:`twin.core.scene`) and which
way each KPI is better. ``twin.testing``, ``viz`` and the reference pages iterate over
registered domains and never name one; a third-party domain is one folder and one entry
point.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from twin.core.ledger import ledger_kpi_is_cost
from twin.core.scenario import ScenarioConfig
from twin.core.scene import View
from twin.core.world import World

if TYPE_CHECKING:
    from gymnasium import spaces

    from twin.core.learning import LearningInterface
    from twin.core.live import LiveInterface

ModelT = TypeVar("ModelT")


@dataclass(frozen=True)
class Deferred:
    """A function named ``"package.module:function"``, imported when first called.

    A domain's contract points at its hypothesis strategies and edge cases this way, so
    importing the contract imports neither hypothesis nor anything else the checkers
    need (``edge_cases=Deferred("twin.station.kit:station_edge_cases")``).
    """

    reference: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module_name, _, name = self.reference.partition(":")
        function = getattr(importlib.import_module(module_name), name)
        return function(*args, **kwargs)


Better = Literal["lower", "higher"]
"""Which way a KPI improves."""


@dataclass(frozen=True)
class Quantity:
    """What one field of an observation or action means: its unit and valid range.

    Attributes:
        unit: SI unit (``"s"``, ``"m"``, ``"mm/s"``, ``"kWh"``); ``""`` for counts,
            flags and labels.
        low, high: the range a valid value lies in (inclusive); a sensor reading may
            also be NaN (dropout) when ``missing`` says so.
        choices: the values a label (``str``) field takes.
        missing: NaN (or ``None``) is a valid value: no reading yet, a dropout.
        description: one line for the reference page.
    """

    unit: str = ""
    low: float = -math.inf
    high: float = math.inf
    choices: tuple[str, ...] = ()
    missing: bool = False
    description: str = ""


@dataclass(frozen=True)
class DecisionArea:
    """One kind of decision a domain's policies make (a ``Policy.domain``).

    Attributes:
        name: the policy domain, e.g. ``"factory.maintenance"``.
        observation: the type a policy is given (a ``NamedTuple``).
        action: the type a policy answers.
        check_action: ``(action, observation, policy_id)`` -> the action as the domain
            will carry it out; raises :class:`~twin.core.policy.InvalidActionError` when
            the domain would refuse it.
        entity_of: the name of the entity (agent) an observation is about, so a view
            can show each entity's last decision.
        edge_cases: observations every policy must answer, tried before generated ones.
        observations: a hypothesis strategy for valid generated observations (built on
            call, so hypothesis is imported only where policies are checked); the
            checkers try the edge cases first and mix them in.
        run_config: ``(policy reference)`` -> the scenario config and the policy (id or
            reference) of a short run in which the policy decides; the policy being
            checked is run in place of ``None``.
        context_info: the facts a run gives the policy at reset; the run scenario's
            ``policy_info()`` when ``None``.
        observation_fields, action_fields: field name -> its meaning; also what the
            Gymnasium spaces are derived from.
        baseline: id of the simplest policy of the area (shown on the reference page).
        description: one line for the reference page.
        check_policy_s: wall time of ``check_policy`` on the baseline (default
            arguments, compiled kernels cached), as measured on the machine the page
            names; ``None``: not measured.
        notes: what a policy's author must know that no single field says (who decides,
            how the domain carries an answer out, what the observation leaves out), one
            sentence or two each, listed on the reference page.
        epochs: when the domain asks a policy of this area, in one plain sentence:
            event-driven on what, or periodic with which period key (shown on the
            reference page above the count measured in a short run).
        learning: ``()`` -> how a learning agent sees, answers and is rewarded
            (:class:`~twin.core.learning.LearningInterface`), usually a
            :class:`Deferred`; ``None``: the area has no Gymnasium environment.
    """

    name: str
    observation: type[Any]
    action: type[Any]
    check_action: Callable[[object, Any, str], object]
    entity_of: Callable[[Any], str]
    edge_cases: Callable[[], Sequence[Any]]
    observations: Callable[[], Any]
    run_config: Callable[[str], tuple[ScenarioConfig, str | None]]
    context_info: Callable[[], dict[str, Any]] | None = None
    observation_fields: Mapping[str, Quantity] = field(default_factory=dict)
    action_fields: Mapping[str, Quantity] = field(default_factory=dict)
    baseline: str = ""
    description: str = ""
    notes: tuple[str, ...] = ()
    check_policy_s: float | None = None
    epochs: str = ""
    learning: Callable[[], LearningInterface[Any]] | None = None

    def observation_space(self) -> spaces.Space[Any]:
        """The Gymnasium space of :attr:`observation` (needs the ``rl`` extra)."""
        from twin.core.spaces import space_of

        space: spaces.Space[Any] = space_of(self.observation, self.observation_fields)
        return space

    def action_space(self) -> spaces.Space[Any]:
        """The Gymnasium space of :attr:`action` (needs the ``rl`` extra)."""
        from twin.core.spaces import space_of

        space: spaces.Space[Any] = space_of(self.action, self.action_fields)
        return space


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CLOCK_UNITS = {"s": 1.0, "min": 60.0, "h": 3_600.0, "d": 86_400.0}


@dataclass(frozen=True)
class Clock:
    """How a domain's time reads to people: traffic in seconds, a plant in hours, a
    supply chain in days (with its weekday: its day 0 is a Monday).

    Attributes:
        unit: the natural unit of the domain's clock (``"s"``, ``"min"``, ``"h"``, ``"d"``).
        display_tick_s: simulated seconds per display tick a view starts with: one
            tick should show something change (a supply chain reviews once a day).
        weekday_of_day0: the weekday of simulated day 0 (0 = Monday) where the domain
            has a calendar; ``None`` where it has none.
    """

    unit: Literal["s", "min", "h", "d"] = "s"
    display_tick_s: float = 60.0
    weekday_of_day0: int | None = None

    def in_unit(self, now_s: float) -> float:
        """``now_s`` in :attr:`unit`."""
        return now_s / CLOCK_UNITS[self.unit]

    def format(self, now_s: float) -> str:
        """``now_s`` as people of the domain read it: ``"day 12 (Saturday) 06:00"``,
        ``"36.50 h"``, ``"1,234 s"``."""
        if self.unit == "d":
            day, rest = divmod(now_s, 86_400.0)
            hours, minutes = divmod(int(rest // 60), 60)
            weekday = (
                ""
                if self.weekday_of_day0 is None
                else f" ({WEEKDAYS[(int(day) + self.weekday_of_day0) % 7]})"
            )
            return f"day {int(day)}{weekday} {hours:02d}:{minutes:02d}"
        if self.unit == "h":
            return f"{self.in_unit(now_s):,.2f} h"
        if self.unit == "min":
            return f"{self.in_unit(now_s):,.1f} min"
        return f"{now_s:,.0f} s"


@dataclass(frozen=True)
class ScenarioChecks:
    """How ``check_scenario`` exercises one scenario.

    Attributes:
        params: a hypothesis strategy for the scenario's ``params`` (small, valid
            worlds), built on call; ``None``: the default params only.
        horizon_s: how long each generated run lasts.
        check_period_s: simulated seconds between invariant checks.
    """

    params: Callable[[], Any] | None = None
    horizon_s: float = 86_400.0
    check_period_s: float = 600.0


@dataclass(frozen=True)
class Domain(Generic[ModelT]):
    """Everything generic code needs to know about one domain.

    Attributes:
        name: the folder's name, e.g. ``"factory"``.
        description: one line for listings and the reference page.
        model: the agent type that holds a built scenario's world (``Plant``, ``City``);
            :meth:`model_of` finds it among the world's agents.
        areas: the decisions its policies make.
        invariants: ``(model, world)`` -> the violations of the domain's invariants
            (empty when all hold); checked while generated scenarios run.
        invariant_rules: one line per invariant, for the reference page.
        view: ``(model)`` -> how its world is drawn (layout once, a frame per tick).
        scenario_checks: scenario id -> how to property-test it; a scenario of the
            domain not listed is run with its default params for a day.
        kpis: KPI name -> which way it is better (``"lower"`` or ``"higher"``); KPIs not
            listed have no better direction (counts, configuration echoes).
        clock: how the domain's time reads and the display tick its view starts with.
        live: ``()`` -> how a live twin measures, estimates and corrects this domain's
            world (:class:`~twin.core.live.LiveInterface`), usually a :class:`Deferred`;
            ``None``: the domain cannot be shadowed.
    """

    name: str
    description: str
    model: type[ModelT]
    areas: tuple[DecisionArea, ...]
    invariants: Callable[[ModelT, World], list[str]]
    view: Callable[[ModelT], View]
    invariant_rules: tuple[str, ...] = ()
    scenario_checks: Mapping[str, ScenarioChecks] = field(default_factory=dict)
    kpis: Mapping[str, Better] = field(default_factory=dict)
    clock: Clock = Clock()
    live: Callable[[], LiveInterface[Any]] | None = None

    def area(self, name: str) -> DecisionArea:
        """The decision area called ``name`` (``KeyError`` if the domain has none)."""
        for area in self.areas:
            if area.name == name:
                return area
        raise KeyError(f"domain {self.name!r} has no decision area {name!r}")

    def owns(self, area_name: str) -> bool:
        """Whether ``area_name`` (a policy's or scenario's ``domain``) is one of ours."""
        return area_name == self.name or any(a.name == area_name for a in self.areas)

    def model_of(self, world: World) -> ModelT:
        """The domain's model agent in a built world."""
        return world.the(self.model)

    def check_world(self, world: World) -> list[str]:
        """The violations of the domain's invariants in a built world."""
        return self.invariants(self.model_of(world), world)

    def view_of(self, world: World) -> View:
        """The view of a built world."""
        return self.view(self.model_of(world))

    def better(self, kpi: str) -> Better | None:
        """Which way ``kpi`` improves: the domain's word, ``"lower"`` for the ledger's
        money, energy and emissions, ``None`` when neither way is better."""
        if kpi in self.kpis:
            return self.kpis[kpi]
        return "lower" if ledger_kpi_is_cost(kpi) else None

    def checks_for(self, scenario_id: str) -> ScenarioChecks:
        """How to property-test a scenario: its own entry, else a day at default params."""
        return self.scenario_checks.get(scenario_id, ScenarioChecks())
