"""Traffic demand: vehicle types, trips, time-varying Poisson generation and routes.

A trip is a departure time, an origin edge, a destination edge, a vehicle type and a
route (edge indices from origin to destination). Routes are either given (an explicit
list, as in a SUMO ``.rou.xml``) or the fastest path at free-flow speed, computed once
per origin by Dijkstra and cached per origin-destination pair. :class:`TripTable` holds
all trips of a run as arrays sorted by departure time, with the routes in one flat
array (CSR: ``route_edges[route_start[k]:route_start[k+1]]``), which is what the
simulation hands to the vehicle kernel.

Defaults and their sources: docs/PARAMETERS.md, section "Traffic".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.traffic.network import Network

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class DemandError(ValueError):
    """Demand that cannot be generated or driven (one line naming what is wrong)."""


# How a trip enters the network (SUMO's depart attributes). A value >= 0 is an explicit
# lane index / position (m, from the start of the first edge) / speed (m/s); a negative
# value is one of SUMO's keywords below. SUMO 1.28's defaults for a vehicle that gives
# none (``sumo --save-template``: default.departlane "best_prob", default.departspeed
# "avg"; departPos "base") are what twin's SUMO import records; twin's own demand leaves
# the arrays None (first lane, base, speed 0).
DEPART_LANE_FIRST = -1
DEPART_LANE_RANDOM = -2
DEPART_LANE_FREE = -3
DEPART_LANE_ALLOWED = -4
DEPART_LANE_BEST = -5
DEPART_LANE_BEST_PROB = -6
DEPART_LANE_CODES = {
    "first": DEPART_LANE_FIRST,
    "random": DEPART_LANE_RANDOM,
    "free": DEPART_LANE_FREE,
    "allowed": DEPART_LANE_ALLOWED,
    "best": DEPART_LANE_BEST,
    "best_prob": DEPART_LANE_BEST_PROB,
}
DEPART_POS_BASE = -1.0
DEPART_POS_RANDOM = -2.0
DEPART_POS_FREE = -3.0
DEPART_POS_RANDOM_FREE = -4.0
DEPART_POS_LAST = -5.0
DEPART_POS_CODES = {
    "base": DEPART_POS_BASE,
    "random": DEPART_POS_RANDOM,
    "free": DEPART_POS_FREE,
    "random_free": DEPART_POS_RANDOM_FREE,
    "last": DEPART_POS_LAST,
}
DEPART_SPEED_RANDOM = -2.0
DEPART_SPEED_MAX = -3.0
DEPART_SPEED_DESIRED = -4.0
DEPART_SPEED_LIMIT = -5.0
DEPART_SPEED_AVG = -6.0
DEPART_SPEED_LAST = -7.0
DEPART_SPEED_CODES = {
    "random": DEPART_SPEED_RANDOM,
    "max": DEPART_SPEED_MAX,
    "desired": DEPART_SPEED_DESIRED,
    "speedLimit": DEPART_SPEED_LIMIT,
    "avg": DEPART_SPEED_AVG,
    "last": DEPART_SPEED_LAST,
}


@dataclass(frozen=True)
class VehicleType:
    """A kind of vehicle. Defaults are SUMO's default passenger car (``DEFAULT_VEHTYPE``),
    except the emission class: twin's own generated worlds (grids, Poisson demand) keep
    HBEFA3 ``PC_G_EU4`` so that their figures do not move, while a type imported from
    SUMO gets SUMO 1.28's default for its vehicle class (``HBEFA4/PC_petrol_Euro-4`` for
    a passenger car: :func:`sumo_vclass_type`).

    Attributes:
        length_m: bumper to bumper.
        min_gap_m: gap kept to the leader when stopped.
        accel_mps2, decel_mps2: maximum acceleration and comfortable deceleration.
        emergency_decel_mps2: the hardest braking possible (used only to avoid a crash).
        max_speed_mps: the vehicle's own top speed.
        sigma: Krauss driver imperfection (dawdling) in [0, 1].
        tau_s: Krauss reaction time (desired time headway).
        speed_factor_mean, speed_factor_std: each vehicle drives at ``factor x`` the
            speed limit, the factor normal, truncated to [0.2, 2] (SUMO ``speedFactor``).
        emission_class: a class of :mod:`twin.traffic.emissions`.
        vclass: SUMO's vehicle class (``passenger``, ``truck``, ``bus``, ...).
    """

    id: str = "passenger"
    length_m: float = 5.0
    min_gap_m: float = 2.5
    accel_mps2: float = 2.6
    decel_mps2: float = 4.5
    emergency_decel_mps2: float = 9.0
    max_speed_mps: float = 55.56
    sigma: float = 0.5
    tau_s: float = 1.0
    speed_factor_mean: float = 1.0
    speed_factor_std: float = 0.1
    emission_class: str = "PC_G_EU4"
    vclass: str = "passenger"

    def __post_init__(self) -> None:
        positive = ("length_m", "accel_mps2", "decel_mps2", "max_speed_mps", "tau_s")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise DemandError(f"vehicle type {self.id!r}: {name} must be > 0, got {value}")
        if not 0 <= self.sigma <= 1:
            raise DemandError(f"vehicle type {self.id!r}: sigma must be in [0, 1]")
        if self.min_gap_m < 0 or self.emergency_decel_mps2 < self.decel_mps2:
            raise DemandError(
                f"vehicle type {self.id!r}: need min_gap_m >= 0 and "
                "emergency_decel_mps2 >= decel_mps2"
            )


SUMO_VCLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    "passenger": {},
    "private": {},
    "vip": {},
    "hov": {},
    "custom1": {},
    "custom2": {},
    "taxi": {"speed_factor_std": 0.05},
    "evehicle": {"emission_class": "HBEFA4/zero"},
    "truck": {
        "length_m": 7.1,
        "accel_mps2": 1.3,
        "decel_mps2": 4.0,
        "emergency_decel_mps2": 7.0,
        "max_speed_mps": 130.0 / 3.6,
        "speed_factor_std": 0.05,
        "emission_class": "HBEFA4/RT_le7.5t_Euro-VI_A-C",
    },
    "trailer": {
        "length_m": 16.5,
        "accel_mps2": 1.1,
        "decel_mps2": 4.0,
        "emergency_decel_mps2": 7.0,
        "max_speed_mps": 130.0 / 3.6,
        "speed_factor_std": 0.05,
        "emission_class": "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C",
    },
    "bus": {
        "length_m": 12.0,
        "accel_mps2": 1.2,
        "decel_mps2": 4.0,
        "emergency_decel_mps2": 7.0,
        "max_speed_mps": 100.0 / 3.6,
        "speed_factor_std": 0.0,
        "emission_class": "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C",
    },
    "coach": {
        "length_m": 14.0,
        "accel_mps2": 2.0,
        "decel_mps2": 4.0,
        "emergency_decel_mps2": 7.0,
        "max_speed_mps": 100.0 / 3.6,
        "speed_factor_std": 0.05,
        "emission_class": "HBEFA4/Coach_3-Axes_gt18t_Euro-VI_A-C",
    },
    "delivery": {
        "length_m": 6.5,
        "speed_factor_std": 0.05,
        "emission_class": "HBEFA4/LCV_diesel_N1-III_Euro-6ab",
    },
    "emergency": {
        "length_m": 6.5,
        "speed_factor_std": 0.0,
        "emission_class": "HBEFA4/LCV_diesel_N1-III_Euro-6ab",
    },
    "motorcycle": {
        "length_m": 2.2,
        "accel_mps2": 6.0,
        "decel_mps2": 10.0,
        "emergency_decel_mps2": 10.0,
        "emission_class": "HBEFA4/MC_4S_gt250cc_preEuro",
    },
}
"""SUMO 1.28's defaults per vehicle class (``vClass``) where they differ from the
passenger car's: ``src/utils/vehicle/SUMOVTypeParameter.cpp`` (``VClassDefaultValues``,
``getDefaultAccel``/``Decel``/``EmergencyDecel``) and ``src/utils/common/
SUMOVehicleClass.cpp`` (``getDefaultVehicleLength``). minGap 2.5 m, sigma 0.5 and tau 1 s
are the same for all of these; SUMO's passenger car emits as ``HBEFA4/PC_petrol_Euro-4``."""
SUMO_DEFAULT_EMISSION_CLASS = "HBEFA4/PC_petrol_Euro-4"


