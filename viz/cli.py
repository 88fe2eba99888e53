"""``twin viz``: watch a run, plugged into the ``twin`` command through ``twin.commands``.

``twin viz CONFIG_OR_SCENARIO_ID`` serves the browser app (:mod:`viz.app`) on
localhost; ``--record out.gif|out.mp4`` renders a run (or two arms on the same seed,
``--compare``) headless instead. An arm is a policy with its params: a run config's
policy, ``--policy``/``--compare`` with ``--policy-params``/``--compare-params``, or an
experiment config's arm by name (``--arm all-ai --compare baseline``), watched on the
seed the experiment's replication 0 ran with. The library never imports this module:
``twin.cli`` finds it by its entry point.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.core.arguments import count, json_object, positive, seed
from twin.core.config import parse_run_config, read_toml
from twin.core.errors import ConfigError, UserError
from twin.core.scenario import ScenarioConfig

if TYPE_CHECKING:
    from viz.controller import AppTarget
    from viz.session import Session

COMMAND_LINE = "<command line>"
DEFAULT_FRAMES = 60
DEFAULT_PORT = 8765
LOCALHOST = "127.0.0.1"


class VizCommands:
    """Adds ``twin viz``; owns no kind of config of its own."""

    name = "viz"

    def accepts(self, data: dict[str, Any]) -> bool:
        return False

    def add_run_options(self, run: argparse.ArgumentParser) -> list[str]:
        return []

    def add_commands(self, commands: Any) -> None:
        viz = commands.add_parser(
            "viz", help="watch a run in the browser, or render it into a GIF or MP4 (--record)"
        )
        viz.add_argument(
            "target",
            metavar="CONFIG_OR_SCENARIO_ID",
            help="run config or id; with --shadow, a `twin shadow` session directory",
        )
        viz.add_argument(
            "--shadow",
            action="store_true",
            help="show a `twin shadow` session (the twin against the measurements, the "
            "branches' forecasts), redrawn while it runs",
        )
        viz.add_argument("--policy", metavar="ID", help="policy (default: config's/scenario's)")
        viz.add_argument(
            "--policy-params", metavar="JSON", type=json_object, help="--policy's params (JSON)"
        )
        viz.add_argument(
            "--compare",
            metavar="ID|ARM",
            help="second arm, same seed, lock-step: a policy id, or an experiment's arm name",
        )
        viz.add_argument(
            "--compare-params", metavar="JSON", type=json_object, help="--compare's params (JSON)"
        )
        viz.add_argument(
            "--arm",
            metavar="NAME",
            help="with an experiment config: the arm to watch (default: its baseline)",
        )
        viz.add_argument(
            "--scenario",
            metavar="NAME",
            help="with an experiment config: its scenario (label or id; default: the first)",
        )
        viz.add_argument(
            "--seed",
            type=seed,
            help="root seed (default: config's, or 0; an experiment's: its replication 0's)",
        )
        viz.add_argument(
            "--record", metavar="OUT.gif|OUT.mp4", help="render headless into this file"
        )
        viz.add_argument(
            "--select",
            metavar="ENTITY",
            help="with --record: emphasise an entity as the page does when it is clicked "
            "(a region's truck:dc0.1: its route through the city, its place on the network)",
        )
        viz.add_argument(
            "--port", type=_port, default=DEFAULT_PORT, help=f"0: any free one; {DEFAULT_PORT}"
        )
        viz.add_argument(
            "--host", default=LOCALHOST, help=f"address to serve on (default {LOCALHOST})"
        )
        viz.add_argument("--every", type=count, default=1, help="display ticks between frames")
        viz.add_argument(
            "--frames", type=count, default=DEFAULT_FRAMES, help=f"default {DEFAULT_FRAMES}"
        )
        viz.add_argument(
            "--tick-s",
            type=positive,
            help="simulated seconds per display tick (default: the domain's display tick)",
        )
        viz.add_argument(
            "--debug",
            action="store_true",
            help="a recording whose policy fails prints the traceback too",
        )
        viz.set_defaults(handler=_viz)

    def validate(self, path: str, data: dict[str, Any]) -> str:  # pragma: no cover
        raise NotImplementedError

    def run(self, args: argparse.Namespace, data: dict[str, Any]) -> int:  # pragma: no cover
        raise NotImplementedError


def _viz(args: argparse.Namespace) -> int:
    if args.shadow:
        return _serve_shadow(args)
    if args.record is None:
        if args.select is not None:
            raise UserError("--select goes with --record; on the page, click the entity")
        return _serve(args)
    out = _check_out(Path(args.record))
    # Imported here: matplotlib and the engine load only when a run is drawn.
    from viz.record import record

    watched = _run_of(args)
    try:
        session = watched.session()
    except LookupError as error:
        raise UserError(f"{args.target}: {error.args[0]}") from None
    _say_chosen(watched)
    if args.select is not None:
        try:
            session.inspect(args.select)
        except ValueError as error:
            raise UserError(f"--select {args.select}: {error.args[0]}") from None
    try:
        written = record(session, out, frames=args.frames, every=args.every, selected=args.select)
    except OSError as error:  # unwritable directory, disk full: nothing was written
        raise UserError(f"--record {out}: cannot write ({error.strerror or error})") from None
    labels = ", ".join(arm.label for arm in session.arms)
    print(f"{out}: {written} frames, {session.now_s:g} s simulated ({labels})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Serve the browser app until Ctrl-C; everything is checked before it starts."""
    from viz.app import TARGET_ENV

    watched = _run_of(args)
    try:
        watched.session()  # one line if bad
    except LookupError as error:
        raise UserError(f"{args.target}: {error.args[0]}") from None
    port = _free_port(args.host, args.port)
    target = watched.app_target()
    config = watched.config
    environment = {
        **os.environ,
        TARGET_ENV: json.dumps(target.to_json()),
        # A local tool stays local: no usage reports, no version check over the network.
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",  # its badge covered the map
    }
    command = [
        *(sys.executable, "-m", "solara", "run", "viz.app"),
        *("--host", args.host, "--port", str(port), "--production", "--no-open"),
        *("--no-check-version", "--log-level", "warning"),
    ]
    if not _is_loopback(args.host):
        print(f"twin viz: serving on {args.host}: anyone who can reach it can run simulations")
    print(f"twin viz: {config.id} at http://{args.host}:{port}/ (Ctrl-C stops)", flush=True)
    _say_chosen(watched)  # after the address, which a script reads off the first line
    return _run_server(command, environment)


