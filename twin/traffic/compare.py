"""``twin sumo-compare CITY.sumocfg``: SUMO and twin on the same files, side by side.

SUMO runs the user's config as it stands (its own programmes, its own seed handling),
with only twin's outputs added (tripinfo, statistics, the emissions device on every
vehicle) and, with a warning, without options only sumo-gui knows (``osg-view``:
:func:`twin.traffic.sumo_tools.runnable_config`). twin reads every file first, so a
config twin refuses costs no SUMO run; twin runs the same config through the scenario users run
(``traffic/sumo-net-v0`` with ``sumocfg = ...``) under ``signals/fixed-time-v0``, which
shows each traffic light's programme as SUMO would. Both report the finished-trip KPIs
SUMO's tripinfo defines (:meth:`twin.traffic.city.City.kpis`), their ratio twin / SUMO,
and each simulator's vehicle updates per wall-clock second of its simulation loop
(SUMO's own count from ``--statistic-output``; twin's: vehicles on the network summed over
ticks, over the wall time of the run, the kernel compiled beforehand).

A config without an end runs in both until the network is empty (twin at most an hour
longer than SUMO took; what it has not finished then counts as unfinished).

The bands are the ones twin's validation holds on RESCO's networks (docs/VALIDATION.md);
``--check`` makes a KPI outside its band an exit code 1, for a user's own CI.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from twin.core.errors import UserError
from twin.core.run import PreparedRun, prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.world import World
from twin.traffic.sumo_tools import WAITS_FOR_CLIENT, SumoRun, run_sumo_config, runnable_config

SCENARIO_ID = "traffic/sumo-net-v0"
DEFAULT_POLICY = "signals/fixed-time-v0"
UNTIL_EMPTY_GRACE_S = 3600.0
"""How much longer than SUMO twin may run a config without an end to empty its network."""
COMPARED = (
    "trips_completed",
    "trip_duration_mean_s",
    "time_loss_mean_s",
    "waiting_time_mean_s",
    "stops_mean",
    "depart_delay_mean_s",
    "route_length_mean_m",
    "speed_mean_mps",
    "trips_vehicle_km",
    "trips_co2_kg",
    "trips_nox_g",
)
"""Finished-trip KPIs both simulators define the same way (SUMO's tripinfo)."""
COMPARED_WHERE_GIVEN = ("stop_time_mean_s",)
"""Finished-trip KPIs compared where either simulator reports them: the stop time of
scheduled stops (SUMO's ``<stop>``), where vehicles have any."""
BANDS = {
    "trips_completed": 0.01,
    "trip_duration_mean_s": 0.10,
    "time_loss_mean_s": 0.10,
    "trips_co2_kg": 0.15,
}
"""Largest relative difference twin / SUMO - 1 that twin's validation holds."""


class SumoGuiOptionWarning(UserWarning):
    """An option of the user's config that only sumo-gui knows, or one that makes SUMO
    wait for a TraCI client, left out of SUMO's run."""


@dataclass(frozen=True)
class Side:
    """One simulator's KPIs and speed on the config."""

    kpis: dict[str, float]
    vehicle_updates: int
    wall_s: float
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def updates_per_s(self) -> float:
        return self.vehicle_updates / self.wall_s if self.wall_s > 0 else math.nan


@dataclass(frozen=True)
class Comparison:
    """SUMO and twin on one config."""

    config: str
    seed: int
    policy: str
    sumo: Side
    twin: Side

    def compared(self) -> tuple[str, ...]:
        """:data:`COMPARED`, and those of :data:`COMPARED_WHERE_GIVEN` either side has."""
        given = self.sumo.kpis.keys() | self.twin.kpis.keys()
        return (*COMPARED, *(name for name in COMPARED_WHERE_GIVEN if name in given))

    def ratios(self) -> dict[str, float]:
        """twin / SUMO for every compared KPI (NaN where SUMO's is 0 or missing)."""
        out = {}
        for name in self.compared():
            s, t = self.sumo.kpis.get(name, math.nan), self.twin.kpis.get(name, math.nan)
            out[name] = t / s if s and math.isfinite(s) else math.nan
        return out

    def speed_ratio(self) -> float:
        """twin's vehicle updates per second over SUMO's (NaN when SUMO reports none:
        SUMO's clock can read 0 ms on a short run)."""
        sumo = self.sumo.updates_per_s
        return self.twin.updates_per_s / sumo if sumo > 0 else math.nan

    def outside_bands(self) -> list[str]:
        """KPIs whose ratio lies outside its validation band."""
        ratios = self.ratios()
        return [k for k, band in BANDS.items() if not abs(ratios[k] - 1.0) <= band]

    def as_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "seed": self.seed,
            "twin_policy": self.policy,
            "sumo": {**asdict(self.sumo), "updates_per_s": self.sumo.updates_per_s},
            "twin": {**asdict(self.twin), "updates_per_s": self.twin.updates_per_s},
            "ratio": self.ratios(),
            "speed_ratio": self.speed_ratio(),
            "bands": BANDS,
            "outside_bands": self.outside_bands(),
        }

    def table(self) -> str:
        ratios = self.ratios()
        lines = [
            f"{self.config}  (seed {self.seed}; twin runs {self.policy})",
            "",
            f"{'finished trips (tripinfo)':28s}{'SUMO':>14s}{'twin':>14s}{'twin/SUMO':>11s}  band",
        ]
        for name in self.compared():
            s, t = self.sumo.kpis.get(name, math.nan), self.twin.kpis.get(name, math.nan)
            band = BANDS.get(name)
            mark = ""
            if band is not None:
                inside = abs(ratios[name] - 1.0) <= band
                mark = f"+-{band:.0%} {'ok' if inside else 'OUTSIDE'}"
            lines.append(f"{name:28s}{s:14.6g}{t:14.6g}{ratios[name]:11.3f}  {mark}")
        lines.append("")
        for key, label in (("teleports", "SUMO teleports"), ("collisions", "SUMO collisions")):
            if key in self.sumo.notes:
                lines.append(f"{label:28s}{self.sumo.notes[key]:14.0f}")
        if "discarded" in self.twin.notes:  # max-depart-delay: both sides count them
            sumo_discarded = self.sumo.notes.get("discarded", math.nan)
            twin_discarded = self.twin.notes["discarded"]
            lines.append(f"{'trips discarded':28s}{sumo_discarded:14.0f}{twin_discarded:14.0f}")
        for key, value in self.twin.notes.items():
            if key != "discarded":
                lines.append(f"{'twin ' + key:28s}{'':14s}{value:14.0f}")
        speed = self.speed_ratio()
        lines.append(
            f"{'vehicle updates per s':28s}{self.sumo.updates_per_s:14,.0f}"
            f"{self.twin.updates_per_s:14,.0f}{speed:10.1f}x"
        )
        return "\n".join(lines)


