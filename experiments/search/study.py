"""The ask/evaluate/tell loop of a search, its Optuna storage, seeding and resume.

Candidates are asked from Optuna ``batch`` at a time, all their runs execute together on
the executor, and the results are told in trial order. Two things make the outcome
independent of executors and interruptions:

- the sampler is made afresh for every trial, seeded from the config's seed and the
  trial's number (CMA-ES: from the config's seed alone, replaying its optimiser from
  the stored trials); what it proposes then depends only on the trials in the storage,
  never on how many proposals an earlier process drew from one generator;
- batches are fixed blocks of trial numbers (``[0, batch)``, ``[batch, 2 batch)``, ...).
  A trial asked but not told when the search was interrupted is still in the storage
  (running); a resume evaluates it with the parameters it was given, asks the rest of
  its block, and goes on. Nothing of the interrupted session's runs is needed.

The study lives in ``study.db`` (SQLite through Optuna's RDB storage) in the results
directory, next to ``search.json``, which records the config the study belongs to.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, Trial, TrialState
from tqdm import tqdm

from experiments.config import ExecutorConfig
from experiments.executors import Executor, make_executor
from experiments.search.cmaes import ReplayCmaEsSampler
from experiments.search.config import SearchConfig
from experiments.search.evaluate import Evaluation, evaluate
from experiments.search.space import Candidate, candidate, distributions
from twin.core.errors import UserError
from twin.core.files import write_atomically
from twin.core.registry import Registry
from twin.core.run import git_commit, package_versions

STUDY_FILE = "study.db"
MANIFEST = "search.json"
STUDY_NAME = "twin"
SAMPLER_STREAM = 0x5EA4C4
"""Spawn key of the samplers' seeds, apart from the replications' (which use 0, 1, ...)."""


@dataclass(frozen=True)
class Score:
    """What a candidate's runs say: the value to optimise (None: the trial failed), the
    constraint violations (<= 0 met) and what to keep with the trial."""

    value: float | None
    constraints: dict[str, float] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


Scorer = Callable[[Evaluation], Score]
Describe = Callable[[optuna.Study], str]


def prepare_directory(
    directory: Path,
    kind: str,
    config: SearchConfig,
    source: str,
    force_new: bool,
    data_hash: str | None = None,
) -> None:
    """Make ``directory`` hold this search: new, resumed (same config and data, when
    ``data_hash`` names observed data) or started over.

    Raises:
        UserError: the directory holds something else, or another config's study.
    """
    manifest_file = directory / MANIFEST
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: exists and is not a directory; choose another --out")
    if directory.exists() and not manifest_file.exists() and any(directory.iterdir()):
        raise UserError(
            f"{directory}: exists and is not a twin search directory; choose another --out"
        )
    manifest = {
        "kind": kind,
        "source": source,
        "config": config.model_dump(mode="json"),
        "config_hash": config.config_hash(),
        "data_hash": data_hash,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if manifest_file.exists():
        previous = json.loads(manifest_file.read_text())
        if previous.get("kind") != kind:
            raise UserError(
                f"{directory}: holds a {previous.get('kind')!r} search, not {kind!r}; "
                "choose another --out"
            )
        same = all(previous.get(key) == manifest[key] for key in ("config_hash", "data_hash"))
        if same and not force_new:
            return
        if not force_new:
            raise UserError(
                f"{directory}: holds the study of another config or other data; use "
                "--force-new to discard it, or choose another --out"
            )
        discard(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_atomically(manifest_file, json.dumps(manifest, indent=2) + "\n")


WRITTEN = (
    MANIFEST,
    STUDY_FILE,
    "trials.parquet",
    "recheck.parquet",
    "comparison.parquet",
    "estimates.parquet",
    "per_seed.parquet",
    "fit.parquet",
    "report.md",
    "report.html",
    "figures",
)
"""Everything a search writes in its directory (and all ``--force-new`` removes)."""


def discard(directory: Path) -> None:
    for name in WRITTEN:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def read_manifest(directory: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    return manifest


def open_study(directory: Path, direction: str) -> optuna.Study:
    """The study stored in ``directory`` (created empty the first time)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{(directory / STUDY_FILE).resolve()}")
    return optuna.create_study(
        study_name=STUDY_NAME, storage=storage, direction=direction, load_if_exists=True
    )


