"""Snapshot files: a running world written down so another process resumes it exactly.

SUMO's saveState writes the state itself; a twin snapshot writes what the state is a pure
function of: the scenario config, the seed, the log of policy changes and corrections up
to ``at_s``, and ``at_s``. Resuming replays that log (:meth:`LiveRun.replay`) and checks
the digest of where every random stream and the ledger stand, so a snapshot taken by
another version of twin is refused rather than resumed into a different run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twin.core.config import check_nesting, validation_error_to_config_error
from twin.core.errors import UserError
from twin.core.files import TooLargeError, read_capped
from twin.core.registry import Registry
from twin.core.run import git_commit, package_versions
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S
from twin.live.branches import LiveRun, LogEntry

SNAPSHOT_FORMAT = "twin-snapshot/1"


class SnapshotEntry(BaseModel):
    """One line of a snapshot's log (:class:`~twin.live.branches.LogEntry`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_s: float = Field(ge=0)
    kind: Literal["policy", "correction"]
    policy: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)


class Snapshot(BaseModel):
    """What a snapshot file holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["twin-snapshot/1"]
    scenario: ScenarioConfig
    seed: int = Field(ge=0)
    at_s: float = Field(ge=0)
    log: list[SnapshotEntry] = Field(min_length=1)
    digest: str
    written_by: dict[str, Any] = Field(default_factory=dict)

    def entries(self) -> list[LogEntry]:
        return [
            LogEntry(e.at_s, e.kind, policy=e.policy, params=e.params, payload=e.payload)
            for e in self.log
        ]


def snapshot_of(run: LiveRun) -> Snapshot:
    """The snapshot of ``run`` where it stands now."""
    return Snapshot(
        format="twin-snapshot/1",
        scenario=run.config,
        seed=run.seed,
        at_s=run.now_s,
        log=[SnapshotEntry(**entry.to_json()) for entry in run.log],
        digest=run.state_digest(),
        written_by={"versions": package_versions(), "git_commit": git_commit()},
    )


def write_snapshot(run: LiveRun, path: str | Path) -> Path:
    """Write ``run``'s snapshot to ``path`` atomically (a temporary file renamed over it)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot_of(run).model_dump(mode="json"), indent=2) + "\n"
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(staging, target)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return target


MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024
"""A snapshot is a config and its log of switches and corrections (about 200 bytes an
entry): a million entries fit many times over; /dev/zero or a stray disk image does not."""


def read_snapshot(path: str | Path) -> Snapshot:
    """The snapshot in ``path``; a user error (one line) when it is not one."""
    source = str(path)
    try:
        text = read_capped(path, MAX_SNAPSHOT_BYTES).decode("utf-8")
        check_nesting(text, source)
        data = json.loads(text)
    except FileNotFoundError:
        raise UserError(f"{source}: no such snapshot file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TooLargeError) as error:
        raise UserError(f"{source}: not a twin snapshot (JSON): {error}") from None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{source}: format: expected {SNAPSHOT_FORMAT!r}, found {found!r}")
    try:
        return Snapshot.model_validate(data)
    except ValidationError as error:
        raise validation_error_to_config_error(error, source, model=Snapshot) from None


def resume(
    snapshot: Snapshot,
    *,
    registry: Registry | None = None,
    source: str = "<snapshot>",
    decision_timeout_s: float | None = DEFAULT_DECISION_TIMEOUT_S,
    report_failures: bool = False,
) -> LiveRun:
    """The run ``snapshot`` describes, replayed to its time and checked against its
    digest; its decisions watched as :class:`LiveRun`'s."""
    run = LiveRun.replay(
        snapshot.scenario,
        snapshot.seed,
        snapshot.entries(),
        snapshot.at_s,
        registry=registry,
        source=source,
        decision_timeout_s=decision_timeout_s,
        report_failures=report_failures,
    )
    if run.state_digest() != snapshot.digest:
        raise UserError(
            f"{source}: digest: the replayed run differs from the one snapshotted "
            "(written by another twin version or edited); resume it with the version in "
            "'written_by'"
        )
    return run
