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
with their routes (inline or by reference), trips routed by twin's fastest-route
router, flows with a fixed spacing, and vehicle types (``vType``) with SUMO's defaults
for what they leave out.

What twin cannot represent is refused with one line naming the file, the element and
what is allowed (a :class:`~twin.core.errors.ConfigError`), never silently dropped:
stochastic flows, route distributions, non-numeric departure times, a traffic light
without a programme. Things that are not cars (sidewalks, rails, crossings) are left out
of the network, and a route over them is reported as using a missing edge.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from twin.core.errors import ConfigError
from twin.traffic.demand import DemandError, Router, TripTable, VehicleType, check_route
from twin.traffic.network import (
    PRIORITY_CHARS,
    Edge,
    Intersection,
    Movement,
    Network,
    NetworkError,
    Node,
    SignalProgram,
)

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
        for _, element in ET.iterparse(path, events=("start",)):  # noqa: S314
            tag = element.tag
            break
        else:
            raise ConfigError(source, "", f"empty file; a {what} is expected")
    except ET.ParseError as error:
        raise ConfigError(source, "", f"not a {what}: not XML ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, "", f"cannot read: {error}") from None
    if tag not in expected:
        allowed = " or ".join(f"<{t}>" for t in expected)
        raise ConfigError(source, "", f"not a {what}: root element is <{tag}>, expected {allowed}")
    return tag


def _iter_elements(path: Path) -> Iterator[tuple[str, ET.Element]]:
    """``("start"|"end", element)`` events of a well-formed file, errors as one line."""
    try:
        yield from ET.iterparse(path, events=("start", "end"))  # noqa: S314
    except ET.ParseError as error:
        raise ConfigError(str(path), "", f"malformed XML: {error}") from None


# -- networks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """One row of a SUMO junction's right-of-way table (strings as SUMO writes them)."""

    response: str
    foes: str


def _read_requests(path: Path) -> dict[str, dict[int, _Request]]:
    """``<junction id><request index response foes/>``: junction id -> link index -> row."""
    requests: dict[str, dict[int, _Request]] = {}
    junction: dict[int, _Request] | None = None
    for event, element in _iter_elements(path):
        if event == "start" and element.tag == "junction":
            junction = requests.setdefault(element.attrib.get("id", ""), {})
        elif event == "end" and element.tag == "request" and junction is not None:
            a = element.attrib
            junction[int(a["index"])] = _Request(a.get("response", ""), a.get("foes", ""))
        elif event == "end" and element.tag == "junction":
            junction = None
            element.clear()
    return requests


def _bit(row: str, index: int) -> bool:
    """Bit ``index`` of a SUMO request string (written reversed: last character = link 0)."""
    return 0 <= index < len(row) and row[len(row) - 1 - index] == "1"


def read_net(
    path: str | Path, *, name: str | None = None, program_id: str | None = None
) -> Network:
    """A twin network from a SUMO ``.net.xml``, with its traffic-light programmes.

    Args:
        path: the SUMO network file.
        name: the network's name (default: the file name without ``.net.xml``).
        program_id: which programme of each traffic light to take (default: the first
            one in the file, SUMO's ``"0"`` for a generated net).

    Raises:
        ConfigError: the file is missing, not a SUMO network, or holds something twin
            cannot drive (one line naming the file and the element).
    """
    file = Path(path)
    source = str(file)
    root_tag(file, ("net",), "SUMO network (.net.xml)")
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
    requests = _read_requests(file)
    builder = _NetBuilder(source, net, requests, program_id)
    network = builder.build(name or file.name.removesuffix(".xml").removesuffix(".net"))
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
        requests: dict[str, dict[int, _Request]],
        program_id: str | None,
    ) -> None:
        self.source = source
        self.net = net
        self.requests = requests
        self.program_id = program_id
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
            self.edges.append(Edge(edge.getID(), a, b, length, speed, len(lanes)))
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
                    length, speed = self.path(conn)
                    turn = conn.getDirection().lower()
                    if turn not in ("s", "r", "l", "t"):
                        turn = "s"  # SUMO's 'invalid' (no direction); twin needs a letter
                    links[key] = _Link(
                        Movement(key[0], key[1], key[2], turn, length, speed, to_lane=key[3]),
                        index,
                        conn.getTLSID() or None,
                        conn.getTLLinkIndex(),
                        conn.getState() or "",
                    )
        return sorted(links.values(), key=lambda link: link.index)

    def path(self, conn: Any) -> tuple[float, float]:
        """Length and speed of a connection's way through the junction (its ``via`` lanes)."""
        length = 0.0
        time = 0.0
        via = conn.getViaLaneID()
        seen = 0
        while via and seen < 8:
            lane = self.net.getLane(via)
            length += lane.getLength()
            time += lane.getLength() / max(lane.getSpeed(), 0.1)
            outgoing = lane.getOutgoing()
            via = outgoing[0].getViaLaneID() if outgoing else ""
            seen += 1
        if length <= 0:
            to_lane = conn.getToLane()
            return MIN_PATH_M, float(min(conn.getFromLane().getSpeed(), to_lane.getSpeed()))
        return length, length / time

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
        return Intersection(
            node_id,
            self.node_index[node_id],
            tuple(range(first, first + m)),
            foes,
            yields,
            program,
            link_states,
        )

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
        if self.program_id is None:
            chosen = next(iter(programs.values()))
        elif self.program_id in programs:
            chosen = programs[self.program_id]
        else:
            raise ConfigError(
                self.source,
                where,
                f"no programme {self.program_id!r}; programmes: {', '.join(sorted(programs))}",
            )
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
        rows, delay = _start_on_green(rows, float(chosen.getOffset() or 0.0))
        # SUMO's offset delays the programme (its first phase starts at t = offset);
        # twin's offset is how far into the cycle the programme already is at t = 0.
        cycle = sum(row[1] for row in rows)
        offset = (-delay) % cycle if cycle > 0 else 0.0
        try:
            return SignalProgram.from_sumo(rows, offset)
        except NetworkError as error:
            raise ConfigError(self.source, where, str(error)) from None


