"""``assert_not_worse``: a policy does not lose to its baseline, on common random numbers.

Replication ``i`` of the policy and of the baseline get the same root seed
(:func:`twin.core.streams.replication_seed`, as in a batch experiment), so the arrivals,
failures and demand they face are the same and their KPI difference is paired. The
property fails when a one-sided paired t-test finds the policy worse than the baseline
by more than the allowed margin (H0: loss <= margin; rejected at ``alpha``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from twin.core.policy import Policy
from twin.core.run import default_registry, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.streams import replication_seed
from twin.testing.kits import policy_reference, scenario_kit
from twin.testing.report import CheckFailed, CheckReport, Finding, reproduce_command


@dataclass(frozen=True)
class PairedComparison:
    """One scenario's paired replications of a KPI, and the verdict."""

    scenario: str
    kpi: str
    unit: str
    baseline: tuple[float, ...]
    policy: tuple[float, ...]
    better: str
    margin: float
    alpha: float

    @property
    def loss(self) -> np.ndarray:
        """Per replication, how much worse the policy did (positive = worse)."""
        diff = np.asarray(self.policy) - np.asarray(self.baseline)
        return diff if self.better == "lower" else -diff

    @property
    def allowed_loss(self) -> float:
        """The margin as an absolute loss: a share of the baseline's mean."""
        return self.margin * abs(float(np.mean(self.baseline)))

    @property
    def p_value(self) -> float:
        """P(loss this large | the true mean loss is the allowed loss), one-sided."""
        loss = self.loss
        excess = float(loss.mean()) - self.allowed_loss
        sd = float(loss.std(ddof=1))
        if sd == 0.0 or not math.isfinite(sd):  # identical runs: the sign decides
            return 0.0 if excess > 0 else 1.0
        t = excess / (sd / math.sqrt(len(loss)))
        return float(stats.t.sf(t, df=len(loss) - 1))

    @property
    def loses(self) -> bool:
        return self.p_value < self.alpha

    def halfwidth(self, level: float = 0.95) -> float:
        """Half-width of the ``level`` confidence interval of the mean difference."""
        loss = self.loss
        if len(loss) < 2:
            return math.nan
        sd = float(loss.std(ddof=1))
        return float(stats.t.ppf(0.5 + level / 2, df=len(loss) - 1)) * sd / math.sqrt(len(loss))

    def row(self) -> str:
        difference = float(np.mean(self.policy) - np.mean(self.baseline))
        verdict = "LOSES" if self.loses else "not worse"
        return (
            f"{self.scenario:<28} {np.mean(self.baseline):>12.5g} {np.mean(self.policy):>12.5g} "
            f"{difference:>+11.4g} ± {self.halfwidth():<9.3g} {self.allowed_loss:>10.4g} "
            f"{self.p_value:>8.3g}  {verdict}"
        )


HEADER = (
    f"{'scenario':<28} {'baseline':>12} {'policy':>12} {'difference (95% CI)':>23} "
    f"{'allowed':>10} {'p':>8}  verdict"
)


@dataclass(frozen=True)
class ComparisonReport(CheckReport):
    """The findings of :func:`assert_not_worse`, with every scenario's paired samples."""

    comparisons: tuple[PairedComparison, ...] = ()

    def __str__(self) -> str:
        lines = [self.subject, f"  {HEADER}"]
        lines += [f"  {comparison.row()}" for comparison in self.comparisons]
        for finding in self.failures:
            lines += [f"  {line}" for line in finding.detail.splitlines()]
        return "\n".join(lines)


