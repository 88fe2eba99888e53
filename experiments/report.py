"""Static report of a batch experiment: a self-contained HTML file and its markdown twin.

The report is assembled once as a list of neutral blocks (headings, paragraphs, tables,
images, code) and rendered twice, so the HTML and the markdown always say the same thing.
Figures are drawn on ``matplotlib.figure.Figure`` with its own Agg canvas, never pyplot:
rendering touches no global state and is safe in worker processes.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import tempfile
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from itertools import cycle
from pathlib import Path
from typing import Any, TypeAlias

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from scipy import stats

from experiments.stats import CONFIDENCE

GROUP_ORDER = ("efficiency", "cost", "emissions")
MISSING = "–"
SIGNIFICANT = "*"
DPI = 100
MAX_FIGURE_POINTS = 4
"""Figures show at most this many points of a scenario; the tables show all of them."""
MAX_TEXT_WIDTH = 150
"""``format_headline`` falls back to one line per arm and KPI beyond this width."""

BASELINE_COLOR = "#5a5a5a"
# tab10 without its grey, which is kept for the baseline so it stands apart.
ARM_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)
COST_CATEGORY = re.compile(r"^cost_(?!total$)(.+)$")
CO2E_CARRIER = re.compile(r"^co2e_(.+)_kg$")
ENERGY_STATE = re.compile(r"^energy_(.+)_kwh$")

StatKey: TypeAlias = tuple[str, int, str, str]
"""``(scenario, point, arm, kpi)``."""


@dataclass(frozen=True)
class ReportFiles:
    """The files one report consists of."""

    html: Path
    markdown: Path
    figures: tuple[Path, ...]


# --- numbers -------------------------------------------------------------------------


def format_number(value: Any) -> str:
    """About 4 significant digits, thousands separators from 1,000 up, NaN as "–"."""
    number = _float(value)
    if math.isnan(number):
        return MISSING
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    if number == 0:
        return "0"
    return f"{number:.4g}"


def format_change(percent: float, *, suffix: str = "%") -> str:
    """A signed percentage with one decimal (two significant digits when tiny)."""
    if math.isnan(percent):
        return MISSING
    if percent == 0 or abs(percent) >= 0.1:
        return f"{percent:+,.1f}{suffix}"
    return f"{percent:+.2g}{suffix}"


def format_p(p_value: float) -> str:
    """A p-value with three decimals, or "<0.001"."""
    if math.isnan(p_value):
        return MISSING
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def _float(value: Any) -> float:
    """``value`` as a float; NaN for None, pd.NA and anything non-numeric."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# --- the experiment's numbers, indexed ---------------------------------------------------


@dataclass(frozen=True)
class _Stat:
    """One summary row: an arm's KPI estimate and its change against the baseline."""

    mean: float
    ci_low: float
    ci_high: float
    n: float
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
    def significant(self) -> bool:
        """The paired CI of the change excludes 0 (a NaN bound never counts)."""
        for low, high in (
            (self.diff_low, self.diff_high),
            (self.change_low_pct, self.change_high_pct),
        ):
            if not (math.isnan(low) or math.isnan(high)):
                return low > 0 or high < 0
        return False


_STAT_FIELDS = tuple(field.name for field in fields(_Stat))
_NO_STAT = _Stat(*(math.nan for _ in _STAT_FIELDS))


@dataclass(frozen=True)
class _Experiment:
    """The summary indexed by scenario, point, arm and KPI, in display order."""

    stats: dict[StatKey, _Stat]
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

    def stat(self, scenario: str, point: int, arm: str, kpi: str) -> _Stat:
        return self.stats.get((scenario, point, arm, kpi), _NO_STAT)

    def headline(self, wanted: Sequence[str]) -> tuple[str, ...]:
        """The wanted KPIs that exist, by group, keeping the caller's order within one."""
        present = [kpi for kpi in dict.fromkeys(wanted) if kpi in self.units]
        return _by_group(present, self.groups)

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


def _experiment(summary: pd.DataFrame, points: pd.DataFrame, baseline: str) -> _Experiment:
    """Index ``summary`` for lookups and fix the display order of everything."""
    records = summary.to_dict("records")
    stats_by_key: dict[StatKey, _Stat] = {}
    units: dict[str, str] = {}
    groups: dict[str, str] = {}
    for record in records:
        key = (str(record["scenario"]), int(record["point"]), str(record["arm"]))
        kpi = str(record["kpi"])
        stats_by_key[(*key, kpi)] = _Stat(*(_float(record.get(name)) for name in _STAT_FIELDS))
        unit = record.get("unit")
        units.setdefault(kpi, unit if isinstance(unit, str) else "")
        groups.setdefault(kpi, str(record.get("group", "")))
    scenarios = tuple(dict.fromkeys(key[0] for key in stats_by_key))
    return _Experiment(
        stats=stats_by_key,
        baseline=baseline,
        scenarios=scenarios,
        points={s: tuple(sorted({k[1] for k in stats_by_key if k[0] == s})) for s in scenarios},
        arms={
            s: _baseline_first((k[2] for k in stats_by_key if k[0] == s), baseline)
            for s in scenarios
        },
        kpis=_by_group(list(units), groups),
        units=units,
        groups=groups,
        point_parameters=_point_parameters(points),
    )


