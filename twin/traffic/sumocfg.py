"""SUMO run configurations (``.sumocfg``): which files and which time window SUMO runs.

:func:`read_sumocfg` reads a SUMO configuration file into a :class:`SumoConfig`. SUMO
writes its options as ``<net-file value="city.net.xml"/>`` inside sections
(``<input>``, ``<time>``, ...) or directly under ``<configuration>``; file lists are
comma- (or space-) separated, and relative paths are relative to the folder of the
configuration file (SUMO's rule, ``OptionsIO``/``FileHelpers::checkForRelativity``).

Every option a configuration sets falls in exactly one of three groups
(SUMO's option list: ``src/microsim/MSFrame.cpp``):

- **honoured**: the files (``net-file``, ``route-files``, ``additional-files``), the
  time window (``begin``, ``end``: the run covers ``[begin, end)``; departures before
  ``begin`` are not driven, as ``MSRouteHandler::closeVehicle`` drops them),
  ``step-length`` (twin's kernel tick), ``time-to-teleport`` (jammed vehicles teleport
  as in SUMO, :mod:`twin.traffic.teleport`) and the router's ``weights.minor-penalty``
  and ``weights.turnaround-penalty`` (trips are routed as SUMO routes them). Options set
  to the value twin behaves as (``step-method.ballistic = false``,
  ``lateral-resolution = -1``, ...) are honoured.
- **no effect on the traffic twin drives**: outputs, logs, reports, GUI and TraCI
  settings, threads, and SUMO's random seed (``seed``, ``random``, ``thread-rngs``):
  SUMO's random numbers cannot be reproduced, twin draws from its own named streams
  under the run's seed; the variants of ``time-to-teleport`` (``.highways``,
  ``.disconnected``, ...), which twin does not model. These are listed in
  :attr:`SumoConfig.ignored`.
- **refused** with one line naming the file, the option and what twin supports:
  anything that changes how SUMO drives and that twin does not do (ballistic update,
  sublane model, an action step longer than the step, demand scaling, rerouting en
  route, ...) and any option twin does not know.
"""

from __future__ import annotations

import gzip
import io
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from twin.core.errors import ConfigError
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_MINUTE
from twin.traffic.demand import MINOR_PENALTY_S, TURNAROUND_PENALTY_S
from twin.traffic.rerouting import ADAPTATION_INTERVAL_S, ADAPTATION_STEPS, PRE_PERIOD_S

_SYNONYMS = {
    "n": "net-file",
    "net": "net-file",
    "r": "route-files",
    "routes": "route-files",
    "a": "additional-files",
    "additional": "additional-files",
    "b": "begin",
    "e": "end",
    "c": "configuration-file",
    "configuration": "configuration-file",
}

_OTHER_FILE_ROOTS = {
    "net": "a SUMO network (give it as net-file)",
    "routes": "a SUMO route file (give it as route-files)",
    "additional": "a SUMO additional file (give it as additional-files)",
    "add": "a SUMO additional file (give it as additional-files)",
}
"""Roots of SUMO files that are not configurations. Any other root is read as one:
SUMO's ``OptionsLoader`` does not check the root's name (the RiLSA examples shipped in
``sumolib/scenario/scenarios/RealWorld`` use ``<c>``) and takes every element with a
``value`` (or ``v``) attribute, or with text, as an option."""

_HONOURED = frozenset(
    {"net-file", "route-files", "additional-files", "begin", "end", "step-length"}
)

