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
