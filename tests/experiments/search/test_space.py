"""Searched parameters: key paths into scenario and policy params, through lists too."""

from __future__ import annotations

import pytest

from experiments.search.config import parse_calibrate
from experiments.search.space import candidate, set_path
from twin.core.run import default_registry


def test_a_path_sets_nested_tables_and_list_elements():
    data = {"a": {"b": 1}, "items": [{"x": 1}, {"x": 2}]}
    set_path(data, ["a", "c"], 3)
    set_path(data, ["items", "1", "x"], 9)
    assert data == {"a": {"b": 1, "c": 3}, "items": [{"x": 1}, {"x": 9}]}


def test_a_star_sets_every_element_of_a_list():
    data = {"items": [{"x": 1}, {"x": 2}, {"x": 3}]}
    set_path(data, ["items", "*", "x"], 0)
    assert data == {"items": [{"x": 0}, {"x": 0}, {"x": 0}]}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (["items", "5", "x"], "'5' is not an index of a list of 2"),
        (["a", "*"], "'\\*' stands for every element of a list"),
    ],
)
def test_a_path_to_nothing_says_so(path, message):
    with pytest.raises(ValueError, match=message):
        set_path({"a": {"b": 1}, "items": [{}, {}]}, path, 1)


def test_a_list_left_at_its_default_keeps_its_other_entries():
    # The flow line's five stations are a default of its params model: setting the wear
    # of all of them and the mill's processing time must keep the rest of each station.
    config = parse_calibrate(
        {
            "scenario": {"id": "factory/flowline-v0", "horizon_s": 3600.0},
            "policy": {"id": "maintenance/run-to-failure-v0"},
            "parameters": {
                "scenario.params.stations.*.degradation.drift_per_h": {"low": 0.001, "high": 0.01},
            },
            "targets": [{"kpi": "throughput_per_h"}],
            "replications": {"count": 2},
        },
        "<test>",
    )
    point = candidate(
        config,
        {
            "scenario.params.stations.*.degradation.drift_per_h": 0.004,
            "scenario.params.stations.1.processing.mean": 150.0,
        },
        "c",
        default_registry(),
    )
    stations = point.scenario.params["stations"]
    assert [s["name"] for s in stations] == ["saw", "mill", "drill", "wash", "assemble"]
    assert {s["degradation"]["drift_per_h"] for s in stations} == {0.004}
    assert stations[1]["processing"] == {"kind": "gamma", "mean": 150.0, "cv": 0.3}
    assert stations[0]["processing"]["mean"] == 55.0


def test_policy_params_are_set_apart_from_the_scenario():
    config = parse_calibrate(
        {
            "scenario": {"id": "station/mmc-v0", "horizon_s": 3600.0},
            "policy": {"id": "admission/queue-cap-v0", "params": {"max_queue": 3}},
            "parameters": {"policy.params.max_queue": {"low": 1, "high": 9, "integer": True}},
            "targets": [{"kpi": "throughput_per_h"}],
            "replications": {"count": 2},
        },
        "<test>",
    )
    point = candidate(config, {"policy.params.max_queue": 7}, "c", default_registry())
    assert point.policy_params == {"max_queue": 7}
    assert point.scenario.params == {}
    assert config.policy.params == {"max_queue": 3}  # the config itself is untouched
