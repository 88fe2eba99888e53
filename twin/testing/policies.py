"""``check_policy``: the properties every policy must have, whoever wrote it.

Modelled on Gymnasium's ``check_env`` and PettingZoo's ``seed_test``: the policy is fed
the domain's edge cases and hypothesis-generated observations, then run in a short
scenario, and a report says which properties held.
"""

from __future__ import annotations

import contextlib
import random  # only to disturb and restore the global state (seed_test); never drawn from
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from pydantic import BaseModel

from twin.core.policy import BindsModel, InvalidActionError, Policy, PolicyContext
from twin.core.run import (
    build_scenario,
    default_registry,
    prepare_run,
    resolve_policy,
    simulate,
)
from twin.core.streams import Streams
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S, DecisionTimeout, watching
from twin.testing.kits import PolicyKit, policy_kit, policy_reference
from twin.testing.report import CheckFailed, CheckReport, Finding, describe, reproduce_command
from twin.testing.snapshot import snapshot

SEQUENCE_LENGTH = 12
"""Most observations in one generated decision sequence (a stateful policy sees them in
order, between two resets)."""

REPEATS = 4
"""How many times over the reproducibility property feeds a sequence to the policy."""

VALID_ACTIONS = "valid actions on generated observations, no exception"
UNCHANGED = "leaves observations unchanged"
REPRODUCIBLE = "same seed, same actions (no global or hidden randomness)"


@dataclass(frozen=True)
class DecisionTimes:
    """Wall time of ``act`` per call over the generated observations, microseconds."""

    calls: int
    median_us: float
    p99_us: float
    max_us: float

    def __str__(self) -> str:
        return (
            f"decision time per call: median {self.median_us:.1f} us, p99 {self.p99_us:.1f} us, "
            f"max {self.max_us:.1f} us over {self.calls} calls"
        )


@dataclass(frozen=True)
class PolicyReport(CheckReport):
    """The findings of :func:`check_policy`, with the policy's decision times."""

    decision_times: DecisionTimes | None = None


class _Violation(AssertionError):
    """Raised inside a property so hypothesis shrinks to the smallest example."""


