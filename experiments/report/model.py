"""The summary table as the report reads it: one ``Stat`` per scenario, point, arm and KPI.

``Experiment`` also fixes the display order every part of the report follows: scenarios
and arms in order of appearance (baseline first), KPIs by group.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from experiments.report.numbers import format_number, to_float

GROUP_ORDER = ("efficiency", "cost", "emissions")

StatKey: TypeAlias = tuple[str, int, str, str]
"""``(scenario, point, arm, kpi)``."""

Verdict: TypeAlias = Literal["better", "worse", "changed"]
"""What a significant change means: by the KPI's direction, or "changed" when neither
way is better (a count, a configuration echo)."""


@dataclass(frozen=True)
class Stat:
    """One summary row: an arm's KPI estimate and its change against the baseline."""

    mean: float
    ci_low: float
    ci_high: float
    n: float
    diff: float
    diff_low: float
    diff_high: float
    p_value: float
    change_pct: float
    change_low_pct: float
    change_high_pct: float

    @property
    def halfwidth(self) -> float:
        return (self.ci_high - self.ci_low) / 2

    @property
    def change_halfwidth(self) -> float:
        return (self.change_high_pct - self.change_low_pct) / 2

    @property
    def zero(self) -> bool:
        """The mean is 0 and so is its interval (or it has none): nothing happened."""
        return self.mean == 0 and all(
            bound == 0 or math.isnan(bound) for bound in (self.ci_low, self.ci_high)
        )

    @property
    def significant(self) -> bool:
        """The paired CI of the change excludes 0 (a NaN bound never counts)."""
        if self.diff == 0:
            # Identical arms: a zero-width interval at 0 is no evidence of a change.
            return False
        for low, high in (
            (self.diff_low, self.diff_high),
            (self.change_low_pct, self.change_high_pct),
        ):
            if not (math.isnan(low) or math.isnan(high)):
                return low > 0 or high < 0
        return False


_STAT_FIELDS = tuple(field.name for field in fields(Stat))
_NO_STAT = Stat(*(math.nan for _ in _STAT_FIELDS))