def _say_chosen(watched: Watched) -> None:
    if watched.chosen:
        print(f"twin viz: {watched.chosen}", flush=True)


def _serve_shadow(args: argparse.Namespace) -> int:
    """Serve the shadow page of a session directory until Ctrl-C."""
    from viz.shadow_app import SESSION_ENV

    directory = Path(args.target)
    if not directory.is_dir():
        raise UserError(f"{args.target}: not a directory; --shadow shows a `twin shadow` --out")
    options = ("policy", "policy_params", "compare", "compare_params", "arm", "scenario")
    for option in (*options, "seed", "record", "tick_s", "select"):
        if getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            raise UserError(f"{flag} does not go with --shadow, which shows a session")
    port = _free_port(args.host, args.port)
    environment = {
        **os.environ,
        SESSION_ENV: str(directory.resolve()),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_SHOW_BANNER": "False",  # its badge covered the map
    }
    command = [
        *(sys.executable, "-m", "solara", "run", "viz.shadow_app"),
        *("--host", args.host, "--port", str(port), "--production", "--no-open"),
        *("--no-check-version", "--log-level", "warning"),
    ]
    if not _is_loopback(args.host):
        print(f"twin viz: serving on {args.host}: anyone who can reach it can read the session")
    print(
        f"twin viz: shadow session {directory} at http://{args.host}:{port}/ (Ctrl-C stops)",
        flush=True,
    )
    return _run_server(command, environment)


def _run_server(command: list[str], environment: dict[str, str]) -> int:
    """Run the server until it exits, Ctrl-C or SIGTERM; it never outlives this process.

    Python's default SIGTERM ends this process at once and would leave the server child
    running (found by the browser test, which stops ``twin viz`` with SIGTERM): here
    SIGTERM is turned into an exit that stops the child first.
    """

    def _exit_on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    server = subprocess.Popen(command, env=environment)  # noqa: S603
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        signal.signal(signal.SIGTERM, previous)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535 (0: any free one), got {port}")
    return port


