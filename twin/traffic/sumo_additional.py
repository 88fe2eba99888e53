"""SUMO additional files (``<additional>``): traffic-light programmes, loops, demand.

What an additional file may hold, and what twin does with it:

- ``<tlLogic>``: a traffic-light programme. SUMO adds it to the light's programmes
  and makes the last one loaded the active one (``MSTLLogicControl::TLSLogicVariants::
  addLogic`` with ``isNewDefault``); twin does the same, and ``program_id`` may pick
  another. ``type="static"`` and ``type="actuated"`` (SUMO's gap control, with its
  ``max-gap``, ``detector-gap`` and ``passing-time`` params: ``twin.traffic.sumo``) are
  read; a programme of another type (delay-based, NEMA, ...), a phase with ``next``,
  ``earlyTarget`` or ``finalTarget``, and conditions are refused in one line. A programme whose
  ``programID`` the light already has is refused, as SUMO refuses it
  (``NLJunctionControlBuilder::closeTrafficLightLogic``), unless it has no phases:
  then it only changes that programme's offset (what ``tlsCoordinator.py`` writes).
- ``<WAUT>`` (programme switching by time of day): refused in one line.
- ``<inductionLoop>`` (or its old name ``<e1Detector>``): a twin induction loop
  (:class:`InductionLoop`), counted by the vehicle kernel as SUMO's e1 detector counts.
- ``<vType>``, ``<route>``, ``<vehicle>``, ``<trip>``, ``<flow>`` (and the demand
  reader's other elements): the file goes to the demand reader too.
- Elements that only write output or draw in SUMO's GUI (``edgeData``, ``laneData``,
  ``e2``/``e3`` detectors, ``routeProbe``, ``timedEvent``, ``poly``, ``poi``, ...):
  skipped with one warning line (counted in :attr:`Additional.skipped`).
- ``<busStop>``, ``<trainStop>``, ``<containerStop>``: stopping places for the vehicles'
  ``<stop>``s (:mod:`twin.traffic.sumo_stops`); the file goes to the demand reader.
- Everything else (``parkingArea``, ``chargingStation``, ``rerouter``, ``calibrator``,
  ``variableSpeedSign``, ``include``, ...): refused in one line.
"""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.core.errors import ConfigError
from twin.traffic.sumo_stops import STOPPING_PLACE_TAGS
from twin.traffic.sumocfg import open_xml, parse_time

DEMAND_TAGS = frozenset(
    {
        "vType",
        "route",
        "vehicle",
        "trip",
        "flow",
        "routeDistribution",
        "vTypeDistribution",
        "person",
        "personFlow",
        "container",
        "containerFlow",
    }
)
OUTPUT_ONLY_TAGS = frozenset(
    {
        "edgeData",
        "laneData",
        "edgeRelations",
        "tazRelations",
        "meanData",
        "laneAreaDetector",
        "e2Detector",
        "entryExitDetector",
        "e3Detector",
        "instantInductionLoop",
        "routeProbe",
        "timedEvent",
        "vTypeProbe",
        "edgeFollowDetector",
        "poly",  # shapes only the GUI draws
        "poi",
    }
)
IGNORED_TAGS = frozenset({"param", "location"})
"""Elements that carry no traffic (metadata)."""
LOOP_TAGS = frozenset({"inductionLoop", "e1Detector"})
OTHER_FILE_ROOTS = {
    "net": "a SUMO network (give it as net-file)",
    "configuration": "a SUMO configuration",
    "sumoConfiguration": "a SUMO configuration",
}
"""Root elements of files that are not additional files. Any other root is read as one:
SUMO's handlers act on the elements they know and do not check the root (the game
scenarios' ``input_additional.add.xml`` is an ``<add>``), so twin reads every child and
accepts, skips (with a warning) or refuses each one. A root that is itself a
``<tlLogic>`` or an induction loop (fokr_bs_demo's ``signalPlan.add.xml``) is that one
element, as SUMO reads it."""


class AdditionalWarning(UserWarning):
    """An additional-file element twin skips because it only writes SUMO output."""


