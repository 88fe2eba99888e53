"""Sensitivity indices as bars with confidence-interval whiskers, a panel per KPI."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from experiments.report.figures.style import ARM_COLORS, new_figure, plain, tick, wrapped
from experiments.stats import CONFIDENCE

MEASURE_COLORS = (ARM_COLORS[0], ARM_COLORS[1])
"""The two measures of a panel (first-order and total, or mu* and sigma)."""


def index_bars(
    indices: pd.DataFrame,
    factors: Sequence[str],
    measures: Sequence[str],
    labels: dict[str, str],
    title: str,
    xlabels: dict[str, str],
) -> Figure | None:
    """A panel per KPI: a pair of bars per factor (one per measure) with CI whiskers.

    Args:
        indices: ``kpi, factor, measure, value, conf`` of one scenario and arm.
        factors: the factors, in the order of the bars (top to bottom).
        measures: the two measures drawn side by side.
        labels: a legend label per measure.
        title: the figure's title.
        xlabels: the x-axis label of each KPI's panel (what the measures are in).
    """
    kpis = list(dict.fromkeys(indices["kpi"]))
    if not kpis:
        return None
    columns = min(2, len(kpis))
    rows = math.ceil(len(kpis) / columns)
    figure = new_figure(4.8 * columns + 0.6, 0.45 * len(factors) * rows + 1.4 * rows + 0.8)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    height = 0.8 / len(measures)
    y = np.arange(len(factors))
    for ax, kpi in zip(axes, kpis, strict=False):
        of_kpi = indices[indices["kpi"] == kpi].set_index(["factor", "measure"])
        for i, measure in enumerate(measures):
            values = np.array([_get(of_kpi, f, measure, "value") for f in factors])
            confs = np.array([_get(of_kpi, f, measure, "conf") for f in factors])
            ax.barh(
                y + (i - (len(measures) - 1) / 2) * height,
                values,
                height,
                # A measure without a CI (Morris' sigma) is drawn without whiskers.
                xerr=None if np.isnan(confs).all() else np.nan_to_num(confs),
                capsize=3,
                color=MEASURE_COLORS[i % len(MEASURE_COLORS)],
                label=plain(labels[measure]),
            )
        ax.set_yticks(y, [wrapped(f, 30) for f in factors], fontsize=8)
        ax.set_ylim(len(factors) - 0.5, -0.5)  # first factor on top, as in the table
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(wrapped(kpi), fontsize=10)
        ax.set_xlabel(plain(xlabels.get(kpi, "")), fontsize=9)
        ax.xaxis.set_major_formatter(FuncFormatter(tick))
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    handles, legend = axes[0].get_legend_handles_labels()
    figure.legend(handles, legend, loc="outside lower center", ncols=len(measures))
    figure.suptitle(
        f"{wrapped(title, 60 * columns)}\nwhiskers: {CONFIDENCE:.0%} bootstrap CI", fontsize=10
    )
    return figure


def _get(frame: pd.DataFrame, factor: str, measure: str, column: str) -> float:
    key = (factor, measure)
    return float(frame.loc[key, column]) if key in frame.index else float("nan")