# Options that change the traffic only away from one value: twin behaves as that value.
_ONLY = {
    "step-method.ballistic": ("false", "twin integrates positions by Euler steps"),
    "lateral-resolution": ("-1", "twin has no sublane model"),
    "no-internal-links": ("false", "twin drives junctions on internal lanes"),
    "scale": ("1", "twin drives the demand as given"),
    "ignore-junction-blocker": ("-1", "twin never ignores a blocking vehicle"),
    "default.carfollowmodel": ("Krauss", "twin drives Krauss only"),
    "default.emergencydecel": ("default", "twin uses the vType's emergencyDecel"),
    "default.speeddev": ("-1", "give speedDev in the vType instead"),
    "default.sigma": ("-1", "give sigma in the vType instead"),
    "tls.all-off": ("false", "twin runs the traffic lights"),
    # SUMO's defaults for every actuated programme; a programme's own <param> is read.
    "tls.actuated.max-gap": ("3", "give max-gap as a <param> of the actuated <tlLogic>"),
    "tls.actuated.detector-gap": (
        "2",
        "give detector-gap as a <param> of the actuated <tlLogic>",
    ),
    "tls.actuated.passing-time": (
        "1.9",
        "give passing-time as a <param> of the actuated <tlLogic>",
    ),
    "tls.actuated.detector-length": ("0", "the loops of twin's actuated lights are points"),
    "device.rerouting.probability": ("0", "twin does not reroute vehicles en route"),
    "device.rerouting.explicit": ("", "twin does not reroute vehicles en route"),
    "device.rerouting.period": ("0", "twin does not reroute vehicles en route"),
    "eager-insert": ("false", "twin inserts as SUMO does by default"),
    "time-to-impatience": ("180", "twin has no impatience model"),
    "routing-algorithm": ("dijkstra", "twin routes trips by Dijkstra (astar too)"),
    "weights.random-factor": ("1", "twin routes trips on the fastest path"),
    "weights.tls-penalty": ("0", "twin's router charges no traffic-light penalty"),
    "weights.priority-factor": ("0", "twin's router weighs travel times only"),
    "weights.separate-turns": ("0", "twin's router charges each turn its driving time"),
    "random-depart-offset": ("0", "twin departs vehicles at their given time"),
    "lanechange.duration": ("0", "twin changes lanes in one step"),
    "lanechange.overtake-right": ("false", "twin never overtakes on the right"),
    "meso-junction-control": ("false", "twin is microscopic"),
    # SUMO 1.28's defaults for vehicles without departSpeed/departLane (changed from "0"
    # and "first", SUMO ChangeLog #16888); twin's demand reader reads vehicles so.
    "default.departspeed": ("avg", "give departSpeed on the vehicles instead"),
    "default.departlane": ("best_prob", "give departLane on the vehicles instead"),
}

# Option prefixes that only write files, log, draw or talk to clients (no traffic effect).
_NO_EFFECT_PREFIXES = (
    "output.",
    "save-",
    "log",
    "message-log",
    "error-log",
    "duration-log",
    "step-log",
    "xml-validation",
    "gui",
    "window-",
    "tracker-",
    "osg-",
    "emission-output",
    "vehroute-output",
    "tripinfo-output",
    "fcd-output",
    "netstate-dump",
    "edgedata-output",
    "lanedata-output",
    "statistic-output",
    "summary-output",
    "queue-output",
    "person-summary-output",
    "precision",
    "device.emissions.",
    "device.fcd.",
    "device.ssm.",
    "device.battery.",
    "device.btreceiver.",
    "device.btsender.",
    "device.tripinfo.",
    "device.vehroute.",
    "device.statistics.",
    "device.rerouting.",  # the rest: threads, outputs, TAZ (period etc. are in _ONLY)
    "time-to-teleport.",
    "collision.",
    "pedestrian.",  # person demand is refused by the demand reader
    "persontrip.",
    "chargingstations-output",
)
_NO_EFFECT = frozenset(
    {
        "verbose",
        "print-options",
        "help",
        "version",
        "write-license",
        "no-warnings",
        "aggregate-warnings",
        "no-duration-log",
        "no-step-log",
        "human-readable-time",
        "output-prefix",
        "start",
        "quit-on-end",
        "game",
        "delay",
        "breakpoints",
        "demo",
        "disable-textures",
        "registry-viewport",
        "remote-port",
        "num-clients",
        "threads",
        "seed",
        "random",
        "thread-rngs",
        "route-steps",
        "no-route-steps",
        "ignore-route-errors",
        "waiting-time-memory",
        "junction-taz",
        "configuration-file",
        "load-state.offset",
        "tls.actuated.show-detectors",
        "tls.actuated.jam-threshold",
        "tls.delay_based.detector-range",
        "tls.minor-left.max-speed",
    }
)
_WHY_NO_EFFECT = {
    "seed": "SUMO's random numbers cannot be reproduced; twin uses the run's seed",
    "random": "SUMO's random numbers cannot be reproduced; twin uses the run's seed",
    "thread-rngs": "SUMO's random numbers cannot be reproduced; twin uses the run's seed",
    "waiting-time-memory": "changes how SUMO reports waiting time, not the traffic",
    "ignore-route-errors": "twin refuses a bad route when it reads it",
    "tls.actuated.jam-threshold": "acts only where an actuated phase has several next "
    "phases (next=), which twin refuses",
    "tls.delay_based.detector-range": "tunes SUMO's delay-based lights, which twin refuses",
}
_WHY_PREFIX = {
    "device.rerouting.": "tunes the rerouting device beyond what twin models",
    "time-to-teleport.": "twin teleports jams only (SUMO's time-to-teleport)",
    "collision.": "twin's vehicles never collide",
    "pedestrian.": "tunes persons, which twin refuses",
    "persontrip.": "tunes persons, which twin refuses",
}
_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})
_TIME = re.compile(r"^\s*(?:(\d+):)?(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)\s*$")


