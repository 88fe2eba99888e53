"""A queueing station (M/M/c, M/G/c, M/M/c/K) with an admission-policy slot.

The smallest complete twin: it proves the engine against Erlang C and Little's law.
Its contract (:data:`twin.station.domain.DOMAIN`) is imported from its own module.
"""

from twin.station.config import StationParams
from twin.station.observation import (
    ADMIT,
    REJECT,
    StationAction,
    StationObservation,
    check_station_action,
)

__all__ = [
    "ADMIT",
    "REJECT",
    "StationAction",
    "StationObservation",
    "StationParams",
    "check_station_action",
]
