"""Sensitivity designs: SALib's indices from a batch, checked on functions with known answers."""

from __future__ import annotations

import math
import textwrap
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from experiments.config import parse_experiment
from experiments.runner import run_experiment
from experiments.sensitivity import analyse
from tests.experiments.support import station_experiment
from twin.core.errors import ConfigError
from twin.testing.analytic import ishigami_indices

PI = math.pi
ISHIGAMI = """
name = "ishigami"
seed = {seed}

[[scenarios]]
id = "twin.testing.analytic:Ishigami"
horizon_s = 1
params = {{ a = {a}, b = {b}, noise_sd = {noise_sd} }}

[[arms]]
name = "closed-form"
policy = "twin.testing.analytic:NoDecisions"

[design]
{design}
kpis = ["y"]

[design.factors]
"params.x1" = {{ low = {low}, high = {high} }}
"params.x2" = {{ low = {low}, high = {high} }}
"params.x3" = {{ low = {low}, high = {high} }}

[replications]
count = 2
"""


def ishigami_experiment(
    tmp_path: Path,
    design: str,
    *,
    seed: int = 1,
    a: float = 7.0,
    b: float = 0.1,
    noise_sd: float = 0.0,
) -> Path:
    text = ISHIGAMI.format(seed=seed, a=a, b=b, noise_sd=noise_sd, design=design, low=-PI, high=PI)
    path = tmp_path / "ishigami.toml"
    path.write_text(textwrap.dedent(text))
    return path


def indices_of(directory: Path) -> pd.DataFrame:
    frame = pd.read_parquet(directory / "sensitivity.parquet")
    return frame.assign(factor=frame["factor"].str.removeprefix("params."))


@pytest.mark.slow
def test_sobol_indices_of_the_ishigami_function_hold_the_analytic_values_in_their_cis(tmp_path):
    config = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 256')
    results = run_experiment(config, tmp_path / "out", executor="inprocess")
    assert len(results.points) == 256 * (3 + 2)
    indices = indices_of(tmp_path / "out")
    exact = ishigami_indices()
    for row in indices.itertuples():
        first, total = exact[row.factor]
        expected = first if row.measure == "S1" else total
        assert row.value - row.conf <= expected <= row.value + row.conf, row
    # ...and the intervals are narrow enough to tell a factor that acts alone (x1) from
    # one that acts only through an interaction (x3).
    assert set(indices["measure"]) == {"S1", "ST"}
    first = indices.query("measure == 'S1'").set_index("factor")
    assert first.loc["x1", "value"] - first.loc["x1", "conf"] > (
        first.loc["x3", "value"] + first.loc["x3", "conf"]
    )
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Sensitivity" in report
    assert "| y | 1 | params.x1 |" in report
    assert "figures/sensitivity-" in report
    assert results.headline().startswith("== twin.testing.analytic:Ishigami · closed-form · y")


@pytest.mark.slow
def test_second_order_sobol_indices_find_the_one_interaction(tmp_path):
    design = 'kind = "sobol"\nsamples = 128\nsecond_order = true'
    config = ishigami_experiment(tmp_path, design)
    results = run_experiment(config, tmp_path / "out", executor="inprocess", report=False)
    assert len(results.points) == 128 * (2 * 3 + 2)
    second = indices_of(tmp_path / "out").query("measure == 'S2'").set_index("factor")
    # Only x1 and x3 interact: V13 / V = ST3 for the Ishigami function.
    s13 = ishigami_indices()["x3"][1]
    x13 = second.loc["x1 × params.x3"]
    assert x13.value - x13.conf <= s13 <= x13.value + x13.conf
    for pair in ("x1 × params.x2", "x2 × params.x3"):
        assert (
            second.loc[pair].value - second.loc[pair].conf
            <= 0
            <= (second.loc[pair].value + second.loc[pair].conf)
        )


def test_morris_gives_no_effect_to_factors_the_output_does_not_depend_on(tmp_path):
    # a = b = 0: y = sin(x1), so every elementary effect of x2 and x3 is exactly zero.
    config = ishigami_experiment(tmp_path, 'kind = "morris"\ntrajectories = 20', a=0, b=0)
    results = run_experiment(config, tmp_path / "out", executor="inprocess", report=False)
    assert len(results.points) == 20 * (3 + 1)
    table = indices_of(tmp_path / "out").pivot(index="factor", columns="measure", values="value")
    assert table.loc["x2"].tolist() == [0.0, 0.0, 0.0]
    assert table.loc["x3"].tolist() == [0.0, 0.0, 0.0]
    # On 4 levels of [-pi, pi] a step is 2/3 of the range and goes from -pi to pi/3 or from
    # -pi/3 to pi: sin rises by sqrt(3)/2 either way, an effect of 3 sqrt(3) / 4 per range.
    assert table.loc["x1", "mu_star"] == pytest.approx(3 * math.sqrt(3) / 4)
    assert table.loc["x1", "sigma"] == pytest.approx(0.0, abs=1e-12)


