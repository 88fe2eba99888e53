"""The ``twin`` command: run, validate and list, and the commands of installed plug-ins.

``twin run`` takes a single-run config (a scenario, a policy, a seed). Other kinds of
config (experiments: scenarios x points x policy arms x replications) and their commands
(``twin report``) come from plug-ins registered in the entry-point group
``twin.commands`` (see :class:`ConfigKind`), so the library never imports the batch
runner that sits above it.

Exit codes: 0 success, 2 a user error (one line on stderr, nothing written),
3 a run that failed while simulating (one line with the command replaying it; the
traceback with ``--debug``),
1 a bug in twin or a plug-in (with its traceback) or runs of a batch that failed,
130 interrupted (a batch resumes where it stopped), 143 terminated (SIGTERM, e.g. by
``timeout``: cleaned up as after an interrupt, so no SUMO or worker it started outlives it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from twin.core.arguments import (
    EXIT_RUNTIME_ERROR,
    EXIT_USER_ERROR,
    OneLineParser,
    count,
    json_object,
    non_negative,
    policy_change,
    positive,
    seed,
)
from twin.core.config import RunConfig, load_run_config, parse_run_config, read_toml
from twin.core.errors import RunFailure, UserError
from twin.core.files import check_output_dir, current_umask
from twin.core.registry import replay_command
from twin.core.run import RunResult, build_scenario, default_registry, resolve_policy, simulate
from twin.core.termination import terminate_cleanly
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S

MANIFEST_NAME = "manifest.json"
COMMANDS_GROUP = "twin.commands"


class ConfigKind(Protocol):
    """A plug-in that handles another kind of config in ``twin run`` and ``twin validate``."""

    name: str

    def accepts(self, data: dict[str, Any]) -> bool:
        """Whether the parsed TOML ``data`` is a config of this kind."""

    def add_run_options(self, run: argparse.ArgumentParser) -> list[str]:
        """Add this kind's options to ``twin run``; return their ``dest`` names."""

    def add_commands(self, commands: Any) -> None:
        """Add this kind's own sub-commands (each sets ``handler``)."""

    def validate(self, path: str, data: dict[str, Any]) -> str:
        """Check the config completely; return what it is, for the ``ok`` line."""

    def run(self, args: argparse.Namespace, data: dict[str, Any]) -> int:
        """Run the config; return the exit code."""