def _baseline_first(arms: Iterable[str], baseline: str) -> tuple[str, ...]:
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


# --- cell texts shared by the terminal, markdown and HTML ----------------------------------


def _mean_ci(stat: _Stat) -> str:
    return f"{format_number(stat.mean)} ± {format_number(stat.halfwidth)}"


def _change_ci(stat: _Stat) -> str:
    if math.isnan(stat.change_pct):
        return MISSING
    low = format_change(stat.change_low_pct, suffix="")
    high = format_change(stat.change_high_pct, suffix="")
    marker = f" {SIGNIFICANT}" if stat.significant else ""
    return f"{format_change(stat.change_pct)} [{low}, {high}]{marker}"


def _arm_label(arm: str, baseline: str, *, separator: str = " ") -> str:
    return f"{arm}{separator}(baseline)" if arm == baseline else arm


def _with_unit(kpi: str, unit: str) -> str:
    return f"{kpi} ({unit})" if unit else kpi


# --- terminal headline -----------------------------------------------------------------


def format_headline(
    summary: pd.DataFrame, points: pd.DataFrame, baseline: str, headline_kpis: Sequence[str]
) -> str:
    """Plain-text headline table for the terminal (printed by `twin run` / `make demo`)."""
    experiment = _experiment(summary, points, baseline)
    kpis = experiment.headline(headline_kpis)
    lines: list[str] = []
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            lines.append(f"== {experiment.block_title(scenario, point)} ==")
            lines += _text_block(experiment, scenario, point, kpis)
            lines.append("")
    lines.append(
        f"mean ± {CONFIDENCE:.0%} CI half-width; (change vs baseline in % ± its CI "
        f"half-width, paired replications); {SIGNIFICANT} = the change's CI excludes 0"
    )
    if absent := [kpi for kpi in headline_kpis if kpi not in experiment.units]:
        lines.append(f"not in the results: {', '.join(absent)}")
    return "\n".join(lines)


def _text_block(
    experiment: _Experiment, scenario: str, point: int, kpis: Sequence[str]
) -> list[str]:
    """One scenario/point as a KPI x arm grid, or one line per KPI and arm if too wide."""
    arms = experiment.arms[scenario]
    header = ["KPI"] + [_arm_label(arm, experiment.baseline) for arm in arms]
    rows = [
        [_with_unit(kpi, experiment.unit(kpi))]
        + [
            _text_cell(experiment.stat(scenario, point, arm, kpi), arm == experiment.baseline)
            for arm in arms
        ]
        for kpi in kpis
    ]
    grid = _text_grid([header, *rows])
    if max(map(len, grid), default=0) <= MAX_TEXT_WIDTH:
        return grid
    long_rows = [
        [row[0], name, cell] for row in rows for name, cell in zip(header[1:], row[1:], strict=True)
    ]
    return _text_grid([["KPI", "arm", "value"], *long_rows], left=2)


def _text_cell(stat: _Stat, is_baseline: bool) -> str:
    if is_baseline:
        return _mean_ci(stat)
    if math.isnan(stat.change_pct):
        return f"{format_number(stat.mean)} (n/a)"
    # A blank in place of the marker keeps the right-aligned cells' brackets in line.
    marker = SIGNIFICANT if stat.significant else " "
    change = format_change(stat.change_pct)
    spread = f"{stat.change_halfwidth:.1f}" if not math.isnan(stat.change_halfwidth) else MISSING
    return f"{format_number(stat.mean)} ({change} ±{spread}){marker}"


