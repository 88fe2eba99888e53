"""Sensitivity indices from a finished batch of a ``sobol``, ``morris`` or ``fast`` design.

The batch runner ran every design point like any other point (resumable, the same on
every executor); this module reads the results and asks SALib how the variance of
each KPI divides among the factors. A point's output is its KPI averaged over its
replications, so replication noise shrinks with more replications; what is left of it
shows as ``noise_share``: the mean replication variance of a point mean (s^2 / n)
against the variance of the point means. Every point runs on the same replication
seeds (common random numbers); noise common to all points shifts every output alike
and leaves the indices, so the share is an upper bound on the part that matters.

Indices are estimated per scenario, arm and KPI, and, with several arms, for each
arm's paired difference to the baseline (``arm − baseline``, replication by
replication on common random numbers): which factor decides how much a policy gains.
Their confidence intervals are SALib's bootstrap intervals at
:data:`experiments.stats.CONFIDENCE`, drawn from a named stream of the experiment
seed, so the same results give the same intervals.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.config import (
    ExperimentConfig,
    FastDesign,
    MorrisDesign,
    SensitivityDesign,
    SobolDesign,
)
from experiments.design import sensitivity_sample, unit_problem
from experiments.stats import CONFIDENCE
from twin.core.streams import Streams

INDEX_COLUMNS = ("scenario", "arm", "kpi", "factor", "measure", "value", "conf")
OUTPUT_COLUMNS = (
    "scenario",
    "arm",
    "kpi",
    "unit",
    "points",
    "replications",
    "mean",
    "variance",
    "noise_share",
    "note",
)
MEASURES: dict[str, tuple[str, ...]] = {
    "sobol": ("S1", "ST"),
    "fast": ("S1", "ST"),
    "morris": ("mu_star", "sigma"),
}
"""The two measures the report plots and tabulates side by side, per method."""
MEASURE_NAMES = {
    "S1": "first-order index",
    "ST": "total index",
    "S2": "second-order index",
    "mu_star": "mean |elementary effect| (mu*)",
    "mu": "mean elementary effect (mu)",
    "sigma": "sd of elementary effects (sigma)",
}


@dataclass(frozen=True)
class SensitivityResults:
    """The indices of every analysed output, and what was (not) analysed and why.

    ``indices``: tidy ``scenario, arm, kpi, factor, measure, value, conf`` (``conf``: the
    CI half-width, NaN where SALib gives none); a second-order index names its two
    factors joined by `` × ``. ``outputs``: one row per scenario, arm and KPI with the
    points and replications used, the mean and variance of the point means, the share
    of that variance which is replication noise, and a ``note`` saying why an output
    was not analysed (empty when it was).
    """

    method: str
    factors: tuple[str, ...]
    indices: pd.DataFrame
    outputs: pd.DataFrame

    @property
    def measures(self) -> tuple[str, ...]:
        return MEASURES[self.method]


def analyse(
    config: ExperimentConfig, runs: pd.DataFrame, kpis: pd.DataFrame, names: Sequence[str]
) -> SensitivityResults:
    """Indices of the KPIs ``names`` for every scenario and arm of a sensitivity batch.

    Args:
        config: the experiment; its design must be a sensitivity design.
        runs: one row per run (``run_id, scenario, point, arm, status``).
        kpis: tidy ``run_id, kpi, value, unit``.
        names: the KPIs to analyse (those absent from the results are noted).
    """
    design = config.design
    if not isinstance(design, SensitivityDesign):
        raise ValueError(f"not a sensitivity design: {type(design).__name__}")
    unit_x = sensitivity_sample(design, config.seed)
    seed = int(Streams(config.seed)["experiment.sensitivity.bootstrap"].integers(1, 2**31))
    values = _values(runs, kpis, names)
    means = _point_means(pd.concat([values, _paired_differences(values, config.baseline)]))
    arms = [arm.name for arm in config.arms]
    # Each arm, then each arm's paired change against the baseline: which factor decides
    # how much a policy gains.
    outputs = arms + [f"{arm} − {config.baseline}" for arm in arms if arm != config.baseline]
    index_rows: list[dict[str, Any]] = []
    output_rows: list[dict[str, Any]] = []
    for entry in config.scenarios:
        for arm_name in outputs:
            for kpi in names:
                cell = means[
                    (means["scenario"] == entry.name)
                    & (means["arm"] == arm_name)
                    & (means["kpi"] == kpi)
                ]
                output, y = _output(entry.name, arm_name, kpi, cell, len(unit_x))
                output_rows.append(output)
                if y is None:
                    continue
                for factor, measure, value, conf in _indices(design, unit_x, y, seed):
                    index_rows.append(
                        {
                            "scenario": entry.name,
                            "arm": arm_name,
                            "kpi": kpi,
                            "factor": factor,
                            "measure": measure,
                            "value": value,
                            "conf": conf,
                        }
                    )
    return SensitivityResults(
        method=design.kind,
        factors=tuple(design.factors),
        indices=pd.DataFrame(index_rows, columns=list(INDEX_COLUMNS)),
        outputs=pd.DataFrame(output_rows, columns=list(OUTPUT_COLUMNS)),
    )


def _values(runs: pd.DataFrame, kpis: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The KPIs ``names`` of every finished run, with its scenario, arm, point, replication."""
    columns = ["scenario", "arm", "kpi", "point", "replication", "unit", "value"]
    if runs.empty or kpis.empty:
        return pd.DataFrame(columns=columns)
    keys = ["run_id", "scenario", "arm", "point", "replication"]
    ok = runs.loc[runs["status"] == "ok", keys]
    return kpis[kpis["kpi"].isin(list(names))].merge(ok, on="run_id")[columns]


