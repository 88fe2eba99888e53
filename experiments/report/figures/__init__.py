"""Every figure of the report, in display order, with its file name and caption.

Figures are drawn on ``matplotlib.figure.Figure`` with its own Agg canvas, never pyplot:
rendering touches no global state and is safe in worker processes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from experiments.report.blocks import Image
from experiments.report.figures.breakdowns import (
    cost_breakdown,
    emissions_breakdown,
    emissions_panels,
)
from experiments.report.figures.comparisons import forest, kpi_bars
from experiments.report.figures.style import png_bytes
from experiments.report.figures.timeseries import timeseries_figure
from experiments.report.model import Experiment
from experiments.stats import CONFIDENCE

MAX_FIGURE_POINTS = 4
"""Figures show at most this many points of a scenario; the tables show all of them."""


def draw_figures(
    experiment: Experiment,
    timeseries: pd.DataFrame,
    headline: Sequence[str],
    probes: Sequence[str],
) -> list[tuple[str, Image]]:
    """Every figure of the report with the scenario it belongs to, in display order."""
    images: list[tuple[str, Image]] = []

    def add(scenario: str, kind: str, figure: Figure | None, caption: str) -> None:
        if figure is not None:
            name = f"{len(images) + 1:02d}-{kind}-{_slug(scenario)}.png"
            images.append((scenario, Image(name, caption, png_bytes(figure))))

    for scenario in experiment.scenarios:
        shown = experiment.points[scenario][:MAX_FIGURE_POINTS]
        note = _points_note(experiment, scenario)
        # A KPI zero in every arm and point is an empty panel; the tables name it.
        zero = set.intersection(*(set(experiment.zero_kpis(scenario, p, headline)) for p in shown))
        drawn = [kpi for kpi in headline if kpi not in zero]
        add(
            scenario,
            "kpis",
            kpi_bars(experiment, scenario, shown, drawn),
            f"Headline KPIs per arm: mean with {CONFIDENCE:.0%} CI.{note}",
        )
        add(
            scenario,
            "changes",
            forest(experiment, scenario, shown, drawn),
            f"Change against the baseline in % with {CONFIDENCE:.0%} CI; filled markers "
            f"are significant.{note}",
        )
        add(
            scenario,
            "costs",
            cost_breakdown(experiment, scenario, shown),
            f"Cost by category, mean per arm; diamonds are the total with its CI.{note}",
        )
        panels = " and ".join(emissions_panels(experiment, scenario, shown)) or "emissions"
        add(
            scenario,
            "emissions",
            emissions_breakdown(experiment, scenario, shown),
            f"{panels[0].upper()}{panels[1:]}, mean per arm.{note}",
        )
        for point in shown:
            add(
                scenario,
                f"timeseries-p{point}",
                timeseries_figure(experiment, timeseries, scenario, point, probes),
                f"Time series ({experiment.block_title(scenario, point)}): mean over "
                f"replications with a {CONFIDENCE:.0%} t-band.",
            )
    return images


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "scenario"


def _points_note(experiment: Experiment, scenario: str) -> str:
    total = len(experiment.points[scenario])
    if total <= MAX_FIGURE_POINTS:
        return ""
    return f" Figures show the first {MAX_FIGURE_POINTS} of {total} points; tables show all."