def test_morris_ranks_the_ishigami_factors_and_sees_x3_act_through_x1(tmp_path):
    config = ishigami_experiment(tmp_path, 'kind = "morris"\ntrajectories = 40')
    run_experiment(config, tmp_path / "out", executor="inprocess", report=False)
    table = indices_of(tmp_path / "out").pivot(index="factor", columns="measure", values="value")
    # x3 alone explains nothing (S1 = 0), but its effects are large and of both signs.
    assert table.loc["x3", "mu_star"] > 1.0
    assert abs(table.loc["x3", "mu"]) < table.loc["x3", "mu_star"] / 2
    assert table.loc["x3", "sigma"] > table.loc["x3", "mu_star"] / 2


@pytest.mark.slow
def test_fast_first_order_indices_of_the_ishigami_function_are_close_to_the_analytic_ones(
    tmp_path,
):
    config = ishigami_experiment(tmp_path, 'kind = "fast"\nsamples = 257')
    results = run_experiment(config, tmp_path / "out", executor="inprocess", report=False)
    assert len(results.points) == 257 * 3
    indices = indices_of(tmp_path / "out").query("measure == 'S1'").set_index("factor")
    for factor, (first, _) in ishigami_indices().items():
        assert indices.loc[factor, "value"] == pytest.approx(first, abs=0.03)


