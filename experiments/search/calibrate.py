"""``twin calibrate``: scenario parameters that make the simulation reproduce observed data.

Observed data is a parquet file of rows ``name, value`` (an observed KPI) and
``name, time_s, value`` (a sample of an observed time series, ``name`` a probe). Each
target of the config gets a normalised distance between observation and simulation
(the mean over the replications, common random numbers for every candidate):

- a KPI: ``d = (simulated mean - observed) / |observed|`` (divided by 1 when the
  observation is 0); several observed rows of one KPI are averaged first;
- a time series: ``d = RMSE / mean |observed|``, the root mean square of the simulated
  mean series, interpolated linearly to the observed times, minus the observed values.

The loss Optuna minimises is ``sum(weight * d**2)``, so a 10% miss of a KPI weighs as
much as a series off by 10% of its level. The estimate is the best trial's parameters;
their spread over seeds is that of the per-replication fits. On common random numbers
every trial ran each replication's seed, so the trials are points on that replication's
own loss surface: a quadratic fitted by least squares to the trials nearest the
replication's best (response-surface methodology) and minimised within the bounds is
that replication's estimate, between the points tried. Where the quadratic is not a
bowl (too few trials, a categorical parameter, a surface that is not convex there) the
replication's best trial stands, and ``per_seed.parquet`` says which (``method``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from scipy.optimize import minimize

from experiments.search.checks import check_calibrate, describe_values
from experiments.search.config import CalibrateConfig, Parameter, Target, parse_calibrate
from experiments.search.evaluate import Evaluation, evaluate
from experiments.search.study import (
    Score,
    candidate_of,
    config_and_directory,
    open_study,
    prepare_directory,
    ranked,
    read_manifest,
    run_study,
    search_executor,
)
from twin.core.config import read_toml
from twin.core.errors import UserError
from twin.core.files import write_parquet_atomically
from twin.core.run import canonical_hash, default_registry

KIND = "calibrate"


@dataclass(frozen=True)
class Observed:
    """Observed KPIs (name -> value) and time series (name -> times, values)."""

    kpis: dict[str, float]
    series: dict[str, tuple[np.ndarray, np.ndarray]]
    source: str


def read_observed(path: str | Path) -> Observed:
    """Read observed data; a malformed file is one line naming what is wrong.

    Raises:
        UserError: unreadable, missing columns, or values that are not finite numbers.
    """
    source = str(path)
    try:
        frame = pd.read_parquet(path)
    except FileNotFoundError:
        raise UserError(f"--data: {source}: no such file") from None
    except Exception as error:
        raise UserError(f"--data: {source}: not a parquet file ({type(error).__name__})") from None
    missing = [column for column in ("name", "value") if column not in frame.columns]
    if missing:
        raise UserError(
            f"--data: {source}: missing column(s) {', '.join(missing)}; expected name, value "
            "and, for time series, time_s"
        )
    try:
        values = frame["value"].astype("float64").to_numpy()
        times = (
            frame["time_s"].astype("float64").to_numpy()
            if "time_s" in frame.columns
            else np.full(len(frame), np.nan)
        )
    except (TypeError, ValueError):
        raise UserError(f"--data: {source}: 'value' and 'time_s' must be numbers") from None
    if not np.isfinite(values).all():
        raise UserError(f"--data: {source}: 'value' holds missing or infinite numbers")
    names = frame["name"].astype(str).to_numpy()
    kpis: dict[str, float] = {}
    series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    scalar = np.isnan(times)
    for name in dict.fromkeys(names[scalar]):
        kpis[str(name)] = float(values[scalar & (names == name)].mean())
    for name in dict.fromkeys(names[~scalar]):
        rows = ~scalar & (names == name)
        order = np.argsort(times[rows], kind="stable")
        series[str(name)] = (times[rows][order], values[rows][order])
    return Observed(kpis, series, source)


def check_observed(config: CalibrateConfig, observed: Observed) -> None:
    """Every target is in the observed data."""
    for i, target in enumerate(config.targets):
        found = observed.kpis if target.kpi is not None else observed.series
        what = "KPI rows (no time_s)" if target.kpi is not None else "time series rows (time_s)"
        if target.name not in found:
            known = ", ".join(sorted(found)) or "none"
            raise UserError(
                f"--data: {observed.source}: no {what} named {target.name!r} for targets.{i}; "
                f"found: {known}"
            )


@dataclass(frozen=True)
class CalibrationResults:
    """The outcome of ``twin calibrate``, for notebooks and for the report."""

    directory: Path
    config: CalibrateConfig
    trials: pd.DataFrame
    """One row per trial: parameters, loss, each target's distance (``d <target>``),
    ``same_as`` (the earlier trial whose point it repeats; -1: none) and any error."""
    estimates: pd.DataFrame
    """One row per parameter: best fit, and mean, sd, min, max over per-seed fits."""
    per_seed: pd.DataFrame
    """One row per replication: its seed's best trial and that trial's parameters."""
    fit: pd.DataFrame
    """Observed against simulated for the best fit: ``target, time_s, observed,
    simulated, low, high`` (the range over replications; NaN time for a KPI)."""
    best: dict[str, Any]
    loss: float
    report: Path | None

    def headline(self) -> str:
        lines = [f"best fit: {describe_values(self.best)} (loss {self.loss:.4g})"]
        for row in self.estimates.itertuples(index=False):
            lines.append(
                f"  {row.parameter}: {row.best:.5g}; over {row.seeds} seeds "
                f"{row.seed_mean:.5g} ± {row.seed_sd:.3g} (sd), range [{row.seed_min:.5g}, "
                f"{row.seed_max:.5g}]"
            )
        return "\n".join(lines)


def run_calibration(
    config: CalibrateConfig | str | Path,
    observed: Observed | str | Path,
    out: str | Path | None = None,
    *,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force_new: bool = False,
    progress: bool = False,
    report: bool = True,
    source: str | None = None,
    data_source: str | None = None,
) -> CalibrationResults:
    """Run (or resume) a calibration and return its results.

    Raises:
        UserError: a config, data or argument problem, before anything is written.
        KeyboardInterrupt: interrupted; the study keeps every told trial for a resume.
    """
    config, source, directory = config_and_directory(
        config, out, source, CalibrateConfig, lambda path: parse_calibrate(read_toml(path), path)
    )
    if not isinstance(observed, Observed):
        observed = read_observed(observed)
    registry = default_registry()
    check_calibrate(config, source, registry)
    check_observed(config, observed)
    series_targets = any(target.probe is not None for target in config.targets)
    prepare_directory(directory, KIND, config, source, force_new, data_hash(observed))
    study = open_study(directory, "minimize")
    settings = config.executor
    with search_executor(settings, executor, workers, scheduler, directory) as pool:
        bar = run_study(
            study,
            config,
            registry,
            pool,
            lambda evaluation: score_fit(config, observed, evaluation),
            keep_timeseries=series_targets,
            progress=progress,
            describe=lambda s: describe_best(s, config),
            extra_runs=config.replications.count,
        )
        try:
            best_trials = ranked(study)
            if not best_trials:
                raise UserError(
                    "every trial failed; see the errors in "
                    f"{directory / 'trials.parquet'} (no estimate)"
                )
            best = best_trials[0]
            (best_fit,) = evaluate(
                [candidate_of(config, best, registry)],
                policy=config.policy.id,
                seed=config.seed,
                replications=list(range(config.replications.count)),
                pool=pool,
                keep_timeseries=series_targets,
                on_run=lambda: bar.update(1),
            )
        finally:
            bar.close()
    trials = trials_frame(study, config)
    per_seed = per_seed_fits(study, config)
    estimates = estimates_frame(config, best, per_seed)
    fit = fit_frame(config, observed, best_fit)
    write_parquet_atomically(trials, directory / "trials.parquet")
    write_parquet_atomically(estimates, directory / "estimates.parquet")
    write_parquet_atomically(per_seed, directory / "per_seed.parquet")
    write_parquet_atomically(fit, directory / "fit.parquet")
    results = CalibrationResults(
        directory, config, trials, estimates, per_seed, fit, dict(best.params),
        float(best.value or 0.0), None,
    )  # fmt: skip
    if report:
        from experiments.search.report import write_calibration_report

        page = write_calibration_report(results, read_manifest(directory))
        results = CalibrationResults(
            directory, config, trials, estimates, per_seed, fit, dict(best.params),
            float(best.value or 0.0), page,
        )  # fmt: skip
    return results


def data_hash(observed: Observed) -> str:
    """SHA-256 of the observations, so that a study fitted to other data is not resumed."""
    return canonical_hash(
        {
            "kpis": observed.kpis,
            "series": {name: [t.tolist(), v.tolist()] for name, (t, v) in observed.series.items()},
        }
    )


def distances(
    targets: list[Target], observed: Observed, evaluation: Evaluation, replication: int | None
) -> dict[str, float]:
    """Each target's normalised distance, for all replications (``None``) or one."""
    found: dict[str, float] = {}
    indices = list(range(len(evaluation.outcomes))) if replication is None else [replication]
    for target in targets:
        if target.kpi is not None:
            simulated = float(evaluation.values(target.kpi)[indices].mean())
            observed_value = observed.kpis[target.kpi]
            scale = abs(observed_value) or 1.0
            found[target.name] = (simulated - observed_value) / scale
        else:
            times, values = observed.series[target.name]
            simulated_series = np.mean(
                [_series_at(evaluation, i, target.name, times) for i in indices], axis=0
            )
            rmse = float(np.sqrt(np.mean((simulated_series - values) ** 2)))
            found[target.name] = rmse / (float(np.mean(np.abs(values))) or 1.0)
    return found


