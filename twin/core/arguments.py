"""argparse value types shared by twin's commands, each failing with one clear line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from twin.core.errors import UserError

EXIT_USER_ERROR = 2
EXIT_RUNTIME_ERROR = 3  # the run started and failed: a policy raised, or its action was refused


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line with exit 2, like every user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def seed(text: str) -> int:
    """A root seed: an integer in [0, 2**63)."""
    value = _integer(text, "seed must be an integer")
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"seed must be in [0, 2**63), got {value}")
    return value


def count(text: str) -> int:
    """A whole number >= 1."""
    value = _integer(text, "expected a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def non_negative(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def policy_change(text: str) -> tuple[float, str]:
    """``SECONDS=POLICY``: a policy change at a simulated time."""
    at, sep, policy = text.partition("=")
    if not sep or not policy.strip():
        raise argparse.ArgumentTypeError(f"expected SECONDS=POLICY, got {text!r}")
    return non_negative(at), policy.strip()


def _integer(text: str, expected: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{expected}, got {text!r}") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def json_object(text: str) -> dict[str, Any]:
    """A JSON object given on the command line, e.g. ``'{"servers": 3}'``: at most
    ``MAX_INPUT_BYTES`` long and ``MAX_NESTING`` deep (checked before parsing), and
    without ``NaN`` or ``Infinity``, which JSON does not have but Python's parser takes."""
    from twin.core.config import MAX_INPUT_BYTES, MAX_NESTING, check_nesting
    from twin.core.errors import ConfigError

    if len(text) > MAX_INPUT_BYTES:
        raise argparse.ArgumentTypeError(f"longer than {MAX_INPUT_BYTES} characters")
    try:
        check_nesting(text, "JSON")
    except ConfigError:
        raise argparse.ArgumentTypeError(f"nested more than {MAX_NESTING} levels deep") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error})") from None
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object {{...}}, got {type(value).__name__}"
        )
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; every number must be finite")


def run_command(parser: argparse.ArgumentParser, argv: Sequence[str] | None, prog: str) -> int:
    """Parse ``argv`` and call the chosen sub-command's ``handler(args, argv)``: a user
    error is one line and exit 2, Ctrl-C exit 130 (what every twin command does)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    try:
        result: int = args.handler(args, arguments)
    except UserError as error:
        print(f"{prog} {args.command}: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return result
