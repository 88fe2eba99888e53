"""The arms side by side: headline KPI bars, and the forest plot of changes vs the baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from experiments.report.cells import change_ci
from experiments.report.figures.style import (
    ArmStyle,
    arm_styles,
    arm_ticks,
    new_figure,
    plain,
    point_axis,
    point_heading,
    tick,
    wrapped,
)
from experiments.report.model import Experiment
from experiments.stats import CONFIDENCE


def kpi_bars(
    experiment: Experiment, scenario: str, points: Sequence[int], headline: Sequence[str]
) -> Figure | None:
    """One panel per headline KPI: a bar per arm (grouped by point) with CI whiskers."""
    kpis = experiment.headline(headline)
    if not kpis:
        return None
    arms = experiment.arms[scenario]
    styles = arm_styles(arms, experiment.baseline)
    columns = min(3, len(kpis))
    rows = math.ceil(len(kpis) / columns)
    figure = new_figure(3.4 * columns + 0.4, 2.8 * rows + 1.0)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    width = 0.8 / len(arms)
    groups = np.arange(len(points))
    for ax, kpi in zip(axes, kpis, strict=False):
        for i, arm in enumerate(arms):
            estimates = [experiment.stat(scenario, p, arm, kpi) for p in points]
            means = np.array([s.mean for s in estimates])
            errors = np.array(
                [[s.mean - s.ci_low for s in estimates], [s.ci_high - s.mean for s in estimates]]
            )
            style = styles[arm]
            ax.bar(
                groups + (i - (len(arms) - 1) / 2) * width,
                means,
                width,
                yerr=errors,
                capsize=3,
                color=style.color,
                hatch=style.hatch,
                edgecolor="white",
                label=style.label,
            )
        if len(points) == 1:
            # One point: name each bar by its arm so the panel reads without the legend.
            arm_ticks(
                ax, (np.arange(len(arms)) - (len(arms) - 1) / 2) * width, arms, experiment.baseline
            )
        else:
            ticks, label = point_axis(experiment, scenario, points)
            ax.set_xticks(groups, ticks, fontsize=8)
            ax.set_xlabel(label)
        ax.set_title(wrapped(kpi), fontsize=10)
        ax.set_ylabel(plain(experiment.unit(kpi) or "value"))
        ax.yaxis.set_major_formatter(FuncFormatter(tick))
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(arms), 4))
    figure.suptitle(plain(f"{scenario}: headline KPIs, mean ± {CONFIDENCE:.0%} CI per arm"))
    return figure


def forest(
    experiment: Experiment, scenario: str, points: Sequence[int], headline: Sequence[str]
) -> Figure | None:
    """Change vs the baseline in % with its CI: a row per KPI and arm, a panel per point."""
    arms = [arm for arm in experiment.arms[scenario] if arm != experiment.baseline]
    kpis = experiment.headline(headline)
    rows = [(kpi, arm) for kpi in kpis for arm in arms]
    if not rows:
        return None
    styles = arm_styles(experiment.arms[scenario], experiment.baseline)
    width = 8.5 if len(points) == 1 else 3.0 + 2.8 * len(points)
    figure = new_figure(width, 1.8 + 0.3 * len(rows))
    axes = figure.subplots(1, len(points), squeeze=False, sharey=True)[0]
    for ax, point in zip(axes, points, strict=True):
        for y, (kpi, arm) in enumerate(rows):
            stat = experiment.stat(scenario, point, arm, kpi)
            color = styles[arm].color
            ax.errorbar(
                [stat.change_pct],
                [y],
                # Identical paired differences give a zero-width interval whose bounds
                # may sit a rounding error on the wrong side of the mean.
                xerr=[
                    [max(stat.change_pct - stat.change_low_pct, 0.0)],
                    [max(stat.change_high_pct - stat.change_pct, 0.0)],
                ],
                fmt="o",
                color=color,
                markerfacecolor=color if stat.significant else "white",
                capsize=3,
            )
            if len(points) == 1:
                # KPIs differ in scale, so small changes sit squeezed near 0: print them.
                ax.annotate(
                    plain(change_ci(stat, experiment.verdict(scenario, point, arm, kpi))),
                    xy=(1.02, y),
                    xycoords=("axes fraction", "data"),
                    va="center",
                    fontsize=8,
                )
        for k in range(1, len(kpis)):
            ax.axhline(k * len(arms) - 0.5, color="0.85", linewidth=0.8)
        ax.axvline(0, color="black", linewidth=1)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("change vs baseline (%)")
        if len(points) > 1:
            ax.set_title(plain(point_heading(experiment, scenario, point)), fontsize=9)
    axes[0].set_yticks(range(len(rows)), [plain(f"{kpi} · {arm}") for kpi, arm in rows], fontsize=8)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)  # first KPI on top, as in the tables
    figure.legend(handles=_forest_legend(styles, arms), loc="outside lower center", ncols=4)
    figure.suptitle(
        plain(f"{scenario}: change vs baseline '{experiment.baseline}' with {CONFIDENCE:.0%} CI")
    )
    return figure


def _forest_legend(styles: dict[str, ArmStyle], arms: Sequence[str]) -> list[Artist]:
    handles: list[Artist] = [
        Line2D([], [], color=styles[arm].color, marker="o", label=styles[arm].label) for arm in arms
    ]
    for label, face in (("CI excludes 0", "black"), ("CI includes 0", "white")):
        handles.append(
            Line2D(
                [], [], color="black", marker="o", markerfacecolor=face, linestyle="", label=label
            )
        )
    return handles
