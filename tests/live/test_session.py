"""``twin shadow`` as a process on a live MQTT feed: the broker is killed and restarted
mid-session, and no message that reached the twin is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.factory import live as factory_live
from twin.live.broker import Broker
from twin.live.emulated_plant import emulate
from twin.live.messages import encode_readings, readings_topic
from twin.live.mqtt import MqttClient
from twin.live.recording import read_recording

CONFIG = """
seed = 0
[scenario]
id = "factory/flowline-v0"
horizon_s = 172800
tick_s = 600.0
[policy]
id = "maintenance/run-to-failure-v0"
"""


def plant_batches() -> tuple[list[bytes], int]:
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=2 * SECONDS_PER_DAY, tick_s=600.0)
    plant = emulate(config, "maintenance/run-to-failure-v0", 11, {}, SECONDS_PER_HOUR)
    units = {c.name: c.unit for c in factory_live.channels(plant.plant)}
    batches = [list(batch) for batch in plant]
    return [encode_readings(b, units) for b in batches], sum(len(b) for b in batches)


def test_a_shadow_survives_a_broker_restart_and_loses_nothing_it_received(
    broker: Broker, tmp_path: Path
) -> None:
    (tmp_path / "twin.toml").write_text(CONFIG)
    payloads, readings = plant_batches()
    status = MqttClient(broker.host, broker.port, "test-status")
    assert status.subscribe("plant/status")
    command = [sys.executable, "-m", "twin", "shadow", "twin.toml"]
    command += ["--source", f"{broker.url}/plant", "--out", "session", "--idle-timeout-s", "4"]
    command += ["--candidates", "maintenance/run-to-failure-v0", "--replications", "2"]
    command += ["--decision-period-s", "86400", "--look-ahead-s", "3600"]
    shadow = subprocess.Popen(  # stopped below whatever happens
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert status.get(timeout_s=60.0) is not None, "the shadow never listened"
        with MqttClient(broker.host, broker.port, "test-plant") as plant:
            assert plant.wait_connected(10.0)
            half = len(payloads) // 2
            for payload in payloads[:half]:
                assert plant.publish(readings_topic("plant"), payload)
            broker.restart()  # killed and started again on the same port
            assert status.get(timeout_s=30.0) is not None, "the shadow did not come back"
            assert plant.wait_connected(10.0)
            for payload in payloads[half:]:
                assert plant.publish(readings_topic("plant"), payload)
        _, errors = shadow.communicate(timeout=120)
    finally:
        status.close()
        if shadow.poll() is None:
            shadow.kill()
            shadow.wait()
    assert shadow.returncode == 0, errors
    summary = json.loads((tmp_path / "session" / "summary.json").read_text())
    assert summary["reconnects"] >= 1
    # A message the broker had taken but not yet passed on when it was killed is lost
    # with it (no persistence, clean sessions: docs/LIVE_MESSAGES.md). Every message that
    # reached the twin was taken and recorded, and everything sent once the shadow was
    # back arrived; QoS 1 may deliver one twice, which the intake turns away.
    recorded = read_recording(tmp_path / "session" / "recording")
    assert set(payloads[half:]) <= set(recorded.column("payload").to_pylist())
    assert sum(recorded.column("accepted").to_pylist()) == summary["messages"]["accepted"]
    rejected = {k: v for k, v in summary["messages"].items() if v and k != "accepted"}
    assert set(rejected) <= {"duplicate", "out-of-order"}
    assert summary["messages"]["accepted"] > readings / 2


@pytest.mark.parametrize(
    ("config", "options", "message"),
    [
        (CONFIG, ["--source", "nowhere"], "nowhere: --source is neither mqtt://"),
        (
            CONFIG,
            ["--source", "nowhere", "--candidates", "signals/actuated-v0"],
            "--candidates: 'signals/actuated-v0' acts in 'traffic.signals'",
        ),
        (CONFIG, ["--source", "nowhere", "--kpi", "nope"], "--kpi: no KPI 'nope'"),
        (
            CONFIG.replace("factory/flowline-v0", "station/mmc-v0").replace(
                "maintenance/run-to-failure-v0", "admission/admit-all-v0"
            ),
            ["--source", "nowhere", "--candidates", "admission/admit-all-v0"],
            "domain 'station' cannot be shadowed",
        ),
    ],
)
def test_bad_shadow_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, config: str, options: list[str], message: str
) -> None:
    (tmp_path / "twin.toml").write_text(config)
    command = [sys.executable, "-m", "twin", "shadow", "twin.toml", "--out", "session"]
    command += ["--decision-period-s", "86400", "--look-ahead-s", "3600"]
    if "--candidates" not in options:
        command += ["--candidates", "maintenance/run-to-failure-v0"]
    done = subprocess.run(
        [*command, *options], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "session").exists()
