"""A SIGTERM unwinds a command as an exception does and takes the programs it started
with it, even one still being started (``twin.core.termination``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from twin.core.termination import EXIT_TERMINATED, run_to_completion


def test_a_program_runs_to_completion_with_its_output_and_exit_code():
    done = run_to_completion(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def _gone(pid: int, within_s: float = 10.0) -> bool:
    """The process has ended (a zombie not yet reaped by anyone counts as ended)."""
    status = Path(f"/proc/{pid}/status")
    deadline = time.monotonic() + within_s
    while status.exists() and time.monotonic() < deadline:
        if "zombie" in status.read_text().lower():
            return True
        time.sleep(0.05)
    return not status.exists()


def test_a_sigterm_while_the_program_starts_still_takes_it_down(tmp_path):
    """The signal arrives after the program started but before ``Popen`` returned: with
    ``subprocess.run`` the handler's exception would leave the program running (nobody
    holds it yet); here it is held until the program is, then raised, and the program
    killed."""
    script = tmp_path / "starts.py"
    script.write_text(
        "import os, signal, subprocess\n"
        "from twin.core import termination\n"
        "class SignalledWhileStarting(subprocess.Popen):\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        super().__init__(*args, **kwargs)\n"
        "        print(self.pid, flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGTERM)  # started, not yet returned\n"
        "termination.subprocess.Popen = SignalledWhileStarting\n"
        "with termination.terminate_cleanly():\n"
        "    termination.run_to_completion(['sleep', '60'], capture=False)\n"
    )
    command = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert command.stdout is not None
    child = int(command.stdout.readline())
    try:
        assert command.wait(timeout=30) == EXIT_TERMINATED
        assert _gone(child)
    finally:
        if not _gone(child, within_s=0.0):
            subprocess.run(["kill", "-9", str(child)], check=False)
