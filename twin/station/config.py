"""The parameters of a queueing station. Defaults and their sources: docs/PARAMETERS.md."""

from __future__ import annotations

from pydantic import Field, model_validator

from twin.core.distributions import Distribution, Exponential
from twin.core.scenario import ScenarioParams
from twin.core.sensors import SensorConfig


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
