"""The experiment part of the ``twin`` command, plugged in through ``twin.commands``.

``twin run`` and ``twin validate`` hand a config with arms to :class:`ExperimentCommands`;
it adds the batch options to ``twin run`` and the ``twin report`` command. The library
(``twin.cli``) never imports this module: it finds it by its entry point, as it finds
scenarios and policies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from experiments.checks import check_experiment
from experiments.config import is_experiment, parse_experiment
from experiments.executors import check_scheduler_address
from experiments.runner import ExperimentResults, run_experiment, summarize_directory
from twin.core.arguments import count, seed
from twin.core.config import read_toml
from twin.core.errors import UserError
from twin.core.files import check_output_dir
from twin.core.run import default_registry


class ExperimentCommands:
    """Experiment configs for ``twin run`` / ``twin validate``, and ``twin report``."""

    name = "experiments"

    def accepts(self, data: dict[str, Any]) -> bool:
        return is_experiment(data) or search_kind(data) is not None

    def add_run_options(self, run: argparse.ArgumentParser) -> list[str]:
        """Add the batch options to ``twin run``; return their ``dest`` names."""
        batch = run.add_argument_group("experiments")
        options = [
            batch.add_argument(
                "--executor", choices=("inprocess", "process", "dask"), help="default: the config's"
            ),
            batch.add_argument(
                "--workers", type=count, help="worker processes (default: all cores)"
            ),
            batch.add_argument("--scheduler", help="address of a running Dask scheduler"),
            batch.add_argument(
                "--force-new", action="store_true", help="discard the results in --out, start over"
            ),
            batch.add_argument("--retry-failed", action="store_true", help="run failed runs again"),
        ]
        return [option.dest for option in options]

    def add_commands(self, commands: Any) -> None:
        """Add ``twin report``, ``twin optimize`` and ``twin calibrate``."""
        report = commands.add_parser("report", help="(re)write the report of an experiment")
        report.add_argument("directory", help="results directory of 'twin run' on an experiment")
        report.set_defaults(handler=_report)
        optimize = commands.add_parser(
            "optimize", help="search parameters for the best KPI under constraints (Optuna)"
        )
        optimize.add_argument("config", help="optimisation config (TOML)")
        _add_search_options(optimize)
        optimize.set_defaults(handler=_optimize)
        calibrate = commands.add_parser(
            "calibrate", help="fit scenario parameters to observed KPIs or time series"
        )
        calibrate.add_argument("config", help="calibration config (TOML)")
        calibrate.add_argument(
            "--data", required=True, help="observed data (parquet: name, value[, time_s])"
        )
        _add_search_options(calibrate)
        calibrate.set_defaults(handler=_calibrate)

    def validate(self, path: str, data: dict[str, Any]) -> str:
        kind = search_kind(data)
        if kind is not None:
            return _validate_search(kind, path, data)
        experiment = parse_experiment(data, path)
        check_experiment(experiment, path)
        arms = ", ".join(arm.name for arm in experiment.arms)
        return (
            f"experiment {experiment.name!r}: {len(experiment.scenarios)} scenario(s), arms {arms}"
        )

    def run(self, args: argparse.Namespace, data: dict[str, Any]) -> int:
        kind = search_kind(data)
        if kind is not None:
            raise UserError(
                f"{args.config}: is a config for 'twin {kind}'; run: twin {kind} {args.config}"
            )
        config = parse_experiment(data, args.config)
        if args.seed is not None:
            config = config.model_copy(update={"seed": args.seed})
        if args.decision_timeout_s is not None:
            executor = config.executor.model_copy(
                update={"decision_timeout_s": args.decision_timeout_s}
            )
            config = config.model_copy(update={"executor": executor})
        # Checked before any work: a batch may run for hours before first writing.
        if args.scheduler is not None:
            check_scheduler_address(args.scheduler)
        out = Path(args.out) if args.out else Path("results") / Path(args.config).stem
        check_output_dir(out)
        results = run_experiment(
            config,
            out,
            executor=args.executor,
            workers=args.workers,
            scheduler=args.scheduler,
            force_new=args.force_new,
            retry_failed=args.retry_failed,
            progress=not args.quiet and sys.stderr.isatty(),
            source=args.config,
        )
        return _print_results(results)


def search_kind(data: dict[str, Any]) -> str | None:
    """``"optimize"`` or ``"calibrate"`` for a search config (parameters and an objective
    or targets), else None."""
    if "parameters" not in data or "arms" in data:
        return None
    if "objective" in data:
        return "optimize"
    if "targets" in data:
        return "calibrate"
    return None


def _validate_search(kind: str, path: str, data: dict[str, Any]) -> str:
    # Imported here: Optuna takes a second to import, which no other command needs.
    from experiments.search.checks import check_calibrate, check_optimize
    from experiments.search.config import parse_calibrate, parse_optimize

    registry = default_registry()
    if kind == "optimize":
        config = parse_optimize(data, path)
        direction = check_optimize(config, path, registry)
        goal = f"{direction} {config.objective.kpi}"
    else:
        calibration = parse_calibrate(data, path)
        check_calibrate(calibration, path, registry)
        config = calibration
        goal = "fit " + ", ".join(target.name for target in calibration.targets)
    return (
        f"{kind} {config.name!r}: {goal} over {', '.join(config.parameters)} "
        f"({config.search.trials} trials x {config.replications.count} replications)"
    )


def _add_search_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--out", help="results directory (default: results/<config stem>)")
    command.add_argument("--seed", type=seed, help="override the config's seed")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.add_argument(
        "--executor", choices=("inprocess", "process", "dask"), help="default: the config's"
    )
    command.add_argument("--workers", type=count, help="worker processes (default: all cores)")
    command.add_argument("--scheduler", help="address of a running Dask scheduler")
    command.add_argument(
        "--force-new", action="store_true", help="discard the study in --out, start over"
    )


def _search_out(args: argparse.Namespace) -> Path:
    """The results directory, checked before any work (with the scheduler address)."""
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)
    out = Path(args.out) if args.out else Path("results") / Path(args.config).stem
    check_output_dir(out)
    return out


def _optimize(args: argparse.Namespace) -> int:
    # Imported here: Optuna takes a second to import, which no other command needs.
    from experiments.search.config import parse_optimize
    from experiments.search.optimize import run_optimization

    config = parse_optimize(read_toml(args.config), args.config)
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
    results = run_optimization(
        config,
        _search_out(args),
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        force_new=args.force_new,
        progress=not args.quiet and sys.stderr.isatty(),
        source=args.config,
    )
    _print_search(results)
    return 0 if results.winner is not None else 1


def _calibrate(args: argparse.Namespace) -> int:
    from experiments.search.calibrate import read_observed, run_calibration
    from experiments.search.config import parse_calibrate

    config = parse_calibrate(read_toml(args.config), args.config)
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
    observed = read_observed(args.data)
    results = run_calibration(
        config,
        observed,
        _search_out(args),
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        force_new=args.force_new,
        progress=not args.quiet and sys.stderr.isatty(),
        source=args.config,
        data_source=args.data,
    )
    _print_search(results)
    return 0


def _print_search(results: Any) -> None:
    """A search's headline, then where its report and results are."""
    print(results.headline())
    if results.report is not None:
        print(f"\nreport: {results.report.resolve()}")
    print(f"results: {results.directory.resolve()}")


def _report(args: argparse.Namespace) -> int:
    return _print_results(summarize_directory(Path(args.directory)))


def _print_results(results: ExperimentResults) -> int:
    """The headline table and where the report is; exit 1 when runs did not finish ok."""
    runs = results.runs
    print(results.headline())
    if results.report is not None:
        print(f"\nreport: {results.report.html.resolve()}")
    print(f"results: {results.directory.resolve()}")
    not_ok = runs[runs["status"] != "ok"]
    if not_ok.empty:
        return 0
    shown = ", ".join(not_ok["run_id"].head(5)) + (", ..." if len(not_ok) > 5 else "")
    print(
        f"twin: {len(not_ok)} of {len(runs)} runs did not finish ok ({shown}); "
        "their errors are in runs.parquet and the report",
        file=sys.stderr,
    )
    return 1
