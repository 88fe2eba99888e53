"""What a scenario is: a parameterised recipe that builds entities into a World."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.core.policy import Policy
from twin.core.scene import Panel
from twin.core.world import World


class ScenarioParams(BaseModel):
    """Base of a scenario's parameters: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class KPI:
    """One key performance indicator of a run, with its unit (SI; money in the currency)."""

    value: float
    unit: str
    description: str = ""


class ScenarioConfig(BaseModel):
    """Which scenario to run, with which parameters, for how long.

    ``params`` stays a plain mapping here; the scenario's own ``Params`` model validates
    it when the run is built, so this model does not depend on the registry.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="registered scenario id, e.g. 'station/mmc-v0'")
    params: dict[str, Any] = Field(default_factory=dict)
    horizon_s: float = Field(gt=0, description="simulated seconds, warm-up included")
    warmup_s: float = Field(default=0.0, ge=0, description="statistics start after this")
    sample_period_s: float | None = Field(
        default=None, gt=0, description="period of the KPI time series; none when omitted"
    )
    tick_s: float = Field(default=60.0, gt=0, description="simulated seconds per view step")

    @model_validator(mode="after")
    def _warmup_inside_horizon(self) -> ScenarioConfig:
        if self.warmup_s >= self.horizon_s:
            raise ValueError(
                f"warmup_s ({self.warmup_s}) must be less than horizon_s ({self.horizon_s})"
            )
        return self


ParamsT = TypeVar("ParamsT", bound=ScenarioParams)


class Scenario(ABC, Generic[ParamsT]):
    """A scenario builds its entities into a world and reads its KPIs back out.

    A new instance serves exactly one run. Subclasses set the class attributes and
    write :meth:`build` and :meth:`kpis`.
    """

    id: ClassVar[str]
    domain: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[ScenarioParams]] = ScenarioParams
    default_policy: ClassVar[str]
    headline_kpis: ClassVar[tuple[str, ...]] = ()
    """The efficiency KPIs a report leads with; cost and emissions are added to them."""

    def __init__(self, params: ParamsT) -> None:
        self.params = params

    def policy_info(self) -> dict[str, Any]:
        """Facts given to the policy at reset (``PolicyContext.info``)."""
        return {}

    @classmethod
    def better(cls, kpi: str) -> Literal["lower", "higher"] | None:
        """Which way ``kpi`` improves, where the scenario knows and its domain's contract
        does not (a scenario joining several domains names their KPIs itself); ``None``:
        the contract says (``Domain.better``)."""
        return None

    def default_horizon_s(self) -> float | None:
        """The horizon the scenario's own inputs define (a SUMO config's ``end - begin``),
        used when a command line gives none; None: no such horizon."""
        return None

    def panels(self, world: World) -> tuple[Panel, ...]:
        """The views a person watches the built run in, side by side; none: the
        domain's own view (:meth:`~twin.core.domain.Domain.view_of`). A scenario that
        joins several domains draws each of them in a panel of its own."""
        return ()

    def manifest(self) -> dict[str, Any]:
        """Facts about the run's inputs for its manifest (``scenario_inputs``): files
        read, elements skipped. JSON-serialisable; empty by default."""
        return {}

    @abstractmethod
    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        """Create the entities and start their processes in ``world``."""

    @abstractmethod
    def kpis(self, world: World) -> dict[str, KPI]:
        """The scenario's KPIs after the run (the ledger's KPIs are added by the runner)."""
