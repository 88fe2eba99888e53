"""Traffic scenarios registered by id: signalised grids with Poisson demand.

Their parameters are in :mod:`twin.traffic.config`; defaults and their sources:
docs/PARAMETERS.md, section "Traffic".
"""

from __future__ import annotations

from typing import Any

from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.config import Grid10x10Params, PeakParams, TrafficParams
from twin.traffic.demand import Trip, TripTable, poisson_trips
from twin.traffic.network import Network


class GridCity(Scenario[TrafficParams]):
    """A 4x4 grid of signalised intersections, 200 m blocks, Poisson trips."""

    id = "traffic/grid4x4-v0"
    domain = "traffic.signals"
    description = "4x4 signalised grid, 200 m blocks, one lane, Poisson trips (0.4/s)"
    Params = TrafficParams
    default_policy = "signals/fixed-time-v0"
    headline_kpis = (
        "trip_duration_mean_s",
        "time_loss_mean_s",
        "waiting_time_mean_s",
        "queue_mean_veh",
        "trips_completed",
        "network_co2_kg",
    )

    def policy_info(self) -> dict[str, Any]:
        network = self.params.network()
        return {
            "intersections": sum(1 for i in network.intersections if i.program is not None),
            "step_s": self.params.step_s,
        }

    def trips(self, world: World, network: Network) -> TripTable:
        """Poisson trips from stream ``traffic.demand`` plus the explicit routes."""
        params = self.params
        vtypes = [v.build() for v in params.vehicle_types]
        shares = [v.share for v in params.vehicle_types]
        table = poisson_trips(
            network,
            params.demand.profile(),
            params.demand_horizon_s,
            world.streams["traffic.demand"],
            vtypes=vtypes,
            vtype_shares=shares,
        )
        if not params.routes:
            return table
        trips = table.trips()
        for spec in params.routes:
            edges = tuple(network.edge_index(e) for e in spec.edges)
            for j in range(spec.count):
                trips.append(Trip(spec.depart_s + j * spec.every_s, edges[0], edges[-1], 0, edges))
        return TripTable.from_trips(network, trips, vtypes)

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        network = self.params.network()
        self.city = City(
            world,
            network,
            self.trips(world, network),
            policy,
            step_s=self.params.step_s,
            sensors=self.params.detectors,
            loop_detectors=self.params.loop_detectors,
            per_intersection_kpis=self.params.per_intersection_kpis,
            decision_grid_s=self.params.decision_grid_s,
        )

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.city.kpis()


class Grid10x10City(GridCity):
    """The benchmark city: 10x10 grid, 200 m blocks, one lane, about 2 trips per second."""

    id = "traffic/grid10x10-v0"
    description = "10x10 signalised grid, 200 m blocks, one lane, Poisson trips (2/s)"
    Params = Grid10x10Params


class GridPeakCity(GridCity):
    """The 4x4 grid through a morning peak: 0.25 -> 0.6 -> 0.25 trips/s over three hours."""

    id = "traffic/grid4x4-peak-v0"
    description = "4x4 grid, morning peak: 0.25 -> 0.6 trips/s (1-2 h) -> 0.25, 3 h"
    Params = PeakParams
