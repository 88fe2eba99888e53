"""Errors a user can fix: each renders as one line naming where and what is allowed."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input. The CLI prints ``str(error)`` and exits with 2."""


class ConfigError(UserError):
    """A config value that is malformed, unknown or out of range.

    Args:
        source: the file (or ``"<config>"`` when built in Python) the value came from.
        key_path: dotted path of the offending key, e.g. ``"scenario.servers"``.
        problem: what is wrong and what is allowed.
    """

    def __init__(self, source: str, key_path: str, problem: str) -> None:
        # The arguments, not the message, so that ``type(e)(*e.args)`` (as SimPy
        # re-raises a process's exception) rebuilds the same error.
        super().__init__(source, key_path, problem)
        self.source = source
        self.key_path = key_path
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.source}: {self.key_path}" if self.key_path else self.source
        return f"{where}: {self.problem}"


class RunFailure(Exception):
    """A run that failed while simulating: its policy raised, or the domain refused what
    the policy answered. The CLI prints ``str(error)`` and exits with 3.

    Args:
        policy: the policy's id.
        now_s: simulated time of the failure.
        observation: a short one-line form of the policy's last observation.
        problem: the exception, as ``Type: message``.
        details: the exception's traceback (shown with ``--debug``, kept in a batch).
    """

    def __init__(
        self, policy: str, now_s: float, observation: str, problem: str, details: str = ""
    ) -> None:
        super().__init__(policy, now_s, observation, problem, details)  # see ConfigError
        self.policy = policy
        self.now_s = now_s
        self.observation = observation
        self.problem = problem
        self.details = details

    def __str__(self) -> str:
        return (
            f"policy {self.policy!r} failed at t = {self.now_s:g} s: {self.problem}; "
            f"last observation: {self.observation}"
        )


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
