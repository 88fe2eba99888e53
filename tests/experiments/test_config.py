"""Experiment configs: what is accepted, and one clear line for each mistake."""

import tomllib

import pytest

from experiments.config import parse_experiment
from tests.experiments.support import station_experiment
from twin.core.errors import ConfigError


def parse(tmp_path, **kwargs):
    path = station_experiment(tmp_path, **kwargs)
    return parse_experiment(tomllib.loads(path.read_text()), str(path))


def problem(tmp_path, **kwargs) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_good_config_parses_with_the_first_arm_as_baseline(tmp_path):
    config = parse(tmp_path)
    assert [arm.name for arm in config.arms] == ["admit-all", "cap-3"]
    assert config.baseline == "admit-all"
    assert config.replications.count == 4


def test_the_hash_ignores_the_executor_but_not_the_seed(tmp_path):
    config = parse(tmp_path)
    other_executor = config.model_copy(update={"executor": config.executor.model_copy()})
    assert config.config_hash() == other_executor.config_hash()
    assert config.config_hash() != config.model_copy(update={"seed": 12}).config_hash()


def test_an_unknown_baseline_arm_is_named_with_the_arms(tmp_path):
    message = problem(tmp_path, extra='[statistics]\nbaseline = "rtf"')
    assert "statistics.baseline: unknown arm 'rtf'; arms: admit-all, cap-3" in message


def test_fewer_than_two_replications_cannot_give_a_ci(tmp_path):
    message = problem(tmp_path, replications="[replications]\ncount = 1")
    assert "replications.count" in message
    assert "greater than or equal to 2" in message


def test_count_and_target_exclude_each_other(tmp_path):
    both = '[replications]\ncount = 3\ntarget = { kpi = "wait_mean_s", halfwidth_pct = 5 }'
    assert "either 'count' or 'target'" in problem(tmp_path, replications=both)


def test_an_empty_grid_is_refused(tmp_path):
    empty = '[design]\nkind = "grid"\nfactors = { "params.servers" = [] }'
    assert "grid factor 'params.servers' has no values" in problem(tmp_path, extra=empty)
    no_factors = '[design]\nkind = "grid"\nfactors = {}'
    assert "grid has no factors" in problem(tmp_path, extra=no_factors)


def test_only_scenario_keys_can_be_varied(tmp_path):
    bad = '[design]\nkind = "grid"\nfactors = { "seed" = [1, 2] }'
    message = problem(tmp_path, extra=bad)
    assert "design: cannot vary 'seed'; allowed: 'params.<name>" in message


def test_arm_names_are_unique(tmp_path):
    path = station_experiment(tmp_path)
    text = path.read_text().replace('name = "cap-3"', 'name = "admit-all"')
    with pytest.raises(ConfigError, match="arm names must be unique; repeated: admit-all"):
        parse_experiment(tomllib.loads(text), str(path))


def test_an_unknown_key_lists_the_allowed_ones(tmp_path):
    message = problem(tmp_path, extra="[statistics]\nbasline = 'admit-all'")
    assert "statistics: unknown key 'basline'; allowed: baseline, headline, progress_kpi" in message


def test_a_latin_hypercube_range_must_be_ordered(tmp_path):
    factors = 'factors = { "params.servers" = { low = 3, high = 1 } }'
    bad = f'[design]\nkind = "lhs"\nsamples = 4\n{factors}'
    assert "low (3.0) must be less than high (1.0)" in problem(tmp_path, extra=bad)
