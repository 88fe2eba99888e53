"""Train and evaluate the learned signal controller (``signals/learned-v0``) in the twin.

::

    python -m models.signals.train train --out MODEL.json [--seeds 1 2 3]
        [--holdout-seeds 101 102 103] [--generations 10] [--population 10] [--elite 4]
        [--horizon-s 1800] [--warmup-s 600] [--optimiser-seed 0] [--init OLD.json]
        [--scenario ID] [--scenario-params JSON] [--jobs N]
    python -m models.signals.train evaluate [--model MODEL.json] [--seeds 201 ... 205]
        [--horizon-s 4200] [--warmup-s 600] [--jobs N]

Training is the cross-entropy method (Rubinstein 1999; as used for policy search by
Szita and Lorincz 2006) over the nine weights of
:mod:`models.signals.learned`. It starts from the weights that make the score
Varaiya's pressure, samples ``population`` weight vectors around the current mean from
a diagonal Gaussian, runs each (and the mean itself) in the twin on every training
seed, and moves the mean and spread to the ``elite`` best. The objective is the mean
over the training seeds of ``time_loss_mean_s`` (SUMO tripinfo time loss, trips that
finish after the warm-up): the figure the experiment headlines. Every candidate of a
generation runs on the same seeds (common random numbers), so their differences are
not trip-draw noise. The weights kept are the generation mean with the lowest training
objective; they are then run on hold-out seeds next to fixed-time, max-pressure and
actuated control, and those figures go into the model file.

Seeds. The simulator's randomness comes only from twin's named streams under each
run's root seed: training seeds 1-3 and hold-out seeds 101-103 by default, and
``evaluate`` uses 201-205. None of them is a seed of
``experiments/traffic_signals.toml`` (replication ``i`` there runs on
``replication_seed(2026, i)``, 19-digit numbers); ``train`` refuses a seed that is one
of the experiment's first 1000 replication seeds, so the experiment's figures are never
tuned on. The optimiser's own randomness is ``numpy.random.default_rng`` of
``SeedSequence(optimiser_seed)`` (0 by default): the same command writes the same
weights.

Budget: the default (10 generations x 11 policies x 3 seeds of a 30-minute run, then
15 hold-out runs) takes about 3-5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models.signals.learned import (
    FEATURES,
    MAX_PRESSURE_WEIGHTS,
    Learned,
    LearnedParams,
    SignalModel,
    default_model_path,
    weights_table,
)
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
from twin.core.run import git_commit, installed_versions, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.streams import replication_seed

FloatArray = npt.NDArray[np.float64]
PROG = "python -m models.signals.train"

DEFAULTS: dict[str, Any] = {
    "scenario": "traffic/grid4x4-v0",
    "scenario_params": {},
    "seeds": [1, 2, 3],
    "holdout_seeds": [101, 102, 103],
    "horizon_s": 1800.0,
    "warmup_s": 600.0,
    "generations": 10,
    "population": 10,
    "elite": 4,
    "init_std": 1.0,
    "min_std": 0.05,
    "optimiser_seed": 0,
    "step_s": 1.0,
}
"""Training options when neither the command line nor ``--init`` gives them. A
30-minute run of the 4x4 grid (10 min warm-up, ~450 trips measured) takes about a
second; the experiment's runs are 70 minutes."""

EVALUATE_SEEDS = [201, 202, 203, 204, 205]
EXPERIMENT_SEED = 2026
"""The root seed of ``experiments/traffic_signals.toml`` (a test keeps them equal)."""
EXPERIMENT_REPLICATIONS_GUARDED = 1000
OBJECTIVE = "time_loss_mean_s"
BASELINES = {
    "fixed-time": "signals/fixed-time-v0",
    "max-pressure": "signals/max-pressure-v0",
    "actuated": "signals/actuated-v0",
}
REPORTED = (
    ("time_loss_mean_s", "time loss s", "{:.1f}"),
    ("waiting_time_mean_s", "waiting s", "{:.1f}"),
    ("trip_duration_mean_s", "duration s", "{:.1f}"),
    ("trips_completed", "completed", "{:.0f}"),
    ("network_co2_kg", "CO2 kg", "{:.1f}"),
)

PolicySpec = tuple[str, Any]
"""``("weights", (w..., step_s))`` for the learned score, ``("ref", id)`` for a baseline."""


# -- running many simulations -----------------------------------------------------------


