"""Cell texts shared by the terminal table, the HTML and markdown tables and the figures."""

from __future__ import annotations

import math

from experiments.report.model import Stat
from experiments.report.numbers import MISSING, format_change, format_number

SIGNIFICANT = "*"
"""Marks a change whose confidence interval excludes 0."""


def mean_ci(stat: Stat) -> str:
    """``mean ± CI half-width``."""
    return f"{format_number(stat.mean)} ± {format_number(stat.halfwidth)}"


def change_ci(stat: Stat) -> str:
    """``+1.2% [-0.3, +2.7]``, then the significance marker when its CI excludes 0."""
    if math.isnan(stat.change_pct):
        return MISSING
    low = format_change(stat.change_low_pct, suffix="")
    high = format_change(stat.change_high_pct, suffix="")
    marker = f" {SIGNIFICANT}" if stat.significant else ""
    return f"{format_change(stat.change_pct)} [{low}, {high}]{marker}"


def arm_label(arm: str, baseline: str) -> str:
    """The arm's name, with "(baseline)" after the baseline's."""
    return f"{arm} (baseline)" if arm == baseline else arm


def with_unit(kpi: str, unit: str) -> str:
    """``kpi (unit)``, or the bare KPI when it has no unit."""
    return f"{kpi} ({unit})" if unit else kpi