def make_sampler(config: SearchConfig, trial_number: int) -> BaseSampler:
    """The sampler that proposes trial ``trial_number``: seeded from the config's seed and
    the number alone, so a resumed study proposes what an uninterrupted one would."""
    state = np.random.SeedSequence(config.seed, spawn_key=(SAMPLER_STREAM, trial_number))
    seed = int(state.generate_state(1, np.uint32)[0])
    search = config.search
    with warnings.catch_warnings():
        # constant_liar is "experimental" in Optuna: said once, here.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if search.sampler == "random":
            return RandomSampler(seed=seed)
        if search.sampler == "cmaes":
            # CMA-ES replays one optimiser through the study: one seed for every trial.
            return ReplayCmaEsSampler(distributions(config), search.batch, study_seed(config))
        return TPESampler(
            seed=seed,
            n_startup_trials=search.startup_trials,
            multivariate=True,
            # Trials asked in the same batch are still running when the next is asked:
            # the liar keeps TPE from proposing the same point k times.
            constant_liar=True,
        )


def study_seed(config: SearchConfig) -> int:
    """The seed of a sampler that is the same for every trial (CMA-ES's optimiser)."""
    state = np.random.SeedSequence(config.seed, spawn_key=(SAMPLER_STREAM,))
    return int(state.generate_state(1, np.uint32)[0])


