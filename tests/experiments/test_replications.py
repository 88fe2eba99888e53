"""Replications per cell: a count, or rounds until the CI half-width target holds."""

import math
import tomllib

from scipy import stats

from experiments.config import parse_experiment
from experiments.replications import replications_needed
from tests.experiments.support import station_experiment


def config_with_target(tmp_path, halfwidth_pct: float, maximum: int = 20):
    rule = (
        f"[replications]\nmin = 3\nmax = {maximum}\n"
        f'target = {{ kpi = "wait_mean_s", halfwidth_pct = {halfwidth_pct} }}'
    )
    path = station_experiment(tmp_path, replications=rule)
    return parse_experiment(tomllib.loads(path.read_text()), str(path))


def records(values: dict[str, list[float]]) -> dict[str, dict]:
    """Finished runs of the first cell: arm -> the KPI's value in replications 0, 1, ..."""
    return {
        f"{arm}-{r}": {
            "scenario": "station/mmc-v0",
            "point": 0,
            "arm": arm,
            "replication": r,
            "status": "ok",
            "kpis": [["wait_mean_s", value, "s"]],
        }
        for arm, series in values.items()
        for r, value in enumerate(series)
    }


# Arm values 10, 12, 14: mean 12, sd 2, half-width t(0.975, 2) * 2 / sqrt(3) = 4.968,
# which is 41.4% of the mean.
WIDE = {"admit-all": [10.0, 12.0, 14.0], "cap-3": [12.0, 12.0, 12.0]}
HALFWIDTH_PCT = 100 * stats.t.ppf(0.975, 2) * 2 / math.sqrt(3) / 12


def test_a_fixed_count_is_the_count(tmp_path):
    path = station_experiment(tmp_path)
    config = parse_experiment(tomllib.loads(path.read_text()), str(path))
    assert replications_needed(config, 2, {}) == {(0, 0): 4, (0, 1): 4}


def test_the_first_round_is_min_until_it_has_finished(tmp_path):
    config = config_with_target(tmp_path, 10.0)
    assert replications_needed(config, 1, {}) == {(0, 0): 3}
    partial = records({"admit-all": [10.0, 12.0, 14.0], "cap-3": [12.0, 12.0]})
    assert replications_needed(config, 1, partial) == {(0, 0): 3}


def test_a_wide_interval_grows_the_cell_by_the_square_of_the_ratio(tmp_path):
    # 41.4% against 20%: n = ceil(3 * (41.4 / 20)^2) = 13.
    config = config_with_target(tmp_path, 20.0)
    expected = math.ceil(3 * (HALFWIDTH_PCT / 20.0) ** 2)
    assert expected == 13
    assert replications_needed(config, 1, records(WIDE)) == {(0, 0): expected}


def test_growth_stops_at_the_cap_and_when_the_target_holds(tmp_path):
    assert replications_needed(config_with_target(tmp_path, 1.0, maximum=8), 1, records(WIDE)) == {
        (0, 0): 8
    }
    assert replications_needed(config_with_target(tmp_path, 45.0), 1, records(WIDE)) == {(0, 0): 3}