def _series_at(evaluation: Evaluation, index: int, probe: str, times: np.ndarray) -> np.ndarray:
    """Replication ``index``'s series of ``probe``, interpolated to ``times`` (NaN if absent)."""
    series = evaluation.timeseries()[index]
    if series is None or series.empty:
        return np.full(len(times), np.nan)
    rows = series[series["probe"] == probe].sort_values("time_s", kind="stable")
    if rows.empty:
        return np.full(len(times), np.nan)
    return np.interp(times, rows["time_s"].to_numpy(), rows["value"].to_numpy())


def loss(targets: list[Target], found: dict[str, float]) -> float:
    return float(sum(target.weight * found[target.name] ** 2 for target in targets))


def score_fit(config: CalibrateConfig, observed: Observed, evaluation: Evaluation) -> Score:
    """A trial's loss over all replications; the per-replication losses kept for the spread."""
    if not evaluation.ok:
        return Score(None, {}, {"error": evaluation.errors[0][-2000:]})
    overall = distances(config.targets, observed, evaluation, None)
    per_replication = [
        loss(config.targets, distances(config.targets, observed, evaluation, r))
        for r in range(len(evaluation.outcomes))
    ]
    attrs: dict[str, Any] = {
        "distances": overall,
        "replication_losses": [
            value if math.isfinite(value) else None for value in per_replication
        ],
    }
    return Score(loss(config.targets, overall), {}, attrs)


