"""Supply chain: suppliers, plants, distribution centres, retailers, trucks and demand.

Its contract (:data:`twin.supply.domain.DOMAIN`) is imported from its own module.
"""

from twin.supply.config import DemandSpec, ProductSpec, SiteSpec, SupplyParams, TruckSpec
from twin.supply.observation import (
    NO_ORDER,
    SHIP,
    WAIT,
    ReplenishmentAction,
    ReplenishmentObservation,
    TransportAction,
    TransportObservation,
    check_replenishment_action,
    check_transport_action,
)

__all__ = [
    "NO_ORDER",
    "SHIP",
    "WAIT",
    "DemandSpec",
    "ProductSpec",
    "ReplenishmentAction",
    "ReplenishmentObservation",
    "SiteSpec",
    "SupplyParams",
    "TransportAction",
    "TransportObservation",
    "TruckSpec",
    "check_replenishment_action",
    "check_transport_action",
]
