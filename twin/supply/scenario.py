"""Supply-chain scenarios registered by id."""

from __future__ import annotations

from typing import Any

from twin.core.policy import Policy
from twin.core.run import start_policy
from twin.core.scenario import KPI, Scenario
from twin.core.world import World
from twin.supply.config import (
    BeerGameParams,
    RegionalParams,
    RegionalTransportParams,
    SingleEchelonParams,
    SupplyParams,
)
from twin.supply.network import SupplyNetwork


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


class BeerGame(SupplyScenario):
    """The beer game: retailer, wholesaler, distributor, factory; weekly orders."""

    id = "supply/beer-game-v0"
    description = "beer game: 4 stages, weekly review, 2-week delays, demand 4 -> 8 cases/week"
    Params = BeerGameParams


class Regional(SupplyScenario):
    """A regional network: supplier, plant, 5 DCs, 50 retailers with promotions."""

    id = "supply/regional-v0"
    description = "supplier -> plant -> 5 DCs -> 50 retailers; seasonal, promoted demand"
    Params = RegionalParams


class RegionalTransport(SupplyScenario):
    """The regional network, where the run's policy decides the trucks: route planners
    and dispatch rules compared on the same orders (base stock by default)."""

    id = "supply/regional-transport-v0"
    domain = "supply.transport"
    default_policy = "transport/ship-now-v0"
    description = "the regional network; the run's policy dispatches its trucks"
    Params = RegionalTransportParams
    params: RegionalTransportParams
    headline_kpis = ("truck_km", "load_factor", "co2e_kg", "late_order_share")

    def policy_info(self) -> dict[str, Any]:
        """What the network tells its transport policy: its lanes."""
        return {"lanes": sum(site.kind != "supplier" for site in self.params.sites)}

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        params = self.params
        orders = start_policy(
            world,
            params.replenishment_policy,
            dict(params.replenishment_policy_params),
            self.id,
            super().policy_info(),
        )
        self.network = SupplyNetwork(world, params, orders, self.id, transport=policy)