def _start_on_green(
    rows: list[tuple[str, float, float | None, float | None]], offset_s: float
) -> tuple[list[tuple[str, float, float | None, float | None]], float]:
    """Rotate a programme so that it begins with a green row (twin's programmes do).

    Rows before the first green (its predecessor's yellow or all-red) move to the end;
    the delay (SUMO's offset: when the first row starts) grows by their total duration,
    so every row still starts at the same time.
    """

    def is_green(state: str) -> bool:
        return any(c in "GgOo" for c in state) and not any(c in "yYu" for c in state)

    start = next((k for k, row in enumerate(rows) if is_green(row[0])), 0)
    if start == 0:
        return rows, offset_s
    shift = sum(row[1] for row in rows[:start])
    return rows[start:] + rows[:start], offset_s + shift


@dataclass
class _Link:
    """A movement with the SUMO connection it stands for: its junction link index, its
    traffic light and index there, and its state letter."""

    movement: Movement
    index: int
    tls: str | None
    tls_index: int
    state: str = ""


# -- demand --------------------------------------------------------------------------------


def _speed_factor(value: str, where: str, source: str) -> tuple[float, float | None]:
    """SUMO's ``speedFactor``: a number, or ``norm(mean, dev)``/``normc(mean, dev, ...)``."""
    match = _NORMC.match(value)
    try:
        if match:
            return float(match.group(1)), float(match.group(2))
        return float(value), 0.0
    except ValueError:
        raise ConfigError(
            source, where, f"speedFactor {value!r}: expected a number or normc(mean, dev, min, max)"
        ) from None


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


