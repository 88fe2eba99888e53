"""Supply-chain scenarios registered by id."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from twin.core.distributions import Deterministic, Gamma
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_WEEK
from twin.core.world import World
from twin.supply.config import DemandSpec, SiteSpec, SupplyParams
from twin.supply.network import SupplyNetwork

HOLDING_RATE_PER_YEAR = 0.25
"""Carrying cost as a share of unit value per year (see docs/PARAMETERS.md)."""
RETAIL_WEEK = [0.85, 0.85, 0.9, 0.95, 1.15, 1.4, 0.9]
"""Monday..Sunday sales shape of a grocery-like store (see docs/PARAMETERS.md)."""


def holding_per_day(unit_value: float) -> float:
    return unit_value * HOLDING_RATE_PER_YEAR / 365.0


def _single_echelon_sites() -> list[SiteSpec]:
    return [
        SiteSpec(name="supplier", kind="supplier", trucks=5),
        SiteSpec(
            name="store",
            kind="retailer",
            source="supplier",
            distance_km=40.0,
            lead_time=Deterministic(value=2 * SECONDS_PER_DAY),
            initial_on_hand=60,
            holding_cost_per_unit_day=holding_per_day(20.0),
            shortage_cost_per_unit=0.5,
            trucks=0,
            demand=DemandSpec(base_per_day=20.0),
        ),
    ]


class SingleEchelonParams(SupplyParams):
    sites: list[SiteSpec] = Field(default_factory=_single_echelon_sites, min_length=2)


class SupplyScenario(Scenario[SupplyParams]):
    """Shared build and KPIs of the supply scenarios."""

    domain = "supply.replenishment"
    default_policy = "replenishment/base-stock-v0"
    headline_kpis = ("fill_rate", "avg_inventory_units", "truck_km", "load_factor")

    def policy_info(self) -> dict[str, Any]:
        """Network facts a replenishment policy may size itself by (no demand parameters)."""
        sites = [site for site in self.params.sites if site.kind != "supplier"]
        return {
            "sites": [site.name for site in sites],
            "retailers": sum(site.kind == "retailer" for site in sites),
            "units_per_pallet": self.params.product.units_per_pallet,
            "truck_capacity_pallets": self.params.truck.capacity_pallets,
        }

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        self.network = SupplyNetwork(world, self.params, policy, self.id)

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.network.kpis()


class SingleEchelon(SupplyScenario):
    """One supplier, one store: Poisson demand, two-day lead time, daily review."""

    id = "supply/single-echelon-v0"
    description = "one supplier, one store: Poisson demand 20/day, 2-day lead time, backorders"
    Params = SingleEchelonParams


def _beer_game_sites() -> list[SiteSpec]:
    # Sterman (1989): four stages ordering weekly, two weeks' delay between stages,
    # 4 cases/week of demand stepping to 8 in week 5, 0.5 per case-week holding and
    # 1.0 per case-week backlog at every stage. Customer demand is Poisson around it.
    stage: dict[str, Any] = {
        "review_period_days": 7,
        "lead_time": Deterministic(value=2 * SECONDS_PER_WEEK),
        "distance_km": 0.0,
        "initial_on_hand": 12,
        "holding_cost_per_unit_day": 0.5 / 7,
        "shortage_cost_per_unit": 1.0 / 7,
        "trucks": 4,
    }
    return [
        SiteSpec(name="brewery-supply", kind="supplier", trucks=4),
        SiteSpec(
            name="factory",
            kind="plant",
            source="brewery-supply",
            capacity_units_per_day=1000.0,
            **stage,
        ),
        SiteSpec(name="distributor", kind="dc", source="factory", **stage),
        SiteSpec(name="wholesaler", kind="dc", source="distributor", **stage),
        SiteSpec(
            name="retailer",
            kind="retailer",
            source="wholesaler",
            demand=DemandSpec(base_per_day=4 / 7, step_day=28.0, step_factor=2.0),
            **{**stage, "trucks": 0},
        ),
    ]


class BeerGameParams(SupplyParams):
    sites: list[SiteSpec] = Field(default_factory=_beer_game_sites, min_length=2)


class BeerGame(SupplyScenario):
    """The beer game: retailer, wholesaler, distributor, factory; weekly orders."""

    id = "supply/beer-game-v0"
    description = "beer game: 4 stages, weekly review, 2-week delays, demand 4 -> 8 cases/week"
    Params = BeerGameParams


REGIONAL_DCS = 5
REGIONAL_RETAILERS_PER_DC = 10
ROAD_CIRCUITY = 1.3
"""Road distance over straight-line distance (see docs/PARAMETERS.md)."""


def regional_sites(
    dcs: int = REGIONAL_DCS, retailers_per_dc: int = REGIONAL_RETAILERS_PER_DC
) -> list[SiteSpec]:
    """A supplier, a plant, ``dcs`` distribution centres and their retailers.

    DCs sit on a ring 150 km around the plant, each DC's retailers 8-60 km from it
    (spread evenly over the disc's area); retailers differ in size (30-90 units a day) and all
    share a grocery-like week, a winter peak, growth and price promotions. Starting
    stock is about two weeks of each site's demand, so the warm-up is short.
    """
    unit_value = 20.0
    holding = holding_per_day(unit_value)
    sites: list[SiteSpec] = []
    retailer_means = [
        30.0 + 60.0 * ((k * 7) % retailers_per_dc) / max(retailers_per_dc - 1, 1)
        for k in range(retailers_per_dc)
    ]
    total_per_dc = sum(retailer_means)
    total = total_per_dc * dcs
    sites.append(SiteSpec(name="supplier", kind="supplier", trucks=max(4, dcs)))
    sites.append(
        SiteSpec(
            name="plant",
            kind="plant",
            source="supplier",
            distance_km=120.0,
            lead_time=Gamma(mean=3 * SECONDS_PER_DAY, cv=0.3),
            review_period_days=7,
            initial_on_hand=round(total * 14),
            holding_cost_per_unit_day=holding * 0.5,
            order_cost=200.0,
            capacity_units_per_day=round(total * 1.3),
            trucks=max(4, 2 * dcs),
        )
    )
    for d in range(dcs):
        angle = 2 * math.pi * d / dcs
        dc_x, dc_y = 150.0 * math.cos(angle), 150.0 * math.sin(angle)
        dc = f"dc{d:02d}"
        sites.append(
            SiteSpec(
                name=dc,
                kind="dc",
                source="plant",
                distance_km=round(ROAD_CIRCUITY * math.hypot(dc_x, dc_y), 1),
                lead_time=Gamma(mean=0.5 * SECONDS_PER_DAY, cv=0.5),
                review_period_days=2,
                initial_on_hand=round(total_per_dc * 10),
                holding_cost_per_unit_day=holding * 0.8,
                order_cost=100.0,
                trucks=retailers_per_dc,
            )
        )
        for r in range(retailers_per_dc):
            radius = 8.0 + 52.0 * math.sqrt((r + 0.5) / retailers_per_dc)
            sites.append(
                SiteSpec(
                    name=f"r{d:02d}-{r:02d}",
                    kind="retailer",
                    source=dc,
                    distance_km=round(ROAD_CIRCUITY * radius, 1),
                    lead_time=Gamma(mean=0.25 * SECONDS_PER_DAY, cv=0.5),
                    review_period_days=1,
                    initial_on_hand=round(retailer_means[r] * 5),
                    holding_cost_per_unit_day=holding,
                    order_cost=10.0,
                    shortage_cost_per_unit=2.0,
                    lost_sales=True,
                    trucks=0,
                    demand=DemandSpec(
                        base_per_day=retailer_means[r],
                        trend_per_year=0.03,
                        weekly=RETAIL_WEEK,
                        yearly_amplitude=0.15,
                        yearly_peak_day=350.0,
                        price=unit_value * 1.5,
                        price_elasticity=-2.5,
                        promotion_probability=0.1,
                        promotion_discount=0.2,
                        promotion_lift=1.3,
                        noise="negative_binomial",
                        dispersion=20.0,
                    ),
                )
            )
    return sites


class RegionalParams(SupplyParams):
    sites: list[SiteSpec] = Field(default_factory=regional_sites, min_length=2)


class Regional(SupplyScenario):
    """A regional network: supplier, plant, 5 DCs, 50 retailers with promotions."""

    id = "supply/regional-v0"
    description = "supplier -> plant -> 5 DCs -> 50 retailers; seasonal, promoted demand"
    Params = RegionalParams
