"""Design points and the runs of an experiment, in one canonical order.

The order is scenario, point, replication, arm: the arms of one replication run next to
each other, so paired differences are available early for the progress bar, and every
executor writes the same consolidated files whatever order runs finish in.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.config import (
    Design,
    ExperimentConfig,
    FastDesign,
    GridDesign,
    LatinHypercubeDesign,
    ListDesign,
    MorrisDesign,
    Range,
    ScenarioEntry,
    SensitivityDesign,
    SobolDesign,
)
from twin.core.scenario import ScenarioConfig
from twin.core.streams import Streams, replication_seed
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to make one run; picklable and independent of the store."""

    run_id: str
    order: int
    scenario: str
    point: int
    arm: str
    policy: str
    policy_params: dict[str, Any]
    replication: int
    seed: int
    scenario_config: ScenarioConfig
    keep_timeseries: bool
    decision_timeout_s: float = DEFAULT_DECISION_TIMEOUT_S


def design_points(design: Design | None, seed: int) -> list[dict[str, Any]]:
    """The factor settings of each design point (one empty point without a design)."""
    if design is None:
        return [{}]
    if isinstance(design, GridDesign):
        keys = list(design.factors)
        combos = itertools.product(*(design.factors[key] for key in keys))
        return [dict(zip(keys, combo, strict=True)) for combo in combos]
    if isinstance(design, LatinHypercubeDesign):
        return _latin_hypercube(design, seed)
    if isinstance(design, SensitivityDesign):
        unit = sensitivity_sample(design, seed)
        return [_scaled(design.factors, row) for row in unit]
    assert isinstance(design, ListDesign)
    return [dict(point) for point in design.points]


def unit_problem(design: SensitivityDesign) -> dict[str, Any]:
    """SALib's problem over the unit hypercube, one dimension per factor in file order.

    Sampling and analysing in [0, 1]^D, and mapping to the ranges only to run, keeps the
    analysis the same for integer factors (Morris reads the steps from the samples) and
    puts every Morris effect on one scale: the output change over the whole range.
    """
    names = list(design.factors)
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def sensitivity_sample(design: SensitivityDesign, seed: int) -> np.ndarray:
    """The design's points in the unit hypercube (rows in SALib's order), from ``seed``."""
    # Imported here, as scipy.stats below: SALib imports scipy and pandas plotting.
    from SALib.sample import fast_sampler, morris, sobol

    problem = unit_problem(design)
    rng = Streams(seed)[f"experiment.design.{design.kind}"]
    if isinstance(design, SobolDesign):
        return sobol.sample(
            problem, design.samples, calc_second_order=design.second_order, seed=rng
        )
    if isinstance(design, MorrisDesign):
        return morris.sample(problem, design.trajectories, num_levels=design.levels, seed=rng)
    assert isinstance(design, FastDesign)
    return fast_sampler.sample(problem, design.samples, M=design.interference, seed=rng)


def _scaled(factors: dict[str, Range], row: np.ndarray) -> dict[str, Any]:
    values = zip(factors.items(), row, strict=True)
    return {key: _value(spec, float(u)) for (key, spec), u in values}


def _value(spec: Range, u: float) -> float | int:
    """The factor value at ``u`` in [0, 1] of its range."""
    if spec.integer:
        # Every whole number in [low, high] gets an equal share of the unit interval.
        span = math.floor(spec.high) - math.ceil(spec.low) + 1
        return math.ceil(spec.low) + min(int(u * span), span - 1)
    return spec.low + u * (spec.high - spec.low)


def _latin_hypercube(design: LatinHypercubeDesign, seed: int) -> list[dict[str, Any]]:
    # Imported here: scipy.stats takes most of a second to import, and every worker
    # process imports this module for RunSpec.
    from scipy.stats import qmc

    keys = list(design.factors)
    rng = Streams(seed)["experiment.design.lhs"]
    unit = qmc.LatinHypercube(d=len(keys), rng=rng).random(design.samples)
    return [_scaled(design.factors, row) for row in unit]


def apply_point(entry: ScenarioEntry, point: dict[str, Any]) -> ScenarioConfig:
    """The scenario config of ``entry`` with the point's key paths set."""
    data = entry.model_dump(exclude={"label"})
    for key, value in point.items():
        parts = key.split(".")
        target = data
        for part in parts[:-1]:
            nested = target.get(part)
            if not isinstance(nested, dict):
                nested = {}
                target[part] = nested
            target = nested
        target[parts[-1]] = value
    return ScenarioConfig.model_validate(data)


def plan_runs(
    config: ExperimentConfig,
    points: list[dict[str, Any]],
    replications: dict[tuple[int, int], int],
) -> list[RunSpec]:
    """Every run for ``replications[(scenario index, point)]`` replications, in canonical order.

    The order (and so ``order``) does not depend on how many replications a cell has, so
    adding replications in later rounds never renumbers finished runs.
    """
    specs = []
    for s, entry in enumerate(config.scenarios):
        for p, point in enumerate(points):
            scenario_config = apply_point(entry, point)
            for r in range(replications[(s, p)]):
                for a, arm in enumerate(config.arms):
                    specs.append(
                        RunSpec(
                            run_id=f"s{s}-p{p}-r{r:04d}-{arm.name}",
                            order=canonical_order(s, p, r, a, len(points), len(config.arms)),
                            scenario=entry.name,
                            point=p,
                            arm=arm.name,
                            policy=arm.policy,
                            policy_params=dict(arm.params),
                            replication=r,
                            seed=replication_seed(config.seed, r),
                            scenario_config=scenario_config,
                            keep_timeseries=config.output.timeseries,
                            decision_timeout_s=config.executor.decision_timeout_s,
                        )
                    )
    return specs


MAX_REPLICATIONS = 100_000


def canonical_order(s: int, p: int, r: int, a: int, n_points: int, n_arms: int) -> int:
    """A sort key for run (scenario s, point p, replication r, arm a)."""
    return ((s * n_points + p) * MAX_REPLICATIONS + r) * n_arms + a
