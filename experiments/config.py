"""Experiment configs: scenarios x design points x policy arms x replications, in TOML.

An experiment compares policy arms on the same random numbers::

    name = "belt speed"     # the conveyor of examples/conveyor
    seed = 2026

    [[scenarios]]
    id = "conveyor/belt-v0"
    horizon_s = 604_800
    warmup_s = 3_600

    [[arms]]
    name = "full-speed"
    policy = "conveyor/full-speed-v0"

    [[arms]]
    name = "slow-when-crowded"
    policy = "conveyor/slow-when-crowded-v0"
    params = { crowded_share = 0.5 }

    [replications]
    count = 10              # or: target = { kpi = "cost_total", halfwidth_pct = 2 }, max = 40

    [statistics]
    baseline = "full-speed"

A ``[design]`` table adds design points: a full-factorial ``grid``, a Latin hypercube
(``lhs``) or a ``list`` of points, each setting keys of the scenario entry such as
``params.jams_per_h`` or ``horizon_s``. A sensitivity design (``sobol``, ``morris`` or
``fast``) samples factor ranges for SALib and adds the indices to the report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from twin.core.config import (
    check_numbers,
    read_toml,
    validate_strictly,
    validation_error_to_config_error,
)
from twin.core.errors import ConfigError
from twin.core.run import canonical_hash
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
FACTOR_PATTERN = re.compile(r"^(params(\.[A-Za-z0-9_-]+)+|horizon_s|warmup_s)$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScenarioEntry(ScenarioConfig):
    """A scenario of the experiment: a run's scenario config plus a short label."""

    label: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="name in results (default: the id)"
    )

    @property
    def name(self) -> str:
        return self.label or self.id


class Arm(Strict):
    """One policy with its parameters: a column of the comparison."""

    name: str = Field(pattern=NAME_PATTERN, description="e.g. 'predictive'")
    policy: str = Field(description="registered policy id or 'package.module:Class'")
    params: dict[str, Any] = Field(default_factory=dict)


class GridDesign(Strict):
    """Full factorial: every combination of the listed values."""

    kind: Literal["grid"]
    factors: dict[str, list[Any]] = Field(description="key path -> values")

    @model_validator(mode="after")
    def _not_empty(self) -> GridDesign:
        if not self.factors:
            raise ValueError("grid has no factors; add at least one 'key = [values]'")
        for key, values in self.factors.items():
            if not values:
                raise ValueError(f"grid factor {key!r} has no values; list at least one")
        return self


class Range(Strict):
    low: float
    high: float
    integer: bool = Field(default=False, description="sample whole numbers in [low, high]")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be less than high ({self.high})")
        return self


class LatinHypercubeDesign(Strict):
    """``samples`` points spread over the ranges by a Latin hypercube (McKay et al. 1979)."""

    kind: Literal["lhs"]
    factors: dict[str, Range] = Field(description="key path -> {low, high}")
    samples: int = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _not_empty(self) -> LatinHypercubeDesign:
        if not self.factors:
            raise ValueError("lhs has no factors; add at least one 'key = {low, high}'")
        return self


class ListDesign(Strict):
    """Points given one by one."""

    kind: Literal["list"]
    points: list[dict[str, Any]] = Field(min_length=1)


class SensitivityDesign(Strict):
    """What every sensitivity design shares: uniform factor ranges and what to analyse.

    Each point's KPI is the mean over its replications; SALib estimates the indices from
    those means (:mod:`experiments.sensitivity`), with bootstrap confidence intervals.
    """

    factors: dict[str, Range] = Field(description="key path -> {low, high}, sampled uniformly")
    kpis: list[str] | None = Field(
        default=None, min_length=1, description="KPIs to analyse; default: the headline KPIs"
    )
    resamples: int = Field(
        default=1000, ge=10, le=100_000, description="bootstrap resamples for the index CIs"
    )

    @model_validator(mode="after")
    def _two_factors(self) -> SensitivityDesign:
        if len(self.factors) < 2:
            raise ValueError(
                "a sensitivity design needs at least two factors to apportion the variance "
                "among; vary one factor with a 'grid' design"
            )
        return self


class SobolDesign(SensitivityDesign):
    """Sobol' indices from Saltelli's sampling (Saltelli et al. 2010): first-order and total
    (and second-order with ``second_order``) from ``samples * (D + 2)`` points
    (``samples * (2D + 2)`` with second order) for D factors."""

    kind: Literal["sobol"]
    samples: int = Field(ge=2, le=2**20, description="base sample size N, a power of two")
    second_order: bool = Field(default=False, description="also estimate pairwise indices")

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, samples: int) -> int:
        if samples & (samples - 1):
            lower = 1 << (samples.bit_length() - 1)
            raise ValueError(
                f"must be a power of two (e.g. {lower} or {lower * 2}): a Sobol' sequence "
                "is balanced only at powers of two"
            )
        return samples


