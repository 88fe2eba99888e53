"""The report's sections, in reading order, each a list of blocks.

How to read it, the headline table, the figures, every statistic, the runs and the
manifest. The numbers come from ``Experiment``; nothing here knows HTML or markdown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from experiments.report.blocks import Block, Cell, Code, Heading, Image, Paragraph, Table
from experiments.report.cells import SIGNIFICANT, arm_label, change_ci, mean_ci
from experiments.report.model import Experiment, StatKey
from experiments.report.numbers import MISSING, format_change, format_number, format_p
from experiments.stats import CONFIDENCE


def intro(baseline: str) -> list[Block]:
    return [
        Heading(2, "How to read this report"),
        Paragraph(
            "All arms ran the same replications on common random numbers: replication i of "
            "every arm saw the same arrivals, failures and demand. An arm's KPI is the mean "
            f"over its replications with a {CONFIDENCE:.0%} Student-t confidence interval "
            "(shown as mean ± half-width). A change is the paired difference arm − baseline, "
            f"replication by replication, against the baseline arm '{baseline}', in percent "
            f"of the baseline mean, with its {CONFIDENCE:.0%} CI and paired-t p-value. A change "
            f"whose CI excludes 0 is marked {SIGNIFICANT} (significant) and, when its KPI has "
            "a better direction (the domain's contract), called better (blue) or worse "
            "(vermilion); a change that is not significant is not highlighted. A change "
            "from a baseline of 0 is shown as the difference itself (vs 0), never in "
            "percent. KPIs that are zero in every arm are listed on one line."
        ),
    ]


def headline_section(experiment: Experiment, headline_kpis: Sequence[str]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Headline")]
    kpis = experiment.headline(headline_kpis)
    if absent := [kpi for kpi in headline_kpis if kpi not in experiment.units]:
        blocks.append(Paragraph(f"Headline KPIs not in the results: {', '.join(absent)}."))
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            blocks.append(Heading(3, experiment.block_title(scenario, point)))
            zero = experiment.zero_kpis(scenario, point, kpis)
            shown = [kpi for kpi in kpis if kpi not in zero]
            if shown:
                blocks.append(_headline_table(experiment, scenario, point, shown))
            blocks += _all_zero(zero)
    return blocks


HEADLINE_COLUMNS = (
    "group",
    "KPI",
    "unit",
    "better",
    "arm",
    "mean ± CI",
    f"change % [{CONFIDENCE:.0%} CI]",
    "p",
)
"""Arms are rows, so the table is as wide with ten arms as with two."""


def _headline_table(
    experiment: Experiment, scenario: str, point: int, kpis: Sequence[str]
) -> Table:
    """A row per KPI and arm: its mean ± CI and, for the others, the change and p."""
    rows = []
    for i, kpi in enumerate(kpis):
        group = experiment.groups[kpi]
        # Group and KPI are named once, on their first row, so the table reads as sections.
        first_of_group = i == 0 or experiment.groups[kpis[i - 1]] != group
        for j, arm in enumerate(experiment.arms[scenario]):
            stat = experiment.stat(scenario, point, arm, kpi)
            is_baseline = arm == experiment.baseline
            verdict = experiment.verdict(scenario, point, arm, kpi)
            rows.append(
                (
                    Cell(group if first_of_group and j == 0 else ""),
                    Cell(kpi if j == 0 else ""),
                    Cell(experiment.unit(kpi) if j == 0 else ""),
                    Cell(experiment.better.get(kpi, MISSING) if j == 0 else ""),
                    Cell(arm_label(arm, experiment.baseline)),
                    Cell(mean_ci(stat), numeric=True),
                    Cell(
                        "" if is_baseline else change_ci(stat, verdict),
                        numeric=True,
                        significant=verdict is not None,
                        verdict=verdict,
                    ),
                    Cell("" if is_baseline else format_p(stat.p_value), numeric=True),
                )
            )
    return Table(HEADLINE_COLUMNS, tuple(rows))


def effects_section(experiment: Experiment, headline_kpis: Sequence[str]) -> list[Block]:
    """Each arm's change against the baseline in every headline KPI, one row per arm: with
    arms that each change one thing (a policy area, a parameter), a row is that change's
    effect across the board, gains and losses side by side. Only with two or more arms
    besides the baseline (otherwise the headline table says it all)."""
    kpis = experiment.headline(headline_kpis)
    blocks: list[Block] = []
    for scenario in experiment.scenarios:
        arms = [arm for arm in experiment.arms[scenario] if arm != experiment.baseline]
        if len(arms) < 2 or not kpis:
            continue
        for point in experiment.points[scenario]:
            if not blocks:
                blocks += [
                    Heading(2, "Effects"),
                    Paragraph(
                        f"Change % against '{experiment.baseline}' (paired, "
                        f"{CONFIDENCE:.0%} CI in the headline table); {SIGNIFICANT} marks a "
                        "change whose CI excludes 0, coloured better or worse where the KPI "
                        "has a direction."
                    ),
                ]
            blocks.append(Heading(3, experiment.block_title(scenario, point)))
            rows = []
            for arm in arms:
                cells = [Cell(arm)]
                for kpi in kpis:
                    stat = experiment.stat(scenario, point, arm, kpi)
                    verdict = experiment.verdict(scenario, point, arm, kpi)
                    cells.append(
                        Cell(
                            _short_change(stat.change_pct, stat.significant),
                            numeric=True,
                            significant=verdict is not None,
                            verdict=verdict,
                        )
                    )
                rows.append(tuple(cells))
            blocks.append(Table(("arm", *kpis), tuple(rows)))
    return blocks


def _short_change(change_pct: float, significant: bool) -> str:
    if math.isnan(change_pct):
        return MISSING
    return format_change(change_pct) + (f" {SIGNIFICANT}" if significant else "")


def _all_zero(kpis: Sequence[str]) -> list[Block]:
    return [Paragraph(f"all zero: {', '.join(kpis)}")] if kpis else []


def figure_section(images: Sequence[tuple[str, Image]], several: bool) -> list[Block]:
    """The figures, under a heading per scenario when ``several`` scenarios ran."""
    blocks: list[Block] = [Heading(2, "Figures")]
    if not images:
        return [
            *blocks,
            Paragraph(
                "No figures: none of the headline KPIs, breakdowns or probes is in the results."
            ),
        ]
    previous = None
    for scenario, image in images:
        if several and scenario != previous:
            blocks.append(Heading(3, scenario))
            previous = scenario
        blocks.append(image)
    return blocks


_STATISTICS_COLUMNS = (
    "group",
    "KPI",
    "unit",
    "arm",
    "n",
    f"mean [{CONFIDENCE:.0%} CI]",
    f"change % [{CONFIDENCE:.0%} CI]",
    "p",
)


def statistics_section(experiment: Experiment) -> list[Block]:
    """Every KPI of every arm, per scenario and point."""
    blocks: list[Block] = [Heading(2, "All statistics")]
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            zero = experiment.zero_kpis(scenario, point, experiment.kpis)
            keys = [
                (scenario, point, arm, kpi)
                for kpi in experiment.kpis
                if kpi not in zero
                for arm in experiment.arms[scenario]
            ]
            rows = tuple(
                _statistics_row(experiment, key) for key in keys if key in experiment.stats
            )
            blocks.append(Heading(3, experiment.block_title(scenario, point)))
            if rows:
                blocks.append(Table(_STATISTICS_COLUMNS, rows))
            blocks += _all_zero(zero)
    return blocks


def _statistics_row(experiment: Experiment, key: StatKey) -> tuple[Cell, ...]:
    scenario, point, arm, kpi = key
    stat = experiment.stats[key]
    is_baseline = arm == experiment.baseline
    verdict = experiment.verdict(scenario, point, arm, kpi)
    mean = (
        f"{format_number(stat.mean)} [{format_number(stat.ci_low)}, {format_number(stat.ci_high)}]"
    )
    return (
        Cell(experiment.groups[kpi]),
        Cell(kpi),
        Cell(experiment.unit(kpi)),
        Cell(arm_label(arm, experiment.baseline)),
        Cell(format_number(stat.n), numeric=True),
        Cell(mean, numeric=True),
        Cell(
            MISSING if is_baseline else change_ci(stat, verdict),
            numeric=True,
            significant=verdict is not None,
            verdict=verdict,
        ),
        Cell(MISSING if is_baseline else format_p(stat.p_value), numeric=True),
    )


def runs_section(runs: pd.DataFrame) -> list[Block]:
    """Ok and failed counts per scenario and arm, then each failure's last error line."""
    blocks: list[Block] = [Heading(2, "Runs")]
    if runs.empty:
        return [*blocks, Paragraph("No runs were recorded.")]
    # Anything but "ok" is a failure: a run that did not finish produced no KPIs.
    failed = runs["status"].ne("ok")
    counts = (
        runs.assign(ok=~failed, failed=failed)
        .groupby(["scenario", "arm"], sort=False)
        .agg(ok=("ok", "sum"), failed=("failed", "sum"), wall_s=("wall_s", "median"))
    )
    rows = tuple(
        (
            Cell(str(scenario)),
            Cell(str(arm)),
            Cell(str(int(row.ok)), numeric=True),
            Cell(str(int(row.failed)), numeric=True),
            Cell(format_number(row.wall_s), numeric=True),
        )
        for (scenario, arm), row in counts.iterrows()
    )
    blocks.append(Table(("scenario", "arm", "ok", "failed", "median wall time (s)"), rows))
    if failed.any():
        columns = ("run_id", "scenario", "point", "arm", "replication", "seed", "error (last line)")
        failures = tuple(
            (
                *(Cell(str(record.get(c, MISSING))) for c in columns[:-1]),
                Cell(_last_line(record.get("error"))),
            )
            for record in runs[failed].to_dict("records")
        )
        blocks += [Heading(3, "Failed runs"), Table(columns, failures)]
    return blocks


def _last_line(error: Any) -> str:
    """The last non-blank line of a traceback: the exception and its message."""
    if not isinstance(error, str) or not error.strip():
        return MISSING
    return error.strip().splitlines()[-1].strip()


def manifest_section(manifest: dict[str, Any]) -> list[Block]:
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str)
    return [Heading(2, "Manifest"), Code(text, "json")]