def _paired_differences(values: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """``arm − baseline`` replication by replication, as the values of an arm of that name.

    Replication i of every arm ran on the same random numbers, so the difference is
    what the arm changes at that point, with the noise the arms share cancelled.
    """
    keys = ["scenario", "kpi", "point", "replication"]
    base = values[values["arm"] == baseline][[*keys, "value"]]
    others = values[values["arm"] != baseline]
    paired = others.merge(base, on=keys, suffixes=("", "_baseline"))
    return paired.assign(
        arm=paired["arm"] + f" − {baseline}", value=paired["value"] - paired["value_baseline"]
    ).drop(columns="value_baseline")


def _point_means(values: pd.DataFrame) -> pd.DataFrame:
    """Mean, variance and count over the replications of every point, arm and KPI."""
    columns = ["scenario", "arm", "kpi", "point", "unit", "mean", "var", "n"]
    if values.empty:
        return pd.DataFrame(columns=columns)
    grouped = values.groupby(["scenario", "arm", "kpi", "point"], sort=True)
    frame = grouped.agg(
        unit=("unit", "first"), mean=("value", "mean"), var=("value", "var"), n=("value", "size")
    )
    return frame.reset_index()[columns]


def _output(
    scenario: str, arm: str, kpi: str, cell: pd.DataFrame, n_points: int
) -> tuple[dict[str, Any], np.ndarray | None]:
    """The output's row in ``outputs`` and its point means (None: not analysable)."""
    row: dict[str, Any] = {
        "scenario": scenario,
        "arm": arm,
        "kpi": kpi,
        "unit": str(cell["unit"].iloc[0]) if not cell.empty else "",
        "points": len(cell),
        "replications": int(cell["n"].min()) if not cell.empty else 0,
        "mean": float("nan"),
        "variance": float("nan"),
        "noise_share": float("nan"),
        "note": "",
    }
    if cell.empty:
        row["note"] = "not in the results"
        return row, None
    finite = cell[np.isfinite(cell["mean"])]
    if len(finite) < n_points:
        row["note"] = (
            f"{n_points - len(finite)} of {n_points} points have no value (their runs "
            "failed, or the KPI is undefined there); the analysis needs every point"
        )
        return row, None
    y = finite.sort_values("point")["mean"].to_numpy(dtype=float)
    variance = float(np.var(y, ddof=1))
    row["mean"] = float(np.mean(y))
    row["variance"] = variance
    if variance <= 0:
        row["note"] = "the same at every point: no variance to apportion"
        return row, None
    # The variance of a point mean that is replication noise is s_p^2 / n_p on average.
    if row["replications"] >= 2:
        row["noise_share"] = min(float(np.mean(finite["var"] / finite["n"])) / variance, 1.0)
    return row, y


def _indices(
    design: SensitivityDesign, unit_x: np.ndarray, y: np.ndarray, seed: int
) -> list[tuple[str, str, float, float]]:
    """``(factor, measure, value, CI half-width)`` of every index SALib estimates."""
    from SALib.analyze import fast, morris, sobol

    problem = unit_problem(design)
    names = list(problem["names"])
    rows: list[tuple[str, str, float, float]] = []

    def add(measure: str, values: Any, confs: Any | None) -> None:
        for i, name in enumerate(names):
            conf = float(confs[i]) if confs is not None else float("nan")
            rows.append((name, measure, float(values[i]), conf))

    if isinstance(design, SobolDesign):
        si = sobol.analyze(
            problem,
            y,
            calc_second_order=design.second_order,
            num_resamples=design.resamples,
            conf_level=CONFIDENCE,
            seed=seed,
        )
        add("S1", si["S1"], si["S1_conf"])
        add("ST", si["ST"], si["ST_conf"])
        if design.second_order:
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    rows.append(
                        (
                            f"{names[i]} × {names[j]}",
                            "S2",
                            float(si["S2"][i, j]),
                            float(si["S2_conf"][i, j]),
                        )
                    )
    elif isinstance(design, MorrisDesign):
        si = morris.analyze(
            problem,
            unit_x,
            y,
            num_resamples=design.resamples,
            conf_level=CONFIDENCE,
            num_levels=design.levels,
            seed=seed,
        )
        add("mu_star", si["mu_star"], si["mu_star_conf"])
        add("sigma", si["sigma"], None)
        add("mu", si["mu"], None)
    else:
        assert isinstance(design, FastDesign)
        # SALib's FAST bootstrap seeds numpy's global generator: put it back afterwards,
        # so the analysis leaves no trace on other code's random numbers.
        state = np.random.get_state()  # noqa: NPY002
        try:
            with warnings.catch_warnings():
                # Its warning that FAST's bootstrap CIs are indicative is said in the report.
                warnings.simplefilter("ignore", UserWarning)
                si = fast.analyze(
                    problem,
                    y,
                    M=design.interference,
                    num_resamples=design.resamples,
                    conf_level=CONFIDENCE,
                    seed=seed,
                )
        finally:
            np.random.set_state(state)  # noqa: NPY002
        add("S1", si["S1"], si["S1_conf"])
        add("ST", si["ST"], si["ST_conf"])
    return rows
