"""The ``twin`` command: run, validate, report and list.

``twin run`` takes a single-run config (a scenario, a policy, a seed) or an experiment
config (scenarios x points x policy arms x replications, see :mod:`experiments.config`).

Exit codes: 0 success, 2 a user error (one line on stderr, nothing written),
1 a bug in twin or a plug-in (with its traceback) or runs of a batch that failed,
130 interrupted (a batch resumes where it stopped).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from experiments.checks import check_experiment
from experiments.config import ExperimentConfig, is_experiment, parse_experiment
from experiments.runner import ExperimentResults, run_experiment, summarize_directory
from experiments.store import KIND as EXPERIMENT_KIND
from twin.core.arguments import EXIT_USER_ERROR, OneLineParser, count, seed
from twin.core.config import RunConfig, load_run_config, read_toml
from twin.core.errors import UserError
from twin.core.files import current_umask
from twin.core.run import RunResult, build_scenario, default_registry, resolve_policy, simulate

MANIFEST_NAME = "manifest.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except UserError as error:
        print(f"twin: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("twin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which stopped reading: not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


def _build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="twin", description="Digital-twin simulator: policies vs baselines."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = commands.add_parser("run", help="run a config (one run or an experiment)")
    run.add_argument("config", help="run or experiment config (TOML)")
    run.add_argument(
        "--out", help="results directory (default: results/<scenario>-seed<N> or <config name>)"
    )
    run.add_argument("--seed", type=seed, help="override the config's seed")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    batch = run.add_argument_group("experiments")
    batch.add_argument(
        "--executor", choices=("inprocess", "process", "dask"), help="default: the config's"
    )
    batch.add_argument("--workers", type=count, help="worker processes (default: all cores)")
    batch.add_argument("--scheduler", help="address of a running Dask scheduler")
    batch.add_argument(
        "--force-new", action="store_true", help="discard the results in --out, start over"
    )
    batch.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check a config without running it")
    validate.add_argument("config", help="run or experiment config (TOML)")
    validate.set_defaults(handler=_validate)

    report = commands.add_parser("report", help="(re)write the report of an experiment")
    report.add_argument("directory", help="results directory of 'twin run' on an experiment")
    report.set_defaults(handler=_report)

    listing = commands.add_parser("list", help="registered scenarios and policies")
    listing.set_defaults(handler=_list)
    return parser


def _resolve(path: str) -> RunConfig:
    """Load a config and check that its scenario, policy and their params all resolve."""
    config = load_run_config(path)
    registry = default_registry()
    scenario = build_scenario(config.scenario, registry, source=path)
    policy_ref = config.policy
    policy_id = policy_ref.id if policy_ref else scenario.default_policy
    params = policy_ref.params if policy_ref else {}
    resolve_policy(policy_id, params, registry, source=path)
    return config


def _validate(args: argparse.Namespace) -> int:
    data = read_toml(args.config)
    if is_experiment(data):
        experiment = parse_experiment(data, args.config)
        check_experiment(experiment, args.config)
        print(
            f"{args.config}: ok (experiment {experiment.name!r}: {len(experiment.scenarios)} "
            f"scenario(s), arms {', '.join(arm.name for arm in experiment.arms)})"
        )
        return 0
    config = _resolve(args.config)
    policy = config.policy.id if config.policy else "(scenario default)"
    print(f"{args.config}: ok (scenario {config.scenario.id}, policy {policy})")
    return 0


def _run(args: argparse.Namespace) -> int:
    data = read_toml(args.config)
    if is_experiment(data):
        return _run_experiment(args, parse_experiment(data, args.config))
    _refuse_batch_options(args)
    config = _resolve(args.config)
    seed = args.seed if args.seed is not None else config.seed
    out = Path(args.out) if args.out else _default_out(config, seed)
    _check_out(out)
    policy_id = config.policy.id if config.policy else None
    scenario_cls = default_registry().scenario(config.scenario.id)
    result = simulate(
        config.scenario,
        policy_id or scenario_cls.default_policy,
        seed,
        policy_params=config.policy.params if config.policy else None,
        source=args.config,
        progress=None if args.quiet or not sys.stderr.isatty() else _show_progress,
    )
    _write_atomically(result, out)
    print(_format_table(result, config, seed))
    print(f"\nresults: {out.resolve()}")
    return 0


def _refuse_batch_options(args: argparse.Namespace) -> None:
    for option in ("executor", "workers", "scheduler", "force_new", "retry_failed"):
        if getattr(args, option):
            flag = "--" + option.replace("_", "-")
            raise UserError(f"{args.config}: {flag} applies to experiment configs only")


def _run_experiment(args: argparse.Namespace, config: ExperimentConfig) -> int:
    if args.seed is not None:
        config = config.model_copy(update={"seed": args.seed})
    results = run_experiment(
        config,
        args.out or Path("results") / Path(args.config).stem,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        force_new=args.force_new,
        retry_failed=args.retry_failed,
        progress=not args.quiet and sys.stderr.isatty(),
        source=args.config,
    )
    return _print_experiment(results)


def _report(args: argparse.Namespace) -> int:
    return _print_experiment(summarize_directory(Path(args.directory)))


def _print_experiment(results: ExperimentResults) -> int:
    runs = results.runs
    print(results.headline())
    not_ok = runs[runs["status"] != "ok"]
    if results.report is not None:
        print(f"\nreport: {results.report.html.resolve()}")
    print(f"results: {results.directory.resolve()}")
    if not not_ok.empty:
        print(
            f"twin: {len(not_ok)} of {len(runs)} runs did not finish ok "
            f"({', '.join(not_ok['run_id'].head(5))}{', ...' if len(not_ok) > 5 else ''}); "
            "their errors are in runs.parquet and the report",
            file=sys.stderr,
        )
        return 1
    return 0


def _show_progress(fraction: float) -> None:
    width = 40
    filled = int(fraction * width)
    end = "\n" if fraction >= 1.0 else ""
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} simulated",
        end=end,
        file=sys.stderr,
        flush=True,
    )


def _default_out(config: RunConfig, seed: int) -> Path:
    return Path("results") / f"{config.scenario.id.replace('/', '-')}-seed{seed}"


def _check_out(out: Path) -> None:
    """Refuse to overwrite a directory that is not a previous twin run."""
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST_NAME).exists())
    ):
        raise UserError(f"{out}: exists and is not a twin results directory; choose another --out")
    manifest = out / MANIFEST_NAME
    if manifest.exists() and json.loads(manifest.read_text()).get("kind") == EXPERIMENT_KIND:
        raise UserError(f"{out}: holds an experiment's results; choose another --out")


def _write_atomically(result: RunResult, out: Path) -> None:
    """Write into a sibling temporary directory, then swap it in: never half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; results are not
        result.kpi_frame().to_parquet(staging / "kpis.parquet", index=False)
        if not result.timeseries.empty:
            result.timeseries.to_parquet(staging / "timeseries.parquet", index=False)
        (staging / MANIFEST_NAME).write_text(json.dumps(result.manifest, indent=2) + "\n")
        if out.exists():
            retired = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(retired)
            staging.rename(out)
            shutil.rmtree(retired)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _format_table(result: RunResult, config: RunConfig, seed: int) -> str:
    policy = result.manifest["policy"]["id"]
    lines = [f"{config.scenario.id} | policy {policy} | seed {seed}", ""]
    width = max(len(name) for name in result.kpis)
    for name, kpi in result.kpis.items():
        lines.append(f"  {name:<{width}}  {kpi.value:>14.6g}  {kpi.unit}")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    registry = default_registry()
    print("scenarios:")
    for entry in registry.scenarios():
        print(f"  {entry.id:<32} {entry.description}")
    print("policies:")
    for entry in registry.policies():
        domain = getattr(entry.cls, "domain", "?")
        print(f"  {entry.id:<32} [{domain}] {entry.description}")
    for name, problem in sorted(registry.broken.items()):
        print(f"  {name:<32} BROKEN: {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