def check_policy(
    policy: Policy[Any, Any] | str,
    domain: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    kit: PolicyKit | None = None,
    max_examples: int = 100,
    seed: int = 0,
    run: bool = True,
    raise_on_failure: bool = True,
    decision_timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
    progress: bool | None = None,
) -> PolicyReport:
    """Check that a policy is safe to put in a twin.

    Properties: it answers every edge-case and generated observation of its domain
    without raising, with an action the domain accepts; it leaves the observations as it
    found them; the same seed gives the same actions even when the global ``random`` and
    ``numpy.random`` states differ (it draws only from ``context.rng``); and it runs
    through a short scenario, twice with the same KPIs. Decision time per call is
    reported.

    Args:
        policy: an instance, or a registered id / ``package.module:Class``.
        domain: the policy domain; ``policy.domain`` when omitted.
        params: the policy's params when ``policy`` is given by id.
        kit: how to test the decision area; every registered domain declares its own
            (``DecisionArea``), so this is only for a domain still being written.
        max_examples: generated observation sequences per property.
        seed: the root seed of the policy's random stream and of the runs.
        run: also run the policy in the kit's short scenario.
        raise_on_failure: raise :class:`CheckFailed` (an ``AssertionError``) with the
            report when a property fails, as a test wants; else just return the report.
        decision_timeout_s: wall seconds one answer may take; a policy that does not
            answer within it is a finding, and is not asked again by the properties.
        progress: print a line to stderr as each property is done (the short run may take
            minutes); ``None``: when stderr is a terminal.
    """
    instance = _instance(policy, params)
    domain = domain or instance.domain
    kit = kit or policy_kit(domain)
    policy_id = getattr(instance, "id", type(instance).__name__)
    reference = policy if isinstance(policy, str) else policy_reference(instance)
    config, main_policy = kit.run_config(reference)
    home = getattr(instance, "home_config", None)
    if isinstance(instance, BindsModel) and home is not None:
        config = home(config.horizon_s)  # the world it was made for
    info = kit.context_info() if kit.context_info else _scenario_info(config)
    context = _ContextFactory(config.id, f"policy.{policy_id}", seed, info)
    times: list[int] = []
    settings_ = settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    observations = kit.observations()
    cases: Sequence[Any] = kit.edge_cases()
    if isinstance(instance, BindsModel):
        # A policy bound to a world (a trained network reading its intersections' lanes)
        # answers that world's observations: the properties draw from a real run of it.
        cases = _observations_of_run(config, kit, main_policy, seed)
        observations = st.sampled_from(cases)
        prepare_run(config, instance, seed)  # binds it
    sequences = st.lists(observations, min_size=1, max_size=SEQUENCE_LENGTH)
    asked = _Answering(instance, policy_id, decision_timeout_s)
    kind = "recorded-run" if isinstance(instance, BindsModel) else "edge-case"
    # (property, its proof, skipped once the policy is stuck): the edge cases come first;
    # a policy stuck there would wait out the limit at every later answer.
    steps: list[tuple[str, Callable[[], Finding], bool]] = [
        ("", lambda: _edge_cases(asked, kit, context, policy_id, cases, kind), False),
        (
            VALID_ACTIONS,
            lambda: _valid_actions(asked, kit, context, policy_id, sequences, settings_, times),
            True,
        ),
        (UNCHANGED, lambda: _unchanged_observations(asked, context, sequences, settings_), True),
        (REPRODUCIBLE, lambda: _reproducible(asked, context, sequences, settings_), True),
    ]
    if run:
        steps.append(
            (
                "",
                lambda: _runs(instance, config, main_policy, reference, seed, decision_timeout_s),
                False,
            )
        )
    say = _progress(sys.stderr.isatty() if progress is None else progress, policy_id)
    findings: list[Finding] = []
    for number, (check, prove, skipped_when_stuck) in enumerate(steps, 1):
        if run and number == len(steps):
            say(f"running {config.id} for {config.horizon_s:g} simulated s, twice ...")
        started = time.perf_counter()
        if skipped_when_stuck and asked.stuck is not None:
            finding = Finding(check, False, f"not checked: {asked.stuck}")
        else:
            finding = prove()
            if skipped_when_stuck and asked.stuck is not None:
                # A property that met the timeout may have absorbed it (the
                # reproducibility property compares exceptions): the timeout is its finding.
                finding = Finding(check, False, asked.stuck)
        findings.append(finding)
        mark = "ok  " if finding.passed else "FAIL"
        say(f"{number}/{len(steps)} {mark} {finding.check} ({time.perf_counter() - started:.1f} s)")
    decision_times = _decision_times(times)
    report = PolicyReport(
        subject=f"check_policy {policy_id!r} (domain {domain!r}, seed {seed})",
        findings=tuple(findings),
        notes=(str(decision_times),) if decision_times else (),
        decision_times=decision_times,
    )
    if raise_on_failure and not report.ok:
        raise CheckFailed(report)
    return report


def _progress(on: bool, policy_id: str) -> Callable[[str], None]:
    def say(line: str) -> None:
        if on:
            print(f"check_policy {policy_id!r}: {line}", file=sys.stderr, flush=True)

    return say


class _Answering:
    """The checked policy, each answer watched: one that does not answer within the
    limit fails there and is not asked again (``stuck`` says why)."""

    def __init__(self, policy: Policy[Any, Any], policy_id: str, timeout_s: float) -> None:
        self.policy = policy
        self.id = policy_id
        self.domain = policy.domain
        self.timeout_s = timeout_s
        self.stuck: str | None = None

    def reset(self, context: PolicyContext) -> None:
        self.policy.reset(context)

    def act(self, obs: Any) -> Any:
        if self.stuck is not None:
            raise DecisionTimeoutError(self.stuck)
        try:
            with watching(self.id, self.timeout_s) as decisions:
                return decisions.ask(self.policy.act, obs)
        except DecisionTimeout:
            self.stuck = f"did not answer within {self.timeout_s:g} s on {describe(obs, 300)}"
            raise DecisionTimeoutError(self.stuck) from None


class DecisionTimeoutError(Exception):
    """What a property sees when the policy did not answer in time."""


RUN_OBSERVATIONS = 200
"""Observations recorded from a real run for a policy bound to a world."""


class _Recorder:
    """The area's baseline policy, keeping the first observations it is handed."""

    def __init__(self, policy: Policy[Any, Any]) -> None:
        self.policy = policy
        self.id = policy.id
        self.domain = policy.domain
        self.seen: list[Any] = []

    def reset(self, context: PolicyContext) -> None:
        self.policy.reset(context)

    def act(self, obs: Any) -> Any:
        if len(self.seen) < RUN_OBSERVATIONS:
            self.seen.append(obs)
        return self.policy.act(obs)


