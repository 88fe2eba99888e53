"""A queueing station (M/M/c, M/G/c, M/M/c/K) with an admission-policy slot.

The smallest complete twin: it proves the engine against Erlang C and Little's law.
"""

from twin.station.observation import ADMIT, REJECT, StationAction, StationObservation

__all__ = ["ADMIT", "REJECT", "StationAction", "StationObservation"]