def _text_grid(rows: list[list[str]], *, left: int = 1) -> list[str]:
    """Columns two spaces apart, the first ``left`` left-aligned, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: list[str]) -> str:
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    lines = [line(row) for row in rows]
    return [lines[0], "-" * max(map(len, lines)), *lines[1:]]


# --- the document, rendered twice ---------------------------------------------------------


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Paragraph:
    text: str


@dataclass(frozen=True)
class _Cell:
    text: str
    numeric: bool = False
    significant: bool = False


@dataclass(frozen=True)
class _Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[_Cell, ...], ...]


@dataclass(frozen=True)
class _Image:
    name: str
    """File name under ``figures/``."""
    caption: str
    png: bytes


@dataclass(frozen=True)
class _Code:
    text: str
    language: str


_Block: TypeAlias = _Heading | _Paragraph | _Table | _Image | _Code


def _intro(baseline: str) -> list[_Block]:
    return [
        _Heading(2, "How to read this report"),
        _Paragraph(
            "All arms ran the same replications on common random numbers: replication i of "
            "every arm saw the same arrivals, failures and demand. An arm's KPI is the mean "
            f"over its replications with a {CONFIDENCE:.0%} Student-t confidence interval "
            "(shown as mean ± half-width). A change is the paired difference arm − baseline, "
            f"replication by replication, against the baseline arm '{baseline}', in percent "
            f"of the baseline mean, with its {CONFIDENCE:.0%} CI and paired-t p-value. A change "
            f"whose CI excludes 0 is marked {SIGNIFICANT} (significant). The report shows the "
            "sign of a change only: whether higher is better depends on the KPI."
        ),
    ]


def _headline_section(experiment: _Experiment, headline_kpis: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "Headline")]
    kpis = experiment.headline(headline_kpis)
    if absent := [kpi for kpi in headline_kpis if kpi not in experiment.units]:
        blocks.append(_Paragraph(f"Headline KPIs not in the results: {', '.join(absent)}."))
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            blocks.append(_Heading(3, experiment.block_title(scenario, point)))
            blocks.append(_headline_table(experiment, scenario, point, kpis))
    return blocks


def _headline_table(
    experiment: _Experiment, scenario: str, point: int, kpis: Sequence[str]
) -> _Table:
    """KPIs as rows; per arm its mean ± CI, and for the others the change and p."""
    arms = experiment.arms[scenario]
    columns = ["group", "KPI", "unit"]
    for arm in arms:
        columns.append(f"{_arm_label(arm, experiment.baseline)}: mean ± CI")
        if arm != experiment.baseline:
            columns += [f"{arm}: change % [{CONFIDENCE:.0%} CI]", f"{arm}: p"]
    rows = []
    for i, kpi in enumerate(kpis):
        group = experiment.groups[kpi]
        # The group is named once, on its first row, so the table reads as sections.
        shown = group if i == 0 or experiment.groups[kpis[i - 1]] != group else ""
        cells = [_Cell(shown), _Cell(kpi), _Cell(experiment.unit(kpi))]
        for arm in arms:
            stat = experiment.stat(scenario, point, arm, kpi)
            cells.append(_Cell(_mean_ci(stat), numeric=True))
            if arm != experiment.baseline:
                cells.append(_Cell(_change_ci(stat), numeric=True, significant=stat.significant))
                cells.append(_Cell(format_p(stat.p_value), numeric=True))
        rows.append(tuple(cells))
    return _Table(tuple(columns), tuple(rows))


_STATISTICS_COLUMNS = (
    "group",
    "KPI",
    "unit",
    "arm",
    "n",
    f"mean [{CONFIDENCE:.0%} CI]",
    f"change % [{CONFIDENCE:.0%} CI]",
    "p",
)


def _statistics_section(experiment: _Experiment) -> list[_Block]:
    """Every KPI of every arm, per scenario and point."""
    blocks: list[_Block] = [_Heading(2, "All statistics")]
    for scenario in experiment.scenarios:
        for point in experiment.points[scenario]:
            keys = [
                (scenario, point, arm, kpi)
                for kpi in experiment.kpis
                for arm in experiment.arms[scenario]
            ]
            rows = tuple(
                _statistics_row(experiment, key) for key in keys if key in experiment.stats
            )
            blocks.append(_Heading(3, experiment.block_title(scenario, point)))
            blocks.append(_Table(_STATISTICS_COLUMNS, rows))
    return blocks


def _statistics_row(experiment: _Experiment, key: StatKey) -> tuple[_Cell, ...]:
    _, _, arm, kpi = key
    stat = experiment.stats[key]
    is_baseline = arm == experiment.baseline
    mean = (
        f"{format_number(stat.mean)} [{format_number(stat.ci_low)}, {format_number(stat.ci_high)}]"
    )
    return (
        _Cell(experiment.groups[kpi]),
        _Cell(kpi),
        _Cell(experiment.unit(kpi)),
        _Cell(_arm_label(arm, experiment.baseline)),
        _Cell(format_number(stat.n), numeric=True),
        _Cell(mean, numeric=True),
        _Cell(
            MISSING if is_baseline else _change_ci(stat),
            numeric=True,
            significant=not is_baseline and stat.significant,
        ),
        _Cell(MISSING if is_baseline else format_p(stat.p_value), numeric=True),
    )


def _runs_section(runs: pd.DataFrame) -> list[_Block]:
    """Ok and failed counts per scenario and arm, then each failure's last error line."""
    blocks: list[_Block] = [_Heading(2, "Runs")]
    if runs.empty:
        return [*blocks, _Paragraph("No runs were recorded.")]
    # Anything but "ok" is a failure: a run that did not finish produced no KPIs.
    failed = runs["status"].ne("ok")
    counts = (
        runs.assign(ok=~failed, failed=failed)
        .groupby(["scenario", "arm"], sort=False)
        .agg(ok=("ok", "sum"), failed=("failed", "sum"), wall_s=("wall_s", "median"))
    )
    rows = tuple(
        (
            _Cell(str(scenario)),
            _Cell(str(arm)),
            _Cell(str(int(row.ok)), numeric=True),
            _Cell(str(int(row.failed)), numeric=True),
            _Cell(format_number(row.wall_s), numeric=True),
        )
        for (scenario, arm), row in counts.iterrows()
    )
    blocks.append(_Table(("scenario", "arm", "ok", "failed", "median wall time (s)"), rows))
    if failed.any():
        columns = ("run_id", "scenario", "point", "arm", "replication", "seed", "error (last line)")
        failures = tuple(
            (
                *(_Cell(str(record.get(c, MISSING))) for c in columns[:-1]),
                _Cell(_last_line(record.get("error"))),
            )
            for record in runs[failed].to_dict("records")
        )
        blocks += [_Heading(3, "Failed runs"), _Table(columns, failures)]
    return blocks