def episode(
    spec: PolicySpec,
    scenario: str,
    scenario_params: dict[str, Any],
    seed: int,
    horizon_s: float,
    warmup_s: float,
) -> dict[str, float]:
    """One run of ``spec`` on ``seed``: its KPIs. A module-level function, so it pickles
    to worker processes."""
    config = ScenarioConfig(
        id=scenario, params=scenario_params, horizon_s=horizon_s, warmup_s=warmup_s
    )
    kind, value = spec
    if kind == "weights":
        *weights, step_s = value
        policy: Any = Learned(LearnedParams(step_s=step_s), model=SignalModel(np.array(weights)))
    else:
        policy = value
    result = simulate(config, policy, seed, source="<command line>")
    return {key: kpi.value for key, kpi in result.kpis.items()}


class Runner:
    """Runs batches of episodes on ``jobs`` worker processes (inline when 1), results in
    call order. One pool for the whole training: workers import twin and its kernels
    once."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: Executor | None = None

    def __enter__(self) -> Runner:
        if self.jobs > 1:
            # spawn: no fork of a process that may hold threads (numba, BLAS).
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def map(self, calls: Sequence[tuple[Any, ...]]) -> list[dict[str, float]]:
        if self._pool is None:
            return [episode(*call) for call in calls]
        futures = [self._pool.submit(episode, *call) for call in calls]
        return [future.result() for future in futures]


def mean_kpis(
    runner: Runner,
    specs: Sequence[PolicySpec],
    scenario: str,
    scenario_params: dict[str, Any],
    seeds: Sequence[int],
    horizon_s: float,
    warmup_s: float,
) -> list[dict[str, float]]:
    """Every spec on every seed; per spec, each KPI's mean over the seeds."""
    calls = [
        (spec, scenario, scenario_params, seed, horizon_s, warmup_s)
        for spec in specs
        for seed in seeds
    ]
    rows = runner.map(calls)
    n = len(seeds)
    out = []
    for i in range(len(specs)):
        mine = rows[i * n : (i + 1) * n]
        out.append({key: float(np.mean([row[key] for row in mine])) for key in mine[0]})
    return out


# -- the cross-entropy method -----------------------------------------------------------


def cross_entropy(
    evaluate: Callable[[list[FloatArray]], list[float]],
    start: FloatArray,
    *,
    generations: int,
    population: int,
    elite: int,
    init_std: float,
    min_std: float,
    rng: np.random.Generator,
    log: Callable[[str], None] = print,
) -> tuple[FloatArray, float, list[dict[str, Any]]]:
    """Minimise ``evaluate`` by the cross-entropy method with a diagonal Gaussian.

    Each generation evaluates the mean and ``population`` samples around it in one
    batch, then refits the mean and standard deviation to the ``elite`` best (the
    deviation floored at ``min_std`` so the search never freezes). The mean after the
    last generation is evaluated too.

    Returns:
        the evaluated mean with the lowest objective, that objective, and the history
        (one dict per generation).
    """
    mean = np.array(start, dtype=np.float64)
    std = np.full(mean.shape, init_std)
    best_weights, best_value = mean.copy(), float("inf")
    history: list[dict[str, Any]] = []
    for generation in range(generations + 1):
        started = time.perf_counter()
        last = generation == generations
        samples = [] if last else list(mean + std * rng.standard_normal((population, mean.size)))
        candidates = [mean.copy(), *samples]
        values = evaluate(candidates)
        if values[0] < best_value:
            best_weights, best_value = candidates[0], values[0]
        record: dict[str, Any] = {"generation": generation, "mean_objective": values[0]}
        if not last:
            order = np.argsort(values, kind="stable")[:elite]
            chosen = np.array([candidates[i] for i in order])
            mean = chosen.mean(axis=0)
            std = np.maximum(chosen.std(axis=0), min_std)
            record["best_sample_objective"] = float(min(values))
            record["elite_objective"] = float(np.mean([values[i] for i in order]))
        history.append(record)
        text = f"generation {generation}/{generations}: mean's objective {values[0]:.2f} s"
        if not last:
            text += (
                f", best sample {record['best_sample_objective']:.2f} s, elite "
                f"{record['elite_objective']:.2f} s, spread {float(std.mean()):.3f}"
            )
        log(f"{text} ({time.perf_counter() - started:.0f} s)")
    return best_weights, best_value, history


# -- commands ---------------------------------------------------------------------------


def experiment_seeds(count: int = EXPERIMENT_REPLICATIONS_GUARDED) -> set[int]:
    """The root seeds of the experiment's first ``count`` replications."""
    return {replication_seed(EXPERIMENT_SEED, r) for r in range(count)}