def describe_best(study: optuna.Study, config: CalibrateConfig) -> str:
    best = ranked(study)
    done = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
    head = f"trial {done}/{config.search.trials}"
    if not best:
        return head
    top = best[0]
    return f"{head} | best loss {float(top.value or 0.0):.4g} ({describe_values(top.params)})"


def trials_frame(study: optuna.Study, config: CalibrateConfig) -> pd.DataFrame:
    rows = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        found = trial.user_attrs.get("distances", {})
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                **{key: trial.params.get(key) for key in config.parameters},
                "loss": float(trial.value) if trial.value is not None else math.nan,
                **{f"d {t.name}": float(found.get(t.name, math.nan)) for t in config.targets},
                "same_as": trial.user_attrs.get("same_as", -1),
                "error": trial.user_attrs.get("error"),
            }
        )
    return pd.DataFrame(rows)


def per_seed_fits(study: optuna.Study, config: CalibrateConfig) -> pd.DataFrame:
    """For each replication alone: the parameters that fit its runs best (module docstring)."""
    complete = ranked(study)
    rows = []
    for r in range(config.replications.count):
        scored = [
            (losses[r], trial.number, trial)
            for trial in complete
            if (losses := trial.user_attrs.get("replication_losses")) and losses[r] is not None
        ]
        if not scored:
            continue
        value, _, trial = min(scored, key=lambda item: (item[0], item[1]))
        row = {"replication": r, "trial": trial.number, "loss": value, "method": "best trial"}
        surface = _surface_minimum(config, [(t.params, loss) for loss, _, t in scored], trial)
        if surface is None:
            rows.append({**row, **dict(trial.params)})
        else:
            params, loss = surface
            rows.append({**row, "loss": loss, "method": "surface", **params})
    return pd.DataFrame(rows)


