"""A run that changes policy while it runs, takes corrections, and forks into what-if
branches at any time.

SimPy processes are generators and cannot be copied, so a running world is forked in one
of two ways, with bit-identical results:

* ``"process"`` (Linux, macOS): ``os.fork()``; the child is the world at ``t``, copied on
  write by the operating system, and runs its branch to the end. Cost: a fork.
* ``"replay"`` (anywhere): the world is built again from its config and seed and its log
  (policy changes and corrections, each at the time it happened) is replayed to ``t``.
  Cost: simulating ``[0, t)`` again.

Both rest on one fact, checked by the tests for every domain: a world is a pure function
of its config, its seed and its log, and stopping it between events changes nothing.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Literal, cast

from twin.core.policy import Policy, PolicyContext, PolicySwitch
from twin.core.registry import Registry
from twin.core.run import (
    PreparedRun,
    RunResult,
    default_registry,
    prepare_run,
    resolve_policy,
)
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S

ForkMethod = Literal["auto", "process", "replay"]


@dataclass(frozen=True)
class LogEntry:
    """Something that happened to a live run from outside, at ``at_s``: a policy change
    (``kind="policy"``: ``policy``, ``params``) or a correction of its state from
    measurements (``kind="correction"``: ``payload``, the domain's JSON)."""

    at_s: float
    kind: Literal["policy", "correction"]
    policy: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "policy":
            return {
                "at_s": self.at_s,
                "kind": "policy",
                "policy": self.policy,
                "params": dict(self.params),
            }
        return {"at_s": self.at_s, "kind": "correction", "payload": dict(self.payload)}


@dataclass(frozen=True)
class Branch:
    """One what-if branch.

    Attributes:
        name: how reports call it.
        policy: the policy it switches to (id or ``package.module:Class``); ``None``
            keeps the current one.
        params: that policy's parameters.
        future: ``None``: the same random future as every other branch (common random
            numbers); an int ``k``: the ``k``-th other possible future, shared by every
            branch with the same ``k`` (so branches are paired replication by replication).
        record_until_s: record the decisions the branch makes before this time (the plan
            a live twin would recommend); ``None`` records none.
    """

    name: str
    policy: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    future: int | None = None
    record_until_s: float | None = None


@dataclass(frozen=True)
class Decision:
    """One decision a branch's policy made: who it was about, when, what it answered."""

    entity: str
    at_s: float
    action: Any


@dataclass(frozen=True)
class BranchResult:
    """What one branch produced: its run's result and the decisions it recorded."""

    branch: Branch
    result: RunResult
    decisions: tuple[Decision, ...] = ()
    wall_s: float = 0.0


class BranchError(RuntimeError):
    """A branch failed; the message carries the branch's own error."""


class LiveRun:
    """A run whose policy can change and whose state can be corrected while it runs,
    and which forks into branches.

    Args:
        config: the scenario config.
        policy: the policy it starts with (id, ``package.module:Class`` or instance).
        seed: root seed.
        policy_params: parameters of ``policy`` when given by id.
        registry: where ids are looked up.
        source: the config's file, for error messages.
        decision_timeout_s: wall seconds a policy may take for one decision
            (:mod:`twin.core.watchdog`); None: no limit.
        report_failures: a policy that raises ends the run with one
            :class:`~twin.core.errors.RunFailure` line (``twin run --from``); otherwise
            the exception propagates as raised.
    """

    def __init__(
        self,
        config: ScenarioConfig,
        policy: Policy[Any, Any] | str,
        seed: int,
        *,
        policy_params: Mapping[str, Any] | None = None,
        registry: Registry | None = None,
        source: str = "<config>",
        decision_timeout_s: float | None = DEFAULT_DECISION_TIMEOUT_S,
        report_failures: bool = False,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.config = config
        self.seed = seed
        self.source = source
        self.decision_timeout_s = decision_timeout_s
        self.report_failures = report_failures
        first = resolve_policy(policy, dict(policy_params or {}), self.registry, source)
        self.switch = PolicySwitch(first)
        self.prepared: PreparedRun = prepare_run(
            config,
            cast("Policy[Any, Any]", self.switch),
            seed,
            registry=self.registry,
            source=source,
        )
        self.world.add_policy(first)
        self.log: list[LogEntry] = [
            LogEntry(0.0, "policy", policy=_reference(policy, first), params=_params_of(first))
        ]
        self._started = time.perf_counter()

    # -- the run ---------------------------------------------------------------------

    @property
    def world(self) -> Any:
        return self.prepared.world

    @property
    def now_s(self) -> float:
        return float(self.prepared.world.now_s)

    @property
    def horizon_s(self) -> float:
        return float(self.config.horizon_s)

    def advance(self, until_s: float) -> None:
        """Run on to ``until_s`` (at most the horizon)."""
        if until_s > self.horizon_s:
            raise ValueError(f"cannot run past the horizon {self.horizon_s} s (asked {until_s} s)")
        with self.prepared.watched(self.decision_timeout_s, report_failures=self.report_failures):
            self.world.advance(until_s, self.config.warmup_s)

    def finish(self, until_s: float | None = None) -> RunResult:
        """Run to ``until_s`` (the horizon by default), end the run there and return its
        result; the manifest carries the log, and where the run stopped if not at the
        horizon."""
        end_s = self.horizon_s if until_s is None else until_s
        self.advance(end_s)
        self.world.finish()
        result = self.prepared.result(wall_s=time.perf_counter() - self._started)
        result.manifest["live_log"] = [entry.to_json() for entry in self.log]
        if end_s < self.horizon_s:
            result.manifest["stopped_at_s"] = end_s
        return result

    def switch_policy(
        self, policy: str | Policy[Any, Any], params: Mapping[str, Any] | None = None
    ) -> None:
        """Answer every decision from now on with ``policy`` (logged, so it replays)."""
        new = resolve_policy(policy, dict(params or {}), self.registry, self.source)
        context = PolicyContext(
            scenario_id=self.prepared.scenario.id,
            rng=self.world.streams[f"policy.{new.id}"],
            info=self.prepared.scenario.policy_info(),
        )
        self.switch.switch(new, context, self.world)
        self.world.add_policy(new)  # watched inside the switch: a failure names it
        self.log.append(
            LogEntry(self.now_s, "policy", policy=_reference(policy, new), params=_params_of(new))
        )

    def correct(self, payload: Mapping[str, Any]) -> None:
        """Put the domain's correction (its ``LiveInterface.correct`` JSON) into the world
        now (logged, so it replays)."""
        domain = self.registry.domain(self.prepared.scenario.domain)
        if domain.live is None:
            raise ValueError(f"domain {domain.name!r} declares no live interface")
        domain.live().correct(domain.model_of(self.world), dict(payload))
        self.log.append(LogEntry(self.now_s, "correction", payload=dict(payload)))

    def state_digest(self) -> str:
        """A hash of where every random stream stands and of the ledger now."""
        ledger = self.world.ledger
        return f"{self.world.streams.state_digest()}:{ledger.cost()!r}:{ledger.energy_kwh()!r}"

    # -- replay ----------------------------------------------------------------------

    @classmethod
    def replay(
        cls,
        config: ScenarioConfig,
        seed: int,
        log: Sequence[LogEntry],
        until_s: float,
        *,
        registry: Registry | None = None,
        source: str = "<config>",
        decision_timeout_s: float | None = DEFAULT_DECISION_TIMEOUT_S,
        report_failures: bool = False,
    ) -> LiveRun:
        """The run that ``config``, ``seed`` and ``log`` describe, advanced to ``until_s``:
        each entry applied at its time, in the order it was logged (the last two
        arguments as the constructor's)."""
        if not log or log[0].kind != "policy" or log[0].at_s != 0.0:
            raise ValueError("a live run's log starts with its policy at 0 s")
        first = log[0]
        run = cls(
            config,
            first.policy,
            seed,
            policy_params=first.params,
            registry=registry,
            source=source,
            decision_timeout_s=decision_timeout_s,
            report_failures=report_failures,
        )
        for entry in log[1:]:
            if entry.at_s > until_s:
                break
            run.advance(entry.at_s)
            if entry.kind == "policy":
                run.switch_policy(entry.policy, entry.params)
            else:
                run.correct(entry.payload)
        run.advance(until_s)
        return run

    # -- branches --------------------------------------------------------------------

    def fork(
        self,
        branches: Sequence[Branch],
        until_s: float | None = None,
        *,
        method: ForkMethod = "auto",
        jobs: int | None = None,
    ) -> list[BranchResult]:
        """Run each branch from now to ``until_s`` (the horizon by default); this run is
        left exactly where it was. Results come in the order of ``branches``.

        Args:
            branches: what each branch does differently.
            until_s: where every branch stops; its KPIs are those of the run up to there.
            method: ``"process"`` (copy-on-write fork), ``"replay"``, or ``"auto"``
                (process where the OS forks).
            jobs: branches run at once with ``"process"`` (default: the CPU count).
        """
        end_s = self.horizon_s if until_s is None else until_s
        if not self.now_s <= end_s <= self.horizon_s:
            raise ValueError(
                f"branches run from now ({self.now_s} s) to at most the horizon, got {end_s} s"
            )
        chosen = fork_method(method)
        if chosen == "replay":
            return [self._replayed(branch, end_s) for branch in branches]
        return self._forked(branches, end_s, jobs or os.cpu_count() or 1)

    def run_branch(self, branch: Branch, until_s: float) -> BranchResult:
        """Turn THIS run into ``branch`` and run it to ``until_s`` (what a forked child or a
        replayed copy does)."""
        started = time.perf_counter()
        if branch.future is not None:
            self.world.streams.diverge(branch.future)
        if branch.policy is not None:
            self.switch_policy(branch.policy, branch.params)
        recorder = None
        if branch.record_until_s is not None:
            recorder = _DecisionRecorder(self, branch.record_until_s)
        result = self.finish(until_s)
        decisions = tuple(recorder.decisions) if recorder else ()
        return BranchResult(branch, result, decisions, time.perf_counter() - started)

    def _replayed(self, branch: Branch, until_s: float) -> BranchResult:
        copy = LiveRun.replay(
            self.config,
            self.seed,
            self.log,
            self.now_s,
            registry=self.registry,
            source=self.source,
            decision_timeout_s=self.decision_timeout_s,
            report_failures=self.report_failures,
        )
        return copy.run_branch(branch, until_s)

    def _forked(self, branches: Sequence[Branch], until_s: float, jobs: int) -> list[BranchResult]:
        results: list[BranchResult | None] = [None] * len(branches)
        running: list[tuple[int, int, int]] = []  # (index, pid, read end)
        pending = list(enumerate(branches))
        sys.stdout.flush()
        sys.stderr.flush()
        while pending or running:
            while pending and len(running) < jobs:
                index, branch = pending.pop(0)
                running.append((index, *self._spawn(branch, until_s)))
            index, pid, read_end = running.pop(0)
            results[index] = _collect(pid, read_end, branches[index])
        return [result for result in results if result is not None]

    def _spawn(self, branch: Branch, until_s: float) -> tuple[int, int]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: becomes the branch, reports, and leaves without cleanup
            os.close(read_end)
            code = 0
            try:
                payload = pickle.dumps(("ok", self.run_branch(branch, until_s)))
            except BaseException as error:
                code = 1
                detail = "".join(traceback.format_exception(error))
                payload = pickle.dumps(("error", f"{type(error).__name__}: {error}", detail))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            os._exit(code)
        os.close(write_end)
        return pid, read_end


def fork_method(method: ForkMethod) -> Literal["process", "replay"]:
    """The fork method ``method`` means on this OS."""
    if method == "auto":
        return "process" if hasattr(os, "fork") and sys.platform != "win32" else "replay"
    if method == "process" and not hasattr(os, "fork"):
        raise ValueError("this OS cannot fork a process; use method='replay'")
    return method


def _collect(pid: int, read_end: int, branch: Branch) -> BranchResult:
    # Read everything before waiting: a child blocks on a full pipe until it is read.
    with os.fdopen(read_end, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    if not data:
        raise BranchError(f"branch {branch.name!r} died without a result")
    # The bytes come from our own forked child through a pipe only it could write.
    outcome = pickle.loads(data)  # noqa: S301
    if outcome[0] != "ok":
        raise BranchError(f"branch {branch.name!r} failed: {outcome[1]}\n{outcome[2]}")
    result: BranchResult = outcome[1]
    return result


class _DecisionRecorder(PolicySwitch):
    """Stands in front of a run's current policy and keeps what it decides before
    ``until_s``, named by the entity each decision is about."""

    def __init__(self, run: LiveRun, until_s: float) -> None:
        super().__init__(run.switch.policy)
        self.run = run
        self.until_s = until_s
        self.decisions: list[Decision] = []
        area_name = run.prepared.scenario.domain
        domain = run.registry.domain(area_name)
        area = next((a for a in domain.areas if a.name == area_name), domain.areas[0])
        self._entity_of: Callable[[Any], str] = area.entity_of
        run.switch.policy = cast("Policy[Any, Any]", self)

    def act(self, obs: Any) -> Any:
        action = self.policy.act(obs)
        now_s = self.run.now_s
        if now_s < self.until_s:
            self.decisions.append(Decision(self._entity_of(obs), now_s, jsonable(action)))
        return action


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: named tuples and dataclasses as objects, NaN as None."""
    if hasattr(value, "_asdict"):
        return {key: jsonable(item) for key, item in value._asdict().items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {key: jsonable(item) for key, item in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item())
    return value


def _reference(given: str | Policy[Any, Any], policy: Policy[Any, Any]) -> str:
    """What the log keeps to find ``policy`` again on replay: the reference it was given
    by (an installed id, or a ``package.module:Class`` that no registry lists), else
    its id."""
    return given if isinstance(given, str) else policy.id


def _params_of(policy: Policy[Any, Any]) -> dict[str, Any]:
    params = getattr(policy, "params", None)
    dump = getattr(params, "model_dump", None)
    return dict(dump(mode="json")) if callable(dump) else {}