@dataclass(frozen=True)
class SumoConfig:
    """What twin takes from a SUMO configuration file (paths resolved, times in s).

    Attributes:
        path: the configuration file.
        net_file: the network (``net-file``).
        route_files: demand files (``route-files``), in order.
        additional_files: ``additional-files``, in order (SUMO loads them before the
            route files; vTypes defined there serve the routes).
        begin_s: simulation begin (``begin``, SUMO's default 0).
        end_s: simulation end (``end``; ``inf`` when SUMO's default -1: until the last
            vehicle has left).
        step_length_s: SUMO's step (``step-length``, default 1 s): twin's kernel tick.
        time_to_teleport_s: SUMO's ``time-to-teleport`` (default 300 s; <= 0: never):
            how long a lane's front vehicle may stand before it teleports
            (:mod:`twin.traffic.teleport`).
        max_depart_delay_s: SUMO's ``max-depart-delay`` (default -1: never): a trip
            still not inserted this long after its departure is discarded
            (:func:`twin.traffic.insertion.insert_pending`).
        minor_penalty_s: SUMO's ``weights.minor-penalty``: what routing charges a minor
            link (:func:`twin.traffic.demand.routing_penalties_s`).
        turnaround_penalty_s: SUMO's ``weights.turnaround-penalty``: what routing
            charges a minor turnaround.
        rerouting_steps: SUMO's ``device.rerouting.adaptation-steps``: the samples of
            edge speeds a trip is routed on when it departs (:mod:`twin.traffic.rerouting`).
        rerouting_interval_s: SUMO's ``device.rerouting.adaptation-interval``: seconds
            between those samples.
        pre_period_s: SUMO's ``device.rerouting.pre-period``: a trip waiting to be
            inserted is routed again this often.
        ignored: options read and known not to change the traffic twin drives, each
            as ``"name: why"``.
    """

    path: Path
    net_file: Path
    route_files: tuple[Path, ...] = ()
    additional_files: tuple[Path, ...] = ()
    begin_s: float = 0.0
    end_s: float = math.inf
    step_length_s: float = 1.0
    time_to_teleport_s: float = 300.0
    max_depart_delay_s: float = -1.0
    minor_penalty_s: float = MINOR_PENALTY_S
    turnaround_penalty_s: float = TURNAROUND_PENALTY_S
    rerouting_steps: int = ADAPTATION_STEPS
    rerouting_interval_s: int = ADAPTATION_INTERVAL_S
    pre_period_s: float = PRE_PERIOD_S
    ignored: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        """``end - begin``: the horizon of a run of this configuration."""
        return self.end_s - self.begin_s

    def check_files(self) -> None:
        """Raise :class:`ConfigError` naming the option and the file when a file the
        configuration lists does not exist (as SUMO stops on it)."""
        listed = (
            ("net-file", (self.net_file,)),
            ("route-files", self.route_files),
            ("additional-files", self.additional_files),
        )
        for option, files in listed:
            for file in files:
                if not file.is_file():
                    raise ConfigError(str(self.path), option, f"{file}: no such file")


def open_xml(path: Path) -> io.BufferedIOBase:
    """A SUMO XML file opened for reading, gzip-compressed or not (SUMO reads both)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return path.open("rb")


def parse_time(value: str, source: str, option: str) -> float:
    """SUMO's time value: seconds, or ``[[d:]h:]m:s`` (``utils/common/StringUtils``)."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _TIME.match(text)
    if match is None:
        raise ConfigError(source, option, f"{value!r} is not a time (seconds or h:m:s)")
    d, h, m, s = match.groups()
    if h is None:
        d, h = None, d
    return (
        float(d or 0) * SECONDS_PER_DAY
        + float(h or 0) * SECONDS_PER_HOUR
        + float(m) * SECONDS_PER_MINUTE
        + float(s)
    )


