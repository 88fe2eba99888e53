"""``check_scenario``: a scenario's invariants hold while generated variants of it run."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import simpy
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from pydantic import BaseModel

from twin.core.policy import Policy
from twin.core.run import PreparedRun, default_registry, prepare_run, resolve_policy
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S, DecisionTimeout
from twin.testing.kits import ScenarioKit, policy_reference, scenario_kit
from twin.testing.report import CheckFailed, CheckReport, Finding, reproduce_command
from twin.testing.snapshot import snapshot

SEEDS = st.integers(0, 2**32 - 1)
"""Root seeds a generated run may get (hypothesis shrinks a failing one towards 0)."""


class _Broken(Exception):
    """Stops a run at the first broken invariant."""


def check_scenario(
    scenario_id: str,
    policy: Policy[Any, Any] | str | None = None,
    *,
    params: dict[str, Any] | None = None,
    kit: ScenarioKit | None = None,
    max_examples: int = 10,
    horizon_s: float | None = None,
    raise_on_failure: bool = True,
    decision_timeout_s: float = DEFAULT_DECISION_TIMEOUT_S,
) -> CheckReport:
    """Check a scenario's invariants under a policy on generated variants and seeds.

    Every generated run is watched: at each ``kit.check_period_s`` and at its end the
    domain's invariants must hold (conservation, capacities, non-negative stock, no
    conflicting greens...) and the clock must not go back. The same seed must give the
    same KPIs twice. A failure names the smallest variant and seed hypothesis found and
    the ``twin run`` command that replays it.

    Args:
        scenario_id: a registered scenario id or ``package.module:Class``.
        policy: the policy to run (instance or id); the scenario's default when omitted.
        params: the policy's params when ``policy`` is given by id.
        kit: what to vary and check; by default the scenario's registered domain says
            (its invariants and ``ScenarioChecks``; a day at default params when the
            domain lists no checks for the scenario).
        max_examples: generated runs.
        horizon_s: simulated seconds per run; the kit's short horizon when omitted.
        raise_on_failure: raise :class:`CheckFailed` with the report when a check fails.
        decision_timeout_s: wall seconds the policy may take for one decision; a run in
            which it does not answer within it is a finding, and no further run is made.
    """
    scenario_cls = default_registry().scenario(scenario_id)
    kit = kit or scenario_kit(scenario_cls.id, scenario_cls.domain)
    horizon = horizon_s or kit.horizon_s
    chosen = policy if policy is not None else scenario_cls.default_policy
    instance = resolve_policy(chosen, params or {}, default_registry(), source="check_scenario")
    reference = chosen if isinstance(chosen, str) else policy_reference(instance)
    policy_params = (
        instance.params.model_dump(mode="json")
        if isinstance(getattr(instance, "params", None), BaseModel)
        else None
    )

    def config(scenario_params: dict[str, Any]) -> ScenarioConfig:
        return ScenarioConfig(id=scenario_id, params=scenario_params, horizon_s=horizon)

    def command(scenario_params: dict[str, Any], seed: int) -> str:
        return reproduce_command(
            config(scenario_params), reference, seed, policy_params, decision_timeout_s
        )

    failure: list[str] = []
    timed_out: list[str] = []

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(kit.params(), SEEDS)
    def invariants_hold(scenario_params: dict[str, Any], seed: int) -> None:
        if timed_out:
            # Every further run would wait out the limit again (and shrinking makes many):
            # the first timeout is the finding; hypothesis shrinks through instant failures.
            raise AssertionError(timed_out[0])
        problem = _watch(config(scenario_params), instance, seed, kit, decision_timeout_s)
        if isinstance(problem, DecisionTimeout):
            timed_out.append(
                f"{problem}\n  scenario: params {json.dumps(scenario_params, default=str)}, "
                f"seed {seed}\n  reproduce: {command(scenario_params, seed)}"
            )
            raise AssertionError(str(problem))
        if problem is not None:
            # Hypothesis replays the smallest failing example last: that is the one kept.
            failure[:] = [
                f"{problem}\n  smallest failing scenario: params "
                f"{json.dumps(scenario_params, default=str)}, seed {seed}\n"
                f"  reproduce: {command(scenario_params, seed)}"
            ]
            raise AssertionError(problem)

    invariants = f"invariants hold through {max_examples} generated runs of {horizon:g} s"
    try:
        invariants_hold()
    except (AssertionError, Flaky):
        detail = failure[0] if failure else "failed once, then passed when replayed"
        findings = [Finding(invariants, False, timed_out[0] if timed_out else detail)]
    else:
        findings = [Finding(invariants, True)]
    if timed_out:
        findings.append(Finding(SAME_KPIS, False, "not checked: a run above did not finish"))
        return _reported(scenario_id, instance, findings, raise_on_failure)
    # The kit's simplest variant (hypothesis's first example) with seed 0, run twice.
    simplest: list[dict[str, Any]] = []

    @settings(max_examples=1, database=None, derandomize=True, phases=[Phase.generate])
    @given(kit.params())
    def first_example(scenario_params: dict[str, Any]) -> None:
        simplest.append(scenario_params)

    first_example()
    findings.append(
        _same_seed_same_kpis(
            config(simplest[0]), instance, command(simplest[0], 0), decision_timeout_s
        )
    )
    return _reported(scenario_id, instance, findings, raise_on_failure)


def _reported(
    scenario_id: str, policy: Policy[Any, Any], findings: list[Finding], raise_on_failure: bool
) -> CheckReport:
    report = CheckReport(
        subject=f"check_scenario {scenario_id!r} under {policy.id!r}",
        findings=tuple(findings),
    )
    if raise_on_failure and not report.ok:
        raise CheckFailed(report)
    return report


def _watch(
    config: ScenarioConfig,
    policy: Policy[Any, Any],
    seed: int,
    kit: ScenarioKit,
    decision_timeout_s: float,
) -> str | DecisionTimeout | None:
    """Run ``config`` checking the invariants as it goes; what broke first (the timeout
    itself when the policy did not answer in time), or None."""
    try:
        run = prepare_run(config, policy, seed, source="check_scenario")
    except Exception as error:  # a generated variant the scenario refuses is a finding too
        return f"building the run raised {type(error).__name__}: {error}"
    broken: list[str] = []
    run.world.env.process(_monitor(run, kit, broken))
    try:
        with run.watched(decision_timeout_s):
            run.world.run(config.horizon_s)
        run.result(wall_s=0.0)
    except _Broken:
        pass
    except DecisionTimeout as timeout:
        return timeout
    except Exception as error:  # the scenario crashing under the policy is a finding
        return f"the run raised {type(error).__name__}: {error} at t = {run.world.now_s:g} s"
    if not broken:
        broken += [
            f"at the end (t = {run.world.now_s:g} s): {problem}"
            for problem in kit.invariants(run.scenario, run.world)
        ]
    return "; ".join(broken[:3]) or None


def _monitor(
    run: PreparedRun, kit: ScenarioKit, broken: list[str]
) -> Generator[simpy.Event, Any, None]:
    env = run.world.env
    last_s = env.now
    while True:
        yield env.timeout(kit.check_period_s)
        if env.now < last_s:
            broken.append(f"the clock went back from {last_s} s to {env.now} s")
        last_s = env.now
        problems = kit.invariants(run.scenario, run.world)
        if broken or problems:
            broken += [f"at t = {env.now:g} s: {problem}" for problem in problems]
            raise _Broken


SAME_KPIS = "the same seed gives the same KPIs"


def _same_seed_same_kpis(
    config: ScenarioConfig, policy: Policy[Any, Any], command: str, decision_timeout_s: float
) -> Finding:
    check = SAME_KPIS
    kpis = []
    for _ in range(2):
        run = None
        try:
            run = prepare_run(config, policy, 0, source="check_scenario")
            with run.watched(decision_timeout_s):
                run.world.run(config.horizon_s)
            result = run.result(wall_s=0)
        except Exception as error:  # a crash is a finding of the report, not an escape
            at = f" at t = {run.world.now_s:g} s" if run is not None else " building the run"
            detail = f"the run raised {type(error).__name__}: {error}{at}\n  reproduce: {command}"
            return Finding(check, False, detail)
        kpis.append({name: snapshot(kpi.value) for name, kpi in result.kpis.items()})
    if kpis[0] == kpis[1]:
        return Finding(check, True)
    differ = sorted(name for name in kpis[0] if kpis[0][name] != kpis[1].get(name))
    return Finding(check, False, f"KPIs differ: {', '.join(differ[:6])}\n  reproduce: {command}")
