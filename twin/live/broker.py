"""A local MQTT broker (Debian's or Homebrew's ``mosquitto``) run as a child process, for
tests, demos and a shadow session on one machine.

It listens on 127.0.0.1 only and allows anonymous clients: nothing off the machine can
reach it, so it needs neither passwords nor TLS.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from twin.core.errors import UserError

HOST = "127.0.0.1"
# Debian installs the broker in /usr/sbin, which is not on a normal user's PATH;
# Homebrew puts it in its own sbin.
_KNOWN_PATHS = ("/usr/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto", "/usr/local/sbin/mosquitto")
_MISSING = (
    "mosquitto not found: install it (Debian: apt-get install mosquitto; macOS: brew install "
    "mosquitto)"
)


def find_mosquitto() -> str:
    """The path of the ``mosquitto`` binary; UserError when it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for path in _KNOWN_PATHS:
        if Path(path).is_file():
            return path
    raise UserError(_MISSING)


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick for 127.0.0.1:0).

    Another process may take it before the broker binds it; a start then fails with the
    broker's own log line, which says so.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class Broker:
    """A mosquitto child process listening on 127.0.0.1.

    Args:
        port: the port to listen on; a free one when None.
        start_timeout_s: how long to wait for the port to accept connections.
        binary: the mosquitto binary; found on PATH or its usual places when None.

    Use as a context manager (``with Broker() as broker: ...``); leaving the block stops
    the process and deletes its config and log. (:meth:`start` and :meth:`stop` alone
    leave them in the temporary directory.) The broker stays in its parent's process
    group, so a Ctrl-C reaches it too; a parent killed with SIGKILL leaves it running.
    """

    def __init__(
        self, port: int | None = None, *, start_timeout_s: float = 10.0, binary: str | None = None
    ) -> None:
        self._binary = binary or find_mosquitto()
        self._port = port if port is not None else free_port()
        self._start_timeout_s = start_timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="twin-mosquitto-"))
        self._config = self._dir / "mosquitto.conf"
        self._log = self._dir / "mosquitto.log"
        self._config.write_text(
            f"listener {self._port} {HOST}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self._port}"

    @property
    def pid(self) -> int | None:
        """The running broker's process id; None when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        """The broker's log (its stderr), appended to across restarts."""
        return self._log

    def start(self) -> None:
        """Start the broker and wait until its port accepts connections."""
        if self._process is not None:
            return
        # Checked first: the wait below would otherwise take another broker's port for ours.
        if _accepts(self._port):
            raise UserError(f"cannot start mosquitto: port {self._port} on {HOST} is in use")
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 (our own config, no shell)
                [self._binary, "-c", str(self._config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self._start_timeout_s
        while True:
            if self._process.poll() is not None:
                self._process = None
                raise UserError(f"mosquitto exited at start on port {self._port}: {self._tail()}")
            if _accepts(self._port):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise UserError(
                    f"mosquitto did not listen on {HOST}:{self._port} within "
                    f"{self._start_timeout_s:g} s: {self._tail()}"
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the broker: terminate, then kill if it has not exited after 5 s."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop, then start again on the same port (clients see a dropped connection)."""
        self.stop()
        self.start()

    def _tail(self, lines: int = 5) -> str:
        try:
            text = self._log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def __enter__(self) -> Broker:
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
