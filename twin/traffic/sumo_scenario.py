"""``traffic/sumo-net-v0``: a city imported from SUMO files, driven by twin.

The network (with its signal programmes) comes from a SUMO ``.net.xml`` and the demand
from SUMO route/trip files, so twin runs exactly the city SUMO runs: this is the scenario
of the fidelity check (``tests/traffic/test_sumo_fidelity.py``) and of the speed
benchmark (``benchmarks/traffic_vs_sumo.py``). Paths are relative to the working
directory (a configuration's own paths are relative to its folder, as in SUMO).
Reading SUMO networks needs ``sumolib`` (``pip install 'twin[sumo]'``).

```toml
[scenario]
id = "traffic/sumo-net-v0"
horizon_s = 3600

[scenario.params]
net_file = "city.net.xml"
route_files = ["city.rou.xml"]

[policy]
id = "signals/fixed-time-v0"
```

Or a SUMO run configuration, with its network, route and additional files, its time
window and its step (:mod:`twin.traffic.sumocfg` says which options twin honours):

```toml
[scenario]
id = "traffic/sumo-net-v0"
horizon_s = 3600            # the config's end - begin

[scenario.params]
sumocfg = "cologne3/cologne3.sumocfg"
```

With a configuration, twin's clock starts at SUMO's ``begin``: twin's time ``t`` is
SUMO's ``begin + t``. Vehicles departing before ``begin`` are not driven (SUMO drops
them when it loads them, ``MSRouteHandler::closeVehicle``; a flow keeps only its
departures from ``begin`` on), nor those departing at or after ``end``; every traffic
light is where SUMO has it at ``begin`` (``NLJunctionControlBuilder::
closeTrafficLightLogic`` starts a programme ``(begin - offset) mod cycle`` into its
cycle). Additional files give traffic-light programmes (the last loaded is active, as
in SUMO), induction loops (KPIs ``loop.<id>.count``, ``.speed_mps``, ``.occupancy_pct`` over
the whole run, warm-up included, as SUMO's detectors know no warm-up) and
vehicle types (:mod:`twin.traffic.sumo_additional`). What was left out is counted in
the run manifest (``scenario_inputs.skipped``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.core.caches import keep_bounded
from twin.core.errors import ConfigError
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.config import SumoNetParams
from twin.traffic.demand import Router, TripTable
from twin.traffic.detectors import Clock
from twin.traffic.loops import LoopBank, loop_state
from twin.traffic.network import Network
from twin.traffic.scenario import GridCity
from twin.traffic.signals import never_asked
from twin.traffic.sumo import (
    IMPORTED_NETWORKS_KEPT,
    VEHICLE_CLASS,
    content_digest,
    read_net,
    read_routes,
)
from twin.traffic.sumo_additional import InductionLoop, read_additional
from twin.traffic.sumocfg import SumoConfig, read_sumocfg


class PolicyNeverAskedWarning(UserWarning):
    """The run's signal policy will never be asked: its results are the programme's."""


class SumoNet(Scenario[SumoNetParams]):
    """A SUMO network and its demand, imported and driven by twin's vehicle kernel."""

    id = "traffic/sumo-net-v0"
    domain = GridCity.domain
    description = "a city imported from SUMO .net.xml and route files (twin against SUMO)"
    Params = SumoNetParams
    default_policy = GridCity.default_policy
    headline_kpis = GridCity.headline_kpis

    def __init__(self, params: SumoNetParams) -> None:
        super().__init__(params)
        self.network: Network | None = None
        self.config = _config_of(params)
        self.additional = read_additional(self.config.additional_files)
        self.skipped: dict[str, int] = dict(self.additional.skipped)

    def default_horizon_s(self) -> float | None:
        """The horizon the SUMO configuration defines: ``end - begin`` (None: no end).

        ``twin run --scenario`` takes it when ``--horizon-s`` is not given; a TOML config
        still states ``horizon_s``.
        """
        duration = self.config.duration_s
        return duration if math.isfinite(duration) else None

    def policy_info(self) -> dict[str, Any]:
        network = self._network()
        return {
            "intersections": sum(1 for i in network.intersections if i.program is not None),
            "step_s": self.config.step_length_s,
            "begin_s": self.config.begin_s,
        }

    def _network(self) -> Network:
        if self.network is None:
            imported = read_net(
                self.config.net_file,
                program_id=self.params.program_id,
                programs=self.additional.programs,
            )
            adaptive = self.params.adaptive_green_s
            key = (imported, None if adaptive is None else tuple(adaptive), self.config.begin_s)
            network = _derived.get(key)
            if network is None:
                network = imported
                if adaptive is not None:
                    network = with_adaptive_greens(network, *adaptive)
                network = at_begin(network, self.config.begin_s)
                keep_bounded(_derived, key, network, IMPORTED_NETWORKS_KEPT)
            self.network = network
        return self.network

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        config = self.config
        network = self._network()
        files = (*self.additional.demand_files, *config.route_files)
        trips = _read_trips(
            network,
            files,
            config,
            world.streams["traffic.demand.sumo"],
            additional=self.additional.demand_files,
        )
        for what, n in trips.skipped.items():
            self.skipped[what] = self.skipped.get(what, 0) + n
        loops = self.additional.loops
        lanes = _loop_lanes(config.net_file, network, loops)
        longest = max((trips.vtypes[int(t)].length_m for t in np.unique(trips.vtype)), default=0.0)
        _check_loop_spacing(network, loops, lanes, longest)
        state = (
            loop_state(
                [lane for lane, _ in lanes],
                [pos for _, pos in lanes],
                network.compile().total_lanes,
                len(trips),
            )
            if loops
            else None
        )
        self.city = City(
            world,
            network,
            trips,
            policy,
            step_s=config.step_length_s,
            sensors=self.params.detectors,
            loop_detectors=self.params.loop_detectors,
            per_intersection_kpis=self.params.per_intersection_kpis,
            decision_grid_s=self.params.decision_grid_s,
            loops=state,
            routing_penalties_s=(config.minor_penalty_s, config.turnaround_penalty_s),
            rerouting=(config.rerouting_steps, config.pre_period_s, config.rerouting_interval_s),
            time_to_teleport_s=config.time_to_teleport_s,
            max_depart_delay_s=config.max_depart_delay_s,
        )
        why = never_asked(self.city.signalised)
        if why is not None and policy.id != self.default_policy:
            # Its run would be the programme's own, as if no policy were there.
            warnings.warn(
                f"{policy.id} will never be asked: {why}", PolicyNeverAskedWarning, stacklevel=2
            )
        self.loops = self.city.loop_bank = LoopBank(
            [loop.id for loop in loops],
            [lane for lane, _ in lanes],
            [loop.period_s for loop in loops],
            self.city.loops,
            offset_s=config.begin_s,
            step_s=config.step_length_s,
            end_s=config.end_s - config.begin_s,
        )
        clock = Clock(world.env)
        for period in sorted({loop.period_s for loop in loops if math.isfinite(loop.period_s)}):
            world.env.process(self.loops.process(world.env, period, clock))

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.city.kpis()

    def manifest(self) -> dict[str, Any]:
        config = self.config
        return {
            "net_file": str(config.net_file),
            "route_files": [str(p) for p in config.route_files],
            "additional_files": [str(p) for p in config.additional_files],
            "begin_s": config.begin_s,
            "end_s": config.end_s if math.isfinite(config.end_s) else None,
            "step_length_s": config.step_length_s,
            "ignored_options": list(config.ignored),
            "skipped": dict(sorted(self.skipped.items())),
        }