def compare(
    sumocfg: str | Path,
    *,
    seed: int = 0,
    policy: str = DEFAULT_POLICY,
    keep: Path | None = None,
) -> Comparison:
    """Run SUMO and twin on ``sumocfg``; see the module docstring."""
    from twin.traffic.sumocfg import read_sumocfg  # the config reader reads the files

    path = Path(sumocfg)
    config = read_sumocfg(path)
    config.check_files()  # the user's own config: its missing file named without wrapping
    # twin reads and builds first: a file twin refuses is refused before SUMO runs.
    prepared = _prepare_twin(path, seed, policy, config.duration_s)
    with tempfile.TemporaryDirectory(prefix="twin-sumo-compare-") as tmp:
        out = keep if keep is not None else Path(tmp)
        runnable, dropped = runnable_config(path, out / "sumo")
        for name in dropped:
            why = (
                "makes SUMO wait for a TraCI client"
                if name in WAITS_FOR_CLIENT
                else "not an option of SUMO's command-line binary (sumo-gui's own)"
            )
            warnings.warn(
                f"{path}: {name}: {why}; SUMO runs without it",
                SumoGuiOptionWarning,
                stacklevel=2,
            )
        try:
            sumo_run = run_sumo_config(runnable, out / "sumo", seed=seed)
        except RuntimeError as error:
            raise UserError(f"{path}: SUMO could not run this config: {_one_line(error)}") from None
    sumo = _sumo_side(sumo_run)
    end_s = config.end_s
    until_empty = not math.isfinite(end_s)
    if until_empty:
        # SUMO without an end runs until its network is empty; so does twin, for at
        # most an hour longer than SUMO took (a gridlocked twin reports the rest
        # unfinished).
        end_s = float(sumo_run.trips.arrival_s.max(initial=config.begin_s)) + config.step_length_s
    twin = _twin_side(prepared, end_s - config.begin_s, UNTIL_EMPTY_GRACE_S if until_empty else 0.0)
    return Comparison(str(path), seed, policy, sumo, twin)


