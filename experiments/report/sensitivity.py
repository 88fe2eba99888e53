"""The sensitivity section of a report: how each KPI's variance divides among the factors.

Written for the results of :func:`experiments.sensitivity.analyse`: a short guide to the
method's measures, then per scenario and arm a figure (bars with CIs) and a table of
every index, and what the indices rest on (points, replications, replication noise).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from experiments.report.blocks import Block, Cell, Heading, Image, Paragraph, Table
from experiments.report.figures.sensitivity import index_bars
from experiments.report.figures.style import png_bytes
from experiments.report.numbers import MISSING, format_number
from experiments.sensitivity import MEASURE_NAMES, SensitivityResults
from experiments.stats import CONFIDENCE

GUIDES = {
    "sobol": (
        "Sobol' indices (Saltelli's estimators): the first-order index S1 of a factor is the "
        "share of the KPI's variance it explains alone; the total index ST adds every "
        "interaction it takes part in. ST − S1 large means the factor acts through "
        "interactions; S1 summing to well below 1 means interactions matter; ST near 0 "
        "means the KPI does not depend on the factor over its range."
    ),
    "fast": (
        "Extended FAST indices: the first-order index S1 of a factor is the share of the "
        "KPI's variance it explains alone; the total index ST adds every interaction it "
        "takes part in. FAST's bootstrap CIs are indicative only (SALib issue 649)."
    ),
    "morris": (
        "Morris elementary effects: a factor's effect is the change of the KPI when the "
        "factor alone moves one grid step, per whole range of the factor (so effects are in "
        "the KPI's unit and comparable across factors). mu* (the mean absolute effect) ranks "
        "the factors; sigma (their spread) large against mu* means the effect depends on "
        "the other factors or is non-linear. A screening: it ranks, it does not apportion "
        "variance."
    ),
}


SHORT_NAMES = {"S1": "first-order (S1)", "ST": "total (ST)", "mu_star": "mu*", "sigma": "sigma"}
"""Legend labels; the section's text says what each measure is."""


def _axis_label(method: str, unit: str) -> str:
    if method == "morris":
        return f"effect per factor range ({unit})" if unit else "effect per factor range"
    return "share of the KPI's variance"


def sensitivity_section(results: SensitivityResults, points: int) -> list[Block]:
    """The section's blocks; figures are Image blocks (written to ``figures/``)."""
    method = results.method
    blocks: list[Block] = [
        Heading(2, "Sensitivity"),
        Paragraph(
            f"{GUIDES[method]} Factors: {', '.join(results.factors)}, sampled uniformly over "
            f"their ranges at {points} design points. A point's KPI is its mean over the "
            f"point's replications; the whiskers and brackets are {CONFIDENCE:.0%} bootstrap "
            "confidence intervals. Noise share: the replication variance of a point mean "
            "(s²/n, averaged over points) against the variance of the point means; common "
            "random numbers make the noise partly shared between points, so this is an upper "
            "bound on the part of the spread that is noise (near 0: the indices describe the "
            "model; large: add replications)."
        ),
    ]
    outputs = results.outputs
    if outputs["arm"].str.contains(" − ", regex=False).any():
        blocks.append(
            Paragraph(
                "'arm − baseline' is the arm's paired change against the baseline, replication "
                "by replication on common random numbers: its indices say which factor decides "
                "how much the arm gains or loses."
            )
        )
    cells = list(dict.fromkeys(zip(outputs["scenario"], outputs["arm"], strict=True)))
    for scenario, arm in cells:
        title = f"{scenario} · {arm}" if len(cells) > 1 else scenario
        blocks.append(Heading(3, title))
        indices = results.indices[
            (results.indices["scenario"] == scenario) & (results.indices["arm"] == arm)
        ]
        of_cell = outputs[(outputs["scenario"] == scenario) & (outputs["arm"] == arm)]
        if not indices.empty:
            measures = results.measures
            units = dict(zip(of_cell["kpi"], of_cell["unit"], strict=True))
            figure = index_bars(
                indices,
                results.factors,
                measures,
                {m: SHORT_NAMES[m] for m in measures},
                f"{title}: {method} sensitivity",
                {kpi: _axis_label(method, unit) for kpi, unit in units.items()},
            )
            if figure is not None:
                blocks.append(
                    Image(
                        f"sensitivity-{_slug(scenario)}-{_slug(arm)}.png",
                        f"{title}: {' and '.join(MEASURE_NAMES[m] for m in measures)} per "
                        f"factor, with {CONFIDENCE:.0%} bootstrap CIs.",
                        png_bytes(figure),
                    )
                )
            blocks.append(_index_table(results, indices, of_cell))
            if (second := indices[indices["measure"] == "S2"]).shape[0]:
                blocks.append(_second_order_table(second))
        blocks.append(_outputs_table(results, of_cell))
        skipped = of_cell[of_cell["note"] != ""]
        if not skipped.empty:
            notes = "; ".join(f"{row.kpi}: {row.note}" for row in skipped.itertuples())
            blocks.append(Paragraph(f"Not analysed: {notes}."))
    return blocks