@dataclass(frozen=True)
class TlsProgram:
    """A ``<tlLogic>`` read from an additional file (SUMO's phases, unconverted)."""

    tls_id: str
    program_id: str
    offset_s: float
    phases: tuple[tuple[str, float, float | None, float | None], ...]
    source: str
    kind: str = "static"
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class InductionLoop:
    """A SUMO ``<inductionLoop id lane pos period file>`` (SUMO's e1 detector).

    Attributes:
        pos_m: position on the lane from its start (a negative ``pos`` in the file
            counts from the lane's end, as SUMO reads it; resolved by the reader
            that knows the lane's length).
        period_s: aggregation interval of SUMO's ``<interval>`` output (``inf``:
            SUMO's default, one interval for the whole run).
        file: the file SUMO would write (relative to the additional file's folder).
    """

    id: str
    lane: str
    pos_m: float
    period_s: float
    file: str
    friendly_pos: bool
    source: str


@dataclass
class Additional:
    """What twin takes from a set of additional files."""

    programs: list[TlsProgram] = field(default_factory=list)
    loops: list[InductionLoop] = field(default_factory=list)
    demand_files: list[Path] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def read_additional(paths: tuple[Path, ...] | list[Path]) -> Additional:
    """Traffic-light programmes, induction loops and demand files of additional files."""
    out = Additional()
    for path in paths:
        _read_one(Path(path), out)
    return out


def _read_one(path: Path, out: Additional) -> None:
    source = str(path)
    if not path.is_file():
        raise ConfigError(source, "", "no such file (a SUMO additional file)")
    try:
        with open_xml(path) as handle:
            root = ET.parse(handle).getroot()  # noqa: S314 - a local input file
    except ET.ParseError as error:
        raise ConfigError(source, "", f"not XML: {error}") from None
    if root.tag in OTHER_FILE_ROOTS:
        raise ConfigError(
            source,
            "",
            f"root element is <{root.tag}>: {OTHER_FILE_ROOTS[root.tag]}, not an additional file "
            "(<additional>)",
        )
    has_demand = False
    skipped: dict[str, int] = {}
    # SUMO's handler reads every element, the root too: a file may be one <tlLogic>.
    elements = [root] if root.tag in ("tlLogic", *LOOP_TAGS) else list(root)
    for element in elements:
        tag = element.tag
        if not isinstance(tag, str) or tag in IGNORED_TAGS:
            continue
        a = element.attrib
        where = f"{tag} {a.get('id', '')!r}"
        if tag == "tlLogic":
            out.programs.append(_program(element, source))
        elif tag in LOOP_TAGS:
            out.loops.append(_loop(a, where, source))
        elif tag in DEMAND_TAGS or tag in STOPPING_PLACE_TAGS:
            has_demand = True  # the demand reader reads stopping places with the stops
        elif tag == "WAUT":
            raise ConfigError(
                source,
                where,
                "<WAUT> (programme switching by time) is not supported; twin runs one "
                "programme per light (choose it with program_id)",
            )
        elif tag in OUTPUT_ONLY_TAGS:
            skipped[tag] = skipped.get(tag, 0) + 1
        else:
            raise ConfigError(
                source,
                where,
                f"<{tag}> is not supported; twin reads <tlLogic type='static'>, "
                "<inductionLoop>, <busStop>/<trainStop>/<containerStop>, demand (<vType>, "
                "<route>, <vehicle>, <trip>, <flow>) and skips output-only elements",
            )
    if has_demand:
        out.demand_files.append(path)
    if skipped:
        listed = ", ".join(f"{n} <{t}>" for t, n in sorted(skipped.items()))
        warnings.warn(
            f"{source}: skipped {listed}: they only write SUMO output or draw in its GUI",
            AdditionalWarning,
            stacklevel=3,
        )
        for tag, n in skipped.items():
            out.skipped[tag] = out.skipped.get(tag, 0) + n


def _number(a: dict[str, str], key: str, where: str, source: str) -> float:
    try:
        return parse_time(a[key], source, f"{where} {key}")
    except ConfigError:
        raise ConfigError(source, where, f"{key} {a[key]!r} is not a number") from None


