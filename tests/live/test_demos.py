"""The closed loops of ``make demo-live``, each part a real process, with the broker."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import pytest

from twin.live.demo_city import city_run


@pytest.mark.slow
def test_sumo_applies_the_shadows_plans_and_its_own_kpis_change(tmp_path: Path) -> None:
    args = argparse.Namespace(
        network="grid4x4", duration_s=900.0, decision_period_s=300.0, look_ahead_s=300.0
    )
    loop = city_run(args, 1, closed=True, out=tmp_path / "session")
    open_loop = city_run(args, 1, closed=False, out=tmp_path / "unused")
    assert loop["followed"] >= 1
    assert open_loop["followed"] == 0
    assert math.isfinite(loop["time_loss_mean_s"])
    assert loop["arrived"] > 0
    # The shadow recommends a plan of its best branch and SUMO runs it: SUMO's own
    # outcome changes (which way is reported by the demo, not asserted here).
    assert loop["time_loss_mean_s"] != open_loop["time_loss_mean_s"]
    assert (tmp_path / "session" / "recommendations.json").exists()


@pytest.mark.slow
def test_the_emulated_plant_follows_the_shadow_over_mqtt(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "twin.live.demo_plant",
            "--days",
            "3",
            "--seeds",
            "11",
            "--out",
            "session",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    seed_row = next(line for line in done.stdout.splitlines() if line.split()[:1] == ["11"])
    assert seed_row.split()[-1] == "2"  # recommendations followed: after days 1 and 2
    assert (tmp_path / "session" / "seed11" / "branches.png").exists()