_derived: dict[tuple[Network, tuple[float, ...] | None, float], Network] = {}
"""An imported network as a scenario drives it (adaptive greens, programmes at
``begin``), kept with the imports (:data:`twin.traffic.sumo.IMPORTED_NETWORKS_KEPT`):
the same object at every build, so its checks and arrays are computed once."""

TRIP_TABLES_KEPT = 4
"""Trip tables kept per process (:func:`_read_trips`)."""


@dataclasses.dataclass(frozen=True)
class _TripsKey:
    network: Network
    files: tuple[tuple[str, bytes, bool], ...]  # path, content, an additional file
    begin_s: float
    end_s: float
    penalties_s: tuple[float, float]


_trip_tables: dict[_TripsKey, tuple[TripTable, tuple[warnings.WarningMessage, ...]]] = {}


def _read_trips(
    network: Network,
    files: tuple[Path, ...],
    config: SumoConfig,
    rng: np.random.Generator,
    additional: Sequence[Path] = (),
) -> TripTable:
    """The demand of ``files`` in the config's time window (:func:`in_window`).

    Demand that draws nothing from ``rng`` (no random flow, no distribution) is the same
    at every build, so it is read once per process, while its files stay as they are (a
    learning environment builds a world at every reset, a batch worker one per run:
    reading RESCO's grid4x4 routes takes longer than building the rest of the city);
    every build gets its own copy, with the reader's warnings again. Demand that draws is
    read at every build, its draws the run's own."""
    key = _TripsKey(
        network,
        tuple((str(f), content_digest(Path(f)), f in additional) for f in files),
        config.begin_s,
        config.end_s,
        (config.minor_penalty_s, config.turnaround_penalty_s),
    )
    cached = _trip_tables.get(key)
    if cached is None:
        before = rng.bit_generator.state
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trips = read_routes(
                network,
                *files,
                router=Router(network, config.minor_penalty_s, config.turnaround_penalty_s),
                end_s=config.end_s,
                rng=rng,
                additional=additional,
                begin_s=config.begin_s,
            )
        trips = in_window(trips, config.begin_s, config.end_s)
        cached = (trips, tuple(caught))
        if rng.bit_generator.state == before:
            keep_bounded(_trip_tables, key, cached, TRIP_TABLES_KEPT)
    trips, caught = cached
    for message in caught:
        warnings.warn_explicit(message.message, message.category, message.filename, message.lineno)
    return _own_copy(trips) if key in _trip_tables else trips