def _last_line(error: Any) -> str:
    """The last non-blank line of a traceback: the exception and its message."""
    if not isinstance(error, str) or not error.strip():
        return MISSING
    return error.strip().splitlines()[-1].strip()


def _manifest_section(manifest: dict[str, Any]) -> list[_Block]:
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str)
    return [_Heading(2, "Manifest"), _Code(text, "json")]


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ArmStyle:
    label: str
    color: str
    hatch: str | None
    linestyle: str


def _arm_styles(arms: Sequence[str], baseline: str) -> dict[str, _ArmStyle]:
    """Grey, hatched and dashed for the baseline; a distinct colour for every other arm."""
    colors = cycle(ARM_COLORS)
    return {
        arm: _ArmStyle(_plain(f"{arm} (baseline)"), BASELINE_COLOR, "//", "--")
        if arm == baseline
        else _ArmStyle(_plain(arm), next(colors), None, "-")
        for arm in arms
    }


def _plain(text: str) -> str:
    """``text`` for matplotlib, where a pair of "$" would start mathtext (e.g. in units)."""
    return text.replace("$", r"\$")


def _wrapped(text: str, width: int = 32) -> str:
    return _plain(textwrap.fill(text, width))


def _tick(value: float, _position: int) -> str:
    """Axis ticks formatted like the tables (thousands separators)."""
    return format_number(value)


def _new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global figure registry."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" entry, so the same report renders to the same bytes across versions.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figures_of(
    experiment: _Experiment,
    timeseries: pd.DataFrame,
    headline: Sequence[str],
    probes: Sequence[str],
) -> list[tuple[str, _Image]]:
    """Every figure of the report with the scenario it belongs to, in display order."""
    images: list[tuple[str, _Image]] = []

    def add(scenario: str, kind: str, figure: Figure | None, caption: str) -> None:
        if figure is not None:
            name = f"{len(images) + 1:02d}-{kind}-{_slug(scenario)}.png"
            images.append((scenario, _Image(name, caption, _png(figure))))

    for scenario in experiment.scenarios:
        shown = experiment.points[scenario][:MAX_FIGURE_POINTS]
        note = _points_note(experiment, scenario)
        add(
            scenario,
            "kpis",
            _kpi_bars(experiment, scenario, shown, headline),
            f"Headline KPIs per arm: mean with {CONFIDENCE:.0%} CI.{note}",
        )
        add(
            scenario,
            "changes",
            _forest(experiment, scenario, shown, headline),
            f"Change against the baseline in % with {CONFIDENCE:.0%} CI; filled markers "
            f"are significant.{note}",
        )
        add(
            scenario,
            "costs",
            _cost_breakdown(experiment, scenario, shown),
            f"Cost by category, mean per arm; diamonds are the total with its CI.{note}",
        )
        add(
            scenario,
            "emissions",
            _emissions_breakdown(experiment, scenario, shown),
            f"Emissions by carrier and energy by machine state, mean per arm.{note}",
        )
        for point in shown:
            add(
                scenario,
                f"timeseries-p{point}",
                _timeseries(experiment, timeseries, scenario, point, probes),
                f"Time series ({experiment.block_title(scenario, point)}): mean over "
                f"replications with a {CONFIDENCE:.0%} t-band.",
            )
    return images


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "scenario"


def _points_note(experiment: _Experiment, scenario: str) -> str:
    total = len(experiment.points[scenario])
    if total <= MAX_FIGURE_POINTS:
        return ""
    return f" Figures show the first {MAX_FIGURE_POINTS} of {total} points; tables show all."


def _point_axis(
    experiment: _Experiment, scenario: str, points: Sequence[int]
) -> tuple[list[str], str]:
    """Tick labels and axis label for several points of one scenario.

    A one-parameter sweep reads best as that parameter's values under its name; other
    grids name each point and list its parameters one per line.
    """
    parameters = [experiment.point_parameters.get((scenario, p), {}) for p in points]
    names = {tuple(values) for values in parameters}
    if len(names) == 1 and len(first := next(iter(names))) == 1:
        return [_plain(values[first[0]]) for values in parameters], _plain(first[0])
    ticks = [
        _plain("\n".join([f"point {p}", *(f"{k}={v}" for k, v in values.items())]))
        for p, values in zip(points, parameters, strict=True)
    ]
    return ticks, "point"


