"""SIGTERM as an exception, and programs started so that it takes them down too.

Python's default ends the process at a SIGTERM (``timeout``, a CI runner, ``kill``) at
once: a SUMO twin waits on keeps running, a cluster or a server is never closed.
:func:`terminate_cleanly` turns the signal into ``SystemExit(143)``, which unwinds the
command as any exception does. ``subprocess.run`` then kills the program it waits on,
except in one window: a SIGTERM while ``Popen`` is still returning (the program already
running) raises before ``run`` holds the process, and nobody kills it.
:func:`run_to_completion` closes that window: a SIGTERM while it starts the program is
held until the program is in its hands, then raised there, and the program killed.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

EXIT_TERMINATED = 128 + signal.SIGTERM


class _Held:
    """Whether a SIGTERM is to be held (a program is being started) or was."""

    starting = 0
    pending = False


def _terminate(signum: int, frame: object) -> None:
    if _Held.starting:
        _Held.pending = True
        return
    raise SystemExit(EXIT_TERMINATED)


@contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Within the block a SIGTERM raises ``SystemExit(143)`` (see the module's
    docstring). Only in the main thread, where handlers live."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_to_completion(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args, text=True)`` (output captured unless ``capture`` is
    false), except that a SIGTERM while the program starts is raised once the program is
    held, and kills it (see the module's docstring)."""
    pipe = subprocess.PIPE if capture else None
    _Held.starting += 1
    try:
        # Our own programs' arguments, a list without a shell.
        process = subprocess.Popen(args, stdout=pipe, stderr=pipe, text=True, env=env)  # noqa: S603
    except BaseException:
        _Held.starting -= 1
        if _Held.pending and not _Held.starting:  # the SIGTERM held while it failed
            _Held.pending = False
            raise SystemExit(EXIT_TERMINATED) from None
        raise
    with process:
        try:
            _Held.starting -= 1  # from here a SIGTERM raises inside this try
            if _Held.pending and not _Held.starting:
                _Held.pending = False
                raise SystemExit(EXIT_TERMINATED)
            stdout, stderr = process.communicate()
        except BaseException:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