def _observations_of_run(
    config: Any, kit: PolicyKit, main_policy: str | None, seed: int
) -> list[Any]:
    """Observations of ``config``'s world, as the area's baseline policy meets them."""
    if main_policy is not None:
        raise ValueError("a policy bound to a world is checked in its scenario's main area")
    recorder = _Recorder(resolve_policy(kit.baseline, {}, default_registry(), "check_policy"))
    simulate(config, recorder, seed)  # type: ignore[arg-type]
    if not recorder.seen:
        raise ValueError(f"{config.id} made no decision of {kit.name!r} to check the policy on")
    return recorder.seen


def _instance(policy: Policy[Any, Any] | str, params: dict[str, Any] | None) -> Policy[Any, Any]:
    if isinstance(policy, str):
        return resolve_policy(policy, params or {}, default_registry(), source="check_policy")
    if params:
        raise ValueError("params go with a policy given by id; this one is already built")
    return policy


def _scenario_info(config: Any) -> dict[str, Any]:
    return build_scenario(config, default_registry(), source="check_policy").policy_info()


@dataclass(frozen=True)
class _ContextFactory:
    """A fresh context with the same seeded stream, as a run would give the policy."""

    scenario_id: str
    stream: str
    seed: int
    info: dict[str, Any]

    def __call__(self) -> PolicyContext:
        return PolicyContext(self.scenario_id, Streams(self.seed)[self.stream], dict(self.info))


def _edge_cases(
    policy: Policy[Any, Any],
    kit: PolicyKit,
    context: _ContextFactory,
    policy_id: str,
    cases: Sequence[Any],
    what: str = "edge-case",
) -> Finding:
    problems = []
    for obs in cases:
        try:
            policy.reset(context())
        except Exception as error:  # the finding, like an exception from act()
            problems.append(f"reset() raised {type(error).__name__}: {error} at {_where(error)}")
            break
        problem = _act_validly(policy, kit, obs, policy_id, times=None)
        if problem:
            problems.append(problem)
        if isinstance(policy, _Answering) and policy.stuck is not None:
            break  # not asked again
    detail = "\n".join(problems[:3])
    if len(problems) > 3:
        detail += f"\n... and {len(problems) - 3} more edge cases"
    return Finding(f"answers the {len(cases)} {what} observations", not problems, detail)


def _act_validly(
    policy: Policy[Any, Any], kit: PolicyKit, obs: Any, policy_id: str, times: list[int] | None
) -> str | None:
    """Why ``policy`` failed on ``obs``, or None when it answered a valid action."""
    started = time.perf_counter_ns()
    try:
        action = policy.act(obs)
    except DecisionTimeoutError as error:
        return str(error)
    except Exception as error:  # any exception is the finding
        return f"raised {type(error).__name__}: {error}\n  on {describe(obs)}\n  at {_where(error)}"
    if times is not None:
        times.append(time.perf_counter_ns() - started)
    try:
        kit.check_action(action, obs, policy_id)
    except InvalidActionError as error:
        return f"{error.reason}: returned {describe(action)}\n  on {describe(obs)}"
    return None


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"


def _valid_actions(
    policy: Policy[Any, Any],
    kit: PolicyKit,
    context: _ContextFactory,
    policy_id: str,
    sequences: st.SearchStrategy[list[Any]],
    settings_: settings,
    times: list[int],
) -> Finding:
    @settings_
    @given(sequences)
    def property_(observations: list[Any]) -> None:
        policy.reset(context())
        for obs in observations:
            problem = _act_validly(policy, kit, obs, policy_id, times)
            if problem:
                raise _Violation(problem)

    return _finding(VALID_ACTIONS, property_)


def _unchanged_observations(
    policy: Policy[Any, Any],
    context: _ContextFactory,
    sequences: st.SearchStrategy[list[Any]],
    settings_: settings,
) -> Finding:
    @settings_
    @given(sequences)
    def property_(observations: list[Any]) -> None:
        policy.reset(context())
        for obs in observations:
            before = snapshot(obs)
            with contextlib.suppress(Exception):  # exceptions are another property's finding
                policy.act(obs)
            if snapshot(obs) != before:
                raise _Violation(f"act() changed the observation it was given: {describe(obs)}")

    return _finding(UNCHANGED, property_)