def _vehicle_type(attrib: dict[str, str], source: str) -> VehicleType:
    """A twin vehicle type from a SUMO ``<vType>``; SUMO's defaults fill what is missing."""
    type_id = attrib.get("id", "")
    where = f"vType {type_id!r}"
    model = attrib.get("carFollowModel", "Krauss")
    if model != "Krauss":
        raise ConfigError(source, where, f"carFollowModel {model!r}: twin drives Krauss only")
    values: dict[str, Any] = {"id": type_id}
    for name, field in _VTYPE_FLOATS.items():
        if name in attrib:
            try:
                values[field] = float(attrib[name])
            except ValueError:
                raise ConfigError(
                    source, where, f"{name} {attrib[name]!r} is not a number"
                ) from None
    if "speedFactor" in attrib:
        mean, dev = _speed_factor(attrib["speedFactor"], where, source)
        values["speed_factor_mean"] = mean
        if dev is not None and "speedDev" not in attrib:
            values["speed_factor_std"] = dev
    if "emissionClass" in attrib:
        emission = attrib["emissionClass"]
        values["emission_class"] = emission.removeprefix(HBEFA3_PREFIX)
    if "emergencyDecel" not in attrib and "decel" in attrib:
        # SUMO's default emergency deceleration is 9 m/s², never below decel.
        values["emergency_decel_mps2"] = max(9.0, values["decel_mps2"])
    try:
        return VehicleType(**values)
    except DemandError as error:
        raise ConfigError(source, where, str(error)) from None


def _depart(value: str | None, where: str, source: str) -> float:
    if value is None:
        raise ConfigError(source, where, "needs a depart time")
    try:
        depart = float(value)
    except ValueError:
        raise ConfigError(
            source, where, f"depart {value!r}: twin needs a time in seconds (not triggered/now)"
        ) from None
    if not (math.isfinite(depart) and depart >= 0):
        raise ConfigError(source, where, f"depart must be >= 0, got {value!r}")
    return depart


@dataclass(frozen=True)
class _Pending:
    """A departure read from a file, before its route is resolved to edge indices."""

    depart_s: float
    vtype: str
    where: str
    source: str
    edges: tuple[str, ...] | None = None  # an explicit route
    route_ref: str | None = None  # a route defined elsewhere by id
    stops: tuple[str, ...] = ()  # from, via..., to of a trip (routed by twin)


def read_routes(
    network: Network,
    *paths: str | Path,
    vtypes: Sequence[VehicleType] = (),
    router: Router | None = None,
    end_s: float = math.inf,
) -> TripTable:
    """Twin's trips from SUMO route, trip and additional files (read in the order given).

    ``<vehicle>`` with an inline ``<route edges>`` or a ``route`` id, ``<trip from to
    [via]>`` (routed by twin's :class:`Router`, fastest at free flow, as ``duarouter``
    does without traffic), ``<flow>`` with ``period``, ``vehsPerHour`` or ``number``
    (evenly spaced, as SUMO inserts them), and ``<vType>`` are read; everything else that
    creates vehicles is refused with one line.

    Args:
        network: the network the routes run on (edges are found by SUMO id).
        paths: SUMO files with root ``<routes>`` or ``<additional>``.
        vtypes: further vehicle types, found by id (a file's ``vType`` wins).
        router: a shared router, so cached routes are reused.
        end_s: flows without an end stop here (SUMO: the end of the simulation).
    """
    if not paths:
        raise ValueError("read_routes needs at least one file")
    types: dict[str, VehicleType] = {t.id: t for t in vtypes}
    routes: dict[str, tuple[str, ...]] = {}
    pending: list[_Pending] = []
    for path in paths:
        _read_route_file(Path(path), types, routes, pending, end_s)
    if DEFAULT_VTYPE not in types and any(p.vtype == DEFAULT_VTYPE for p in pending):
        # SUMO's default car; twin's VehicleType defaults are SUMO's (except the emission
        # class: twin's HBEFA3 PC_G_EU4, SUMO >= 1.23 HBEFA4 PC_petrol_Euro-4).
        types[DEFAULT_VTYPE] = VehicleType(id=DEFAULT_VTYPE)
    type_ids = list(types)
    router = router if router is not None else Router(network)
    depart = np.array([p.depart_s for p in pending], dtype=np.float64)
    vtype = np.zeros(len(pending), dtype=np.int64)
    edge_routes: list[np.ndarray] = []
    for k, p in enumerate(pending):
        if p.vtype not in types:
            raise ConfigError(
                p.source,
                p.where,
                f"unknown vehicle type {p.vtype!r}; defined: {', '.join(type_ids)}",
            )
        vtype[k] = type_ids.index(p.vtype)
        edge_routes.append(_resolve(network, router, p, routes))
    return TripTable.from_arrays(depart, vtype, edge_routes, tuple(types.values()))


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
    network: Network, router: Router, p: _Pending, routes: dict[str, tuple[str, ...]]
) -> np.ndarray:
    """Edge indices of a pending departure's route."""
    if p.route_ref is not None:
        if p.route_ref not in routes:
            raise ConfigError(
                p.source, p.where, f"uses route {p.route_ref!r}, which is not defined"
            )
        edge_ids = routes[p.route_ref]
    elif p.edges is not None:
        edge_ids = p.edges
    else:
        stops = [_edge(network, e, p) for e in p.stops]
        if len(stops) == 1:
            return np.asarray(stops, dtype=np.int64)
        try:
            pieces = [router.route(a, b) for a, b in pairwise(stops)]
        except DemandError as error:
            raise ConfigError(p.source, p.where, str(error)) from None
        return np.concatenate([pieces[0], *(piece[1:] for piece in pieces[1:])]).astype(np.int64)
    edges = [_edge(network, e, p) for e in edge_ids]
    try:
        check_route(network, edges)
    except DemandError as error:
        raise ConfigError(p.source, p.where, str(error)) from None
    return np.asarray(edges, dtype=np.int64)