@pytest.mark.slow  # a process pool starts: about 10 s on a busy machine
def test_the_analysis_of_one_worker_equals_that_of_two_and_a_resume_adds_nothing(tmp_path):
    design = 'kind = "sobol"\nsamples = 16'
    config = ishigami_experiment(tmp_path, design, noise_sd=0.5)
    run_experiment(config, tmp_path / "one", executor="inprocess", workers=1, report=False)
    run_experiment(config, tmp_path / "two", executor="process", workers=2, report=False)
    for name in ("sensitivity.parquet", "sensitivity_outputs.parquet", "kpis.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    resumed = run_experiment(config, tmp_path / "one", executor="inprocess", report=False)
    assert len(resumed.runs) == 16 * 5 * 2
    assert (tmp_path / "one" / "sensitivity.parquet").read_bytes() == (
        tmp_path / "two" / "sensitivity.parquet"
    ).read_bytes()


def test_replication_noise_is_measured_against_the_variance_of_the_point_means(tmp_path):
    config = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 32', noise_sd=3.0)
    run_experiment(config, tmp_path / "out", executor="inprocess")
    outputs = pd.read_parquet(tmp_path / "out" / "sensitivity_outputs.parquet")
    (row,) = outputs.itertuples()
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    kpis = pd.read_parquet(tmp_path / "out" / "kpis.parquet").query("kpi == 'y'")
    per_point = kpis.merge(runs, on="run_id").groupby("point")["value"]
    # The variance a point mean owes to noise (s^2 / n), against the spread of the means.
    expected = (per_point.var() / 2).mean() / per_point.mean().var()
    assert row.noise_share == pytest.approx(expected)
    assert row.noise_share > 0
    assert row.replications == 2
    assert "noise share" in (tmp_path / "out" / "report.md").read_text()


def test_without_noise_the_noise_share_is_zero(tmp_path):
    config = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 8')
    run_experiment(config, tmp_path / "out", executor="inprocess", report=False)
    outputs = pd.read_parquet(tmp_path / "out" / "sensitivity_outputs.parquet")
    assert outputs["noise_share"].tolist() == [0.0]


def test_an_output_that_never_varies_is_noted_not_analysed(tmp_path):
    config = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 8')
    text = config.read_text().replace('kpis = ["y"]', 'kpis = ["y", "cost_total"]')
    config.write_text(text)
    results = run_experiment(config, tmp_path / "out", executor="inprocess")
    assert results.sensitivity is not None
    outputs = results.sensitivity.outputs.set_index("kpi")
    assert outputs.loc["cost_total", "note"] == "the same at every point: no variance to apportion"
    assert set(results.sensitivity.indices["kpi"]) == {"y"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Not analysed: cost_total: the same at every point" in report
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count('<img src="data:image/png;base64,') == 1  # the bars with CIs
    written = {path.name for path in (tmp_path / "out").iterdir()}
    assert written == {
        "manifest.json",
        "parts",
        "runs.parquet",
        "kpis.parquet",
        "sensitivity.parquet",  # in place of summary.parquet
        "sensitivity_outputs.parquet",
        "report.html",
        "report.md",
        "figures",
    }


def problem(tmp_path: Path, design: str) -> str:
    path = ishigami_experiment(tmp_path, design)
    with pytest.raises(ConfigError) as caught:
        parse_experiment(tomllib.loads(path.read_text()), str(path))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_sobol_sample_size_must_be_a_power_of_two(tmp_path):
    message = problem(tmp_path, 'kind = "sobol"\nsamples = 100')
    expected = "ishigami.toml: design.samples: Value error, must be a power of two (e.g. 64 or 128)"
    assert expected in message
    assert message.endswith("(got 100)")


def test_morris_levels_must_be_even_and_fast_needs_enough_samples(tmp_path):
    assert "design.levels: Value error, must be even" in problem(
        tmp_path, 'kind = "morris"\ntrajectories = 4\nlevels = 5'
    )
    assert "must exceed 4 * interference^2 = 64" in problem(tmp_path, 'kind = "fast"\nsamples = 64')


def test_a_sensitivity_design_needs_two_factors(tmp_path):
    path = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 8')
    text = path.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith('"params.x2"'))
    text = "\n".join(line for line in text.splitlines() if not line.startswith('"params.x3"'))
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_experiment(tomllib.loads(text), str(path))
    assert "needs at least two factors" in str(caught.value)


def test_an_unknown_kpi_to_analyse_is_refused_before_anything_runs(tmp_path):
    path = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 8')
    path.write_text(path.read_text().replace('kpis = ["y"]', 'kpis = ["z"]'))
    with pytest.raises(ConfigError) as caught:
        run_experiment(path, tmp_path / "out")
    assert "design.kpis: unknown KPI 'z'; the scenarios report:" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_point_without_a_finished_run_stops_the_analysis_of_its_output_with_a_note(tmp_path):
    config_path = ishigami_experiment(tmp_path, 'kind = "sobol"\nsamples = 8')
    results = run_experiment(config_path, tmp_path / "out", executor="inprocess", report=False)
    runs = results.runs.copy()
    # One replication of point 3 failed: its other replication still stands for it.
    runs.loc[(runs["point"] == 3) & (runs["replication"] == 0), "status"] = "failed"
    partly = analyse(results.config, runs, results.kpis, ["y"])
    assert partly.outputs["note"].tolist() == [""]
    assert partly.outputs["replications"].tolist() == [1]
    # Both failed: every point is needed, so the output is noted, not analysed.
    runs.loc[runs["point"] == 3, "status"] = "failed"
    broken = analyse(results.config, runs, results.kpis, ["y"])
    assert broken.indices.empty
    assert broken.outputs["note"].tolist() == [
        "1 of 40 points have no value (their runs failed, or the KPI is undefined there); "
        "the analysis needs every point"
    ]


def test_with_two_arms_the_paired_change_against_the_baseline_is_analysed_too(tmp_path):
    design = textwrap.dedent(
        """
        [design]
        kind = "morris"
        trajectories = 4
        kpis = ["wait_mean_s"]
        factors = { "params.arrival_rate_per_s" = { low = 0.008, high = 0.016 }, \
"params.servers" = { low = 2, high = 3, integer = true } }
        """
    )
    path = station_experiment(tmp_path, extra=design)
    results = run_experiment(path, tmp_path / "out", executor="inprocess", report=False)
    assert results.sensitivity is not None
    outputs = results.sensitivity.outputs
    assert outputs["arm"].tolist() == ["admit-all", "cap-3", "cap-3 − admit-all"]
    assert (outputs["note"] == "").all()
    # Every run finished, so the change at a point is the difference of the arms' means.
    change = outputs.set_index("arm")["mean"]
    assert change["cap-3 − admit-all"] == pytest.approx(change["cap-3"] - change["admit-all"])
    indices = results.sensitivity.indices
    assert set(indices["arm"]) == {"admit-all", "cap-3", "cap-3 − admit-all"}
    assert len(indices) == 3 * 2 * 3  # outputs x factors x (mu*, sigma, mu)


def test_only_scenario_keys_can_be_sensitivity_factors(tmp_path):
    path = ishigami_experiment(tmp_path, 'kind = "morris"\ntrajectories = 4')
    text = path.read_text().replace('"params.x3"', '"seed"')
    with pytest.raises(ConfigError) as caught:
        parse_experiment(tomllib.loads(text), str(path))
    assert "design: cannot vary 'seed'; allowed: 'params.<name>" in str(caught.value)
