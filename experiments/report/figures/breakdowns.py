"""Totals split into their parts: cost by category, emissions by carrier, energy by state."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from experiments.report.figures.style import arm_ticks, new_figure, plain, point_heading, tick
from experiments.report.model import Experiment

COST_CATEGORY = re.compile(r"^cost_(?!total$)(.+)$")
CO2E_CARRIER = re.compile(r"^co2e_(.+)_kg$")
ENERGY_STATE = re.compile(r"^energy_(.+)_kwh$")


def cost_breakdown(experiment: Experiment, scenario: str, points: Sequence[int]) -> Figure | None:
    return _breakdown_figure(
        experiment,
        scenario,
        points,
        [(COST_CATEGORY, "cost_total", "cost by category (mean per arm)")],
        f"{scenario}: cost breakdown",
    )


def emissions_panels(experiment: Experiment, scenario: str, points: Sequence[int]) -> list[str]:
    """What the emissions figure shows, e.g. ``["emissions by carrier"]``: only the
    breakdowns with a non-zero part, so its caption never names a panel it lacks."""
    return [
        name
        for pattern, _, name in _emissions_rows(experiment, scenario)
        if _breakdown(experiment, scenario, points, pattern) is not None
    ]


def _emissions_rows(
    experiment: Experiment, scenario: str
) -> list[tuple[re.Pattern[str], str, str]]:
    return [
        (CO2E_CARRIER, "co2e_kg", "emissions by carrier"),
        # Generic code names no domain: whose state it is (a machine's, a server's) the
        # KPI names do not say, so neither does the caption.
        (ENERGY_STATE, "energy_kwh", "energy by state"),
    ]


def emissions_breakdown(
    experiment: Experiment, scenario: str, points: Sequence[int]
) -> Figure | None:
    """Emissions by carrier and, when recorded, energy by state below it."""
    rows = _emissions_rows(experiment, scenario)
    shown = emissions_panels(experiment, scenario, points)
    return _breakdown_figure(
        experiment,
        scenario,
        points,
        [(pattern, total, f"{name} (mean per arm)") for pattern, total, name in rows],
        f"{scenario}: " + " and ".join(shown or ["emissions"]),
    )


@dataclass(frozen=True)
class _Parts:
    """The parts of one total to stack, per point and arm."""

    labels: list[str]
    """The part of each KPI name that varies (``cost_energy`` -> ``energy``)."""
    means: np.ndarray
    """``means[point, arm, part]``; NaN drawn as 0."""
    unit: str


def _breakdown(
    experiment: Experiment, scenario: str, points: Sequence[int], pattern: re.Pattern[str]
) -> _Parts | None:
    """The KPIs matching ``pattern`` that are not zero everywhere, or None if none is."""
    kpis = [kpi for kpi in experiment.kpis if pattern.match(kpi)]
    arms = experiment.arms[scenario]
    means = np.array(
        [[[experiment.stat(scenario, p, a, k).mean for k in kpis] for a in arms] for p in points]
    ).reshape(len(points), len(arms), len(kpis))
    means = np.nan_to_num(means, nan=0.0)
    keep = np.any(means != 0, axis=(0, 1))
    if not keep.any():
        return None
    kept = [kpi for kpi, k in zip(kpis, keep, strict=True) if k]
    labels = [match.group(1) for kpi in kept if (match := pattern.match(kpi))]
    return _Parts(labels, means[:, :, keep], experiment.unit(kept[0]))


def _breakdown_figure(
    experiment: Experiment,
    scenario: str,
    points: Sequence[int],
    panels: Sequence[tuple[re.Pattern[str], str, str]],
    title: str,
) -> Figure | None:
    """Stacked bars of the parts of totals: a row per breakdown, a column per point.

    Each breakdown is ``(pattern of the part KPIs, total KPI, panel name)``; one without
    any non-zero part is left out, and so is the figure when none is left.
    """
    rows = [
        (parts, total, name)
        for pattern, total, name in panels
        if (parts := _breakdown(experiment, scenario, points, pattern)) is not None
    ]
    if not rows:
        return None
    arms = len(experiment.arms[scenario])
    figure = new_figure(2.6 + (0.8 + 0.7 * arms) * len(points), 0.6 + 3.8 * len(rows))
    axes = figure.subplots(len(rows), len(points), squeeze=False, sharey="row")
    for r, (parts, total, name) in enumerate(rows):
        for c, point in enumerate(points):
            ax = axes[r, c]
            handles = _stacked_panel(ax, experiment, scenario, point, parts.means[c], parts, total)
            heading = (
                name
                if len(points) == 1
                else f"{name}\n{point_heading(experiment, scenario, point)}"
            )
            ax.set_title(plain(heading), fontsize=9)
            if c == 0:
                ax.set_ylabel(plain(parts.unit or "value"))
        axes[r, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    figure.suptitle(plain(title))
    return figure


def _stacked_panel(
    ax: Axes,
    experiment: Experiment,
    scenario: str,
    point: int,
    means: np.ndarray,
    parts: _Parts,
    total: str,
) -> list[Artist]:
    """Stacked bars of ``means[arm, part]`` with the total KPI and its CI as markers.

    Positive and negative parts are stacked apart (a credit goes below zero).

    Returns:
        The legend handles: total first, then the parts from the top of the stack down.
    """
    arms = experiment.arms[scenario]
    x = np.arange(len(arms), dtype=float)
    colors = mpl.colormaps["tab10" if len(parts.labels) <= 10 else "tab20"].colors
    above = np.zeros(len(arms))
    below = np.zeros(len(arms))
    # Handles are built by hand: the bars' own would copy the baseline's hatching.
    handles: list[Artist] = []
    for j, label in enumerate(parts.labels):
        values = means[:, j]
        color = colors[j % len(colors)]
        bottom = np.where(values >= 0, above, below)
        container = ax.bar(x, values, 0.7, bottom=bottom, color=color, edgecolor="white")
        for patch, arm in zip(container.patches, arms, strict=True):
            if arm == experiment.baseline:
                patch.set_hatch("//")
        handles.append(Patch(facecolor=color, label=plain(label)))
        above += np.clip(values, 0, None)
        below += np.clip(values, None, 0)
    # Reversed, so the legend lists the parts in the order they are stacked on screen.
    handles.reverse()
    totals = [experiment.stat(scenario, point, arm, total) for arm in arms]
    if any(not math.isnan(s.mean) for s in totals):
        handles.insert(
            0,
            ax.errorbar(
                x,
                [s.mean for s in totals],
                yerr=[[s.mean - s.ci_low for s in totals], [s.ci_high - s.mean for s in totals]],
                fmt="D",
                color="black",
                markersize=5,
                capsize=3,
                label=plain(f"total ({total}) ± CI"),
            ),
        )
    arm_ticks(ax, x, arms, experiment.baseline)
    ax.yaxis.set_major_formatter(FuncFormatter(tick))
    ax.grid(axis="y", alpha=0.3)
    return handles
