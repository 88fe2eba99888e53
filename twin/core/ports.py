"""Ports: what one domain publishes for another to consume, wired only by a scenario.

A domain never imports another domain. When the sensors of a plant load the cloud that
ingests their readings, the plant's side states its sensor traffic as a
:class:`SensorTraffic` (built from its own :class:`~twin.core.sensors.SensorConfig`) and
the cloud's side reads the message rate from it; only a scenario (or a test) holds both.
"""

from __future__ import annotations

import math
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.core.sensors import ReadingBoard, SensorConfig

DEFAULT_MESSAGE_BYTES = 128.0
"""Bytes of one reading on the wire: an MQTT 3.1.1 PUBLISH with a short topic and a small
JSON payload (modelling choice; docs/PARAMETERS.md, "Ports")."""


class SensorTraffic(BaseModel):
    """The messages a pipeline of ``channels`` sensors sends upstream.

    Every sample is taken, lost with ``dropout_prob``, then sent or suppressed by report
    by exception; ``sent_fraction`` is the share of surviving samples that are sent
    (1 without a deadband). With a deadband it depends on the signal, so it is given:
    measured on a run (:func:`sent_fraction_of`) or assumed. A heartbeat bounds it from
    below: each channel reports at least once per ``heartbeat_s``.

    Attributes:
        channels: number of sensors (one channel each).
        sensor: the sensor and its edge pipeline, as the publishing domain configures it.
        sent_fraction: share of surviving samples sent; ``None`` means "no report by
            exception" and is only allowed without a deadband.
        message_bytes: bytes of one sent reading on the wire.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    channels: int = Field(ge=1, description="number of sensors")
    sensor: SensorConfig
    sent_fraction: float | None = Field(
        default=None, gt=0, le=1, description="share of surviving samples that are sent"
    )
    message_bytes: float = Field(default=DEFAULT_MESSAGE_BYTES, gt=0)

    @model_validator(mode="after")
    def _fraction_given_with_deadband(self) -> SensorTraffic:
        if self.sensor.pipeline.deadband is not None and self.sent_fraction is None:
            raise ValueError(
                "the pipeline reports by exception (deadband set): give sent_fraction, "
                "the share of samples sent, measured or assumed"
            )
        return self

    @property
    def samples_per_s(self) -> float:
        """Samples taken per second over all channels."""
        return self.channels / self.sensor.sensor.period_s

    @property
    def messages_per_s(self) -> float:
        """Readings sent per second over all channels (each reading one message)."""
        spec = self.sensor.sensor
        surviving = self.samples_per_s * (1.0 - spec.dropout_prob)
        fraction = 1.0 if self.sent_fraction is None else self.sent_fraction
        rate = surviving * fraction
        heartbeat_s = self.sensor.pipeline.heartbeat_s
        if heartbeat_s is not None:
            # A heartbeat is a sample sent because nothing changed for heartbeat_s; it
            # cannot come more often than samples are taken.
            floor = self.channels / max(heartbeat_s, spec.period_s) * (1.0 - spec.dropout_prob)
            rate = max(rate, floor)
        return rate

    @property
    def bytes_per_s(self) -> float:
        return self.messages_per_s * self.message_bytes


class SensorTrafficSource(Protocol):
    """A domain entity that can state its sensor traffic (the publishing side)."""

    def sensor_traffic(self) -> SensorTraffic: ...


def sent_fraction_of(board: ReadingBoard) -> float:
    """Share of surviving samples a board's pipeline sent (rejected count as not sent).

    Raises:
        ValueError: when the board has not counted any surviving sample yet.
    """
    totals = board.totals()
    surviving = totals["taken"] - totals["dropped"]
    if surviving <= 0:
        raise ValueError("the board has no surviving samples yet; run the feed first")
    fraction = totals["sent"] / surviving
    if not math.isfinite(fraction) or fraction <= 0:
        raise ValueError(f"no sample was sent ({totals['sent']} of {surviving})")
    return fraction
