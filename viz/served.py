"""``twin viz`` in a child process on a free localhost port, for tests and benchmarks
that drive the app in a real browser."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

ANSWER_WITHIN_S = 90.0


@contextlib.contextmanager
def served(arguments: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """``twin viz ARGUMENTS --port 0`` running until the block ends; yields its URL once
    the app answers. The server is stopped however the block ends."""
    command = [sys.executable, "-m", "twin", "viz", *arguments, "--port", "0"]
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and command)
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", first)
        assert match, f"twin viz printed {first!r}"
        # Keep reading what the server prints: a full pipe would stop it mid-run.
        output: list[str] = []
        threading.Thread(target=output.extend, args=(process.stdout,), daemon=True).start()
        url = match.group(1)
        deadline = time.monotonic() + ANSWER_WITHIN_S
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):  # noqa: S310  (http://127.0.0.1)
                    break
            except OSError:
                assert process.poll() is None, "".join(output)
                assert time.monotonic() < deadline, "the app did not answer within 90 s"
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
