"""The headline table in plain text, for the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from experiments.report.cells import (
    SIGNIFICANT,
    VERDICT_WORDS,
    arm_label,
    mean_ci,
    signed,
    with_unit,
)
from experiments.report.model import Experiment, Stat, Verdict
from experiments.report.numbers import MISSING, format_change, format_number
from experiments.stats import CONFIDENCE

MAX_TEXT_WIDTH = 150
"""``format_headline`` falls back to one line per arm and KPI beyond this width."""

ANSI_COLORS: dict[Verdict, str] = {"better": "\033[38;5;25m", "worse": "\033[38;5;166m"}
"""The 256-colour terminal's nearest to Okabe-Ito blue #0072B2 and vermilion #D55E00."""
ANSI_RESET = "\033[0m"


def format_headline(
    summary: pd.DataFrame,
    points: pd.DataFrame,
    baseline: str,
    headline_kpis: Sequence[str],
    *,
    color: bool = False,
) -> str:
    """Plain-text headline table for the terminal (printed by `twin run` / `make demo`).

    A significant change says "better" or "worse" by its KPI's direction; with ``color``
    (a terminal) it is also coloured blue or vermilion. KPIs zero in every arm are
    named on one line instead of a row of zeros.
    """
    experiment = Experiment.from_summary(summary, points, baseline)
    kpis = experiment.headline(headline_kpis)
    lines: list[str] = []
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            lines.append(f"== {experiment.block_title(scenario, point)} ==")
            zero = experiment.zero_kpis(scenario, point, kpis)
            shown = [kpi for kpi in kpis if kpi not in zero]
            if shown:
                lines += _text_block(experiment, scenario, point, shown, color)
            if zero:
                lines.append(f"all zero: {', '.join(zero)}")
            lines.append("")
    lines.append(
        f"mean ± {CONFIDENCE:.0%} CI half-width; (change vs baseline in % ± its CI "
        f"half-width, paired replications); {SIGNIFICANT} = the change's CI excludes 0, "
        "better/worse by the KPI's direction"
    )
    if absent := [kpi for kpi in headline_kpis if kpi not in experiment.units]:
        lines.append(f"not in the results: {', '.join(absent)}")
    return "\n".join(lines)


def _text_block(
    experiment: Experiment, scenario: str, point: int, kpis: Sequence[str], color: bool
) -> list[str]:
    """One scenario/point as a KPI x arm grid, or one line per KPI and arm if too wide."""
    arms = experiment.arms[scenario]
    header = ["KPI"] + [arm_label(arm, experiment.baseline) for arm in arms]
    rows = [
        [with_unit(kpi, experiment.unit(kpi))]
        + [
            _text_cell(
                experiment.stat(scenario, point, arm, kpi),
                arm == experiment.baseline,
                experiment.verdict(scenario, point, arm, kpi),
            )
            for arm in arms
        ]
        for kpi in kpis
    ]
    verdicts = [
        [None] + [experiment.verdict(scenario, point, a, kpi) for a in arms] for kpi in kpis
    ]
    grid = _text_grid([header, *rows], [[None] * len(header), *verdicts], color=color)
    if max(map(_visible_len, grid), default=0) <= MAX_TEXT_WIDTH:
        return grid
    long_rows = [
        [row[0], name, cell] for row in rows for name, cell in zip(header[1:], row[1:], strict=True)
    ]
    long_verdicts = [[None, None, verdict] for row in verdicts for verdict in row[1:]]
    return _text_grid(
        [["KPI", "arm", "value"], *long_rows], [[None] * 3, *long_verdicts], left=2, color=color
    )


def _text_cell(stat: Stat, is_baseline: bool, verdict: Verdict | None) -> str:
    if is_baseline:
        return mean_ci(stat)
    if math.isnan(stat.change_pct):
        # A baseline of 0 has no percentage change: the difference itself, in the unit.
        if math.isnan(stat.diff):
            return f"{format_number(stat.mean)} (n/a)"
        marker = SIGNIFICANT if stat.significant else " "
        word = VERDICT_WORDS[verdict] if verdict else ""
        return f"{format_number(stat.mean)} ({signed(stat.diff)} vs 0){marker}" + (
            f" {word}" if word else ""
        )
    # A blank in place of the marker keeps the right-aligned cells' brackets in line.
    marker = SIGNIFICANT if stat.significant else " "
    change = format_change(stat.change_pct)
    spread = f"{stat.change_halfwidth:.1f}" if not math.isnan(stat.change_halfwidth) else MISSING
    word = VERDICT_WORDS[verdict] if verdict else ""
    return f"{format_number(stat.mean)} ({change} ±{spread}){marker}" + (f" {word}" if word else "")


def _text_grid(
    rows: list[list[str]],
    verdicts: list[list[Verdict | None]],
    *,
    left: int = 1,
    color: bool = False,
) -> list[str]:
    """Columns two spaces apart, the first ``left`` left-aligned, a rule under the header;
    with ``color``, better and worse cells coloured (after padding, so columns align)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: list[str], marks: list[Verdict | None]) -> str:
        cells = []
        for i, (cell, width, verdict) in enumerate(zip(row, widths, marks, strict=True)):
            padded = cell.ljust(width) if i < left else cell.rjust(width)
            if color and verdict in ANSI_COLORS:
                padded = f"{ANSI_COLORS[verdict]}{padded}{ANSI_RESET}"
            cells.append(padded)
        return "  ".join(cells).rstrip()

    lines = [line(row, marks) for row, marks in zip(rows, verdicts, strict=True)]
    return [lines[0], "-" * max(map(_visible_len, lines)), *lines[1:]]


def _visible_len(line: str) -> int:
    for code in (*ANSI_COLORS.values(), ANSI_RESET):
        line = line.replace(code, "")
    return len(line)
