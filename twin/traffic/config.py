"""Parameters of the traffic scenarios (pydantic models read from a config's
``[scenario.params]``).

Defaults and their sources: docs/PARAMETERS.md, section "Traffic".
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.core.errors import ConfigError, UserError
from twin.core.scenario import ScenarioParams
from twin.core.sensors import PipelineSpec, SensorConfig, SensorSpec
from twin.traffic.demand import DemandError, RateProfile, VehicleType, check_route
from twin.traffic.detectors import LoopDetectorConfig
from twin.traffic.network import (
    Network,
    NetworkError,
    Phase,
    SignalProgram,
    check_program,
    grid,
)
from twin.traffic.sumo import root_tag
from twin.traffic.sumocfg import read_sumocfg

_SPEC = ConfigDict(extra="forbid", frozen=True)


class GridSpec(BaseModel):
    """A Manhattan grid (see :func:`twin.traffic.network.grid`)."""

    model_config = _SPEC

    rows: int = Field(default=4, ge=1, le=60)
    cols: int = Field(default=4, ge=1, le=60)
    block_m: float = Field(default=200.0, gt=20, le=5000)
    lanes: int = Field(default=1, ge=1, le=4)
    speed_mps: float = Field(default=13.89, gt=0, le=40)
    green_s: float = Field(default=42.0, gt=0)
    yellow_s: float = Field(default=3.0, ge=0)
    all_red_s: float = Field(default=0.0, ge=0)
    min_green_s: float = Field(default=5.0, ge=0)
    max_green_s: float = Field(default=50.0, gt=0)


class PhaseSpec(BaseModel):
    """One green phase of a programme given in a config (SUMO's state letters)."""

    model_config = _SPEC

    state: str = Field(pattern=r"^[Ggr]+$")
    green_s: float = Field(gt=0)
    yellow_s: float = Field(default=3.0, ge=0)
    all_red_s: float = Field(default=0.0, ge=0)
    min_green_s: float = Field(default=5.0, ge=0)
    max_green_s: float = Field(default=50.0, gt=0)


class DemandSpec(BaseModel):
    """Poisson trips between fringe edges at a piecewise-constant rate."""

    model_config = _SPEC

    times_s: list[float] = Field(default_factory=lambda: [0.0], min_length=1)
    rates_per_s: list[float] = Field(default_factory=lambda: [0.4], min_length=1)

    @model_validator(mode="after")
    def _profile(self) -> DemandSpec:
        for k, rate in enumerate(self.rates_per_s):
            if rate < 0:
                raise ValueError(f"rates_per_s[{k}] is {rate}: a trip rate must be >= 0")
        try:
            self.profile()
        except DemandError as error:
            raise ValueError(str(error)) from None
        return self

    def profile(self) -> RateProfile:
        return RateProfile(tuple(self.times_s), tuple(self.rates_per_s))


class RouteSpec(BaseModel):
    """Explicit trips: ``count`` vehicles over ``edges`` (edge ids), every ``every_s``."""

    model_config = _SPEC

    edges: list[str] = Field(min_length=1)
    depart_s: float = Field(default=0.0, ge=0)
    count: int = Field(default=1, ge=1)
    every_s: float = Field(default=10.0, gt=0)


class VehicleTypeSpec(BaseModel):
    """A vehicle type (defaults: SUMO's passenger car)."""

    model_config = _SPEC

    id: str = "passenger"
    length_m: float = Field(default=5.0, gt=0)
    min_gap_m: float = Field(default=2.5, ge=0)
    accel_mps2: float = Field(default=2.6, gt=0)
    decel_mps2: float = Field(default=4.5, gt=0)
    emergency_decel_mps2: float = Field(default=9.0, gt=0)
    max_speed_mps: float = Field(default=55.56, gt=0)
    sigma: float = Field(default=0.5, ge=0, le=1)
    tau_s: float = Field(default=1.0, gt=0)
    speed_factor_std: float = Field(default=0.1, ge=0)
    emission_class: Literal["PC_G_EU4", "PC_G_EU6", "PC_D_EU6"] = "PC_G_EU4"
    share: float = Field(default=1.0, ge=0, description="share of Poisson trips")

    def build(self) -> VehicleType:
        return VehicleType(
            id=self.id,
            length_m=self.length_m,
            min_gap_m=self.min_gap_m,
            accel_mps2=self.accel_mps2,
            decel_mps2=self.decel_mps2,
            emergency_decel_mps2=max(self.emergency_decel_mps2, self.decel_mps2),
            max_speed_mps=self.max_speed_mps,
            sigma=self.sigma,
            tau_s=self.tau_s,
            speed_factor_std=self.speed_factor_std,
            emission_class=self.emission_class,
        )


def _sensors() -> SensorConfig:
    return SensorConfig(
        sensor=SensorSpec(period_s=5.0, noise_std=0.5, dropout_prob=0.02, quantum=1.0),
        pipeline=PipelineSpec(latency_mean_s=0.5, latency_jitter_s=0.2),
    )


def _decision_grid() -> Any:
    return Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="seconds between the instants at which signal policies may decide "
        "(sumo-rl's delta_time: an agent asked every 5 s, a change's yellow and all-red "
        "within them; every intersection then decides on one grid); omitted: a policy is "
        "asked when the green it asked for has run",
    )