def _kpi_bars(
    experiment: _Experiment, scenario: str, points: Sequence[int], headline: Sequence[str]
) -> Figure | None:
    """One panel per headline KPI: a bar per arm (grouped by point) with CI whiskers."""
    kpis = experiment.headline(headline)
    if not kpis:
        return None
    arms = experiment.arms[scenario]
    styles = _arm_styles(arms, experiment.baseline)
    columns = min(3, len(kpis))
    rows = math.ceil(len(kpis) / columns)
    figure = _new_figure(3.4 * columns + 0.4, 2.8 * rows + 1.0)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    width = 0.8 / len(arms)
    groups = np.arange(len(points))
    for ax, kpi in zip(axes, kpis, strict=False):
        for i, arm in enumerate(arms):
            estimates = [experiment.stat(scenario, p, arm, kpi) for p in points]
            means = np.array([s.mean for s in estimates])
            errors = np.array(
                [[s.mean - s.ci_low for s in estimates], [s.ci_high - s.mean for s in estimates]]
            )
            style = styles[arm]
            ax.bar(
                groups + (i - (len(arms) - 1) / 2) * width,
                means,
                width,
                yerr=errors,
                capsize=3,
                color=style.color,
                hatch=style.hatch,
                edgecolor="white",
                label=style.label,
            )
        if len(points) == 1:
            # One point: name each bar by its arm so the panel reads without the legend.
            _arm_ticks(
                ax, (np.arange(len(arms)) - (len(arms) - 1) / 2) * width, arms, experiment.baseline
            )
        else:
            ticks, label = _point_axis(experiment, scenario, points)
            ax.set_xticks(groups, ticks, fontsize=8)
            ax.set_xlabel(label)
        ax.set_title(_wrapped(kpi), fontsize=10)
        ax.set_ylabel(_plain(experiment.unit(kpi) or "value"))
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(kpis) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(arms), 4))
    figure.suptitle(_plain(f"{scenario}: headline KPIs, mean ± {CONFIDENCE:.0%} CI per arm"))
    return figure


def _forest(
    experiment: _Experiment, scenario: str, points: Sequence[int], headline: Sequence[str]
) -> Figure | None:
    """Change vs the baseline in % with its CI: a row per KPI and arm, a panel per point."""
    arms = [arm for arm in experiment.arms[scenario] if arm != experiment.baseline]
    kpis = experiment.headline(headline)
    rows = [(kpi, arm) for kpi in kpis for arm in arms]
    if not rows:
        return None
    styles = _arm_styles(experiment.arms[scenario], experiment.baseline)
    width = 8.5 if len(points) == 1 else 3.0 + 2.8 * len(points)
    figure = _new_figure(width, 1.8 + 0.3 * len(rows))
    axes = figure.subplots(1, len(points), squeeze=False, sharey=True)[0]
    for ax, point in zip(axes, points, strict=True):
        for y, (kpi, arm) in enumerate(rows):
            stat = experiment.stat(scenario, point, arm, kpi)
            color = styles[arm].color
            ax.errorbar(
                [stat.change_pct],
                [y],
                xerr=[
                    [stat.change_pct - stat.change_low_pct],
                    [stat.change_high_pct - stat.change_pct],
                ],
                fmt="o",
                color=color,
                markerfacecolor=color if stat.significant else "white",
                capsize=3,
            )
            if len(points) == 1:
                # KPIs differ in scale, so small changes sit squeezed near 0: print them.
                ax.annotate(
                    _plain(_change_ci(stat)),
                    xy=(1.02, y),
                    xycoords=("axes fraction", "data"),
                    va="center",
                    fontsize=8,
                )
        for k in range(1, len(kpis)):
            ax.axhline(k * len(arms) - 0.5, color="0.85", linewidth=0.8)
        ax.axvline(0, color="black", linewidth=1)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("change vs baseline (%)")
        if len(points) > 1:
            ax.set_title(_plain(_point_heading(experiment, scenario, point)), fontsize=9)
    axes[0].set_yticks(
        range(len(rows)), [_plain(f"{kpi} · {arm}") for kpi, arm in rows], fontsize=8
    )
    axes[0].set_ylim(len(rows) - 0.5, -0.5)  # first KPI on top, as in the tables
    figure.legend(handles=_forest_legend(styles, arms), loc="outside lower center", ncols=4)
    figure.suptitle(
        _plain(f"{scenario}: change vs baseline '{experiment.baseline}' with {CONFIDENCE:.0%} CI")
    )
    return figure


def _forest_legend(styles: dict[str, _ArmStyle], arms: Sequence[str]) -> list[Artist]:
    handles: list[Artist] = [
        Line2D([], [], color=styles[arm].color, marker="o", label=styles[arm].label) for arm in arms
    ]
    for label, face in (("CI excludes 0", "black"), ("CI includes 0", "white")):
        handles.append(
            Line2D(
                [], [], color="black", marker="o", markerfacecolor=face, linestyle="", label=label
            )
        )
    return handles


@dataclass(frozen=True)
class _Parts:
    """The parts of one total to stack, per point and arm."""

    labels: list[str]
    """The part of each KPI name that varies (``cost_energy`` -> ``energy``)."""
    means: np.ndarray
    """``means[point, arm, part]``; NaN drawn as 0."""
    unit: str