def _read_route_file(
    path: Path,
    types: dict[str, VehicleType],
    routes: dict[str, tuple[str, ...]],
    pending: list[_Pending],
    end_s: float,
) -> None:
    source = str(path)
    root_tag(path, ("routes", "additional"), "SUMO route file (.rou.xml, .trips.xml)")
    depth = 0
    vehicle_route: tuple[str, ...] | None = None  # the inner <route> of a vehicle or flow
    for event, element in _iter_elements(path):
        tag = element.tag
        if event == "start":
            depth += 1
            if depth == 2 and tag in ("vehicle", "flow"):
                vehicle_route = None
            continue
        depth -= 1
        a = element.attrib
        if tag == "vType":
            types[a.get("id", "")] = _vehicle_type(dict(a), source)
        elif tag == "route":
            edges = tuple(a.get("edges", "").split())
            if not edges:
                raise ConfigError(source, f"route {a.get('id', '')!r}", "has no edges")
            if depth == 1:
                routes[a.get("id", "")] = edges
            else:
                vehicle_route = edges
        elif tag in ("routeDistribution", "vTypeDistribution", "person", "container", "personFlow"):
            raise ConfigError(
                source,
                f"{tag} {a.get('id', '')!r}",
                f"<{tag}> is not supported; twin reads "
                "<vehicle>, <trip>, <flow>, <route> and <vType>",
            )
        elif tag == "vehicle" and depth == 1:
            where = f"vehicle {a.get('id', '')!r}"
            route = vehicle_route
            ref = a.get("route")
            if route is None and ref is None:
                raise ConfigError(source, where, "has no route (an inner <route edges> or route=)")
            pending.append(
                _Pending(
                    _depart(a.get("depart"), where, source),
                    a.get("type", DEFAULT_VTYPE),
                    where,
                    source,
                    edges=route,
                    route_ref=None if route is not None else ref,
                )
            )
        elif tag == "trip" and depth == 1:
            where = f"trip {a.get('id', '')!r}"
            if "from" not in a or "to" not in a:
                raise ConfigError(
                    source, where, "needs edges from= and to= (junction trips are not supported)"
                )
            stops = (a["from"], *a.get("via", "").split(), a["to"])
            pending.append(
                _Pending(
                    _depart(a.get("depart"), where, source),
                    a.get("type", DEFAULT_VTYPE),
                    where,
                    source,
                    stops=stops,
                )
            )
        elif tag == "flow" and depth == 1:
            pending.extend(_flow(dict(a), vehicle_route, source, end_s))
        if depth <= 1:
            element.clear()


