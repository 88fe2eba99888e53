"""Same config and seed give identical KPIs: twice in a row, and in another process."""

import json
import subprocess
import sys

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig

CONFIG = ScenarioConfig(
    id="station/mmc-v0",
    params={
        "arrival_rate_per_s": 0.9,
        "servers": 2,
        "service": {"kind": "gamma", "mean": 2.0, "cv": 0.7},
    },
    horizon_s=20_000,
    warmup_s=500,
    sample_period_s=1_000,
)


def kpi_values(seed: int) -> dict[str, float]:
    result = simulate(CONFIG, "admission/queue-cap-v0", seed, policy_params={"max_queue": 4})
    return {name: kpi.value for name, kpi in result.kpis.items()}


def test_same_seed_twice_in_a_row_is_identical():
    assert kpi_values(9) == kpi_values(9)


def test_different_seeds_differ():
    assert kpi_values(9) != kpi_values(10)


def test_same_seed_in_another_process_is_identical():
    script = (
        "import json\n"
        "from tests.station.test_determinism import kpi_values\n"
        "print(json.dumps(kpi_values(9)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == kpi_values(9)


def test_timeseries_is_identical_too():
    first = simulate(CONFIG, "admission/admit-all-v0", 3).timeseries
    second = simulate(CONFIG, "admission/admit-all-v0", 3).timeseries
    assert first.equals(second)
    assert not first.empty
