"""The job shop whose run policy dispatches the AGVs (an experiment's arm)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_HOUR
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
