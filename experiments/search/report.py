"""Reports of ``twin optimize`` and ``twin calibrate``: HTML and markdown, as the batch report.

They are written with the batch report's blocks and renderers
(:mod:`experiments.report.blocks`, :mod:`experiments.report.render`), so they look and
escape alike; the figures are drawn here on their own Agg canvases.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd

from experiments.report.blocks import Block, Cell, Code, Heading, Image, Paragraph, Table
from experiments.report.figures.style import new_figure, plain, png_bytes
from experiments.report.numbers import format_number, format_p
from experiments.report.render import render_html, render_markdown
from experiments.search.checks import describe_values
from twin.core.files import write_atomically

if TYPE_CHECKING:
    from experiments.search.calibrate import CalibrationResults
    from experiments.search.optimize import OptimizationResults

FEASIBLE_COLOR = "#0072B2"
INFEASIBLE_COLOR = "#D55E00"
BEST_COLOR = "#222222"


def write_pages(directory: Path, blocks: list[Block], title: str) -> Path:
    """``report.md``, ``figures/*.png`` and ``report.html`` (last: the page a reader opens)."""
    figures = directory / "figures"
    figures.mkdir(exist_ok=True)
    for block in blocks:
        if isinstance(block, Image):
            write_atomically(figures / block.name, block.png)
    write_atomically(directory / "report.md", render_markdown(blocks, title))
    page = directory / "report.html"
    write_atomically(page, render_html(blocks, title))
    return page


# --- optimisation ----------------------------------------------------------------------------


def write_optimization_report(
    results: OptimizationResults, study: optuna.Study, manifest: dict[str, Any]
) -> Path:
    config = results.config
    objective = config.objective.kpi
    constraints = ", ".join(c.describe() for c in config.constraints) or "none"
    blocks: list[Block] = [
        Paragraph(
            f"{results.direction.capitalize()} the mean of {objective} over "
            f"{config.replications.count} replications (the same seeds for every candidate: "
            f"common random numbers), subject to: {constraints}. Sampler "
            f"{config.search.sampler}, {len(results.trials)} trials asked "
            f"{config.search.batch} at a time."
        ),
        Paragraph(results.verdict + "."),
        Heading(2, "Optimisation history"),
        _history_image(results.trials, objective, results.direction),
        *_best_trials_table(results),
        Heading(2, "Re-check: incumbent against its best challengers"),
        Paragraph(
            "The best distinct points of the search, run again on fresh common replications "
            "(the search's own replications flatter its best). Differences are paired "
            "against the incumbent (the best of the search), with 95% confidence intervals."
        ),
        *_recheck_table(results),
    ]
    if results.winner is not None and not results.comparison.empty:
        blocks += [
            Heading(2, "Winner against the baseline"),
            Paragraph(
                f"{results.winner} ({describe_values(results.winner_values)}) against the "
                "baseline (the scenario and policy as the config writes them), on the re-check's "
                "replications: paired differences with 95% confidence intervals."
            ),
            _comparison_image(results),
            _comparison_table(results.comparison),
        ]
    blocks += [
        Heading(2, "Manifest"),
        Code(json.dumps(manifest, indent=2), "json"),
    ]
    return write_pages(results.directory, blocks, config.name)


def _history_image(trials: pd.DataFrame, kpi: str, direction: str) -> Image:
    figure = new_figure(8.0, 4.0)
    ax = figure.add_subplot()
    done = trials[trials["state"] == "complete"]
    feasible = done[done["feasible"]]
    infeasible = done[~done["feasible"]]
    ax.scatter(
        feasible["trial"], feasible["value"], s=18, color=FEASIBLE_COLOR, label="feasible trial"
    )
    if not infeasible.empty:
        ax.scatter(
            infeasible["trial"],
            infeasible["value"],
            s=22,
            marker="x",
            color=INFEASIBLE_COLOR,
            label="misses a constraint",
        )
    ax.step(
        trials["trial"], trials["best_so_far"], where="post", color=BEST_COLOR, label="best so far"
    )
    ax.set_xlabel("trial")
    ax.set_ylabel(plain(f"mean {kpi}"))
    ax.set_title(plain(f"{direction} {kpi}"), fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    caption = (
        f"Every trial's mean {kpi} over the search's replications; the line is the best "
        "feasible mean so far."
    )
    return Image("history.png", caption, png_bytes(figure))


def _best_trials_table(results: OptimizationResults) -> list[Block]:
    trials = results.trials
    done = trials[trials["feasible"]]
    ascending = results.direction == "minimize"
    distinct = done[done["same_as"] < 0]  # a repeated point is shown once, as first tried
    top = distinct.sort_values(["value", "trial"], ascending=[ascending, True]).head(10)
    constraint_columns = [f"{c.kpi} mean" for c in results.config.constraints]
    columns = ("trial", *results.config.parameters, "mean " + results.config.objective.kpi)
    columns = (*columns, *constraint_columns)
    rows = tuple(
        (
            Cell(str(row["trial"]), numeric=True),
            *(_value_cell(row[key]) for key in results.config.parameters),
            Cell(format_number(row["value"]), numeric=True),
            *(Cell(format_number(row[c]), numeric=True) for c in constraint_columns),
        )
        for _, row in top.iterrows()
    )
    failed = int((trials["state"] == "fail").sum())
    note = f" {failed} trial(s) failed (their errors are in trials.parquet)." if failed else ""
    return [
        Heading(3, "Best feasible points of the search"),
        Paragraph(f"{len(done)} of {len(trials)} trials met every constraint.{note}"),
        Table(columns, rows),
    ]


def _value_cell(value: Any) -> Cell:
    if isinstance(value, float | np.floating):
        return Cell(f"{float(value):.5g}", numeric=True)
    return Cell(str(value), numeric=isinstance(value, int | np.integer))


def _recheck_table(results: OptimizationResults) -> list[Block]:
    recheck = results.recheck
    if recheck.empty:
        return [Paragraph("Nothing to re-check: no trial met the constraints.")]
    kpi = results.config.objective.kpi
    constraint_columns = [f"{c.kpi} mean" for c in results.config.constraints]
    columns = (
        "candidate",
        *results.config.parameters,
        f"search mean {kpi}",
        f"re-check mean {kpi}",
        "vs incumbent [95% CI]",
        "p",
        *constraint_columns,
        "feasible",
    )
    rows = []
    for _, row in recheck.iterrows():
        name = str(row["candidate"]) + (" (incumbent)" if row["rank"] == 0 else "")
        name += " (winner)" if row["candidate"] == results.winner else ""
        difference = (
            "-"
            if math.isnan(row["diff"])
            else f"{format_number(row['diff'])} [{format_number(row['diff_low'])}, "
            f"{format_number(row['diff_high'])}]"
        )
        rows.append(
            (
                Cell(name),
                *(_value_cell(row[key]) for key in results.config.parameters),
                Cell(format_number(row["search_mean"]), numeric=True),
                Cell(format_number(row["mean"]), numeric=True),
                Cell(difference, numeric=True, significant=row["p_value"] < 0.05),
                Cell(_p_text(row["p_value"]), numeric=True),
                *(Cell(format_number(row[c]), numeric=True) for c in constraint_columns),
                Cell("yes" if row["feasible"] else "no"),
            )
        )
    return [Table(columns, tuple(rows))]


def _comparison_kpis(results: OptimizationResults) -> list[str]:
    config = results.config
    named = [config.objective.kpi, *(c.kpi for c in config.constraints)]
    present = list(dict.fromkeys(results.comparison["kpi"]))
    return [kpi for kpi in dict.fromkeys(named) if kpi in present]


def _comparison_image(results: OptimizationResults) -> Image:
    comparison = results.comparison
    kpis = _comparison_kpis(results)
    arm = comparison[~comparison["baseline"]].set_index("kpi")
    figure = new_figure(7.0, 0.6 + 0.7 * len(kpis))
    ax = figure.add_subplot()
    y = np.arange(len(kpis))
    change = [float(arm.loc[k, "change_pct"]) for k in kpis]
    low = [float(arm.loc[k, "change_low_pct"]) for k in kpis]
    high = [float(arm.loc[k, "change_high_pct"]) for k in kpis]
    errors = np.array([np.subtract(change, low), np.subtract(high, change)])
    ax.errorbar(change, y, xerr=errors, fmt="o", color=FEASIBLE_COLOR, capsize=4)
    ax.axvline(0.0, color=BEST_COLOR, linewidth=0.8)
    ax.set_yticks(y, [plain(k) for k in kpis])
    ax.invert_yaxis()
    ax.set_xlabel("change against the baseline, % (95% CI of the paired difference)")
    ax.grid(axis="x", alpha=0.3)
    caption = f"{results.winner} against the baseline: paired change with its 95% CI."
    return Image("winner.png", caption, png_bytes(figure))


def _comparison_table(comparison: pd.DataFrame) -> Table:
    arm = comparison[~comparison["baseline"]].set_index("kpi")
    base = comparison[comparison["baseline"]].set_index("kpi")
    columns = (
        "KPI",
        "unit",
        "baseline",
        "winner",
        "difference [95% CI]",
        "change %",
        "p",
        "better",
    )
    rows = []
    for kpi in arm.index:
        row, ref = arm.loc[kpi], base.loc[kpi]
        if math.isnan(row["diff"]):
            continue
        better = str(row.get("better", ""))
        verdict = None
        if row["p_value"] < 0.05 and better:
            improved = (row["diff"] < 0) == (better == "lower")
            verdict = "better" if improved else "worse"
        rows.append(
            (
                Cell(str(kpi)),
                Cell(str(row["unit"])),
                Cell(format_number(ref["mean"]), numeric=True),
                Cell(format_number(row["mean"]), numeric=True),
                Cell(
                    f"{format_number(row['diff'])} [{format_number(row['diff_low'])}, "
                    f"{format_number(row['diff_high'])}]",
                    numeric=True,
                    significant=row["p_value"] < 0.05,
                    verdict=verdict,
                ),
                Cell(format_number(row["change_pct"]), numeric=True),
                Cell(format_p(row["p_value"]), numeric=True),
                Cell(better),
            )
        )
    return Table(columns, tuple(rows))


def _p_text(p_value: float) -> str:
    return "-" if math.isnan(p_value) else format_p(p_value)


# --- calibration -----------------------------------------------------------------------------


def write_calibration_report(results: CalibrationResults, manifest: dict[str, Any]) -> Path:
    config = results.config
    targets = ", ".join(
        f"{target.name} ({'KPI' if target.kpi else 'time series'}, weight {target.weight:g})"
        for target in config.targets
    )
    blocks: list[Block] = [
        Paragraph(
            f"Fit of {', '.join(config.parameters)} to observed {targets}, over "
            f"{config.replications.count} replications per candidate (common random numbers). "
            "Distance per target: a KPI's is (simulated mean - observed) / |observed|; a time "
            "series' is the RMSE of the simulated mean series (interpolated to the observed "
            "times) over the mean |observed|. The loss is the weighted sum of their squares."
        ),
        Paragraph(f"Best fit: {describe_values(results.best)}, loss {results.loss:.4g}."),
        Heading(2, "Estimates"),
        Paragraph(
            "The best fit pools every replication; the spread is that of the fits to each "
            "replication's seed alone: the minimum of a quadratic fitted to the trials "
            "nearest that seed's best (every trial ran every seed), or that best trial "
            "where the quadratic is not a bowl (per_seed.parquet, column method). It "
            "measures the simulation's noise, not the noise in the observed data."
        ),
        _estimates_table(results.estimates),
        Heading(2, "Observed against simulated"),
        *_fit_images(results.fit),
        _fit_table(results.fit),
        Heading(2, "Calibration history"),
        _loss_history_image(results.trials),
        Heading(2, "Manifest"),
        Code(json.dumps(manifest, indent=2), "json"),
    ]
    return write_pages(results.directory, blocks, config.name)


def _estimates_table(estimates: pd.DataFrame) -> Table:
    columns = ("parameter", "best fit", "seeds", "mean over seeds", "sd", "min", "max")
    rows = tuple(
        (
            Cell(str(row.parameter)),
            Cell(f"{row.best:.5g}", numeric=True),
            Cell(str(row.seeds), numeric=True),
            Cell(f"{row.seed_mean:.5g}", numeric=True),
            Cell(f"{row.seed_sd:.3g}", numeric=True),
            Cell(f"{row.seed_min:.5g}", numeric=True),
            Cell(f"{row.seed_max:.5g}", numeric=True),
        )
        for row in estimates.itertuples(index=False)
    )
    return Table(columns, rows)


def _fit_images(fit: pd.DataFrame) -> list[Block]:
    images: list[Block] = []
    kpis = fit[fit["time_s"].isna()]
    if not kpis.empty:
        figure = new_figure(7.0, 0.8 + 0.7 * len(kpis))
        axes = figure.subplots(len(kpis), 1, squeeze=False)[:, 0]
        for ax, row in zip(axes, kpis.itertuples(index=False), strict=True):
            ax.errorbar(
                [row.simulated],
                [0],
                xerr=[[row.simulated - row.low], [row.high - row.simulated]],
                fmt="o",
                color=FEASIBLE_COLOR,
                capsize=4,
                label="simulated (mean, range over seeds)",
            )
            ax.plot([row.observed], [0], marker="D", color=INFEASIBLE_COLOR, label="observed")
            ax.set_yticks([0], [plain(str(row.target))])
            ax.grid(axis="x", alpha=0.3)
        handles, labels = axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, fontsize=8, loc="outside upper center", ncols=2)
        images.append(
            Image("fit_kpis.png", "Observed KPIs against the best fit's.", png_bytes(figure))
        )
    for n, (target, block) in enumerate(fit[fit["time_s"].notna()].groupby("target", sort=False)):
        figure = new_figure(8.0, 3.5)
        ax = figure.add_subplot()
        hours = block["time_s"] / 3600.0
        ax.fill_between(
            hours, block["low"], block["high"], color=FEASIBLE_COLOR, alpha=0.2,
            label="simulated, range over seeds",
        )  # fmt: skip
        ax.plot(hours, block["simulated"], color=FEASIBLE_COLOR, label="simulated mean")
        ax.plot(hours, block["observed"], color=INFEASIBLE_COLOR, marker=".", label="observed")
        ax.set_xlabel("time, h")
        ax.set_ylabel(plain(str(target)))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        caption = f"{target}: observed against the best fit's simulation."
        images.append(Image(f"fit_series_{n}.png", caption, png_bytes(figure)))
    return images


def _fit_table(fit: pd.DataFrame) -> Table:
    kpis = fit[fit["time_s"].isna()]
    series = fit[fit["time_s"].notna()]
    rows = [
        (row.target, row.observed, row.simulated, row.low, row.high)
        for row in kpis.itertuples(index=False)
    ]
    for target, block in series.groupby("target", sort=False):
        rows.append(
            (f"{target} (mean over time)", block["observed"].mean(), block["simulated"].mean(),
             block["low"].mean(), block["high"].mean())
        )  # fmt: skip
    columns = ("target", "observed", "simulated mean", "seed min", "seed max")
    return Table(
        columns,
        tuple(
            (Cell(str(name)), *(Cell(format_number(v), numeric=True) for v in values))
            for name, *values in rows
        ),
    )


def _loss_history_image(trials: pd.DataFrame) -> Image:
    figure = new_figure(8.0, 3.5)
    ax = figure.add_subplot()
    done = trials[trials["state"] == "complete"]
    ax.scatter(done["trial"], done["loss"], s=16, color=FEASIBLE_COLOR, label="trial")
    best = trials["loss"].where(trials["state"] == "complete").cummin()
    ax.step(trials["trial"], best, where="post", color=BEST_COLOR, label="best so far")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return Image(
        "history.png", "Every trial's loss; the line is the best so far.", png_bytes(figure)
    )
