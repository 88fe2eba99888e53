"""What an admission policy sees at each arrival and what it may answer."""

from __future__ import annotations

from typing import NamedTuple

from twin.core.policy import InvalidActionError


class StationObservation(NamedTuple):
    """The station as an arriving job finds it.

    A tuple, so a policy cannot change what the station or another policy sees.

    Attributes:
        now_s: simulated time of the arrival.
        queue_length: jobs waiting (not in service).
        busy_servers: servers serving a job.
        servers: servers in the station.
        capacity: most jobs the station holds (waiting plus in service); ``None`` if
            unlimited.
        sensed_queue_length: the last queue-length reading delivered by the station's
            sensor pipeline (delayed, noisy, compressed); NaN without a sensor or before
            the first reading.
    """

    now_s: float
    queue_length: int
    busy_servers: int
    servers: int
    capacity: int | None
    sensed_queue_length: float


class StationAction(NamedTuple):
    """Admit the arriving job, or turn it away (booked as lost production)."""

    admit: bool


ADMIT = StationAction(admit=True)
REJECT = StationAction(admit=False)


def check_station_action(
    action: object, observation: StationObservation, policy_id: str
) -> StationAction:
    """``action`` if an admission policy may answer it at ``observation``;
    :class:`InvalidActionError` if not (any station may admit or turn away any job)."""
    if type(action) is not StationAction or type(action.admit) is not bool:
        raise InvalidActionError(policy_id, action, "expected StationAction(admit=True|False)")
    return action
