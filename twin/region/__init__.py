"""The region: a plant, its supply chain, the city its trucks drive through and the cloud
its sensors load, in one World, joined by the ports of :mod:`twin.core.ports`.

The region sits above the domains (it imports them; no domain imports it) and below
``models`` and ``experiments``.
"""

from twin.region.config import RegionParams, SmallAgvRegionParams, SmallRegionParams
from twin.region.policies import AREAS, PolicySet, PolicySetParams

__all__ = [
    "AREAS",
    "PolicySet",
    "PolicySetParams",
    "RegionParams",
    "SmallAgvRegionParams",
    "SmallRegionParams",
]