def _free_port(host: str, port: int) -> int:
    """``port`` if it can be bound on ``host`` (any free port for 0), else one line."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
            return int(probe.getsockname()[1])
    except OSError as error:
        raise UserError(
            f"--port {port}: cannot serve on {host} ({error.strerror or error}); "
            "choose another port, or --port 0 for any free one"
        ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_out(out: Path) -> Path:
    from viz.record import FORMATS

    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise UserError(
            f"--record {out}: unknown format {suffix or '(none)'!r}; use {' or '.join(FORMATS)}"
        )
    if out.is_dir():
        raise UserError(f"--record {out}: is a directory; give a file name ending in {suffix}")
    return out


def _display_tick_s(scenario_id: str) -> float:
    """Simulated seconds per display tick the scenario's domain starts its view with."""
    from twin.core.run import default_registry

    registry = default_registry()
    return registry.domain(registry.scenario(scenario_id).domain).clock.display_tick_s


@dataclass(frozen=True)
class WatchedArm:
    """One arm as the user chose it, and where: so that a bad policy or params is
    reported at the key the user wrote (``--compare-params.signals``,
    ``arms.1.params.signals``), not at a run config's ``policy.params``."""

    policy: str
    params: dict[str, Any] | None
    name: str | None
    source: str
    policy_key: str
    params_key: str


@dataclass(frozen=True)
class Watched:
    """What ``twin viz`` shows: a scenario config, one or two arms, a seed."""

    config: ScenarioConfig
    arms: list[WatchedArm]
    seed: int
    source: str
    chosen: str = ""
    """What was picked for the user (an experiment's scenario and seed), to say so."""

    def session(self) -> Session:
        """The arms checked one by one (one line naming the arm's key), then the session."""
        from viz.session import Session

        _check_arms(self.config, self.arms, self.source)
        return Session(
            self.config,
            [arm.policy for arm in self.arms],
            self.seed,
            [arm.params for arm in self.arms],
            source=self.source,
            names=[arm.name for arm in self.arms],
        )

    def app_target(self) -> AppTarget:
        from viz.controller import AppTarget

        first = self.arms[0]
        second = self.arms[1] if len(self.arms) > 1 else None
        return AppTarget(
            self.config,
            first.policy,
            self.seed,
            second.policy if second else None,
            first.params,
            self.source,
            compare_params=second.params if second else None,
            policy_name=first.name,
            compare_name=second.name if second else None,
        )


def _check_arms(config: ScenarioConfig, arms: list[WatchedArm], source: str) -> None:
    from twin.core.run import build_scenario, check_compatible, default_registry, resolve_policy

    registry = default_registry()
    policies = []
    for arm in arms:  # before the scenario is built: a typo is reported at once
        try:
            policies.append(resolve_policy(arm.policy, arm.params or {}, registry, arm.source))
        except ConfigError as error:
            raise _rekeyed(error, arm) from None
    scenario = build_scenario(config, registry, source)
    for arm, policy in zip(arms, policies, strict=True):
        try:
            check_compatible(scenario, policy, arm.source)
        except ConfigError as error:
            raise _rekeyed(error, arm) from None


def _rekeyed(error: ConfigError, arm: WatchedArm) -> ConfigError:
    key_path = error.key_path
    for old, new in (("policy.id", arm.policy_key), ("policy.params", arm.params_key)):
        if key_path == old or key_path.startswith(old + "."):
            key_path = new + key_path[len(old) :]
            break
    return ConfigError(arm.source, key_path, error.problem)