def main(argv: Sequence[str] | None = None) -> int:
    kinds, broken = _load_kinds()
    parser = _build_parser(kinds, broken)
    args = parser.parse_args(argv)
    try:
        with terminate_cleanly():
            result: int = args.handler(args)
    except UserError as error:
        print(f"twin: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except RunFailure as error:
        return _report_failure(error, args, list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        print("twin: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which stopped reading: not an error of ours.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


def _report_failure(error: RunFailure, args: argparse.Namespace, argv: list[str]) -> int:
    """One line for a run that failed while simulating, with the command that replays
    it with the traceback; the traceback itself only with ``--debug``."""
    if getattr(args, "debug", False):
        print(error.details, end="", file=sys.stderr)
    replay = replay_command(["twin", *argv, *([] if "--debug" in argv else ["--debug"])])
    print(f"twin: {error}; replay: {replay}", file=sys.stderr)
    return EXIT_RUNTIME_ERROR


def _load_kinds() -> tuple[list[ConfigKind], dict[str, str]]:
    """The installed config-kind plug-ins, and why any of them failed to load."""
    kinds: list[ConfigKind] = []
    broken: dict[str, str] = {}
    for point in entry_points(group=COMMANDS_GROUP):
        try:
            kinds.append(point.load()())
        except Exception as error:  # a broken plug-in must not break single runs
            broken[point.name] = f"entry point {point.name!r} ({point.value}) failed: {error}"
    return kinds, broken


def _build_parser(kinds: list[ConfigKind], broken: dict[str, str]) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="twin", description="Digital-twin simulator: policies vs baselines."
    )
    parser.set_defaults(kinds=kinds, broken=broken, plugin_options=[])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = commands.add_parser("run", help="run a config (one run or an experiment)")
    run.add_argument("config", nargs="?", help="run or experiment config (TOML)")
    run.add_argument(
        "--out", help="results directory (default: results/<scenario>-seed<N> or <config name>)"
    )
    run.add_argument("--seed", type=seed, help="override the config's seed")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--debug", action="store_true", help="a run that fails prints its traceback too"
    )
    run.add_argument(
        "--decision-timeout-s",
        type=positive,
        metavar="SECONDS",
        help="wall seconds a policy may take for one decision before the run fails "
        f"(default: {DEFAULT_DECISION_TIMEOUT_S:g}; an experiment's [executor] decision_timeout_s)",
    )
    run.add_argument(
        "--from",
        dest="snapshot",
        metavar="SNAPSHOT",
        help="resume a snapshot (`twin snapshot`) to its horizon instead of a CONFIG",
    )
    inline = run.add_argument_group(
        "a single run without a config file (what twin.testing prints to reproduce a failure)"
    )
    inline.add_argument("--scenario", metavar="ID", help="scenario id instead of a CONFIG")
    inline.add_argument(
        "--params", metavar="JSON", type=json_object, help="the scenario's params, a JSON object"
    )
    inline.add_argument("--policy", metavar="REF", help="policy id or package.module:Class")
    inline.add_argument(
        "--policy-params", metavar="JSON", type=json_object, help="the policy's params (JSON)"
    )
    inline.add_argument(
        "--horizon-s",
        type=positive,
        help="simulated seconds (default: the scenario's own, e.g. a sumocfg's end - begin; "
        "else 1 day)",
    )
    inline.add_argument("--warmup-s", type=non_negative, help="warm-up, excluded from KPIs")
    inline.add_argument("--tick-s", type=positive, help="simulated seconds per view step")
    plugin_options = [dest for kind in kinds for dest in kind.add_run_options(run)]
    run.set_defaults(handler=_run, plugin_options=plugin_options)

    snapshot = commands.add_parser(
        "snapshot", help="run a config to a time and write a snapshot `twin run --from` resumes"
    )
    snapshot.add_argument("config", help="single-run config (TOML)")
    snapshot.add_argument("--at-s", type=non_negative, required=True, help="simulated seconds")
    snapshot.add_argument("--out", required=True, help="snapshot file to write (JSON)")
    snapshot.add_argument("--seed", type=seed, help="override the config's seed")
    snapshot.add_argument(
        "--switch",
        action="append",
        default=[],
        metavar="SECONDS=POLICY",
        type=policy_change,
        help="change to POLICY (id, default params) at SECONDS; repeatable",
    )
    snapshot.set_defaults(handler=_snapshot)

    shadow = commands.add_parser(
        "shadow", help="run a twin beside a real system (MQTT or a recording) and recommend"
    )
    shadow.add_argument("config", help="single-run config (TOML): the twin and its first policy")
    shadow.add_argument(
        "--source",
        required=True,
        help="mqtt://127.0.0.1:1883/<prefix> (readings on <prefix>/readings) or a recording dir",
    )
    shadow.add_argument("--out", required=True, help="session directory to write")
    shadow.add_argument(
        "--candidates", required=True, help="comma-separated policy ids the branches try"
    )
    shadow.add_argument("--kpi", default="cost_total", help="KPI to choose by (cost_total)")
    shadow.add_argument("--decision-period-s", type=positive, required=True)
    shadow.add_argument("--look-ahead-s", type=positive, required=True)
    shadow.add_argument("--correction-period-s", type=positive, help="default: at decisions")
    shadow.add_argument("--replications", type=count, default=4, help="futures per candidate")
    shadow.add_argument(
        "--idle-timeout-s", type=positive, default=30.0, help="end after this long without data"
    )
    shadow.set_defaults(handler=_shadow)

    validate = commands.add_parser("validate", help="check a config without running it")
    validate.add_argument("config", help="run or experiment config (TOML)")
    validate.set_defaults(handler=_validate)

    for kind in kinds:
        kind.add_commands(commands)

    listing = commands.add_parser("list", help="registered domains, scenarios and policies")
    listing.set_defaults(handler=_list)

    docs = commands.add_parser("docs", help="write a reference page per registered domain")
    docs.add_argument("--out", default="docs/domains", help="directory (default: docs/domains)")
    docs.set_defaults(handler=_docs)
    return parser


def _kind_of(args: argparse.Namespace, data: dict[str, Any]) -> ConfigKind | None:
    """The plug-in that handles ``data``; None for a single-run config."""
    return next((kind for kind in args.kinds if kind.accepts(data)), None)


def _resolve(config: RunConfig, source: str) -> RunConfig:
    """Check that a config's scenario, policy and their params all resolve."""
    registry = default_registry()
    scenario = build_scenario(config.scenario, registry, source=source)
    policy_ref = config.policy
    policy_id = policy_ref.id if policy_ref else scenario.default_policy
    params = policy_ref.params if policy_ref else {}
    resolve_policy(policy_id, params, registry, source=source)
    return config


INLINE_OPTIONS = ("params", "policy", "policy_params", "horizon_s", "warmup_s", "tick_s")
COMMAND_LINE = "<command line>"


def _inline_config(args: argparse.Namespace) -> RunConfig:
    """The run config that ``--scenario`` and its companion options describe."""
    scenario: dict[str, Any] = {"id": args.scenario, "horizon_s": args.horizon_s or 86_400.0}
    if args.params is not None:
        scenario["params"] = args.params
    if args.horizon_s is None:
        # The scenario's own inputs may say how long a run is (a SUMO config's window).
        probe = build_scenario(
            parse_run_config({"scenario": scenario}, COMMAND_LINE).scenario,
            default_registry(),
            COMMAND_LINE,
        )
        scenario["horizon_s"] = probe.default_horizon_s() or scenario["horizon_s"]
    if args.warmup_s is not None:
        scenario["warmup_s"] = args.warmup_s
    if args.tick_s is not None:
        scenario["tick_s"] = args.tick_s
    data: dict[str, Any] = {"scenario": scenario, "seed": args.seed or 0}
    if args.policy is not None:
        data["policy"] = {"id": args.policy}
        if args.policy_params is not None:
            data["policy"]["params"] = args.policy_params
    elif args.policy_params is not None:
        raise UserError("--policy-params needs --policy")
    return parse_run_config(data, COMMAND_LINE)


def _validate(args: argparse.Namespace) -> int:
    data = read_toml(args.config)
    kind = _kind_of(args, data)
    if kind is not None:
        print(f"{args.config}: ok ({kind.validate(args.config, data)})")
        return 0
    config = _resolve(load_run_config(args.config), args.config)
    policy = config.policy.id if config.policy else "(scenario default)"
    print(f"{args.config}: ok (scenario {config.scenario.id}, policy {policy})")
    return 0


def _run(args: argparse.Namespace) -> int:
    given_inline = [name for name in INLINE_OPTIONS if getattr(args, name) is not None]
    if args.snapshot is not None:
        return _resume(args, given_inline)
    if args.scenario is not None:
        if args.config is not None:
            raise UserError(f"{args.config}: give a CONFIG file or --scenario, not both")
        _refuse_plugin_options(args)
        source = COMMAND_LINE
        config = _resolve(_inline_config(args), source)
    elif args.config is None:
        raise UserError("twin run needs a CONFIG file, or --scenario ID for a single run")
    elif given_inline:
        flag = "--" + given_inline[0].replace("_", "-")
        raise UserError(f"{args.config}: {flag} goes with --scenario, not with a config file")
    else:
        data = read_toml(args.config)
        kind = _kind_of(args, data)
        if kind is not None:
            return kind.run(args, data)
        _refuse_plugin_options(args)
        source = args.config
        config = _resolve(load_run_config(args.config), source)
    seed = args.seed if args.seed is not None else config.seed
    policy_id = config.policy.id if config.policy else None
    scenario_cls = default_registry().scenario(config.scenario.id)
    out = (
        Path(args.out)
        if args.out
        else _default_out(config, policy_id or scenario_cls.default_policy, seed)
    )
    _check_out(out)
    result = simulate(
        config.scenario,
        policy_id or scenario_cls.default_policy,
        seed,
        policy_params=config.policy.params if config.policy else None,
        source=source,
        progress=None if args.quiet or not sys.stderr.isatty() else _show_progress,
        on_estimate=lambda wall_s: _check_estimate(wall_s, source),
        report_failures=True,
        decision_timeout_s=args.decision_timeout_s or DEFAULT_DECISION_TIMEOUT_S,
    )
    _write_atomically(result, out)
    print(_format_table(result, config, seed))
    print(f"\nresults: {out.resolve()}")
    return 0


def _single_run_config(path: str) -> RunConfig:
    """The single-run config in ``path`` (an experiment config is refused in one line)."""
    data = read_toml(path)
    kind = _kind_of_data(data)
    if kind is not None:
        raise UserError(f"{path}: is an experiment config; snapshots are of single runs")
    return _resolve(load_run_config(path), path)


def _kind_of_data(data: dict[str, Any]) -> ConfigKind | None:
    kinds, _ = _load_kinds()
    return next((kind for kind in kinds if kind.accepts(data)), None)


def _snapshot(args: argparse.Namespace) -> int:
    from twin.live.branches import LiveRun
    from twin.live.snapshot import write_snapshot

    config = _single_run_config(args.config)
    check_output_dir(Path(args.out), file=True)
    if args.at_s > config.scenario.horizon_s:
        raise UserError(
            f"--at-s: {args.at_s:g} s is past the horizon ({config.scenario.horizon_s:g} s)"
        )
    for at_s, _ in args.switch:
        if at_s > args.at_s:
            raise UserError(f"--switch: {at_s:g} s is after --at-s {args.at_s:g} s")
    scenario_cls = default_registry().scenario(config.scenario.id)
    run = LiveRun(
        config.scenario,
        config.policy.id if config.policy else scenario_cls.default_policy,
        args.seed if args.seed is not None else config.seed,
        policy_params=config.policy.params if config.policy else None,
        source=args.config,
        report_failures=True,
    )
    for at_s, policy in sorted(args.switch, key=lambda change: change[0]):
        run.advance(at_s)
        run.switch_policy(policy)
    run.advance(args.at_s)
    path = write_snapshot(run, args.out)
    print(
        f"snapshot of {config.scenario.id} at {run.now_s:g} s ({len(run.log)} log entries): {path}"
    )
    return 0


def _shadow(args: argparse.Namespace) -> int:
    from twin.live.branches import LiveRun
    from twin.live.session import run_session
    from twin.live.shadow import Shadow, ShadowOptions

    config = _single_run_config(args.config)
    registry = default_registry()
    candidates = tuple(c.strip() for c in args.candidates.split(",") if c.strip())
    area = registry.scenario(config.scenario.id).domain
    for candidate in candidates:
        policy = resolve_policy(candidate, {}, registry, source="--candidates")
        if policy.domain != area:
            raise UserError(
                f"--candidates: {candidate!r} acts in {policy.domain!r}, the scenario in {area!r}"
            )
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: exists and is not empty; choose another --out")
    run = LiveRun(
        config.scenario,
        config.policy.id if config.policy else registry.scenario(config.scenario.id).default_policy,
        config.seed,
        policy_params=config.policy.params if config.policy else None,
        source=args.config,
        report_failures=True,
    )
    options = ShadowOptions(
        candidates=candidates,
        kpi=args.kpi,
        decision_period_s=args.decision_period_s,
        look_ahead_s=args.look_ahead_s,
        correction_period_s=args.correction_period_s,
        replications=args.replications,
    )
    try:
        shadow = Shadow(run, options)
    except ValueError as error:
        raise UserError(f"{args.config}: {error}") from None
    summary = run_session(shadow, args.source, out, idle_timeout_s=args.idle_timeout_s)
    counts = ", ".join(f"{name} {number}" for name, number in summary["messages"].items() if number)
    print(f"shadow of {config.scenario.id}: twin at {summary['now_s']:g} s; messages: {counts}")
    print(
        f"alarms: {sum(summary['alarms'].values())}; recommendations: {summary['recommendations']}"
    )
    print(f"policy now: {summary['policy_now']}\nsession: {out.resolve()}")
    return 0


def _resume(args: argparse.Namespace, given_inline: list[str]) -> int:
    from twin.live.snapshot import read_snapshot, resume

    if args.config is not None or args.scenario is not None or given_inline:
        raise UserError(f"{args.snapshot}: --from resumes a snapshot; give no CONFIG or --scenario")
    if args.seed is not None:
        raise UserError(f"{args.snapshot}: --seed: a snapshot's seed is its own")
    _refuse_plugin_options(args)
    snapshot = read_snapshot(args.snapshot)
    config = RunConfig(scenario=snapshot.scenario, seed=snapshot.seed)
    first = snapshot.entries()[0].policy
    out = Path(args.out) if args.out else _default_out(config, first or "policy", snapshot.seed)
    _check_out(out)
    run = resume(
        snapshot,
        source=args.snapshot,
        decision_timeout_s=args.decision_timeout_s or DEFAULT_DECISION_TIMEOUT_S,
        report_failures=True,
    )
    result = run.finish()
    result.manifest["resumed_from"] = {"snapshot": str(args.snapshot), "at_s": snapshot.at_s}
    _write_atomically(result, out)
    print(_format_table(result, config, snapshot.seed))
    print(f"\nresults: {out.resolve()}")
    return 0


def _refuse_plugin_options(args: argparse.Namespace) -> None:
    """Options a plug-in added to ``twin run`` mean nothing for a single run."""
    for option in args.plugin_options:
        if getattr(args, option):
            flag = "--" + option.replace("_", "-")
            where = args.config or COMMAND_LINE
            raise UserError(f"{where}: {flag} applies to experiment configs only")


LONG_RUN_S = 3600.0
NEVER_ENDING_S = 30 * 86_400.0


def _check_estimate(wall_s: float, source: str) -> None:
    """Say up front that a run will take over an hour; refuse one that would take a month
    (a horizon or a rate far beyond the intended: it would look like a hang)."""
    if wall_s > NEVER_ENDING_S:
        took = (
            "would never end"
            if wall_s == float("inf")
            else f"would take {wall_s / 86_400:.3g} days"
        )
        raise UserError(
            f"{source}: scenario.horizon_s: this run {took} at the pace of its first half "
            "second; shorten it or lower the rates in scenario.params"
        )
    if wall_s > LONG_RUN_S:
        print(f"twin: this run will take about {wall_s / 3600:.1f} h of wall time", file=sys.stderr)


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


def _default_out(config: RunConfig, policy: str, seed: int) -> Path:
    """``results/<scenario>-<policy>-seed<N>``: a second policy's run on the same
    scenario and seed must not overwrite the first's."""
    name = f"{config.scenario.id}-{policy}-seed{seed}"
    return Path("results") / re.sub(r"[/:\\]", "-", name)


def _check_out(out: Path) -> None:
    """Refuse to overwrite a directory that is not a previous twin run, or a place no
    directory can be written."""
    check_output_dir(out)
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST_NAME).exists())
    ):
        raise UserError(f"{out}: exists and is not a twin results directory; choose another --out")
    manifest = out / MANIFEST_NAME
    try:
        kind = json.loads(manifest.read_text()).get("kind") if manifest.exists() else None
    except (OSError, ValueError, AttributeError):
        raise UserError(f"{out}: its {MANIFEST_NAME} is unreadable; choose another --out") from None
    if kind is not None:  # a single run's manifest has no kind; a plug-in's results do
        raise UserError(f"{out}: holds results of kind {kind!r}, not a run's; choose another --out")