def _surface_minimum(
    config: CalibrateConfig,
    points: list[tuple[dict[str, Any], float]],
    best: optuna.trial.FrozenTrial,
) -> tuple[dict[str, Any], float] | None:
    """The minimum of a quadratic fitted to the points nearest ``best``, or None where the
    fit cannot be trusted (see the module docstring)."""
    parameters = config.parameters
    if any(parameter.choices is not None for parameter in parameters.values()):
        return None
    keys = list(parameters)
    dimension = len(keys)
    terms = 1 + dimension + dimension * (dimension + 1) // 2
    if len(points) < 2 * terms:
        return None
    units = np.array([[_to_unit(parameters[k], params[k]) for k in keys] for params, _ in points])
    losses = np.array([loss for _, loss in points])
    centre = np.array([_to_unit(parameters[k], best.params[k]) for k in keys])
    nearest = np.argsort(np.linalg.norm(units - centre, axis=1), kind="stable")[: 2 * terms]
    features = np.array([_quadratic_features(u) for u in units[nearest]])
    coefficients, *_ = np.linalg.lstsq(features, losses[nearest], rcond=None)
    hessian = _hessian(coefficients, dimension)
    if np.linalg.eigvalsh(hessian).min() <= 0:
        return None
    solution = minimize(
        lambda u: float(_quadratic_features(u) @ coefficients),
        centre,
        jac=lambda u: coefficients[1 : 1 + dimension] + hessian @ u,
        bounds=[(0.0, 1.0)] * dimension,
        method="L-BFGS-B",
    )
    params = {k: _from_unit(parameters[k], float(u)) for k, u in zip(keys, solution.x, strict=True)}
    return params, max(float(solution.fun), 0.0)


def _quadratic_features(u: np.ndarray) -> np.ndarray:
    """1, u_i, and u_i * u_j for i <= j (the squares halved, so the Hessian reads off)."""
    pairs = [
        u[i] * u[j] * (0.5 if i == j else 1.0) for i in range(len(u)) for j in range(i, len(u))
    ]
    return np.concatenate([[1.0], u, pairs])


def _hessian(coefficients: np.ndarray, dimension: int) -> np.ndarray:
    hessian = np.zeros((dimension, dimension))
    index = 1 + dimension
    for i in range(dimension):
        for j in range(i, dimension):
            hessian[i, j] = hessian[j, i] = coefficients[index]
            index += 1
    return hessian


def _to_unit(parameter: Parameter, value: float) -> float:
    low, high = float(parameter.low or 0.0), float(parameter.high or 0.0)
    if parameter.log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _from_unit(parameter: Parameter, u: float) -> float | int:
    low, high = float(parameter.low or 0.0), float(parameter.high or 0.0)
    if parameter.log:
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    return round(value) if parameter.integer else value


def estimates_frame(
    config: CalibrateConfig, best: optuna.trial.FrozenTrial, per_seed: pd.DataFrame
) -> pd.DataFrame:
    rows = []
    for key in config.parameters:
        values = per_seed[key].astype("float64").to_numpy() if key in per_seed else np.array([])
        rows.append(
            {
                "parameter": key,
                "best": float(best.params[key]),
                "seeds": len(values),
                "seed_mean": float(values.mean()) if len(values) else math.nan,
                "seed_sd": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "seed_min": float(values.min()) if len(values) else math.nan,
                "seed_max": float(values.max()) if len(values) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def fit_frame(config: CalibrateConfig, observed: Observed, evaluation: Evaluation) -> pd.DataFrame:
    """Observed against the best fit's simulation: mean and range over replications."""
    rows = []
    for target in config.targets:
        if target.kpi is not None:
            values = evaluation.values(target.kpi)
            rows.append(
                (target.name, math.nan, observed.kpis[target.kpi], float(values.mean()),
                 float(values.min()), float(values.max()))
            )  # fmt: skip
            continue
        times, observed_values = observed.series[target.name]
        simulated = np.array(
            [_series_at(evaluation, i, target.name, times) for i in range(len(evaluation.outcomes))]
        )
        for j, time_s in enumerate(times):
            column = simulated[:, j]
            rows.append(
                (target.name, float(time_s), float(observed_values[j]), float(column.mean()),
                 float(column.min()), float(column.max()))
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["target", "time_s", "observed", "simulated", "low", "high"])