def assert_not_worse(
    policy: Policy[Any, Any] | str,
    baseline: Policy[Any, Any] | str,
    scenarios: Sequence[str | ScenarioConfig],
    kpi: str,
    *,
    better: Literal["lower", "higher"],
    margin: float = 0.0,
    replications: int = 10,
    alpha: float = 0.05,
    seed: int = 0,
    raise_on_failure: bool = True,
) -> ComparisonReport:
    """Fail when ``policy`` is significantly worse than ``baseline`` on ``kpi``.

    Args:
        policy, baseline: instances or registered ids / ``package.module:Class``.
        scenarios: scenario configs, or ids (default params, the test kit's horizon).
        kpi: the KPI compared, e.g. ``"cost_total"``.
        better: whether ``"lower"`` or ``"higher"`` values of the KPI are better.
        margin: the loss tolerated, as a share of the baseline's mean (0.02 = 2%).
        replications: paired replications per scenario (at least 2).
        alpha: significance level of the one-sided paired t-test.
        seed: root seed; replication ``i`` runs with ``replication_seed(seed, i)``.
        raise_on_failure: raise :class:`CheckFailed` with the table when it loses.
    """
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if replications < 2:
        raise ValueError(f"a paired test needs at least 2 replications, got {replications}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0 (a share of the baseline mean), got {margin}")
    configs = [_config(scenario) for scenario in scenarios]
    if not configs:
        raise ValueError("give at least one scenario")
    seeds = [replication_seed(seed, i) for i in range(replications)]
    comparisons = []
    findings = []
    for config in configs:
        baseline_kpis = [_kpi(config, baseline, s, kpi) for s in seeds]
        policy_kpis = [_kpi(config, policy, s, kpi) for s in seeds]
        comparison = PairedComparison(
            scenario=config.id,
            kpi=kpi,
            unit=baseline_kpis[0][1],
            baseline=tuple(value for value, _ in baseline_kpis),
            policy=tuple(value for value, _ in policy_kpis),
            better=better,
            margin=margin,
            alpha=alpha,
        )
        comparisons.append(comparison)
        detail = ""
        if comparison.loses:
            worst = int(np.argmax(comparison.loss))
            detail = f"reproduce the worst replication ({worst}) of {config.id}:"
            for name, arm in (("policy", policy), ("baseline", baseline)):
                command = reproduce_command(config, _reference(arm), seeds[worst], _params(arm))
                detail += f"\n  {name + ':':<10}{command}"
        findings.append(Finding(f"not worse in {config.id}", not comparison.loses, detail))
    names = f"{_name(policy)!r} vs baseline {_name(baseline)!r}"
    report = ComparisonReport(
        subject=(
            f"assert_not_worse {names} on {kpi} [{comparisons[0].unit}], {better} is better, "
            f"margin {margin:.1%}, {replications} paired replications, alpha {alpha}"
        ),
        findings=tuple(findings),
        comparisons=tuple(comparisons),
    )
    if raise_on_failure and not report.ok:
        raise CheckFailed(report)
    return report


def _config(scenario: str | ScenarioConfig) -> ScenarioConfig:
    if isinstance(scenario, ScenarioConfig):
        return scenario
    cls = default_registry().scenario(scenario)
    return ScenarioConfig(id=scenario, horizon_s=scenario_kit(cls.id, cls.domain).horizon_s)


def _kpi(
    config: ScenarioConfig, policy: Policy[Any, Any] | str, seed: int, kpi: str
) -> tuple[float, str]:
    result = simulate(config, policy, seed, source="assert_not_worse")
    if kpi not in result.kpis:
        raise KeyError(f"{config.id} has no KPI {kpi!r}; it has {', '.join(sorted(result.kpis))}")
    return result.kpis[kpi].value, result.kpis[kpi].unit


def _name(policy: Policy[Any, Any] | str) -> str:
    return policy if isinstance(policy, str) else policy.id


def _reference(policy: Policy[Any, Any] | str) -> str:
    return policy if isinstance(policy, str) else policy_reference(policy)


def _params(policy: Policy[Any, Any] | str) -> dict[str, Any] | None:
    params = getattr(policy, "params", None)
    return params.model_dump(mode="json") if hasattr(params, "model_dump") else None
