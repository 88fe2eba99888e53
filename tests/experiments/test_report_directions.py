"""The report knows better from worse: the domain's direction colours a significant change
blue or vermilion and names it, zeros collapse to one line, a zero baseline has no %."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from experiments.report import format_headline, write_report
from experiments.report.sections import HEADLINE_COLUMNS
from experiments.report.text import ANSI_COLORS
from experiments.stats import PAIRED_COLUMNS, compare_arms, paired_difference

BASELINE = "fixed"
POINTS = pd.DataFrame({"scenario": ["grid"], "point": [0]})

# kpi -> (unit, better, baseline mean, arm mean, change CI in % or None when not significant)
KPIS = {
    "stops_mean": ("stops", "lower", 2.0, 2.594, (20.1, 39.3)),  # +29.7%: worse
    "trips_completed": ("trips", "higher", 1000.0, 1100.0, (5.0, 15.0)),  # +10%: better
    "queue_mean_veh": ("veh", "lower", 4.0, 3.9, None),  # -2.5%, CI includes 0
    "signal_decisions": ("decisions", "", 500.0, 600.0, (10.0, 30.0)),  # no direction
    "cost_labour": ("EUR", "lower", 0.0, 0.0, None),
    "cost_other": ("EUR", "lower", 0.0, 0.0, None),
    "emergency_brakes": ("events", "lower", 0.0, 3.0, None),  # from a baseline of 0
}


def summary(arms=(BASELINE, "adaptive"), kpis=KPIS):
    rows = []
    for arm in arms:
        for kpi, (unit, better, base, mean, ci) in kpis.items():
            is_base = arm == BASELINE
            value = base if is_base else mean
            row = {
                "scenario": "grid",
                "point": 0,
                "arm": arm,
                "kpi": kpi,
                "unit": unit,
                "group": "cost" if unit == "EUR" else "efficiency",
                "domain": "traffic",
                "better": better,
                "n": 5,
                "mean": value,
                "ci_low": value * 0.99,
                "ci_high": value * 1.01,
            }
            diff = mean - base
            if is_base:
                paired = (math.nan,) * 7
            elif base == 0:
                # No percentage from 0: the difference and its CI only.
                paired = (diff, diff - 2.0, diff + 2.0, 0.02, math.nan, math.nan, math.nan)
            else:
                low, high = ci if ci else (100 * diff / base - 5, 100 * diff / base + 5)
                paired = (diff, low * base / 100, high * base / 100, 0.01 if ci else 0.4)
                paired += (100 * diff / base, low, high)
            rows.append(row | dict(zip(PAIRED_COLUMNS, paired, strict=True)))
    return pd.DataFrame(rows)


def report(directory, frame, headline=tuple(KPIS)):
    files = write_report(
        directory,
        summary=frame,
        points=POINTS,
        runs=pd.DataFrame(),
        timeseries=pd.DataFrame(),
        manifest={},
        baseline=BASELINE,
        headline_kpis=headline,
        timeseries_probes=(),
        title="signals",
    )
    return files.html.read_text("utf-8"), files.markdown.read_text("utf-8")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    return report(tmp_path_factory.mktemp("report"), summary())


def cells_of(page, kpi):
    """The HTML cells of the rows from ``kpi``'s first row to the next KPI's."""
    table = page[page.index("<h2>Headline</h2>") : page.index("<h2>Figures</h2>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    start = next(i for i, row in enumerate(rows) if f"<td>{kpi}</td>" in row)
    return " ".join(rows[start : start + 2])


def test_a_significant_rise_of_a_lower_is_better_kpi_is_worse_in_vermilion_and_words(pages):
    page, markdown = pages
    assert '<td class="num sig worse">+29.7% [+20.1, +39.3] * worse</td>' in cells_of(
        page, "stops_mean"
    )
    assert "td.worse { color: #D55E00;" in page
    assert r"+29.7% [+20.1, +39.3] \* worse" in markdown


def test_a_significant_rise_of_a_higher_is_better_kpi_is_better_in_blue_and_words(pages):
    page, markdown = pages
    cells = cells_of(page, "trips_completed")
    assert '<td class="num sig better">+10.0% [+5.0, +15.0] * better</td>' in cells
    assert "td.better { color: #0072B2;" in page
    assert r"+10.0% [+5.0, +15.0] \* better" in markdown


def test_a_change_that_is_not_significant_is_not_highlighted(pages):
    page, _ = pages
    cells = cells_of(page, "queue_mean_veh")
    assert '<td class="num">-2.5% [-7.5, +2.5]</td>' in cells
    assert "better" not in cells.replace("<td>lower</td>", "")
    assert "worse" not in cells


def test_a_significant_change_of_a_kpi_without_direction_is_marked_but_not_judged(pages):
    page, _ = pages
    assert '<td class="num sig">+20.0% [+10.0, +30.0] *</td>' in cells_of(page, "signal_decisions")


def test_kpis_zero_in_every_arm_are_one_line_not_rows(pages):
    page, markdown = pages
    assert page.count("all zero: cost_labour, cost_other") == 2  # headline and statistics
    assert "<td>cost_labour</td>" not in page
    assert "p = 1.000" not in page
    assert "all zero: cost_labour, cost_other" in markdown


def test_a_change_from_a_zero_baseline_is_a_difference_never_a_percentage(pages):
    page, _ = pages
    cells = cells_of(page, "emergency_brakes")
    assert "+3 [+1, +5] vs 0 * worse" in cells
    assert "%" not in cells


@pytest.mark.parametrize("arms", [2, 7])
def test_the_headline_table_has_arms_as_rows_so_its_width_does_not_grow(tmp_path, arms):
    names = (BASELINE, *(f"arm-{i}" for i in range(1, arms)))
    page, _ = report(tmp_path, summary(names))
    table = page[page.index("<h2>Headline</h2>") : page.index("<h2>Figures</h2>")]
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", table).group(1)
    assert header.count("<th>") == len(HEADLINE_COLUMNS) == 8
    assert "max-width: 1250px" in page
    assert (
        "table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: .88em; "
        "max-width: 100%; }" in page
    )


def test_the_terminal_table_says_better_or_worse_and_colours_only_on_request():
    plain = format_headline(summary(), POINTS, BASELINE, list(KPIS))
    assert "(+29.7% ±9.6)* worse" in plain
    assert "(+10.0% ±5.0)* better" in plain
    assert "3.9 (-2.5% ±5.0)\n" in plain  # not significant: neither marked nor judged
    assert "all zero: cost_labour, cost_other" in plain
    assert "\033[" not in plain
    coloured = format_headline(summary(), POINTS, BASELINE, list(KPIS), color=True)
    assert f"{ANSI_COLORS['worse']}" in coloured
    assert f"{ANSI_COLORS['better']}" in coloured
    # Colour codes do not shift the columns: stripped, the two tables are the same.
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == plain


def test_an_unchanged_zero_kpi_is_never_significant():
    zeros = np.zeros(5)
    same = paired_difference(zeros, zeros)
    assert (same.p_value, same.difference.mean, same.difference.halfwidth) == (1.0, 0.0, 0.0)
    # Rounding noise on an otherwise equal KPI is no change either.
    base = np.array([0.1 + 0.2, 0.6, 0.9, 1.2, 1.5])
    noisy = base + 1e-17
    assert paired_difference(noisy, base).p_value == 1.0
    tidy = pd.DataFrame(
        {
            "arm": ["a"] * 5 + ["b"] * 5,
            "replication": list(range(5)) * 2,
            "kpi": "cost_other",
            "value": 0.0,
        }
    )
    row = compare_arms(tidy, "a").set_index("arm").loc["b"]
    assert (row["p_value"], row["diff_low"], row["diff_high"]) == (1.0, 0.0, 0.0)


EMISSIONS = {
    "co2e_kg": ("kg CO2e", "lower", 50.0, 45.0, (-15.0, -5.0)),
    "co2e_diesel_kg": ("kg CO2e", "lower", 50.0, 45.0, (-15.0, -5.0)),
    "energy_kwh": ("kWh", "lower", 20.0, 18.0, (-15.0, -5.0)),
    "energy_busy_kwh": ("kWh", "", 20.0, 18.0, (-15.0, -5.0)),
}


@pytest.mark.parametrize(
    ("domain", "kpis", "caption"),
    [
        # A traffic run books fuel by carrier and records no energy by state.
        ("traffic", ("co2e_kg", "co2e_diesel_kg"), "Emissions by carrier, mean per arm."),
        ("factory", tuple(EMISSIONS), "Emissions by carrier and energy by state, mean per arm."),
    ],
)
def test_the_emissions_caption_names_what_the_domain_recorded(tmp_path, domain, kpis, caption):
    frame = summary(kpis={kpi: EMISSIONS[kpi] for kpi in kpis}).assign(domain=domain)
    page, _ = report(tmp_path, frame, headline=("co2e_kg",))
    assert f"<figcaption>{caption}" in page
    if domain == "traffic":
        assert "energy by" not in page


def test_a_batch_summary_carries_each_kpis_direction_from_the_domain(tmp_path):
    from experiments.runner import run_experiment
    from tests.experiments.support import station_experiment

    results = run_experiment(
        station_experiment(tmp_path), tmp_path / "out", executor="inprocess", report=False
    )
    stored = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    better = stored.drop_duplicates("kpi").set_index("kpi")["better"]
    assert better["wait_mean_s"] == "lower"  # the station domain's word
    assert better["throughput_per_h"] == "higher"
    assert better["cost_total"] == "lower"  # the ledger's
    assert better["arrived"] == ""  # neither way is better
    assert set(stored["domain"]) == {"station"}
    assert results.summary.equals(stored)
