"""What the factory's policies see and may answer, and the checks of their answers.

Three decision areas: ``factory.maintenance`` (a machine at each sensor report: maintain
it or not), ``factory.dispatch`` (the AGV fleet when a transport request waits and a
vehicle is idle: which vehicle takes which request) and ``factory.planning`` (the order
book at each planning epoch: which orders to release when, in which sequence).
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import NamedTuple, NoReturn, cast

from twin.core.policy import InvalidActionError
from twin.factory.layout import Layout

MACHINE_STATES = ("idle", "starved", "busy", "blocked", "failed", "repair", "maintenance")
"""idle: stopped, waiting for a planned-maintenance technician or not yet started;
starved: waiting for a part; blocked: holding a finished part the next buffer has no
room for; failed: down, waiting for a spare part or a technician; repair: under
corrective repair; maintenance: under preventive maintenance."""

DOWN_STATES = frozenset({"failed", "repair", "maintenance", "idle"})

AGV_STATES = ("idle", "to_pickup", "loading", "loaded", "unloading", "to_charger", "charging")
"""What an AGV is doing. ``loaded`` is loaded travel; ``to_charger`` includes queueing
for a busy charger."""


class MaintenanceObservation(NamedTuple):
    """One machine as its latest sensor report shows it.

    Readings are the delivered, edge-filtered values (NaN before the first delivery or
    while a sensor drops out); the true health is not observable.

    Attributes:
        now_s: simulated time of the decision.
        machine: index of the machine in the plant (0-based).
        station: the station the machine belongs to.
        state: one of :data:`MACHINE_STATES`.
        vibration_mm_s: vibration velocity RMS.
        temperature_c: housing temperature.
        pressure_bar: hydraulic pressure.
        humidity_pct: relative humidity at the machine.
        reading_age_s: time since the readings were measured.
        operating_h: hours spent processing since the last maintenance or repair.
        calendar_h: hours since the last maintenance or repair (or the start).
        parts: parts processed since the last maintenance or repair.
        failures: unplanned failures of this machine so far in the run.
        technicians_free: technicians on shift and not working.
        maintenance_queue: machines waiting for a technician.
    """

    now_s: float
    machine: int
    station: str
    state: str
    vibration_mm_s: float
    temperature_c: float
    pressure_bar: float
    humidity_pct: float
    reading_age_s: float
    operating_h: float
    calendar_h: float
    parts: int
    failures: int
    technicians_free: int
    maintenance_queue: int


class MaintenanceAction(NamedTuple):
    """Stop this machine for preventive maintenance (after its current part), or not."""

    maintain: bool


MAINTAIN = MaintenanceAction(maintain=True)
CONTINUE = MaintenanceAction(maintain=False)


def check_maintenance_action(
    action: object, observation: MaintenanceObservation, policy_id: str
) -> MaintenanceAction:
    """``action`` if a maintenance policy may answer it; :class:`InvalidActionError` if not.

    Either answer is valid whatever ``observation`` shows (a request to maintain a machine
    that is already down is ignored), so only the action's type is checked.
    """
    if type(action) is not MaintenanceAction or type(action.maintain) is not bool:
        raise InvalidActionError(
            policy_id, action, "expected MaintenanceAction(maintain=True|False)"
        )
    return action


# -- AGV dispatch ----------------------------------------------------------------------


class TransportRequest(NamedTuple):
    """A waiting transport request, as a dispatch policy sees it.

    Attributes:
        number: serial number of the request in the run, from 0.
        pickup: node where the load is picked up.
        drop: node where it is dropped.
        requested_s: when it was requested.
        trip_m: shortest-path length from pickup to drop (the loaded travel).
    """

    number: int
    pickup: str
    drop: str
    requested_s: float
    trip_m: float


class AgvView(NamedTuple):
    """One AGV, as a dispatch policy sees it.

    Attributes:
        id: the AGV's number in the fleet, from 0 (what an assignment names).
        node: the node it is at (when moving: the last node it reached).
        idle: whether it may be assigned a request.
        soc: state of charge, 0..1.
        range_m: metres it can still drive on its charge (infinite if driving is free).
        state: one of :data:`AGV_STATES`.
    """

    id: int
    node: str
    idle: bool
    soc: float
    range_m: float
    state: str


class FleetViews(tuple[AgvView, ...]):
    """Every AGV's view, by id: a tuple, that also says which views changed since the
    fleet's previous one, so a dispatcher can keep an index up to date at the cost of the
    changes instead of the fleet (1,000 AGVs in a 10,000-machine plant, every request).

    Attributes:
        fleet: a token of the fleet that made it (compare with ``is``).
        version: counts the fleet's views; the one before this has ``version - 1``.
        changed: ids whose view is another object than in version ``version - 1``.
    """

    fleet: object
    version: int
    changed: frozenset[int]

    @classmethod
    def of(
        cls, views: list[AgvView], fleet: object, version: int, changed: frozenset[int]
    ) -> FleetViews:
        made = cls(views)
        made.fleet = fleet
        made.version = version
        made.changed = changed
        return made


class DispatchObservation(NamedTuple):
    """The fleet at a decision epoch: a request arrived, or an AGV became idle.

    Attributes:
        now_s: simulated time.
        requests: waiting requests, oldest first; an assignment names a position here.
        agvs: every AGV, by id (from a fleet, a :class:`FleetViews`).
        layout: the plant layout, for path distances (read only).
    """

    now_s: float
    requests: tuple[TransportRequest, ...]
    agvs: tuple[AgvView, ...]
    layout: Layout

    def pickup_distance_m(self, agv: AgvView, request: TransportRequest) -> float:
        """Empty travel of ``agv`` to the pickup of ``request``, metres."""
        return self.layout.distance_m(agv.node, request.pickup)

    def can_serve(self, agv: AgvView, request: TransportRequest) -> bool:
        """Whether ``agv`` can do ``request`` and then reach a charger without charging first.

        An AGV that cannot is still assignable: it charges first, then does the job.
        """
        return self.layout.covers(agv.node, request.pickup, request.drop, agv.range_m)


class DispatchAction(NamedTuple):
    """Assignments ``(request position in obs.requests, AGV id)``; empty means wait."""

    assignments: tuple[tuple[int, int], ...] = ()


WAIT = DispatchAction(())
"""Assign nothing now."""


def check_dispatch_action(
    action: object, obs: DispatchObservation, policy_id: str
) -> list[tuple[int, int]]:
    """The ``(request, agv)`` pairs of ``action`` if a dispatch policy may answer it to
    ``obs``; :class:`InvalidActionError` naming what is wrong if not."""

    def invalid(reason: str) -> NoReturn:
        raise InvalidActionError(policy_id, action, reason)

    if type(action) is not DispatchAction:
        invalid("expected DispatchAction(assignments=((request, agv), ...))")
    assignments = action.assignments
    if type(assignments) is not tuple:
        invalid("assignments must be a tuple of (request, agv) pairs")
    n_requests = len(obs.requests)
    n_agvs = len(obs.agvs)
    pairs: list[tuple[int, int]] = []
    requests: set[int] = set()
    agvs: set[int] = set()
    # Checked as untyped values: a policy may return anything (numpy ints are fine).
    for pair in cast("tuple[object, ...]", assignments):
        if not (
            type(pair) is tuple and len(pair) == 2 and _is_index(pair[0]) and _is_index(pair[1])
        ):
            invalid(f"assignment {pair!r} is not a (request, agv) pair of ints")
        r, a = int(pair[0]), int(pair[1])
        if not 0 <= r < n_requests:
            invalid(f"unknown request {r}: {n_requests} requests wait (0..{n_requests - 1})")
        if r in requests:
            invalid(f"request {r} is assigned twice")
        if not 0 <= a < n_agvs:
            invalid(f"unknown AGV {a}: the fleet has AGVs 0..{n_agvs - 1}")
        if a in agvs:
            invalid(f"AGV {a} is assigned twice")
        if not obs.agvs[a].idle:
            invalid(f"AGV {a} is busy ({obs.agvs[a].state}), not idle")
        requests.add(r)
        agvs.add(a)
        pairs.append((r, a))
    return pairs


def _is_index(x: object) -> bool:
    # Plain ints first: this runs for every assignment at every dispatch, and the ABC
    # check behind isinstance(x, Integral) costs more than the rest of the check.
    kind = type(x)
    if kind is int:
        return True
    return kind is not bool and isinstance(x, Integral)


# -- production planning ---------------------------------------------------------------


class OpenOrder(NamedTuple):
    """An order not yet released into the plant, as a planning policy sees it.

    Attributes:
        number: serial number of the order in the book, from 0 (what a release names).
        product: the product ordered (a name in ``PlanningObservation.products``).
        quantity: good parts ordered.
        ready_s: its release date: it may not enter the plant before this.
        due_s: when it is due.
    """

    number: int
    product: str
    quantity: int
    ready_s: float
    due_s: float


class StationPlanView(NamedTuple):
    """One station as a planner sees it.

    Attributes:
        name: the station.
        machines: machines in it.
        machines_up: machines not down now (failed, under repair or maintenance).
        availability: forecast long-run share of machine time up, from the machines'
            wear rate and the crew's repair and spare-part times.
        setup_s: changeover time of a machine before a part of another product.
        backlog_s: processing time still owed here to parts already released.
    """

    name: str
    machines: int
    machines_up: int
    availability: float
    setup_s: float
    backlog_s: float


class ProductPlanView(NamedTuple):
    """One product's route and its mean processing time at each step.

    Attributes:
        name: the product.
        route: station names, in processing order.
        work_s: mean processing time of one part at each step of ``route``.
    """

    name: str
    route: tuple[str, ...]
    work_s: tuple[float, ...]


class PlanningObservation(NamedTuple):
    """The plant at a planning epoch.

    Attributes:
        now_s: simulated time of the epoch.
        period_s: time until the next epoch, when the plan is made again.
        orders: the open orders (not yet released), by number.
        stations: every station.
        products: every product.
    """

    now_s: float
    period_s: float
    orders: tuple[OpenOrder, ...]
    stations: tuple[StationPlanView, ...]
    products: tuple[ProductPlanView, ...]


class Release(NamedTuple):
    """Release order ``order`` into the plant at ``release_s``; the policy expects it
    done by ``planned_done_s`` (NaN: no expectation), which the plan-vs-reality KPIs use."""

    order: int
    release_s: float
    planned_done_s: float = math.nan


class PlanningAction(NamedTuple):
    """Which open orders to release when, in this sequence; orders not named stay open.

    Orders released at the same instant enter in the order listed (the plant's buffers are
    first-in first-out, so the release sequence is the processing sequence). Releases
    after the next epoch are superseded by the plan made then.

    Attributes:
        releases: the releases, in sequence.
        planned_tardiness_s: the plan's own estimate of the tardiness of the orders it
            releases (NaN: none).
        mip_gap: the relative optimality gap the solver proved (0: optimal; NaN: no solver).
        fallback: the plan is the fallback rule's, because the optimiser failed.
    """

    releases: tuple[Release, ...] = ()
    planned_tardiness_s: float = math.nan
    mip_gap: float = math.nan
    fallback: bool = False


HOLD = PlanningAction()
"""Release nothing now."""


def check_planning_action(
    action: object, obs: PlanningObservation, policy_id: str
) -> list[Release]:
    """The releases of ``action`` if a planning policy may answer it to ``obs``;
    :class:`InvalidActionError` naming what is wrong if not."""

    def invalid(reason: str) -> NoReturn:
        raise InvalidActionError(policy_id, action, reason)

    if type(action) is not PlanningAction:
        invalid("expected PlanningAction(releases=(Release(order, release_s), ...))")
    if type(action.releases) is not tuple:
        invalid("releases must be a tuple of Release(order, release_s, planned_done_s)")
    if type(action.fallback) is not bool:
        invalid("fallback must be True or False")
    for name in ("planned_tardiness_s", "mip_gap"):
        value = getattr(action, name)
        if not isinstance(value, Real) or (not math.isnan(value) and value < 0):
            invalid(f"{name} must be a number >= 0 or NaN")
    open_orders = {order.number: order for order in obs.orders}
    seen: set[int] = set()
    releases: list[Release] = []
    for release in cast("tuple[object, ...]", action.releases):
        if type(release) is not Release or not _is_index(release.order):
            invalid(f"{release!r} is not a Release(order, release_s, planned_done_s)")
        number = int(release.order)
        order = open_orders.get(number)
        if order is None:
            invalid(f"order {number} is not open (open: {_numbers(open_orders)})")
        if number in seen:
            invalid(f"order {number} is released twice")
        release_s: object = release.release_s  # a policy may put anything in it
        if not isinstance(release_s, Real) or not math.isfinite(release_s):
            invalid(f"order {number}: release_s must be a finite number of seconds")
        if release_s < obs.now_s or release_s < order.ready_s:
            invalid(
                f"order {number} released at {release_s} s, before now ({obs.now_s} s) "
                f"or its release date ({order.ready_s} s)"
            )
        planned_done_s: object = release.planned_done_s
        if not isinstance(planned_done_s, Real):
            invalid(f"order {number}: planned_done_s must be a number (NaN: none)")
        seen.add(number)
        releases.append(Release(number, float(release_s), float(planned_done_s)))
    return releases


def _numbers(orders: dict[int, OpenOrder]) -> str:
    numbers = sorted(orders)
    if not numbers:
        return "none"
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (", ..." if len(numbers) > 10 else "")
