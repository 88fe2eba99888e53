"""The headline table in plain text, for the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from experiments.report.cells import SIGNIFICANT, arm_label, mean_ci, with_unit
from experiments.report.model import Experiment, Stat
from experiments.report.numbers import MISSING, format_change, format_number
from experiments.stats import CONFIDENCE

MAX_TEXT_WIDTH = 150
"""``format_headline`` falls back to one line per arm and KPI beyond this width."""


def format_headline(
    summary: pd.DataFrame, points: pd.DataFrame, baseline: str, headline_kpis: Sequence[str]
) -> str:
    """Plain-text headline table for the terminal (printed by `twin run` / `make demo`)."""
    experiment = Experiment.from_summary(summary, points, baseline)
    kpis = experiment.headline(headline_kpis)
    lines: list[str] = []
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            lines.append(f"== {experiment.block_title(scenario, point)} ==")
            lines += _text_block(experiment, scenario, point, kpis)
            lines.append("")
    lines.append(
        f"mean ± {CONFIDENCE:.0%} CI half-width; (change vs baseline in % ± its CI "
        f"half-width, paired replications); {SIGNIFICANT} = the change's CI excludes 0"
    )
    if absent := [kpi for kpi in headline_kpis if kpi not in experiment.units]:
        lines.append(f"not in the results: {', '.join(absent)}")
    return "\n".join(lines)


def _text_block(
    experiment: Experiment, scenario: str, point: int, kpis: Sequence[str]
) -> list[str]:
    """One scenario/point as a KPI x arm grid, or one line per KPI and arm if too wide."""
    arms = experiment.arms[scenario]
    header = ["KPI"] + [arm_label(arm, experiment.baseline) for arm in arms]
    rows = [
        [with_unit(kpi, experiment.unit(kpi))]
        + [
            _text_cell(experiment.stat(scenario, point, arm, kpi), arm == experiment.baseline)
            for arm in arms
        ]
        for kpi in kpis
    ]
    grid = _text_grid([header, *rows])
    if max(map(len, grid), default=0) <= MAX_TEXT_WIDTH:
        return grid
    long_rows = [
        [row[0], name, cell] for row in rows for name, cell in zip(header[1:], row[1:], strict=True)
    ]
    return _text_grid([["KPI", "arm", "value"], *long_rows], left=2)


def _text_cell(stat: Stat, is_baseline: bool) -> str:
    if is_baseline:
        return mean_ci(stat)
    if math.isnan(stat.change_pct):
        return f"{format_number(stat.mean)} (n/a)"
    # A blank in place of the marker keeps the right-aligned cells' brackets in line.
    marker = SIGNIFICANT if stat.significant else " "
    change = format_change(stat.change_pct)
    spread = f"{stat.change_halfwidth:.1f}" if not math.isnan(stat.change_halfwidth) else MISSING
    return f"{format_number(stat.mean)} ({change} ±{spread}){marker}"


def _text_grid(rows: list[list[str]], *, left: int = 1) -> list[str]:
    """Columns two spaces apart, the first ``left`` left-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: list[str]) -> str:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    lines = [line(row) for row in rows]
    return [lines[0], "-" * max(map(len, lines)), *lines[1:]]
