"""SUMO's ``<stop>`` elements and stopping places (``<busStop>``, ...) as twin's
:class:`~twin.traffic.demand.ScheduledStop`.

Read as SUMO 1.28 reads them (``MSRouteHandler::addStop``, ``SUMORouteHandler::
checkStopPos``, ``NLTriggerBuilder::parseAndBuildStoppingPlace``,
``MSBaseVehicle::addStops``):

- A stop names a lane (``lane``), an edge (``edge``: its rightmost car lane) or a
  stopping place (``busStop``, ``trainStop``, ``containerStop``: its lane, its
  ``startPos``, and its ``endPos`` unless the stop gives one). On a lane ``endPos``
  defaults to the lane's end and ``startPos`` to 0.2 m before it; a negative position
  counts from the lane's end; a position off the lane is an error unless
  ``friendlyPos`` (which defaults to true when neither position is given) moves it on.
- It lasts ``duration`` and at least until ``until``. ``until`` of a stop in a
  ``<route>`` is shifted by each vehicle's departure; in a ``<flow>`` with a fixed
  period by the vehicle's departure less the flow's begin; in a ``<vehicle>``, a
  ``<trip>`` or a random flow not at all.
- Stops follow the route in order: each lies on the route at or after the one before
  (SUMO: "is not downstream the current route"). A trip routed by ``from``/``to``
  without ``via`` is routed through its stops' edges.

A stop that waits for a person or container (``triggered``, neither ``duration`` nor
``until``), parks off the road (``parking="true"``), passes without halting
(``speed``), jumps, or uses a parking area or charging station is refused in one line:
twin carries no passengers and has no parking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from twin.core.errors import ConfigError
from twin.traffic.demand import ScheduledStop
from twin.traffic.network import Edge, Network
from twin.traffic.sumocfg import parse_time

STOPPING_PLACE_TAGS = ("busStop", "trainStop", "containerStop")
"""Stopping places whose vehicles queue from the place's end (``MSStoppingPlace``)."""
MIN_STOP_LENGTH_M = 0.2
"""SUMO's ``MIN_STOP_LENGTH``: a lane stop's default start before its end."""
POSITION_EPS_M = 0.1
"""SUMO's ``POSITION_EPS``: the shortest stopping place."""

_STOP_HONOURED = frozenset(
    {"lane", "edge", *STOPPING_PLACE_TAGS, "startPos", "endPos", "friendlyPos"}
    | {"duration", "until"}
)
_STOP_INERT = frozenset(
    {
        "actType",  # a description
        "tripId",  # sets a parameter when reached
        "line",
        "arrival",  # the planned arrival, for SUMO's stop output
        "depart",
        "actualArrival",
        "started",  # without --use-stop-started / --use-stop-ended these change nothing
        "ended",
        "permitted",  # who may board: twin carries nobody
    }
)
_STOP_DEFAULT_ONLY = {
    "parking": ("false", "0"),
    "triggered": ("false", "0"),
    "containerTriggered": ("false", "0"),
    "index": ("end",),
    "speed": ("0",),
    "onDemand": ("false", "0"),
}


@dataclass(frozen=True)
class StopElement:
    """A ``<stop>``'s attributes as read, where it was, and how its ``until`` shifts."""

    attrs: tuple[tuple[str, str], ...]
    where: str
    source: str

    def get(self, key: str, default: str | None = None) -> str | None:
        return dict(self.attrs).get(key, default)


@dataclass
class StoppingPlaces:
    """The stopping places read so far (``id -> (tag, attributes, source)``) and the
    number given to each one a stop uses. Only ``lane``, ``startPos``, ``endPos`` and
    ``friendlyPos`` matter to vehicles that do not park (``lines``, capacities,
    ``parkingLength`` and looks do not)."""

    elements: dict[str, tuple[str, dict[str, str], str]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)

    def add(self, tag: str, a: dict[str, str], source: str) -> None:
        where = f"{tag} {a.get('id', '')!r}"
        if "id" not in a or "lane" not in a:
            raise ConfigError(source, where, "needs id= and lane=")
        self.elements[a["id"]] = (tag, a, source)


