"""``twin optimize``: the best mean of a KPI over the searched parameters, under constraints.

Each trial's value is the mean of the objective KPI over ``replications.count`` runs on
common random numbers; a constraint holds when the mean of its KPI is within its bound.
The best of a search is flattered by the replications it was chosen on (the winner's
curse), so before a winner is declared the incumbent and its best challengers (distinct
points) run again on fresh common replications, with the baseline (the config as
written): the winner is the best of them there that meets the constraints, and the
report shows every challenger against the incumbent and the winner against the baseline
as paired differences with confidence intervals (:mod:`experiments.stats`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from experiments.search.checks import check_optimize, describe_values
from experiments.search.config import OptimizeConfig, parse_optimize
from experiments.search.evaluate import Evaluation, evaluate
from experiments.search.space import baseline
from experiments.search.study import (
    Score,
    best_so_far,
    candidate_of,
    config_and_directory,
    is_feasible,
    open_study,
    prepare_directory,
    ranked,
    read_manifest,
    run_study,
    search_executor,
)
from experiments.stats import compare_arms, paired_difference
from twin.core.config import read_toml
from twin.core.files import write_parquet_atomically
from twin.core.registry import Registry
from twin.core.run import default_registry

KIND = "optimize"


@dataclass(frozen=True)
class OptimizationResults:
    """The outcome of ``twin optimize``, for notebooks and for the report."""

    directory: Path
    config: OptimizeConfig
    direction: str
    trials: pd.DataFrame
    """One row per trial: number, state, parameters, value, constraint means, feasible,
    best so far, ``same_as`` (the earlier trial whose point it repeats and whose runs it
    reuses; -1: none) and the error of a failed trial."""
    recheck: pd.DataFrame
    """One row per re-checked point: its mean on fresh replications and paired test
    against the incumbent."""
    comparison: pd.DataFrame
    """The winner against the baseline: :func:`experiments.stats.compare_arms` rows."""
    winner: str | None
    winner_values: dict[str, Any]
    verdict: str
    report: Path | None

    def headline(self) -> str:
        lines = [self.verdict]
        if self.winner is not None:
            lines.append(f"winner: {self.winner} ({describe_values(self.winner_values)})")
            lines += _comparison_lines(self.comparison, self.config)
        return "\n".join(lines)


def load_optimize(path: str | Path) -> OptimizeConfig:
    return parse_optimize(read_toml(path), str(path))


def run_optimization(
    config: OptimizeConfig | str | Path,
    out: str | Path | None = None,
    *,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force_new: bool = False,
    progress: bool = False,
    report: bool = True,
    source: str | None = None,
) -> OptimizationResults:
    """Run (or resume) an optimisation and return its results.

    Raises:
        UserError: a config or argument problem, before anything is written.
        KeyboardInterrupt: interrupted; the study keeps every told trial for a resume.
    """
    config, source, directory = config_and_directory(
        config, out, source, OptimizeConfig, load_optimize
    )
    registry = default_registry()
    direction = check_optimize(config, source, registry)
    settings = config.executor
    prepare_directory(directory, KIND, config, source, force_new)
    study = open_study(directory, direction)
    recheck_runs = _recheck_replications(config) * (2 + config.recheck.challengers)
    with search_executor(settings, executor, workers, scheduler, directory) as pool:
        bar = run_study(
            study,
            config,
            registry,
            pool,
            lambda evaluation: score_trial(config, evaluation),
            progress=progress,
            describe=lambda s: describe_best(s, config),
            extra_runs=recheck_runs,
        )
        try:
            recheck, comparison, winner, verdict = _recheck(
                study, config, direction, registry, pool, lambda: bar.update(1)
            )
        finally:
            bar.close()
    trials = trials_frame(study, config)
    write_parquet_atomically(trials, directory / "trials.parquet")
    write_parquet_atomically(recheck, directory / "recheck.parquet")
    write_parquet_atomically(comparison, directory / "comparison.parquet")
    winner_values = {}
    if winner is not None:
        row = recheck[recheck["candidate"] == winner].iloc[0]
        winner_values = {key: _plain(row[key]) for key in config.parameters}
    results = OptimizationResults(
        directory,
        config,
        direction,
        trials,
        recheck,
        comparison,
        winner,
        winner_values,
        verdict,
        None,
    )
    if report:
        from experiments.search.report import write_optimization_report

        page = write_optimization_report(results, study, read_manifest(directory))
        results = replace(results, report=page)
    return results


def score_trial(config: OptimizeConfig, evaluation: Evaluation) -> Score:
    """A trial's value: the objective's mean; its constraints: the bounds' violations."""
    kpis = [config.objective.kpi, *(c.kpi for c in config.constraints)]
    per_replication = {kpi: _json_list(evaluation.values(kpi)) for kpi in dict.fromkeys(kpis)}
    attrs: dict[str, Any] = {"values": per_replication}
    if not evaluation.ok:
        attrs["error"] = evaluation.errors[0][-2000:]
        return Score(None, {}, attrs)
    means = {kpi: evaluation.mean(kpi) for kpi in per_replication}
    attrs["means"] = means
    if not all(math.isfinite(mean) for mean in means.values()):
        attrs["error"] = "a KPI's mean is not finite"
        return Score(None, {}, attrs)
    constraints = {c.describe(): c.violation(means[c.kpi]) for c in config.constraints}
    return Score(means[config.objective.kpi], constraints, attrs)


