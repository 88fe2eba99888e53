"""Run SUMO from its PyPI wheel (``eclipse-sumo``): grids, random trips, runs, tripinfo.

This is what puts twin beside SUMO in the fidelity test and the speed benchmark; twin
itself never needs SUMO to run. The binaries and tools are found through the ``sumo``
package (``sumo.SUMO_HOME``), never through a path on one machine, so ``pip install
'twin[sumo]'`` (or the ``dev`` extra) is all a user or CI needs.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin.core.errors import UserError
from twin.core.termination import run_to_completion

SUMO_MISSING = "SUMO is not installed; install it with: pip install 'twin[sumo]'"

MG_PER_KG = 1e6


def sumo_home() -> Path:
    """The SUMO installation of the ``eclipse-sumo`` wheel."""
    try:
        import sumo  # optional dependency: asked for only here
    except ImportError:
        raise UserError(SUMO_MISSING) from None
    return Path(sumo.SUMO_HOME)


def sumo_binary(name: str) -> Path:
    """A SUMO executable, e.g. ``"sumo"`` or ``"netgenerate"``."""
    path = sumo_home() / "bin" / name
    if not path.is_file():
        raise UserError(f"SUMO binary {name!r} not found in {path.parent}")
    return path


def sumo_tool(relative: str) -> Path:
    """A script of SUMO's ``tools`` folder, e.g. ``"randomTrips.py"``."""
    path = sumo_home() / "tools" / relative
    if not path.is_file():
        raise UserError(f"SUMO tool {relative!r} not found in {path.parent}")
    return path


def sumo_rl_nets() -> Path:
    """The ``sumo-rl`` package's ``nets`` folder (found without importing sumo-rl, which
    wants ``SUMO_HOME`` set): RESCO's cities and sumo-rl's own examples."""
    spec = importlib.util.find_spec("sumo_rl")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("RESCO's networks come with sumo-rl: pip install sumo-rl")
    return Path(next(iter(spec.submodule_search_locations))) / "nets"


def resco_configs() -> dict[str, Path]:
    """RESCO's eight benchmark cities (Ault and Sharon 2021), name -> ``.sumocfg``, as the
    ``sumo-rl`` package ships them in ``sumo_rl/nets/RESCO``."""
    return dict(_resco_configs(sumo_rl_nets()))


@functools.cache
def _resco_configs(nets: Path) -> tuple[tuple[str, Path], ...]:
    # An installed package's files: looked for once per process (a scenario naming a
    # RESCO city validates its params at every build, a learning environment's reset too).
    return tuple((path.parent.name, path) for path in sorted((nets / "RESCO").glob("*/*.sumocfg")))


