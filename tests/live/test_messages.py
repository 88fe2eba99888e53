"""The reading messages: what the intake accepts, what it rejects and why, and that no
bytes at all can make it raise."""

import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.core.errors import UserError
from twin.core.live import Channel, Reading
from twin.live.messages import (
    BATCH_SCHEMA,
    READING_SCHEMA,
    REJECTIONS,
    Intake,
    encode_json,
    encode_readings,
    readings_topic,
)

VIBRATION = Channel("m1/vibration", "m1", "m/s^2", alarm=2.0)
TEMPERATURE = Channel("m1/temperature", "m1", "K", alarm=5.0)
CHANNELS = {c.name: c for c in (VIBRATION, TEMPERATURE)}
UNITS = {c.name: c.unit for c in CHANNELS.values()}


def reading(channel: str, t: object, value: object, unit: str | None = None) -> bytes:
    unit = UNITS.get(channel, "m") if unit is None else unit
    return json.dumps({"channel": channel, "t": t, "value": value, "unit": unit}).encode()


def test_each_rejection_is_counted_by_reason_and_valid_readings_pass_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    intake = Intake(CHANNELS)
    messages = [
        reading("m1/vibration", 1.0, 0.5),  # accepted
        b"not json",  # malformed
        b'{"channel": "m1/vibration", "t": 2.0, "value": 0.1}',  # malformed: no unit
        b'{"channel": "m1/vibration", "t": "2", "value": 0.1, "unit": "m/s^2"}',  # malformed
        b'{"channel": "m1/vibration", "t": true, "value": 0.1, "unit": "m/s^2"}',  # malformed
        reading("m2/vibration", 2.0, 0.1),  # unknown-channel
        reading("m1/vibration", 2.0, 0.1, unit="mm/s^2"),  # unit-mismatch
        reading("m1/vibration", 2.0, math.nan),  # not-finite (NaN literal)
        reading("m1/vibration", math.inf, 0.1),  # not-finite
        reading("m1/vibration", 2.0, None),  # not-finite (NaN sent as null)
        reading("m1/temperature", 1.5, 300.0),  # accepted (another channel)
        reading("m1/vibration", 0.5, 0.1),  # out-of-order
        reading("m1/vibration", 1.0, 0.7),  # duplicate (redelivered)
        reading("m1/vibration", 3.0, 0.6),  # accepted
    ]
    accepted = [r for m in messages for r in intake.accept(m)]
    assert accepted == [
        Reading("m1/vibration", 1.0, 0.5),
        Reading("m1/temperature", 1.5, 300.0),
        Reading("m1/vibration", 3.0, 0.6),
    ]
    assert intake.counts() == {
        "accepted": 3,
        "malformed": 4,
        "unknown-channel": 1,
        "unit-mismatch": 1,
        "not-finite": 3,
        "out-of-order": 1,
        "duplicate": 1,
    }
    rejected = [r.getMessage() for r in caplog.records if r.name == "twin.live"]
    assert len(rejected) == 11
    assert rejected[4] == "rejected reading: unknown-channel channel='m2/vibration' t=2.0"
    assert rejected[9] == "rejected reading: out-of-order channel='m1/vibration' t=0.5"
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_a_batch_is_checked_reading_by_reading() -> None:
    intake = Intake(CHANNELS)
    batch = {
        "readings": [
            {"channel": "m1/vibration", "t": 1, "value": 2, "unit": "m/s^2"},
            {"channel": "m1/vibration", "t": 1, "value": 2, "unit": "m/s^2"},
            {"channel": "m1/temperature", "t": 1, "value": 290.5, "unit": "K"},
            [1, 2],
        ]
    }
    assert intake.accept(json.dumps(batch).encode()) == [
        Reading("m1/vibration", 1.0, 2.0),
        Reading("m1/temperature", 1.0, 290.5),
    ]
    assert intake.counts()["duplicate"] == 1
    assert intake.counts()["malformed"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        b'{"readings": 3}',
        b'{"readings": [], "extra": 1}',
        b'{"channel": "m1/vibration", "t": 1, "value": 2, "unit": "m/s^2", "q": 1}',
        b"[]",
        b"null",
        b"\xff\xfe\x00",
        b"[" * 100_000,
    ],
)
def test_a_message_of_the_wrong_shape_is_one_malformed(payload: bytes) -> None:
    intake = Intake(CHANNELS)
    assert intake.accept(payload) == []
    assert intake.counts()["malformed"] == 1
    assert sum(intake.counts().values()) == 1