class TrafficParams(ScenarioParams):
    """A city: a grid, its demand, its vehicles, its detectors."""

    grid: GridSpec = Field(default_factory=GridSpec)
    demand: DemandSpec = Field(default_factory=DemandSpec)
    routes: list[RouteSpec] = Field(default_factory=list, description="explicit trips")
    vehicle_types: list[VehicleTypeSpec] = Field(
        default_factory=lambda: [VehicleTypeSpec()], min_length=1
    )
    programs: dict[str, list[PhaseSpec]] = Field(
        default_factory=dict,
        description="signal programme per intersection id ('*' = every intersection)",
    )
    step_s: float = Field(
        default=1.0, gt=0, le=2.0, description="vehicle kernel step (not the display tick)"
    )
    detectors: SensorConfig | None = Field(default_factory=_sensors)
    loop_detectors: LoopDetectorConfig | None = Field(
        default_factory=LoopDetectorConfig,
        description="stop-line and upstream induction loops seen by policies",
    )
    per_intersection_kpis: bool = False
    decision_grid_s: float | None = _decision_grid()
    demand_horizon_s: float = Field(
        default=3600.0, gt=0, description="Poisson trips depart in [0, demand_horizon_s)"
    )

    @model_validator(mode="after")
    def _drivable(self) -> TrafficParams:
        network = self.network()
        for k, route in enumerate(self.routes):
            indices = []
            for edge_id in route.edges:
                try:
                    indices.append(network.edge_index(edge_id))
                except KeyError as error:
                    raise ValueError(f"routes[{k}]: {error.args[0]}") from None
            try:
                check_route(network, indices)
            except DemandError as error:
                raise ValueError(f"routes[{k}]: {error}") from None
        return self

    def network(self) -> Network:
        """The grid with the configured programmes (checked for conflicting greens)."""
        try:
            programs = tuple(sorted((k, tuple(v)) for k, v in self.programs.items()))
            return _network(self.grid, programs)
        except NetworkError as error:
            raise ValueError(str(error)) from None


@lru_cache(maxsize=8)
def _network(spec: GridSpec, programs: tuple[tuple[str, tuple[PhaseSpec, ...]], ...]) -> Network:
    network = grid(
        spec.rows,
        spec.cols,
        spec.block_m,
        spec.lanes,
        spec.speed_mps,
        green_s=spec.green_s,
        yellow_s=spec.yellow_s,
        all_red_s=spec.all_red_s,
        min_green_s=spec.min_green_s,
        max_green_s=min(max(spec.max_green_s, spec.min_green_s), 1e9),
    )
    if not programs:
        return network
    given = dict(programs)
    ids = {inter.id for inter in network.intersections}
    unknown = sorted(set(given) - ids - {"*"})
    if unknown:
        raise NetworkError(f"programs: unknown intersection {unknown[0]!r}")
    inters = []
    for inter in network.intersections:
        phases = given.get(inter.id, given.get("*"))
        if phases is None:
            inters.append(inter)
            continue
        program = SignalProgram(
            tuple(
                Phase(p.state, p.green_s, p.yellow_s, p.all_red_s, p.min_green_s, p.max_green_s)
                for p in phases
            )
        )
        check_program(inter, program)
        inters.append(
            type(inter)(inter.id, inter.node, inter.movements, inter.foes, inter.yields, program)
        )
    return Network(network.nodes, network.edges, network.movements, tuple(inters), network.name)


class Grid10x10Params(TrafficParams):
    grid: GridSpec = Field(default_factory=lambda: GridSpec(rows=10, cols=10))
    demand: DemandSpec = Field(default_factory=lambda: DemandSpec(rates_per_s=[2.0]))


def _peak() -> DemandSpec:
    # 0.25 trips/s off-peak, 0.6 trips/s from 1 h to 2 h, ramps of 30 min.
    return DemandSpec(
        times_s=[0.0, 1800, 2250, 2700, 3150, 3600, 7200, 7650, 8100, 8550, 9000],
        rates_per_s=[0.25, 0.32, 0.39, 0.46, 0.53, 0.6, 0.53, 0.46, 0.39, 0.32, 0.25],
    )


