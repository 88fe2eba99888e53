"""Recordings of a shadow session: what is written, when it is readable, and that a
replay gives back exactly what was received (and, through the intake, the same readings)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from twin.core.errors import UserError
from twin.core.live import Channel, Reading
from twin.live.broker import Broker
from twin.live.messages import Intake, encode_readings, readings_topic
from twin.live.mqtt import MqttClient
from twin.live.recording import Recorder, read_recording, replay

MESSAGES = [
    (f"plant/{'readings' if i % 3 else 'status'}", bytes([i % 256]) * (i % 7)) for i in range(50)
]


def test_replay_gives_the_recorded_messages_in_order(tmp_path: Path) -> None:
    with Recorder(tmp_path / "session", flush_every=8) as recorder:
        for topic, payload in MESSAGES:
            recorder.record(topic, payload)
    assert list(replay(tmp_path / "session")) == MESSAGES
    # 50 messages, a part every 8, and the last 2 at close.
    assert len(list((tmp_path / "session").glob("part-*.parquet"))) == 7


def test_each_row_has_its_sequence_time_and_intake_count(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "session")
    assert recorder.record("p/readings", b"{}", accepted=0) == 0
    assert recorder.record("p/readings", b'{"x":1}', accepted=2) == 1
    assert recorder.record("p/other", b"?") == 2
    recorder.close()
    table = read_recording(tmp_path / "session").to_pandas()
    assert table["seq"].tolist() == [0, 1, 2]
    assert table["accepted"].tolist()[:2] == [0, 2]
    assert pd.isna(table["accepted"].iloc[2])
    assert table["wall_time_s"].is_monotonic_increasing
    assert recorder.recorded == 3


def test_a_flush_is_readable_while_the_recorder_is_open(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "session")
    recorder.record("p/readings", b"one")
    recorder.flush()
    recorder.record("p/readings", b"unflushed")
    frame = pd.read_parquet(tmp_path / "session")
    assert frame["payload"].tolist() == [b"one"]
    recorder.close()
    assert [p for _, p in replay(tmp_path / "session")] == [b"one", b"unflushed"]


def test_what_was_flushed_survives_a_kill(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal
        from twin.live.recording import Recorder
        recorder = Recorder({str(tmp_path / "session")!r}, flush_every=4)
        for i in range(10):
            recorder.record("p/readings", str(i).encode())
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run([sys.executable, "-c", script], env=env, check=False, timeout=60)
    assert done.returncode == -signal.SIGKILL
    # Two parts of four were written; the last two messages were still in memory.
    assert [p for _, p in replay(tmp_path / "session")] == [str(i).encode() for i in range(8)]


def test_a_slow_stream_is_flushed_after_flush_after_s(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "session", flush_after_s=0.0)
    recorder.record("p/readings", b"at once")
    assert [p for _, p in replay(tmp_path / "session")] == [b"at once"]
    recorder.close()


def test_an_existing_recording_is_not_overwritten(tmp_path: Path) -> None:
    with Recorder(tmp_path / "session") as recorder:
        recorder.record("p/readings", b"kept")
    with pytest.raises(UserError, match="exists and is not an empty directory"):
        Recorder(tmp_path / "session")
    assert list(replay(tmp_path / "session")) == [("p/readings", b"kept")]


def test_replaying_what_is_not_a_recording_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"not a recording \(no part-\*\.parquet files\)$"):
        replay(tmp_path)


def test_a_closed_recorder_refuses_more(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "session")
    recorder.close()
    with pytest.raises(UserError, match="closed"):
        recorder.record("p/readings", b"late")


def test_replay_follows_the_sequence_numbers_not_the_file_names(tmp_path: Path) -> None:
    with Recorder(tmp_path / "session", flush_every=2) as recorder:
        for topic, payload in MESSAGES[:6]:
            recorder.record(topic, payload)
    session = tmp_path / "session"
    (session / "part-00000.parquet").rename(session / "part-00009.parquet")
    assert list(replay(session)) == MESSAGES[:6]


def test_a_recorded_mqtt_session_replays_to_the_same_readings(
    broker: Broker, tmp_path: Path
) -> None:
    channel = Channel("m1/vibration", "m1", "m/s^2", alarm=1.0)
    sent = [
        encode_readings([Reading(channel.name, float(t), 0.1 * t)], {channel.name: channel.unit})
        for t in (1, 2, 2, 3)  # the second 2 is a redelivery
    ]
    live, received = Intake({channel.name: channel}), []
    with (
        MqttClient(broker.host, broker.port, "twin") as twin,
        MqttClient(broker.host, broker.port, "plant") as plant,
        Recorder(tmp_path / "session") as recorder,
    ):
        assert twin.subscribe(readings_topic("plant"))
        for payload in [*sent, b"garbage"]:
            assert plant.publish(readings_topic("plant"), payload)
        for _ in range(5):
            message = twin.get(timeout_s=5)
            assert message is not None
            readings = live.accept(message[1])
            recorder.record(*message, accepted=len(readings))
            received += readings
    again = Intake({channel.name: channel})
    replayed = [r for _, payload in replay(tmp_path / "session") for r in again.accept(payload)]
    assert replayed == received == [Reading(channel.name, t, 0.1 * t) for t in (1.0, 2.0, 3.0)]
    assert again.counts() == live.counts()
    assert read_recording(tmp_path / "session").column("accepted").to_pylist() == [1, 1, 0, 1, 0]
