"""``twin viz``: watch a run, plugged into the ``twin`` command through ``twin.commands``.

``twin viz CONFIG_OR_SCENARIO_ID --record out.gif`` renders a run (or two policies on
the same seed, ``--compare``) headless into a GIF. The interactive browser app comes
with the ``viz`` extra; until it lands, ``twin viz`` without ``--record`` says so.
The library never imports this module: ``twin.cli`` finds it by its entry point.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from twin.core.arguments import EXIT_USER_ERROR, count, positive, seed
from twin.core.config import load_run_config
from twin.core.errors import UserError
from twin.core.scenario import ScenarioConfig

COMMAND_LINE = "<command line>"
DEFAULT_FRAMES = 60


class VizCommands:
    """Adds ``twin viz``; owns no kind of config of its own."""

    name = "viz"

    def accepts(self, data: dict[str, Any]) -> bool:
        return False

    def add_run_options(self, run: argparse.ArgumentParser) -> list[str]:
        return []

    def add_commands(self, commands: Any) -> None:
        viz = commands.add_parser("viz", help="watch a run: replay it into a GIF (--record)")
        viz.add_argument("target", metavar="CONFIG_OR_SCENARIO_ID", help="run config or id")
        viz.add_argument("--policy", metavar="ID", help="policy (default: config's/scenario's)")
        viz.add_argument("--compare", metavar="ID", help="second policy, same seed, lock-step")
        viz.add_argument("--seed", type=seed, help="root seed (default: config's, or 0)")
        viz.add_argument("--record", metavar="OUT.gif", help="render headless into this GIF")
        viz.add_argument("--every", type=count, default=1, help="display ticks between frames")
        viz.add_argument(
            "--frames", type=count, default=DEFAULT_FRAMES, help=f"default {DEFAULT_FRAMES}"
        )
        viz.add_argument("--tick-s", type=positive, help="simulated seconds per display tick")
        viz.set_defaults(handler=_viz)

    def validate(self, path: str, data: dict[str, Any]) -> str:  # pragma: no cover
        raise NotImplementedError

    def run(self, args: argparse.Namespace, data: dict[str, Any]) -> int:  # pragma: no cover
        raise NotImplementedError


def _viz(args: argparse.Namespace) -> int:
    if args.record is None:
        print(
            "twin: the interactive viz app needs the 'viz' extra, which is not available yet; "
            "use --record OUT.gif to render a run headless",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    out = _check_out(Path(args.record))
    # Imported here: matplotlib and the engine load only when a run is drawn.
    from viz.record import record_gif
    from viz.session import Session

    config, policy, params, run_seed, source = _run_of(args)
    policies = [policy] + ([args.compare] if args.compare else [])
    try:
        session = Session(config, policies, run_seed, [params], source=source)
    except LookupError as error:
        raise UserError(f"{args.target}: {error.args[0]}") from None
    try:
        written = record_gif(session, out, frames=args.frames, every=args.every)
    except OSError as error:  # unwritable directory, disk full: the GIF was not written
        raise UserError(f"--record {out}: cannot write ({error.strerror or error})") from None
    print(f"{out}: {written} frames, {session.now_s:g} s simulated ({', '.join(policies)})")
    return 0


def _check_out(out: Path) -> Path:
    suffix = out.suffix.lower()
    if suffix in (".mp4", ".webm", ".mkv", ".mov"):
        from viz.record import ffmpeg_available

        if not ffmpeg_available():
            raise UserError(
                f"--record {out}: {suffix} needs ffmpeg, which is not installed; use .gif"
            )
        raise UserError(f"--record {out}: video export is not implemented yet; use .gif")
    if suffix != ".gif":
        raise UserError(f"--record {out}: unknown format {suffix or '(none)'!r}; use OUT.gif")
    if out.is_dir():
        raise UserError(f"--record {out}: is a directory; give a file name ending in .gif")
    return out


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
        tick_s = args.tick_s or ScenarioConfig.model_fields["tick_s"].default
        horizon_s = max(args.frames - 1, 1) * args.every * tick_s
        config = ScenarioConfig(id=target, horizon_s=horizon_s, tick_s=tick_s)
        policy, params, run_seed, source = args.policy, None, args.seed or 0, COMMAND_LINE
    if policy is None:
        from twin.core.run import build_scenario

        policy = build_scenario(config, default_registry(), source).default_policy
    return config, policy, params, run_seed, source
