"""``run_experiment``: plan the runs, execute what is not done yet, summarise, report.

Everything a config can get wrong is checked before the results directory is touched
(:mod:`experiments.checks`, and a Dask scheduler must answer). Then runs execute in
rounds: one round for a fixed replication count, several when replications are added
until a CI half-width target holds (:mod:`experiments.replications`).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.checks import check_experiment, headline_kpis
from experiments.config import ExperimentConfig, SensitivityDesign, load_experiment
from experiments.design import RunSpec, apply_point, design_points, plan_runs
from experiments.executors import Executor, RunOutcome, WorkersLost, make_executor
from experiments.progress import BatchProgress
from experiments.replications import replications_needed
from experiments.report import ReportFiles, format_headline, format_sensitivity, write_report
from experiments.sensitivity import SensitivityResults, analyse
from experiments.stats import summarize
from experiments.store import KIND, SENSITIVITY_FILES, ResultStore
from twin.core.domain import Domain
from twin.core.errors import UserError
from twin.core.files import write_parquet_atomically
from twin.core.registry import plugin_sources
from twin.core.run import (
    default_registry,
    git_commit,
    package_versions,
)
from twin.core.scenario import Scenario

MAX_LOSSES = 3
"""A run whose worker died this many times is recorded as lost (Dask's default too)."""
LOST = "lost"
"""Status of a run that never finished because its worker died; a resume retries it."""
CONSOLIDATE_EVERY_S = 30.0


@dataclass(frozen=True)
class ExperimentResults:
    """The tidy results of an experiment, for notebooks and for the report."""

    directory: Path
    config: ExperimentConfig
    runs: pd.DataFrame
    kpis: pd.DataFrame
    summary: pd.DataFrame
    points: pd.DataFrame
    headline_kpis: tuple[str, ...]
    report: ReportFiles | None
    sensitivity: SensitivityResults | None = None
    """The indices of a sensitivity design (its ``summary`` is then empty)."""

    def headline(self, color: bool | None = None) -> str:
        """The headline table as text; ``color``: better and worse coloured apart
        (default: when standard output is a terminal and ``NO_COLOR`` is not set).
        A sensitivity design's headline is its table of indices."""
        if self.sensitivity is not None:
            return format_sensitivity(self.sensitivity)
        if color is None:
            color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        return format_headline(
            self.summary, self.points, self.config.baseline, list(self.headline_kpis), color=color
        )


def run_experiment(
    config: ExperimentConfig | str | Path,
    out: str | Path | None = None,
    *,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    force_new: bool = False,
    retry_failed: bool = False,
    progress: bool = False,
    report: bool = True,
    source: str | None = None,
) -> ExperimentResults:
    """Run (or resume) an experiment and return its tidy results.

    Args:
        config: an :class:`ExperimentConfig` or the path of its TOML file.
        out: results directory (default ``results/<config file stem or name>``).
        executor: ``"inprocess"``, ``"process"`` or ``"dask"`` (default: the config's).
        workers: worker count (default: the config's, else all cores).
        scheduler: a Dask scheduler address (implies the Dask executor).
        force_new: discard the results found in ``out`` and start over.
        retry_failed: run again the runs that failed last time.
        progress: show a progress bar on stderr.
        report: write ``report.html`` and ``report.md`` at the end.
        source: the file name used in error messages when ``config`` is an object.

    Raises:
        UserError: a config or argument problem, before anything is written.
        KeyboardInterrupt: interrupted; finished runs are kept for the next resume.
    """
    if isinstance(config, ExperimentConfig):
        source = source or "<config>"
        default_out = Path("results") / config.name
    else:
        source = str(config)
        default_out = Path("results") / Path(config).stem
        config = load_experiment(config)
    directory = Path(out) if out is not None else default_out
    previous = ResultStore(directory).read_manifest_if_any()  # refuses a foreign directory
    points, headline = check_experiment(config, source)
    settings = config.executor
    # After the check: forked workers inherit the plug-ins its dry run imported.
    pool = make_executor(
        executor or settings.kind, workers or settings.workers, scheduler or settings.scheduler
    )
    manifest = make_manifest(config, source)
    if previous and previous.get("config_hash") == manifest["config_hash"]:
        if not force_new:
            _refuse_if_plugins_changed(previous, manifest, directory)
        _warn_if_code_changed(previous, manifest)
    try:
        store = ResultStore.create_or_resume(directory, manifest, force_new)
        records = store.finished()
        # Runs whose workers died are run again; failed runs only when asked to.
        again = {LOST, "failed"} if retry_failed else {LOST}
        rerun = [run_id for run_id, record in records.items() if record["status"] in again]
        store.forget(rerun)
        for run_id in rerun:
            del records[run_id]
        try:
            _execute_rounds(config, points, store, records, pool, progress)
        except KeyboardInterrupt:
            pool.close(cancel=True)
            # From the parts, not the records: Ctrl-C may land between a run's part being
            # written and its record being kept, and the parts are the one record.
            runs, _ = store.consolidate(store.finished().values())
            print(
                f"twin: interrupted after {len(runs)} finished runs (kept in {directory}); "
                "run the same command again to resume",
                file=sys.stderr,
            )
            raise
    finally:
        pool.close()
    return summarize_directory(directory, write=report, headline=headline, records=records)


def _refuse_if_plugins_changed(
    previous: dict[str, Any], current: dict[str, Any], directory: Path
) -> None:
    """A user who edits their policy and runs the comparison again wants the edited
    policy's results, not the finished runs of the one before: refuse to reuse them."""
    before = previous.get("plugin_sources", {})
    changed = [
        name for name, digest in current["plugin_sources"].items() if before.get(name) != digest
    ]
    if changed:
        raise UserError(
            f"{directory}: holds runs made before {', '.join(changed)} changed (its source "
            "differs); use --force-new to run them again, or choose another --out"
        )


def _warn_if_code_changed(previous: dict[str, Any], current: dict[str, Any]) -> None:
    """Resuming after a code change mixes versions in one batch: say so, do not refuse."""
    before = previous.get("versions", {})
    changes = [
        f"{name} {before.get(name)} -> {version}"
        for name, version in current["versions"].items()
        if before.get(name) != version
    ]
    if previous.get("git_commit") != current["git_commit"]:
        changes.append(f"git commit {previous.get('git_commit')} -> {current['git_commit']}")
    if changes:
        print(
            f"twin: warning: resuming results made with other code ({'; '.join(changes)}); "
            "use --force-new to start over",
            file=sys.stderr,
        )


def make_manifest(config: ExperimentConfig, source: str) -> dict[str, Any]:
    return {
        "kind": KIND,
        "source": source,
        "config": config.model_dump(mode="json"),
        "config_hash": config.config_hash(),
        "plugin_sources": plugin_sources(config.model_dump(mode="json")),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _execute_rounds(
    config: ExperimentConfig,
    points: list[dict[str, Any]],
    store: ResultStore,
    records: dict[str, dict[str, Any]],
    pool: Executor,
    show_progress: bool,
) -> None:
    needed = replications_needed(config, len(points), records)
    specs = plan_runs(config, points, needed)
    done = [spec for spec in specs if spec.run_id in records]
    bar = BatchProgress(
        total=len(specs),
        done=len(done),
        failed=sum(records[spec.run_id]["status"] != "ok" for spec in done),
        kpi=config.statistics.progress_kpi,
        scenario=config.scenarios[0].name,
        baseline=config.baseline,
        arms=[arm.name for arm in config.arms],
        enabled=show_progress,
    )
    for spec in done:
        bar.add(records[spec.run_id], counted=True)
    if done:
        print(
            f"twin: resuming: {len(done)} of {len(specs)} runs already finished in "
            f"{store.directory} are reused (--force-new runs them again)",
            file=sys.stderr,
        )
    try:
        while True:
            pending = [spec for spec in specs if spec.run_id not in records]
            if not pending:
                break
            _execute(pending, points, store, records, pool, bar)
            needed = replications_needed(config, len(points), records)
            specs = plan_runs(config, points, needed)
            bar.grow(len(specs))
    finally:
        bar.close()


def _execute(
    pending: list[RunSpec],
    points: list[dict[str, Any]],
    store: ResultStore,
    records: dict[str, dict[str, Any]],
    pool: Executor,
    bar: BatchProgress,
) -> None:
    """Run ``pending`` on ``pool``, recording each run as soon as its task returns."""
    queue = deque(pending)
    suspects: deque[RunSpec] = deque()
    by_id = {spec.run_id: spec for spec in pending}
    losses: Counter[str] = Counter()
    walls: list[float] = []
    consolidated_at = time.monotonic()

    def finish(spec: RunSpec, outcome: RunOutcome) -> None:
        record = store.record(spec, outcome, points[spec.point])
        records[spec.run_id] = record
        walls.append(outcome.wall_s)
        bar.add(record)

    while queue or suspects or pool.in_flight:
        if suspects:
            # Runs that were in flight when a worker died twice run alone, one at a
            # time, so the one that kills its worker is found and its bystanders finish.
            if not pool.in_flight:
                pool.submit([suspects.popleft()])
        else:
            while queue and pool.in_flight < 2 * pool.workers:
                size = chunk_size(walls, len(queue), pool.workers, pool.task_target_s)
                pool.submit([queue.popleft() for _ in range(size)])
        try:
            outcomes = pool.next_done()
        except WorkersLost as lost:
            for chunk in lost.chunks:
                for spec in chunk:
                    # Dask gives up on a task that was on a dying worker three times,
                    # which a bystander queued there can be too: one more try, alone,
                    # tells them apart.
                    losses[spec.run_id] += MAX_LOSSES - 1 if lost.retried else 1
                    if losses[spec.run_id] >= MAX_LOSSES:
                        finish(spec, _lost_outcome(spec, losses[spec.run_id]))
                    elif losses[spec.run_id] == 1:
                        queue.appendleft(spec)  # most likely a bystander: retry as usual
                    else:
                        suspects.append(spec)
            continue
        for outcome in outcomes:
            finish(by_id[outcome.run_id], outcome)
        if time.monotonic() - consolidated_at > CONSOLIDATE_EVERY_S:
            store.consolidate(records.values())
            consolidated_at = time.monotonic()


def chunk_size(walls: list[float], queued: int, workers: int, target_s: float) -> int:
    """Runs per task: enough to last ``target_s``, but leave work for every worker."""
    if not walls:
        return 1
    mean_wall = sum(walls[-100:]) / len(walls[-100:])
    wanted = math.ceil(target_s / mean_wall) if mean_wall > 0 else queued
    return max(1, min(wanted, queued // (2 * workers)))


def _lost_outcome(spec: RunSpec, times: int) -> RunOutcome:
    message = (
        f"the worker process died while running {spec.run_id} ({times} times): killed, out "
        "of memory, or a crash in native code"
    )
    return RunOutcome(spec.run_id, LOST, math.nan, message, (), None)


def summarize_directory(
    directory: Path,
    *,
    write: bool = True,
    headline: tuple[str, ...] | None = None,
    records: dict[str, dict[str, Any]] | None = None,
) -> ExperimentResults:
    """Consolidate, summarise and (with ``write``) report the results found in ``directory``.

    This is ``twin report DIR``; ``run_experiment`` ends with it, passing the run
    records it holds (the same as the part files) so they are not read again.
    """
    store = ResultStore(directory)
    manifest = store.manifest()
    config = ExperimentConfig.model_validate(manifest["config"])
    if headline is None:
        headline = headline_kpis(config, default_registry())
    points = design_points(config.design, config.seed)
    runs, kpis = store.consolidate((records or store.finished()).values())
    arms = [arm.name for arm in config.arms]
    sensitivity = None
    summary = pd.DataFrame()
    if isinstance(config.design, SensitivityDesign):
        # Its statistics are the indices: a paired comparison at each of hundreds of
        # sampled points would cost more than the runs and be read by nobody.
        if not runs.empty:
            sensitivity = analyse(config, runs, kpis, config.design.kpis or headline)
            write_parquet_atomically(sensitivity.indices, directory / SENSITIVITY_FILES[0])
            write_parquet_atomically(sensitivity.outputs, directory / SENSITIVITY_FILES[1])
    elif not runs.empty:
        summary = summarize(runs, kpis, config.baseline, arms)
    if not summary.empty:
        summary = with_directions(summary, config)
        write_parquet_atomically(summary, directory / "summary.parquet")
    points_frame = _points_frame(config, points)
    files = None
    if write and (not summary.empty or sensitivity is not None):
        shutil.rmtree(directory / "figures", ignore_errors=True)  # figures of an older report
        files = write_report(
            directory,
            summary=summary,
            points=points_frame,
            runs=runs,
            timeseries=_after_warmup(store.timeseries(runs), config, points),
            manifest=manifest,
            baseline=config.baseline,
            headline_kpis=list(headline),
            timeseries_probes=config.output.timeseries_probes,
            title=config.name,
            sensitivity=sensitivity,
        )
    return ExperimentResults(
        directory, config, runs, kpis, summary, points_frame, headline, files, sensitivity
    )


def with_directions(summary: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """``summary`` with each scenario's ``domain`` and each KPI's ``better`` direction
    (``"lower"``, ``"higher"`` or ``""``) from the domain contract, so the report and
    ``summary.parquet`` tell an improvement from a worsening."""
    registry = default_registry()
    domains: dict[str, Domain[Any] | None] = {}
    scenarios: dict[str, type[Scenario[Any]]] = {}
    for entry in config.scenarios:
        scenarios[entry.name] = registry.scenario(entry.id)
        try:
            domains[entry.name] = registry.domain(scenarios[entry.name].domain)
        except UserError:  # a plug-in scenario whose domain is not registered: no directions
            domains[entry.name] = None

    def better(scenario: str, kpi: str) -> str:
        # The scenario first: one that joins domains knows their KPIs' directions.
        known = scenarios[scenario].better(kpi)
        if known is not None:
            return known
        domain = domains.get(scenario)
        return (domain.better(kpi) or "") if domain is not None else ""

    pairs = zip(summary["scenario"], summary["kpi"], strict=True)
    return summary.assign(
        domain=[(d.name if (d := domains.get(s)) else "") for s in summary["scenario"]],
        better=[better(s, k) for s, k in pairs],
    )


def _after_warmup(
    timeseries: pd.DataFrame, config: ExperimentConfig, points: list[dict[str, Any]]
) -> pd.DataFrame:
    """The samples the statistics are about: those after each scenario's warm-up."""
    if timeseries.empty:
        return timeseries
    warmups = pd.DataFrame(
        [
            {"scenario": entry.name, "point": p, "warmup_s": apply_point(entry, point).warmup_s}
            for entry in config.scenarios
            for p, point in enumerate(points)
        ]
    )
    joined = timeseries.merge(warmups, on=["scenario", "point"])
    kept = joined[joined["time_s"] >= joined["warmup_s"]]
    return kept.drop(columns="warmup_s").reset_index(drop=True)


def _points_frame(config: ExperimentConfig, points: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {"scenario": entry.name, "point": p, **point}
        for entry in config.scenarios
        for p, point in enumerate(points)
    ]
    return pd.DataFrame(rows)
