"""The static report: self-contained, escaped, atomic, and showing the numbers it is given."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from experiments.report import ReportFiles, format_headline, format_number, write_report

BASELINE = "run-to-failure"
ARMS = (BASELINE, "condition", "<b>")
HEADLINE = ("availability", "throughput_parts", "cost_total", "co2e_kg", "not_a_kpi")
PROBES = ("wip_parts", "not_a_probe")

# kpi -> (group, unit, baseline mean)
KPIS = {
    "availability": ("efficiency", "1", 0.9),
    "throughput_parts": ("efficiency", "parts", 12_000.0),
    "cost_maintenance": ("cost", "EUR", 4_000.0),
    "cost_energy": ("cost", "EUR", 2_500.0),
    "cost_labour": ("cost", "EUR", 0.0),
    "cost_total": ("cost", "EUR", 6_500.0),
    "maintenance_corrective_cost": ("cost", "EUR", 3_000.0),
    "co2e_electricity_kg": ("emissions", "kg CO2e", 800.0),
    "co2e_diesel_kg": ("emissions", "kg CO2e", 150.0),
    "co2e_kg": ("emissions", "kg CO2e", 950.0),
    "energy_busy_kwh": ("emissions", "kWh", 2_000.0),
    "energy_idle_kwh": ("emissions", "kWh", 300.0),
    "energy_kwh": ("emissions", "kWh", 2_300.0),
}
# (arm, kpi) -> change % with its CI and p; every other change is +1% [-2, +4], p 0.5.
CHANGES = {
    ("condition", "cost_total"): (12.5, 5.0, 20.0, 0.004),  # CI excludes 0
    ("condition", "availability"): (-3.2, -8.0, 1.6, 0.18),  # CI includes 0
}


def make_summary(arms=ARMS, points=(0,), kpis=tuple(KPIS)):
    rows = []
    for point in points:
        for arm in arms:
            for kpi in kpis:
                group, unit, base = KPIS[kpi]
                change, low, high, p = CHANGES.get((arm, kpi), (1.0, -2.0, 4.0, 0.5))
                is_base = arm == BASELINE
                mean = base if is_base else base * (1 + change / 100)
                row = {
                    "scenario": "line",
                    "point": point,
                    "arm": arm,
                    "baseline": is_base,
                    "kpi": kpi,
                    "unit": unit,
                    "group": group,
                    "n": 3,
                    "mean": mean,
                    "ci_low": mean * 0.95,
                    "ci_high": mean * 1.05,
                }
                scale = abs(base) / 100 if base else math.nan
                changes = (
                    (math.nan,) * 7
                    if is_base
                    else (change * scale, low * scale, high * scale, p, change, low, high)
                )
                names = (
                    "diff",
                    "diff_low",
                    "diff_high",
                    "p_value",
                    "change_pct",
                    "change_low_pct",
                    "change_high_pct",
                )
                rows.append(row | dict(zip(names, changes, strict=True)))
    return pd.DataFrame(rows)


def make_runs(arms=ARMS):
    rows = [
        {
            "run_id": f"{arm}-r{replication}",
            "scenario": "line",
            "point": 0,
            "arm": arm,
            "policy": f"maintenance/{arm}",
            "replication": replication,
            "seed": 100 + replication,
            "status": "ok",
            "wall_s": 0.5,
            "error": None,
        }
        for arm in arms
        for replication in range(3)
    ]
    rows[-1] |= {
        "run_id": "doomed-run-7",
        "status": "failed",
        "error": "Traceback (most recent call last):\n  File 'x.py', line 1\n"
        "ValueError: buffer overflow <3>\n",
    }
    return pd.DataFrame(rows)


def make_timeseries(arms=ARMS):
    rng = np.random.default_rng(7)
    time_s = np.arange(0, 5 * 86_400, 3_600.0)
    frames = [
        pd.DataFrame(
            {
                "scenario": "line",
                "point": 0,
                "arm": arm,
                "replication": replication,
                "time_s": time_s,
                "probe": "wip_parts",
                "value": 10 + i + rng.normal(0, 1, len(time_s)),
            }
        )
        for i, arm in enumerate(arms)
        for replication in range(3)
    ]
    return pd.concat(frames, ignore_index=True)


def write(directory, *, summary=None, points=None, timeseries=None, arms=ARMS) -> ReportFiles:
    return write_report(
        directory,
        summary=make_summary(arms) if summary is None else summary,
        points=pd.DataFrame({"scenario": ["line"], "point": [0]}) if points is None else points,
        runs=make_runs(arms),
        timeseries=make_timeseries(arms) if timeseries is None else timeseries,
        manifest={"config": {"name": "demo <x>"}, "hash": "abc123", "versions": {"twin": "0.1"}},
        baseline=BASELINE,
        headline_kpis=HEADLINE,
        timeseries_probes=PROBES,
        title="Maintenance <policies> & costs",
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    files = write(directory)
    return directory, files, files.html.read_text("utf-8"), files.markdown.read_text("utf-8")


def test_report_files_exist_and_nothing_else_is_left_behind(report):
    directory, files, _, _ = report
    assert files.html == directory / "report.html"
    assert files.markdown == directory / "report.md"
    assert files.figures
    assert all(path.parent == directory / "figures" for path in files.figures)
    written = {path for path in directory.rglob("*") if path.is_file()}
    assert written == {files.html, files.markdown, *files.figures}


def test_html_is_self_contained(report):
    _, files, page, _ = report
    assert page.count('src="data:image/png;base64,') == len(files.figures)
    assert 'src="http' not in page
    assert 'href="http' not in page
    assert "figures/" not in page
    assert "<link" not in page
    assert "<script" not in page


def test_markdown_links_every_figure_that_exists(report):
    directory, files, _, markdown = report
    linked = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", markdown)
    assert sorted(directory / link for link in linked) == sorted(files.figures)
    assert all((directory / link).is_file() for link in linked)


def test_figures_are_the_expected_kinds(report):
    _, files, _, _ = report
    names = " ".join(path.name for path in files.figures)
    for kind in ("kpis", "changes", "costs", "emissions", "timeseries"):
        assert kind in names
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in files.figures)


def test_headline_shows_every_arm_and_the_known_change(report):
    _, _, page, markdown = report
    for text in (page, markdown):
        assert BASELINE in text
        assert "condition" in text
        assert "+12.5% [+5.0, +20.0]" in text
        assert "-3.2% [-8.0, +1.6]" in text
    assert "not_a_kpi" in page  # a headline KPI missing from the results is named


def test_significant_changes_are_marked_and_only_those(report):
    _, _, page, markdown = report
    assert '<td class="num sig">+12.5% [+5.0, +20.0] *</td>' in page
    assert '<td class="num">-3.2% [-8.0, +1.6]</td>' in page
    assert r"+12.5% [+5.0, +20.0] \*" in markdown
    assert r"-3.2% [-8.0, +1.6] \*" not in markdown


def test_text_is_escaped(report):
    _, _, page, markdown = report
    assert "<b>" not in page
    assert "&lt;b&gt;" in page
    assert "Maintenance &lt;policies&gt; &amp; costs" in page
    assert "demo &lt;x&gt;" in page  # the manifest, too
    assert r"\<b\>" in markdown
    assert "<b>" not in markdown


def test_runs_count_failures_and_show_the_last_error_line(report):
    _, _, page, markdown = report
    assert "doomed-run-7" in page
    assert "ValueError: buffer overflow &lt;3&gt;" in page
    assert "Traceback" not in page
    assert "doomed-run-7" in markdown


def test_manifest_is_pretty_json(report):
    _, _, page, markdown = report
    assert '<pre><code class="language-json">{\n  &quot;config&quot;' in page
    assert '```json\n{\n  "config": {\n    "name": "demo <x>"' in markdown


def test_a_zero_width_interval_off_by_rounding_still_draws(tmp_path, monkeypatch):
    # Paired differences that are all equal: the interval's bounds equal the change
    # up to rounding, and matplotlib refuses a negative error bar.
    change = 0.1 + 0.2
    monkeypatch.setitem(
        CHANGES, ("condition", "cost_total"), (change, 0.3000000000000001, 0.3, 0.0)
    )
    files = write(tmp_path, summary=make_summary(ARMS[:2]), arms=ARMS[:2])
    assert any("forest" in path.name or "change" in path.name for path in files.figures)


def test_empty_timeseries_gives_no_timeseries_figure(tmp_path):
    summary = make_summary(ARMS[:2], kpis=("availability", "cost_energy"))
    files = write(tmp_path, summary=summary, timeseries=pd.DataFrame(), arms=ARMS[:2])
    names = [path.name for path in files.figures]
    assert names
    assert not [name for name in names if "timeseries" in name]


def test_several_points_are_labelled_by_their_parameters(tmp_path):
    summary = make_summary(ARMS[:2], points=(0, 1), kpis=("availability", "cost_total"))
    points = pd.DataFrame(
        {
            "scenario": ["line", "line"],
            "point": [0, 1],
            "params.downtime_cost_per_h": [100.0, 250.0],
        }
    )
    files = write(
        tmp_path, summary=summary, points=points, timeseries=pd.DataFrame(), arms=ARMS[:2]
    )
    page = files.html.read_text("utf-8")
    assert "line · point 0 (downtime_cost_per_h=100)" in page
    assert "line · point 1 (downtime_cost_per_h=250)" in page


def test_format_headline_names_the_baseline_and_every_arm():
    points = pd.DataFrame({"scenario": ["line"], "point": [0]})
    text = format_headline(make_summary(), points, BASELINE, HEADLINE)
    assert f"{BASELINE} (baseline)" in text
    assert all(arm in text for arm in ARMS)
    assert "(+12.5% ±7.5)*" in text
    assert "(-3.2% ±4.8)" in text
    assert "(-3.2% ±4.8)*" not in text
    assert "maintenance_corrective_cost" not in text  # not a headline KPI
    legend = text.splitlines()[-2]
    assert "±" in legend
    assert "*" in legend
    assert max(len(line) for line in text.splitlines()[:-2]) <= 150


def test_format_headline_orders_kpis_by_group():
    points = pd.DataFrame({"scenario": ["line"], "point": [0]})
    text = format_headline(
        make_summary(), points, BASELINE, ["co2e_kg", "cost_total", "availability"]
    )
    assert text.index("availability") < text.index("cost_total") < text.index("co2e_kg")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_234_567.8, "1,234,568"),
        (1234.4, "1,234"),
        (12.3456, "12.35"),
        (0.0123456, "0.01235"),
        (0.0, "0"),
        (math.nan, "–"),
        (None, "–"),
    ],
)
def test_format_number(value, expected):
    assert format_number(value) == expected


def test_effects_put_each_arms_change_in_every_headline_kpi_on_one_row(report):
    _, _, page, markdown = report
    effects = markdown.split("## Effects", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in effects.splitlines() if line.startswith("| arm"))
    assert header.split("|")[2:-1] == [
        f" {kpi} " for kpi in ("availability", "throughput_parts", "cost_total", "co2e_kg")
    ]
    condition = next(line for line in effects.splitlines() if line.startswith("| condition"))
    assert condition.split("|")[1:-1] == [
        " condition ",
        " -3.2% ",
        " +1.0% ",
        r" +12.5% \* ",
        " +1.0% ",
    ]
    assert "Effects" in page


def test_no_effects_table_with_a_single_arm_against_the_baseline(tmp_path):
    markdown = write(tmp_path, arms=(BASELINE, "condition")).markdown.read_text("utf-8")
    assert "## Effects" not in markdown
