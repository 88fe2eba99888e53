"""The sensor-traffic port: message and byte rates from a pipeline's own settings."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from twin.core.ports import SensorTraffic, sent_fraction_of
from twin.core.sensors import PipelineSpec, SensorConfig, SensorFeed, SensorSpec
from twin.core.world import World


def config(period_s: float = 10.0, dropout: float = 0.0, **pipeline) -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=period_s, dropout_prob=dropout),
        pipeline=PipelineSpec(**pipeline),
    )


def test_every_sample_is_a_message_without_report_by_exception():
    traffic = SensorTraffic(channels=400, sensor=config(period_s=10.0), message_bytes=100.0)
    assert traffic.samples_per_s == pytest.approx(40.0)
    assert traffic.messages_per_s == pytest.approx(40.0)
    assert traffic.bytes_per_s == pytest.approx(4000.0)


def test_dropout_and_the_sent_fraction_thin_the_messages():
    traffic = SensorTraffic(
        channels=100, sensor=config(period_s=1.0, dropout=0.1, deadband=0.5), sent_fraction=0.25
    )
    assert traffic.messages_per_s == pytest.approx(100 * 0.9 * 0.25)


def test_a_heartbeat_bounds_the_rate_from_below():
    traffic = SensorTraffic(
        channels=60,
        sensor=config(period_s=1.0, deadband=10.0, heartbeat_s=60.0),
        sent_fraction=0.001,
    )
    assert traffic.messages_per_s == pytest.approx(1.0)  # one heartbeat a minute per sensor


def test_report_by_exception_needs_a_sent_fraction():
    with pytest.raises(ValidationError, match="give sent_fraction"):
        SensorTraffic(channels=1, sensor=config(deadband=0.1))


def test_the_sent_fraction_can_be_measured_on_a_feed():
    world = World(seed=3)
    step = {"value": 0.0}

    def staircase() -> np.ndarray:
        # The value changes by a whole unit every fourth sample: a 0.5 deadband sends
        # one sample in four (and the first).
        step["value"] += 0.25
        return np.array([np.floor(step["value"])] * 2)

    feed = SensorFeed.attach(world, "plant.level", staircase, config(period_s=1.0, deadband=0.5), 2)
    world.run(400.0)
    fraction = sent_fraction_of(feed.board)
    assert fraction == pytest.approx(0.25, abs=0.01)
    traffic = SensorTraffic(channels=2, sensor=config(1.0, deadband=0.5), sent_fraction=fraction)
    assert traffic.messages_per_s == pytest.approx(0.5, abs=0.02)


def test_a_board_without_samples_has_no_fraction():
    from twin.core.sensors import ReadingBoard

    with pytest.raises(ValueError, match="no surviving samples"):
        sent_fraction_of(ReadingBoard(3))


def test_an_outbox_hands_over_what_was_put_and_keeps_the_rest():
    from twin.core.ports import GoodsOutbox

    outbox = GoodsOutbox()
    outbox.put()
    outbox.put(4)
    assert outbox.take(3) == 3
    assert (outbox.produced, outbox.taken, outbox.level) == (5, 3, 2)
    assert outbox.take(10) == 2
    assert outbox.take(1) == 0
    assert outbox.level == 0
    with pytest.raises(ValueError, match="cannot put -1"):
        outbox.put(-1)


def test_a_drive_lasts_from_request_to_arrival():
    from twin.core.ports import Drive

    drive = Drive("vehicle7", requested_s=100.0, entered_s=101.0, arrived_s=160.5, distance_m=700.0)
    assert drive.duration_s == 60.5