def _breakdown(
    experiment: _Experiment, scenario: str, points: Sequence[int], pattern: re.Pattern[str]
) -> _Parts | None:
    """The KPIs matching ``pattern`` that are not zero everywhere, or None if none is."""
    kpis = [kpi for kpi in experiment.kpis if pattern.match(kpi)]
    arms = experiment.arms[scenario]
    means = np.array(
        [[[experiment.stat(scenario, p, a, k).mean for k in kpis] for a in arms] for p in points]
    ).reshape(len(points), len(arms), len(kpis))
    means = np.nan_to_num(means, nan=0.0)
    keep = np.any(means != 0, axis=(0, 1))
    if not keep.any():
        return None
    kept = [kpi for kpi, k in zip(kpis, keep, strict=True) if k]
    labels = [match.group(1) for kpi in kept if (match := pattern.match(kpi))]
    return _Parts(labels, means[:, :, keep], experiment.unit(kept[0]))


def _breakdown_figure(
    experiment: _Experiment,
    scenario: str,
    points: Sequence[int],
    panels: Sequence[tuple[re.Pattern[str], str, str]],
    title: str,
) -> Figure | None:
    """Stacked bars of the parts of totals: a row per breakdown, a column per point.

    Each breakdown is ``(pattern of the part KPIs, total KPI, panel name)``; one without
    any non-zero part is left out, and so is the figure when none is left.
    """
    rows = [
        (parts, total, name)
        for pattern, total, name in panels
        if (parts := _breakdown(experiment, scenario, points, pattern)) is not None
    ]
    if not rows:
        return None
    arms = len(experiment.arms[scenario])
    figure = _new_figure(2.6 + (0.8 + 0.7 * arms) * len(points), 0.6 + 3.8 * len(rows))
    axes = figure.subplots(len(rows), len(points), squeeze=False, sharey="row")
    for r, (parts, total, name) in enumerate(rows):
        for c, point in enumerate(points):
            ax = axes[r, c]
            handles = _stacked_panel(ax, experiment, scenario, point, parts.means[c], parts, total)
            heading = (
                name
                if len(points) == 1
                else f"{name}\n{_point_heading(experiment, scenario, point)}"
            )
            ax.set_title(_plain(heading), fontsize=9)
            if c == 0:
                ax.set_ylabel(_plain(parts.unit or "value"))
        axes[r, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    figure.suptitle(_plain(title))
    return figure


def _point_heading(experiment: _Experiment, scenario: str, point: int) -> str:
    label = experiment.point_label(scenario, point)
    return textwrap.fill(f"point {point}" + (f": {label}" if label else ""), 30)


def _stacked_panel(
    ax: Axes,
    experiment: _Experiment,
    scenario: str,
    point: int,
    means: np.ndarray,
    parts: _Parts,
    total: str,
) -> list[Artist]:
    """Stacked bars of ``means[arm, part]`` with the total KPI and its CI as markers.

    Positive and negative parts are stacked apart (a credit goes below zero).

    Returns:
        The legend handles: total first, then the parts from the top of the stack down.
    """
    arms = experiment.arms[scenario]
    x = np.arange(len(arms), dtype=float)
    colors = mpl.colormaps["tab10" if len(parts.labels) <= 10 else "tab20"].colors
    above = np.zeros(len(arms))
    below = np.zeros(len(arms))
    # Handles are built by hand: the bars' own would copy the baseline's hatching.
    handles: list[Artist] = []
    for j, label in enumerate(parts.labels):
        values = means[:, j]
        color = colors[j % len(colors)]
        bottom = np.where(values >= 0, above, below)
        container = ax.bar(x, values, 0.7, bottom=bottom, color=color, edgecolor="white")
        for patch, arm in zip(container.patches, arms, strict=True):
            if arm == experiment.baseline:
                patch.set_hatch("//")
        handles.append(Patch(facecolor=color, label=_plain(label)))
        above += np.clip(values, 0, None)
        below += np.clip(values, None, 0)
    # Reversed, so the legend lists the parts in the order they are stacked on screen.
    handles.reverse()
    totals = [experiment.stat(scenario, point, arm, total) for arm in arms]
    if any(not math.isnan(s.mean) for s in totals):
        handles.insert(
            0,
            ax.errorbar(
                x,
                [s.mean for s in totals],
                yerr=[[s.mean - s.ci_low for s in totals], [s.ci_high - s.mean for s in totals]],
                fmt="D",
                color="black",
                markersize=5,
                capsize=3,
                label=_plain(f"total ({total}) ± CI"),
            ),
        )
    _arm_ticks(ax, x, arms, experiment.baseline)
    ax.yaxis.set_major_formatter(FuncFormatter(_tick))
    ax.grid(axis="y", alpha=0.3)
    return handles


def _arm_ticks(ax: Axes, x: np.ndarray, arms: Sequence[str], baseline: str) -> None:
    """Arm names under their bars, slanted when long so neighbours do not overlap."""
    labels = [
        _plain(textwrap.fill(arm, 14) + ("\n(baseline)" if arm == baseline else "")) for arm in arms
    ]
    slanted = len(arms) > 2 and any(len(arm) > 10 for arm in arms)
    ax.set_xticks(
        x, labels, fontsize=8, rotation=30 if slanted else 0, ha="right" if slanted else "center"
    )


def _cost_breakdown(experiment: _Experiment, scenario: str, points: Sequence[int]) -> Figure | None:
    return _breakdown_figure(
        experiment,
        scenario,
        points,
        [(COST_CATEGORY, "cost_total", "cost by category (mean per arm)")],
        f"{scenario}: cost breakdown",
    )


def _emissions_breakdown(
    experiment: _Experiment, scenario: str, points: Sequence[int]
) -> Figure | None:
    """Emissions by carrier and, when recorded, energy by machine state below it."""
    return _breakdown_figure(
        experiment,
        scenario,
        points,
        [
            (CO2E_CARRIER, "co2e_kg", "emissions by carrier (mean per arm)"),
            (ENERGY_STATE, "energy_kwh", "energy by machine state (mean per arm)"),
        ],
        f"{scenario}: emissions and energy breakdown",
    )


def _timeseries(
    experiment: _Experiment,
    timeseries: pd.DataFrame,
    scenario: str,
    point: int,
    probes: Sequence[str],
) -> Figure | None:
    """One panel per probe: each arm's mean over replications with a t-band."""
    if timeseries.empty or not {"scenario", "point", "probe"}.issubset(timeseries.columns):
        return None
    data = timeseries[(timeseries["scenario"] == scenario) & (timeseries["point"] == point)]
    shown = [probe for probe in dict.fromkeys(probes) if (data["probe"] == probe).any()]
    if not shown:
        return None
    span = float(data["time_s"].max() - data["time_s"].min())
    scale, unit = (86_400.0, "days") if span > 2 * 86_400 else (3_600.0, "h")
    arms = _baseline_first(data["arm"].astype(str), experiment.baseline)
    styles = _arm_styles(arms, experiment.baseline)
    figure = _new_figure(9.0, 2.3 * len(shown) + 1.2)
    axes = figure.subplots(len(shown), 1, sharex=True, squeeze=False)[:, 0]
    for ax, probe in zip(axes, shown, strict=True):
        for arm in arms:
            series = data[(data["probe"] == probe) & (data["arm"] == arm)]
            if series.empty:
                continue
            band = _replication_band(series)
            time = band.index.to_numpy(dtype=float) / scale
            style = styles[arm]
            ax.plot(
                time, band["mean"], color=style.color, linestyle=style.linestyle, label=style.label
            )
            ax.fill_between(
                time, band["low"], band["high"], color=style.color, alpha=0.2, linewidth=0
            )
        ax.set_ylabel(_wrapped(probe, 24))
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(f"simulated time ({unit})")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(arms), 4))
    figure.suptitle(
        _plain(
            f"{experiment.block_title(scenario, point)}: mean over replications, "
            f"{CONFIDENCE:.0%} band"
        )
    )
    return figure