@dataclass(frozen=True)
class Experiment:
    """The summary indexed by scenario, point, arm and KPI, in display order."""

    stats: dict[StatKey, Stat]
    baseline: str
    scenarios: tuple[str, ...]
    points: dict[str, tuple[int, ...]]
    arms: dict[str, tuple[str, ...]]
    """Per scenario, baseline first, then in order of appearance."""
    kpis: tuple[str, ...]
    """Every KPI, by group (efficiency, cost, emissions) then order of appearance."""
    units: dict[str, str]
    groups: dict[str, str]
    point_parameters: dict[tuple[str, int], dict[str, str]]
    better: dict[str, str] = field(default_factory=dict)
    """KPI -> ``"lower"`` or ``"higher"``, from the domain contract (the summary's
    ``better`` column); a KPI not listed has no better direction."""

    @classmethod
    def from_summary(cls, summary: pd.DataFrame, points: pd.DataFrame, baseline: str) -> Experiment:
        """Index ``summary`` for lookups and fix the display order of everything."""
        records = summary.to_dict("records")
        stats_by_key: dict[StatKey, Stat] = {}
        units: dict[str, str] = {}
        groups: dict[str, str] = {}
        better: dict[str, str] = {}
        for record in records:
            key = (str(record["scenario"]), int(record["point"]), str(record["arm"]))
            kpi = str(record["kpi"])
            stats_by_key[(*key, kpi)] = Stat(*(to_float(record.get(name)) for name in _STAT_FIELDS))
            unit = record.get("unit")
            units.setdefault(kpi, unit if isinstance(unit, str) else "")
            groups.setdefault(kpi, str(record.get("group", "")))
            if record.get("better") in ("lower", "higher"):
                better.setdefault(kpi, str(record["better"]))
        scenarios = tuple(dict.fromkeys(key[0] for key in stats_by_key))
        return cls(
            stats=stats_by_key,
            baseline=baseline,
            scenarios=scenarios,
            points={s: tuple(sorted({k[1] for k in stats_by_key if k[0] == s})) for s in scenarios},
            arms={
                s: baseline_first((k[2] for k in stats_by_key if k[0] == s), baseline)
                for s in scenarios
            },
            kpis=_by_group(list(units), groups),
            units=units,
            groups=groups,
            point_parameters=_point_parameters(points),
            better=better,
        )

    def stat(self, scenario: str, point: int, arm: str, kpi: str) -> Stat:
        return self.stats.get((scenario, point, arm, kpi), _NO_STAT)

    def headline(self, wanted: Sequence[str]) -> tuple[str, ...]:
        """The wanted KPIs that exist, by group, keeping the caller's order within one."""
        present = [kpi for kpi in dict.fromkeys(wanted) if kpi in self.units]
        return _by_group(present, self.groups)

    def verdict(self, scenario: str, point: int, arm: str, kpi: str) -> Verdict | None:
        """Whether ``arm`` changed ``kpi`` for the better or the worse against the
        baseline; ``None`` for the baseline itself and for a change that is not
        significant (a KPI that is zero in both arms never is)."""
        if arm == self.baseline:
            return None
        stat = self.stat(scenario, point, arm, kpi)
        if not stat.significant or (
            stat.zero and self.stat(scenario, point, self.baseline, kpi).zero
        ):
            return None
        direction = self.better.get(kpi)
        if direction is None:
            return "changed"
        rising = stat.diff > 0 if not math.isnan(stat.diff) else stat.change_pct > 0
        return "better" if rising == (direction == "higher") else "worse"

    def zero_kpis(self, scenario: str, point: int, kpis: Sequence[str]) -> tuple[str, ...]:
        """The ``kpis`` that are zero in every arm of this scenario and point: rows of
        zeros and p = 1.000 say nothing, so the report names them on one line."""
        arms = self.arms[scenario]
        return tuple(
            kpi
            for kpi in kpis
            if any((scenario, point, arm, kpi) in self.stats for arm in arms)
            and all(
                self.stat(scenario, point, arm, kpi).zero
                for arm in arms
                if (scenario, point, arm, kpi) in self.stats
            )
        )

    def unit(self, kpi: str) -> str:
        return self.units.get(kpi, "")

    def point_label(self, scenario: str, point: int) -> str:
        """Its parameters as ``a=1, b=2`` (empty when nothing varies)."""
        parameters = self.point_parameters.get((scenario, point), {})
        return ", ".join(f"{name}={value}" for name, value in parameters.items())

    def block_title(self, scenario: str, point: int) -> str:
        """The heading of one scenario and point, with its parameters when points matter."""
        label = self.point_label(scenario, point)
        if len(self.points[scenario]) == 1 and not label:
            return scenario
        return f"{scenario} · point {point}" + (f" ({label})" if label else "")


def baseline_first(arms: Iterable[str], baseline: str) -> tuple[str, ...]:
    """The distinct ``arms`` in order of appearance, ``baseline`` moved to the front."""
    unique = list(dict.fromkeys(arms))
    return tuple(sorted(unique, key=lambda arm: arm != baseline))


def _by_group(kpis: list[str], groups: dict[str, str]) -> tuple[str, ...]:
    # sorted() is stable, so the order within a group is kept.
    rank = {group: i for i, group in enumerate(GROUP_ORDER)}
    return tuple(sorted(kpis, key=lambda kpi: rank.get(groups.get(kpi, ""), len(rank))))


def _point_parameters(points: pd.DataFrame) -> dict[tuple[str, int], dict[str, str]]:
    """The formatted parameter values of every scenario and point (``params.`` dropped)."""
    columns = [c for c in points.columns if c not in ("scenario", "point")]
    parameters = {}
    for record in points.to_dict("records"):
        # A column may belong to another scenario's grid: missing values are skipped.
        parameters[(str(record["scenario"]), int(record["point"]))] = {
            str(name).removeprefix("params."): _format_parameter(record[name])
            for name in columns
            if not _is_missing(record[name])
        }
    return parameters


def _format_parameter(value: Any) -> str:
    if isinstance(value, bool | np.bool_ | str):
        return str(value)
    return format_number(value) if isinstance(value, int | float | np.number) else str(value)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
