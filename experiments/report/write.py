"""``write_report``: the sections and figures of an experiment, written as files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.report.blocks import Block, Image
from experiments.report.figures import draw_figures
from experiments.report.model import Experiment
from experiments.report.render import render_html, render_markdown
from experiments.report.sections import (
    effects_section,
    figure_section,
    headline_section,
    intro,
    manifest_section,
    runs_section,
    statistics_section,
)
from experiments.report.sensitivity import sensitivity_section
from experiments.sensitivity import SensitivityResults
from twin.core.files import write_atomically


@dataclass(frozen=True)
class ReportFiles:
    """The files one report consists of."""

    html: Path
    markdown: Path
    figures: tuple[Path, ...]


def write_report(
    directory: Path,
    *,
    summary: pd.DataFrame,
    points: pd.DataFrame,
    runs: pd.DataFrame,
    timeseries: pd.DataFrame,
    manifest: dict[str, Any],
    baseline: str,
    headline_kpis: Sequence[str],
    timeseries_probes: Sequence[str],
    title: str,
    sensitivity: SensitivityResults | None = None,
) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` into ``directory``.

    Args:
        directory: an existing directory; ``figures/`` is created inside it.
        summary: one row per scenario, point, arm and KPI (means, CIs, paired changes).
        points: ``scenario, point`` and one column per varied parameter.
        runs: one row per run with its status, wall time and error.
        timeseries: tidy ``scenario, point, arm, replication, time_s, probe, value``;
            may be empty.
        manifest: the JSON-serialisable record of the experiment.
        baseline: the arm every other arm is compared with.
        headline_kpis: the KPIs of the headline table and figures (absent ones skipped).
        timeseries_probes: the probes to plot over time (absent ones skipped).
        title: the report's title.
        sensitivity: the indices of a sensitivity design; the report is then about them
            (a design of hundreds of sampled points has no per-point comparison to read).

    Returns:
        The paths written. Each file is replaced atomically.
    """
    blocks: list[Block]
    if sensitivity is not None:
        n_points = int(points["point"].nunique()) if not points.empty else 0
        blocks = [
            *sensitivity_section(sensitivity, n_points),
            *runs_section(runs),
            *manifest_section(manifest),
        ]
        images = [block for block in blocks if isinstance(block, Image)]
    else:
        experiment = Experiment.from_summary(summary, points, baseline)
        drawn = draw_figures(experiment, timeseries, headline_kpis, timeseries_probes)
        blocks = [
            *intro(baseline),
            *headline_section(experiment, headline_kpis),
            *effects_section(experiment, headline_kpis),
            *figure_section(drawn, several=len(experiment.scenarios) > 1),
            *statistics_section(experiment),
            *runs_section(runs),
            *manifest_section(manifest),
        ]
        images = [image for _, image in drawn]
    figures_dir = directory / "figures"
    figures_dir.mkdir(exist_ok=True)
    figure_paths = tuple(figures_dir / image.name for image in images)
    for path, image in zip(figure_paths, images, strict=True):
        write_atomically(path, image.png)
    # The markdown links to the figures, so it is written after them; the HTML last, as
    # the file a reader opens first.
    markdown = directory / "report.md"
    write_atomically(markdown, render_markdown(blocks, title))
    page = directory / "report.html"
    write_atomically(page, render_html(blocks, title))
    return ReportFiles(html=page, markdown=markdown, figures=figure_paths)