def sumo_vclass_type(vclass: str, type_id: str) -> VehicleType:
    """SUMO's default vehicle type of ``vclass`` (``DemandError`` for a class twin does
    not drive, naming those it does)."""
    if vclass not in SUMO_VCLASS_DEFAULTS:
        raise DemandError(
            f"vClass {vclass!r} is not driven by twin; it drives {', '.join(SUMO_VCLASS_DEFAULTS)}"
        )
    values = {"emission_class": SUMO_DEFAULT_EMISSION_CLASS, **SUMO_VCLASS_DEFAULTS[vclass]}
    return VehicleType(id=type_id, vclass=vclass, **values)


@dataclass(frozen=True)
class ScheduledStop:
    """Where and how long a vehicle stops on its way (SUMO's ``<stop>``): on lane
    ``lane`` (twin's index on the edge) of route edge ``edge``, its front between
    ``start_m`` and ``end_m``; ``place``: the stopping place (``<busStop>``, ...) whose
    vehicles queue one behind another from its end, -1 for a stop on a lane. It lasts
    ``duration_s`` and at least until ``until_s`` (-1: not given; times of the run's
    clock), as :mod:`twin.traffic.scheduled_stops` describes."""

    edge: int
    lane: int
    start_m: float
    end_m: float
    place: int = -1
    duration_s: float = -1.0
    until_s: float = -1.0


