"""Import SUMO networks (``.net.xml``) and demand (``.rou.xml``/``.trips.xml``) into twin.

A SUMO network becomes a :class:`~twin.traffic.network.Network`: every normal edge with
a lane that cars may use becomes an :class:`Edge` (lanes renumbered from the right over
the car lanes only), every connection a :class:`Movement` (its length and speed those of
its internal lanes, ``via``), every junction with connections an :class:`Intersection`
whose conflicts come from SUMO's own junction logic (``<request foes response>``), and
every traffic light's fixed-time programme a :class:`SignalProgram`: SUMO's rows grouped
into green phases with their yellow and all-red times, the letters kept (``G``, ``g``,
``s``, ``o``, ``O``, ``r``). An unsignalised junction keeps each connection's letter
(``M``, ``m``, ``=``, ``s``, ``w``, ``Z``: ``Intersection.link_states``).

A SUMO route or trip file becomes a :class:`~twin.traffic.demand.TripTable`: vehicles
with their routes (inline, by reference or drawn from a route distribution), trips
routed by twin's fastest-route router, flows (fixed spacing, per-second probability or
exponential gaps), vehicle types (``vType``, ``vTypeDistribution``) with SUMO's defaults
of their vehicle class, the depart lane, position and speed, a vehicle's own speed factor
and its arrival position (see :func:`read_routes`).
Persons and containers are skipped with a warning.

What twin cannot represent is refused with one line naming the file, the element and
what is allowed (a :class:`~twin.core.errors.ConfigError`), never silently dropped:
non-numeric departure times, stops, attributes that change the driving twin does not
model (e.g. ``arrivalLane``, ``jmTimegapMinor``), a traffic light without a programme.
Things that are not cars (sidewalks, rails, crossings) are left out of the network, and
a route over them is reported as using a missing edge.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from twin.core.caches import keep_bounded
from twin.core.errors import ConfigError
from twin.core.units import SECONDS_PER_HOUR
from twin.traffic import emissions
from twin.traffic.demand import (
    DEPART_LANE_CODES,
    DEPART_POS_CODES,
    DEPART_SPEED_CODES,
    SUMO_VCLASS_DEFAULTS,
    DemandError,
    Router,
    ScheduledStop,
    TripTable,
    VehicleType,
    check_route,
    sumo_vclass_type,
)
from twin.traffic.network import (
    PRIORITY_CHARS,
    Actuation,
    Edge,
    Intersection,
    Movement,
    Network,
    NetworkError,
    Node,
    SignalProgram,
    phase_kind,
)
from twin.traffic.sumo_additional import TlsProgram, add_programs
from twin.traffic.sumo_stops import (
    STOPPING_PLACE_TAGS,
    StopElement,
    StoppingPlaces,
    read_stop,
    stop_edge_id,
)
from twin.traffic.sumo_stops import resolve as resolve_stops
from twin.traffic.sumocfg import open_xml, parse_time

VEHICLE_CLASS = "passenger"
"""The SUMO vehicle class whose lanes twin imports."""
MIN_PATH_M = 0.1
"""Length given to a movement without an internal lane (twin needs one > 0)."""
DEFAULT_VTYPE = "DEFAULT_VEHTYPE"
HBEFA3_PREFIX = "HBEFA3/"
_NORMC = re.compile(r"^\s*normc?\(\s*([^,()]+)\s*,\s*([^,()]+)\s*(?:,[^()]*)?\)\s*$")


# -- files ---------------------------------------------------------------------------------


def root_tag(path: Path, expected: Sequence[str], what: str) -> str:
    """The root element of an XML file, or a one-line error if it is not a ``what``."""
    source = str(path)
    if not path.exists():
        raise ConfigError(source, "", "no such file")
    if not path.is_file():
        raise ConfigError(source, "", f"not a file (a {what} is expected)")
    try:
        # Only the first start event is read: a SUMO file of any size is checked at once.
        with open_xml(path) as handle:
            for _, element in ET.iterparse(handle, events=("start",)):  # noqa: S314
                tag = element.tag
                break
            else:
                raise ConfigError(source, "", f"empty file; a {what} is expected")
    except ET.ParseError as error:
        raise ConfigError(source, "", f"not a {what}: not XML ({error})") from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ConfigError(source, "", f"cannot read: {error}") from None
    if tag not in expected:
        allowed = " or ".join(f"<{t}>" for t in expected)
        raise ConfigError(source, "", f"not a {what}: root element is <{tag}>, expected {allowed}")
    return tag


def _iter_elements(path: Path) -> Iterator[tuple[str, ET.Element]]:
    """``("start"|"end", element)`` events of a well-formed file (gzipped or not),
    errors as one line."""
    try:
        with open_xml(path) as handle:
            yield from ET.iterparse(handle, events=("start", "end"))  # noqa: S314
    except ET.ParseError as error:
        raise ConfigError(str(path), "", f"malformed XML: {error}") from None


# -- networks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """One row of a SUMO junction's right-of-way table (strings as SUMO writes them)."""

    response: str
    foes: str


_ConnectionKey = tuple[str, str, int, int]
"""A SUMO connection: from edge, to edge, from lane index, to lane index."""


@dataclass(frozen=True)
class _RightOfWay:
    """What sumolib does not read of a network's right of way.

    Attributes:
        requests: ``<junction id><request index response foes/>``: junction id -> link
            index -> row.
        not_kept_clear: connections written with ``keepClear="0"`` (netconvert's
            ``keepClear`` of a connection or node, default true): vehicles may enter
            the junction there without room beyond.
        internal_foes: ``<junction type="internal" incLanes intLanes>``: the internal
            lane that ends at an internal junction (a turn's waiting point) -> (the
            internal lanes whose vehicles it waits for there, the normal lanes whose
            approaching vehicles into those internal lanes it waits for).
    """

    requests: dict[str, dict[int, _Request]]
    not_kept_clear: frozenset[_ConnectionKey]
    internal_foes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)


def _read_right_of_way(path: Path) -> _RightOfWay:
    requests: dict[str, dict[int, _Request]] = {}
    not_kept_clear: set[_ConnectionKey] = set()
    internal_foes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    junction: dict[int, _Request] | None = None
    for event, element in _iter_elements(path):
        if event == "start" and element.tag == "junction":
            a = element.attrib
            junction = requests.setdefault(a.get("id", ""), {})
            incoming = a.get("incLanes", "").split()
            if a.get("type") == "internal" and incoming:
                internal_foes[incoming[0]] = (
                    tuple(a.get("intLanes", "").split()),
                    tuple(incoming[1:]),
                )
        elif event == "end" and element.tag == "request" and junction is not None:
            a = element.attrib
            junction[int(a["index"])] = _Request(a.get("response", ""), a.get("foes", ""))
        elif event == "end" and element.tag == "junction":
            junction = None
            element.clear()
        elif event == "end" and element.tag == "connection":
            a = element.attrib
            if a.get("keepClear", "1").lower() in ("0", "false"):
                not_kept_clear.add((a["from"], a["to"], int(a["fromLane"]), int(a["toLane"])))
            element.clear()
    return _RightOfWay(requests, frozenset(not_kept_clear), internal_foes)


def _bit(row: str, index: int) -> bool:
    """Bit ``index`` of a SUMO request string (written reversed: last character = link 0)."""
    return 0 <= index < len(row) and row[len(row) - 1 - index] == "1"


def read_net(
    path: str | Path,
    *,
    name: str | None = None,
    program_id: str | None = None,
    programs: Sequence[TlsProgram] = (),
) -> Network:
    """A twin network from a SUMO ``.net.xml``, with its traffic-light programmes.

    Args:
        path: the SUMO network file.
        name: the network's name (default: the file name without ``.net.xml``).
        program_id: which programme of each traffic light to take (default: the one
            SUMO activates: the last one loaded, from ``programs``, else the last in the
            net file; SUMO's ``"0"`` for a generated net, which has one).
        programs: further ``<tlLogic>`` programmes from SUMO additional files
            (:func:`twin.traffic.sumo_additional.read_additional`), in load order.

    Raises:
        ConfigError: the file is missing, not a SUMO network, or holds something twin
            cannot drive (one line naming the file and the element).
    """
    file = Path(path)
    root_tag(file, ("net",), "SUMO network (.net.xml)")
    key = _ImportKey(str(file), content_digest(file), name, program_id, tuple(programs))
    network = _imported.get(key)
    if network is None:
        network = _import_net(file, name, program_id, programs)
        keep_bounded(_imported, key, network, IMPORTED_NETWORKS_KEPT)
    return network


IMPORTED_NETWORKS_KEPT = 8
"""Imported networks kept per process. A network is immutable, and a learning
environment builds a fresh world at every reset (as a batch worker does for every run):
reading RESCO's grid4x4 with sumolib and deriving its junctions' conflicts takes over a
second, longer than a five-minute episode drives."""


@dataclass(frozen=True)
class _ImportKey:
    file: str
    content: bytes
    name: str | None
    program_id: str | None
    programs: tuple[TlsProgram, ...]


_imported: dict[_ImportKey, Network] = {}


def content_digest(file: Path) -> bytes:
    """The file's content, hashed: an edited file is another key however quickly it was
    rewritten (a hash of a city's network costs milliseconds, its import seconds)."""
    try:
        with file.open("rb") as handle:
            return hashlib.file_digest(handle, "blake2b").digest()
    except OSError as error:
        raise ConfigError(str(file), "", f"cannot read: {error}") from None


