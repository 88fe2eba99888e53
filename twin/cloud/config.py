"""The cluster and its workload as a config. Defaults and sources: docs/PARAMETERS.md ("Cloud")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.core.distributions import Distribution, Exponential, Gamma, Lognormal
from twin.core.ports import SensorTraffic
from twin.core.scenario import ScenarioParams

GRID_PROFILE_SOURCE = (
    "modelling choice: a solar-shaped day (clean midday, evening peak) whose daily mean is "
    "Ember's world figure for 2022, 436 gCO2e/kWh (Global Electricity Review 2023); "
    "replace with a measured hourly profile for a real site"
)
"""Where the default grid-intensity profile comes from (recorded in every run's manifest)."""

DEFAULT_GRID_PROFILE_KG_PER_KWH: tuple[float, ...] = (
    0.460, 0.448, 0.440, 0.436, 0.438, 0.448,  # 00-05 h: night base load, gas and coal
    0.460, 0.454, 0.428, 0.396, 0.364, 0.340,  # 06-11 h: solar ramps up
    0.330, 0.332, 0.346, 0.374, 0.420, 0.478,  # 12-17 h: solar noon, then the ramp down
    0.518, 0.538, 0.532, 0.514, 0.494, 0.478,  # 18-23 h: evening peak on peakers
)  # fmt: skip


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RequestClass(_Spec):
    """One kind of request: its rate at the daily mean, its work and its objective.

    Attributes:
        name: lowercase name; it keys the class's random streams.
        rate_per_s: mean arrival rate over a weekday (the diurnal pattern averages to it).
        service: work of one request on one worker (a vCPU), s.
        slo_s: latency objective; a request slower than this violates it.
        follows_diurnal: whether the class follows the day/week pattern (sensor
            ingestion does not: sensors sample around the clock).
        bursts: whether workload bursts multiply this class.
        deferrable: batch work a policy may hold back until ``deadline_s`` after arrival.
        deadline_s: for deferrable work, the latest completion after arrival.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    rate_per_s: float = Field(ge=0)
    service: Distribution
    slo_s: float = Field(gt=0)
    follows_diurnal: bool = True
    bursts: bool = True
    deferrable: bool = False
    deadline_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _deadline_only_when_deferrable(self) -> RequestClass:
        if self.deferrable and self.deadline_s is None:
            raise ValueError(f"deferrable class {self.name!r} needs deadline_s")
        if not self.deferrable and self.deadline_s is not None:
            raise ValueError(f"class {self.name!r} has deadline_s but is not deferrable")
        return self


class Burst(_Spec):
    """Load multiplied by ``multiplier`` from ``start_s`` for ``duration_s``."""

    start_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)
    multiplier: float = Field(gt=0)


class Workload(_Spec):
    """Time pattern of every class: diurnal cosine, weekend dip, bursts.

    The rate of a class at time t is ``rate_per_s * (1 + diurnal_amplitude *
    cos(2 pi (hour - peak_hour) / 24)) * weekend`` times the burst multiplier; day 0 of
    simulated time is a Monday.
    """

    diurnal_amplitude: float = Field(default=0.6, ge=0, le=1)
    peak_hour: float = Field(default=14.0, ge=0, lt=24)
    weekend_factor: float = Field(default=0.7, gt=0)
    bursts: list[Burst] = Field(default_factory=list, description="bursts at fixed times")
    random_bursts_per_day: float = Field(default=0.0, ge=0, description="Poisson bursts a day")
    random_burst_duration_s: float = Field(default=600.0, gt=0)
    random_burst_multiplier: float = Field(default=3.0, gt=0)


class NodeSpec(_Spec):
    """One node (VM) of the cluster. Default: an AWS m5.xlarge (4 vCPU, 16 GiB)."""

    workers: int = Field(default=4, ge=1, le=256, description="requests served at once (vCPUs)")
    queue_capacity: int = Field(
        default=1000, ge=0, le=100_000, description="requests waiting per node before drops"
    )
    cold_start_s: float = Field(default=100.0, ge=0, description="launch to accepting work")
    price_per_h: float = Field(default=0.192, ge=0, description="on-demand price per hour")
    idle_kw: float = Field(default=0.01048, ge=0, description="power at 0% CPU, PUE included")
    peak_kw: float = Field(default=0.02302, ge=0, description="power at 100% CPU, PUE included")

    @model_validator(mode="after")
    def _peak_above_idle(self) -> NodeSpec:
        if self.peak_kw < self.idle_kw:
            raise ValueError(f"peak_kw ({self.peak_kw}) must be >= idle_kw ({self.idle_kw})")
        return self


def _default_classes() -> list[RequestClass]:
    return [
        RequestClass(
            name="ingestion",
            rate_per_s=100.0,
            service=Exponential(mean=0.005),
            slo_s=0.1,
            follows_diurnal=False,
            bursts=False,
        ),
        RequestClass(
            name="inference", rate_per_s=40.0, service=Lognormal(mean=0.05, cv=0.5), slo_s=0.5
        ),
        RequestClass(
            name="dashboard", rate_per_s=5.0, service=Lognormal(mean=0.2, cv=1.0), slo_s=2.0
        ),
        RequestClass(
            name="batch",
            rate_per_s=1.0,
            service=Gamma(mean=2.0, cv=0.5),
            slo_s=43_200.0,
            bursts=False,
            deferrable=True,
            deadline_s=43_200.0,
        ),
    ]


class CloudParams(ScenarioParams):
    """An elastic cluster behind a load balancer, scaled by a policy every sync period."""

    classes: list[RequestClass] = Field(default_factory=_default_classes, min_length=1)
    workload: Workload = Field(default_factory=Workload)
    ingestion_from: SensorTraffic | None = Field(
        default=None,
        description="sensor traffic that sets the rate of the 'ingestion' class (a port)",
    )
    node: NodeSpec = Field(default_factory=NodeSpec)
    min_nodes: int = Field(default=1, ge=1, le=1000)
    max_nodes: int = Field(default=40, ge=1, le=1000)
    initial_nodes: int | None = Field(
        default=None, ge=1, le=1000, description="ready at time 0; min_nodes when omitted"
    )
    balancer: Literal["round-robin", "least-connections"] = "round-robin"
    sync_period_s: float = Field(default=15.0, gt=0, description="decision epoch of the policy")
    rate_history_windows: int = Field(
        default=240, ge=1, le=10_000, description="sync windows of arrival history observed"
    )
    deadline_guard_s: float = Field(
        default=1800.0, ge=0, description="deferred work is released this long before deadline"
    )
    grid_kg_co2e_per_kwh: tuple[float, ...] = Field(
        default=DEFAULT_GRID_PROFILE_KG_PER_KWH, min_length=24, max_length=24
    )
    grid_source: str = Field(default=GRID_PROFILE_SOURCE, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> CloudParams:
        if self.min_nodes > self.max_nodes:
            raise ValueError(
                f"min_nodes ({self.min_nodes}) must not exceed max_nodes ({self.max_nodes})"
            )
        initial = self.initial_nodes
        if initial is not None and not self.min_nodes <= initial <= self.max_nodes:
            raise ValueError(
                f"initial_nodes ({initial}) must be within [min_nodes, max_nodes] = "
                f"[{self.min_nodes}, {self.max_nodes}]"
            )
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError(f"request class names must be unique, got {names}")
        if self.ingestion_from is not None and "ingestion" not in names:
            raise ValueError("ingestion_from needs a request class named 'ingestion'")
        if any(v < 0 for v in self.grid_kg_co2e_per_kwh):
            raise ValueError("grid_kg_co2e_per_kwh values must be >= 0")
        return self

    @property
    def start_nodes(self) -> int:
        return self.initial_nodes if self.initial_nodes is not None else self.min_nodes

    def class_rate_per_s(self, request_class: RequestClass) -> float:
        """The class's mean rate, from the sensor port for ingestion when it is wired."""
        if request_class.name == "ingestion" and self.ingestion_from is not None:
            return self.ingestion_from.messages_per_s
        return request_class.rate_per_s


def _burst_workload() -> Workload:
    return Workload(random_bursts_per_day=6.0, random_burst_duration_s=900.0,
                    random_burst_multiplier=3.0)  # fmt: skip


class BurstParams(CloudParams):
    """The diurnal cluster's params with about six 15-minute bursts a day at 3x the load."""

    workload: Workload = Field(default_factory=_burst_workload)