def _write_atomically(result: RunResult, out: Path) -> None:
    """Write into a sibling temporary directory, then swap it in: never half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; results are not
        result.kpi_frame().to_parquet(staging / "kpis.parquet", index=False)
        # The README promises timeseries.parquet whenever the scenario asks for a time
        # series (sample_period_s), even one whose probes recorded nothing.
        if not result.timeseries.empty or result.manifest["scenario"].get("sample_period_s"):
            timeseries = result.timeseries
            if timeseries.columns.empty:
                timeseries = timeseries.reindex(columns=["time_s", "probe", "value"])
            timeseries.to_parquet(staging / "timeseries.parquet", index=False)
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
    """The KPIs, one a line with which way is better (the domain's word); the KPIs that
    are zero, and those with nothing to measure in this run (NaN: no route delays
    without routes), named on a line each rather than a column of zeros and NaNs."""
    policy = result.manifest["policy"]["id"]
    lines = [f"{config.scenario.id} | policy {policy} | seed {seed}", ""]
    better = _kpi_directions(config.scenario.id, list(result.kpis))
    zero = [name for name, kpi in result.kpis.items() if kpi.value == 0]
    undefined = [name for name, kpi in result.kpis.items() if math.isnan(kpi.value)]
    shown = {
        name: kpi for name, kpi in result.kpis.items() if name not in zero and name not in undefined
    }
    width = max((len(name) for name in shown), default=0)
    units = max((len(kpi.unit) for kpi in shown.values()), default=0)
    for name, kpi in shown.items():
        direction = f"{better[name]} is better" if better.get(name) else ""
        line = f"  {name:<{width}}  {kpi.value:>14.6g}  {kpi.unit:<{units}}  {direction}"
        lines.append(line.rstrip())
    for label, names in (("zero", zero), ("nothing to measure in this run", undefined)):
        if names:
            lines += textwrap.wrap(
                f"{label}: {', '.join(names)}", 100, initial_indent="  ", subsequent_indent="    "
            )
    return "\n".join(lines)


def _kpi_directions(scenario_id: str, kpis: list[str]) -> dict[str, str]:
    """KPI -> "lower" or "higher" from the scenario's domain; none for a domain that is
    not registered (a plug-in scenario on its own)."""
    registry = default_registry()
    try:
        domain = registry.domain(registry.scenario(scenario_id).domain)
    except UserError:
        return {}
    return {kpi: direction for kpi in kpis if (direction := domain.better(kpi))}


def _list(args: argparse.Namespace) -> int:
    registry = default_registry()
    print("domains:")
    for domain in registry.domains():
        areas = ", ".join(area.name for area in domain.areas)
        print(f"  {domain.name:<32} [{areas}] {domain.description}")
    print("scenarios:")
    for entry in registry.scenarios():
        print(f"  {entry.id:<32} {entry.description}")
    print("policies:")
    for entry in registry.policies():
        domain = getattr(entry.cls, "domain", "?")
        print(f"  {entry.id:<32} [{domain}] {entry.description}")
    for name, problem in sorted({**registry.broken, **args.broken}.items()):
        print(f"  {name:<32} BROKEN: {problem}")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from twin.reference import write_pages

    for path in write_pages(Path(args.out), default_registry()):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
