"""What a maintenance policy sees at each sensor report, and what it may answer."""

from __future__ import annotations

from typing import NamedTuple

from twin.core.policy import InvalidActionError

MACHINE_STATES = ("idle", "starved", "busy", "blocked", "failed", "repair", "maintenance")
"""idle: stopped, waiting for a planned-maintenance technician or not yet started;
starved: waiting for a part; blocked: holding a finished part the next buffer has no
room for; failed: down, waiting for a spare part or a technician; repair: under
corrective repair; maintenance: under preventive maintenance."""

DOWN_STATES = frozenset({"failed", "repair", "maintenance", "idle"})


class MaintenanceObservation(NamedTuple):
    """One machine as its latest sensor report shows it.

    Readings are the delivered, edge-filtered values (NaN before the first delivery or
    while a sensor drops out); the true health is not observable.

    Attributes:
        now_s: simulated time of the decision.
        machine: index of the machine in the plant (0-based).
        station: the station the machine belongs to.
        state: one of :data:`MACHINE_STATES`.
        vibration_mm_s: vibration velocity RMS.
        temperature_c: housing temperature.
        pressure_bar: hydraulic pressure.
        humidity_pct: relative humidity at the machine.
        reading_age_s: time since the readings were measured.
        operating_h: hours spent processing since the last maintenance or repair.
        calendar_h: hours since the last maintenance or repair (or the start).
        parts: parts processed since the last maintenance or repair.
        failures: unplanned failures of this machine so far in the run.
        technicians_free: technicians on shift and not working.
        maintenance_queue: machines waiting for a technician.
    """

    now_s: float
    machine: int
    station: str
    state: str
    vibration_mm_s: float
    temperature_c: float
    pressure_bar: float
    humidity_pct: float
    reading_age_s: float
    operating_h: float
    calendar_h: float
    parts: int
    failures: int
    technicians_free: int
    maintenance_queue: int


class MaintenanceAction(NamedTuple):
    """Stop this machine for preventive maintenance (after its current part), or not."""

    maintain: bool


MAINTAIN = MaintenanceAction(maintain=True)
CONTINUE = MaintenanceAction(maintain=False)


def check_maintenance_action(action: object, policy_id: str) -> MaintenanceAction:
    """``action`` if a maintenance policy may answer it; :class:`InvalidActionError` if not."""
    if type(action) is not MaintenanceAction or type(action.maintain) is not bool:
        raise InvalidActionError(
            policy_id, action, "expected MaintenanceAction(maintain=True|False)"
        )
    return action