@dataclass(frozen=True)
class Trip:
    """One trip. ``route`` (edge indices, origin first, destination last) is optional:
    without it the trip takes the cached fastest route."""

    depart_s: float
    origin: int
    destination: int
    vtype: int = 0
    route: tuple[int, ...] | None = None


@dataclass(frozen=True)
class RateProfile:
    """A piecewise-constant trip rate: ``rates_per_s[k]`` from ``times_s[k]`` until the
    next breakpoint (the last one lasts to the end of the run). ``times_s[0]`` is 0."""

    times_s: tuple[float, ...] = (0.0,)
    rates_per_s: tuple[float, ...] = (0.5,)

    def __post_init__(self) -> None:
        if len(self.times_s) != len(self.rates_per_s) or not self.times_s:
            raise DemandError("a rate profile needs one rate per breakpoint")
        if self.times_s[0] != 0 or any(b <= a for a, b in pairwise(self.times_s)):
            raise DemandError("rate profile breakpoints must start at 0 and increase")
        for rate in self.rates_per_s:
            if not (math.isfinite(rate) and rate >= 0):
                raise DemandError(f"trip rates must be finite and >= 0, got {rate}")

    def rate_at(self, t_s: float) -> float:
        k = int(np.searchsorted(self.times_s, t_s, side="right")) - 1
        return float(self.rates_per_s[max(k, 0)])

    def expected_trips(self, horizon_s: float) -> float:
        edges = [*self.times_s, horizon_s]
        return sum(
            r * max(0.0, min(b, horizon_s) - a)
            for a, b, r in zip(edges, edges[1:], self.rates_per_s, strict=False)
        )


MINOR_PENALTY_S = 1.5
"""SUMO's ``--weights.minor-penalty`` default (s): routing cost of a minor link."""
TURNAROUND_PENALTY_S = 5.0
"""SUMO's ``--weights.turnaround-penalty`` default (s): routing cost of a minor
turnaround."""


def routing_penalties_s(
    network: Network,
    minor_penalty_s: float = MINOR_PENALTY_S,
    turnaround_penalty_s: float = TURNAROUND_PENALTY_S,
) -> FloatArray:
    """Per movement, the time SUMO's router adds to its driving time.

    SUMO (src/microsim/MSEdge.cpp ``MSEdge::recalcCache``) charges each internal lane
    whose entering link no traffic light controls and has no priority (its letter is
    not upper case: ``m``, ``=``, ``s``, ``w``) ``--weights.turnaround-penalty`` if the
    link turns around, else ``--weights.minor-penalty``; a left turn that waits inside
    the junction enters two such lanes (:attr:`Movement.minor_links`).
    """
    return np.array(
        [
            m.minor_links * (turnaround_penalty_s if m.turn == "t" else minor_penalty_s)
            for m in network.movements
        ],
        dtype=np.float64,
    )