def _flow(
    a: dict[str, str], inner_route: tuple[str, ...] | None, source: str, end_s: float
) -> list[_Pending]:
    """The departures of a ``<flow>`` with a fixed spacing."""
    where = f"flow {a.get('id', '')!r}"

    def number(key: str) -> float:
        try:
            return float(a[key])
        except ValueError:
            raise ConfigError(source, where, f"{key} {a[key]!r} is not a number") from None

    if "probability" in a or a.get("period", "").startswith("exp("):
        raise ConfigError(
            source,
            where,
            "random flows (probability=, period=exp(...)) are not supported; "
            "use period=, vehsPerHour= or number=, or randomTrips.py",
        )
    begin = number("begin") if "begin" in a else 0.0
    end = number("end") if "end" in a else end_s
    if "period" in a:
        period = number("period")
    elif "vehsPerHour" in a:
        vph = number("vehsPerHour")
        period = 3600.0 / vph if vph > 0 else math.inf
    elif "number" in a:
        count = number("number")
        if not math.isfinite(end):
            raise ConfigError(source, where, "number= needs end= too")
        period = (end - begin) / count if count > 0 else math.inf
    else:
        raise ConfigError(source, where, "needs period=, vehsPerHour= or number=")
    if not (period > 0):
        raise ConfigError(source, where, f"spacing must be > 0 s, got {period}")
    limit = number("number") if "number" in a else math.inf
    if not math.isfinite(end) and not math.isfinite(limit):
        raise ConfigError(source, where, "needs end= or number= (or give read_routes an end_s)")
    if inner_route is None and "route" not in a and not ("from" in a and "to" in a):
        raise ConfigError(
            source, where, "has no route (route=, an inner <route>, or from= and to=)"
        )
    out = []
    k = 0
    while k < limit:
        depart = begin + k * period
        if depart >= end:
            break
        if inner_route is not None:
            p = _Pending(depart, a.get("type", DEFAULT_VTYPE), where, source, edges=inner_route)
        elif "route" in a:
            p = _Pending(depart, a.get("type", DEFAULT_VTYPE), where, source, route_ref=a["route"])
        else:
            stops = (a["from"], *a.get("via", "").split(), a["to"])
            p = _Pending(depart, a.get("type", DEFAULT_VTYPE), where, source, stops=stops)
        out.append(p)
        k += 1
    return out


# -- writing (so twin's own demand can run in SUMO) ----------------------------------------


def write_routes(path: str | Path, network: Network, trips: TripTable) -> Path:
    """Write ``trips`` as a SUMO route file (vehicle types first, vehicles by departure)."""
    out = Path(path)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<routes>"]
    for vt in trips.vtypes:
        lines.append(
            f'    <vType id="{vt.id}" length="{vt.length_m!r}" minGap="{vt.min_gap_m!r}" '
            f'accel="{vt.accel_mps2!r}" decel="{vt.decel_mps2!r}" '
            f'emergencyDecel="{vt.emergency_decel_mps2!r}" maxSpeed="{vt.max_speed_mps!r}" '
            f'sigma="{vt.sigma!r}" tau="{vt.tau_s!r}" speedFactor="{vt.speed_factor_mean!r}" '
            f'speedDev="{vt.speed_factor_std!r}" emissionClass="{_sumo_emission_class(vt)}"/>'
        )
    for k in range(len(trips)):
        edges = " ".join(network.edges[e].id for e in trips.route(k))
        vt = trips.vtypes[int(trips.vtype[k])]
        depart = float(trips.depart_s[k])
        lines.append(f'    <vehicle id="{k}" type="{vt.id}" depart="{depart!r}">')
        lines.append(f'        <route edges="{edges}"/>')
        lines.append("    </vehicle>")
    lines.append("</routes>")
    out.write_text("\n".join(lines) + "\n")
    return out


def _sumo_emission_class(vt: VehicleType) -> str:
    """SUMO's name of a twin emission class (twin's classes are HBEFA3 names, unprefixed)."""
    name = vt.emission_class
    return name if "/" in name else HBEFA3_PREFIX + name