def _index_table(
    results: SensitivityResults, indices: pd.DataFrame, outputs: pd.DataFrame
) -> Table:
    measures = [*results.measures, *(["mu"] if results.method == "morris" else [])]
    units = dict(zip(outputs["kpi"], outputs["unit"], strict=True))
    by_key = indices.set_index(["kpi", "factor", "measure"])
    rows = []
    for kpi in dict.fromkeys(indices["kpi"]):
        for i, factor in enumerate(results.factors):
            cells = [Cell(kpi if i == 0 else ""), Cell(units.get(kpi, "") if i == 0 else "")]
            cells.append(Cell(factor))
            for measure in measures:
                key = (kpi, factor, measure)
                text = (
                    _with_ci(by_key.loc[key, "value"], by_key.loc[key, "conf"])
                    if key in by_key.index
                    else MISSING
                )
                cells.append(Cell(text, numeric=True))
            rows.append(tuple(cells))
    columns = ("KPI", "unit", "factor", *(_column(m) for m in measures))
    return Table(columns, tuple(rows))


def _second_order_table(second: pd.DataFrame) -> Table:
    rows = tuple(
        (Cell(row.kpi), Cell(row.factor), Cell(_with_ci(row.value, row.conf), numeric=True))
        for row in second.itertuples()
    )
    return Table(("KPI", "factors", _column("S2")), rows)


def _outputs_table(results: SensitivityResults, outputs: pd.DataFrame) -> Table:
    """What each KPI's indices rest on; for variance-based methods, the sum of S1."""
    s1_sums = (
        results.indices[results.indices["measure"] == "S1"]
        .groupby(["scenario", "arm", "kpi"])["value"]
        .sum()
    )
    with_sums = results.method in ("sobol", "fast")
    rows = []
    for row in outputs[outputs["note"] == ""].itertuples():
        cells = [
            Cell(row.kpi),
            Cell(row.unit),
            Cell(format_number(row.points), numeric=True),
            Cell(format_number(row.replications), numeric=True),
            Cell(format_number(row.mean), numeric=True),
            Cell(format_number(math.sqrt(row.variance)), numeric=True),
            Cell(_percent(row.noise_share), numeric=True),
        ]
        if with_sums:
            total = s1_sums.get((row.scenario, row.arm, row.kpi), math.nan)
            cells.append(Cell(format_number(total), numeric=True))
        rows.append(tuple(cells))
    columns = ["KPI", "unit", "points", "replications", "mean", "sd over points", "noise share"]
    if with_sums:
        columns.append("sum of S1")
    return Table(tuple(columns), tuple(rows))


def format_sensitivity(results: SensitivityResults) -> str:
    """The index table in plain text, for the terminal."""
    measures = results.measures
    lines: list[str] = []
    by_key = results.indices.set_index(["scenario", "arm", "kpi", "factor", "measure"])
    for row in results.outputs.to_dict("records"):
        header = f"== {row['scenario']} · {row['arm']} · {row['kpi']}"
        if row["note"]:
            lines += [f"{header}: not analysed ({row['note']})", ""]
            continue
        share = _percent(row["noise_share"])
        lines.append(f"{header} ({results.method}, noise share at most {share}) ==")
        table = [["factor", *measures]]
        for factor in results.factors:
            texts = [factor]
            for measure in measures:
                key = (row["scenario"], row["arm"], row["kpi"], factor, measure)
                found = key in by_key.index
                value = by_key.loc[key, "value"] if found else math.nan
                conf = by_key.loc[key, "conf"] if found else math.nan
                texts.append(_with_ci(value, conf))
            table.append(texts)
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            cells = [line[0].ljust(widths[0])]
            cells += [text.rjust(width) for text, width in zip(line[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells))
        lines.append("")
    names = "; ".join(MEASURE_NAMES[m] for m in measures)
    lines.append(f"[{CONFIDENCE:.0%} bootstrap CI]; {names}")
    return "\n".join(lines)


def _with_ci(value: object, conf: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    half = float(conf)  # type: ignore[arg-type]
    if math.isnan(half):
        return format_number(number)
    low, high = format_number(number - half), format_number(number + half)
    return f"{format_number(number)} [{low}, {high}]"


def _column(measure: str) -> str:
    return f"{measure} [{CONFIDENCE:.0%} CI]" if measure not in ("sigma", "mu") else measure


def _percent(share: float) -> str:
    return MISSING if math.isnan(share) else f"{share:.1%}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"
