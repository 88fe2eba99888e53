"""``station/mmc-v0``: the queueing station as a registered scenario."""

from __future__ import annotations

from typing import Any

from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.sensors import SensorFeed
from twin.core.world import World
from twin.station.config import StationParams
from twin.station.station import Station


class StationScenario(Scenario[StationParams]):
    """M/M/c or M/G/c queueing station with an admission policy; checks the engine."""

    id = "station/mmc-v0"
    domain = "station"
    description = "M/M/c (or M/G/c, M/M/c/K) queueing station with an admission policy slot"
    Params = StationParams
    default_policy = "admission/admit-all-v0"
    headline_kpis = ("throughput_per_h", "wait_mean_s", "utilisation")

    def policy_info(self) -> dict[str, Any]:
        return {"servers": self.params.servers, "capacity": self.params.capacity}

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        params = self.params
        if params.electricity_price_per_kwh:
            world.ledger.set_price("electricity", params.electricity_price_per_kwh)
        self.station = Station(world, params, policy)
        if params.queue_sensor is not None:
            feed = SensorFeed.attach(
                world,
                "station.queue_length",
                self.station.queue_length_signal,
                params.queue_sensor,
                channels=1,
            )
            self.station.sensor_board = feed.board

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.station.kpis()
