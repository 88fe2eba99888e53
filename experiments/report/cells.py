"""Cell texts shared by the terminal table, the HTML and markdown tables and the figures."""

from __future__ import annotations

import math

from experiments.report.model import Stat, Verdict
from experiments.report.numbers import MISSING, format_change, format_number

SIGNIFICANT = "*"
"""Marks a change whose confidence interval excludes 0."""

VERDICT_WORDS: dict[Verdict, str] = {"better": "better", "worse": "worse", "changed": ""}
"""The word after a significant change; colour alone must not carry the meaning."""


def mean_ci(stat: Stat) -> str:
    """``mean ± CI half-width``."""
    return f"{format_number(stat.mean)} ± {format_number(stat.halfwidth)}"


def change_ci(stat: Stat, verdict: Verdict | None = None) -> str:
    """``+1.2% [-0.3, +2.7]``, then the significance marker when its CI excludes 0 and
    the verdict's word ("better", "worse").

    A change from a baseline of 0 has no percentage: it is the difference itself,
    ``+3.2 [+1.0, +5.4] vs 0``, in the KPI's unit.
    """
    if not math.isnan(stat.change_pct):
        low = format_change(stat.change_low_pct, suffix="")
        high = format_change(stat.change_high_pct, suffix="")
        text = f"{format_change(stat.change_pct)} [{low}, {high}]"
    elif not math.isnan(stat.diff):
        low, high = signed(stat.diff_low), signed(stat.diff_high)
        text = f"{signed(stat.diff)} [{low}, {high}] vs 0"
    else:
        return MISSING
    marker = f" {SIGNIFICANT}" if stat.significant else ""
    word = VERDICT_WORDS[verdict] if verdict else ""
    return f"{text}{marker}" + (f" {word}" if word else "")


def signed(value: float) -> str:
    """A number with its sign, ``+3.2`` or ``-1,200``."""
    text = format_number(value)
    return text if text.startswith(("-", MISSING)) or text == "0" else f"+{text}"


def arm_label(arm: str, baseline: str) -> str:
    """The arm's name, with "(baseline)" after the baseline's."""
    return f"{arm} (baseline)" if arm == baseline else arm


def with_unit(kpi: str, unit: str) -> str:
    """``kpi (unit)``, or the bare KPI when it has no unit."""
    return f"{kpi} ({unit})" if unit else kpi
