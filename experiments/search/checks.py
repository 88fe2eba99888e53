"""Everything a search config can get wrong, checked before anything runs or is written.

The baseline and the corners of the search space (every parameter at its lowest, then
at its highest) must build; the policy must exist and act in the scenario's domain; the
KPIs and probes the config names must be ones the scenario reports (found by a
60-simulated-second dry run, as the batch runner does).
"""

from __future__ import annotations

from typing import Any

from experiments.search.config import CalibrateConfig, OptimizeConfig, SearchConfig
from experiments.search.space import baseline, candidate, corners
from twin.core.errors import ConfigError, UserError
from twin.core.registry import Registry
from twin.core.run import build_scenario, check_compatible, resolve_policy, simulate

DRY_RUN_S = 60.0


def check_search(
    config: SearchConfig, source: str, registry: Registry
) -> tuple[set[str], set[str]]:
    """Check ``config``; return the KPI and probe names its scenario reports.

    Raises:
        ConfigError: naming the key path in the config file.
    """
    try:
        plain = baseline(config, registry)
        scenario = build_scenario(plain.scenario, registry, source)
        policy = resolve_policy(config.policy.id, plain.policy_params, registry, source)
        check_compatible(scenario, policy, source)
    except ValueError as error:
        raise ConfigError(source, "scenario", str(error)) from None
    for corner in corners(config):
        for key, value in corner.items():
            where = f"parameters.{key}"
            try:
                point = candidate(config, {key: value}, "check", registry)
                build_scenario(point.scenario, registry, source)
                resolve_policy(config.policy.id, point.policy_params, registry, source)
            except ValueError as error:
                raise ConfigError(source, where, f"cannot be set: {error}") from None
            except ConfigError as error:
                raise ConfigError(
                    source, where, f"{value!r} does not fit the scenario: {error.problem}"
                ) from None
    return _dry_run_names(config, registry, source)


def _dry_run_names(
    config: SearchConfig, registry: Registry, source: str
) -> tuple[set[str], set[str]]:
    plain = baseline(config, registry)
    scenario = plain.scenario
    horizon = min(DRY_RUN_S, scenario.horizon_s)
    period = scenario.sample_period_s
    short = scenario.model_copy(
        update={
            "horizon_s": horizon,
            "warmup_s": 0.0,
            "sample_period_s": min(period, horizon / 2) if period else None,
        }
    )
    result = simulate(
        short, config.policy.id, config.seed, policy_params=plain.policy_params, registry=registry
    )
    probes = set(result.timeseries["probe"]) if not result.timeseries.empty else set()
    return set(result.kpis), probes


def objective_direction(config: OptimizeConfig, registry: Registry, source: str) -> str:
    """``minimize`` or ``maximize``: as given, else the KPI's better direction."""
    if config.objective.direction is not None:
        return config.objective.direction
    try:
        domain = registry.domain(registry.scenario(config.scenario.id).domain)
    except UserError:
        domain = None
    better = domain.better(config.objective.kpi) if domain is not None else None
    if better is None:
        raise ConfigError(
            source,
            "objective.direction",
            f"{config.objective.kpi!r} has no better direction in its domain; "
            "give 'minimize' or 'maximize'",
        )
    return "minimize" if better == "lower" else "maximize"


def check_optimize(config: OptimizeConfig, source: str, registry: Registry) -> str:
    """Check an optimisation config; return the objective's direction."""
    kpis, _ = check_search(config, source, registry)
    _known(kpis, config.objective.kpi, "objective.kpi", source)
    for i, constraint in enumerate(config.constraints):
        _known(kpis, constraint.kpi, f"constraints.{i}.kpi", source)
    return objective_direction(config, registry, source)


def check_calibrate(config: CalibrateConfig, source: str, registry: Registry) -> None:
    kpis, probes = check_search(config, source, registry)
    for i, target in enumerate(config.targets):
        if target.kpi is not None:
            _known(kpis, target.kpi, f"targets.{i}.kpi", source)
        elif not probes:
            raise ConfigError(
                source,
                f"targets.{i}.probe",
                "the scenario records no time series; set scenario.sample_period_s",
            )
        else:
            _known(probes, target.name, f"targets.{i}.probe", source, what="probe")


def _known(names: set[str], name: str, key: str, source: str, what: str = "KPI") -> None:
    if name not in names:
        raise ConfigError(
            source,
            key,
            f"unknown {what} {name!r}; the scenario reports: {', '.join(sorted(names))}",
        )


def describe_values(values: dict[str, Any]) -> str:
    """``servers=3, rate=0.0167``: a candidate's values, short."""
    parts = []
    for key, value in values.items():
        name = key.split(".params.", 1)[-1]
        parts.append(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}")
    return ", ".join(parts)
