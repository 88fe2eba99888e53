"""The region's experiment: arms of policy sets, byte-identical on any executor."""

from __future__ import annotations

import filecmp
import textwrap

import pandas as pd
import pytest

from experiments.runner import run_experiment

pytestmark = pytest.mark.slow  # four coupled region-days, twice

EXPERIMENT = """
name = "region, two arms"
seed = 7

[[scenarios]]
id = "region/coupled-small-v0"
horizon_s = 43_200
warmup_s = 3_600

[[arms]]
name = "baseline"
policy = "region/policy-set-v0"

[[arms]]
name = "ai-signals"
policy = "region/policy-set-v0"
params = { signals = "signals/max-pressure-v0" }

[replications]
count = 2
"""


def test_policy_set_arms_run_byte_identical_in_process_and_on_a_process_pool(tmp_path):
    config = tmp_path / "region.toml"
    config.write_text(textwrap.dedent(EXPERIMENT))
    run_experiment(config, tmp_path / "inprocess", executor="inprocess", report=False)
    run_experiment(config, tmp_path / "pool", executor="process", workers=2, report=False)
    assert filecmp.cmp(tmp_path / "inprocess/kpis.parquet", tmp_path / "pool/kpis.parquet", False)
    kpis = pd.read_parquet(tmp_path / "inprocess/kpis.parquet")
    loss = kpis[kpis["kpi"] == "traffic.time_loss_mean_s"].set_index("run_id")["value"]
    # The arm's signal policy took effect: the same replication's city moved differently.
    assert loss["s0-p0-r0000-ai-signals"] != loss["s0-p0-r0000-baseline"]