def check_training_options(args: argparse.Namespace, recipe: dict[str, Any]) -> None:
    """Fail on bad options before minutes of simulation, not after."""
    parent = Path(args.out).resolve().parent
    if not parent.is_dir():
        raise UserError(f"--out {args.out}: directory {parent} does not exist")
    if Path(args.out).exists() and Path(args.out).resolve() == default_model_path().resolve():
        print(f"note: overwriting the shipped model {args.out}", file=sys.stderr)
    shared = sorted(set(recipe["seeds"]) & set(recipe["holdout_seeds"]))
    if shared:
        raise UserError(f"hold-out seeds must differ from training seeds; both have {shared}")
    tuned = sorted((set(recipe["seeds"]) | set(recipe["holdout_seeds"])) & experiment_seeds())
    if tuned:
        raise UserError(
            f"seeds {tuned} are replication seeds of experiments/traffic_signals.toml; "
            "training must not see the evaluation's seeds"
        )
    if not recipe["warmup_s"] < recipe["horizon_s"]:
        raise UserError("--warmup-s must be less than --horizon-s")
    if not 1 <= recipe["elite"] <= recipe["population"] + 1:
        raise UserError(
            f"--elite must be in [1, population + 1 = {recipe['population'] + 1}], "
            f"got {recipe['elite']}"
        )


def recipe_from(args: argparse.Namespace) -> tuple[dict[str, Any], FloatArray, str | None]:
    """Options (command line, else ``--init``'s recorded recipe, else defaults), the
    starting weights and the parent model's hash."""
    recipe = dict(DEFAULTS)
    start = np.array(MAX_PRESSURE_WEIGHTS)
    parent = None
    if args.init:
        old = SignalModel.load(args.init)
        recipe.update(old.metadata.get("training", {}))
        start = np.array(old.weights)
        parent = old.metadata["sha256"]
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            recipe[key] = value
    return recipe, start, parent


def command_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    started = time.perf_counter()
    recipe, start, parent = recipe_from(args)
    check_training_options(args, recipe)
    jobs = args.jobs or min(2, os.cpu_count() or 1)
    scenario, params = recipe["scenario"], recipe["scenario_params"]
    seeds, holdout = recipe["seeds"], recipe["holdout_seeds"]
    horizon_s, warmup_s, step_s = recipe["horizon_s"], recipe["warmup_s"], recipe["step_s"]
    runs = (recipe["generations"] * (recipe["population"] + 1) + 1) * len(seeds)
    print(
        f"train: cross-entropy method on {scenario}, {len(FEATURES)} weights, "
        f"{recipe['generations']} generations x {recipe['population']} samples + the mean, "
        f"elite {recipe['elite']}, training seeds {seeds}, {horizon_s:g} s runs "
        f"({warmup_s:g} s warm-up), {runs} runs on {jobs} worker(s); optimiser "
        f"SeedSequence({recipe['optimiser_seed']})",
        flush=True,
    )
    print(f"start{' (from ' + args.init + ')' if args.init else ' (max-pressure)'}:")
    print(weights_table(start), flush=True)
    rng = np.random.default_rng(np.random.SeedSequence(recipe["optimiser_seed"]))

    with Runner(jobs) as runner:

        def objective(candidates: list[FloatArray]) -> list[float]:
            specs = [("weights", (*map(float, w), step_s)) for w in candidates]
            rows = mean_kpis(runner, specs, scenario, params, seeds, horizon_s, warmup_s)
            return [row[OBJECTIVE] for row in rows]

        weights, value, history = cross_entropy(
            objective,
            start,
            generations=recipe["generations"],
            population=recipe["population"],
            elite=recipe["elite"],
            init_std=recipe["init_std"],
            min_std=recipe["min_std"],
            rng=rng,
            log=lambda text: print(text, flush=True),
        )
        print(f"kept weights (training objective {value:.2f} s):")
        print(weights_table(weights), flush=True)
        print(f"hold-out: seeds {holdout}, {horizon_s:g} s runs", flush=True)
        holdout_table = compare(
            runner, weights, step_s, scenario, params, holdout, horizon_s, warmup_s
        )
    model = SignalModel(
        weights=weights,
        metadata={
            "algorithm": "cross-entropy method, diagonal Gaussian",
            "objective": f"mean {OBJECTIVE} over the training seeds",
            "command": " ".join([PROG, *(shlex.quote(a) for a in argv)]),
            "training": recipe,
            "training_objective_s": value,
            "history": history,
            "holdout": {"seeds": holdout, "mean_kpis": holdout_table},
            "retrained_from": parent,
            "versions": installed_versions(("twin", "numpy")),
            "git_commit": git_commit(),
        },
    )
    model.save(args.out)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s total")
    return 0