def _own_copy(trips: TripTable) -> TripTable:
    """``trips`` with arrays of its own: a city writes to some (an on-call trip's
    departure is set when it is sent)."""
    arrays = {
        field.name: value.copy()
        for field in dataclasses.fields(trips)
        if isinstance(value := getattr(trips, field.name), np.ndarray)
    }
    return dataclasses.replace(trips, **arrays, skipped=dict(trips.skipped))


def _loop_lanes(
    net_file: Path, network: Network, loops: list[InductionLoop]
) -> list[tuple[int, float]]:
    """Kernel lane and position of every SUMO induction loop (SUMO lane ids resolved
    over the car lanes twin imports; a negative ``pos`` counts from the lane's end)."""
    if not loops:
        return []
    import sumolib  # optional dependency, present: the network was read with it

    net = sumolib.net.readNet(str(net_file))
    out = []
    for loop in loops:
        where = f"inductionLoop {loop.id!r}"
        try:
            lane = net.getLane(loop.lane)
        except KeyError:
            raise ConfigError(
                loop.source, where, f"lane {loop.lane!r} is not a lane of {net_file}"
            ) from None
        edge = lane.getEdge()
        car_lanes = [x.getID() for x in edge.getLanes() if x.allows(VEHICLE_CLASS)]
        try:
            e = network.edge_index(edge.getID())
            k = car_lanes.index(loop.lane)
        except (KeyError, ValueError):
            raise ConfigError(
                loop.source, where, f"lane {loop.lane!r} is not a car lane twin drives"
            ) from None
        length = float(lane.getLength())
        pos = loop.pos_m + length if loop.pos_m < 0 else loop.pos_m
        if not 0 <= pos <= length:
            if not loop.friendly_pos:
                raise ConfigError(
                    loop.source,
                    where,
                    f"pos {loop.pos_m} is off lane {loop.lane!r} (length {length:.2f} m); "
                    'set friendlyPos="true" to move it onto the lane',
                )
            pos = min(max(pos, 0.0), length)
        out.append((network.lane(e, k), pos))
    return out


def _check_loop_spacing(
    network: Network, loops: list[InductionLoop], lanes: list[tuple[int, float]], longest_m: float
) -> None:
    """Refuse two loops a vehicle could cover at once: twin follows one loop per vehicle
    (:mod:`twin.traffic.loops`), so loops must be at least the longest vehicle apart, on
    one lane or from a lane through a junction onto the next."""
    if len(loops) < 2:
        return
    arrays = network.compile()
    by_lane: dict[int, list[int]] = {}
    for i, (lane, _) in enumerate(lanes):
        by_lane.setdefault(lane, []).append(i)
    for i, (lane, pos) in enumerate(lanes):
        # (loop j, distance from loop i to loop j along the way) for every j downstream
        ahead = [(j, lanes[j][1] - pos) for j in by_lane[lane] if j != i and lanes[j][1] >= pos]
        to_end = float(arrays.lane_length_m[lane]) - pos
        out = arrays.out_movements[arrays.lane_out_start[lane] : arrays.lane_out_start[lane + 1]]
        for m in out:
            through = to_end + float(arrays.lane_length_m[arrays.mov_lane[m]])
            edge = int(arrays.mov_to_edge[m])
            start = int(arrays.edge_lane_start[edge])
            for down in range(start, start + int(arrays.edge_lanes[edge])):
                ahead += [(j, through + lanes[j][1]) for j in by_lane.get(down, [])]
        for j, distance in ahead:
            if distance < longest_m:
                loop = loops[j]
                raise ConfigError(
                    loop.source,
                    f"inductionLoop {loop.id!r}",
                    f"{distance:.2f} m after inductionLoop {loops[i].id!r}, closer than the "
                    f"longest vehicle ({longest_m:.2f} m), which would cover both at once; "
                    "twin follows one loop per vehicle: place loops at least that far apart",
                )


