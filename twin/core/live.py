"""What a domain offers a live twin (``twin shadow``): the channels a real system measures,
what the twin predicts for each, a state estimator fed by the measurements, and how an
estimate is put into the running world.

The live twin (``twin.live``) reads these through ``Domain.live`` and never names a
domain. A correction is plain JSON, so a shadow session's snapshot can record it and
replay it exactly (:mod:`twin.live.snapshot`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

ModelT = TypeVar("ModelT")


@dataclass(frozen=True)
class Reading:
    """One measurement of the real system.

    Attributes:
        channel: which channel (``"machine:3/vibration"``), one of the domain's channels.
        at_s: the real system's clock when it was measured, in seconds.
        value: the measured value, in the channel's unit.
    """

    channel: str
    at_s: float
    value: float


@dataclass(frozen=True)
class Channel:
    """A measured quantity of the real system that the twin can predict.

    Attributes:
        name: ``"<entity>/<quantity>"``, e.g. ``"machine:3/vibration"``.
        entity: the entity it is measured on (a world's entity name).
        unit: SI unit of its values.
        alarm: divergence (|measured - predicted|, in ``unit``) above which the twin is
            said to have lost the real system on this channel.
        description: one line for the message schema page.
    """

    name: str
    entity: str
    unit: str
    alarm: float
    description: str = ""


class StateEstimator(Protocol):
    """Estimates what the twin cannot see from what is measured (a particle filter on the
    degradation model, inflows from detector counts)."""

    def ingest(self, reading: Reading) -> None:
        """Take one reading (already checked: known channel, finite, in time order)."""

    def correction(self, now_s: float) -> dict[str, Any]:
        """What to set in the twin now, as JSON (the input a snapshot records); ``{}``:
        nothing to change."""

    def estimates(self, now_s: float) -> dict[str, float]:
        """The estimated hidden quantities now, by name (``"machine:3/health"``,
        ``"machine:3/rul_s"``), for the shadow's report."""


@dataclass(frozen=True)
class LiveInterface(Generic[ModelT]):
    """How the live twin reads, estimates and corrects one domain's world.

    Attributes:
        description: one line for the reference page.
        channels: ``(model)`` -> every channel the built world can be measured on.
        predict: ``(model)`` -> the twin's own value of each channel now (no sensor
            noise), to compare with what is measured.
        estimator: ``(model, options)`` -> a fresh estimator for the built world.
        correct: ``(model, correction)`` -> put a correction into the running world; it
            must be deterministic in its arguments (a replay applies it again).
        truth: ``(model)`` -> the hidden quantities :meth:`StateEstimator.estimates`
            names, read from a world that knows them (an emulated reality), to score
            estimation error.
    """

    description: str
    channels: Callable[[ModelT], list[Channel]]
    predict: Callable[[ModelT], dict[str, float]]
    estimator: Callable[[ModelT, Mapping[str, Any]], StateEstimator]
    correct: Callable[[ModelT, dict[str, Any]], None]
    truth: Callable[[ModelT], dict[str, float]]
