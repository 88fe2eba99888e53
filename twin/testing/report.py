"""What a check found, and how it reads when it fails."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twin.core.registry import replay_command
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S


@dataclass(frozen=True)
class Finding:
    """One property, whether it held, and what to look at when it did not."""

    check: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class CheckReport:
    """The findings of one checker call, printable as a table."""

    subject: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(finding.passed for finding in self.findings)

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if not finding.passed)

    def __str__(self) -> str:
        lines = [self.subject]
        for finding in self.findings:
            mark = "ok  " if finding.passed else "FAIL"
            lines.append(f"  {mark} {finding.check}")
            if finding.detail:
                lines.extend(f"         {line}" for line in finding.detail.splitlines())
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


class CheckFailed(AssertionError):
    """A property of a policy or scenario does not hold; the message is the whole report."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__(str(report))
        self.report = report


def reproduce_command(
    config: ScenarioConfig,
    policy: str | None,
    seed: int,
    policy_params: dict[str, Any] | None = None,
    decision_timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> str:
    """The one ``twin run`` command that replays a run exactly (with the checker's
    decision timeout, where it is not twin's default)."""
    args = ["twin", "run", "--scenario", config.id]
    if config.params:
        args += ["--params", json.dumps(config.params, separators=(",", ":"), default=str)]
    if policy is not None:
        args += ["--policy", policy]
        if policy_params:
            args += ["--policy-params", json.dumps(policy_params, separators=(",", ":"))]
    args += ["--horizon-s", _number(config.horizon_s)]
    if config.warmup_s:
        args += ["--warmup-s", _number(config.warmup_s)]
    args += ["--tick-s", _number(config.tick_s), "--seed", str(seed)]
    if decision_timeout_s != DEFAULT_DECISION_TIMEOUT_S:
        args += ["--decision-timeout-s", _number(decision_timeout_s)]
    return replay_command(args)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def describe(value: Any, limit: int = 600) -> str:
    """``repr(value)``, shortened to ``limit`` characters for a report line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