class MorrisDesign(SensitivityDesign):
    """Morris elementary effects (Morris 1991; mu* of Campolongo et al. 2007): a screening
    from ``trajectories * (D + 1)`` points on a grid of ``levels`` levels per factor."""

    kind: Literal["morris"]
    trajectories: int = Field(ge=2, le=100_000, description="one-at-a-time paths, r")
    levels: int = Field(default=4, ge=2, le=100, description="grid levels per factor, p")

    @field_validator("levels")
    @classmethod
    def _even_levels(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError(
                "must be even: with an odd p the jumps of p/(2(p-1)) do not sample every "
                "level equally (Morris 1991)"
            )
        return levels


class FastDesign(SensitivityDesign):
    """Extended FAST (Saltelli et al. 1999): first-order and total indices from
    ``samples * D`` points on search curves."""

    kind: Literal["fast"]
    samples: int = Field(ge=1, le=1_000_000, description="points per factor, N > 4 M^2")
    interference: int = Field(default=4, ge=1, le=10, description="harmonics kept, M")

    @model_validator(mode="after")
    def _enough_samples(self) -> FastDesign:
        least = 4 * self.interference**2
        if self.samples <= least:
            raise ValueError(
                f"samples ({self.samples}) must exceed 4 * interference^2 = {least} "
                "(the Nyquist condition of the Fourier analysis)"
            )
        return self


Design = Annotated[
    GridDesign | LatinHypercubeDesign | ListDesign | SobolDesign | MorrisDesign | FastDesign,
    Field(discriminator="kind"),
]


class Target(Strict):
    """Stop adding replications when the CI half-width of ``kpi`` is below ``halfwidth_pct``."""

    kpi: str
    halfwidth_pct: float = Field(gt=0, le=100, description="in percent of the mean")


class Replications(Strict):
    """A fixed ``count``, or replications added in rounds until ``target`` holds (up to ``max``)."""

    count: int | None = Field(default=None, ge=2, le=100_000)
    target: Target | None = None
    min: int = Field(default=5, ge=2, description="first round when a target is set")
    max: int = Field(default=50, ge=2, le=100_000, description="cap when a target is set")

    @model_validator(mode="after")
    def _one_rule(self) -> Replications:
        if (self.count is None) == (self.target is None):
            raise ValueError("give either 'count' or 'target' (with 'max')")
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class Statistics(Strict):
    baseline: str | None = Field(default=None, description="arm name; default: the first arm")
    headline: list[str] | None = Field(
        default=None, description="KPIs of the headline table; default: the scenario's own"
    )
    progress_kpi: str = Field(
        default="cost_total", description="KPI whose difference the progress bar shows"
    )


class Output(Strict):
    timeseries: bool = Field(default=False, description="keep each run's KPI time series")
    timeseries_probes: list[str] = Field(
        default_factory=list, description="probes plotted in the report"
    )


class ExecutorConfig(Strict):
    kind: Literal["inprocess", "process", "dask"] = "process"
    workers: int | None = Field(default=None, ge=1, description="default: all cores")
    scheduler: str | None = Field(default=None, description="dask scheduler address")
    decision_timeout_s: float = Field(
        default=DEFAULT_DECISION_TIMEOUT_S,
        gt=0,
        description="wall seconds a policy may take for one decision before its run fails",
    )


class ExperimentConfig(Strict):
    """Everything that determines an experiment's results (the executor does not)."""

    name: str = Field(default="experiment", description="title of the report")
    seed: int = Field(default=0, ge=0, lt=2**63)
    scenarios: list[ScenarioEntry] = Field(min_length=1)
    arms: list[Arm] = Field(min_length=1)
    design: Design | None = None
    replications: Replications
    statistics: Statistics = Field(default_factory=Statistics)
    output: Output = Field(default_factory=Output)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @model_validator(mode="after")
    def _names_resolve(self) -> ExperimentConfig:
        arm_names = [arm.name for arm in self.arms]
        duplicates = sorted({name for name in arm_names if arm_names.count(name) > 1})
        if duplicates:
            raise ValueError(f"arm names must be unique; repeated: {', '.join(duplicates)}")
        labels = [entry.name for entry in self.scenarios]
        if len(set(labels)) != len(labels):
            raise ValueError("scenarios must differ by id or label; give each a 'label'")
        return self

    @property
    def baseline(self) -> str:
        return self.statistics.baseline or self.arms[0].name

    def config_hash(self) -> str:
        """SHA-256 of what determines the results: everything but the executor."""
        return canonical_hash(self.model_dump(mode="json", exclude={"executor"}))


def is_experiment(data: dict[str, Any]) -> bool:
    """An experiment config has arms; a single-run config has a policy."""
    return "arms" in data or "scenarios" in data


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and validate the structure of an experiment config."""
    return parse_experiment(read_toml(path), str(path))


def parse_experiment(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    check_numbers(data, source)
    try:
        config = validate_strictly(ExperimentConfig, data)
    except ValidationError as error:
        raise validation_error_to_config_error(error, source, model=ExperimentConfig) from None
    _check_references(config, source)
    return config


def _check_references(config: ExperimentConfig, source: str) -> None:
    """Names that must point at something declared elsewhere in the file."""
    arms = [arm.name for arm in config.arms]
    if config.statistics.baseline is not None and config.statistics.baseline not in arms:
        raise ConfigError(
            source,
            "statistics.baseline",
            f"unknown arm {config.statistics.baseline!r}; arms: {', '.join(arms)}",
        )
    design = config.design
    keys: list[str] = []
    if isinstance(design, GridDesign | LatinHypercubeDesign | SensitivityDesign):
        keys = list(design.factors)
    elif isinstance(design, ListDesign):
        keys = sorted({key for point in design.points for key in point})
    for key in keys:
        if not FACTOR_PATTERN.match(key):
            raise ConfigError(
                source,
                "design",
                f"cannot vary {key!r}; allowed: 'params.<name>[.<name>...]', 'horizon_s', "
                "'warmup_s'",
            )