def _plain(value: Any) -> Any:
    """A NumPy scalar from a frame as the Python number it holds."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _json_list(values: np.ndarray) -> list[float | None]:
    # Optuna keeps user attributes as JSON; NaN (a failed run) is written as null.
    return [float(v) if math.isfinite(v) else None for v in values]


def describe_best(study: optuna.Study, config: OptimizeConfig) -> str:
    """The live best-so-far for the progress bar."""
    best = ranked(study)
    done = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
    head = f"trial {done}/{config.search.trials}"
    if not best:
        return f"{head} | no feasible point yet"
    top = best[0]
    return (
        f"{head} | best {config.objective.kpi} {float(top.value or 0.0):.5g} "
        f"(trial {top.number}: {describe_values(top.params)})"
    )


def _recheck_replications(config: OptimizeConfig) -> int:
    return config.recheck.replications or config.replications.count


def _recheck(
    study: optuna.Study,
    config: OptimizeConfig,
    direction: str,
    registry: Registry,
    pool: Any,
    on_run: Any,
) -> tuple[pd.DataFrame, pd.DataFrame, str | None, str]:
    """The incumbent, its best distinct challengers and the baseline on fresh replications."""
    distinct: list[optuna.trial.FrozenTrial] = []
    seen: set[str] = set()
    for trial in ranked(study):
        key = repr(sorted(trial.params.items()))
        if key not in seen:
            seen.add(key)
            distinct.append(trial)
    contenders = distinct[: 1 + config.recheck.challengers]
    if not contenders:
        verdict = "no trial met the constraints: no winner"
        return pd.DataFrame(), pd.DataFrame(), None, verdict
    first = config.replications.count
    fresh = list(range(first, first + _recheck_replications(config)))
    candidates = [baseline(config, registry)] + [
        candidate_of(config, trial, registry) for trial in contenders
    ]
    evaluations = evaluate(
        candidates,
        policy=config.policy.id,
        seed=config.seed,
        replications=fresh,
        pool=pool,
        on_run=on_run,
    )
    base, *others = evaluations
    recheck = _recheck_frame(config, contenders, others)
    sign = 1.0 if direction == "minimize" else -1.0
    feasible = recheck[recheck["feasible"]]
    if feasible.empty:
        verdict = (
            f"none of the {len(contenders)} best trials met the constraints on the "
            f"{len(fresh)} fresh replications: no winner"
        )
        return recheck, pd.DataFrame(), None, verdict
    best_row = feasible.loc[(sign * feasible["mean"]).idxmin()]
    winner = str(best_row["candidate"])
    incumbent = str(recheck["candidate"].iloc[0])
    if winner == incumbent:
        verdict = (
            f"incumbent {incumbent} confirmed on {len(fresh)} fresh replications against "
            f"{len(contenders) - 1} challenger(s)"
        )
    else:
        verdict = (
            f"challenger {winner} beat the incumbent {incumbent} on {len(fresh)} fresh replications"
        )
    winner_eval = others[list(recheck["candidate"]).index(winner)]
    frame = pd.concat([base.kpi_frame(), winner_eval.kpi_frame()], ignore_index=True)
    comparison = compare_arms(frame, "baseline", arms=["baseline", winner])
    comparison = _with_directions(comparison, config, registry)
    return recheck, comparison, winner, verdict


def _recheck_frame(
    config: OptimizeConfig,
    contenders: list[optuna.trial.FrozenTrial],
    evaluations: list[Evaluation],
) -> pd.DataFrame:
    kpi = config.objective.kpi
    incumbent = evaluations[0].values(kpi)
    rows = []
    for rank, (trial, evaluation) in enumerate(zip(contenders, evaluations, strict=True)):
        values = evaluation.values(kpi)
        row: dict[str, Any] = {
            "candidate": f"trial-{trial.number}",
            "trial": trial.number,
            "rank": rank,
            **{key: trial.params.get(key) for key in config.parameters},
            "search_mean": float(trial.value or math.nan),
            "mean": float(values.mean()),
            "ok": evaluation.ok,
        }
        for constraint in config.constraints:
            row[f"{constraint.kpi} mean"] = evaluation.mean(constraint.kpi)
        row["feasible"] = evaluation.ok and all(
            constraint.violation(evaluation.mean(constraint.kpi)) <= 0
            for constraint in config.constraints
        )
        if rank > 0 and evaluation.ok and np.isfinite(incumbent).all():
            paired = paired_difference(values, incumbent)
            row |= {
                "diff": paired.difference.mean,
                "diff_low": paired.difference.low,
                "diff_high": paired.difference.high,
                "p_value": paired.p_value,
            }
        else:
            row |= dict.fromkeys(("diff", "diff_low", "diff_high", "p_value"), math.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _with_directions(
    comparison: pd.DataFrame, config: OptimizeConfig, registry: Registry
) -> pd.DataFrame:
    try:
        domain = registry.domain(registry.scenario(config.scenario.id).domain)
    except Exception:  # a plug-in scenario without a registered domain: no directions
        return comparison.assign(better="")
    return comparison.assign(better=[domain.better(kpi) or "" for kpi in comparison["kpi"]])


def trials_frame(study: optuna.Study, config: OptimizeConfig) -> pd.DataFrame:
    """One row per trial, in trial order: what the search saw."""
    curve = best_so_far(study)
    rows = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        means = trial.user_attrs.get("means", {})
        row: dict[str, Any] = {
            "trial": trial.number,
            "state": trial.state.name.lower(),
            **{key: trial.params.get(key) for key in config.parameters},
            "value": float(trial.value) if trial.value is not None else math.nan,
        }
        for constraint in config.constraints:
            row[f"{constraint.kpi} mean"] = float(means.get(constraint.kpi, math.nan))
        row["feasible"] = is_feasible(trial)
        row["best_so_far"] = curve[trial.number] if trial.number < len(curve) else math.nan
        row["same_as"] = trial.user_attrs.get("same_as", -1)
        row["error"] = trial.user_attrs.get("error")
        rows.append(row)
    return pd.DataFrame(rows)


def _comparison_lines(comparison: pd.DataFrame, config: OptimizeConfig) -> list[str]:
    """Winner vs baseline for the objective and the constrained KPIs, one line each."""
    kpis = list(dict.fromkeys([config.objective.kpi, *(c.kpi for c in config.constraints)]))
    lines = []
    rows = comparison[~comparison["baseline"]].set_index("kpi")
    base = comparison[comparison["baseline"]].set_index("kpi")
    for kpi in kpis:
        if kpi not in rows.index:
            continue
        row, ref = rows.loc[kpi], base.loc[kpi]
        lines.append(
            f"  {kpi}: baseline {ref['mean']:.5g} -> winner {row['mean']:.5g}, "
            f"paired difference {row['diff']:+.5g} "
            f"[{row['diff_low']:+.5g}, {row['diff_high']:+.5g}] (p = {row['p_value']:.3g})"
        )
    return lines
