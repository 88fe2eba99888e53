"""Statistics of paired replications: per-arm means with CIs, and paired differences.

Replication ``i`` of every arm runs on the same seed tree (common random numbers), so
arms are compared by the differences ``arm_i - baseline_i``: the variance the arms share
cancels, and the confidence interval is much narrower than the two arms' own CIs
suggest (Law, *Simulation Modeling and Analysis*, 5th ed., 2015, sec. 10.2.1).
"""

from __future__ import annotations

import math
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
    # Identical arms give t = 0/0; they show no evidence of a difference.
    p_value = 1.0 if np.all(a == b) else float(stats.ttest_rel(a, b).pvalue)
    base_mean = float(b.mean())
    relative = difference.mean / abs(base_mean) if base_mean else math.nan
    return PairedDifference(difference, p_value, relative)


def compare_arms(kpis: pd.DataFrame, baseline: str, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per arm and KPI: mean and CI, and the paired difference against ``baseline``.

    Args:
        kpis: tidy rows ``arm, replication, kpi, value`` (one value per arm, replication
            and KPI).
        baseline: the arm the others are compared with.

    Returns:
        One row per arm and KPI with ``mean, ci_low, ci_high, n`` and, for arms other than
        the baseline, ``diff, diff_low, diff_high, p_value, change_pct``.
    """
    arms = set(kpis["arm"])
    if baseline not in arms:
        raise ValueError(f"baseline arm {baseline!r} is not among the arms: {sorted(arms)}")
    wide = kpis.pivot_table(index=["kpi", "replication"], columns="arm", values="value")
    rows = []
    for kpi, block in wide.groupby(level="kpi", sort=True):
        block = block.dropna()
        for arm in sorted(arms):
            own = estimate(block[arm].to_numpy(), confidence)
            row = {
                "arm": arm,
                "kpi": kpi,
                "mean": own.mean,
                "ci_low": own.low,
                "ci_high": own.high,
                "n": own.n,
            }
            if arm != baseline:
                paired = paired_difference(block[arm].to_numpy(), block[baseline].to_numpy())
                row |= {
                    "diff": paired.difference.mean,
                    "diff_low": paired.difference.low,
                    "diff_high": paired.difference.high,
                    "p_value": paired.p_value,
                    "change_pct": 100.0 * paired.relative_change,
                }
            rows.append(row)
    return pd.DataFrame(rows)
