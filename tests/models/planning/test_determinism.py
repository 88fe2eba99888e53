"""The MIP's plans, and so the twin's results, are the same in another process: one
HiGHS thread, a fixed seed and a node budget make a solve independent of where it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

RUN = """
import json, sys
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
config = ScenarioConfig(id="factory/jobshop-orders-v0", horizon_s=2 * 86_400.0)
result = simulate(config, "planning/mip-v0", seed=11)
json.dump({name: kpi.value for name, kpi in result.kpis.items()}, sys.stdout)
"""


def _kpis_in_a_new_process() -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", RUN], check=True, capture_output=True, text=True)
    kpis: dict[str, float] = json.loads(done.stdout)
    return kpis


@pytest.mark.slow
def test_two_processes_plan_and_run_alike() -> None:
    first = _kpis_in_a_new_process()
    assert first["planning_epochs"] == 6  # a plan every shift for two days
    assert first["planning_fallbacks"] == 0
    assert _kpis_in_a_new_process() == first