class Router:
    """Fastest routes at free-flow speed between edges, cached per origin-destination.

    Cost of a route = time to drive each later edge and each movement at its speed
    limit, plus SUMO's routing penalty of each minor movement (:func:`routing_penalties_s`).
    One Dijkstra per origin (scipy), paths read from its predecessors.
    """

    def __init__(
        self,
        network: Network,
        minor_penalty_s: float = MINOR_PENALTY_S,
        turnaround_penalty_s: float = TURNAROUND_PENALTY_S,
    ) -> None:
        self.network = network
        n = len(network.edges)
        rows, cols, weights = [], [], []
        best: dict[tuple[int, int], float] = {}
        penalties = routing_penalties_s(network, minor_penalty_s, turnaround_penalty_s)
        for k, m in enumerate(network.movements):
            dst = network.edges[m.to_edge]
            cost = m.length_m / m.speed_mps + penalties[k] + dst.length_m / dst.speed_mps
            key = (m.from_edge, m.to_edge)
            best[key] = min(best.get(key, math.inf), cost)
        for (a, b), cost in best.items():
            rows.append(a)
            cols.append(b)
            weights.append(cost)
        self._graph = csr_matrix((weights, (rows, cols)), shape=(n, n))
        self._pred: dict[int, IntArray] = {}
        self._cache: dict[tuple[int, int], IntArray] = {}

    def route(self, origin: int, destination: int) -> IntArray:
        """Edge indices from ``origin`` to ``destination`` (``DemandError`` if none)."""
        key = (origin, destination)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        pred = self._pred.get(origin)
        if pred is None:
            _, pred = dijkstra(self._graph, indices=origin, return_predecessors=True)
            pred = pred.astype(np.int64)
            self._pred[origin] = pred
        path = [destination]
        while path[-1] != origin:
            before = int(pred[path[-1]])
            if before < 0:
                edges = self.network.edges
                raise DemandError(
                    f"no route from edge {edges[origin].id!r} to edge {edges[destination].id!r}"
                )
            path.append(before)
        route = np.array(path[::-1], dtype=np.int64)
        route.flags.writeable = False
        self._cache[key] = route
        return route


def check_route(network: Network, route: Sequence[int]) -> None:
    """Raise :class:`DemandError` unless consecutive edges of ``route`` are joined."""
    if len(route) == 0:
        raise DemandError("a route needs at least one edge")
    n = len(network.edges)
    for e in route:
        if not 0 <= e < n:
            raise DemandError(f"route uses edge index {e}, which does not exist")
    for a, b in pairwise(route):
        if b not in network.successors[a]:
            raise DemandError(
                f"route goes from edge {network.edges[a].id!r} to {network.edges[b].id!r}, "
                "but no movement joins them"
            )


