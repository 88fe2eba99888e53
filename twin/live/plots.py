"""The shadow's pictures, drawn from a session's files alone (``twin shadow`` writes them
at the end; ``twin viz --shadow`` redraws them while the session runs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

SMOOTHING_READINGS = 12


def divergence_figure(
    divergence: pd.DataFrame,
    alarms: Mapping[str, float],
    estimates: pd.DataFrame,
    recommendations: Sequence[Mapping[str, Any]],
    title: str,
    settle_readings: int = 3,
) -> Figure:
    """Top: how far the twin is from each measured channel, as a share of the channel's
    alarm threshold (1 = alarm), for the channels that diverged most, leaving out each
    channel's first ``settle_readings`` (its sensor filters filling up, which the alarm
    ignores too). Bottom: one kind of estimated hidden quantity at each decision epoch,
    and the policy changes."""
    figure = Figure(figsize=(9, 6.5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    if not divergence.empty:
        share = (divergence["measured"] - divergence["predicted"]).abs() / divergence[
            "channel"
        ].map(alarms)
        frame = divergence.assign(share=share)
        frame = frame[frame.groupby("channel").cumcount() >= settle_readings]
        worst = frame.groupby("channel")["share"].mean().sort_values(ascending=False).index[:6]
        highest = 2.0
        for name in worst:
            rows = frame[frame["channel"] == name]
            smooth = rows["share"].rolling(SMOOTHING_READINGS, min_periods=1).mean()
            top.plot(rows["t_s"] / 3600.0, smooth, linewidth=1, label=name)
            highest = max(highest, float(smooth.quantile(0.99)))
        top.set_ylim(0.0, highest * 1.1)  # a start-up transient must not flatten the rest
    top.axhline(1.0, color="tab:red", linestyle="--", linewidth=1, label="alarm threshold")
    top.set_ylabel(f"|measured - twin| / threshold\n(mean of {SMOOTHING_READINGS} readings)")
    top.legend(fontsize=7, ncol=2, loc="upper left")
    top.set_title(f"{title}: the twin against the measurements")
    if not estimates.empty:
        kinds = estimates["name"].str.rsplit("/", n=1).str[-1]
        kind = sorted(kinds.unique())[0]
        chosen = estimates[kinds == kind]
        for name in sorted(chosen["name"].unique())[:8]:
            rows = chosen[chosen["name"] == name]
            bottom.plot(rows["t_s"] / 3600.0, rows["value"], marker=".", linewidth=1, label=name)
        bottom.set_ylabel(f"estimated {kind}")
        bottom.legend(fontsize=7, ncol=3, loc="upper left")
    for recommendation in recommendations:
        if recommendation["policy"] != recommendation["previous"]:
            hours = recommendation["t"] / 3600.0
            bottom.axvline(hours, color="grey", linewidth=0.8)
            bottom.annotate(recommendation["policy"], (hours, 0.0), fontsize=7, rotation=90)
    bottom.set_xlabel("time [h]")
    figure.tight_layout()
    return figure


def branches_figure(recommendations: Sequence[Mapping[str, Any]]) -> Figure:
    """At each decision epoch, every candidate's forecast against the policy in force:
    the mean paired difference of the KPI over the look-ahead's futures, with its
    confidence interval; the recommended one is ringed."""
    figure = Figure(figsize=(9, 3.8))
    axis = figure.subplots()
    series: dict[str, list[tuple[float, float, float]]] = {}
    for recommendation in recommendations:
        for branch in recommendation["branches"]:
            point = (recommendation["t"] / 3600.0, branch["difference"], branch["half_width"])
            series.setdefault(branch["policy"], []).append(point)
    for name, points in sorted(series.items()):
        hours, differences, widths = zip(*points, strict=True)
        axis.errorbar(hours, differences, yerr=widths, marker="o", markersize=3, capsize=2,
                      linewidth=1, label=name)  # fmt: skip
    chosen = [
        (
            r["t"] / 3600.0,
            next(b["difference"] for b in r["branches"] if b["policy"] == r["policy"]),
        )
        for r in recommendations
    ]
    if chosen:
        hours, differences = zip(*chosen, strict=True)
        axis.plot(hours, differences, "o", markersize=10, markerfacecolor="none",
                  markeredgecolor="black", label="recommended")  # fmt: skip
    axis.axhline(0.0, color="grey", linewidth=0.8)
    if recommendations:
        last = recommendations[-1]
        axis.set_ylabel(f"{last['kpi']}: candidate - in force\n({last['better']} is better)")
        axis.set_title(
            f"what-if branches: {last['replications']} paired futures each, "
            f"{last['look_ahead_s'] / 3600.0:g} h ahead"
        )
    axis.set_xlabel("decision epoch [h]")
    axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return figure