def read_stop(a: dict[str, str], source: str, where: str) -> StopElement:
    """A ``<stop>`` checked for what twin drives (one line naming the attribute else)."""
    places = [key for key in ("lane", "edge", *STOPPING_PLACE_TAGS) if key in a]
    if len(places) != 1:
        for key in ("parkingArea", "chargingStation", "x", "y", "lon", "lat"):
            if key in a:
                raise ConfigError(
                    source,
                    where,
                    f"{key}= is not supported; twin stops on a lane, an edge, a busStop, "
                    "trainStop or containerStop",
                )
        raise ConfigError(
            source,
            where,
            "needs exactly one of lane=, edge=, busStop=, trainStop=, containerStop=",
        )
    for key, value in a.items():
        if key in _STOP_HONOURED or key in _STOP_INERT:
            continue
        if key in _STOP_DEFAULT_ONLY and value in _STOP_DEFAULT_ONLY[key]:
            continue
        raise ConfigError(
            source,
            where,
            f"attribute {key}={value!r} is not supported; twin stops for a duration or "
            "until a time, on the road, with nobody boarding (it reads "
            f"{', '.join(sorted(_STOP_HONOURED))})",
        )
    if "duration" not in a and "until" not in a and a.get("triggered") is None:
        raise ConfigError(
            source,
            where,
            "has neither duration= nor until=: SUMO then waits for a person to board "
            "(triggered), and twin carries no persons; give duration= or until=",
        )
    for key in ("duration", "until"):
        if key in a:
            try:
                value = parse_time(a[key], source, where)
            except ConfigError:
                raise ConfigError(
                    source, where, f"{key} {a[key]!r} is not a time (seconds or [[d:]h:]m:s)"
                ) from None
            if value < 0:
                raise ConfigError(source, where, f"{key} {a[key]!r} must be >= 0")
    return StopElement(tuple(a.items()), where, source)


def _lane_of(network: Network, lane_id: str, source: str, where: str) -> tuple[int, int, Edge]:
    """(edge index, twin's lane index on it, edge) of SUMO lane ``lane_id``."""
    edge_id, _, index = lane_id.rpartition("_")
    try:
        e = network.edge_index(edge_id)
        sumo_index = int(index)
    except (KeyError, ValueError):
        raise ConfigError(
            source, where, f"lane {lane_id!r} is not a lane of a car edge of the network"
        ) from None
    edge = network.edges[e]
    if sumo_index not in edge.sumo_lanes:
        raise ConfigError(
            source,
            where,
            f"lane {lane_id!r} is not open to cars; twin drives the car lanes of edge "
            f"{edge_id!r} ({', '.join(f'{edge_id}_{i}' for i in edge.sumo_lanes)})",
        )
    return e, edge.sumo_lanes.index(sumo_index), edge


def _position(value: str, length: float, source: str, where: str, name: str) -> float:
    try:
        pos = float(value)
    except ValueError:
        raise ConfigError(source, where, f"{name} {value!r} is not a number (metres)") from None
    return pos + length if pos < 0 else pos


def _check_positions(
    start: float,
    end: float,
    length: float,
    min_length: float,
    friendly: bool,
    source: str,
    where: str,
) -> tuple[float, float]:
    """SUMO's ``checkStopPos``: positions on the lane, or moved onto it if friendly."""
    if end < min_length or end > length:
        if not friendly:
            raise ConfigError(
                source,
                where,
                f"endPos {end:g} is off its lane ({length:g} m long); fix it or set "
                "friendlyPos='true'",
            )
        end = min(max(end, min_length), length)
    if start < 0 or start > end - min_length:
        if not friendly:
            raise ConfigError(
                source,
                where,
                f"startPos {start:g} must lie in [0, endPos - {min_length:g}]; fix it or set "
                "friendlyPos='true'",
            )
        start = min(max(start, 0.0), end - min_length)
    return start, end


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "x", "yes", "on")