def _file_list(value: str, base: Path) -> tuple[Path, ...]:
    names = [n for n in re.split(r"[,\s]+", value.strip()) if n]
    return tuple(Path(n) if Path(n).is_absolute() else base / n for n in names)


OPTION_ATTRIBUTES = ("value", "v")
"""The attributes that make a configuration's element an option (SUMO's OptionsLoader);
an element with neither is a section."""


def option_attribute(element: ET.Element) -> str | None:
    """Which of :data:`OPTION_ATTRIBUTES` ``element`` sets its option by, or ``None``."""
    return next((key for key in OPTION_ATTRIBUTES if key in element.attrib), None)


def _options(path: Path) -> list[tuple[str, str]]:
    """``(name, value)`` of every option, sections flattened, in file order."""
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, "", "no such file (a SUMO configuration, .sumocfg)")
    try:
        with open_xml(path) as handle:
            root = ET.parse(handle).getroot()  # noqa: S314 - a local config file
    except ET.ParseError as error:
        raise ConfigError(source, "", f"not a SUMO configuration: not XML ({error})") from None
    if root.tag in _OTHER_FILE_ROOTS:
        raise ConfigError(
            source,
            "",
            f"not a SUMO configuration: root element is <{root.tag}>, "
            f"{_OTHER_FILE_ROOTS[root.tag]}",
        )
    options: list[tuple[str, str]] = []

    def visit(element: ET.Element) -> None:
        for child in element:  # (the parser drops comments)
            if (key := option_attribute(child)) is not None:
                options.append((child.tag, child.attrib[key]))
            elif len(child):
                visit(child)
            elif (child.text or "").strip():
                options.append((child.tag, (child.text or "").strip()))
            # An element with neither (an empty section, <routing/>) sets nothing in SUMO
            # (OptionsLoader: no value, no text), so it sets nothing here either.

    visit(root)
    return options


def read_sumocfg(path: str | Path) -> SumoConfig:
    """The files, time window and step of a SUMO configuration file.

    Raises:
        ConfigError: the file is missing or not a configuration, an option is not
            readable, or an option asks for something twin does not do (one line).
    """
    file = Path(path)
    source = str(file)
    base = file.parent
    net: Path | None = None
    routes: tuple[Path, ...] = ()
    additional: tuple[Path, ...] = ()
    begin, end, step, teleport, max_delay = 0.0, math.inf, 1.0, 300.0, -1.0
    penalties = {
        "weights.minor-penalty": MINOR_PENALTY_S,
        "weights.turnaround-penalty": TURNAROUND_PENALTY_S,
    }
    action = 0.0  # SUMO's default: the action step is the simulation step
    steps, pre_period, interval = ADAPTATION_STEPS, PRE_PERIOD_S, ADAPTATION_INTERVAL_S
    ignored: list[str] = []
    for raw_name, value in _options(file):
        name = _SYNONYMS.get(raw_name, raw_name)
        if name == "net-file":
            files = _file_list(value, base)
            if len(files) != 1:
                raise ConfigError(source, name, f"needs exactly one network, got {value!r}")
            net = files[0]
        elif name == "route-files":
            routes = _file_list(value, base)
        elif name == "additional-files":
            additional = _file_list(value, base)
        elif name == "begin":
            begin = parse_time(value, source, name)
        elif name == "end":
            end = parse_time(value, source, name)
            if end < 0:
                end = math.inf  # SUMO's -1: run until every vehicle has left
        elif name == "step-length":
            step = parse_time(value, source, name)
            if not 0 < step <= 2.0:
                raise ConfigError(
                    source, name, f"{value!r}: twin's kernel tick must be in (0, 2] s"
                )
        elif name == "default.action-step-length":
            action = parse_time(value, source, name)
        elif name in penalties:
            penalties[name] = _penalty_s(value, source, name)
        elif name == "device.rerouting.adaptation-steps":
            steps = _adaptation_steps(value, source, name)
        elif name == "device.rerouting.adaptation-interval":
            interval = _adaptation_interval(value, source, name)
        elif name == "device.rerouting.pre-period":
            pre_period = parse_time(value, source, name)
            if not pre_period > 0:
                raise ConfigError(
                    source, name, f"{value!r}: twin routes waiting trips again after > 0 s"
                )
        elif name == "time-to-teleport":
            teleport = parse_time(value, source, name)
        elif name == "max-depart-delay":
            max_delay = parse_time(value, source, name)
        else:
            ignored.append(f"{name}: {_classify(name, value, source)}")
    if action > 0 and not math.isclose(action, step):
        raise ConfigError(
            source,
            "default.action-step-length",
            f"{action!r} s differs from step-length {step!r} s; twin's vehicles decide "
            "at every step (remove the option or set it to the step length)",
        )
    if net is None:
        raise ConfigError(source, "net-file", "missing: twin needs the network")
    if not end > begin:
        raise ConfigError(source, "end", f"end ({end}) must be after begin ({begin})")
    if begin < 0:
        raise ConfigError(source, "begin", f"must be >= 0, got {begin}")
    return SumoConfig(
        path=file,
        net_file=net,
        route_files=routes,
        additional_files=additional,
        begin_s=begin,
        end_s=end,
        step_length_s=step,
        time_to_teleport_s=teleport,
        max_depart_delay_s=max_delay,
        minor_penalty_s=penalties["weights.minor-penalty"],
        turnaround_penalty_s=penalties["weights.turnaround-penalty"],
        rerouting_steps=steps,
        rerouting_interval_s=interval,
        pre_period_s=pre_period,
        ignored=tuple(ignored),
    )


