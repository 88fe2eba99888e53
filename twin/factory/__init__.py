"""The factory twin: degrading machines, sensors, repair crews, buffers and AGVs.

The domain's contract (decision areas, invariants, view, KPIs) is
:data:`twin.factory.domain.DOMAIN`; its scenarios are in :mod:`twin.factory.scenario`.
"""

from twin.factory.config import AgvSpec, CrewSpec, PlantParams, ProductSpec, StationSpec
from twin.factory.observation import (
    CONTINUE,
    MAINTAIN,
    WAIT,
    AgvView,
    DispatchAction,
    DispatchObservation,
    MaintenanceAction,
    MaintenanceObservation,
    TransportRequest,
    check_dispatch_action,
    check_maintenance_action,
)
from twin.factory.plant import Plant

__all__ = [
    "CONTINUE",
    "MAINTAIN",
    "WAIT",
    "AgvSpec",
    "AgvView",
    "CrewSpec",
    "DispatchAction",
    "DispatchObservation",
    "MaintenanceAction",
    "MaintenanceObservation",
    "Plant",
    "PlantParams",
    "ProductSpec",
    "StationSpec",
    "TransportRequest",
    "check_dispatch_action",
    "check_maintenance_action",
]
