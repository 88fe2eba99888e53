"""Helpers several test packages share: an example installed as a user would have it,
and `twin viz` served for a browser test."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


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


@contextlib.contextmanager
def served(arguments: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """``twin viz ... --port 0`` running until the block ends; yields its URL once the
    app answers. The server is stopped however the block ends."""
    command = [sys.executable, "-m", "twin", "viz", *arguments, "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", first)
        assert match, f"twin viz printed {first!r}"
        url = match.group(1)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the app did not answer within 90 s"
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