def _config_of(params: SumoNetParams) -> SumoConfig:
    """The run configuration: the sumocfg's, or one made of the file parameters."""
    if params.sumocfg is not None:
        return read_sumocfg(params.sumocfg)
    assert params.net_file is not None  # the model validator checked
    return SumoConfig(
        path=Path("<params>"),
        net_file=Path(params.net_file),
        route_files=tuple(Path(p) for p in params.route_files),
        step_length_s=params.step_s,
    )


def with_adaptive_greens(network: Network, min_green_s: float, max_green_s: float) -> Network:
    """``network`` with every phase whose minimum and maximum green are equal (SUMO gives a
    static programme's phases neither ``minDur`` nor ``maxDur``, so twin holds them for
    their duration and never asks a policy) given ``[min_green_s, max_green_s]``, widened
    to hold the programme's own green: fixed-time control runs unchanged."""
    intersections = []
    for inter in network.intersections:
        program = inter.program
        if program is not None:
            phases = tuple(
                dataclasses.replace(
                    phase,
                    min_green_s=min(min_green_s, phase.green_s),
                    max_green_s=max(max_green_s, phase.green_s),
                )
                if phase.min_green_s == phase.max_green_s
                else phase
                for phase in program.phases
            )
            program = dataclasses.replace(program, phases=phases)
        intersections.append(dataclasses.replace(inter, program=program))
    return dataclasses.replace(network, intersections=tuple(intersections))


def at_begin(network: Network, begin_s: float) -> Network:
    """``network`` with every signal programme where SUMO has it at time ``begin_s``.

    Twin's ``offset_s`` is how far into its cycle a programme is at twin's t = 0; SUMO
    starts a static programme ``(begin - offset) mod cycle`` into its cycle
    (``NLJunctionControlBuilder::closeTrafficLightLogic``), so with twin's t = 0 at
    SUMO's ``begin`` every offset grows by ``begin``.
    """
    if begin_s == 0:
        return network
    intersections = []
    for inter in network.intersections:
        program = inter.program
        if program is not None:
            cycle = program.cycle_s
            offset = (program.offset_s + begin_s) % cycle if cycle > 0 else 0.0
            program = dataclasses.replace(program, offset_s=offset)
        intersections.append(dataclasses.replace(inter, program=program))
    return dataclasses.replace(network, intersections=tuple(intersections))


def in_window(trips: TripTable, begin_s: float, end_s: float) -> TripTable:
    """The trips departing in ``[begin_s, end_s)``, their times from ``begin_s`` on.

    SUMO does not drive a vehicle that departs before ``begin``
    (``MSRouteHandler::closeVehicle``) and never inserts one at or after ``end``; the
    ones left out are counted in ``skipped`` (``"depart before begin"``, ``"depart at
    or after end"``).
    """
    depart = trips.depart_s
    early = depart < begin_s
    late = depart >= end_s
    if begin_s == 0 and not early.any() and not late.any():
        return trips
    keep = np.flatnonzero(~early & ~late)
    skipped = dict(trips.skipped)
    if early.any():
        skipped["depart before begin"] = int(early.sum())
    if late.any():
        skipped["depart at or after end"] = int(late.sum())

    def pick(values: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
        return None if values is None else values[keep]

    return TripTable.from_arrays(
        depart[keep] - begin_s,
        trips.vtype[keep],
        [trips.route(int(k)) for k in keep],
        trips.vtypes,
        depart_lane=pick(trips.depart_lane),
        depart_pos_m=pick(trips.depart_pos_m),
        depart_speed_mps=pick(trips.depart_speed_mps),
        speed_factor=pick(trips.speed_factor),
        arrival_pos_m=pick(trips.arrival_pos_m),
        skipped=skipped,
        stops=None if trips.stops is None else [trips.stops[int(k)] for k in keep],
        scheduled_stops=(
            None
            if trips.scheduled_stops is None
            else [
                tuple(
                    dataclasses.replace(s, until_s=s.until_s - begin_s) if s.until_s >= 0 else s
                    for s in trips.scheduled_stops[int(k)]
                )
                for k in keep
            ]
        ),
    )