def compare(
    runner: Runner,
    weights: FloatArray,
    step_s: float,
    scenario: str,
    params: dict[str, Any],
    seeds: Sequence[int],
    horizon_s: float,
    warmup_s: float,
) -> dict[str, dict[str, float]]:
    """The model and the baselines on the same seeds: mean KPIs, printed as a table."""
    specs: dict[str, PolicySpec] = {
        "learned": ("weights", (*map(float, weights), step_s)),
        **{name: ("ref", ref) for name, ref in BASELINES.items()},
    }
    rows = mean_kpis(runner, list(specs.values()), scenario, params, seeds, horizon_s, warmup_s)
    table = {
        name: {key: row[key] for key, _, _ in REPORTED}
        for name, row in zip(specs, rows, strict=True)
    }
    print(f"  {'policy':14s}" + "".join(f"{label:>13s}" for _, label, _ in REPORTED))
    for name, row in table.items():
        cells = "".join(f"{fmt.format(row[key]):>13s}" for key, _, fmt in REPORTED)
        print(f"  {name:14s}{cells}", flush=True)
    return table


def command_evaluate(args: argparse.Namespace, argv: Sequence[str]) -> int:
    path = args.model or str(default_model_path())
    model = SignalModel.load(path)
    training = model.metadata.get("training", {})
    scenario = args.scenario or training.get("scenario", DEFAULTS["scenario"])
    params = (
        args.scenario_params
        if args.scenario_params is not None
        else training.get("scenario_params", {})
    )
    seeds = args.seeds or EVALUATE_SEEDS
    if not args.warmup_s < args.horizon_s:
        raise UserError("--warmup-s must be less than --horizon-s")
    step_s = float(training.get("step_s", DEFAULTS["step_s"]))
    jobs = args.jobs or min(2, os.cpu_count() or 1)
    print(
        f"evaluate: {path} (sha256 {model.metadata['sha256'][:12]}) on {scenario}, seeds "
        f"{seeds}, {args.horizon_s:g} s runs ({args.warmup_s:g} s warm-up), {jobs} worker(s)",
        flush=True,
    )
    trained_on = (set(training.get("seeds", [])) | set(training.get("holdout_seeds", []))) & set(
        seeds
    )
    if trained_on:
        print(
            f"note: seeds {sorted(trained_on)} were used in training; not a hold-out",
            file=sys.stderr,
        )
    with Runner(jobs) as runner:
        compare(
            runner, model.weights, step_s, scenario, params, seeds, args.horizon_s, args.warmup_s
        )
    return 0


# -- the command line -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    train = commands.add_parser("train", help="cross-entropy search in the twin, hold-out, save")
    train.add_argument("--out", required=True, help="where to write the model (JSON)")
    train.add_argument("--seeds", type=seed_type, nargs="+", help="training seeds (default 1-3)")
    train.add_argument(
        "--holdout-seeds", type=seed_type, nargs="+", help="hold-out seeds (default 101-103)"
    )
    train.add_argument("--generations", type=count, help="CEM generations (default 10)")
    train.add_argument("--population", type=count, help="samples per generation (default 10)")
    train.add_argument("--elite", type=count, help="samples the mean is refitted to (default 4)")
    train.add_argument("--init-std", type=positive, help="initial spread (default 1)")
    train.add_argument("--min-std", type=non_negative, help="spread floor (default 0.05)")
    train.add_argument(
        "--optimiser-seed", type=seed_type, help="SeedSequence of the sampler (default 0)"
    )
    train.add_argument("--horizon-s", type=positive, help="simulated s per run (default 1800)")
    train.add_argument("--warmup-s", type=non_negative, help="warm-up per run (default 600)")
    train.add_argument("--step-s", type=positive, help="decision period (default 1)")
    train.add_argument("--scenario", help="scenario id (default traffic/grid4x4-v0)")
    train.add_argument(
        "--scenario-params",
        type=json_object,
        help="scenario parameters as a JSON object",
    )
    train.add_argument("--init", help="retrain: start from this model's weights and recipe")
    train.add_argument("--jobs", type=count, help="worker processes (default 2, <= CPUs)")
    train.set_defaults(handler=command_train)
    evaluate = commands.add_parser("evaluate", help="the model next to the baselines")
    evaluate.add_argument("--model", help="model JSON (default: the shipped model)")
    evaluate.add_argument(
        "--seeds", type=seed_type, nargs="+", help="evaluation seeds (default 201-205)"
    )
    evaluate.add_argument("--horizon-s", type=positive, default=4200.0, help="default 4200")
    evaluate.add_argument("--warmup-s", type=non_negative, default=600.0, help="default 600")
    evaluate.add_argument("--scenario", help="scenario id (default: the model's)")
    evaluate.add_argument("--scenario-params", type=json_object, help="JSON object")
    evaluate.add_argument("--jobs", type=count, help="worker processes (default 2, <= CPUs)")
    evaluate.set_defaults(handler=command_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv, PROG)


if __name__ == "__main__":
    sys.exit(main())