def run_study(
    study: optuna.Study,
    config: SearchConfig,
    registry: Registry,
    pool: Executor,
    score: Scorer,
    *,
    keep_timeseries: bool = False,
    progress: bool = False,
    describe: Describe | None = None,
    extra_runs: int = 0,
) -> tqdm[Any]:
    """Ask, evaluate and tell until the study has ``config.search.trials`` trials.

    Returns the progress bar, still open, so that what comes after the search (a
    re-check of ``extra_runs`` runs) counts on it too.
    """
    space: dict[str, BaseDistribution] = distributions(config)
    total, batch = config.search.trials, config.search.batch
    replications = list(range(config.replications.count))
    told = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    bar = tqdm(
        total=total * len(replications) + extra_runs,
        initial=len(told) * len(replications),
        unit="run",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    if describe is not None and told:
        bar.set_postfix_str(describe(study), refresh=False)
    while True:
        trials = study.get_trials(deepcopy=False)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        start = min((t.number for t in running), default=len(trials))
        if start >= total:
            break
        end = min(total, (start // batch + 1) * batch)
        # Trials an interrupted session asked keep their parameters; Optuna has no public
        # way back from a stored trial to an askable one but its storage id.
        asked: list[Trial] = [Trial(study, t._trial_id) for t in running]
        for number in range(len(trials), end):
            study.sampler = make_sampler(config, number)
            asked.append(study.ask(space))
        # A point evaluated before gives the same runs again (same seeds): reuse it.
        earlier: dict[str, FrozenTrial] = {}
        for t in trials:
            if t.state.is_finished():
                earlier.setdefault(_key(t.params), t)
        fresh: dict[str, Trial] = {}
        for trial in asked:
            fresh.setdefault(_key(trial.params), trial)
        for key in earlier:
            fresh.pop(key, None)
        candidates = [
            candidate(config, dict(trial.params), f"trial-{trial.number}", registry)
            for trial in fresh.values()
        ]
        evaluations = evaluate(
            candidates,
            policy=config.policy.id,
            seed=config.seed,
            replications=replications,
            pool=pool,
            keep_timeseries=keep_timeseries,
            on_run=lambda: bar.update(1),
        )
        scores = {
            key: score(evaluation) for key, evaluation in zip(fresh, evaluations, strict=True)
        }
        for trial in sorted(asked, key=lambda t: t.number):
            key = _key(trial.params)
            if key in scores and fresh[key] is trial:
                _tell(study, trial, scores[key])
                continue
            # Evaluated before (in an earlier batch, or earlier in this one).
            reused = scores[key] if key in scores else _stored_score(earlier[key])
            same_as = fresh[key].number if key in scores else earlier[key].number
            _tell(study, trial, _copy_of(reused, same_as))
            bar.update(len(replications))
        if describe is not None:
            bar.set_postfix_str(describe(study), refresh=True)
    return bar


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def _stored_score(trial: FrozenTrial) -> Score:
    complete = trial.state == TrialState.COMPLETE and trial.value is not None
    value = float(trial.value) if complete and trial.value is not None else None
    return Score(value, dict(trial.constraints), dict(trial.user_attrs))


def _copy_of(score: Score, number: int) -> Score:
    """``score`` for a trial that repeats trial ``number``'s point."""
    return Score(score.value, score.constraints, {**score.attrs, "same_as": number})


def _tell(study: optuna.Study, trial: Trial, score: Score) -> None:
    for key, value in score.attrs.items():
        trial.set_user_attr(key, value)
    if score.value is None or not math.isfinite(score.value):
        study.tell(trial, state=TrialState.FAIL)
        return
    # Optuna's constraints (<= 0: met), which TPE reads to prefer feasible points.
    for name, violation in score.constraints.items():
        trial.set_constraint(name, violation)
    study.tell(trial, score.value)


def finished_trials(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


def is_feasible(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE and all(
        value <= 0 for value in trial.constraints.values()
    )


def ranked(study: optuna.Study) -> list[FrozenTrial]:
    """Feasible complete trials, best first (ties: the earlier trial)."""
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    feasible = [t for t in study.get_trials(deepcopy=False) if is_feasible(t)]
    return sorted(feasible, key=lambda t: (sign * float(t.value or 0.0), t.number))


def best_so_far(study: optuna.Study) -> list[float]:
    """After each trial (by number): the best feasible value so far (NaN before one)."""
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    best = math.nan
    curve = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if is_feasible(trial) and trial.value is not None:
            value = float(trial.value)
            if math.isnan(best) or sign * value < sign * best:
                best = value
        curve.append(best)
    return curve


def candidate_of(config: SearchConfig, trial: FrozenTrial, registry: Registry) -> Candidate:
    return candidate(config, dict(trial.params), f"trial-{trial.number}", registry)


@contextmanager
def search_executor(
    settings: ExecutorConfig,
    executor: str | None,
    workers: int | None,
    scheduler: str | None,
    directory: Path,
) -> Iterator[Executor]:
    """The executor a search runs on (the command line's choice over the config's), closed
    after; on Ctrl-C its queued runs are cancelled and the user is told how to resume."""
    pool = make_executor(
        executor or settings.kind, workers or settings.workers, scheduler or settings.scheduler
    )
    try:
        yield pool
    except KeyboardInterrupt:
        pool.close(cancel=True)
        print(
            f"twin: interrupted; the study is kept in {directory}: run the same command again "
            "to resume",
            file=sys.stderr,
        )
        raise
    finally:
        pool.close()


class _Named(Protocol):
    name: str


ConfigT = TypeVar("ConfigT", bound=_Named)


def config_and_directory(
    config: ConfigT | str | Path,
    out: str | Path | None,
    source: str | None,
    parsed: type[ConfigT],
    load: Callable[[str], ConfigT],
) -> tuple[ConfigT, str, Path]:
    """A search's config (parsed from its file when given a path), the source its errors
    name, and its results directory (``out``, else ``results/<config file stem or name>``)."""
    if isinstance(config, parsed):
        directory = Path(out) if out is not None else Path("results") / config.name
        return config, source or "<config>", directory
    assert isinstance(config, str | Path)
    directory = Path(out) if out is not None else Path("results") / Path(config).stem
    return load(str(config)), str(config), directory