def _one_line(error: RuntimeError) -> str:
    """SUMO's own error lines (``Error: ...``), joined into one line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    if any("No option with the name" in line for line in errors):
        errors.append(
            "(sumo, not sumo-gui, runs the comparison: remove the GUI-only option to compare)"
        )
    return " ".join(errors or lines[-1:] or ["no message"])


def _sumo_side(run: SumoRun) -> Side:
    updates = round(run.updates_per_s * run.wall_s)
    notes = {
        "teleports": float(run.teleports),
        "collisions": float(run.collisions),
        "inserted": float(run.inserted),
        "unfinished": float(run.running + run.waiting),
        "discarded": float(run.loaded - run.inserted - run.waiting),
    }
    return Side(run.trips.summary(), updates, run.wall_s, notes)


def _prepare_twin(sumocfg: Path, seed: int, policy: str, duration_s: float) -> PreparedRun:
    """twin's run of the config, read and built (not yet run)."""
    tick_s = min(60.0, duration_s)
    scenario = ScenarioConfig(
        id=SCENARIO_ID,
        params={"sumocfg": str(sumocfg)},
        horizon_s=duration_s if math.isfinite(duration_s) else tick_s,
        tick_s=tick_s,
    )
    return prepare_run(scenario, policy, seed, source=str(sumocfg))


def _twin_side(run: PreparedRun, horizon_s: float, grace_s: float = 0.0) -> Side:
    """twin's run to ``horizon_s``, then on while trips are unfinished, by at most
    ``grace_s`` (a config without an end, as SUMO runs it)."""
    _compile_kernel()
    started = time.perf_counter()
    world = run.world
    world.advance(horizon_s)
    until_s = horizon_s + grace_s
    city = run.scenario.city
    while world.now_s < until_s and city.trips_unfinished() > 0:
        world.advance(min(world.now_s + world.tick_s, until_s))
    world.finish()
    wall_s = time.perf_counter() - started
    kpis = {name: kpi.value for name, kpi in run.scenario.kpis(run.world).items()}
    notes = {
        "emergency_brakes": kpis.get("emergency_brakes", math.nan),
        "teleports": kpis.get("teleports", math.nan),
        "unfinished": kpis.get("trips_unfinished", math.nan),
    }
    for name, note in (("stops_skipped", "stops_skipped"), ("trips_discarded", "discarded")):
        if name in kpis:
            notes[note] = kpis[name]
    return Side(kpis, city.vehicle_updates, wall_s, notes)


def _compile_kernel() -> None:
    """One tiny city with the scenario's default detectors, so that loading the compiled
    kernels (the tick's, and the sensor and loop kernels its detectors call) is not timed
    as twin's run (SUMO's count of its simulation loop leaves out its loading too)."""
    from twin.core.registry import Registry, make_policy
    from twin.traffic.city import City
    from twin.traffic.config import SumoNetParams
    from twin.traffic.demand import Trip, TripTable
    from twin.traffic.network import grid

    network = grid(1, 1)
    entry = network.entry_edges[0]
    came_from = network.edges[entry].from_node
    exit_edge = next(e for e in network.exit_edges if network.edges[e].to_node != came_from)
    trips = TripTable.from_trips(network, [Trip(0.0, entry, exit_edge)])
    world = World(0, tick_s=10.0)
    defaults = SumoNetParams.model_fields
    City(
        world,
        network,
        trips,
        make_policy(Registry().policy(DEFAULT_POLICY), {}),
        sensors=defaults["detectors"].get_default(call_default_factory=True),
        loop_detectors=defaults["loop_detectors"].get_default(call_default_factory=True),
    )
    world.run(70.0)  # past a sample and a delivery of every detector feed


def format_json(comparison: Comparison) -> str:
    return json.dumps(comparison.as_json(), indent=2, allow_nan=True)
