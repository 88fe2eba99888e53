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

from experiments.config import (
    Design,
    ExperimentConfig,
    GridDesign,
    LatinHypercubeDesign,
    ListDesign,
    ScenarioEntry,
)
from twin.core.scenario import ScenarioConfig
from twin.core.streams import Streams, replication_seed


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
    assert isinstance(design, ListDesign)
    return [dict(point) for point in design.points]


def _latin_hypercube(design: LatinHypercubeDesign, seed: int) -> list[dict[str, Any]]:
    # Imported here: scipy.stats takes most of a second to import, and every worker
    # process imports this module for RunSpec.
    from scipy.stats import qmc

    keys = list(design.factors)
    rng = Streams(seed)["experiment.design.lhs"]
    unit = qmc.LatinHypercube(d=len(keys), rng=rng).random(design.samples)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for key, u in zip(keys, row, strict=True):
            spec = design.factors[key]
            if spec.integer:
                # Every whole number in [low, high] gets an equal share of the unit interval.
                span = math.floor(spec.high) - math.ceil(spec.low) + 1
                point[key] = math.ceil(spec.low) + min(int(u * span), span - 1)
            else:
                point[key] = spec.low + float(u) * (spec.high - spec.low)
        points.append(point)
    return points


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
                        )
                    )
    return specs


MAX_REPLICATIONS = 100_000


def canonical_order(s: int, p: int, r: int, a: int, n_points: int, n_arms: int) -> int:
    """A sort key for run (scenario s, point p, replication r, arm a)."""
    return ((s * n_points + p) * MAX_REPLICATIONS + r) * n_arms + a
