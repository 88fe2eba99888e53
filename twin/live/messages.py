"""The JSON messages between a real system and its twin (docs/LIVE_MESSAGES.md).

A real system publishes its measurements on ``<prefix>/readings``, one reading or a batch
of them per message; :class:`Intake` turns a message's bytes into checked
:class:`~twin.core.live.Reading` s and counts every rejected one by reason. Whatever the
bytes, :meth:`Intake.accept` never raises: a live twin must outlive a bad sensor.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from twin.core.errors import UserError
from twin.core.live import Channel, Reading

logger = logging.getLogger("twin.live")

READINGS_SUFFIX = "readings"

# One reading. `value` (and `t`) may be null: that is how a conforming publisher sends a
# NaN (JSON has none), and the intake rejects it as "not-finite", not as "malformed".
READING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "twin live reading",
    "type": "object",
    "properties": {
        "channel": {"type": "string", "description": "'<entity>/<quantity>', a known channel"},
        "t": {
            "type": ["number", "null"],
            "description": "the real system's clock when measured, in seconds",
        },
        "value": {"type": ["number", "null"], "description": "the value, in `unit`"},
        "unit": {"type": "string", "description": "SI unit; must equal the channel's"},
    },
    "required": ["channel", "t", "value", "unit"],
    "additionalProperties": False,
}

# Several readings in one message (a publisher sends one message per sampling period).
BATCH_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "twin live readings batch",
    "type": "object",
    "properties": {"readings": {"type": "array", "items": READING_SCHEMA}},
    "required": ["readings"],
    "additionalProperties": False,
}

# Why a reading is rejected, in the order the checks run.
REJECTIONS = (
    "malformed",
    "unknown-channel",
    "unit-mismatch",
    "not-finite",
    "out-of-order",
    "duplicate",
)
_KEYS = frozenset(READING_SCHEMA["required"])


def readings_topic(prefix: str) -> str:
    """The one topic readings are published on under ``prefix``."""
    return f"{prefix}/{READINGS_SUFFIX}"


def _plain(obj: Any) -> Any:
    """``obj`` as plain JSON types, with every non-finite float as None."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(key): _plain(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(item) for item in obj]
    if isinstance(obj, np.ndarray):
        return [_plain(item) for item in obj.tolist()]
    return obj


def encode_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON for any message the twin sends; NaN and infinities become null.

    Strict JSON (``allow_nan=False``): ``NaN`` is not JSON, and many consumers reject it.
    """
    text = json.dumps(_plain(obj), separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.encode("utf-8")


def encode_readings(readings: Sequence[Reading], units: Mapping[str, str]) -> bytes:
    """One batch message of ``readings``; ``units`` gives each channel's unit."""
    missing = sorted({r.channel for r in readings} - set(units))
    if missing:
        raise UserError(f"encode_readings: no unit for channel(s) {', '.join(missing)}")
    return encode_json(
        {
            "readings": [
                {"channel": r.channel, "t": r.at_s, "value": r.value, "unit": units[r.channel]}
                for r in readings
            ]
        }
    )


def _number(raw: Any) -> float | None:
    """A JSON number as a float (inf when too large for one); None when not a number."""
    if raw is None:
        return math.nan
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        return float(raw)
    except OverflowError:  # an integer literal beyond a float's range
        return math.inf


class Intake:
    """Checks incoming reading messages against the twin's channels.

    Args:
        channels: the known channels by name.

    A reading is accepted when it is well formed, on a known channel, in that channel's
    unit, finite, and strictly later than the last reading accepted on its channel.
    Every rejection is counted by reason and logged on the ``twin.live`` logger, one line
    each. A repeated reading (same channel and ``t`` as the last one accepted) is a
    "duplicate": QoS 1 delivers at least once, so a redelivery is expected and dropped.
    """

    def __init__(self, channels: Mapping[str, Channel]) -> None:
        self._channels = dict(channels)
        self._last_t: dict[str, float] = {}
        self._counts = dict.fromkeys(("accepted", *REJECTIONS), 0)

    def counts(self) -> dict[str, int]:
        """How many readings were accepted, and rejected by each reason, so far."""
        return dict(self._counts)

    def accept(self, payload: bytes) -> list[Reading]:
        """The valid readings of one message, in the order they came."""
        try:
            message = json.loads(payload)
        except (ValueError, RecursionError, TypeError):  # not UTF-8 JSON, too deep
            self._reject("malformed", None, None)
            return []
        if isinstance(message, dict) and set(message) == {"readings"}:
            items = message["readings"]
            if not isinstance(items, list):
                self._reject("malformed", None, None)
                return []
        else:
            items = [message]
        accepted = []
        for item in items:
            reading = self._check(item)
            if reading is not None:
                accepted.append(reading)
        return accepted

    def _check(self, item: Any) -> Reading | None:
        if not isinstance(item, dict) or set(item) != _KEYS:
            self._reject("malformed", None, None)
            return None
        channel, unit = item["channel"], item["unit"]
        t, value = _number(item["t"]), _number(item["value"])
        if not isinstance(channel, str) or not isinstance(unit, str) or t is None or value is None:
            self._reject("malformed", channel if isinstance(channel, str) else None, t)
            return None
        reason = self._reason(channel, unit, t, value)
        if reason is not None:
            self._reject(reason, channel, t)
            return None
        self._last_t[channel] = t
        self._counts["accepted"] += 1
        return Reading(channel=channel, at_s=t, value=value)

    def _reason(self, channel: str, unit: str, t: float, value: float) -> str | None:
        """Why a well-formed reading is rejected; None when it is accepted."""
        known = self._channels.get(channel)
        if known is None:
            return "unknown-channel"
        if unit != known.unit:
            return "unit-mismatch"
        if not (math.isfinite(t) and math.isfinite(value)):
            return "not-finite"
        last = self._last_t.get(channel)
        if last is not None and t < last:
            return "out-of-order"
        if last is not None and t == last:
            return "duplicate"
        return None

    def _reject(self, reason: str, channel: str | None, t: float | None) -> None:
        self._counts[reason] += 1
        # %r keeps a hostile channel name on one line (its newlines are escaped).
        logger.warning("rejected reading: %s channel=%r t=%r", reason, channel, t)
