"""Ports: what one domain publishes for another to consume, wired only by a scenario.

A domain never imports another domain. When the sensors of a plant load the cloud that
ingests their readings, the plant's side states its sensor traffic as a
:class:`SensorTraffic` (built from its own :class:`~twin.core.sensors.SensorConfig`) and
the cloud's side reads the message rate from it; only a scenario (or a test) holds both.
The same holds for goods (:class:`GoodsOutbox`: a factory's output is a supply plant's
production) and vehicles (:class:`Road`: a supply chain's trucks drive through a city).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import simpy
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


class GoodsOutbox:
    """Finished goods one domain makes and another takes (a plant's output feeding a
    supply chain's plant site). Whole units; what is put and not yet taken is the
    producer's stock. Counts are kept from the start of the run (never reset at the end
    of a warm-up), so a scenario can check that goods are conserved across the border.
    """

    def __init__(self) -> None:
        self.produced = 0
        self.taken = 0

    @property
    def level(self) -> int:
        """Units put and not yet taken."""
        return self.produced - self.taken

    def put(self, units: int = 1) -> None:
        if units < 0:
            raise ValueError(f"cannot put {units} units")
        self.produced += units

    def take(self, at_most: int) -> int:
        """Take up to ``at_most`` units (all there are if fewer); how many were taken."""
        units = max(0, min(at_most, self.level))
        self.taken += units
        return units


@dataclass(frozen=True)
class Drive:
    """One finished drive of a vehicle through another domain's road network.

    Attributes:
        vehicle: the road domain's name for the vehicle (what its ledger rows name).
        requested_s: when the drive was asked for.
        entered_s: when the vehicle entered the network (later if the entry was blocked).
        arrived_s: when it reached the destination.
        distance_m: metres driven.
    """

    vehicle: str
    requested_s: float
    entered_s: float
    arrived_s: float
    distance_m: float

    @property
    def duration_s(self) -> float:
        """Request to arrival: what the caller waited."""
        return self.arrived_s - self.requested_s


@dataclass(frozen=True)
class Cargo:
    """What a vehicle sent on a :class:`Road` carries, in the sending domain's words.

    The road never reads it to drive; it keeps it beside the drive so whoever watches
    the run (an inspector) can say what the vehicle on its network is carrying, from
    where to where, and how long its sender expected the drive to take.

    Attributes:
        vehicle: the sender's name for the vehicle (``trucks.plant.2``: its ledger name).
        departed_s: when it left its dock, loaded (or empty, for a return).
        units: units on board (0: running empty).
        pallets: pallets on board.
        kg: payload mass.
        orders: the sender's numbers of the orders the load fills.
        model_drive_s: the sender's own estimate of the drive (its distance over its speed).
    """

    vehicle: str
    departed_s: float
    units: int = 0
    pallets: int = 0
    kg: float = 0.0
    orders: tuple[int, ...] = ()
    model_drive_s: float = math.nan


class Road(Protocol):
    """A road network other domains' vehicles drive through (the consuming side of the
    vehicle port: a supply chain's trucks in a city). The road books the vehicle's fuel
    in the run's ledger, as it does for its own vehicles."""

    def drive(self, origin: str, destination: str, cargo: Cargo | None = None) -> simpy.Event:
        """Send a vehicle from ``origin`` to ``destination`` (places the road knows) now,
        carrying ``cargo`` (what it is, for people; ``None``: not said): an event that
        succeeds with the :class:`Drive` when it has arrived."""
        ...