def stop_edge_id(stop: StopElement, places: StoppingPlaces) -> str:
    """The id of the edge a stop lies on (for routing a trip through it)."""
    for tag in STOPPING_PLACE_TAGS:
        place = stop.get(tag)
        if place is not None:
            if place not in places.elements:
                raise ConfigError(stop.source, stop.where, f"uses unknown {tag} {place!r}")
            return places.elements[place][1]["lane"].rpartition("_")[0]
    edge = stop.get("edge")
    if edge is not None:
        return edge
    return str(stop.get("lane", "")).rpartition("_")[0]


def resolve(
    network: Network,
    places: StoppingPlaces,
    stops: Sequence[tuple[StopElement, float]],
    route: Sequence[int],
    vehicle: str,
) -> tuple[ScheduledStop, ...]:
    """The stops ``(element, until offset)`` of one vehicle along its ``route`` (edge
    indices), in order."""
    out: list[ScheduledStop] = []
    at = 0  # the route index of the previous stop
    for stop, offset in stops:
        source = stop.source
        where = stop.where if stop.where.endswith(vehicle) else f"{stop.where} ({vehicle})"
        place = -1
        end_given = stop.get("endPos")
        start_given = stop.get("startPos")
        place_tag = next((t for t in STOPPING_PLACE_TAGS if stop.get(t) is not None), None)
        if place_tag is not None:
            place_id = str(stop.get(place_tag))
            if place_id not in places.elements:
                raise ConfigError(source, where, f"uses unknown {place_tag} {place_id!r}")
            tag, a, place_source = places.elements[place_id]
            place_where = f"{tag} {place_id!r}"
            e, lane, edge = _lane_of(network, a["lane"], place_source, place_where)
            start, end = _check_positions(
                _position(a.get("startPos", "0"), edge.length_m, place_source, place_where,
                          "startPos"),
                _position(a.get("endPos", repr(edge.length_m)), edge.length_m, place_source,
                          place_where, "endPos"),
                edge.length_m,
                POSITION_EPS_M,
                _flag(a.get("friendlyPos")),
                place_source,
                place_where,
            )  # fmt: skip
            if end_given is not None:
                end = _position(end_given, edge.length_m, source, where, "endPos")
            place = places.numbers.setdefault(place_id, len(places.numbers))
        else:
            if stop.get("edge") is not None:
                edge_id = str(stop.get("edge"))
                try:
                    e = network.edge_index(edge_id)
                except KeyError:
                    raise ConfigError(
                        source, where, f"edge {edge_id!r} is not a car edge of the network"
                    ) from None
                lane, edge = 0, network.edges[e]
            else:
                e, lane, edge = _lane_of(network, str(stop.get("lane")), source, where)
            length = edge.length_m
            end = _position(end_given, length, source, where, "endPos") if end_given else length
            start = (
                _position(start_given, length, source, where, "startPos")
                if start_given
                else max(0.0, end - MIN_STOP_LENGTH_M)
            )
            friendly = stop.get("friendlyPos")
            start, end = _check_positions(
                start,
                end,
                length,
                0.0,
                _flag(friendly) if friendly is not None else not (start_given or end_given),
                source,
                where,
            )
        try:
            at = route.index(e, at)
        except ValueError:
            raise ConfigError(
                source,
                where,
                f"lies on edge {network.edges[e].id!r}, which is not on the vehicle's route "
                "after its previous stop (SUMO: not downstream the current route)",
            ) from None
        duration = stop.get("duration")
        until = stop.get("until")
        out.append(
            ScheduledStop(
                edge=e,
                lane=lane,
                start_m=start,
                end_m=end,
                place=place,
                duration_s=parse_time(duration, source, where) if duration is not None else -1.0,
                until_s=parse_time(until, source, where) + offset if until is not None else -1.0,
            )
        )
    return tuple(out)