@dataclass(frozen=True, eq=False)
class TripTable:
    """All trips of a run, as arrays sorted by departure time (ties keep input order).

    Attributes:
        depart_s: desired departure times.
        vtype: index into ``vtypes``.
        route_start: trip ``k`` drives ``route_edges[route_start[k]:route_start[k+1]]``.
        vtypes: the vehicle types.
        depart_lane, depart_pos_m, depart_speed_mps: how each trip enters (a value or a
            ``DEPART_*`` keyword code); ``None`` means twin's own insertion for every trip
            (first lane, base, speed 0). SUMO demand always has them (SUMO 1.28's
            defaults where a vehicle gives none: best_prob, base, avg).
        speed_factor: per trip, the vehicle's own speed factor (SUMO's vehicle
            ``speedFactor``), NaN where it draws one from its type's distribution;
            ``None``: every trip draws.
        arrival_pos_m: per trip, where on its last edge it arrives (SUMO's
            ``arrivalPos``, metres from the edge's start), ``inf`` at the lane's end
            (SUMO's ``max``); ``None``: every trip arrives at the end.
        skipped: what a reader left out on purpose, by element (e.g. ``{"person": 12}``),
            for the run's manifest.
        stops: per trip, the edges SUMO routes it through when it departs (origin, vias,
            destination: a ``<trip>`` or ``<flow>`` by ``from``/``to``), empty for a trip
            whose route is given; ``None``: every route is given. The city routes these
            trips on the traffic of the moment (:mod:`twin.traffic.rerouting`); ``route``
            is their route through an empty network.
        scheduled_stops: per trip, its stops on the way in route order
            (:class:`ScheduledStop`); ``None``: no trip stops.
    """

    depart_s: FloatArray
    vtype: IntArray
    route_start: IntArray
    route_edges: IntArray
    vtypes: tuple[VehicleType, ...] = field(default=(VehicleType(),))
    depart_lane: IntArray | None = None
    depart_pos_m: FloatArray | None = None
    depart_speed_mps: FloatArray | None = None
    speed_factor: FloatArray | None = None
    arrival_pos_m: FloatArray | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    stops: tuple[tuple[int, ...], ...] | None = None
    scheduled_stops: tuple[tuple[ScheduledStop, ...], ...] | None = None

    def __len__(self) -> int:
        return len(self.depart_s)

    @property
    def origin(self) -> IntArray:
        return self.route_edges[self.route_start[:-1]]

    @property
    def destination(self) -> IntArray:
        return self.route_edges[self.route_start[1:] - 1]

    def route(self, k: int) -> IntArray:
        return self.route_edges[self.route_start[k] : self.route_start[k + 1]]

    def trips(self) -> list[Trip]:
        """The table as trips with their routes (to add trips and build it again with
        :meth:`from_trips`)."""
        return [
            Trip(
                float(self.depart_s[k]),
                int(self.origin[k]),
                int(self.destination[k]),
                int(self.vtype[k]),
                tuple(int(e) for e in self.route(k)),
            )
            for k in range(len(self))
        ]

    @classmethod
    def from_trips(
        cls,
        network: Network,
        trips: Iterable[Trip],
        vtypes: Sequence[VehicleType] = (VehicleType(),),
        router: Router | None = None,
    ) -> TripTable:
        """Trips routed (given routes checked, the others by ``router``) and sorted."""
        router = router if router is not None else Router(network)
        trips = list(trips)
        routes: list[IntArray] = []
        for k, trip in enumerate(trips):
            if not (math.isfinite(trip.depart_s) and trip.depart_s >= 0):
                raise DemandError(f"trip {k}: depart_s must be >= 0, got {trip.depart_s}")
            if not 0 <= trip.vtype < len(vtypes):
                raise DemandError(f"trip {k}: unknown vehicle type {trip.vtype}")
            if trip.route is not None:
                try:
                    check_route(network, trip.route)
                except DemandError as error:
                    raise DemandError(f"trip {k}: {error}") from None
                if trip.route[0] != trip.origin or trip.route[-1] != trip.destination:
                    raise DemandError(f"trip {k}: route must run from origin to destination")
                routes.append(np.asarray(trip.route, dtype=np.int64))
            else:
                routes.append(router.route(trip.origin, trip.destination))
        depart = np.array([t.depart_s for t in trips], dtype=np.float64)
        vtype = np.array([t.vtype for t in trips], dtype=np.int64)
        return cls.from_arrays(depart, vtype, routes, vtypes)

    @classmethod
    def from_arrays(
        cls,
        depart_s: FloatArray,
        vtype: IntArray,
        routes: Sequence[IntArray],
        vtypes: Sequence[VehicleType] = (VehicleType(),),
        *,
        depart_lane: IntArray | None = None,
        depart_pos_m: FloatArray | None = None,
        depart_speed_mps: FloatArray | None = None,
        speed_factor: FloatArray | None = None,
        arrival_pos_m: FloatArray | None = None,
        skipped: dict[str, int] | None = None,
        stops: Sequence[tuple[int, ...]] | None = None,
        scheduled_stops: Sequence[tuple[ScheduledStop, ...]] | None = None,
    ) -> TripTable:
        order = np.argsort(depart_s, kind="stable")

        def ordered(values: npt.NDArray[Any] | None, dtype: type) -> npt.NDArray[Any] | None:
            return None if values is None else np.asarray(values, dtype=dtype)[order]

        lengths = np.array([len(routes[k]) for k in order], dtype=np.int64)
        start = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        edges = (
            np.concatenate([routes[k] for k in order]).astype(np.int64)
            if len(order)
            else np.zeros(0, dtype=np.int64)
        )
        return cls(
            depart_s=np.asarray(depart_s, dtype=np.float64)[order],
            vtype=np.asarray(vtype, dtype=np.int64)[order],
            route_start=start,
            route_edges=edges,
            vtypes=tuple(vtypes),
            depart_lane=ordered(depart_lane, np.int64),
            depart_pos_m=ordered(depart_pos_m, np.float64),
            depart_speed_mps=ordered(depart_speed_mps, np.float64),
            speed_factor=ordered(speed_factor, np.float64),
            arrival_pos_m=ordered(arrival_pos_m, np.float64),
            skipped=dict(skipped or {}),
            stops=None if stops is None else tuple(tuple(stops[k]) for k in order),
            scheduled_stops=(
                None if scheduled_stops is None else tuple(tuple(scheduled_stops[k]) for k in order)
            ),
        )