def test_an_integer_beyond_a_float_is_not_finite() -> None:
    intake = Intake(CHANNELS)
    assert intake.accept(reading("m1/vibration", 1, 10**400)) == []
    assert intake.counts()["not-finite"] == 1


def test_encoded_readings_come_back_through_the_intake() -> None:
    readings = [Reading("m1/vibration", 0.5, 1.25), Reading("m1/temperature", 0.5, 301.0)]
    payload = encode_readings(readings, UNITS)
    assert payload == (
        b'{"readings":[{"channel":"m1/vibration","t":0.5,"value":1.25,"unit":"m/s^2"},'
        b'{"channel":"m1/temperature","t":0.5,"value":301.0,"unit":"K"}]}'
    )
    assert Intake(CHANNELS).accept(payload) == readings


def test_encoding_a_reading_of_an_unknown_unit_is_one_line() -> None:
    with pytest.raises(UserError, match=r"^encode_readings: no unit for channel\(s\) x/y$"):
        encode_readings([Reading("x/y", 0.0, 1.0)], UNITS)


def test_encode_json_is_compact_strict_json_with_nan_as_null() -> None:
    message = {"a": math.nan, "b": [1.5, math.inf, np.float64(2.0)], "c": np.int64(3), "d": "é"}
    assert encode_json(message) == '{"a":null,"b":[1.5,null,2.0],"c":3,"d":"é"}'.encode()


def test_readings_go_on_one_topic_under_the_prefix() -> None:
    assert readings_topic("plant/line-1") == "plant/line-1/readings"


def test_the_schemas_name_the_fields_the_intake_reads() -> None:
    assert set(READING_SCHEMA["required"]) == {"channel", "t", "value", "unit"}
    assert BATCH_SCHEMA["properties"]["readings"]["items"] is READING_SCHEMA
    assert REJECTIONS == (
        "malformed",
        "unknown-channel",
        "unit-mismatch",
        "not-finite",
        "out-of-order",
        "duplicate",
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)
reading_like = st.fixed_dictionaries(
    {
        "channel": st.sampled_from([*CHANNELS, "other"]) | json_values,
        "t": st.floats() | st.integers() | json_values,
        "value": st.floats() | st.integers() | json_values,
        "unit": st.sampled_from([*UNITS.values(), "m"]) | json_values,
    }
)


# Mostly well formed, so that time order and duplicates are exercised, not only the shape.
nearly_valid = st.sampled_from(list(CHANNELS.values())).flatmap(
    lambda c: st.fixed_dictionaries(
        {
            "channel": st.just(c.name),
            "t": st.integers(0, 5) | st.floats(0, 5) | st.floats(),
            "value": st.floats() | st.integers(),
            "unit": st.just(c.unit),
        }
    )
)
batch_like = st.fixed_dictionaries(
    {"readings": st.lists(nearly_valid | reading_like | json_values)}
)


@given(st.binary())
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    intake = Intake(CHANNELS)
    accepted = intake.accept(payload)
    assert intake.counts()["accepted"] == len(accepted)


@given(st.lists(nearly_valid | json_values | reading_like | batch_like))
def test_arbitrary_json_never_raises_and_only_finite_readings_in_time_order_pass(
    messages: list[object],
) -> None:
    intake = Intake(CHANNELS)
    accepted = []
    for message in messages:
        payload = json.dumps(message).encode()  # NaN and Infinity literals included
        accepted += intake.accept(payload)
    counts = intake.counts()
    assert counts["accepted"] == len(accepted)
    for channel in CHANNELS:
        times = [r.at_s for r in accepted if r.channel == channel]
        assert times == sorted(set(times))  # strictly increasing per channel
    assert all(math.isfinite(r.at_s) and math.isfinite(r.value) for r in accepted)


def test_the_schema_page_lists_every_field_and_every_rejection() -> None:
    page = (Path(__file__).parents[2] / "docs" / "LIVE_MESSAGES.md").read_text()
    for field in READING_SCHEMA["required"]:
        assert f"| `{field}` |" in page
    for reason in REJECTIONS:
        assert f"| `{reason}` |" in page
