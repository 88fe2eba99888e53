"""The report's sensitivity section and its terminal table, from indices given by hand."""

from __future__ import annotations

import math

import pandas as pd

from experiments.report.blocks import Heading, Image, Paragraph, Table
from experiments.report.sensitivity import format_sensitivity, sensitivity_section
from experiments.sensitivity import INDEX_COLUMNS, OUTPUT_COLUMNS, SensitivityResults

NAN = math.nan


def results(method: str = "sobol") -> SensitivityResults:
    measures = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma", "mu")
    rows = [
        ("line", "a", "wait_s", factor, measure, value, NAN if measure in ("sigma", "mu") else 0.05)
        for factor, base in (("params.rate", 0.6), ("params.servers", 0.3))
        for measure, value in zip(measures, (base, base + 0.1, base / 2), strict=False)
    ]
    outputs = [
        ("line", "a", "wait_s", "s", 64, 3, 120.0, 400.0, 0.02, ""),
        ("line", "a", "cost", "EUR", 64, 3, 0.0, 0.0, NAN, "the same at every point: no variance"),
    ]
    return SensitivityResults(
        method=method,
        factors=("params.rate", "params.servers"),
        indices=pd.DataFrame(rows, columns=list(INDEX_COLUMNS)),
        outputs=pd.DataFrame(outputs, columns=list(OUTPUT_COLUMNS)),
    )


def test_the_section_has_a_figure_a_table_of_indices_with_cis_and_what_they_rest_on():
    blocks = sensitivity_section(results(), points=256)
    assert blocks[0] == Heading(2, "Sensitivity")
    assert "at 256 design points" in blocks[1].text
    images = [block for block in blocks if isinstance(block, Image)]
    assert [image.name for image in images] == ["sensitivity-line-a.png"]
    assert images[0].png.startswith(b"\x89PNG")
    indices, basis = [block for block in blocks if isinstance(block, Table)]
    assert indices.columns == ("KPI", "unit", "factor", "S1 [95% CI]", "ST [95% CI]")
    assert [[cell.text for cell in row] for row in indices.rows] == [
        ["wait_s", "s", "params.rate", "0.6 [0.55, 0.65]", "0.7 [0.65, 0.75]"],
        ["", "", "params.servers", "0.3 [0.25, 0.35]", "0.4 [0.35, 0.45]"],
    ]
    assert basis.columns[-2:] == ("noise share", "sum of S1")
    assert [cell.text for cell in basis.rows[0]] == [
        "wait_s", "s", "64", "3", "120", "20", "2.0%", "0.9",
    ]  # fmt: skip
    assert blocks[-1] == Paragraph("Not analysed: cost: the same at every point: no variance.")


def test_morris_shows_mu_star_with_its_ci_and_sigma_and_mu_without():
    blocks = sensitivity_section(results("morris"), points=30)
    table = next(block for block in blocks if isinstance(block, Table))
    assert table.columns == ("KPI", "unit", "factor", "mu_star [95% CI]", "sigma", "mu")
    assert [cell.text for cell in table.rows[0]][3:] == ["0.6 [0.55, 0.65]", "0.7", "0.3"]
    assert "per whole range of the factor" in blocks[1].text


def test_the_terminal_table_aligns_the_indices_and_names_what_was_not_analysed():
    text = format_sensitivity(results())
    assert text.splitlines() == [
        "== line · a · wait_s (sobol, noise share at most 2.0%) ==",
        "factor                        S1                ST",
        "params.rate     0.6 [0.55, 0.65]  0.7 [0.65, 0.75]",
        "params.servers  0.3 [0.25, 0.35]  0.4 [0.35, 0.45]",
        "",
        "== line · a · cost: not analysed (the same at every point: no variance)",
        "",
        "[95% bootstrap CI]; first-order index; total index",
    ]