def _replication_band(series: pd.DataFrame) -> pd.DataFrame:
    """Mean and t-interval across replications at every sampled instant.

    Replications may sample at different instants (event-driven probes), so each one
    holds its last value until its next sample, and only within its own time span.
    """
    wide = series.pivot_table(index="time_s", columns="replication", values="value", aggfunc="mean")
    last = wide.apply(pd.Series.last_valid_index).to_numpy(dtype=float)
    held = wide.ffill().where(wide.index.to_numpy(dtype=float)[:, None] <= last[None, :])
    n = held.notna().sum(axis=1).to_numpy()
    mean = held.mean(axis=1).to_numpy()
    sd = held.std(axis=1, ddof=1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.where(n >= 2, n - 1, np.nan))
        halfwidth = t * sd / np.sqrt(n)
    return pd.DataFrame(
        {"mean": mean, "low": mean - halfwidth, "high": mean + halfwidth}, index=wide.index
    )


def _figure_section(images: Sequence[tuple[str, _Image]], several: bool) -> list[_Block]:
    blocks: list[_Block] = [_Heading(2, "Figures")]
    if not images:
        return [
            *blocks,
            _Paragraph(
                "No figures: none of the headline KPIs, breakdowns or probes is in the results."
            ),
        ]
    previous = None
    for scenario, image in images:
        if several and scenario != previous:
            blocks.append(_Heading(3, scenario))
            previous = scenario
        blocks.append(image)
    return blocks


