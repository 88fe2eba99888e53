"""How many replications each (scenario, point) cell gets: a fixed count, or rounds
until the confidence interval of a KPI is as narrow as asked."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from experiments.config import ExperimentConfig
from experiments.stats import estimate


def replications_needed(
    config: ExperimentConfig, n_points: int, records: dict[str, dict[str, Any]]
) -> dict[tuple[int, int], int]:
    """Replications per (scenario, point) cell, given the runs finished so far.

    With a target, a cell starts at ``min`` replications; once they have all finished
    and some arm's CI half-width of the target KPI is still above the target, the cell
    grows to the count that the half-width predicts (``n (h / target)^2``, Law 2015,
    sec. 9.4.1), by at least one and at most to ``max``. The decision depends only on
    finished results, so a resumed batch takes the same decisions.
    """
    rules = config.replications
    cells = [(s, p) for s in range(len(config.scenarios)) for p in range(n_points)]
    if rules.target is None:
        assert rules.count is not None
        return dict.fromkeys(cells, rules.count)
    values = _target_values(records, rules.target.kpi)
    needed = {}
    for s, p in cells:
        n = rules.min
        while n < rules.max:
            ratio = _worst_halfwidth_ratio(values, config, s, p, n, rules.target.halfwidth_pct)
            if ratio is None or ratio <= 1.0:
                break  # not all finished yet (None), or precise enough
            n = min(rules.max, max(n + 1, math.ceil(n * ratio**2)))
        needed[(s, p)] = n
    return needed


def _target_values(
    records: dict[str, dict[str, Any]], kpi: str
) -> dict[tuple[str, int, str, int], float]:
    values = {}
    for record in records.values():
        value = math.nan
        if record["status"] == "ok":
            value = next((float(v) for name, v, _ in record["kpis"] if name == kpi), math.nan)
        key = (record["scenario"], record["point"], record["arm"], record["replication"])
        values[key] = value
    return values


def _worst_halfwidth_ratio(
    values: dict[tuple[str, int, str, int], float],
    config: ExperimentConfig,
    s: int,
    p: int,
    n: int,
    target_pct: float,
) -> float | None:
    """Largest (CI half-width / target half-width) over the arms; None if runs are missing."""
    scenario = config.scenarios[s].name
    worst = 0.0
    for arm in config.arms:
        keys = [(scenario, p, arm.name, r) for r in range(n)]
        if any(key not in values for key in keys):
            return None
        finite = np.array([values[key] for key in keys])
        finite = finite[np.isfinite(finite)]
        if len(finite) < 2:
            return math.inf
        own = estimate(finite)
        wanted = abs(own.mean) * target_pct / 100.0
        if own.halfwidth == 0.0:
            continue
        worst = max(worst, own.halfwidth / wanted if wanted else math.inf)
    return worst
