"""The job shop whose run policy dispatches the AGVs (an experiment's arm); the policies a
scenario resolves itself are watched as the run's own."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin.core.errors import RunFailure
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_HOUR
from twin.core.watchdog import DecisionTimeout
from twin.factory.config import JobShopDispatchParams


def test_the_run_policy_dispatches_the_agvs_of_the_job_shop():
    arm = ScenarioConfig(id="twin.factory.scenario:JobShopDispatch", horizon_s=4 * SECONDS_PER_HOUR)
    same = ScenarioConfig(id="factory/jobshop-agv-v0", horizon_s=4 * SECONDS_PER_HOUR)
    dispatched = simulate(arm, "dispatch/nearest-idle-v0", seed=3).kpis
    reference = simulate(same, "maintenance/run-to-failure-v0", seed=3).kpis
    assert dispatched["agv_deliveries"].value > 100
    assert dispatched["agv_km"].value == reference["agv_km"].value
    assert dispatched["parts_good"].value == reference["parts_good"].value


def test_it_refuses_a_dispatch_policy_in_its_params():
    with pytest.raises(ValidationError, match="the dispatcher is the run's policy"):
        JobShopDispatchParams(dispatch_policy="dispatch/nearest-idle-v0")
    with pytest.raises(ValidationError, match=r"a factory\.maintenance policy is needed"):
        JobShopDispatchParams(maintenance_policy="dispatch/nearest-idle-v0")


def job_shop_dispatched_by(reference: str) -> ScenarioConfig:
    return ScenarioConfig(
        id="factory/jobshop-agv-v0",
        horizon_s=SECONDS_PER_HOUR,
        params={"dispatch_policy": reference},
    )


def test_a_dispatcher_the_scenario_resolves_that_never_answers_ends_the_run_naming_it():
    config = job_shop_dispatched_by("tests.testing.broken:DispatchNeverAnswers")
    with pytest.raises(DecisionTimeout) as raised:
        simulate(config, "maintenance/run-to-failure-v0", 1, decision_timeout_s=0.2)
    assert raised.value.policy == "broken/dispatch-never-answers-v0"
    assert raised.value.observation.startswith("DispatchObservation(")


def test_a_dispatchers_invalid_answer_is_one_failure_naming_the_dispatcher():
    config = job_shop_dispatched_by("tests.testing.broken:AssignsMissingAgv")
    with pytest.raises(RunFailure) as raised:
        simulate(config, "maintenance/run-to-failure-v0", 1, report_failures=True)
    assert raised.value.policy == "broken/missing-agv-v0"
    assert "unknown AGV 5: the fleet has AGVs 0..4" in raised.value.problem
    assert raised.value.observation.startswith("DispatchObservation(")