def _program(element: ET.Element, source: str) -> TlsProgram:
    a = element.attrib
    tls_id = a.get("id", "")
    program_id = a.get("programID", "")
    where = f"tlLogic {tls_id!r} programID {program_id!r}"
    kind = a.get("type", "static")
    if kind not in ("static", "actuated"):
        raise ConfigError(
            source,
            where,
            f"type {kind!r} is not supported: twin runs 'static' programmes and SUMO's "
            "'actuated' ones (gap control)",
        )
    for child in element:
        if child.tag not in ("phase", "param"):
            raise ConfigError(
                source, where, f"<{child.tag}> is not supported (twin reads <phase> and <param>)"
            )
    params = tuple(
        (str(param.get("key", "")), str(param.get("value", ""))) for param in element.iter("param")
    )
    offset = _number(dict(a), "offset", where, source) if "offset" in a else 0.0
    phases = []
    for k, phase in enumerate(element.iter("phase")):
        p = dict(phase.attrib)
        at = f"{where} phase {k}"
        if "state" not in p or "duration" not in p:
            raise ConfigError(source, at, "needs state= and duration=")
        for key in ("next", "earlyTarget", "finalTarget"):
            if p.get(key, "").strip():
                raise ConfigError(
                    source, at, f"{key}= is not supported: twin runs the phases in order"
                )
        duration = _number(p, "duration", at, source)
        min_dur = _number(p, "minDur", at, source) if "minDur" in p else None
        max_dur = _number(p, "maxDur", at, source) if "maxDur" in p else None
        phases.append((p["state"], duration, min_dur, max_dur))
    if phases and sum(row[1] for row in phases) <= 0:
        raise ConfigError(source, where, "its phases last 0 s in total")
    # No phases: only the offset of the light's programme ``programID`` changes
    # (tlsCoordinator.py writes these; NLJunctionControlBuilder::closeTrafficLightLogic).
    return TlsProgram(tls_id, program_id, offset, tuple(phases), source, kind, params)


def _loop(a: Any, where: str, source: str) -> InductionLoop:
    attrib = dict(a)
    for key in ("id", "lane", "pos"):
        if key not in attrib:
            raise ConfigError(source, where, f"needs {key}=")
    pos = _number(attrib, "pos", where, source)
    # SUMO's default period is the whole run (NLHandler::addE1Detector: SUMOTime_MAX_PERIOD).
    period = _number(attrib, "period", where, source) if "period" in attrib else math.inf
    if "freq" in attrib and "period" not in attrib:
        period = _number(attrib, "freq", where, source)
    if not period > 0:
        raise ConfigError(source, where, f"period must be > 0 s, got {period}")
    if float(attrib.get("length", "0") or 0) != 0:
        raise ConfigError(source, where, "length= is not supported: twin's loops are points")
    if attrib.get("vTypes") or attrib.get("nextEdges") or attrib.get("detectPersons"):
        raise ConfigError(source, where, "vTypes=, nextEdges= and detectPersons= are not supported")
    friendly = attrib.get("friendlyPos", "false").lower() in ("true", "1", "yes", "on")
    return InductionLoop(
        attrib["id"], attrib["lane"], pos, period, attrib.get("file", ""), friendly, source
    )


def add_programs(net: Any, programs: list[TlsProgram]) -> dict[str, str]:
    """Add ``programs`` to a sumolib network; the active programme id of each light.

    SUMO's rule: the programme loaded last becomes the active one.
    """
    import sumolib  # optional dependency, present when a network was read

    active: dict[str, str] = {}
    for program in programs:
        where = f"tlLogic {program.tls_id!r} programID {program.program_id!r}"
        try:
            tls = net.getTLS(program.tls_id)
        except KeyError:
            known = ", ".join(sorted(t.getID() for t in net.getTrafficLights())[:8])
            raise ConfigError(
                program.source,
                where,
                f"the network has no traffic light {program.tls_id!r} (its lights: {known})",
            ) from None
        if not program.phases:
            existing = tls.getPrograms().get(program.program_id)
            if existing is None:
                raise ConfigError(
                    program.source,
                    where,
                    "has no phases, so it can only change the offset of a programme the "
                    f"light has ({', '.join(sorted(tls.getPrograms()))})",
                )
            moved = sumolib.net.TLSProgram(
                program.program_id, program.offset_s, existing.getType() or "static"
            )
            for key, value in existing.getParams().items():
                moved.setParam(key, value)
            for phase in existing.getPhases():
                moved.addPhase(phase.state, phase.duration, phase.minDur, phase.maxDur)
            tls.addProgram(moved)  # same id: replaces it, the active programme stays
            continue
        if program.program_id in tls.getPrograms():
            raise ConfigError(
                program.source,
                where,
                f"traffic light {program.tls_id!r} already has programme "
                f"{program.program_id!r} (SUMO refuses a second one with the same id)",
            )
        logic = sumolib.net.TLSProgram(program.program_id, program.offset_s, program.kind)
        for key, value in program.params:
            logic.setParam(key, value)
        for state, duration, min_dur, max_dur in program.phases:
            logic.addPhase(
                state,
                duration,
                -1 if min_dur is None else min_dur,
                -1 if max_dur is None else max_dur,
            )
        tls.addProgram(logic)
        active[program.tls_id] = program.program_id
    return active
