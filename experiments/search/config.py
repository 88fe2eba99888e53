"""Configs of ``twin optimize`` and ``twin calibrate``, in TOML.

An optimisation searches parameters of one scenario and policy for the best mean of a
KPI, subject to limits on the means of others (the conveyor of examples/conveyor)::

    name = "belt speed for throughput"
    seed = 2026

    [scenario]                       # as in a run config: the baseline as written
    id = "conveyor/belt-v0"
    horizon_s = 86_400
    warmup_s = 3_600

    [policy]
    id = "conveyor/slow-when-crowded-v0"

    [parameters]                     # key path -> range (or choices)
    "policy.params.crowded_share" = { low = 0.1, high = 0.9 }

    [objective]
    kpi = "cost_total"               # direction: from the domain contract, or given

    [[constraints]]
    kpi = "delivered_per_h"
    min = 2000.0

    [search]
    trials = 24
    batch = 4

    [replications]
    count = 5

A calibration has the same ``scenario``, ``policy``, ``parameters``, ``search`` and
``replications`` tables and, instead of an objective, the observed ``targets``: KPIs
(``kpi = "throughput_per_h"``) or time series (``probe = "wip"``), each with a weight.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from experiments.config import ExecutorConfig
from twin.core.config import (
    PolicyRef,
    check_numbers,
    validate_strictly,
    validation_error_to_config_error,
)
from twin.core.errors import ConfigError
from twin.core.run import canonical_hash
from twin.core.scenario import ScenarioConfig

KEY_PATTERN = re.compile(r"^(scenario|policy)\.params(\.([A-Za-z0-9_-]+|\*))+$")
"""``scenario.params.<key>...`` or ``policy.params.<key>...``; a list element by its
index (``stations.1``) or every element of a list (``stations.*``)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(Strict):
    """A searched parameter: a range of numbers, or a list of choices."""

    low: float | None = None
    high: float | None = None
    integer: bool = Field(default=False, description="whole numbers in [low, high]")
    log: bool = Field(default=False, description="search on a log scale (low > 0)")
    choices: list[Any] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _range_or_choices(self) -> Parameter:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either 'choices' or 'low' and 'high', not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give 'low' and 'high' (or 'choices')")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be less than high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log scale needs low > 0 (got {self.low})")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError("an integer parameter needs whole-number 'low' and 'high'")
        return self

    @property
    def continuous(self) -> bool:
        return self.choices is None and not self.integer


class Objective(Strict):
    kpi: str
    direction: Literal["minimize", "maximize"] | None = Field(
        default=None, description="default: the KPI's better direction in the domain contract"
    )


class Constraint(Strict):
    """A limit on the mean of a KPI over the replications."""

    kpi: str
    max: float | None = None
    min: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of 'max' and 'min'")
        return self

    def violation(self, mean: float) -> float:
        """<= 0 when met (Optuna's convention), else by how much it is missed."""
        if self.max is not None:
            return mean - self.max
        assert self.min is not None
        return self.min - mean

    def describe(self) -> str:
        if self.max is not None:
            return f"{self.kpi} <= {self.max:g}"
        return f"{self.kpi} >= {self.min:g}"


class Search(Strict):
    sampler: Literal["tpe", "cmaes", "random"] = Field(
        default="tpe",
        description="TPE; CMA-ES for continuous parameters only (batch = its population "
        "4 + 3 ln(parameters) fits it best)",
    )
    trials: int = Field(default=40, ge=1, le=100_000, description="candidates evaluated")
    batch: int = Field(
        default=4, ge=1, le=1000, description="candidates asked at once, then run together"
    )
    startup_trials: int = Field(
        default=10, ge=1, description="random candidates before TPE models the results"
    )


class Recheck(Strict):
    """The incumbent against its best challengers, on fresh common replications."""

    challengers: int = Field(default=3, ge=0, le=100)
    replications: int | None = Field(
        default=None, ge=2, le=100_000, description="default: replications.count"
    )


class Replications(Strict):
    count: int = Field(ge=2, le=100_000, description="replications of every candidate")


class Target(Strict):
    """An observed KPI or time series the calibration fits, with its weight."""

    kpi: str | None = None
    probe: str | None = None
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _one_name(self) -> Target:
        if (self.kpi is None) == (self.probe is None):
            raise ValueError("give exactly one of 'kpi' and 'probe'")
        return self

    @property
    def name(self) -> str:
        return self.kpi or self.probe or ""


class SearchConfig(Strict):
    """What optimisation and calibration share."""

    name: str = Field(default="search", description="title of the report")
    seed: int = Field(default=0, ge=0, lt=2**63)
    scenario: ScenarioConfig
    policy: PolicyRef
    parameters: dict[str, Parameter] = Field(min_length=1, description="key path -> range")
    search: Search = Field(default_factory=Search)
    replications: Replications
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    def config_hash(self) -> str:
        """SHA-256 of what determines the results: everything but the executor."""
        return canonical_hash(self.model_dump(mode="json", exclude={"executor"}))


class OptimizeConfig(SearchConfig):
    objective: Objective
    constraints: list[Constraint] = Field(default_factory=list)
    recheck: Recheck = Field(default_factory=Recheck)


class CalibrateConfig(SearchConfig):
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_targets(self) -> CalibrateConfig:
        names = [target.name for target in self.targets]
        if len(set(names)) < len(names):
            raise ValueError("each KPI or probe may be a target once")
        return self


def parse_optimize(data: dict[str, Any], source: str) -> OptimizeConfig:
    config = _parse(OptimizeConfig, data, source)
    assert isinstance(config, OptimizeConfig)
    return config


def parse_calibrate(data: dict[str, Any], source: str) -> CalibrateConfig:
    config = _parse(CalibrateConfig, data, source)
    assert isinstance(config, CalibrateConfig)
    return config


def _parse(model: type[SearchConfig], data: dict[str, Any], source: str) -> SearchConfig:
    check_numbers(data, source)
    try:
        config = validate_strictly(model, data)
    except ValidationError as error:
        raise validation_error_to_config_error(error, source, model=model) from None
    for key, parameter in config.parameters.items():
        if not KEY_PATTERN.match(key):
            raise ConfigError(
                source,
                "parameters",
                f"cannot search {key!r}; allowed: 'scenario.params.<name>[.<name>|.<index>|.*"
                "...]' or 'policy.params.<name>...'",
            )
        if config.search.sampler == "cmaes" and not parameter.continuous:
            raise ConfigError(
                source,
                f"parameters.{key}",
                "CMA-ES searches continuous ranges only; use sampler 'tpe' for integers or choices",
            )
    return config
