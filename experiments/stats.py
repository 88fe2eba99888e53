"""Statistics of paired replications: per-arm means with CIs, and paired differences.

Replication ``i`` of every arm runs on the same seed tree (common random numbers), so
arms are compared by the differences ``arm_i - baseline_i``: the variance the arms share
cancels, and the confidence interval is much narrower than the two arms' own CIs
suggest (Law, *Simulation Modeling and Analysis*, 5th ed., 2015, sec. 10.2.1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean with a Student-t confidence interval."""

    mean: float
    halfwidth: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.halfwidth

    @property
    def high(self) -> float:
        return self.mean + self.halfwidth


@dataclass(frozen=True)
class PairedDifference:
    """``arm - baseline`` over paired replications, with its CI, p-value and % change."""

    difference: Estimate
    p_value: float
    relative_change: float
    """Mean difference over the baseline mean (NaN when the baseline mean is 0)."""


def estimate(values: np.ndarray | list[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean and t-interval of independent replications (needs at least 2)."""
    data = np.asarray(values, dtype=np.float64)
    n = len(data)
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 replications, got {n}")
    if not np.isfinite(data).all():
        raise ValueError("replication values must be finite")
    sd = float(data.std(ddof=1))
    halfwidth = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Estimate(float(data.mean()), halfwidth, n)


def paired_difference(
    arm: np.ndarray | list[float],
    baseline: np.ndarray | list[float],
    confidence: float = CONFIDENCE,
) -> PairedDifference:
    """The paired-t comparison of ``arm`` against ``baseline``, replication by replication."""
    a = np.asarray(arm, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired arms need the same replications, got {a.shape} and {b.shape}")
    difference = estimate(a - b, confidence)
    if identical(a, b):
        # Identical arms give t = 0/0, and arms equal up to rounding a zero-width interval
        # a hair off 0 (p < 0.001 for nothing): neither is evidence of a difference.
        return PairedDifference(Estimate(0.0, 0.0, len(a)), 1.0, 0.0 if b.mean() else math.nan)
    p_value = float(stats.ttest_rel(a, b).pvalue)
    base_mean = float(b.mean())
    relative = difference.mean / abs(base_mean) if base_mean else math.nan
    return PairedDifference(difference, p_value, relative)


ROUNDING = 1e-12
"""Paired values closer than this, relative to the largest of them, are the same number."""


def identical(arm: np.ndarray, baseline: np.ndarray) -> bool:
    """Whether paired replications agree up to floating-point rounding."""
    scale = float(np.max(np.abs(np.concatenate([arm, baseline])), initial=0.0))
    return bool(np.all(np.abs(arm - baseline) <= ROUNDING * scale))


def compare_arms(
    kpis: pd.DataFrame,
    baseline: str,
    confidence: float = CONFIDENCE,
    arms: list[str] | None = None,
) -> pd.DataFrame:
    """Per arm and KPI: mean and CI, and the paired difference against ``baseline``.

    Args:
        kpis: tidy rows ``arm, replication, kpi, value`` (one value per arm, replication
            and KPI), optionally with ``unit``.
        baseline: the arm the others are compared with.
        arms: every arm to report, in this order, also those without values (all their
            runs failed); default: the arms in ``kpis``, sorted.

    Returns:
        One row per arm and KPI with ``unit, group, baseline, mean, ci_low, ci_high, n``
        and ``diff, diff_low, diff_high, p_value, change_pct, change_low_pct,
        change_high_pct`` (NaN for the baseline). Non-finite values (an MTBF without
        failures is infinite) are left out, and a pair counts only when both are finite;
        with fewer than 2 values the statistics are NaN.
    """
    present = set(kpis["arm"])
    listed = list(arms) if arms is not None else sorted(present)
    arms = [*listed, *sorted(present - set(listed))]
    if baseline not in present:
        raise ValueError(f"baseline arm {baseline!r} is not among the arms: {arms}")
    units = kpis.groupby("kpi")["unit"].first().to_dict() if "unit" in kpis.columns else {}
    wide = kpis.pivot_table(index=["kpi", "replication"], columns="arm", values="value")
    rows = []
    for kpi, block in wide.groupby(level="kpi", sort=True):
        unit = str(units.get(kpi, ""))
        for arm in [baseline, *(a for a in arms if a != baseline)]:
            values = block[arm].to_numpy() if arm in block else np.full(len(block), np.nan)
            row = {
                "arm": arm,
                "kpi": kpi,
                "unit": unit,
                "group": kpi_group(str(kpi), unit),
                "baseline": arm == baseline,
                **_own_estimate(values, confidence),
                **_paired(values, block[baseline].to_numpy(), arm == baseline, confidence),
            }
            rows.append(row)
    return pd.DataFrame(rows)


def _own_estimate(values: np.ndarray, confidence: float) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if len(finite) < 2:
        mean = float(finite.mean()) if len(finite) else math.nan
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan, "n": len(finite)}
    own = estimate(finite, confidence)
    return {"mean": own.mean, "ci_low": own.low, "ci_high": own.high, "n": own.n}


PAIRED_COLUMNS = (
    "diff",
    "diff_low",
    "diff_high",
    "p_value",
    "change_pct",
    "change_low_pct",
    "change_high_pct",
)


def _paired(
    arm: np.ndarray, base: np.ndarray, is_baseline: bool, confidence: float
) -> dict[str, float]:
    both = np.isfinite(arm) & np.isfinite(base)
    if is_baseline or both.sum() < 2:
        return dict.fromkeys(PAIRED_COLUMNS, math.nan)
    paired = paired_difference(arm[both], base[both], confidence)
    scale = abs(float(base[both].mean()))
    difference = paired.difference
    return {
        "diff": difference.mean,
        "diff_low": difference.low,
        "diff_high": difference.high,
        "p_value": paired.p_value,
        "change_pct": 100.0 * paired.relative_change,
        "change_low_pct": 100.0 * difference.low / scale if scale else math.nan,
        "change_high_pct": 100.0 * difference.high / scale if scale else math.nan,
    }


ENERGY_AND_EMISSION_UNITS = frozenset({"kWh", "L", "kg CO2e"})
CURRENCY = re.compile(r"^[A-Z]{3}$")


def kpi_group(kpi: str, unit: str) -> str:
    """``"cost"`` for money (ISO 4217 units), ``"emissions"`` for energy, fuel and CO2e,
    ``"efficiency"`` for everything else (throughput, waits, OEE, ...)."""
    if CURRENCY.match(unit):
        return "cost"
    if unit in ENERGY_AND_EMISSION_UNITS:
        return "emissions"
    return "efficiency"


def summarize(
    runs: pd.DataFrame, kpis: pd.DataFrame, baseline: str, arms: list[str] | None = None
) -> pd.DataFrame:
    """:func:`compare_arms` for every scenario and design point of an experiment.

    Args:
        runs: one row per run with ``run_id, scenario, point, arm, replication, status``.
        kpis: tidy ``run_id, kpi, value, unit``.
        baseline: the baseline arm's name.
        arms: the arms in the order to report them (default: sorted).

    Returns:
        The :func:`compare_arms` columns with ``scenario`` and ``point`` in front. Failed
        runs are left out, and with them their replication's pair.
    """
    columns = ["run_id", "scenario", "point", "arm", "replication"]
    rows = runs[runs["status"] == "ok"][columns].merge(kpis, on="run_id")
    arms = arms if arms is not None else sorted(set(runs["arm"]))
    tables = []
    for (scenario, point), block in rows.groupby(["scenario", "point"], sort=False):
        if baseline not in set(block["arm"]):
            continue
        table = compare_arms(block, baseline, arms=arms)
        table.insert(0, "point", point)
        table.insert(0, "scenario", scenario)
        tables.append(table)
    if not tables:
        return pd.DataFrame()
    return pd.concat(tables, ignore_index=True)