class PeakParams(TrafficParams):
    demand: DemandSpec = Field(default_factory=_peak)
    demand_horizon_s: float = Field(default=10800.0, gt=0)


class SumoNetParams(ScenarioParams):
    """Which SUMO files to import, and the kernel step to drive them with."""

    resco: str | None = Field(
        default=None,
        description="one of RESCO's eight benchmark networks by name (grid4x4, arterial4x4, "
        "cologne1, cologne3, cologne8, ingolstadt1, ingolstadt7, ingolstadt21), as the "
        "sumo-rl package ships them: its sumocfg, wherever sumo-rl is installed",
    )
    sumocfg: str | None = Field(
        default=None,
        description="SUMO run configuration (.sumocfg): network, routes, additional "
        "files, begin/end and step length (instead of net_file and route_files)",
    )
    net_file: str | None = Field(
        default=None, description="SUMO network (.net.xml[.gz]) with its traffic lights"
    )
    route_files: tuple[str, ...] = Field(
        default=(),
        description="SUMO route/trip files (.rou.xml, .trips.xml), and additional files "
        "with vType definitions, read in this order",
    )
    program_id: str | None = Field(
        default=None,
        description="traffic-light programme to take (default: the one SUMO activates)",
    )
    adaptive_green_s: tuple[float, float] | None = Field(
        default=None,
        description="(min, max) green of the phases SUMO's programme leaves no freedom "
        "(a static programme: no minDur/maxDur), within which a deciding policy (max-pressure, "
        "an RL agent) may hold them; omitted: they run as SUMO runs them, and no policy is "
        "ever asked at them",
    )
    step_s: float = Field(
        default=1.0, gt=0, le=2.0, description="vehicle kernel step (a sumocfg: its step-length)"
    )
    detectors: SensorConfig | None = Field(
        default_factory=_sensors,
        description="queue detectors seen by policies (as in traffic/grid4x4-v0)",
    )
    loop_detectors: LoopDetectorConfig | None = Field(
        default_factory=LoopDetectorConfig,
        description="stop-line and upstream induction loops seen by policies",
    )
    per_intersection_kpis: bool = Field(
        default=False, description="also report queue KPIs per intersection"
    )
    decision_grid_s: float | None = _decision_grid()

    @model_validator(mode="before")
    @classmethod
    def _resco_is_its_sumocfg(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("resco") is not None:
            from twin.traffic.sumo_tools import resco_configs

            if "sumocfg" in data:
                raise ValueError("give either resco or sumocfg, not both")
            try:
                configs = resco_configs()
            except UserError as error:
                raise ValueError(str(error)) from None
            name = data["resco"]
            if name not in configs:
                raise ValueError(f"resco {name!r} is not one of RESCO's: {', '.join(configs)}")
            data = {**data, "sumocfg": str(configs[name])}
        return data

    @field_validator("sumocfg")
    @classmethod
    def _is_a_sumocfg(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                read_sumocfg(value).check_files()
            except ConfigError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("adaptive_green_s")
    @classmethod
    def _green_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0.0 < value[0] <= value[1] < math.inf:
            raise ValueError("must be (min, max) seconds with 0 < min <= max, e.g. [5, 50]")
        return value

    @field_validator("net_file")
    @classmethod
    def _is_a_sumo_net(cls, value: str | None) -> str | None:
        if value is not None:
            _check_root(value, ("net",), "SUMO network (.net.xml)")
        return value

    @field_validator("route_files")
    @classmethod
    def _are_sumo_routes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            _check_root(path, ("routes", "additional"), "SUMO route file (.rou.xml, .trips.xml)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SumoNetParams:
        if self.sumocfg is not None:
            given = [k for k in ("net_file", "route_files") if k in self.model_fields_set]
            if given:
                raise ValueError(
                    f"give either sumocfg or net_file and route_files, not both "
                    f"(sumocfg and {', '.join(given)})"
                )
            step = read_sumocfg(self.sumocfg).step_length_s
            if "step_s" in self.model_fields_set and self.step_s != step:
                raise ValueError(
                    f"step_s {self.step_s} differs from the sumocfg's step-length {step}; "
                    "leave step_s out (the step length is the kernel step)"
                )
        elif self.net_file is None or not self.route_files:
            raise ValueError("needs sumocfg, or net_file and route_files")
        return self


def _check_root(path: str, expected: tuple[str, ...], what: str) -> None:
    """The file exists and is the right kind of SUMO file (its first element only)."""
    try:
        root_tag(Path(path), expected, what)
    except ConfigError as error:
        raise ValueError(str(error)) from None