def _reproducible(
    policy: Policy[Any, Any],
    context: _ContextFactory,
    sequences: st.SearchStrategy[list[Any]],
    settings_: settings,
) -> Finding:
    def actions(observations: list[Any], global_seed: int) -> Any:
        with _global_random_state(global_seed):
            policy.reset(context())
            answers = []
            # Each sequence is answered several times over, so that a rare draw from a
            # global generator shows up in a short sequence.
            for obs in observations * REPEATS:
                try:
                    answers.append(policy.act(obs))
                except Exception as error:  # reported by another property
                    answers.append(("raised", type(error).__name__))
            return snapshot(answers)

    @settings_
    @given(sequences)
    def property_(observations: list[Any]) -> None:
        first = actions(observations, 1)
        if any(actions(observations, 1) != first for _ in range(2)):
            cause = (
                "with the global random state unchanged: state survives reset() or it draws "
                "unseeded randomness; reset everything in reset() and draw only from context.rng"
            )
        elif any(actions(observations, g) != first for g in (2, 3)):
            cause = (
                "when only the global random state changed: it draws from random / "
                "numpy.random; draw from context.rng, the policy's own named stream, instead"
            )
        else:
            return
        raise _Violation(
            f"the same seed gave different actions on {len(observations)} observations "
            f"(answered {REPEATS} times over) {cause}\n"
            f"  first observation: {describe(observations[0])}"
        )

    return _finding(REPRODUCIBLE, property_)


@contextlib.contextmanager
def _global_random_state(global_seed: int) -> Iterator[None]:
    """Seed the global generators differently between two runs (PettingZoo's seed_test),
    and put them back afterwards so the caller's own randomness is untouched."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002 - the legacy global state is the target
    random.seed(global_seed)
    np.random.seed(global_seed)  # noqa: NPY002 - deliberately disturbed
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002


def _finding(check: str, property_: Any) -> Finding:
    try:
        property_()
    except _Violation as violation:
        return Finding(check, False, f"smallest failing example: {violation}")
    except Exception as error:  # reset() raising, say: a finding of the report, not an escape
        return Finding(check, False, f"raised {type(error).__name__}: {error} at {_where(error)}")
    except Flaky as flaky:
        # The same example failed once and passed when replayed: the policy's answers
        # change from call to call, which is a finding in itself.
        first = _first_violation(flaky)
        return Finding(
            check,
            False,
            "failed, then passed on the same observations when replayed: the answers "
            "depend on state kept between calls or on unseeded randomness\n"
            f"  first failure: {first}",
        )
    return Finding(check, True)


def _first_violation(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _first_violation(inner)
            if found:
                return found
        return ""
    return str(error) if isinstance(error, _Violation) else ""


def _runs(
    policy: Policy[Any, Any],
    config: Any,
    main_policy: str | None,
    reference: str,
    seed: int,
    decision_timeout_s: float,
) -> Finding:
    check = f"runs in {config.id} for {config.horizon_s:g} s, twice alike"
    runner: Policy[Any, Any] | str = main_policy if main_policy is not None else policy
    params = policy.params if main_policy is None else None
    policy_params = params.model_dump(mode="json") if isinstance(params, BaseModel) else None
    command = reproduce_command(
        config, main_policy or reference, seed, policy_params, decision_timeout_s
    )
    kpis = []
    for global_seed in (1, 2):
        with _global_random_state(global_seed):
            try:
                result = simulate(
                    config,
                    runner,
                    seed,
                    source="check_policy",
                    decision_timeout_s=decision_timeout_s,
                )
            except Exception as error:  # the failure is the finding
                detail = f"raised {type(error).__name__}: {error}\n  reproduce: {command}"
                return Finding(check, False, detail)
        kpis.append({name: snapshot(kpi.value) for name, kpi in result.kpis.items()})
    if kpis[0] != kpis[1]:
        differ = sorted(name for name in kpis[0] if kpis[0][name] != kpis[1].get(name))
        detail = (
            f"two runs with seed {seed} differ in {', '.join(differ[:6])}: the actions depend "
            "on more than the seed and the observations (global random state, unseeded "
            f"randomness, or state that survives reset())\n  reproduce: {command}"
        )
        return Finding(check, False, detail)
    return Finding(check, True)


def _decision_times(times: list[int]) -> DecisionTimes | None:
    if not times:
        return None
    micro = np.asarray(times, dtype=float) / 1e3
    return DecisionTimes(
        calls=len(times),
        median_us=float(np.median(micro)),
        p99_us=float(np.quantile(micro, 0.99)),
        max_us=float(micro.max()),
    )
