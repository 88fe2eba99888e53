"""check_scenario: every registered scenario keeps its invariants; a leak is caught,
shrunk and given a command that replays it."""

from __future__ import annotations

import json
import shlex

import pytest

from twin.cli import main
from twin.core.run import default_registry
from twin.station.kit import scenario_invariants, station_params
from twin.testing import CheckFailed, ScenarioKit, check_scenario

EXAMPLES = {
    "factory/plant-1000-v0": 1,
    "factory/jobshop-agv-v0": 3,
    "traffic/grid10x10-v0": 1,
    "traffic/grid4x4-peak-v0": 3,
    "traffic/sumo-net-v0": 3,
    "region/coupled-v0": 1,
    "region/coupled-small-v0": 2,
}


@pytest.mark.parametrize("scenario_id", sorted(e.id for e in default_registry().scenarios()))
def test_every_registered_scenario_keeps_its_invariants(scenario_id):
    report = check_scenario(scenario_id, max_examples=EXAMPLES.get(scenario_id, 8))
    assert report.ok


def test_every_factory_policy_keeps_the_plant_invariants():
    for policy in ("maintenance/fixed-interval-v0", "maintenance/condition-based-v0"):
        assert check_scenario("factory/flowline-v0", policy, max_examples=4).ok


LEAKY = "tests.testing.broken:LeakyStation"


def leak_report() -> str:
    kit = ScenarioKit(params=station_params, invariants=scenario_invariants, horizon_s=86_400.0)
    with pytest.raises(CheckFailed) as caught:
        check_scenario(LEAKY, kit=kit, max_examples=30)
    return str(caught.value)


def test_a_scenario_that_loses_jobs_is_caught_with_the_smallest_scenario_and_seed():
    report = leak_report()
    assert "FAIL invariants hold through 30 generated runs" in report
    assert "jobs not conserved: arrived" in report
    assert "smallest failing scenario: params" in report
    assert "reproduce: twin run --scenario tests.testing.broken:LeakyStation" in report


def test_the_printed_command_replays_that_scenario_and_seed(tmp_path, monkeypatch, capsys):
    report = leak_report()
    line = next(line for line in report.splitlines() if "reproduce: " in line)
    smallest = next(line for line in report.splitlines() if "smallest failing scenario" in line)
    params_text, seed_text = smallest.split("params ", 1)[1].rsplit(", seed ", 1)
    args = shlex.split(line.split("reproduce: ", 1)[1])
    assert args[:2] == ["twin", "run"]
    monkeypatch.chdir(tmp_path)
    assert main([*args[1:], "--out", "replay", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "replay" / "manifest.json").read_text())
    assert manifest["seed"] == int(seed_text)
    assert manifest["scenario"]["params"] == json.loads(params_text)
    assert manifest["scenario"]["horizon_s"] == 86_400.0


def test_a_policy_that_raises_gives_the_report_with_a_replay_command_not_an_escape():
    report = check_scenario(
        "station/mmc-v0",
        "tests.testing.broken:CrashesOnEmptyQueue",
        max_examples=2,
        raise_on_failure=False,
    )
    assert not report.ok
    details = {finding.check: finding.detail for finding in report.failures}
    same_seed = details["the same seed gives the same KPIs"]
    assert "the run raised ZeroDivisionError: division by zero at t = " in same_seed
    assert "reproduce: twin run --scenario station/mmc-v0 " in same_seed
    assert "--policy tests.testing.broken:CrashesOnEmptyQueue" in same_seed


def test_a_policy_that_never_answers_gives_the_report_with_a_replay_command():
    report = check_scenario(
        "station/mmc-v0",
        "tests.testing.broken:NeverAnswers",
        max_examples=3,
        raise_on_failure=False,
        decision_timeout_s=0.3,
    )
    invariants, same_seed = report.findings
    assert not invariants.passed
    assert invariants.detail.startswith("policy 'broken/never-answers-v0' failed at t = ")
    assert ": did not answer within 0.3 s; last observation: " in invariants.detail
    assert "reproduce: twin run --scenario station/mmc-v0 " in invariants.detail
    assert invariants.detail.endswith(" --decision-timeout-s 0.3")
    assert (same_seed.passed, same_seed.detail) == (
        False,
        "not checked: a run above did not finish",
    )
