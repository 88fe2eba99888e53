"""``simulate(scenario_config, policy, seed) -> RunResult``: one run, pure in its inputs."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import platform
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from twin.core.config import check_numbers, validate_strictly, validation_error_to_config_error
from twin.core.errors import ConfigError, RunFailure, UserError, one_line
from twin.core.ledger import COST_CATEGORIES
from twin.core.policy import BindsModel, Policy, PolicyContext
from twin.core.registry import Registry, UnknownIdError, make_policy
from twin.core.scenario import KPI, Scenario, ScenarioConfig
from twin.core.watchdog import DEFAULT_DECISION_TIMEOUT_S, watching
from twin.core.world import World

MANIFEST_PACKAGES = ("twin", "simpy", "mesa", "numpy", "numba", "pandas", "pydantic", "scipy")


@dataclass(frozen=True)
class RunResult:
    """What one run produced.

    Attributes:
        kpis: KPI name -> value with unit; the scenario's own plus the ledger's.
        timeseries: tidy ``time_s, probe, value`` rows from the sampler (may be empty).
        manifest: what is needed to reproduce the run and to trust it.
    """

    kpis: dict[str, KPI]
    timeseries: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def kpi_frame(self) -> pd.DataFrame:
        """KPIs as a tidy ``kpi, value, unit`` table."""
        return pd.DataFrame(
            {
                "kpi": list(self.kpis),
                "value": [k.value for k in self.kpis.values()],
                "unit": [k.unit for k in self.kpis.values()],
            }
        )


def simulate(
    scenario_config: ScenarioConfig,
    policy: Policy[Any, Any] | str,
    seed: int,
    *,
    policy_params: dict[str, Any] | None = None,
    replication: tuple[int, ...] = (),
    registry: Registry | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
    on_estimate: Callable[[float], None] | None = None,
    report_failures: bool = False,
    decision_timeout_s: float | None = DEFAULT_DECISION_TIMEOUT_S,
) -> RunResult:
    """Run one scenario under one policy with one seed.

    Args:
        scenario_config: scenario id, its parameters and the run's horizon.
        policy: a policy instance, or an id / ``package.module:Class`` to build one.
        seed: root seed; with the same seed every policy sees the same random numbers.
        policy_params: parameters when ``policy`` is given by id.
        replication: spawn-key prefix for replication ``i`` of a batch.
        registry: where ids are looked up (the installed entry points by default).
        source: the file the config came from, for error messages.
        progress: called with the fraction of the horizon simulated, every 1%.
        on_estimate: called, before the run goes on, with the wall seconds the whole run
            will take, extrapolated from its first half second (:func:`estimate_wall_s`);
            it may raise to stop a run that would never end.
        report_failures: an exception from the simulation becomes one
            :class:`RunFailure` line (what ``twin run`` shows); otherwise it propagates
            as raised (a batch records its traceback, a test expects its type).
        decision_timeout_s: wall seconds the policy may take for one decision before the
            run ends with :class:`DecisionTimeout` (:mod:`twin.core.watchdog`); None: no limit.
    """
    started = time.perf_counter()
    run = prepare_run(
        scenario_config,
        policy,
        seed,
        policy_params=policy_params,
        replication=replication,
        registry=registry,
        source=source,
    )
    with run.watched(decision_timeout_s, report_failures=report_failures):
        if on_estimate is not None:
            on_estimate(
                estimate_wall_s(run.world, scenario_config.horizon_s, scenario_config.warmup_s)
            )
        run.world.run(scenario_config.horizon_s, scenario_config.warmup_s, progress)
    return run.result(wall_s=time.perf_counter() - started)


@contextlib.contextmanager
def watching_policy(
    policy: Policy[Any, Any],
    world: World,
    timeout_s: float | None = DEFAULT_DECISION_TIMEOUT_S,
    *,
    report_failures: bool = False,
) -> Iterator[None]:
    """Run the block with ``policy``'s decisions watched: one that takes longer than
    ``timeout_s`` wall seconds ends the block with :class:`DecisionTimeout`; with
    ``report_failures`` any other exception from the simulation becomes one
    :class:`RunFailure` naming the policy, the simulated time, the last observation and
    the exception (a ``UserError`` stays what it is).

    Every policy of the world is watched alike (:meth:`World.add_policy`): the run's and
    those its scenario resolved for areas of its own; a failure names the policy whose
    decision raised. ``act`` is wrapped on each instance for the block only: domains
    call ``policy.act(...)`` afresh at every decision, so they see the wrapper.
    """
    with watching(policy.id, timeout_s, lambda: world.now_s) as decisions:
        decisions.watch(policy)
        world.watch_policies(decisions)
        try:
            yield
        except (UserError, RunFailure):
            raise
        except Exception as error:
            if not report_failures:
                raise
            # SimPy re-raises a process's exception as a copy whose cause is the original.
            original = error.__cause__
            cause = original if original is not None and type(original) is type(error) else error
            deciding, seen = decisions.blame(cause)
            raise RunFailure(
                deciding,
                world.now_s,
                "none yet" if seen is None else one_line(repr(seen), 200),
                one_line(f"{type(cause).__name__}: {cause}"),
                "".join(traceback.format_exception(cause)),
            ) from error
        finally:
            world.watch_policies(None)
            decisions.release()


def estimate_wall_s(
    world: World, until_s: float, warmup_s: float = 0.0, budget_s: float = 0.5
) -> float:
    """Run ``world`` for up to ``budget_s`` of wall time and extrapolate how long it would
    take to reach ``until_s``: ``inf`` when simulated time did not move.

    The events are processed one by one, exactly as ``World.run`` would process them,
    and never past the warm-up's end (which ``World.run`` handles), so the run that
    follows is the same run. A rate of 1e14 arrivals a second is seen in half a second,
    not after the first of its billions of events' slices.
    """
    env = world.env
    limit = warmup_s if warmup_s > env.now else until_s
    start_s = env.now
    started = time.perf_counter()
    steps = 0
    while env.peek() < limit:
        env.step()
        steps += 1
        if steps % 256 == 0 and time.perf_counter() - started > budget_s:
            break
    simulated_s = env.now - start_s
    if simulated_s <= 0.0:
        return 0.0 if env.peek() >= limit else math.inf
    return (time.perf_counter() - started) * (until_s - start_s) / simulated_s


@dataclass
class PreparedRun:
    """A run built and ready to start: what :func:`simulate` does between building and
    reading results, open for tools that watch the world while it runs (``twin.testing``).
    """

    config: ScenarioConfig
    scenario: Scenario[Any]
    policy: Policy[Any, Any]
    world: World
    seed: int
    replication: tuple[int, ...]

    def result(self, *, wall_s: float) -> RunResult:
        """The KPIs, time series and manifest after ``world.run`` has returned."""
        world = self.world
        kpis = {**self.scenario.kpis(world), **ledger_kpis(world)}
        timeseries = world.sampler.frame() if world.sampler else pd.DataFrame()
        manifest = make_manifest(
            self.config,
            self.policy,
            self.seed,
            self.replication,
            wall_s=wall_s,
            factors=world.ledger.sources(),
        )
        inputs = self.scenario.manifest()
        if inputs:
            manifest["scenario_inputs"] = inputs
        return RunResult(kpis=kpis, timeseries=timeseries, manifest=manifest)

    def watched(
        self,
        decision_timeout_s: float | None = DEFAULT_DECISION_TIMEOUT_S,
        *,
        report_failures: bool = False,
    ) -> contextlib.AbstractContextManager[None]:
        """A block in which the policy's decisions are watched (:func:`watching_policy`):
        run the world inside it."""
        return watching_policy(
            self.policy, self.world, decision_timeout_s, report_failures=report_failures
        )


def prepare_run(
    scenario_config: ScenarioConfig,
    policy: Policy[Any, Any] | str,
    seed: int,
    *,
    policy_params: dict[str, Any] | None = None,
    replication: tuple[int, ...] = (),
    registry: Registry | None = None,
    source: str = "<config>",
) -> PreparedRun:
    """Build the world of one run (arguments as :func:`simulate`) without running it."""
    registry = registry if registry is not None else default_registry()
    scenario = build_scenario(scenario_config, registry, source)
    policy_obj = resolve_policy(policy, policy_params or {}, registry, source)
    check_compatible(scenario, policy_obj, source)
    world = World(
        seed,
        tick_s=scenario_config.tick_s,
        sample_period_s=scenario_config.sample_period_s,
        replication=replication,
        registry=registry,
    )
    policy_obj.reset(
        PolicyContext(
            scenario_id=scenario.id,
            rng=world.streams[f"policy.{policy_obj.id}"],
            info=scenario.policy_info(),
        )
    )
    world.add_policy(policy_obj)
    scenario.build(world, policy_obj)
    if isinstance(policy_obj, BindsModel):
        policy_obj.bind(world)
    return PreparedRun(scenario_config, scenario, policy_obj, world, seed, replication)


def start_policy(
    world: World,
    reference: str,
    params: dict[str, Any],
    scenario_id: str,
    info: dict[str, Any],
) -> Policy[Any, Any]:
    """A policy a scenario resolves for an area of its own (a flow line's maintenance
    rule, an AGV dispatcher, a network's transport planner): looked up in the run's
    registry, started with ``info`` on its own named stream (so the run's policy draws
    the same numbers with or without it) and watched with the run's policy."""
    policy = resolve_policy(reference, params, world.registry)
    policy.reset(PolicyContext(scenario_id, world.streams[f"policy.{policy.id}"], info))
    world.add_policy(policy)
    return policy


def build_scenario(
    config: ScenarioConfig, registry: Registry, source: str = "<config>"
) -> Scenario[Any]:
    """The scenario instance for ``config``, its params validated by the scenario's model
    (with ``registry`` in the validation context, for params that name a second policy)."""
    with importing(config.id, source, "scenario.id"):
        cls = registry.scenario(config.id)
    check_numbers(config.params, source, ("scenario", "params"))
    try:
        params = validate_strictly(cls.Params, config.params, context={"registry": registry})
    except ValidationError as error:
        raise validation_error_to_config_error(
            error, source, prefix=("scenario", "params"), model=cls.Params
        ) from None
    return cls(params)


def resolve_policy(
    policy: Policy[Any, Any] | str,
    params: dict[str, Any],
    registry: Registry,
    source: str = "<config>",
) -> Policy[Any, Any]:
    if not isinstance(policy, str):
        return policy
    with importing(policy, source, "policy.id"):
        cls = registry.policy(policy)
    check_numbers(params, source, ("policy", "params"))
    params_model = getattr(cls, "Params", None)
    try:
        if isinstance(params_model, type) and issubclass(params_model, BaseModel):
            validate_strictly(params_model, params)  # no coercion; make_policy then builds it
        return make_policy(cls, params)
    except UserError as error:  # a file the params name (a model file) is unusable
        if isinstance(error, ConfigError):
            raise
        named = [
            key for key, value in params.items() if isinstance(value, str) and value in str(error)
        ]
        key_path = ".".join(("policy", "params", *named[:1]))
        raise ConfigError(source, key_path, str(error)) from None
    except ValueError as error:
        if not isinstance(error, ValidationError):
            raise ConfigError(source, "policy.params", str(error)) from None
        raise validation_error_to_config_error(
            error, source, prefix=("policy", "params"), model=getattr(cls, "Params", None)
        ) from None


@contextlib.contextmanager
def importing(reference: str, source: str, key_path: str) -> Iterator[None]:
    """Look up ``reference`` (an id or ``package.module:Class``) with whatever the module
    prints on import captured, and any failure as one :class:`ConfigError` line.

    A module may print pages on import (``this`` prints the Zen of Python) or raise
    anything at all; neither may reach the terminal as more than one line.
    """
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            yield
    except UnknownIdError as error:
        raise ConfigError(source, key_path, _with_output(str(error), printed)) from None
    except (Exception, SystemExit) as error:
        problem = f"importing {reference!r} failed: {type(error).__name__}: {error}"
        raise ConfigError(source, key_path, _with_output(one_line(problem), printed)) from None


def _with_output(problem: str, printed: io.StringIO) -> str:
    lines = printed.getvalue().count("\n")
    return f"{problem} (it printed {lines} lines on import, not shown)" if lines else problem


def check_compatible(scenario: Scenario[Any], policy: Policy[Any, Any], source: str) -> None:
    """A policy acts only in the domain whose observations and actions it understands."""
    if policy.domain != scenario.domain:
        raise ConfigError(
            source,
            "policy.id",
            f"policy {policy.id!r} acts in domain {policy.domain!r} but scenario "
            f"{scenario.id!r} is in domain {scenario.domain!r}; choose a {scenario.domain} policy",
        )


def ledger_kpis(world: World) -> dict[str, KPI]:
    """Cost, energy and emissions KPIs every run reports, from the ledger."""
    ledger = world.ledger
    currency = ledger.currency
    kpis = {
        "cost_total": KPI(ledger.cost(), currency, "all money booked after the warm-up"),
        "energy_kwh": KPI(ledger.energy_kwh(), "kWh", "electricity used"),
        "fuel_l": KPI(ledger.fuel_l(), "L", "liquid fuel burned"),
        "co2e_kg": KPI(ledger.co2e_kg(), "kg CO2e", "emissions from energy and fuel"),
    }
    # Every category and carrier is reported, zero or not, so that every run of a batch
    # has the same KPIs and arms can be paired KPI by KPI.
    for category in COST_CATEGORIES:
        kpis[f"cost_{category}"] = KPI(
            ledger.cost(category),
            currency,
            f"money booked as {category}; cost_total is the sum of these categories",
        )
    for carrier in sorted(ledger.factors):
        kpis[f"co2e_{carrier}_kg"] = KPI(
            ledger.co2e_kg(carrier=carrier), "kg CO2e", f"emissions from {carrier}"
        )
    return kpis


def config_hash(scenario_config: ScenarioConfig, policy_id: str, policy_params: Any) -> str:
    """SHA-256 of the canonical JSON of what determines a run (seed excluded)."""
    payload = {
        "scenario": scenario_config.model_dump(mode="json"),
        "policy": {"id": policy_id, "params": policy_params},
    }
    return canonical_hash(payload)


def canonical_hash(payload: Any) -> str:
    """SHA-256 of ``payload`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_manifest(
    scenario_config: ScenarioConfig,
    policy: Policy[Any, Any],
    seed: int,
    replication: tuple[int, ...],
    *,
    wall_s: float,
    factors: dict[str, str],
) -> dict[str, Any]:
    params = getattr(policy, "params", None)
    policy_params = params.model_dump(mode="json") if isinstance(params, BaseModel) else {}
    return {
        "scenario": scenario_config.model_dump(mode="json"),
        "policy": {"id": policy.id, "params": policy_params},
        "seed": seed,
        "replication": list(replication),
        "config_hash": config_hash(scenario_config, policy.id, policy_params),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "emission_factor_sources": factors,
        "wall_s": wall_s,
    }


@functools.cache
def default_registry() -> Registry:
    """The registry of installed entry points, read once per process."""
    return Registry()


@functools.cache
def package_versions() -> dict[str, str]:
    return {"python": platform.python_version(), **installed_versions(MANIFEST_PACKAGES)}


def installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The installed version of each distribution, or ``"not installed"``."""
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@functools.cache
def git_commit() -> str | None:
    """The commit of the twin checkout this code runs from, when it is one."""
    here = Path(__file__).resolve().parent
    try:
        completed = subprocess.run(  # noqa: S603 - fixed arguments, no user input
            ["git", "-C", str(here), "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else None
