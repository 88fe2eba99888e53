"""Probes over simulated time: each arm's mean over replications with a t-band."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from scipy import stats

from experiments.report.figures.style import arm_styles, new_figure, plain, tick, wrapped
from experiments.report.model import Experiment, baseline_first
from experiments.stats import CONFIDENCE


def timeseries_figure(
    experiment: Experiment,
    timeseries: pd.DataFrame,
    scenario: str,
    point: int,
    probes: Sequence[str],
) -> Figure | None:
    """One panel per probe: each arm's mean over replications with a t-band."""
    if timeseries.empty or not {"scenario", "point", "probe"}.issubset(timeseries.columns):
        return None
    data = timeseries[(timeseries["scenario"] == scenario) & (timeseries["point"] == point)]
    shown = [probe for probe in dict.fromkeys(probes) if (data["probe"] == probe).any()]
    if not shown:
        return None
    span = float(data["time_s"].max() - data["time_s"].min())
    scale, unit = (86_400.0, "days") if span > 2 * 86_400 else (3_600.0, "h")
    arms = baseline_first(data["arm"].astype(str), experiment.baseline)
    styles = arm_styles(arms, experiment.baseline)
    figure = new_figure(9.0, 2.3 * len(shown) + 1.2)
    axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    for ax, probe in zip(axes, shown, strict=True):
        for arm in arms:
            series = data[(data["probe"] == probe) & (data["arm"] == arm)]
            if series.empty:
                continue
            band = _replication_band(series)
            time = band.index.to_numpy(dtype=float) / scale
            style = styles[arm]
            ax.plot(
                time, band["mean"], color=style.color, linestyle=style.linestyle, label=style.label
            )
            ax.fill_between(
                time, band["low"], band["high"], color=style.color, alpha=0.2, linewidth=0
            )
        ax.set_ylabel(wrapped(probe, 24))
        ax.yaxis.set_major_formatter(FuncFormatter(tick))
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(arms), 4))
    figure.suptitle(
        plain(
            f"{experiment.block_title(scenario, point)}: mean over replications, "
            f"{CONFIDENCE:.0%} band"
        )
    )
    return figure


def _replication_band(series: pd.DataFrame) -> pd.DataFrame:
    """Mean and t-interval across replications at every sampled instant.

    Replications may sample at different instants (event-driven probes), so each one
    holds its last value until its next sample, and only within its own time span.
    """
    wide = series.pivot_table(index="time_s", columns="replication", values="value", aggfunc="mean")
    last = wide.apply(pd.Series.last_valid_index).to_numpy(dtype=float)
    held = wide.ffill().where(wide.index.to_numpy(dtype=float)[:, None] <= last[None, :])
    n = held.notna().sum(axis=1).to_numpy()
    mean = held.mean(axis=1).to_numpy()
    sd = held.std(axis=1, ddof=1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(n >= 2, n - 1, np.nan))
        halfwidth = t * sd / np.sqrt(n)
    low = mean - halfwidth
    if (series["value"] >= 0).all():
        # A symmetric t-band of a skewed non-negative quantity (WIP, counts) can dip
        # below zero; the quantity cannot.
        low = np.maximum(low, 0.0)
    return pd.DataFrame({"mean": mean, "low": low, "high": mean + halfwidth}, index=wide.index)
