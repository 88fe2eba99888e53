"""Everything an experiment config can get wrong, checked before anything runs or is written.

Structure is checked by the pydantic models (:mod:`experiments.config`); this module
checks what needs the registry: every scenario and design point builds, every arm's
policy exists and acts in the scenario's domain, and every KPI or probe named in the
statistics and output sections is one the scenarios report (found by a 60-simulated-second dry
run of each scenario under the baseline arm).
"""

from __future__ import annotations

from typing import Any

from experiments.config import ExperimentConfig
from experiments.design import apply_point, design_points
from twin.core.errors import ConfigError
from twin.core.registry import Registry
from twin.core.run import (
    build_scenario,
    check_compatible,
    default_registry,
    resolve_policy,
    simulate,
)

DRY_RUN_S = 60.0
DEFAULT_HEADLINE_TAIL = ("cost_total", "co2e_kg")


def check_experiment(
    config: ExperimentConfig, source: str, registry: Registry | None = None
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Check everything that can be checked without running; return points and headline.

    Raises:
        ConfigError: naming the key path in the experiment file.
    """
    registry = registry or default_registry()
    points = design_points(config.design, config.seed)
    for s, entry in enumerate(config.scenarios):
        for p, point in enumerate(points):
            where = f" (design point {p}: {point})" if point else ""
            try:
                scenario = build_scenario(apply_point(entry, point), registry, source)
            except ConfigError as error:
                raise _rekey(error, {"scenario": f"scenarios.{s}"}, where) from None
            except ValueError as error:
                raise ConfigError(source, f"scenarios.{s}", f"{error}{where}") from None
        for a, arm in enumerate(config.arms):
            try:
                policy = resolve_policy(arm.policy, arm.params, registry, source)
                check_compatible(scenario, policy, source)
            except ConfigError as error:
                renames = {"policy.id": f"arms.{a}.policy", "policy.params": f"arms.{a}.params"}
                raise _rekey(error, renames) from None
    kpis, probes = _dry_run_names(config, points, registry, source)
    headline = headline_kpis(config, registry)
    _check_kpi_names(config, headline, kpis, probes, source)
    return points, headline


def _rekey(error: ConfigError, renames: dict[str, str], suffix: str = "") -> ConfigError:
    """``error`` with its key path spelled as in the experiment file, not a run config."""
    key_path = error.key_path
    for old, new in renames.items():
        if key_path == old or key_path.startswith(old + "."):
            key_path = new + key_path[len(old) :]
            break
    return ConfigError(error.source, key_path, error.problem + suffix)


def _dry_run_names(
    config: ExperimentConfig, points: list[dict[str, Any]], registry: Registry, source: str
) -> tuple[set[str], set[str]]:
    """KPI and probe names, from a short run of every scenario under the baseline arm."""
    baseline = next(arm for arm in config.arms if arm.name == config.baseline)
    kpis: set[str] = set()
    probes: set[str] = set()
    for entry in config.scenarios:
        scenario_config = apply_point(entry, points[0])
        horizon = min(DRY_RUN_S, scenario_config.horizon_s)
        period = scenario_config.sample_period_s
        short = scenario_config.model_copy(
            update={
                "horizon_s": horizon,
                "warmup_s": 0.0,
                "sample_period_s": min(period, horizon / 2) if period else None,
            }
        )
        result = simulate(
            short, baseline.policy, config.seed, policy_params=baseline.params, registry=registry
        )
        kpis |= set(result.kpis)
        if not result.timeseries.empty:
            probes |= set(result.timeseries["probe"])
    return kpis, probes


def headline_kpis(config: ExperimentConfig, registry: Registry) -> tuple[str, ...]:
    if config.statistics.headline is not None:
        return tuple(config.statistics.headline)
    names: list[str] = []
    for entry in config.scenarios:
        names += registry.scenario(entry.id).headline_kpis
    names += DEFAULT_HEADLINE_TAIL
    return tuple(dict.fromkeys(names))


def _check_kpi_names(
    config: ExperimentConfig,
    headline: tuple[str, ...],
    kpis: set[str],
    probes: set[str],
    source: str,
) -> None:
    def unknown(key: str, name: str, known: set[str], what: str) -> ConfigError:
        return ConfigError(
            source,
            key,
            f"unknown {what} {name!r}; the scenarios report: {', '.join(sorted(known))}",
        )

    if config.statistics.headline is not None:
        for name in config.statistics.headline:
            if name not in kpis:
                raise unknown("statistics.headline", name, kpis, "KPI")
    if config.statistics.progress_kpi not in kpis:
        raise unknown("statistics.progress_kpi", config.statistics.progress_kpi, kpis, "KPI")
    analysed = getattr(config.design, "kpis", None) or []
    for name in analysed:
        if name not in kpis:
            raise unknown("design.kpis", name, kpis, "KPI")
    target = config.replications.target
    if target is not None and target.kpi not in kpis:
        raise unknown("replications.target.kpi", target.kpi, kpis, "KPI")
    for name in config.output.timeseries_probes:
        if not config.output.timeseries:
            raise ConfigError(
                source, "output.timeseries_probes", "needs 'output.timeseries = true'"
            )
        if name not in probes:
            if not probes:
                raise ConfigError(
                    source,
                    "output.timeseries_probes",
                    "the scenarios record no time series; set scenarios.N.sample_period_s",
                )
            raise unknown("output.timeseries_probes", name, probes, "probe")
