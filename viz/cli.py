"""``twin viz``: watch a run, plugged into the ``twin`` command through ``twin.commands``.

``twin viz CONFIG_OR_SCENARIO_ID`` serves the browser app (:mod:`viz.app`) on
localhost; ``--record out.gif|out.mp4`` renders a run (or two policies on the same seed,
``--compare``) headless instead. The library never imports this module: ``twin.cli``
finds it by its entry point.
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
from pathlib import Path
from typing import Any

from twin.core.arguments import count, positive, seed
from twin.core.config import load_run_config
from twin.core.errors import UserError
from twin.core.scenario import ScenarioConfig

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
        viz.add_argument("--compare", metavar="ID", help="second policy, same seed, lock-step")
        viz.add_argument("--seed", type=seed, help="root seed (default: config's, or 0)")
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
    from viz.session import Session

    config, policy, params, run_seed, source = _run_of(args)
    policies = [policy] + ([args.compare] if args.compare else [])
    try:
        session = Session(config, policies, run_seed, [params], source=source)
    except LookupError as error:
        raise UserError(f"{args.target}: {error.args[0]}") from None
    if args.select is not None:
        try:
            session.inspect(args.select)
        except ValueError as error:
            raise UserError(f"--select {args.select}: {error.args[0]}") from None
    try:
        written = record(session, out, frames=args.frames, every=args.every, selected=args.select)
    except OSError as error:  # unwritable directory, disk full: nothing was written
        raise UserError(f"--record {out}: cannot write ({error.strerror or error})") from None
    print(f"{out}: {written} frames, {session.now_s:g} s simulated ({', '.join(policies)})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Serve the browser app until Ctrl-C; everything is checked before it starts."""
    from viz.app import TARGET_ENV
    from viz.controller import AppTarget
    from viz.session import Session

    config, policy, params, run_seed, source = _run_of(args)
    policies = [policy] + ([args.compare] if args.compare else [])
    try:
        Session(config, policies, run_seed, [params], source=source)  # one line if bad
    except LookupError as error:
        raise UserError(f"{args.target}: {error.args[0]}") from None
    port = _free_port(args.host, args.port)
    target = AppTarget(config, policy, run_seed, args.compare, params, source)
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
    return _run_server(command, environment)


def _serve_shadow(args: argparse.Namespace) -> int:
    """Serve the shadow page of a session directory until Ctrl-C."""
    from viz.shadow_app import SESSION_ENV

    directory = Path(args.target)
    if not directory.is_dir():
        raise UserError(f"{args.target}: not a directory; --shadow shows a `twin shadow` --out")
    for option in ("policy", "compare", "seed", "record", "tick_s", "select"):
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


def _run_of(
    args: argparse.Namespace,
) -> tuple[ScenarioConfig, str, dict[str, Any] | None, int, str]:
    """Scenario config, policy, its params, seed and source of ``twin viz``'s target."""
    from twin.core.run import default_registry

    target: str = args.target
    if target.endswith(".toml") or Path(target).is_file():
        run = load_run_config(target)
        config = run.scenario
        if args.tick_s is not None:
            config = config.model_copy(update={"tick_s": args.tick_s})
        policy = args.policy or (run.policy.id if run.policy else None)
        params = run.policy.params if run.policy and not args.policy else None
        run_seed = args.seed if args.seed is not None else run.seed
        source = target
    else:
        # A bare id moves at its domain's display tick (a day a tick where sites review
        # daily), not at ScenarioConfig's 60 s, unless --tick-s says otherwise.
        tick_s = args.tick_s or _display_tick_s(target)
        horizon_s = max(args.frames - 1, 1) * args.every * tick_s
        config = ScenarioConfig(id=target, horizon_s=horizon_s, tick_s=tick_s)
        policy, params, run_seed, source = args.policy, None, args.seed or 0, COMMAND_LINE
    if policy is None:
        from twin.core.run import build_scenario

        policy = build_scenario(config, default_registry(), source).default_policy
    return config, policy, params, run_seed, source