# --- rendering ------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1250px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #eee; margin-top: 2em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: .88em; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tbody tr:nth-child(even) td { background: #fafafa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr td.sig { font-weight: 600; background: #fff3c4; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: .85em; }
"""


def _render_html(blocks: Sequence[_Block], title: str) -> str:
    """One self-contained page: inline CSS, figures as data URIs, every text escaped."""
    body = "\n".join(_html_block(block) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def _html_block(block: _Block) -> str:
    escape = html.escape
    match block:
        case _Heading(level, text):
            return f"<h{level}>{escape(text)}</h{level}>"
        case _Paragraph(text):
            return f"<p>{escape(text)}</p>"
        case _Table(columns, rows):
            head = "".join(f"<th>{escape(c)}</th>" for c in columns)
            body = "\n".join("<tr>" + "".join(map(_html_cell, row)) + "</tr>" for row in rows)
            return (
                f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
                f"<tbody>\n{body}\n</tbody>\n</table></div>"
            )
        case _Image(_, caption, png):
            data = base64.b64encode(png).decode("ascii")
            return (
                f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
        case _Code(text, language):
            return f'<pre><code class="language-{escape(language)}">{escape(text)}</code></pre>'
    raise TypeError(f"not a report block: {block!r}")


def _html_cell(cell: _Cell) -> str:
    classes = " ".join(
        name for name, on in (("num", cell.numeric), ("sig", cell.significant)) if on
    )
    attribute = f' class="{classes}"' if classes else ""
    return f"<td{attribute}>{html.escape(cell.text)}</td>"


def _render_markdown(blocks: Sequence[_Block], title: str) -> str:
    """GitHub-flavoured markdown; figures are links to ``figures/<name>.png``."""
    parts = [f"# {_md(title)}"] + [_markdown_block(block) for block in blocks]
    return "\n\n".join(parts) + "\n"


def _markdown_block(block: _Block) -> str:
    match block:
        case _Heading(level, text):
            return f"{'#' * level} {_md(text)}"
        case _Paragraph(text):
            return _md(text)
        case _Table(columns, rows):
            # A column is right-aligned when all its cells are numbers.
            align = [
                "---:" if rows and all(row[i].numeric for row in rows) else "---"
                for i in range(len(columns))
            ]
            lines = [_md_row(columns), _md_row(align, escape=False)]
            lines += [_md_row([cell.text for cell in row]) for row in rows]
            return "\n".join(lines)
        case _Image(name, caption, _):
            return f"![{_md(caption)}](figures/{name})\n\n*{_md(caption)}*"
        case _Code(text, language):
            # The fence must be longer than any run of backticks inside the text.
            longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
            fence = "`" * max(3, longest + 1)
            return f"{fence}{language}\n{text}\n{fence}"
    raise TypeError(f"not a report block: {block!r}")


def _md_row(cells: Iterable[str], *, escape: bool = True) -> str:
    texts = [_md(cell) if escape else cell for cell in cells]
    return "| " + " | ".join(texts) + " |"


def _md(text: str) -> str:
    """``text`` shown literally in markdown: no raw HTML, emphasis or table breaks."""
    return re.sub(r"([\\`*|<>])", r"\\\1", text.replace("\n", " "))


# --- files ---------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so that readers see the old file or the new one, never a part."""
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_report(
    directory: Path,
    *,
    summary: pd.DataFrame,
    points: pd.DataFrame,
    runs: pd.DataFrame,
    timeseries: pd.DataFrame,
    manifest: dict[str, Any],
    baseline: str,
    headline_kpis: Sequence[str],
    timeseries_probes: Sequence[str],
    title: str,
) -> ReportFiles:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` into ``directory``.

    Args:
        directory: an existing directory; ``figures/`` is created inside it.
        summary: one row per scenario, point, arm and KPI (means, CIs, paired changes).
        points: ``scenario, point`` and one column per varied parameter.
        runs: one row per run with its status, wall time and error.
        timeseries: tidy ``scenario, point, arm, replication, time_s, probe, value``;
            may be empty.
        manifest: the JSON-serialisable record of the experiment.
        baseline: the arm every other arm is compared with.
        headline_kpis: the KPIs of the headline table and figures (absent ones skipped).
        timeseries_probes: the probes to plot over time (absent ones skipped).
        title: the report's title.

    Returns:
        The paths written. Each file is replaced atomically.
    """
    experiment = _experiment(summary, points, baseline)
    images = _figures_of(experiment, timeseries, headline_kpis, timeseries_probes)
    blocks = [
        *_intro(baseline),
        *_headline_section(experiment, headline_kpis),
        *_figure_section(images, several=len(experiment.scenarios) > 1),
        *_statistics_section(experiment),
        *_runs_section(runs),
        *_manifest_section(manifest),
    ]
    figures_dir = directory / "figures"
    figures_dir.mkdir(exist_ok=True)
    figure_paths = tuple(figures_dir / image.name for _, image in images)
    for path, (_, image) in zip(figure_paths, images, strict=True):
        _write_atomic(path, image.png)
    # The markdown links to the figures, so it is written after them; the HTML last, as
    # the file a reader opens first.
    markdown = directory / "report.md"
    _write_atomic(markdown, _render_markdown(blocks, title).encode("utf-8"))
    page = directory / "report.html"
    _write_atomic(page, _render_html(blocks, title).encode("utf-8"))
    return ReportFiles(html=page, markdown=markdown, figures=figure_paths)
