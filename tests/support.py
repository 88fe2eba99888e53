"""Helpers several test packages share: an example installed as a user would have it,
and `twin viz` served for a browser test (:func:`viz.served.served`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from viz.served import served

__all__ = ["install_example", "run_example_tests", "served", "twin", "twin_in_process"]


def install_example(example: Path, target: Path) -> dict[str, str]:
    """Install ``example`` (without dependencies: twin is here) into ``target``, and the
    environment that puts it on the path, as a user's CI would have it."""
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip, "--target", str(target), str(example)],
        check=True,
        capture_output=True,
    )
    return {**os.environ, "PYTHONPATH": str(target)}


def run_example_tests(
    example: Path, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The example's own test suite, run as its user would, where it is installed."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example / "tests")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def twin(env: dict[str, str], cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``twin ARGUMENTS`` in ``cwd`` with ``env`` (an installed example on the path)."""
    return subprocess.run(
        [sys.executable, "-m", "twin", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def twin_in_process(capsys: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``twin ARGS`` in this process (faster than a child, for the many bad-input
    cases): the exit code, stdout and stderr."""
    from twin.cli import main

    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse exits by itself
        code = exit_.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)