def run_program(args: Sequence[str | Path], what: str) -> subprocess.CompletedProcess[str]:
    """Run one SUMO program; a failure raises with the tail of its messages."""
    env = dict(os.environ, SUMO_HOME=str(sumo_home()))
    # The arguments are a list (no shell) of paths and numbers we composed ourselves;
    # a SIGTERM under `twin` takes the program down with it, even while it starts.
    done = run_to_completion([str(a) for a in args], env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{tail}")
    return done


def generate_grid(
    out: Path,
    *,
    columns: int,
    rows: int,
    block_m: float = 200.0,
    attach_m: float | None = None,
    lanes: int = 1,
    speed_mps: float = 13.89,
    signals: bool = True,
) -> Path:
    """A grid network by ``netgenerate --grid``, with SUMO's guessed fixed-time programmes.

    Args:
        out: the ``.net.xml`` file to write.
        columns, rows: junctions along x and y.
        block_m: length of every street between two junctions.
        attach_m: length of the dead-end streets attached to the boundary junctions
            (where trips start and end); none attaches the block length.
        lanes: lanes per direction.
        speed_mps: speed limit of every street.
        signals: every junction with a traffic light (SUMO guesses its programme).
    """
    args: list[str | Path] = [
        sumo_binary("netgenerate"),
        "--grid",
        "--grid.x-number", str(columns),
        "--grid.y-number", str(rows),
        "--grid.length", repr(block_m),
        "--grid.attach-length", repr(block_m if attach_m is None else attach_m),
        "--default.lanenumber", str(lanes),
        "--default.speed", repr(speed_mps),
        "--no-turnarounds", "true",
        "--output-file", out,
    ]  # fmt: skip
    if signals:
        # Dead ends at the fringe get no light: SUMO drops a light that controls nothing.
        args += ["--default.junctions.type", "traffic_light"]
    run_program(args, "netgenerate")
    return out


def random_trips(
    net: Path,
    out: Path,
    *,
    end_s: float,
    period_s: float,
    seed: int,
    begin_s: float = 0.0,
    fringe_only: bool = True,
    routes: bool = True,
    trip_attributes: str = "",
    validate: bool = False,
) -> Path:
    """Random trips by SUMO's ``randomTrips.py``, routed by ``duarouter`` when ``routes``.

    One trip every ``period_s`` seconds from ``begin_s`` to ``end_s``; with ``fringe_only``
    every trip starts and ends on a street at the edge of the network. ``trip_attributes``
    (e.g. ``'departSpeed="0"'``) are written on every trip, so SUMO and twin read the same
    departure attributes. With ``validate`` the trip file keeps only the trips that have
    a route. Returns the route file (``routes``) or the trip file.
    """
    trips = out.with_name(out.name.replace(".rou.xml", "") + ".trips.xml") if routes else out
    args: list[str | Path] = [
        sys.executable,
        sumo_tool("randomTrips.py"),
        "--net-file", net,
        "--output-trip-file", trips,
        "--begin", repr(begin_s),
        "--end", repr(end_s),
        "--period", repr(period_s),
        "--seed", str(seed),
        # Plain trips: departure speed and lane are the vehicle type's business.
        "--fringe-start-attributes", "",
    ]  # fmt: skip
    if fringe_only:
        args += ["--fringe-factor", "max"]
    if trip_attributes:
        args += ["--trip-attributes", trip_attributes]
    if validate:
        args += ["--validate"]
    # randomTrips.py validates trips by routing them with duarouter and, given no route
    # file, writes that one to routes.rou.xml in the working directory: keep it beside.
    route_file = out if routes else out.with_name(out.name + ".validated.rou.xml")
    args += ["--route-file", route_file]
    run_program(args, "randomTrips.py")
    return out


@dataclass(frozen=True)
class TripInfo:
    """SUMO's ``--tripinfo-output``: one entry per finished trip, SI units."""

    ids: list[str]
    depart_s: np.ndarray
    arrival_s: np.ndarray
    duration_s: np.ndarray
    route_length_m: np.ndarray
    time_loss_s: np.ndarray
    waiting_time_s: np.ndarray
    waiting_count: np.ndarray
    depart_delay_s: np.ndarray
    stop_time_s: np.ndarray
    co2_kg: np.ndarray
    fuel_kg: np.ndarray
    nox_kg: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def summary(self) -> dict[str, float]:
        """The finished-trip KPIs of :meth:`twin.traffic.city.City.kpis`, same names, from
        SUMO's own tripinfo (sums and means as ``--duration-log.statistics`` forms them)."""
        n = len(self)

        def mean(x: np.ndarray) -> float:
            return float(x.mean()) if n else float("nan")

        stops = {"stop_time_mean_s": mean(self.stop_time_s)} if self.stop_time_s.any() else {}
        return {
            **stops,
            "trips_completed": float(n),
            "trip_duration_mean_s": mean(self.duration_s),
            "time_loss_mean_s": mean(self.time_loss_s),
            "waiting_time_mean_s": mean(self.waiting_time_s),
            "stops_mean": mean(self.waiting_count),
            "depart_delay_mean_s": mean(self.depart_delay_s),
            "route_length_mean_m": mean(self.route_length_m),
            "speed_mean_mps": mean(self.route_length_m / np.maximum(self.duration_s, 1e-9)),
            "trips_duration_total_s": float(self.duration_s.sum()),
            "trips_time_loss_total_s": float(self.time_loss_s.sum()),
            "trips_depart_delay_total_s": float(self.depart_delay_s.sum()),
            "trips_vehicle_km": float(self.route_length_m.sum() / 1000.0),
            "trips_co2_kg": float(self.co2_kg.sum()),
            "trips_nox_g": float(self.nox_kg.sum() * 1000.0),
        }


def read_tripinfo(path: Path) -> TripInfo:
    """Read a tripinfo file SUMO wrote (emissions are zero without the emissions device)."""
    names = (
        "depart",
        "arrival",
        "duration",
        "routeLength",
        "timeLoss",
        "waitingTime",
        "waitingCount",
        "departDelay",
    )
    columns: dict[str, list[float]] = {
        name: [] for name in (*names, "stopTime", "CO2", "fuel", "NOx")
    }
    ids: list[str] = []
    emissions: dict[str, str] = {}
    # SUMO's own output, parsed as it streams by (files of ~10^5 trips).
    for _, element in ET.iterparse(path):  # noqa: S314
        if element.tag == "emissions":
            emissions = element.attrib
        elif element.tag == "tripinfo":
            attrib = element.attrib
            if float(attrib["arrival"]) < 0:
                # A trip still driving (or never departed) at the end, written by the
                # config's tripinfo-output.write-unfinished / write-undeparted: not finished.
                emissions = {}
                element.clear()
                continue
            ids.append(attrib["id"])
            for name in names:
                columns[name].append(float(attrib[name]))
            columns["stopTime"].append(float(attrib.get("stopTime", 0.0)))  # SUMO >= 1.2
            for gas in ("CO2", "fuel", "NOx"):
                columns[gas].append(float(emissions.get(f"{gas}_abs", 0.0)))
            emissions = {}
            element.clear()
    arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
    return TripInfo(
        ids=ids,
        depart_s=arrays["depart"],
        arrival_s=arrays["arrival"],
        duration_s=arrays["duration"],
        route_length_m=arrays["routeLength"],
        time_loss_s=arrays["timeLoss"],
        waiting_time_s=arrays["waitingTime"],
        waiting_count=arrays["waitingCount"],
        depart_delay_s=arrays["departDelay"],
        stop_time_s=arrays["stopTime"],
        co2_kg=arrays["CO2"] / MG_PER_KG,
        fuel_kg=arrays["fuel"] / MG_PER_KG,
        nox_kg=arrays["NOx"] / MG_PER_KG,
    )


@dataclass(frozen=True)
class SumoRun:
    """What one SUMO run reported about itself, and its trips."""

    trips: TripInfo
    updates_per_s: float
    """SUMO's own count of vehicle updates per wall-clock second of simulation."""
    wall_s: float
    """SUMO's own wall-clock time of the simulation loop (loading excluded)."""
    loaded: int
    inserted: int
    running: int
    waiting: int
    teleports: int
    collisions: int
    statistics: dict[str, Any]


def run_sumo(
    net: Path,
    routes: Path,
    out_dir: Path,
    *,
    end_s: float,
    step_s: float = 1.0,
    additional: Sequence[Path] = (),
    seed: int = 0,
    emissions: bool = True,
    extra_args: Sequence[str] = (),
) -> SumoRun:
    """Simulate ``routes`` on ``net`` with ``sumo`` until ``end_s``; read what it wrote.

    Args:
        net: the network.
        routes: route (or trip) file.
        out_dir: where SUMO writes ``tripinfo.xml`` and ``statistics.xml``.
        end_s: simulation end.
        step_s: SUMO's step length.
        additional: additional files, e.g. one redefining ``DEFAULT_VEHTYPE``.
        seed: SUMO's random seed (Krauss dawdling, speed factors).
        emissions: equip every vehicle with the emissions device.
        extra_args: further ``sumo`` options.
    """
    args: list[str | Path] = [
        "--net-file", net,
        "--route-files", routes,
        "--end", repr(end_s),
        "--step-length", repr(step_s),
    ]  # fmt: skip
    if additional:
        args += ["--additional-files", ",".join(str(p) for p in additional)]
    return _run_and_read(args, out_dir, seed=seed, emissions=emissions, extra_args=extra_args)


def run_sumo_config(
    sumocfg: Path,
    out_dir: Path,
    *,
    seed: int = 0,
    emissions: bool = True,
    extra_args: Sequence[str] = (),
) -> SumoRun:
    """Run SUMO on a user's ``.sumocfg`` as it stands, adding only twin's outputs.

    The config's own outputs are left as they are; tripinfo and statistics go to
    ``out_dir`` (absolute paths, so the config's folder is not written to).
    """
    return _run_and_read(
        ["--configuration-file", sumocfg.resolve()],
        out_dir,
        seed=seed,
        emissions=emissions,
        extra_args=extra_args,
    )


@functools.cache
def sumo_options() -> dict[str, str]:
    """Every option of the ``sumo`` binary, synonyms included -> its type (``FILE``,
    ``BOOL``, ...), as ``sumo --save-template`` lists them."""
    with tempfile.TemporaryDirectory(prefix="twin-sumo-template-") as tmp:
        template = Path(tmp) / "template.sumocfg"
        run_program([sumo_binary("sumo"), "--save-template", template], "sumo --save-template")
        root = ET.parse(template).getroot()  # noqa: S314  (SUMO's own output)
    options: dict[str, str] = {}
    for section in root:
        for option in section:
            kind = option.attrib.get("type", "")
            for name in (option.tag, *option.attrib.get("synonymes", "").split()):
                options[name] = kind
    return options


WAITS_FOR_CLIENT = frozenset({"remote-port", "num-clients"})
"""Options with which SUMO waits for a TraCI client before it simulates (a config written
for an RL or TraCI script, e.g. sumo-rl's ``*-traci.sumocfg``): a run on its own would
wait forever."""


def runnable_config(sumocfg: Path, out_dir: Path) -> tuple[Path, tuple[str, ...]]:
    """``sumocfg`` as SUMO's command-line binary can run it alone, and the options left
    out.

    A config written for ``sumo-gui`` may set options only the GUI knows (``osg-view``,
    the 3D view of SUMO's game scenarios); ``sumo`` stops on them ("No option with the
    name ... exists"). A config written for a TraCI client sets :data:`WAITS_FOR_CLIENT`.
    Those options are left out of a copy written to ``out_dir``, whose file options
    (type ``FILE``) are made absolute against the config's folder, as SUMO resolves them.
    Returns the config itself, and no names, when nothing is left out.
    """
    from twin.traffic.sumocfg import option_attribute  # the config reader's rule

    known = sumo_options()
    tree = ET.parse(sumocfg)  # noqa: S314 - a local config file (read_sumocfg read it)
    base = sumocfg.resolve().parent
    dropped: list[str] = []

    def visit(element: ET.Element) -> None:
        for child in list(element):
            key = option_attribute(child)
            if key is None:
                visit(child)
            elif child.tag not in known or child.tag in WAITS_FOR_CLIENT:
                dropped.append(child.tag)
                element.remove(child)
            elif known[child.tag] == "FILE":
                names = [n for n in child.attrib[key].replace(",", " ").split() if n]
                child.set(key, ",".join(str(base / n) for n in names))

    visit(tree.getroot())
    if not dropped:
        return sumocfg, ()
    out_dir.mkdir(parents=True, exist_ok=True)
    copy = out_dir / sumocfg.name
    tree.write(copy, encoding="utf-8", xml_declaration=True)
    return copy, tuple(dropped)


def _run_and_read(
    inputs: Sequence[str | Path],
    out_dir: Path,
    *,
    seed: int,
    emissions: bool,
    extra_args: Sequence[str],
) -> SumoRun:
    """``sumo`` with ``inputs`` plus tripinfo, statistics and (maybe) emissions; read back."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tripinfo = (out_dir / "tripinfo.xml").resolve()
    statistics = (out_dir / "statistics.xml").resolve()
    args: list[str | Path] = [
        sumo_binary("sumo"),
        *inputs,
        "--seed", str(seed),
        "--tripinfo-output", tripinfo,
        "--statistic-output", statistics,
        "--duration-log.statistics", "true",
        "--no-step-log", "true",
    ]  # fmt: skip
    if emissions:
        args += ["--device.emissions.probability", "1"]
    args += list(extra_args)
    run_program(args, "sumo")
    stats = read_statistics(statistics)
    return SumoRun(
        trips=read_tripinfo(tripinfo),
        updates_per_s=float(stats["performance"]["vehicleUpdatesPerSecond"]),
        wall_s=float(stats["performance"]["clockDuration"]),
        loaded=int(stats["vehicles"]["loaded"]),
        inserted=int(stats["vehicles"]["inserted"]),
        running=int(stats["vehicles"]["running"]),
        waiting=int(stats["vehicles"]["waiting"]),
        teleports=int(stats["teleports"]["total"]),
        collisions=int(stats["safety"]["collisions"]),
        statistics=stats,
    )


def read_statistics(path: Path) -> dict[str, dict[str, str]]:
    """SUMO's ``--statistic-output``: element name -> its attributes."""
    root = ET.parse(path).getroot()  # noqa: S314  (SUMO's own output)
    return {child.tag: dict(child.attrib) for child in root}