def _import_net(
    file: Path, name: str | None, program_id: str | None, programs: Sequence[TlsProgram]
) -> Network:
    source = str(file)
    try:
        import sumolib  # optional dependency: the `sumo` extra
    except ImportError:
        raise ConfigError(
            source, "", "reading a SUMO network needs sumolib: pip install 'twin[sumo]'"
        ) from None
    try:
        net = sumolib.net.readNet(source, withPrograms=True, withInternal=True)
    except Exception as error:  # sumolib raises bare KeyErrors, ValueErrors, ...
        raise ConfigError(source, "", f"not a readable SUMO network: {error!r}") from None
    right_of_way = _read_right_of_way(file)
    active = add_programs(net, list(programs))
    builder = _NetBuilder(source, net, right_of_way, program_id, active)
    network = builder.build(
        name or file.name.removesuffix(".gz").removesuffix(".xml").removesuffix(".net")
    )
    try:
        network.validate()
    except NetworkError as error:
        raise ConfigError(source, "", f"cannot be driven in twin: {error}") from None
    return network


class _NetBuilder:
    """One pass over a sumolib network, building twin's objects by index."""

    def __init__(
        self,
        source: str,
        net: Any,
        right_of_way: _RightOfWay,
        program_id: str | None,
        active: dict[str, str] | None = None,
    ) -> None:
        self.source = source
        self.net = net
        self.requests = right_of_way.requests
        self.not_kept_clear = right_of_way.not_kept_clear
        self.internal_foes = right_of_way.internal_foes
        self.program_id = program_id
        self.active = active or {}
        self.nodes: list[Node] = []
        self.node_index: dict[str, int] = {}
        self.edges: list[Edge] = []
        self.edge_index: dict[str, int] = {}
        self.lane_index: dict[str, int] = {}  # SUMO lane id -> twin lane number on its edge

    def node(self, sumo_node: Any) -> int:
        node_id = sumo_node.getID()
        if node_id not in self.node_index:
            x, y = sumo_node.getCoord()[:2]
            self.node_index[node_id] = len(self.nodes)
            self.nodes.append(Node(node_id, float(x), float(y)))
        return self.node_index[node_id]

    def build(self, name: str) -> Network:
        for edge in self.net.getEdges(withInternal=False):
            if edge.getFunction() not in ("", "normal"):
                continue  # crossings, walking areas, district connectors
            lanes = [lane for lane in edge.getLanes() if lane.allows(VEHICLE_CLASS)]
            if not lanes:
                continue
            for k, lane in enumerate(lanes):
                self.lane_index[lane.getID()] = k
            length = float(np.mean([lane.getLength() for lane in lanes]))
            speed = float(max(lane.getSpeed() for lane in lanes))
            a, b = self.node(edge.getFromNode()), self.node(edge.getToNode())
            self.edge_index[edge.getID()] = len(self.edges)
            closed = tuple(
                float(lane.getSpeed()) for lane in edge.getLanes() if not lane.allows(VEHICLE_CLASS)
            )
            indices = tuple(int(lane.getIndex()) for lane in lanes)
            self.edges.append(
                Edge(
                    edge.getID(),
                    a,
                    b,
                    length,
                    speed,
                    len(lanes),
                    closed,
                    indices if indices != tuple(range(len(lanes))) else (),
                )
            )
        movements: list[Movement] = []
        intersections: list[Intersection] = []
        for sumo_node in self.net.getNodes():
            links = self.links_at(sumo_node)
            if not links:
                continue
            first = len(movements)
            movements.extend(link.movement for link in links)
            intersections.append(self.intersection(sumo_node, links, first))
        if not self.edges:
            raise ConfigError(
                self.source, "", f"no edge of the network has a lane for cars ({VEHICLE_CLASS})"
            )
        return Network(
            tuple(self.nodes), tuple(self.edges), tuple(movements), tuple(intersections), name
        )

    def links_at(self, sumo_node: Any) -> list[_Link]:
        """The node's car movements in SUMO link-index order, one per connection."""
        links: dict[tuple[int, int, int, int], _Link] = {}
        for edge in sumo_node.getIncoming():
            if edge.getID() not in self.edge_index:
                continue
            for lane in edge.getLanes():
                if lane.getID() not in self.lane_index:
                    continue
                for conn in lane.getOutgoing():
                    to_edge = conn.getToLane().getEdge().getID()
                    if (
                        to_edge not in self.edge_index
                        or conn.getToLane().getID() not in self.lane_index
                    ):
                        continue
                    key = (
                        self.edge_index[edge.getID()],
                        self.lane_index[lane.getID()],
                        self.edge_index[to_edge],
                        self.lane_index[conn.getToLane().getID()],
                    )
                    index = sumo_node.getLinkIndex(conn)
                    length, speed, shape = self.path(conn)
                    turn = conn.getDirection().lower()
                    if turn not in ("s", "r", "l", "t"):
                        turn = "s"  # SUMO's 'invalid' (no direction); twin needs a letter
                    sumo_key = (edge.getID(), to_edge, lane.getIndex(), conn.getToLane().getIndex())
                    keep_clear = sumo_key not in self.not_kept_clear
                    links[key] = _Link(
                        Movement(
                            key[0],
                            key[1],
                            key[2],
                            turn,
                            length,
                            speed,
                            to_lane=key[3],
                            keep_clear=keep_clear,
                            minor_links=self.minor_links(conn),
                            internal_stop_m=self.internal_stop(conn),
                        ),
                        index,
                        conn.getTLSID() or None,
                        conn.getTLLinkIndex(),
                        conn.getState() or "",
                        shape,
                        tuple(lane.getID() for _, lane in self.way(conn)),
                        lane.getID(),
                    )
        return sorted(links.values(), key=lambda link: link.index)

    def way(self, conn: Any) -> Iterator[tuple[Any, Any]]:
        """The connection's way through the junction: each internal lane (``via``) with
        the link that enters it, the connection's own first, then an internal
        junction's (at most 8; SUMO's ways have one or two)."""
        link = conn
        for _ in range(8):
            if link is None or not link.getViaLaneID():
                return
            lane = self.net.getLane(link.getViaLaneID())
            yield link, lane
            outgoing = lane.getOutgoing()
            link = outgoing[0] if outgoing else None

    @staticmethod
    def _minor(link: Any) -> bool:
        """A link with neither a traffic light nor priority (lower-case state)."""
        state = link.getState() or ""
        return not link.getTLSID() and bool(state) and not state.isupper()

    def minor_links(self, conn: Any) -> int:
        """Links that enter the connection's internal lanes with neither a traffic light
        nor priority: the connection itself, and the link of an internal junction
        (``<connection from=":J_7" via=":J_25_0" state="m">``), which carries no
        light (SUMO's routing penalties, src/microsim/MSEdge.cpp ``recalcCache``)."""
        return sum(self._minor(link) for link, _ in self.way(conn))

    def internal_stop(self, conn: Any) -> float:
        """How far along the connection's way its internal junction is
        (``<connection from=":J_11" via=":J_15_0">``, a left turn's waiting point),
        negative when the link there has priority, 0 without one
        (``Movement.internal_stop_m``). SUMO gives a minor link there (``state="m"``)
        the default foe visibility distance (4.5 m, src/netload/NLHandler.cpp) and
        every vehicle approaches it as a minor link; a major one (``state="M"``, as
        netconvert wrote it before SUMO 1.0: the RiLSA examples, sumo-rl's OW) is
        open (src/microsim/MSLink.cpp ``opened``: ``havePriority``)."""
        along = 0.0
        for k, (link, lane) in enumerate(self.way(conn)):
            if k > 0 and self._minor(link):
                return along
            if k > 0 and link.getState() in ("M", "G"):
                return -along
            along += float(lane.getLength())
        return 0.0

    def path(self, conn: Any) -> tuple[float, float, tuple[tuple[float, float], ...]]:
        """Length, speed and shape (scaled to the length) of a connection's way through
        the junction (its ``via`` lanes)."""
        length = 0.0
        time = 0.0
        points: list[tuple[float, float]] = []
        for _, lane in self.way(conn):
            length += lane.getLength()
            time += lane.getLength() / max(lane.getSpeed(), 0.1)
            points.extend((float(x), float(y)) for x, y, *_ in lane.getShape())
        if length <= 0:
            to_lane = conn.getToLane()
            speed = float(min(conn.getFromLane().getSpeed(), to_lane.getSpeed()))
            return MIN_PATH_M, speed, ()
        return length, length / time, tuple(points)

    def intersection(self, sumo_node: Any, links: list[_Link], first: int) -> Intersection:
        node_id = sumo_node.getID()
        rows = self.requests.get(node_id, {})
        m = len(links)
        foes = np.zeros((m, m), dtype=np.bool_)
        yields = np.zeros((m, m), dtype=np.bool_)
        for i, a in enumerate(links):
            for j, b in enumerate(links):
                if i == j:
                    continue
                row = rows.get(a.index)
                if row is not None:
                    foes[i, j] = _bit(row.foes, b.index)
                    yields[i, j] = _bit(row.response, b.index)
        foes |= foes.T
        yields &= foes
        # Two links may yield to each other: at a traffic light (netconvert writes the
        # rules of the light switched off) and at zipper and all-way-stop junctions. The
        # letters then decide (Intersection.gives_way): a major one goes first; 'Z' and
        # 'w' by arrival and waiting; two major letters would conflict, refused when
        # the network is checked.
        tls_ids = {link.tls for link in links if link.tls}
        link_states = ""
        if not tls_ids:
            link_states = "".join(self.link_state(sumo_node, link) for link in links)
        program = None
        if tls_ids:
            if len(tls_ids) > 1:
                raise ConfigError(
                    self.source,
                    f"junction {node_id!r}",
                    f"controlled by several traffic lights ({', '.join(sorted(tls_ids))}); "
                    "twin runs one programme per junction",
                )
            program = self.program(tls_ids.pop(), links, yields)
        inside = self.inside_yields(links, foes, yields)
        inside_foes, inside_approach, inside_holds, second_part = inside
        clear = np.full((m, m), np.inf)
        for i, j in zip(*np.nonzero(yields), strict=True):
            clear[i, j] = _clear_distance(links[i], links[j])
        inside_clear = clear.copy()
        for i, j in zip(*np.nonzero(inside_foes & ~yields), strict=True):
            # A foe the turn does not yield to at the junction holds it at its internal
            # junction only on a lane that junction lists and where the paths cross or
            # merge (MSLink::getLeaderInfo skips a foe lane without intersection).
            a, b = links[i].movement, links[j].movement
            merge = (a.to_edge, a.to_lane) == (b.to_edge, b.to_lane)
            distance = _clear_distance(links[i], links[j])
            crosses = not math.isinf(distance) or merge
            inside_clear[i, j] = distance if inside_holds[i, j] and crosses else -np.inf
        return Intersection(
            node_id,
            self.node_index[node_id],
            tuple(range(first, first + m)),
            foes,
            yields,
            program,
            link_states,
            clear,
            inside_foes,
            inside_approach,
            second_part,
            inside_clear,
        )

    def inside_yields(
        self, links: list[_Link], junction_foes: np.ndarray, yields: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What a turn that waits at an internal junction waits for there, as SUMO's
        MSInternalJunction sets it up (``postloadInit``): ``(M, M)`` masks ``foes``
        (``[i, j]``: turn ``i`` minds movement ``j`` there), ``approach`` (a vehicle
        approaching ``j``'s line holds it: the links from the internal junction's other
        incoming lanes that ``i`` yields to at the junction), ``inside`` (a vehicle on
        ``j``'s path holds it: ``j``'s internal lane is one the internal junction
        lists) and ``second_part`` (of such a ``j`` that
        waits at an internal junction of its own, only a vehicle past that point holds
        ``i``: SUMO lists a first part only when ``i`` yields to ``j`` at the
        junction, the second part always). At a major internal junction
        (``Movement.internal_stop_m < 0``) no approaching vehicle holds the turn: its
        link is open and only its link leaders, the vehicles on the listed paths, are
        minded.

        Rows of links without an internal junction: their link leaders, the turns
        ``j`` with a major internal junction that are their foes at the junction and
        that they do not yield to there. A vehicle of ``j`` past its internal junction
        and not yet past the crossing may hold ``i`` at its line (``inside`` and
        ``second_part``, no ``approach``; :func:`twin.traffic.kernels.link_leader_ahead`):
        SUMO's vehicles brake for a foe on a conflicting internal lane
        (MSLink::getLeaderInfo), ignoring one still before its internal junction at a
        green (``ignoreGreenCont``). A turn with a minor internal junction is left out:
        it leaves that junction only on a gap in the foes it waits for there, so it is
        past their paths before they come (SUMO's vehicles brake for it as a link
        leader too; minding it measured no closer to SUMO on RESCO's cities)."""
        foes = np.zeros_like(yields)
        approach = np.zeros_like(yields)
        inside = np.zeros_like(yields)
        second_part = np.zeros_like(yields)
        turns = [j for j, link in enumerate(links) if link.movement.internal_stop_m < 0.0]
        lane_link = {lane: j for j, link in enumerate(links) for lane in link.via_lanes}
        for i, link in enumerate(links):
            if len(link.via_lanes) < 2 or link.via_lanes[0] not in self.internal_foes:
                for j in turns:
                    if j != i and junction_foes[i, j] and not yields[i, j]:
                        inside[i, j] = second_part[i, j] = foes[i, j] = True
                continue
            int_lanes, other_incoming = self.internal_foes[link.via_lanes[0]]
            listed = {lane_link[lane] for lane in int_lanes if lane in lane_link} - {i}
            inside[i] = False
            inside[i, list(listed)] = True
            for j in listed:
                via = links[j].via_lanes
                whole = via[0] in int_lanes and (len(via) == 1 or yields[i, j])
                second_part[i, j] = not whole
            approach[i] = False
            if link.movement.internal_stop_m > 0.0:  # a minor link there
                for j, foe in enumerate(links):
                    if j != i and foe.from_lane_id in other_incoming and yields[i, j]:
                        approach[i, j] = True
            foes[i] = approach[i] | inside[i]
        return foes, approach, inside, second_part

    def link_state(self, sumo_node: Any, link: _Link) -> str:
        """The letter of an unsignalised link (SUMO's ``<connection state>``)."""
        state = link.state
        if state in PRIORITY_CHARS:
            return state
        raise ConfigError(
            self.source,
            f"junction {sumo_node.getID()!r}",
            f"link {link.index} has state {state!r} (junction type "
            f"{sumo_node.getType()!r}); twin drives links "
            f"{', '.join(repr(c) for c in sorted(PRIORITY_CHARS))} at unsignalised junctions",
        )

    def program(self, tls_id: str, links: list[_Link], yields: np.ndarray) -> SignalProgram:
        """The junction's part of a traffic light's programme, as twin phases."""
        where = f"tlLogic {tls_id!r}"
        programs = self.net.getTLS(tls_id).getPrograms()
        if not programs:
            raise ConfigError(self.source, where, "traffic light has no programme (<tlLogic>)")
        if self.program_id is None and tls_id in self.active:
            chosen = programs[self.active[tls_id]]  # SUMO: the last loaded is active
        elif self.program_id is None:
            # SUMO adds the net's programmes in file order, each as the new default
            # (MSTLLogicControl::add, newDefault=true; TLSLogicVariants::addLogic makes
            # it current), so the last one in the file runs. sumolib keeps file order.
            chosen = list(programs.values())[-1]
        elif self.program_id in programs:
            chosen = programs[self.program_id]
        else:
            raise ConfigError(
                self.source,
                where,
                f"no programme {self.program_id!r}; programmes: {', '.join(sorted(programs))}",
            )
        actuation = self.actuation(chosen, where, tls_id)
        rows = []
        for p, phase in enumerate(chosen.getPhases()):
            state = phase.state
            chars = []
            for k, link in enumerate(links):
                if link.tls is None:
                    # Not signalled at a signalled junction: it always goes, yielding if
                    # SUMO's junction logic says so (SUMO's 'O'/'o' links).
                    chars.append("g" if yields[k].any() else "G")
                    continue
                if not 0 <= link.tls_index < len(state):
                    raise ConfigError(
                        self.source,
                        f"{where} phase {p}",
                        f"state {state!r} has no signal for link {link.tls_index}",
                    )
                chars.append(state[link.tls_index])
            min_dur = phase.minDur if phase.minDur is not None and phase.minDur >= 0 else None
            max_dur = phase.maxDur if phase.maxDur is not None and phase.maxDur >= 0 else None
            rows.append(("".join(chars), float(phase.duration), min_dur, max_dur))
        # An actuated light decides for all its junctions at once, so each junction's
        # part keeps the light's phases (green, yellow, red as the whole state says),
        # even where its own links are all red: the parts stay in step.
        kinds = [phase_kind(p.state) for p in chosen.getPhases()] if actuation else None
        rows, kinds, delay = _start_on_green(rows, float(chosen.getOffset() or 0.0), kinds)
        # SUMO's offset delays the programme (its first phase starts at t = offset);
        # twin's offset is how far into the cycle the programme already is at t = 0.
        cycle = sum(row[1] for row in rows)
        offset = (-delay) % cycle if cycle > 0 else 0.0
        try:
            return SignalProgram.from_sumo(rows, offset, actuation, kinds)
        except NetworkError as error:
            raise ConfigError(self.source, where, str(error)) from None

    def actuation(self, program: Any, where: str, tls_id: str) -> Actuation | None:
        """SUMO's actuated control of ``program`` (``None``: static), or a one-line
        refusal of what twin does not run: other types, a programme's own phase order
        (phases with ``next``, ``earlyTarget``, ``finalTarget``), and an actuated
        programme's conditions or detectors (a loop given per lane)."""
        kind = program.getType() or "static"
        if kind not in ("static", "actuated"):
            raise ConfigError(
                self.source,
                where,
                f"type {kind!r} is not supported: twin runs 'static' programmes and SUMO's "
                "'actuated' ones (gap control)",
            )
        for k, phase in enumerate(program.getPhases()):
            if phase.next or getattr(phase, "earlyTarget", "") or getattr(phase, "finalTarget", ""):
                raise ConfigError(
                    self.source,
                    f"{where} phase {k}",
                    "next=, earlyTarget= and finalTarget= are not supported: twin runs a "
                    "programme's phases in order",
                )
        if kind == "static":
            return None
        if getattr(program, "_conditions", None):
            raise ConfigError(
                self.source, where, "<condition> is not supported in an actuated programme"
            )
        values = {"max-gap": 3.0, "detector-gap": 2.0, "passing-time": 1.9}
        for key, value in program.getParams().items():
            if key in values:
                try:
                    values[key] = float(value)
                except ValueError:
                    raise ConfigError(
                        self.source, f"{where} param {key!r}", f"{value!r} is not a number"
                    ) from None
                if not 0 < values[key] < math.inf:
                    raise ConfigError(
                        self.source,
                        f"{where} param {key!r}",
                        f"must be finite and > 0, got {value!r}",
                    )
            elif key not in _ACTUATED_PARAMS_IGNORED:
                raise ConfigError(
                    self.source,
                    f"{where} param {key!r}",
                    "not supported: twin reads an actuated programme's max-gap, "
                    "detector-gap and passing-time (and ignores "
                    f"{', '.join(sorted(_ACTUATED_PARAMS_IGNORED))})",
                )
        return Actuation(
            tls_id=tls_id,
            max_gap_s=values["max-gap"],
            detector_gap_s=values["detector-gap"],
            passing_time_s=values["passing-time"],
        )


_ACTUATED_PARAMS_IGNORED = frozenset(
    {"show-detectors", "file", "freq", "inactive-threshold", "jam-threshold"}
)
"""Parameters of SUMO's actuated logic that change nothing twin runs: its GUI and
detector output, and the thresholds of its phase choice among several next phases
(``next=``, refused), where ``inactive-threshold`` and ``jam-threshold`` act."""


def _start_on_green(
    rows: list[tuple[str, float, float | None, float | None]],
    offset_s: float,
    kinds: list[str] | None = None,
) -> tuple[list[tuple[str, float, float | None, float | None]], list[str] | None, float]:
    """Rotate a programme so that it begins with a green row (twin's programmes do), by
    ``kinds`` where given, else by each row's own letters.

    Rows before the first green (its predecessor's yellow or all-red) move to the end;
    the delay (SUMO's offset: when the first row starts) grows by their total duration,
    so every row still starts at the same time.
    """

    def is_green(k: int) -> bool:
        if kinds is not None:
            return kinds[k] == "green"
        return phase_kind(rows[k][0]) == "green" and "u" not in rows[k][0]

    start = next((k for k in range(len(rows)) if is_green(k)), 0)
    if start == 0:
        return rows, kinds, offset_s
    shift = sum(row[1] for row in rows[:start])
    if kinds is not None:
        kinds = kinds[start:] + kinds[:start]
    return rows[start:] + rows[:start], kinds, offset_s + shift


@dataclass
class _Link:
    """A movement with the SUMO connection it stands for: its junction link index, its
    traffic light and index there, and its state letter."""

    movement: Movement
    index: int
    tls: str | None
    tls_index: int
    state: str = ""
    shape: tuple[tuple[float, float], ...] = ()
    via_lanes: tuple[str, ...] = ()
    from_lane_id: str = ""


CROSSING_CLEAR_M = 1.6
"""A foe's back has cleared a crossing this far past the point where the centre lines
cross: half of SUMO's default lane width, 3.2 m (netconvert ``--default.lanewidth``)."""


_Point = tuple[float, float]


def _polyline_length(shape: Sequence[_Point]) -> float:
    return sum(math.dist(a, b) for a, b in pairwise(shape))


def _clear_distance(link: _Link, foe: _Link) -> float:
    """How far along ``foe``'s path its back must be before it no longer holds ``link``:
    the first point where the centre lines of their paths cross, measured along the
    foe's path (scaled to its length), plus :data:`CROSSING_CLEAR_M`; ``inf`` where
    they do not cross inside the junction (they merge: the foe holds while inside)."""
    a, b = link.shape, foe.shape
    total = _polyline_length(b)
    if len(a) < 2 or len(b) < 2 or total <= 0.0:
        return math.inf
    along = 0.0
    for q0, q1 in pairwise(b):
        seg = math.dist(q0, q1)
        best = math.inf
        for p0, p1 in pairwise(a):
            t = _segment_cut(q0, q1, p0, p1)
            if t is not None:
                best = min(best, t)
        if best < math.inf:
            crossing = (along + best * seg) * foe.movement.length_m / total
            if crossing >= foe.movement.length_m - 0.01:
                return math.inf  # they meet at the end: a merge
            return crossing + CROSSING_CLEAR_M
        along += seg
    return math.inf


def _segment_cut(q0: _Point, q1: _Point, p0: _Point, p1: _Point) -> float | None:
    """Where segment q0-q1 crosses segment p0-p1, as a fraction of q0-q1, or None."""
    rx, ry = q1[0] - q0[0], q1[1] - q0[1]
    sx, sy = p1[0] - p0[0], p1[1] - p0[1]
    den = rx * sy - ry * sx
    if abs(den) < 1e-12:
        return None
    qpx, qpy = p0[0] - q0[0], p0[1] - q0[1]
    t = (qpx * sy - qpy * sx) / den
    u = (qpx * ry - qpy * rx) / den
    if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0:
        return t
    return None


# -- demand --------------------------------------------------------------------------------


class UnmodelledWarning(UserWarning):
    """Part of a SUMO file twin reads but leaves out of its model (an electric vehicle's
    battery): one line naming the file and the element."""


class SkippedDemandWarning(UserWarning):
    """Demand a SUMO file holds that twin leaves out on purpose (persons, containers):
    one ``warnings.warn`` per file, counted in :attr:`TripTable.skipped`."""


SKIPPED_TAGS = ("person", "personFlow", "container", "containerFlow")
"""Top-level elements twin skips (with a warning): it drives vehicles, not passengers."""

# Attributes of <vehicle>, <trip> and <flow>. Honoured ones shape the trip; inert ones do
# not change how SUMO drives the vehicle (outputs, looks, passengers carried); the ones in
# _DEFAULT_ONLY are accepted at SUMO's default value only; everything else is refused.
_PER_VEHICLE_KEYS = frozenset(
    {"id", "type", "depart", "departLane", "departPos", "departSpeed", "speedFactor", "arrivalPos"}
)
_VEHICLE_HONOURED = _PER_VEHICLE_KEYS | {"route"}
_TRIP_HONOURED = _PER_VEHICLE_KEYS | {"from", "to", "via"}
_FLOW_HONOURED = (_VEHICLE_HONOURED | _TRIP_HONOURED | {"begin", "end", "period"}) - {"depart"}
_FLOW_HONOURED |= {"vehsPerHour", "perHour", "number", "probability"}
_VEHICLE_INERT = frozenset(
    {
        "color",  # drawing only
        "line",  # a public-transport line name (matters to persons only)
        "personNumber",  # passengers on board (no weight or behaviour in SUMO's Krauss)
        "containerNumber",
        "arrival",  # an output of an earlier run written back into the file
        "departPosLat",  # lateral position: ignored without SUMO's sublane model
        "arrivalPosLat",
        "parkingBadges",  # which parking areas it may use (twin has none)
        "routeLength",  # an output of duarouter written back into the file
    }
)
_DEFAULT_ONLY = {
    "arrivalLane": ("current",),
    "arrivalSpeed": ("current",),
    "insertionChecks": ("all",),
    "departEdge": ("0",),
    "arrivalEdge": ("-1",),
}
# Attributes of <vType>: honoured, inert (looks, capacities, sublane-only), or refused.
_VTYPE_FLOATS = {
    "length": "length_m",
    "minGap": "min_gap_m",
    "accel": "accel_mps2",
    "decel": "decel_mps2",
    "emergencyDecel": "emergency_decel_mps2",
    "maxSpeed": "max_speed_mps",
    "sigma": "sigma",
    "tau": "tau_s",
    "speedDev": "speed_factor_std",
}
_VTYPE_HONOURED = frozenset(_VTYPE_FLOATS) | {
    "id",
    "vClass",
    "speedFactor",
    "emissionClass",
    "carFollowModel",
    "laneChangeModel",
    "probability",
}
_VTYPE_INERT = frozenset(
    {
        "color",
        "guiShape",
        "imgFile",
        "osgFile",
        "width",
        "height",
        "personCapacity",
        "containerCapacity",
        "boardingDuration",
        "loadingDuration",
        "minGapLat",  # the next three: SUMO's sublane model only
        "maxSpeedLat",
        "latAlignment",
    }
)
_DISTRIBUTION_HONOURED = frozenset({"id", "vTypes", "routes", "probabilities"})
LANE_CHANGE_MODELS = ("LC2013", "default")
"""twin's lane changes stand for SUMO's default model (LC2013); SL2015/DK2008 are refused."""


def _speed_factor(value: str, where: str, source: str) -> tuple[float, float | None]:
    """SUMO's ``speedFactor``: a number (the mean; the deviation stays the class's, as
    SUMO's ``Distribution_Parameterized::parse`` does), or ``norm(mean, dev)`` /
    ``normc(mean, dev, min, max)`` with twin's cut-off [0.2, 2] (SUMO's default)."""
    match = _NORMC.match(value)
    try:
        if not match:
            return float(value), None
        inner = value[value.index("(") + 1 : value.rindex(")")]
        mean, dev, *bounds = (float(x) for x in inner.split(","))
    except ValueError:
        raise ConfigError(
            source, where, f"speedFactor {value!r}: expected a number or normc(mean, dev, min, max)"
        ) from None
    if bounds and bounds != [0.2, 2.0]:
        raise ConfigError(
            source,
            where,
            f"speedFactor {value!r}: twin cuts speed factors at [0.2, 2] (SUMO's default) only",
        )
    return mean, dev


def _check_attributes(
    a: dict[str, str],
    honoured: frozenset[str],
    inert: frozenset[str],
    source: str,
    where: str,
    default_only: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """Refuse, with one line, an attribute that would change the driving twin cannot do."""
    default_only = default_only or {}
    for key, value in a.items():
        if key in honoured or key in inert:
            continue
        if key in default_only:
            if value in default_only[key]:
                continue
            raise ConfigError(
                source,
                where,
                f"{key}={value!r} is not supported; twin drives {key}="
                f"{' or '.join(repr(v) for v in default_only[key])} (SUMO's default) only",
            )
        raise ConfigError(
            source,
            where,
            f"attribute {key}={value!r} changes how SUMO drives and twin does not model it; "
            f"twin reads {', '.join(sorted(honoured - {'id'}))}",
        )


def _vehicle_type(attrib: dict[str, str], source: str) -> VehicleType:
    """A twin vehicle type from a SUMO ``<vType>``: SUMO's defaults of its ``vClass``
    (passenger if none) for what it leaves out, the explicit attributes over them."""
    type_id = attrib.get("id", "")
    where = f"vType {type_id!r}"
    _check_attributes(attrib, _VTYPE_HONOURED, _VTYPE_INERT, source, where)
    model = attrib.get("carFollowModel", "Krauss")
    if model != "Krauss":
        raise ConfigError(source, where, f"carFollowModel {model!r}: twin drives Krauss only")
    lane_change = attrib.get("laneChangeModel", "LC2013")
    if lane_change not in LANE_CHANGE_MODELS:
        raise ConfigError(
            source,
            where,
            f"laneChangeModel {lane_change!r}: twin changes lanes as SUMO's default LC2013 only",
        )
    try:
        base = sumo_vclass_type(attrib.get("vClass", "passenger"), type_id)
    except DemandError as error:
        raise ConfigError(source, where, str(error)) from None
    values: dict[str, Any] = {}
    for name, key in _VTYPE_FLOATS.items():
        if name in attrib:
            try:
                values[key] = float(attrib[name])
            except ValueError:
                raise ConfigError(
                    source, where, f"{name} {attrib[name]!r} is not a number"
                ) from None
    if "speedFactor" in attrib:
        mean, dev = _speed_factor(attrib["speedFactor"], where, source)
        values["speed_factor_mean"] = mean
        if dev is not None and "speedDev" not in attrib:
            values["speed_factor_std"] = dev
    if "emissionClass" in attrib and emissions.is_electric(attrib["emissionClass"]):
        values["emission_class"] = emissions.ZERO_CLASS
        warnings.warn(
            f"{source}: {where}: emission class {attrib['emissionClass']!r} is electric: "
            "twin charges it no tailpipe emissions and no fuel, as SUMO does, and does not "
            "model its battery's electricity",
            UnmodelledWarning,
            stacklevel=4,
        )
    elif "emissionClass" in attrib:
        try:
            values["emission_class"] = emissions.canonical(attrib["emissionClass"])
        except ValueError as error:
            raise ConfigError(source, where, str(error)) from None
    if "emergencyDecel" not in attrib and "decel" in attrib:
        # SUMO (getDefaultEmergencyDecel): the class's emergency deceleration, never
        # below decel.
        values["emergency_decel_mps2"] = max(base.emergency_decel_mps2, values["decel_mps2"])
    try:
        return replace(base, **values)
    except DemandError as error:
        raise ConfigError(source, where, str(error)) from None


def _depart(value: str | None, where: str, source: str) -> float:
    if value is None:
        raise ConfigError(source, where, "needs a depart time")
    try:
        depart = parse_time(value, source, where)
    except ConfigError:
        raise ConfigError(
            source,
            where,
            f"depart {value!r}: twin needs a time, seconds or [[d:]h:]m:s (not triggered/now)",
        ) from None
    if not (math.isfinite(depart) and depart >= 0):
        raise ConfigError(source, where, f"depart must be >= 0, got {value!r}")
    return depart


@dataclass
class _Choice:
    """A ``<vTypeDistribution>`` or ``<routeDistribution>``: members and their weights."""

    members: list[str]
    weights: list[float]
    where: str
    source: str

    def draw(self, u: float) -> str:
        """The member a uniform ``u`` in [0, 1) picks (members in file order)."""
        cumulative = np.cumsum(self.weights)
        k = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
        return self.members[min(k, len(self.members) - 1)]


@dataclass(frozen=True)
class _Pending:
    """A departure read from a file, before its type and route are resolved."""

    depart_s: float
    vtype: str
    where: str
    source: str
    edges: tuple[str, ...] | None = None  # an explicit route
    route_ref: str | None = None  # a route or route distribution defined elsewhere by id
    stops: tuple[str, ...] = ()  # from, via..., to of a trip (routed by twin)
    choice: _Choice | None = None  # an inline route distribution
    depart_lane: str = "best_prob"
    depart_pos: str = "base"
    depart_speed: str = "avg"
    speed_factor: str | None = None  # the vehicle's own (SUMO: no draw from its type's)
    arrival_pos: str = "max"
    own_stops: tuple[StopElement, ...] = ()  # <stop>s in the vehicle, trip or flow
    own_stops_offset_s: float = 0.0  # what their until is shifted by (a flow's vehicles)
    route_stops: tuple[StopElement, ...] = ()  # <stop>s in its inner <route>


@dataclass
class _Demand:
    """Everything read so far from the files of one :func:`read_routes` call."""

    types: dict[str, VehicleType | dict[str, str]]
    type_sources: dict[str, str] = field(default_factory=dict)
    type_choices: dict[str, _Choice] = field(default_factory=dict)
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    route_choices: dict[str, _Choice] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    type_weights: dict[str, float] = field(default_factory=dict)  # vType probability=
    route_weights: dict[str, float] = field(default_factory=dict)  # route probability=
    route_stops: dict[str, tuple[StopElement, ...]] = field(default_factory=dict)
    places: StoppingPlaces = field(default_factory=StoppingPlaces)

    def vehicle_type(self, type_id: str) -> VehicleType:
        """The type ``type_id``; a ``<vType>`` of a class twin does not drive is refused
        here, when a vehicle uses it (so a pedestrian type in the file is no error)."""
        t = self.types[type_id]
        if isinstance(t, dict):
            t = _vehicle_type(t, self.type_sources[type_id])
            self.types[type_id] = t
        return t


def read_routes(
    network: Network,
    *paths: str | Path,
    vtypes: Sequence[VehicleType] = (),
    router: Router | None = None,
    end_s: float = math.inf,
    rng: np.random.Generator | None = None,
    additional: Collection[str | Path] = (),
    begin_s: float = 0.0,
) -> TripTable:
    """Twin's trips from SUMO route, trip and additional files (read in the order given).

    Read: ``<vehicle>`` with an inline ``<route edges>``, an inline
    ``<routeDistribution>`` or a ``route`` id (of a route or a route distribution);
    ``<trip from to [via]>`` (routed by twin's :class:`Router`, fastest at free flow, as
    ``duarouter`` does without traffic); ``<flow>`` with ``period``, ``vehsPerHour`` or
    ``number`` (evenly spaced, as SUMO inserts them), ``probability`` (a Bernoulli draw
    each second of [begin, end), at most ``number``) or ``period="exp(rate)"``
    (exponential gaps from ``begin``); ``<vType>`` with SUMO's defaults of its
    ``vClass``; ``<vTypeDistribution>`` and ``<routeDistribution>`` (nested members with
    ``probability``, or ``vTypes``/``routes`` with ``probabilities``), from which every
    vehicle draws its own; a vehicle's own ``speedFactor`` instead of its type's draw;
    ``arrivalPos`` (metres, negative from the end, ``center``, ``random``, ``max``);
    ``departLane``, ``departPos``, ``departSpeed`` as the
    ``DEPART_*`` codes of :mod:`twin.traffic.demand` (SUMO 1.28's defaults ``best_prob``,
    ``base``, ``avg`` where a vehicle gives none; a negative ``departPos`` counts from
    the end of the first edge; a numeric ``departLane`` is SUMO's lane index, counting
    lanes closed to cars such as a sidewalk, and must be a car lane).
    ``<person>``, ``<personFlow>``, ``<container>`` and ``<containerFlow>`` are skipped,
    counted in :attr:`TripTable.skipped` and warned about once per file
    (:class:`SkippedDemandWarning`). Anything else that would change the driving is
    refused with one line naming the file, the element and what twin reads.

    Random draws come from ``rng`` in file order (the scenario passes
    ``world.streams["traffic.demand.sumo"]``): first the random flows while reading,
    then, vehicle by vehicle in file order, its type, its route, then its arrival
    position (``arrivalPos="random"``).

    Args:
        network: the network the routes run on (edges are found by SUMO id).
        paths: SUMO files with root ``<routes>`` or ``<additional>``.
        vtypes: further vehicle types, found by id (a file's ``vType`` wins).
        router: a shared router, so cached routes are reused.
        end_s: flows without an end stop here (SUMO: the end of the simulation).
        begin_s: flows without a begin start here (SUMO: the simulation's begin,
            ``SUMORouteHandler``'s ``myBeginDefault``).
        rng: the stream random flows and distributions draw from; without it such
            demand is refused.
        additional: those of ``paths`` given to SUMO as additional files. In the
            others (route files) a vehicle, trip or flow departing before one read
            earlier in the same file is ignored, as SUMO ignores it
            (``MSRouteHandler``: ``checkLastDepart``, "Route file should be sorted by
            departure time"), with one warning per file, counted in
            :attr:`TripTable.skipped`; SUMO adds an additional file's vehicles directly.
    """
    if not paths:
        raise ValueError("read_routes needs at least one file")
    demand = _Demand(types={t.id: t for t in vtypes})
    loaded_directly = {Path(a) for a in additional}
    for path in paths:
        in_order = Path(path) not in loaded_directly
        _read_route_file(Path(path), demand, (begin_s, end_s), rng, in_order)
    if DEFAULT_VTYPE not in demand.types:
        # SUMO's default car (SUMO 1.28: HBEFA4/PC_petrol_Euro-4, see sumo_vclass_type).
        demand.types[DEFAULT_VTYPE] = sumo_vclass_type("passenger", DEFAULT_VTYPE)
    router = router if router is not None else Router(network)
    pending = demand.pending
    draws = _draws(demand, rng)
    used: dict[str, int] = {}
    vtype = np.zeros(len(pending), dtype=np.int64)
    edge_routes: list[np.ndarray] = []
    lane = np.zeros(len(pending), dtype=np.int64)
    pos = np.zeros(len(pending), dtype=np.float64)
    speed = np.zeros(len(pending), dtype=np.float64)
    factor = np.full(len(pending), np.nan)
    arrival = np.full(len(pending), np.inf)
    stops: list[tuple[int, ...]] = []
    scheduled: list[tuple[ScheduledStop, ...]] = []
    for k, p in enumerate(pending):
        type_id = p.vtype
        if type_id in demand.type_choices:
            type_id = demand.type_choices[type_id].draw(next(draws))
        if type_id not in demand.types:
            known = [*demand.types, *demand.type_choices]
            raise ConfigError(
                p.source, p.where, f"unknown vehicle type {type_id!r}; defined: {', '.join(known)}"
            )
        vt = demand.vehicle_type(type_id)
        vtype[k] = used.setdefault(type_id, len(used))
        route, routed_through, route_stops = _resolve(network, router, p, demand, draws)
        edge_routes.append(route)
        stops.append(routed_through)
        scheduled.append(
            resolve_stops(
                network,
                demand.places,
                [(s, p.depart_s) for s in route_stops]
                + [(s, p.own_stops_offset_s) for s in p.own_stops],
                route.tolist(),
                p.where,
            )
        )
        first = network.edges[int(route[0])]
        lane[k], pos[k], speed[k] = _depart_codes(p, first, vt)
        if p.speed_factor is not None:
            factor[k] = _own_speed_factor(p)
        if p.arrival_pos != "max":
            arrival[k] = _arrival_pos(p, network.edges[int(route[-1])], draws)
    types = tuple(demand.vehicle_type(t) for t in used) or (demand.vehicle_type(DEFAULT_VTYPE),)
    return TripTable.from_arrays(
        np.array([p.depart_s for p in pending], dtype=np.float64),
        vtype,
        edge_routes,
        types,
        depart_lane=lane,
        depart_pos_m=pos,
        depart_speed_mps=speed,
        speed_factor=factor if not np.isnan(factor).all() else None,
        arrival_pos_m=arrival if np.isfinite(arrival).any() else None,
        skipped=demand.skipped,
        stops=stops if any(stops) else None,
        scheduled_stops=scheduled if any(scheduled) else None,
    )


def _draws(demand: _Demand, rng: np.random.Generator | None) -> Iterator[float]:
    """Uniforms for the distributions and random arrival positions, one at a time (an
    error names the first user)."""
    if rng is None:
        for p in demand.pending:
            if p.arrival_pos == "random":
                raise ConfigError(
                    p.source,
                    p.where,
                    "arrivalPos 'random' draws a position, but read_routes was given no rng "
                    "(the scenario passes streams['traffic.demand.sumo'])",
                )
            if (
                p.vtype in demand.type_choices
                or p.choice is not None
                or p.route_ref in demand.route_choices
            ):
                raise ConfigError(
                    p.source,
                    p.where,
                    "draws from a vTypeDistribution/routeDistribution, but read_routes was "
                    "given no rng (the scenario passes streams['traffic.demand.sumo'])",
                )
        return iter(())
    return (float(rng.random()) for _ in itertools.count())


def _depart_codes(p: _Pending, edge: Edge, vt: VehicleType) -> tuple[int, float, float]:
    """departLane, departPos (m from the first edge's start) and departSpeed as the
    ``DEPART_*`` codes of :mod:`twin.traffic.demand`, validated against the first edge."""
    if p.depart_lane in DEPART_LANE_CODES:
        lane = DEPART_LANE_CODES[p.depart_lane]
    else:
        try:
            lane = int(p.depart_lane)
        except ValueError:
            raise ConfigError(
                p.source,
                p.where,
                f"departLane {p.depart_lane!r}: expected a lane index or one of "
                f"{', '.join(DEPART_LANE_CODES)}",
            ) from None
        sumo_indices = edge.sumo_lanes
        if lane not in sumo_indices:
            raise ConfigError(
                p.source,
                p.where,
                f"departLane {lane} is not a car lane of edge {edge.id!r} (its car lanes: "
                f"{', '.join(map(str, sumo_indices))})",
            )
        lane = sumo_indices.index(lane)
    if p.depart_pos in DEPART_POS_CODES:
        pos = DEPART_POS_CODES[p.depart_pos]
    else:
        pos = _metres_on(p, "departPos", p.depart_pos, edge, DEPART_POS_CODES)
    if p.depart_speed in DEPART_SPEED_CODES:
        speed = DEPART_SPEED_CODES[p.depart_speed]
    else:
        try:
            speed = float(p.depart_speed)
        except ValueError:
            raise ConfigError(
                p.source,
                p.where,
                f"departSpeed {p.depart_speed!r}: expected m/s or one of "
                f"{', '.join(DEPART_SPEED_CODES)}",
            ) from None
        if not (math.isfinite(speed) and 0 <= speed <= vt.max_speed_mps):
            raise ConfigError(
                p.source,
                p.where,
                f"departSpeed {p.depart_speed!r} must be in [0, {vt.max_speed_mps:g}] m/s "
                f"(the type's maxSpeed)",
            )
    return lane, pos, speed


def _own_speed_factor(p: _Pending) -> float:
    """A vehicle's ``speedFactor``: SUMO uses it as it is instead of drawing one from the
    type's distribution (``MSBaseVehicle``: ``speedFactor > 0`` given, no draw)."""
    try:
        value = float(str(p.speed_factor))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(
            p.source, p.where, f"speedFactor {p.speed_factor!r}: expected a number > 0"
        )
    return value


ARRIVAL_POS_CODES = ("max", "random", "center")
"""SUMO's arrivalPos keywords (a number is a position on the last edge)."""


def _arrival_pos(p: _Pending, last: Edge, draws: Iterator[float]) -> float:
    """``arrivalPos`` in metres from the start of the last edge, as SUMO reads it
    (``MSBaseVehicle::calculateArrivalParams``): a negative number counts from the edge's
    end, ``center`` is its middle, ``random`` a uniform draw along it (from the demand
    stream, after the vehicle's type and route); ``max`` (the lane's end) is not given
    here."""
    length = last.length_m
    if p.arrival_pos == "center":
        return length / 2.0
    if p.arrival_pos == "random":
        return next(draws) * length
    return _metres_on(p, "arrivalPos", p.arrival_pos, last, ARRIVAL_POS_CODES)


def _metres_on(p: _Pending, name: str, value: str, edge: Edge, keywords: Iterable[str]) -> float:
    """A position attribute given in metres from ``edge``'s start (a negative number
    counts from its end, as SUMO reads it), checked to lie on the edge."""
    try:
        pos = float(value)
    except ValueError:
        raise ConfigError(
            p.source, p.where, f"{name} {value!r}: expected metres or one of {', '.join(keywords)}"
        ) from None
    if pos < 0:  # SUMO: a negative position counts from the end of the lane
        pos += edge.length_m
    if not (math.isfinite(pos) and 0 <= pos <= edge.length_m):
        raise ConfigError(
            p.source,
            p.where,
            f"{name} {value!r} is off edge {edge.id!r} ({edge.length_m:g} m long)",
        )
    return pos


def _edge(network: Network, edge_id: str, p: _Pending) -> int:
    try:
        return network.edge_index(edge_id)
    except KeyError:
        known = ", ".join(e.id for e in network.edges[:5])
        raise ConfigError(
            p.source,
            p.where,
            f"route uses edge {edge_id!r}, which is not a car edge of network "
            f"{network.name!r} (its edges include {known}, ...)",
        ) from None


def _resolve(
    network: Network, router: Router, p: _Pending, demand: _Demand, draws: Iterator[float]
) -> tuple[np.ndarray, tuple[int, ...], tuple[StopElement, ...]]:
    """Edge indices of a pending departure's route (drawn if it is a distribution), the
    edges a trip by ``from``/``to`` is routed through (SUMO routes it again when it
    departs; empty for a given route), and the ``<stop>``s of its route."""
    route_stops = p.route_stops
    if p.choice is not None or p.route_ref is not None:
        ref = p.route_ref
        if p.choice is not None:
            ref = p.choice.draw(next(draws))
        elif ref in demand.route_choices:
            ref = demand.route_choices[ref].draw(next(draws))
        if ref not in demand.routes:
            raise ConfigError(p.source, p.where, f"uses route {ref!r}, which is not defined")
        edge_ids = demand.routes[ref]
        route_stops = demand.route_stops.get(ref, ())
    elif p.edges is not None:
        edge_ids = p.edges
    else:
        waypoints = p.stops
        if len(waypoints) == 2 and p.own_stops:
            # SUMO routes a trip without via through its stops' edges (MSBaseVehicle::
            # reroute: getStopEdges)
            through = [stop_edge_id(s, demand.places) for s in p.own_stops]
            waypoints = (waypoints[0], *through, waypoints[1])
            waypoints = tuple(e for k, e in enumerate(waypoints) if k == 0 or e != waypoints[k - 1])
        stops = tuple(_edge(network, e, p) for e in waypoints)
        if len(stops) == 1:
            return np.asarray(stops, dtype=np.int64), stops, ()
        try:
            pieces = [router.route(a, b) for a, b in pairwise(stops)]
        except DemandError as error:
            raise ConfigError(p.source, p.where, str(error)) from None
        route = np.concatenate([pieces[0], *(piece[1:] for piece in pieces[1:])])
        return route.astype(np.int64), stops, ()
    edges = [_edge(network, e, p) for e in edge_ids]
    try:
        check_route(network, edges)
    except DemandError as error:
        raise ConfigError(p.source, p.where, str(error)) from None
    return np.asarray(edges, dtype=np.int64), (), route_stops


def _probability(value: str, where: str, source: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        raise ConfigError(source, where, f"probability {value!r} is not a number") from None
    if not (math.isfinite(weight) and weight >= 0):
        raise ConfigError(source, where, f"probability must be >= 0, got {value!r}")
    return weight


def _choice(
    a: dict[str, str],
    nested: list[tuple[str, float]],
    list_key: str,
    weights_of: dict[str, float],
    where: str,
    source: str,
) -> _Choice:
    """A distribution from nested members or from ``vTypes``/``routes`` + ``probabilities``."""
    members = [m for m, _ in nested]
    weights = [w for _, w in nested]
    if list_key in a:
        listed = a[list_key].split()
        if "probabilities" in a:
            probs = a["probabilities"].split()
            if len(probs) != len(listed):
                raise ConfigError(source, where, f"{list_key} and probabilities differ in length")
            weights += [_probability(x, where, source) for x in probs]
        else:
            weights += [weights_of.get(m, 1.0) for m in listed]
        members += listed
    if not members:
        raise ConfigError(source, where, "has no members")
    if sum(weights) <= 0:
        raise ConfigError(source, where, "its probabilities sum to 0")
    return _Choice(members, weights, where, source)


UNSORTED = "vehicle departing before one read earlier in its file"
"""What :attr:`TripTable.skipped` counts a vehicle, trip or flow under that SUMO ignores
because its route file is not sorted by departure time."""


def _read_route_file(
    path: Path,
    demand: _Demand,
    window_s: tuple[float, float],
    rng: np.random.Generator | None,
    in_departure_order: bool = True,
) -> None:
    source = str(path)
    begin_s, end_s = window_s
    root_tag(path, ("routes", "additional"), "SUMO route file (.rou.xml, .trips.xml)")
    stack: list[str] = []  # tags of the open elements
    ids: list[str] = []  # and their ids
    skipped: dict[str, int] = {}
    skipping = 0  # depth of a skipped person/container, 0 when not in one
    nested_types: list[tuple[str, float]] = []  # members of the open vTypeDistribution
    nested_routes: list[tuple[str, float]] = []  # members of the open routeDistribution
    inner_route: tuple[str, ...] | None = None  # the inner <route> of a vehicle or flow
    inner_choice: _Choice | None = None  # the inner <routeDistribution> of one
    krauss: dict[str, str] = {}  # attributes of a vType's inner <carFollowing-Krauss>
    own_stops: list[StopElement] = []  # the <stop>s of the open vehicle, trip or flow
    open_route_stops: list[StopElement] = []  # those of the open <route>
    inner_route_stops: tuple[StopElement, ...] = ()  # those of a vehicle's inner <route>
    # An <interval begin end> directly under the root gives the flows in it their
    # default begin and end (SUMORouteHandler: myBeginDefault, myEndDefault); its
    # children are read as the root's own.
    interval: dict[str, str] = {}
    last_depart = -math.inf  # SUMO's myLastDepart: the latest departure read so far
    unsorted: list[str] = []  # the ids of what SUMO ignores for departing before it
    anonymous = 0
    for event, element in _iter_elements(path):
        tag = element.tag
        a = dict(element.attrib)
        if tag == "interval" and len(stack) == 1:
            interval = {k: a[k] for k in ("begin", "end") if k in a} if event == "start" else {}
            if event == "end":
                element.clear()
            continue
        if event == "start":
            stack.append(tag)
            ids.append(element.attrib.get("id", ""))
            if len(stack) == 2 and tag in SKIPPED_TAGS:
                skipping = 2
                skipped[tag] = skipped.get(tag, 0) + 1
                # Their departures count in SUMO's order check too.
                when = a.get("depart", a.get("begin", repr(begin_s)))
                with contextlib.suppress(ConfigError):
                    last_depart = max(last_depart, parse_time(when, source, tag))
            if len(stack) == 2 and tag in ("vehicle", "flow", "trip"):
                inner_route, inner_choice = None, None
                own_stops, inner_route_stops = [], ()
            if tag == "route":
                open_route_stops = []
            if tag in ("vTypeDistribution", "routeDistribution"):
                nested_types, nested_routes = [], []
            if tag == "vType":
                krauss = {}
            continue
        stack.pop()
        ids.pop()
        depth = len(stack) + 1  # the depth of this element (root = 1)
        parent = stack[-1] if stack else ""
        owner = f"{parent} {ids[-1]!r}" if ids else ""  # the parent, as errors name it
        if skipping:
            if depth == skipping:
                skipping = 0
                element.clear()
            continue
        item = f"{tag} {a.get('id', '')!r}"
        if depth == 2 and tag == "flow":
            a = {"begin": repr(begin_s), **interval, **a}
        # SUMO ignores what departs before the latest departure read so far in a route
        # file (MSRouteHandler: checkLastDepart), and registers the departure of what it
        # keeps, a public-transport vehicle's (line) aside (registerLastDepart).
        depart_s: float | None = None
        if in_departure_order and depth == 2 and tag in ("vehicle", "trip", "flow"):
            depart_s = _depart(a["begin"] if tag == "flow" else a.get("depart"), item, source)
        too_early = depart_s is not None and depart_s < last_depart
        if depart_s is not None and not too_early and "line" not in a:
            last_depart = depart_s
        if tag == "vType":
            a = {**a, **krauss}  # SUMO's older form: <carFollowing-Krauss> inside the vType
            type_id = a.get("id", "")
            demand.type_sources[type_id] = source
            if a.get("vClass", "passenger") in SUMO_VCLASS_DEFAULTS:
                demand.types[type_id] = _vehicle_type(a, source)
            else:  # refused when a vehicle uses it (a pedestrian type is no error)
                demand.types[type_id] = a
            weight = _probability(a.get("probability", "1"), item, source)
            demand.type_weights[type_id] = weight
            if parent == "vTypeDistribution":
                nested_types.append((type_id, weight))
        elif tag == "vTypeDistribution":
            _check_attributes(a, _DISTRIBUTION_HONOURED, frozenset(), source, item)
            demand.type_choices[a.get("id", "")] = _choice(
                a, nested_types, "vTypes", demand.type_weights, item, source
            )
        elif tag == "route":
            weight = _probability(a.get("probability", "1"), item, source)
            if "refId" in a:
                route_id = a["refId"]
            else:
                edges = tuple(a.get("edges", "").split())
                if not edges:
                    raise ConfigError(source, item, "has no edges")
                route_id = a.get("id", "")
                if parent == "routeDistribution" and not route_id:
                    anonymous += 1
                    route_id = f"{source}#route{anonymous}"
                if parent in ("vehicle", "flow") and depth == 3:
                    inner_route = edges
                    inner_route_stops = tuple(open_route_stops)
                    continue
                demand.routes[route_id] = edges
                demand.route_stops[route_id] = tuple(open_route_stops)
                demand.route_weights[route_id] = weight
            if parent == "routeDistribution":
                nested_routes.append((route_id, weight))
        elif tag == "routeDistribution":
            _check_attributes(a, _DISTRIBUTION_HONOURED, frozenset({"last"}), source, item)
            choice = _choice(a, nested_routes, "routes", demand.route_weights, item, source)
            if depth == 3 and parent in ("vehicle", "flow"):
                inner_choice = choice
            else:
                demand.route_choices[a.get("id", "")] = choice
        elif tag.startswith("carFollowing-") and parent == "vType":
            if tag != "carFollowing-Krauss":
                raise ConfigError(source, owner, f"<{tag}>: twin drives Krauss only")
            krauss = a
        elif tag == "param" and parent in ("vType", "vehicle", "trip", "flow"):
            key = a.get("key", "")
            if key.startswith(("device.", "has.")):
                raise ConfigError(
                    source,
                    owner,
                    f"param {key!r} equips a SUMO device (rerouting, ...) twin does not model",
                )
        elif tag == "stop":
            if parent not in ("vehicle", "trip", "flow", "route"):
                raise ConfigError(
                    source, owner, "<stop> belongs in a <vehicle>, <trip>, <flow> or <route>"
                )
            into = open_route_stops if parent == "route" else own_stops
            into.append(read_stop(a, source, f"stop {len(into) + 1} of {owner}"))
        elif depth == 2 and tag in STOPPING_PLACE_TAGS:
            demand.places.add(tag, a, source)
        elif tag == "interval" or (depth == 2 and tag == "include"):
            raise ConfigError(
                source,
                item,
                f"<{tag}> is not supported here; twin reads vTypes, routes, vehicles, trips "
                "and flows under the root or in an <interval> directly under it",
            )
        elif too_early:
            unsorted.append(a.get("id", ""))
        elif depth == 2 and tag == "vehicle":
            where = f"vehicle {a.get('id', '')!r}"
            _check_attributes(a, _VEHICLE_HONOURED, _VEHICLE_INERT, source, where, _DEFAULT_ONLY)
            ref = a.get("route")
            if inner_route is None and inner_choice is None and ref is None:
                raise ConfigError(source, where, "has no route (an inner <route edges> or route=)")
            demand.pending.append(
                _Pending(
                    depart_s if depart_s is not None else _depart(a.get("depart"), where, source),
                    a.get("type", DEFAULT_VTYPE),
                    where,
                    source,
                    edges=inner_route,
                    route_ref=None if (inner_route or inner_choice) else ref,
                    choice=inner_choice,
                    own_stops=tuple(own_stops),
                    route_stops=inner_route_stops,
                    **_vehicle_attributes(a),
                )
            )
        elif depth == 2 and tag == "trip":
            where = f"trip {a.get('id', '')!r}"
            _check_attributes(a, _TRIP_HONOURED, _VEHICLE_INERT, source, where, _DEFAULT_ONLY)
            if "from" not in a or "to" not in a:
                raise ConfigError(
                    source, where, "needs edges from= and to= (junction trips are not supported)"
                )
            stops = (a["from"], *a.get("via", "").split(), a["to"])
            demand.pending.append(
                _Pending(
                    depart_s if depart_s is not None else _depart(a.get("depart"), where, source),
                    a.get("type", DEFAULT_VTYPE),
                    where,
                    source,
                    stops=stops,
                    own_stops=tuple(own_stops),
                    **_vehicle_attributes(a),
                )
            )
        elif depth == 2 and tag == "flow":
            demand.pending.extend(
                _flow(
                    a,
                    (inner_route, inner_choice, inner_route_stops),
                    tuple(own_stops),
                    source,
                    end_s,
                    rng,
                )
            )
        if depth <= 2:
            element.clear()
    if unsorted:
        demand.skipped[UNSORTED] = demand.skipped.get(UNSORTED, 0) + len(unsorted)
        shown = ", ".join(repr(i) for i in unsorted[:3]) + (", ..." if len(unsorted) > 3 else "")
        warnings.warn(
            f"{source}: ignored {len(unsorted)} vehicles, trips or flows ({shown}) departing "
            "before one read earlier in the file, as SUMO ignores them ('Route file should be "
            "sorted by departure time'); sort the file to drive them",
            SkippedDemandWarning,
            stacklevel=3,
        )
    if skipped:
        demand.skipped.update({tag: demand.skipped.get(tag, 0) + n for tag, n in skipped.items()})
        what = ", ".join(f"{n} <{tag}>" for tag, n in skipped.items())
        warnings.warn(
            f"{source}: skipped {what}: twin drives vehicles only (theirs still drive)",
            SkippedDemandWarning,
            stacklevel=3,
        )


SUMO_DEPART_DEFAULTS = {"departLane": "best_prob", "departPos": "base", "departSpeed": "avg"}
"""What SUMO 1.28 does with a vehicle that gives no depart lane, position or speed
(``sumo --save-template``: ``default.departlane``, ``default.departspeed``)."""


def _vehicle_attributes(a: dict[str, str]) -> dict[str, Any]:
    return {
        "depart_lane": a.get("departLane", SUMO_DEPART_DEFAULTS["departLane"]),
        "depart_pos": a.get("departPos", SUMO_DEPART_DEFAULTS["departPos"]),
        "depart_speed": a.get("departSpeed", SUMO_DEPART_DEFAULTS["departSpeed"]),
        "speed_factor": a.get("speedFactor"),
        "arrival_pos": a.get("arrivalPos", "max"),
    }


_EXP_PERIOD = re.compile(r"^\s*exp\(\s*([^()]+)\s*\)\s*$")


def _flow(
    a: dict[str, str],
    inner: tuple[tuple[str, ...] | None, _Choice | None, tuple[StopElement, ...]],
    own_stops: tuple[StopElement, ...],
    source: str,
    end_s: float,
    rng: np.random.Generator | None,
) -> list[_Pending]:
    """The departures of a ``<flow>``: evenly spaced, Bernoulli per second, or with
    exponential gaps (SUMO's ``SUMOVehicleParserHelper::parseFlowAttributes`` and
    ``MSInsertionControl``). The ``until`` of the flow's own stops (``own_stops``) is
    shifted by each vehicle's departure less ``begin`` where the period is fixed (SUMO's
    ``repetitionsDone * repetitionOffset``), not for random flows; ``inner``: its inner
    route, route distribution and the inner route's stops."""
    inner_route, inner_choice, inner_route_stops = inner
    where = f"flow {a.get('id', '')!r}"
    _check_attributes(a, _FLOW_HONOURED, _VEHICLE_INERT, source, where, _DEFAULT_ONLY)

    def number(key: str) -> float:
        try:
            return float(a[key])
        except ValueError:
            raise ConfigError(source, where, f"{key} {a[key]!r} is not a number") from None

    def time(key: str) -> float:
        """A time attribute: seconds or SUMO's ``[[d:]h:]m:s``."""
        try:
            return parse_time(a[key], source, where)
        except ConfigError:
            raise ConfigError(
                source, where, f"{key} {a[key]!r} is not a time (seconds or [[d:]h:]m:s)"
            ) from None

    routed = inner_route is not None or inner_choice is not None or "route" in a
    if not routed and not ("from" in a and "to" in a):
        raise ConfigError(
            source, where, "has no route (route=, an inner <route>, or from= and to=)"
        )
    rate_keys = [k for k in ("period", "vehsPerHour", "perHour", "probability") if k in a]
    if len(rate_keys) > 1:
        raise ConfigError(source, where, f"give one of {', '.join(rate_keys)} (SUMO: at most one)")
    if rate_keys and "end" in a and "number" in a:
        raise ConfigError(
            source,
            where,
            f"with {rate_keys[0]}= give end= or number=, not both (SUMO 1.28 refuses both)",
        )
    begin = time("begin") if "begin" in a else 0.0
    end = time("end") if "end" in a else end_s
    limit = number("number") if "number" in a else math.inf
    exp_rate = None
    if "period" in a and (match := _EXP_PERIOD.match(a["period"])):
        try:
            exp_rate = float(match.group(1))
        except ValueError:
            raise ConfigError(
                source, where, f"period {a['period']!r}: exp(rate) needs a number"
            ) from None
        if not (math.isfinite(exp_rate) and exp_rate > 0):
            raise ConfigError(source, where, f"period {a['period']!r}: the rate must be > 0")
    if "probability" in a or exp_rate is not None:
        if rng is None:
            raise ConfigError(
                source,
                where,
                "is a random flow but read_routes was given no rng "
                "(the scenario passes streams['traffic.demand.sumo'])",
            )
        if not math.isfinite(end) and not math.isfinite(limit):
            raise ConfigError(source, where, "needs end= or number= (or give read_routes an end_s)")
    if "probability" in a:
        p = number("probability")
        if not 0 <= p <= 1:
            raise ConfigError(source, where, f"probability must be in [0, 1], got {p}")
        # One Bernoulli draw per 1-s step t >= begin, t < end, until `number` vehicles
        # (MSInsertionControl::determineCandidates, step length 1 s).
        if math.isfinite(end):
            steps = np.arange(math.ceil(begin), math.ceil(end), dtype=np.float64)
            departs = steps[rng.random(len(steps)) < p].tolist()
        else:
            departs = []
            t = math.ceil(begin)
            while p > 0 and len(departs) < limit:
                if rng.random() < p:
                    departs.append(float(t))
                t += 1
        departs = departs[: int(min(limit, len(departs)))]
    elif exp_rate is not None:
        # Poisson: the first departure one exponential gap after begin, then gaps of
        # mean 1/rate, while before end and at most `number` vehicles.
        departs = []
        t = begin
        while len(departs) < limit:
            t += float(rng.exponential(1.0 / exp_rate))
            if t >= end:
                break
            departs.append(t)
    else:
        if "period" in a:
            period = time("period")
        elif "vehsPerHour" in a or "perHour" in a:
            vph = number("vehsPerHour" if "vehsPerHour" in a else "perHour")
            period = SECONDS_PER_HOUR / vph if vph > 0 else math.inf
        elif "number" in a:
            if not math.isfinite(end):
                raise ConfigError(source, where, "number= needs end= too")
            period = (end - begin) / limit if limit > 0 else math.inf
        else:
            raise ConfigError(source, where, "needs period=, vehsPerHour=, number= or probability=")
        if not (period > 0):
            raise ConfigError(source, where, f"spacing must be > 0 s, got {period}")
        if not math.isfinite(end) and not math.isfinite(limit):
            raise ConfigError(source, where, "needs end= or number= (or give read_routes an end_s)")
        departs = []
        k = 0
        while k < limit:
            depart = begin + k * period
            if depart >= end:
                break
            departs.append(depart)
            k += 1
    vtype = a.get("type", DEFAULT_VTYPE)
    extra = _vehicle_attributes(a)
    fixed_period = "probability" not in a and exp_rate is None
    if inner_route is not None:
        route: dict[str, Any] = {"edges": inner_route, "route_stops": inner_route_stops}
    elif inner_choice is not None:
        route = {"choice": inner_choice}
    elif "route" in a:
        route = {"route_ref": a["route"]}
    else:
        route = {"stops": (a["from"], *a.get("via", "").split(), a["to"])}
    return [
        _Pending(
            t,
            vtype,
            where,
            source,
            own_stops=own_stops,
            own_stops_offset_s=t - begin if fixed_period else 0.0,
            **route,
            **extra,
        )
        for t in departs
    ]


# -- writing (so twin's own demand can run in SUMO) ----------------------------------------


def write_routes(path: str | Path, network: Network, trips: TripTable) -> Path:
    """Write ``trips`` as a SUMO route file (vehicle types first, vehicles by departure)."""
    out = Path(path)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<routes>"]
    for vt in trips.vtypes:
        lines.append(
            f'    <vType id="{vt.id}" vClass="{vt.vclass}" length="{vt.length_m!r}" '
            f'minGap="{vt.min_gap_m!r}" '
            f'accel="{vt.accel_mps2!r}" decel="{vt.decel_mps2!r}" '
            f'emergencyDecel="{vt.emergency_decel_mps2!r}" maxSpeed="{vt.max_speed_mps!r}" '
            f'sigma="{vt.sigma!r}" tau="{vt.tau_s!r}" speedFactor="{vt.speed_factor_mean!r}" '
            f'speedDev="{vt.speed_factor_std!r}" emissionClass="{_sumo_emission_class(vt)}"/>'
        )
    for k in range(len(trips)):
        edges = " ".join(network.edges[e].id for e in trips.route(k))
        vt = trips.vtypes[int(trips.vtype[k])]
        depart = float(trips.depart_s[k])
        lines.append(
            f'    <vehicle id="{k}" type="{vt.id}" depart="{depart!r}"'
            f"{_depart_xml(trips, k, network.edges[trips.route(k)[0]])}>"
        )
        lines.append(f'        <route edges="{edges}"/>')
        lines.append("    </vehicle>")
    lines.append("</routes>")
    out.write_text("\n".join(lines) + "\n")
    return out


def _depart_xml(trips: TripTable, k: int, first: Edge) -> str:
    """The depart attributes of trip ``k`` as SUMO writes them ("" for twin's own), a lane
    by SUMO's index on the trip's ``first`` edge."""
    out = ""
    for name, values, codes in (
        ("departLane", trips.depart_lane, DEPART_LANE_CODES),
        ("departPos", trips.depart_pos_m, DEPART_POS_CODES),
        ("departSpeed", trips.depart_speed_mps, DEPART_SPEED_CODES),
    ):
        if values is None:
            continue
        value = values[k]
        keyword = next((word for word, code in codes.items() if code == value), None)
        number: float = float(value)
        if name == "departLane" and value >= 0:
            number = first.sumo_lanes[int(value)]
        out += f' {name}="{keyword if value < 0 and keyword else repr(number)}"'
    if trips.speed_factor is not None and not math.isnan(trips.speed_factor[k]):
        out += f' speedFactor="{float(trips.speed_factor[k])!r}"'
    if trips.arrival_pos_m is not None and math.isfinite(trips.arrival_pos_m[k]):
        out += f' arrivalPos="{float(trips.arrival_pos_m[k])!r}"'
    return out


def _sumo_emission_class(vt: VehicleType) -> str:
    """SUMO's name of a twin emission class (HBEFA3 names are unprefixed in twin, HBEFA4
    names and ``HBEFA4/zero`` carry their prefix)."""
    name = vt.emission_class
    return name if "/" in name else HBEFA3_PREFIX + name
