"""Paired statistics, checked against a case computed by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.stats import compare_arms, estimate, kpi_group, paired_difference

# Five paired replications of a baseline and a policy (e.g. cost per day).
BASELINE = [10.0, 12.0, 9.0, 11.0, 13.0]
POLICY = [9.0, 10.5, 8.5, 10.0, 11.0]


def test_estimate_by_hand():
    # mean 11, sd sqrt(2.5) = 1.5811, t(0.975, 4) = 2.7764 -> halfwidth 1.9632
    result = estimate(BASELINE)
    assert result.mean == pytest.approx(11.0)
    assert result.halfwidth == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert (result.low, result.high) == pytest.approx((9.0368, 12.9632), abs=1e-4)


def test_paired_difference_by_hand():
    # differences -1, -1.5, -0.5, -1, -2: mean -1.2, sd sqrt(0.325) = 0.57009
    # t = -1.2 / (0.57009 / sqrt 5) = -4.7068 on 4 df -> two-sided p = 0.00927
    result = paired_difference(POLICY, BASELINE)
    assert result.difference.mean == pytest.approx(-1.2)
    assert result.difference.halfwidth == pytest.approx(
        2.776445 * math.sqrt(0.325) / math.sqrt(5), rel=1e-6
    )
    assert result.p_value == pytest.approx(0.00927, abs=5e-5)
    assert result.relative_change == pytest.approx(-1.2 / 11.0)


def test_pairing_is_what_makes_the_difference_visible():
    # The arms' own intervals overlap, yet the paired difference excludes zero.
    own_policy, own_base = estimate(POLICY), estimate(BASELINE)
    assert own_policy.high > own_base.low
    paired = paired_difference(POLICY, BASELINE)
    assert paired.difference.high < 0


def test_identical_arms_show_no_difference():
    result = paired_difference(BASELINE, BASELINE)
    assert (result.difference.mean, result.p_value) == (0.0, 1.0)


def test_too_few_or_unpaired_replications_are_refused():
    with pytest.raises(ValueError, match="at least 2 replications"):
        estimate([1.0])
    with pytest.raises(ValueError, match="same replications"):
        paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])


def test_compare_arms_builds_one_row_per_arm_and_kpi():
    rows = []
    for replication, (b, p) in enumerate(zip(BASELINE, POLICY, strict=True)):
        rows += [
            {"arm": "baseline", "replication": replication, "kpi": "cost", "value": b},
            {"arm": "ai", "replication": replication, "kpi": "cost", "value": p},
        ]
    table = compare_arms(pd.DataFrame(rows), baseline="baseline")
    ai = table[table["arm"] == "ai"].iloc[0]
    assert ai["diff"] == pytest.approx(-1.2)
    assert ai["change_pct"] == pytest.approx(-100 * 1.2 / 11.0)
    assert np.isnan(table[table["arm"] == "baseline"].iloc[0]["diff"])
    with pytest.raises(ValueError, match="baseline arm 'rtf' is not among the arms"):
        compare_arms(pd.DataFrame(rows), baseline="rtf")


def test_non_finite_values_are_left_out_with_their_pair():
    # An MTBF with no failure is infinite: that replication cannot enter a mean or a pair.
    rows = []
    for replication, (b, p) in enumerate(zip(BASELINE, POLICY, strict=True)):
        p_value = math.inf if replication == 0 else p
        rows += [
            {"arm": "baseline", "replication": replication, "kpi": "mtbf_h", "value": b},
            {"arm": "ai", "replication": replication, "kpi": "mtbf_h", "value": p_value},
        ]
    table = compare_arms(pd.DataFrame(rows), baseline="baseline").set_index("arm")
    assert table.loc["ai", "n"] == 4
    assert table.loc["ai", "mean"] == pytest.approx(np.mean(POLICY[1:]))
    expected = paired_difference(POLICY[1:], BASELINE[1:])
    assert table.loc["ai", "diff"] == pytest.approx(expected.difference.mean)


def test_an_arm_without_values_is_reported_empty():
    rows = [
        {"arm": "baseline", "replication": r, "kpi": "cost", "value": v}
        for r, v in enumerate(BASELINE)
    ]
    table = compare_arms(pd.DataFrame(rows), "baseline", arms=["baseline", "crashed"])
    crashed = table.set_index("arm").loc["crashed"]
    assert crashed["n"] == 0
    assert math.isnan(crashed["mean"])
    assert math.isnan(crashed["diff"])


def test_groups_follow_the_unit():
    assert kpi_group("cost_total", "EUR") == "cost"
    assert kpi_group("co2e_kg", "kg CO2e") == "emissions"
    assert kpi_group("energy_kwh", "kWh") == "emissions"
    assert kpi_group("throughput_per_h", "parts/h") == "efficiency"
