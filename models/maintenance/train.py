"""Train, evaluate and retrain the predictive-maintenance risk model in the twin.

::

    python -m models.maintenance.train train --out MODEL.json [--seeds 1 2 3 4 5]
        [--holdout-seeds 101 102] [--days 120] [--horizon-h 24] [--scenario ID]
        [--scenario-params JSON] [--init OLD.json] [--jobs N]
    python -m models.maintenance.train evaluate [--model MODEL.json] [--seeds 201 202]
        [--days 120] [--kpis] [--jobs N]

Training data come from the twin itself: the scenario runs under run-to-failure (so
machines wear all the way to failure) while a recording wrapper computes, for every
sensor report, the features the deployed policy will compute
(:class:`~models.maintenance.predictive.FeatureTracker`). A report of machine ``m`` at
time ``t`` is labelled 1 when ``m`` fails in ``(t, t + horizon]`` (the plant's
``failure_log``). Reports the policy would not decide on (machine down, or within
``min_operating_h`` of a restore) are dropped, and so are reports in the last horizon
of a run that no failure follows, whose label the run cannot tell (right-censored).

Retraining is ``train`` again: on new seeds, more days or other scenario parameters.
``--init OLD.json`` takes every option not given on the command line from the old
model's recorded recipe and records the old file's hash as the parent. Weights are not
carried over: the logistic fit is convex and deterministic, so a warm start would reach
the same optimum; the recipe is what makes a retrained model comparable with its parent.

Seeds enter only through the simulation (named streams); the fit itself has no
randomness (lbfgs, fixed ``random_state``), so the same command writes the same model.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from models.maintenance.predictive import (
    FEATURES,
    DecisionCosts,
    FeatureTracker,
    Predictive,
    RiskModel,
    decidable,
    decision_costs,
    default_model_path,
)
from models.maintenance.run_to_failure import RunToFailure
from twin.core.arguments import (
    OneLineParser,
    count,
    json_object,
    non_negative,
    positive,
    run_command,
)
from twin.core.arguments import seed as seed_type
from twin.core.errors import UserError
from twin.core.policy import BasePolicy, PolicyContext
from twin.core.run import (
    build_scenario,
    check_compatible,
    default_registry,
    git_commit,
    installed_versions,
    simulate,
)
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World
from twin.factory.observation import MaintenanceAction, MaintenanceObservation

FloatArray = npt.NDArray[np.float64]
PROG = "python -m models.maintenance.train"

DEFAULTS: dict[str, Any] = {
    "scenario": "factory/flowline-v0",
    "scenario_params": {},
    "seeds": [1, 2, 3, 4, 5],
    "holdout_seeds": [101, 102],
    "days": 120.0,
    "horizon_h": 24.0,
    "min_operating_h": 1.0,
    "C": 1.0,
}
"""Training options when neither the command line nor ``--init`` gives them. 120 days
hold about four machine lives (mean life ~265 operating hours); one such run takes
30-40 s on one core, so the default training takes about two minutes on two."""

EVALUATE_SEEDS = [201, 202]
COMPARED_POLICIES = {
    "run-to-failure": "models.maintenance.run_to_failure:RunToFailure",
    "fixed-interval": "models.maintenance.fixed_interval:FixedInterval",
    "condition-based": "models.maintenance.condition_based:ConditionBased",
    "predictive": "models.maintenance.predictive:Predictive",
}
KPI_COLUMNS = (
    ("unplanned_failures", "failures", "{:.1f}"),
    ("preventive_actions", "PM", "{:.1f}"),
    ("maintenance_corrective_cost", "corrective", "{:,.0f}"),
    ("maintenance_preventive_cost", "preventive", "{:,.0f}"),
    ("cost_maintenance", "maint. cost", "{:,.0f}"),
    ("cost_lost_production", "lost prod.", "{:,.0f}"),
    ("cost_total", "total cost", "{:,.0f}"),
    ("throughput_per_h", "parts/h", "{:.2f}"),
    ("availability", "avail.", "{:.4f}"),
)


# -- data from the twin -----------------------------------------------------------------


class Recorder(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Wraps a maintenance policy and records the features of every report it is shown.

    Args:
        inner: the policy that decides (run-to-failure for training data).
        min_operating_h: the deployed policy's guard, to mark reports it would skip.
    """

    id = "maintenance/recorder-v0"
    domain = "factory.maintenance"

    def __init__(
        self,
        inner: BasePolicy[MaintenanceObservation, MaintenanceAction],
        min_operating_h: float,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.min_operating_h = min_operating_h
        self.tracker = FeatureTracker()
        self.rows: list[tuple[float, int, bool]] = []
        self.features: list[FloatArray] = []

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self.inner.reset(context)
        self.tracker.reset()
        self.rows = []
        self.features = []

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        self.features.append(self.tracker.update(obs))
        self.rows.append((obs.now_s, obs.machine, decidable(obs, self.min_operating_h)))
        return self.inner.act(obs)


@dataclass(frozen=True)
class Episode:
    """The recorded reports of one simulated run.

    Attributes:
        seed: the run's root seed.
        end_s: simulated time at the end of the run.
        time_s: time of each report.
        machine: machine index of each report.
        decidable: whether the policy would decide on the report.
        features: one row of :data:`FEATURES` per report.
        failures: ``(time_s, machine)`` of every unplanned failure.
        wall_s: seconds the run took.
    """

    seed: int
    end_s: float
    time_s: FloatArray
    machine: npt.NDArray[np.int64]
    decidable: npt.NDArray[np.bool_]
    features: FloatArray
    failures: FloatArray
    wall_s: float


def collect_episode(
    scenario_id: str,
    scenario_params: dict[str, Any],
    seed: int,
    days: float,
    min_operating_h: float,
) -> Episode:
    """Run the scenario under run-to-failure for ``days`` and record every report."""
    started = time.perf_counter()
    config = ScenarioConfig(
        id=scenario_id, params=scenario_params, horizon_s=days * SECONDS_PER_DAY
    )
    registry = default_registry()
    scenario = build_scenario(config, registry)
    behaviour = RunToFailure()
    recorder = Recorder(behaviour, min_operating_h)
    check_compatible(scenario, recorder, "<command line>")
    world = World(seed, tick_s=config.tick_s)
    recorder.reset(
        PolicyContext(
            scenario_id=scenario.id,
            # The behaviour policy's own stream, as simulate() would give it.
            rng=world.streams[f"policy.{behaviour.id}"],
            info=scenario.policy_info(),
        )
    )
    scenario.build(world, recorder)
    world.run(config.horizon_s)
    plant = getattr(scenario, "plant", None)
    failure_log = getattr(plant, "failure_log", None)
    if failure_log is None:
        raise UserError(
            f"scenario {scenario_id!r} keeps no plant failure log; training needs a "
            "factory plant scenario"
        )
    rows = recorder.rows
    n = len(rows)
    return Episode(
        seed=seed,
        end_s=world.now_s,
        time_s=np.fromiter((r[0] for r in rows), dtype=np.float64, count=n),
        machine=np.fromiter((r[1] for r in rows), dtype=np.int64, count=n),
        decidable=np.fromiter((r[2] for r in rows), dtype=np.bool_, count=n),
        features=np.array(recorder.features, dtype=np.float64).reshape(n, len(FEATURES)),
        failures=np.array(failure_log, dtype=np.float64).reshape(-1, 2),
        wall_s=time.perf_counter() - started,
    )


def time_to_next_failure_s(episode: Episode) -> FloatArray:
    """Seconds from each report to its machine's next failure (inf when none follows)."""
    out = np.full(episode.time_s.shape, np.inf)
    for machine in np.unique(episode.machine):
        rows = np.flatnonzero(episode.machine == machine)
        times = np.sort(episode.failures[episode.failures[:, 1] == machine, 0])
        if times.size == 0:
            continue
        index = np.searchsorted(times, episode.time_s[rows], side="right")
        has_next = index < times.size
        out[rows[has_next]] = times[index[has_next]] - episode.time_s[rows[has_next]]
    return out


@dataclass(frozen=True)
class Labelled:
    """Reports ready for the model: features, labels and where each came from."""

    features: FloatArray
    labels: npt.NDArray[np.bool_]
    episode: npt.NDArray[np.int64]
    time_s: FloatArray
    machine: npt.NDArray[np.int64]

    @property
    def positives(self) -> int:
        return int(self.labels.sum())


def label(episodes: Sequence[Episode], horizon_s: float) -> Labelled:
    """Label every decidable report: 1 when its machine fails within ``horizon_s``.

    Reports in a run's last ``horizon_s`` with no failure after them are dropped: the
    run ended before it could tell whether they precede one.
    """
    parts = []
    for number, episode in enumerate(episodes):
        ahead = time_to_next_failure_s(episode)
        labels = ahead <= horizon_s
        known = labels | (episode.time_s + horizon_s <= episode.end_s)
        keep = episode.decidable & known
        parts.append(
            (
                episode.features[keep],
                labels[keep],
                np.full(int(keep.sum()), number, dtype=np.int64),
                episode.time_s[keep],
                episode.machine[keep],
            )
        )
    if not parts:
        raise ValueError("no episodes to label")
    columns = list(zip(*parts, strict=True))
    return Labelled(*(np.concatenate(column) for column in columns))


# -- the fit and its metrics ------------------------------------------------------------


def fit(data: Labelled, horizon_s: float, C: float = 1.0) -> RiskModel:
    """Logistic regression on standardised features, NaN imputed with the mean.

    No class weighting: the rule multiplies ``p`` by a cost, so ``p`` must be a
    calibrated probability, which re-weighting the classes would distort.
    """
    from sklearn.linear_model import LogisticRegression  # only training needs sklearn

    if data.positives == 0 or data.positives == len(data.labels):
        raise UserError(
            f"training data hold {data.positives} failure-labelled reports out of "
            f"{len(data.labels)}; both classes are needed: simulate more days or seeds, or "
            "lengthen the horizon"
        )
    x = data.features
    with np.errstate(invalid="ignore"):
        observed = ~np.isnan(x)
        counts = observed.sum(axis=0)
        filled = np.where(observed, x, 0.0)
        mean = np.divide(filled.sum(axis=0), counts, out=np.zeros(x.shape[1]), where=counts > 0)
        spread = np.where(observed, x - mean, 0.0)
        variance = np.divide(
            (spread**2).sum(axis=0), counts, out=np.zeros(x.shape[1]), where=counts > 0
        )
    scale = np.sqrt(variance)
    scale[~(scale > 1e-12)] = 1.0  # a constant feature: any scale, its coefficient is moot
    z = np.where(observed, (x - mean) / scale, 0.0)
    regression = LogisticRegression(C=C, max_iter=1000, random_state=0)
    regression.fit(z, data.labels)
    return RiskModel(
        feature_names=FEATURES,
        mean=mean,
        scale=scale,
        coef=regression.coef_[0].astype(np.float64),
        intercept=float(regression.intercept_[0]),
        horizon_s=horizon_s,
    )


def metrics(
    model: RiskModel, episodes: Sequence[Episode], data: Labelled, costs: DecisionCosts
) -> dict[str, Any]:
    """Hold-out metrics: ROC AUC, and precision/recall of warnings at the rule's threshold.

    A warning is a report with ``p > C_preventive / C_failure``, i.e. one where the
    deployed policy (window = model horizon) would maintain. Besides per-report counts,
    ``failures_warned`` counts failures preceded by at least one warning within the
    horizon, and ``warning_lead_h_median`` how early the first of those came.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    p = model.probability(data.features)
    y = data.labels
    warn = p > costs.threshold
    tp = int((warn & y).sum())
    fp = int((warn & ~y).sum())
    fn = int((~warn & y).sum())
    tn = int((~warn & ~y).sum())
    both = 0 < y.sum() < len(y)
    warned = 0
    failures = 0
    leads: list[float] = []
    horizon_s = model.horizon_s
    for number, episode in enumerate(episodes):
        mine = data.episode == number
        warning_times = data.time_s[mine][warn[mine]]
        warning_machines = data.machine[mine][warn[mine]]
        for failed_s, machine in episode.failures:
            failures += 1
            before = warning_times[
                (warning_machines == int(machine))
                & (warning_times >= failed_s - horizon_s)
                & (warning_times < failed_s)
            ]
            if before.size:
                warned += 1
                leads.append((failed_s - before.min()) / SECONDS_PER_HOUR)
    return {
        "reports": len(y),
        "positives": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, p)) if both else math.nan,
        "brier": float(brier_score_loss(y, p)) if len(y) else math.nan,
        "base_rate": float(y.mean()) if len(y) else math.nan,
        "mean_probability": float(p.mean()) if len(y) else math.nan,
        "threshold": costs.threshold,
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "recall": tp / (tp + fn) if tp + fn else math.nan,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "failures": failures,
        "failures_warned": warned,
        "warning_lead_h_median": float(np.median(leads)) if leads else math.nan,
    }


def print_metrics(result: dict[str, Any], costs: DecisionCosts, horizon_h: float) -> None:
    c = result["confusion"]
    print(
        f"  reports {result['reports']:,}, failure within {horizon_h:g} h: "
        f"{result['positives']:,} ({result['base_rate']:.2%})"
    )
    print(
        f"  ROC AUC {result['roc_auc']:.4f}   Brier {result['brier']:.4f}   "
        f"mean p {result['mean_probability']:.4f} vs observed rate {result['base_rate']:.4f}"
    )
    print(
        f"  warning when p > {costs.threshold:.4f} (C_preventive {costs.preventive:,.2f} / "
        f"C_failure {costs.failure:,.2f})"
    )
    print(
        f"  precision {result['precision']:.3f}   recall {result['recall']:.3f}   "
        f"TP {c['tp']:,}  FP {c['fp']:,}  FN {c['fn']:,}  TN {c['tn']:,}"
    )
    share = result["failures_warned"] / result["failures"] if result["failures"] else math.nan
    print(
        f"  failures warned within {horizon_h:g} h before: {result['failures_warned']}"
        f"/{result['failures']} ({share:.0%}), median lead of the first warning "
        f"{result['warning_lead_h_median']:.1f} h"
    )


# -- running many simulations -----------------------------------------------------------

T = TypeVar("T")


def run_all(
    jobs: int, calls: Sequence[tuple[Callable[..., T], tuple[Any, ...]]], done: Callable[[T], None]
) -> list[T]:
    """Run ``calls`` on ``jobs`` worker processes (inline when 1), results in call order.

    ``done`` is called with each result as it completes, for progress.
    """
    if jobs <= 1 or len(calls) <= 1:
        results = []
        for function, args in calls:
            results.append(function(*args))
            done(results[-1])
        return results
    # spawn: no fork of a process that may hold threads (numba, BLAS).
    context = multiprocessing.get_context("spawn")
    out: list[Any] = [None] * len(calls)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(function, *args): i for i, (function, args) in enumerate(calls)}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            done(out[futures[future]])
    return out


def collect(
    scenario: str,
    scenario_params: dict[str, Any],
    seeds: Iterable[int],
    days: float,
    min_operating_h: float,
    jobs: int,
) -> list[Episode]:
    def report(episode: Episode) -> None:
        print(
            f"  seed {episode.seed}: {days:g} days simulated in {episode.wall_s:.1f} s, "
            f"{len(episode.time_s):,} reports, {len(episode.failures)} failures",
            flush=True,
        )

    calls = [
        (collect_episode, (scenario, scenario_params, seed, days, min_operating_h))
        for seed in seeds
    ]
    return run_all(jobs, calls, report)


def scenario_costs(
    scenario: str, scenario_params: dict[str, Any], overrides: dict[str, float | None]
) -> DecisionCosts:
    """The rule's costs in ``scenario``; also checks, before any run, that it is one."""
    config = ScenarioConfig(id=scenario, params=scenario_params, horizon_s=1.0)
    built = build_scenario(config, default_registry(), "<command line>")
    if built.domain != Predictive.domain:
        raise UserError(
            f"scenario {scenario!r} is in domain {built.domain!r}; the risk model needs a "
            f"{Predictive.domain} scenario"
        )
    return decision_costs(
        built.policy_info(),
        **overrides,
        source="<command line>",
        key_path="--failure-cost/--preventive-cost",
    )


# -- commands ---------------------------------------------------------------------------


def command_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    started = time.perf_counter()
    parent: dict[str, Any] | None = None
    recipe = dict(DEFAULTS)
    if args.init is not None:
        old = RiskModel.load(args.init)
        recorded = old.metadata.get("training", {})
        recipe.update({k: v for k, v in recorded.items() if k in DEFAULTS})
        parent = {"path": str(args.init), "sha256": old.metadata["sha256"]}
    for key in DEFAULTS:
        value = getattr(args, key)
        if value is not None:
            recipe[key] = value
    seeds, holdout = list(recipe["seeds"]), list(recipe["holdout_seeds"])
    horizon_s = recipe["horizon_h"] * SECONDS_PER_HOUR
    check_training_options(args.out, seeds, holdout, recipe["days"], horizon_s)
    costs = scenario_costs(recipe["scenario"], recipe["scenario_params"], cost_overrides(args))
    jobs = args.jobs or min(len(seeds) + len(holdout), os.cpu_count() or 1)
    print(
        f"train: {recipe['scenario']} under run-to-failure, {recipe['days']:g} days per run, "
        f"horizon {recipe['horizon_h']:g} h; training seeds {seeds}, hold-out seeds "
        f"{holdout}; {jobs} worker(s)",
        flush=True,
    )
    episodes = collect(
        recipe["scenario"],
        recipe["scenario_params"],
        seeds + holdout,
        recipe["days"],
        recipe["min_operating_h"],
        jobs,
    )
    train_episodes, holdout_episodes = episodes[: len(seeds)], episodes[len(seeds) :]
    data = label(train_episodes, horizon_s)
    n, positives = len(data.labels), data.positives
    print(
        f"class balance (training): {n:,} reports, {positives:,} with a failure within "
        f"{recipe['horizon_h']:g} h ({positives / max(n, 1):.2%}), "
        f"{n - positives:,} without",
        flush=True,
    )
    fit_started = time.perf_counter()
    model = fit(data, horizon_s, recipe["C"])
    print(
        f"fitted logistic regression on {len(FEATURES)} features in "
        f"{time.perf_counter() - fit_started:.1f} s:"
    )
    for name, coefficient in zip(model.feature_names, model.coef, strict=True):
        print(f"  {name:28s} {coefficient:+.3f}")
    print(f"  {'intercept':28s} {model.intercept:+.3f}")
    holdout_data = label(holdout_episodes, horizon_s)
    result = metrics(model, holdout_episodes, holdout_data, costs)
    print(f"hold-out (seeds {holdout}):")
    print_metrics(result, costs, recipe["horizon_h"])
    model = replace(
        model,
        metadata={
            "estimator": "sklearn.linear_model.LogisticRegression",
            "estimator_params": {"C": recipe["C"], "solver": "lbfgs", "class_weight": None},
            "command": " ".join([PROG, *(shlex.quote(a) for a in argv)]),
            "training": {**recipe, "behaviour_policy": RunToFailure.id},
            "class_balance": {"reports": n, "positive": positives, "negative": n - positives},
            "costs": {
                "failure": costs.failure,
                "preventive": costs.preventive,
                "threshold": costs.threshold,
            },
            "holdout_metrics": _json_safe(result),
            "retrained_from": parent,
            "versions": installed_versions(("twin", "numpy", "scikit-learn")),
            "git_commit": git_commit(),
        },
    )
    model.save(args.out)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s total")
    return 0


def check_training_options(
    out: str, seeds: list[int], holdout: list[int], days: float, horizon_s: float
) -> None:
    """Fail on bad options before minutes of simulation, not after."""
    parent = Path(out).resolve().parent
    if not parent.is_dir():
        raise UserError(f"--out {out}: directory {parent} does not exist")
    if Path(out).resolve() == default_model_path().resolve():
        print(f"note: overwriting the shipped model {out}", file=sys.stderr)
    if not seeds or not holdout:
        raise UserError("--seeds and --holdout-seeds each need at least one seed")
    shared = sorted(set(seeds) & set(holdout))
    if shared:
        raise UserError(f"hold-out seeds must differ from training seeds; both have {shared}")
    if not days * SECONDS_PER_DAY > horizon_s:
        raise UserError(
            f"--days {days:g} must be longer than the horizon ({horizon_s / SECONDS_PER_HOUR:g} "
            "h), or no report could be labelled"
        )


def command_evaluate(args: argparse.Namespace, argv: Sequence[str]) -> int:
    path = args.model or str(default_model_path())
    model = RiskModel.load(path)
    training = model.metadata.get("training", {})
    scenario = args.scenario or training.get("scenario", DEFAULTS["scenario"])
    params = (
        args.scenario_params
        if args.scenario_params is not None
        else training.get("scenario_params", {})
    )
    days = args.days if args.days is not None else DEFAULTS["days"]
    seeds = args.seeds or EVALUATE_SEEDS
    if not days * SECONDS_PER_DAY > model.horizon_s:
        raise UserError(f"--days {days:g} must be longer than the model horizon")
    min_operating_h = (
        args.min_operating_h
        if args.min_operating_h is not None
        else training.get("min_operating_h", DEFAULTS["min_operating_h"])
    )
    costs = scenario_costs(scenario, params, cost_overrides(args))
    jobs = args.jobs or min(len(seeds), os.cpu_count() or 1)
    print(
        f"evaluate: {path} (sha256 {model.metadata['sha256'][:12]}, horizon "
        f"{model.horizon_h:g} h) on {scenario}, seeds {seeds}, {days:g} days, "
        f"{jobs} worker(s)",
        flush=True,
    )
    trained_on = set(training.get("seeds", [])) & set(seeds)
    if trained_on:
        print(
            f"note: seeds {sorted(trained_on)} were used in training; not a hold-out",
            file=sys.stderr,
        )
    episodes = collect(scenario, params, seeds, days, min_operating_h, jobs)
    result = metrics(model, episodes, label(episodes, model.horizon_s), costs)
    print("hold-out metrics:")
    print_metrics(result, costs, model.horizon_h)
    if args.kpis:
        compare_kpis(path, scenario, params, seeds, days, args.warmup_days, jobs, args)
    return 0


def compare_kpis(
    model_path: str,
    scenario: str,
    params: dict[str, Any],
    seeds: list[int],
    days: float,
    warmup_days: float,
    jobs: int,
    args: argparse.Namespace,
) -> None:
    """Deploy the model next to the baselines on the same seeds and print mean KPIs."""
    if not warmup_days < days:
        raise UserError(f"--warmup-days {warmup_days:g} must be less than --days {days:g}")
    overrides = {k: v for k, v in cost_overrides(args).items() if v is not None}
    predictive_params = {"model_path": model_path, **overrides}
    calls = []
    for name, reference in COMPARED_POLICIES.items():
        policy_params = predictive_params if name == "predictive" else {}
        for seed in seeds:
            calls.append(
                (
                    kpi_run,
                    (name, reference, policy_params, scenario, params, seed, days, warmup_days),
                )
            )
    print(
        f"KPIs after a {warmup_days:g}-day warm-up, {days:g}-day runs, mean over seeds "
        f"{seeds} (default parameters of every policy):",
        flush=True,
    )

    def report(row: tuple[str, int, dict[str, float]]) -> None:
        print(f"  {row[0]} seed {row[1]} done", flush=True)

    rows = run_all(jobs, calls, report)
    header = f"  {'policy':16s}" + "".join(f"{label:>13s}" for _, label, _ in KPI_COLUMNS)
    print(header)
    for name in COMPARED_POLICIES:
        mine = [kpis for policy, _, kpis in rows if policy == name]
        cells = []
        for key, _, fmt in KPI_COLUMNS:
            cells.append(fmt.format(float(np.mean([k.get(key, 0.0) for k in mine]))))
        print(f"  {name:16s}" + "".join(f"{cell:>13s}" for cell in cells))


def kpi_run(
    name: str,
    reference: str,
    policy_params: dict[str, Any],
    scenario: str,
    params: dict[str, Any],
    seed: int,
    days: float,
    warmup_days: float,
) -> tuple[str, int, dict[str, float]]:
    config = ScenarioConfig(
        id=scenario,
        params=params,
        horizon_s=days * SECONDS_PER_DAY,
        warmup_s=warmup_days * SECONDS_PER_DAY,
    )
    result = simulate(config, reference, seed, policy_params=policy_params)
    return name, seed, {key: kpi.value for key, kpi in result.kpis.items()}


def cost_overrides(args: argparse.Namespace) -> dict[str, float | None]:
    return {
        "failure_cost": args.failure_cost,
        "preventive_cost": args.preventive_cost,
        "downtime_cost_per_h": args.downtime_cost_per_h,
    }


def _json_safe(value: Any) -> Any:
    """NaN is not JSON: write it as null."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- the command line -------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", help="scenario id (default: factory/flowline-v0)")
    parser.add_argument(
        "--scenario-params", type=json_object, help="scenario parameters as a JSON object"
    )
    parser.add_argument("--days", type=positive, help="simulated days per run (default 120)")
    parser.add_argument(
        "--min-operating-h",
        type=non_negative,
        help="ignore reports within this many operating hours of a restore (default 1)",
    )
    parser.add_argument(
        "--jobs", type=count, help="worker processes (default: one per run, <= CPUs)"
    )
    parser.add_argument("--failure-cost", type=positive, help="override C_failure")
    parser.add_argument("--preventive-cost", type=non_negative, help="override C_preventive")
    parser.add_argument(
        "--downtime-cost-per-h", type=non_negative, help="override the downtime cost rate"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    train = commands.add_parser("train", help="simulate, label, fit, hold-out test, save")
    train.add_argument("--out", required=True, help="where to write the model (JSON)")
    train.add_argument("--seeds", type=seed_type, nargs="+", help="training seeds (default 1-5)")
    train.add_argument(
        "--holdout-seeds", type=seed_type, nargs="+", help="hold-out seeds (default 101 102)"
    )
    train.add_argument(
        "--horizon-h", type=positive, help="predict failure within this many hours (default 24)"
    )
    train.add_argument("--C", type=positive, help="inverse L2 regularisation (default 1)")
    train.add_argument("--init", help="retrain: take unspecified options from this model")
    _common(train)
    train.set_defaults(handler=command_train)
    evaluate = commands.add_parser("evaluate", help="metrics of a model on hold-out seeds")
    evaluate.add_argument("--model", help="model JSON (default: the shipped model)")
    evaluate.add_argument(
        "--seeds", type=seed_type, nargs="+", help="hold-out seeds (default 201 202)"
    )
    evaluate.add_argument(
        "--kpis", action="store_true", help="also deploy it next to the baselines: mean KPIs"
    )
    evaluate.add_argument(
        "--warmup-days", type=non_negative, default=0.0, help="warm-up of the --kpis runs"
    )
    _common(evaluate)
    evaluate.set_defaults(handler=command_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