def _run_of(args: argparse.Namespace) -> Watched:
    """Scenario config, arms, seed and source of ``twin viz``'s target."""
    target: str = args.target
    data = read_toml(target) if target.endswith(".toml") or Path(target).is_file() else None
    if data is not None:
        from experiments.config import is_experiment

        if is_experiment(data):
            return _experiment_run(args, data)
    if args.policy_params is not None and args.policy is None:
        raise UserError("--policy-params needs --policy (the policy they are for)")
    if data is not None:
        _refuse_experiment_options(args, "a run config")
        run = parse_run_config(data, target)
        config = run.scenario
        if args.tick_s is not None:
            config = config.model_copy(update={"tick_s": args.tick_s})
        run_seed = args.seed if args.seed is not None else run.seed
        source = target
        if args.policy is None and run.policy is not None:
            first = WatchedArm(
                run.policy.id, run.policy.params or None, None, target, "policy.id", "policy.params"
            )
        else:
            first = _command_line_arm(args.policy, args.policy_params, config, target)
    else:
        _refuse_experiment_options(args, "a scenario id")
        # A bare id moves at its domain's display tick (a day a tick where sites review
        # daily), not at ScenarioConfig's 60 s, unless --tick-s says otherwise.
        tick_s = args.tick_s or _display_tick_s(target)
        horizon_s = max(args.frames - 1, 1) * args.every * tick_s
        config = ScenarioConfig(id=target, horizon_s=horizon_s, tick_s=tick_s)
        run_seed, source = args.seed or 0, COMMAND_LINE
        first = _command_line_arm(args.policy, args.policy_params, config, source)
    arms = [first]
    if args.compare is not None:
        params = args.compare_params
        arms.append(
            WatchedArm(args.compare, params, None, COMMAND_LINE, "--compare", "--compare-params")
        )
    elif args.compare_params is not None:
        raise UserError("--compare-params needs --compare (the policy they are for)")
    return Watched(config, arms, run_seed, source)


def _command_line_arm(
    policy: str | None, params: dict[str, Any] | None, config: ScenarioConfig, source: str
) -> WatchedArm:
    """The first arm as ``--policy``/``--policy-params`` give it; the scenario's default
    policy when ``--policy`` is not given."""
    if policy is None:
        from twin.core.run import build_scenario, default_registry

        policy = build_scenario(config, default_registry(), source).default_policy
    return WatchedArm(policy, params, None, COMMAND_LINE, "--policy", "--policy-params")


def _refuse_experiment_options(args: argparse.Namespace, what: str) -> None:
    for option in ("arm", "scenario"):
        if getattr(args, option) is not None:
            raise UserError(
                f"--{option} goes with an experiment config (one with [[arms]]), "
                f"not with {what}; choose its policies with --policy and --compare"
            )


def _experiment_run(args: argparse.Namespace, data: dict[str, Any]) -> Watched:
    """Two of an experiment's arms, by name, on its scenario (the first, or ``--scenario``)
    and its first design point, seeded as the batch runner seeds replication 0."""
    from experiments.config import parse_experiment
    from experiments.design import apply_point, design_points
    from twin.core.streams import replication_seed

    source: str = args.target
    for option in ("policy", "policy_params", "compare_params"):
        if getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            raise UserError(
                f"{source}: {flag} does not go with an experiment config; its arms are "
                "chosen by name: --arm NAME --compare NAME"
            )
    experiment = parse_experiment(data, source)
    entries = {entry.name: entry for entry in experiment.scenarios}
    entry = experiment.scenarios[0]
    if args.scenario is not None:
        by_id = [e for e in experiment.scenarios if e.id == args.scenario]
        if args.scenario in entries:
            entry = entries[args.scenario]
        elif len(by_id) == 1:  # its id, where a label names it in the results
            entry = by_id[0]
        else:
            raise UserError(
                f"--scenario {args.scenario}: not a scenario of {source}; "
                f"scenarios: {', '.join(entries)}"
            )
    point = design_points(experiment.design, experiment.seed)[0]
    config = apply_point(entry, point)
    if args.tick_s is not None:
        config = config.model_copy(update={"tick_s": args.tick_s})
    arms_by_name = {arm.name: (k, arm) for k, arm in enumerate(experiment.arms)}
    arms = []
    for flag, name in (("--arm", args.arm or experiment.baseline), ("--compare", args.compare)):
        if name is None:
            continue
        if name not in arms_by_name:
            raise UserError(
                f"{flag} {name}: not an arm of {source}; arms: {', '.join(arms_by_name)}"
            )
        k, arm = arms_by_name[name]
        arms.append(
            WatchedArm(
                arm.policy,
                arm.params or None,
                arm.name,
                source,
                f"arms.{k}.policy",
                f"arms.{k}.params",
            )
        )
    run_seed = args.seed if args.seed is not None else replication_seed(experiment.seed, 0)
    shown = f"scenario {entry.name}" + (f", design point 0 {point}" if point else "")
    seeded = "--seed" if args.seed is not None else "replication 0's"
    chosen = f"{source}: {shown}, seed {run_seed} ({seeded})"
    return Watched(config, arms, run_seed, source, chosen)