def poisson_trips(
    network: Network,
    profile: RateProfile,
    horizon_s: float,
    rng: np.random.Generator,
    *,
    vtypes: Sequence[VehicleType] = (VehicleType(),),
    vtype_shares: Sequence[float] | None = None,
    origins: Sequence[int] | None = None,
    destinations: Sequence[int] | None = None,
    router: Router | None = None,
) -> TripTable:
    """Trips departing as a Poisson process of rate ``profile`` over ``[0, horizon_s)``.

    Each trip picks its origin uniformly among ``origins`` (default: the network's entry
    edges) and its destination uniformly among ``destinations`` (default: exit edges)
    that do not lead back to the node it came from; vehicle types by ``vtype_shares``.
    All draws come from ``rng`` (the scenario passes ``streams["traffic.demand"]``): a
    count and uniform times per piece of the profile, then origins, destinations, types.
    """
    router = router if router is not None else Router(network)
    origins = list(origins if origins is not None else network.entry_edges)
    destinations = list(destinations if destinations is not None else network.exit_edges)
    if not origins or not destinations:
        raise DemandError("the network has no entry or no exit edges for trips")
    shares = np.asarray(vtype_shares if vtype_shares is not None else [1.0] * len(vtypes))
    if len(shares) != len(vtypes) or np.any(shares < 0) or shares.sum() <= 0:
        raise DemandError("vtype_shares needs one share >= 0 per vehicle type, not all 0")
    bounds = [*profile.times_s, horizon_s]
    times: list[FloatArray] = []
    for a, b, rate in zip(bounds, bounds[1:], profile.rates_per_s, strict=False):
        b = min(b, horizon_s)
        if b <= a:
            break
        n = int(rng.poisson(rate * (b - a)))
        times.append(np.sort(rng.uniform(a, b, n)))
    depart = np.concatenate(times) if times else np.zeros(0)
    n = len(depart)
    o = np.asarray(origins, dtype=np.int64)[rng.integers(0, len(origins), n)]
    u = rng.random(n)
    vt = np.searchsorted(np.cumsum(shares / shares.sum()), rng.random(n), side="right")
    vt = np.minimum(vt, len(vtypes) - 1).astype(np.int64)
    # Destinations allowed from each origin: not back to where the trip came from.
    allowed: dict[int, list[int]] = {}
    for origin in set(o.tolist()):
        back = network.edges[origin].from_node
        allowed[origin] = [d for d in destinations if network.edges[d].to_node != back]
        if not allowed[origin]:
            raise DemandError(f"no destination for trips from edge {network.edges[origin].id!r}")
    routes = []
    for k in range(n):
        options = allowed[int(o[k])]
        d = options[min(int(u[k] * len(options)), len(options) - 1)]
        routes.append(router.route(int(o[k]), d))
    return TripTable.from_arrays(depart, vt, routes, vtypes)
