"""assert_not_worse: paired replications on common random numbers, a one-sided test."""

from __future__ import annotations

import shlex

import pandas as pd
import pytest

from tests.testing.broken import RejectsAtRandom
from twin.cli import main
from twin.core.scenario import ScenarioConfig
from twin.testing import CheckFailed, assert_not_worse

BUSY = ScenarioConfig(
    id="station/mmc-v0",
    horizon_s=2 * 86_400.0,
    params={"arrival_rate_per_s": 1 / 55, "servers": 2},
)


def test_a_policy_that_loses_fails_with_a_table_and_the_commands_of_its_worst_run(
    tmp_path, monkeypatch, capsys
):
    with pytest.raises(CheckFailed) as caught:
        assert_not_worse(
            RejectsAtRandom(),
            "admission/admit-all-v0",
            [BUSY],
            "throughput_per_h",
            better="higher",
            margin=0.01,
            replications=4,
        )
    text = str(caught.value)
    assert "throughput_per_h [jobs/h], higher is better, margin 1.0%" in text
    assert "difference (95% CI)" in text
    assert "LOSES" in text
    comparison = caught.value.report.comparisons[0]
    assert all(p < b for p, b in zip(comparison.policy, comparison.baseline, strict=True))
    # The printed command replays the worst replication exactly.
    worst = int(comparison.loss.argmax())
    policy_line = next(line for line in text.splitlines() if line.strip().startswith("policy:"))
    args = shlex.split(policy_line.split("policy:", 1)[1])
    monkeypatch.chdir(tmp_path)
    assert main([*args[1:], "--out", "replay", "--quiet"]) == 0
    kpis = pd.read_parquet(tmp_path / "replay" / "kpis.parquet").set_index("kpi")["value"]
    assert kpis["throughput_per_h"] == comparison.policy[worst]


def test_the_same_policy_is_not_worse_than_itself_and_replications_are_paired():
    report = assert_not_worse(
        "admission/admit-all-v0",
        "admission/admit-all-v0",
        [BUSY],
        "wait_mean_s",
        better="lower",
        replications=3,
    )
    comparison = report.comparisons[0]
    assert comparison.policy == comparison.baseline  # common random numbers
    assert len(set(comparison.baseline)) == 3  # while replications differ
    assert comparison.p_value == 1.0


def test_a_better_policy_passes_and_a_margin_is_relative_to_the_baseline():
    report = assert_not_worse(
        "admission/queue-cap-v0",
        "admission/admit-all-v0",
        [BUSY],
        "wait_mean_s",
        better="lower",
        margin=0.05,
        replications=3,
    )
    comparison = report.comparisons[0]
    assert report.ok
    assert comparison.allowed_loss == pytest.approx(0.05 * sum(comparison.baseline) / 3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"better": "sideways"}, "better must be 'lower' or 'higher'"),
        ({"better": "lower", "replications": 1}, "at least 2 replications"),
        ({"better": "lower", "margin": -0.1}, "margin must be >= 0"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(options, message):
    with pytest.raises(ValueError, match=message):
        assert_not_worse("admission/admit-all-v0", "admission/admit-all-v0", [BUSY], "x", **options)


def test_an_unknown_kpi_names_the_known_ones():
    with pytest.raises(KeyError, match="has no KPI 'throughput'; it has"):
        assert_not_worse(
            "admission/admit-all-v0",
            "admission/admit-all-v0",
            [BUSY],
            "throughput",
            better="higher",
            replications=2,
        )