def _adaptation_interval(value: str, source: str, name: str) -> int:
    """Seconds between SUMO's samples of the edge speeds: a whole number >= 1 (SUMO's 0,
    no adaptation, is not modelled)."""
    seconds = parse_time(value, source, name)
    if not (seconds >= 1 and float(seconds).is_integer()):
        raise ConfigError(
            source, name, f"{value!r}: twin samples edge speeds every whole number >= 1 of s"
        )
    return int(seconds)


def _adaptation_steps(value: str, source: str, name: str) -> int:
    """SUMO's samples in the moving average of edge speeds: a whole number >= 1 (SUMO's
    0, an exponential average, is not modelled)."""
    try:
        steps = int(value)
    except ValueError:
        steps = 0
    if steps < 1:
        raise ConfigError(
            source, name, f"{value!r}: twin averages edge speeds over a whole number >= 1"
        )
    return steps


def _penalty_s(value: str, source: str, name: str) -> float:
    """A routing penalty in seconds: finite and not negative (a negative cost would
    let the router go round in circles)."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(source, name, f"{value!r}: a routing penalty must be seconds >= 0")
    return seconds


def _classify(name: str, value: str, source: str) -> str:
    """Why option ``name`` does not change the traffic twin drives, or a ConfigError."""
    if name == "routing-algorithm" and value.strip().lower() == "astar":
        # SUMO's A* bounds the time left by the straight line at the fastest speed
        # (src/utils/router/AStarRouter.h), which never overestimates: it finds the
        # fastest routes Dijkstra finds.
        return "A* finds the fastest routes, as twin's Dijkstra does (ties aside)"
    if name in _ONLY:
        wanted, why = _ONLY[name]
        if _same(value, wanted):
            return "set to what twin does"
        raise ConfigError(source, name, f"{value!r} is not supported: {why} (only {wanted!r})")
    if name in _NO_EFFECT or name.startswith(_NO_EFFECT_PREFIXES) or name.endswith("-output"):
        if name in _WHY_NO_EFFECT:
            return _WHY_NO_EFFECT[name]
        for prefix, why in _WHY_PREFIX.items():
            if name.startswith(prefix):
                return why
        return "output, log, GUI or client setting"
    raise ConfigError(
        source,
        name,
        "option not supported: twin honours net-file, route-files, additional-files, "
        "begin, end and step-length, and ignores outputs, logs and GUI settings",
    )


def _same(value: str, wanted: str) -> bool:
    a, b = value.strip().lower(), wanted.strip().lower()
    if a == b:
        return True
    if b in _FALSE:
        return a in _FALSE
    if b in _TRUE:
        return a in _TRUE
    try:
        return float(a) == float(b) or (float(b) < 0 and float(a) < 0)
    except ValueError:
        return False
