"""``station/mmc-v0``: the queueing station as a registered scenario."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from twin.core.distributions import Distribution, Exponential
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario, ScenarioParams
from twin.core.sensors import SensorConfig, SensorFeed
from twin.core.world import World
from twin.station.station import Station

SECONDS_PER_HOUR = 3600.0


class StationParams(ScenarioParams):
    """Parameters of the station. Defaults and their sources: docs/PARAMETERS.md."""

    arrival_rate_per_s: float = Field(
        default=1 / 60, gt=0, description="Poisson arrival rate, jobs per second"
    )
    servers: int = Field(default=2, ge=1, le=10_000, description="parallel identical servers")
    service: Distribution = Field(
        default_factory=lambda: Exponential(mean=100.0),
        description="service-time distribution (exponential gives M/M/c)",
    )
    capacity: int | None = Field(
        default=None,
        ge=1,
        description="most jobs in the station, waiting plus in service (M/M/c/K); none = unlimited",
    )
    server_busy_power_kw: float = Field(default=0.0, ge=0, description="power of a busy server")
    server_idle_power_kw: float = Field(default=0.0, ge=0, description="power of an idle server")
    electricity_price_per_kwh: float = Field(default=0.0, ge=0, description="money per kWh")
    rejection_cost: float = Field(
        default=0.0, ge=0, description="money lost per job turned away (lost production)"
    )
    queue_sensor: SensorConfig | None = Field(
        default=None, description="a queue-length sensor whose readings policies see"
    )

    @model_validator(mode="after")
    def _capacity_holds_servers(self) -> StationParams:
        if self.capacity is not None and self.capacity < self.servers:
            raise ValueError(f"capacity ({self.capacity}) must be >= servers ({self.servers})")
        return self


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
        station = self.station
        span_s = world.now_s - world.warmup_s
        arrived = station.arrived.count
        rejected = station.rejected.count
        completed = station.completed.count
        service_mean_s = station.served_service_s / completed if completed else float("nan")
        return {
            "wait_mean_s": KPI(station.wait.mean, "s", "mean wait in queue of served jobs (Wq)"),
            "wait_p95_s": KPI(station.wait.quantile(0.95), "s", "95th percentile of wait"),
            "sojourn_mean_s": KPI(
                station.wait.mean + service_mean_s, "s", "mean time in station (W = Wq + S)"
            ),
            "queue_length_mean": KPI(station.queue.mean(), "jobs", "time-average queue (Lq)"),
            "in_system_mean": KPI(
                station.queue.mean() + station.busy.mean(), "jobs", "time-average in station (L)"
            ),
            "utilisation": KPI(
                station.busy.mean() / self.params.servers, "1", "share of server time busy"
            ),
            "throughput_per_h": KPI(
                station.completed.count / span_s * SECONDS_PER_HOUR, "jobs/h", "completed jobs"
            ),
            "arrived": KPI(float(arrived), "jobs", "arrivals after the warm-up"),
            "rejected": KPI(float(rejected), "jobs", "arrivals turned away"),
            "rejected_share": KPI(
                rejected / arrived if arrived else 0.0, "1", "share of arrivals turned away"
            ),
        }
