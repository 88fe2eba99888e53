"""``twin sumo-compare``: the traffic domain's command, plugged into ``twin`` through the
``twin.commands`` entry point (the generic CLI names no domain)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from twin.core.arguments import seed


class TrafficCommands:
    """Adds ``twin sumo-compare``; owns no kind of config of its own."""

    name = "traffic"

    def accepts(self, data: dict[str, Any]) -> bool:
        return False

    def add_run_options(self, run: argparse.ArgumentParser) -> list[str]:
        return []

    def add_commands(self, commands: Any) -> None:
        compare = commands.add_parser(
            "sumo-compare",
            help="run SUMO and twin on the same .sumocfg and print both simulators' KPIs",
        )
        compare.add_argument("sumocfg", metavar="CITY.sumocfg", help="a SUMO run config")
        compare.add_argument("--seed", type=seed, default=0, help="seed of both (default 0)")
        compare.add_argument(
            "--policy",
            default=None,
            help="twin's signal policy (default signals/fixed-time-v0: SUMO's programmes)",
        )
        compare.add_argument("--json", action="store_true", help="print JSON for scripts")
        compare.add_argument(
            "--check",
            action="store_true",
            help="exit 1 when a KPI lies outside its validation band",
        )
        compare.add_argument("--keep", type=Path, help="keep SUMO's output files here")
        compare.set_defaults(handler=_sumo_compare)

    def validate(self, path: str, data: dict[str, Any]) -> str:  # pragma: no cover
        raise NotImplementedError

    def run(self, args: argparse.Namespace, data: dict[str, Any]) -> int:  # pragma: no cover
        raise NotImplementedError


def _sumo_compare(args: argparse.Namespace) -> int:
    from twin.traffic.compare import DEFAULT_POLICY, compare, format_json

    # What the readers skip (output-only elements, persons) is said in one line each,
    # before the result or the error, not as Python's two-line warning with a source line.
    with warnings.catch_warnings(record=True) as caught:
        try:
            result = compare(
                args.sumocfg, seed=args.seed, policy=args.policy or DEFAULT_POLICY, keep=args.keep
            )
        finally:
            for warning in caught:
                print(f"twin: warning: {warning.message}", file=sys.stderr)
    print(format_json(result) if args.json else result.table())
    return 1 if args.check and result.outside_bands() else 0
