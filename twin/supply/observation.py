"""What replenishment and transport policies see at their decision epochs, and answer."""

from __future__ import annotations

import math
from typing import NamedTuple

from twin.core.policy import InvalidActionError

MAX_ORDER_UNITS = 10**9
"""The largest order a site accepts: far above any real network, below float precision."""


class ReplenishmentObservation(NamedTuple):
    """A site at its review (the decision epoch: every ``review_period_days``, at 00:00).

    Histories are daily, oldest first, ending yesterday: customer demand at a retailer,
    orders received from downstream sites elsewhere. Prices and promotions are the
    retailer's own (empty tuples upstream); the plan covers today and the next days for
    which the promotion calendar is known.

    Attributes:
        now_s: simulated time of the review.
        day: days since the start (day 0 is a Monday).
        site: the site's name.
        kind: ``"plant"``, ``"dc"`` or ``"retailer"``.
        echelon: 1 for retailers, 2 for their sources, and so on upstream.
        review_period_days: days until the next review.
        on_hand: units in stock (at a plant: finished goods plus raw material).
        on_order: units ordered and not yet received.
        backorders: units owed to customers or downstream sites.
        inventory_position: ``on_hand + on_order - backorders``.
        lead_time_mean_days: mean time from order to receipt over the site's completed
            orders; the planned lead time (preparation + travel) before the first.
        lead_time_std_days: standard deviation of the same (0 before two orders).
        demand_history: daily demand, oldest first.
        price_history: the retailer's shelf price on the same days.
        promotion_history: whether each of those days was a promotion day.
        price_plan: the shelf price from today on, as far as it is planned.
        promotion_plan: promotion days from today on, as far as they are planned.
        holding_cost_per_unit_day: money per unit on hand per day.
        shortage_cost_per_unit: per unit lost, or per unit backordered per day.
        order_cost: fixed money per order placed.
        lost_sales: whether unmet demand is lost (else backordered).
        shelf_life_days: days stock keeps after receipt (``inf`` when it does not spoil).
    """

    now_s: float
    day: int
    site: str
    kind: str
    echelon: int
    review_period_days: int
    on_hand: int
    on_order: int
    backorders: int
    inventory_position: int
    lead_time_mean_days: float
    lead_time_std_days: float
    demand_history: tuple[float, ...]
    price_history: tuple[float, ...]
    promotion_history: tuple[bool, ...]
    price_plan: tuple[float, ...]
    promotion_plan: tuple[bool, ...]
    holding_cost_per_unit_day: float
    shortage_cost_per_unit: float
    order_cost: float
    lost_sales: bool
    shelf_life_days: float


class ReplenishmentAction(NamedTuple):
    """Order this many units from the site's source now (0: no order)."""

    order_units: int


NO_ORDER = ReplenishmentAction(order_units=0)


def check_replenishment_action(
    action: object, observation: ReplenishmentObservation, policy_id: str
) -> ReplenishmentAction:
    """``action`` if the site of ``observation`` can place it; :class:`InvalidActionError`
    if not (a whole number of units in ``[0, MAX_ORDER_UNITS]``)."""
    if type(action) is not ReplenishmentAction or type(action.order_units) is not int:
        raise InvalidActionError(
            policy_id, action, "expected ReplenishmentAction(order_units=<int>)"
        )
    if not 0 <= action.order_units <= MAX_ORDER_UNITS:
        raise InvalidActionError(
            policy_id, action, f"order_units must be in [0, {MAX_ORDER_UNITS}]"
        )
    return action


class TransportObservation(NamedTuple):
    """Loads waiting at an origin for one destination (the lane), when one is added and
    every ``transport_review_s`` while any wait.

    Attributes:
        now_s: simulated time of the decision.
        origin: the shipping site.
        destination: the receiving site.
        distance_km: road distance of the lane.
        pending_units: units waiting to be loaded for this destination.
        pending_pallets: pallets they fill (whole pallets per shipment).
        pending_kg: their weight.
        oldest_wait_s: how long the oldest waiting shipment has been ready.
        shipments: waiting shipments.
        truck_capacity_pallets: pallets one truck carries.
        truck_capacity_kg: kilograms one truck carries.
        trucks_idle: trucks of the origin's fleet not on a trip.
        trucks_total: trucks of the origin's fleet.
        destination_on_hand: units the destination has in stock.
        destination_backorders: units the destination owes its own customers.
        waiting: the loads waiting at the origin for any destination (this lane's
            included), in site order: what a route planner combines.
        road_km: road km between the destinations of ``waiting``, in the same order.
        truck_speed_kmh: truck speed.
        truck_dock_time_s: docking time per stop, loading or unloading.
        truck_handling_s_per_pallet: handling time per pallet loaded or unloaded.
        truck_fixed_cost: money per truck trip.
        truck_cost_per_km: money per km driven.
    """

    now_s: float
    origin: str
    destination: str
    distance_km: float
    pending_units: int
    pending_pallets: int
    pending_kg: float
    oldest_wait_s: float
    shipments: int
    truck_capacity_pallets: int
    truck_capacity_kg: float
    trucks_idle: int
    trucks_total: int
    destination_on_hand: int
    destination_backorders: int
    waiting: tuple[WaitingLoad, ...] = ()
    road_km: tuple[tuple[float, ...], ...] = ()
    truck_speed_kmh: float = 60.0
    truck_dock_time_s: float = 900.0
    truck_handling_s_per_pallet: float = 60.0
    truck_fixed_cost: float = 60.0
    truck_cost_per_km: float = 1.3


class WaitingLoad(NamedTuple):
    """What waits at the origin for one destination (any lane of the origin, this one
    included), as a route planner sees it.

    The waiting units are cut into truckloads oldest first, as a lane ships them: the
    ``full_loads`` always travel direct; the ``part_*`` rest (less than a truck) is what
    a shared route carries.

    Attributes:
        destination: the receiving site.
        distance_km: road km from the origin.
        units: every unit waiting for it.
        full_loads: full truckloads among them.
        part_units: the units after the full loads (0 when they fill whole trucks).
        part_pallets: pallets of the part load.
        part_kg: weight of the part load.
        oldest_wait_s: how long its oldest shipment has been ready.
        due_s: the earliest due time of the orders the units fill (may be past).
    """

    destination: str
    distance_km: float
    units: int
    full_loads: int
    part_units: int
    part_pallets: int
    part_kg: float
    oldest_wait_s: float
    due_s: float


class Route(NamedTuple):
    """One truck's tour from the origin through ``stops`` and back, carrying their part
    loads (a stop's full loads leave direct at the same time), with what it was planned at.

    Attributes:
        stops: destinations in visiting order.
        planned_km: km planned for the route's trucks: the tour and its stops' full loads
            (there and back each). The twin adds up what its trucks drive as
            ``math.fsum`` of one term per leg of the tour and ``2 * distance_km *
            full_loads`` per stop; a planner that sums the same terms matches it exactly.
        planned_arrivals_s: planned arrival time at each stop.
    """

    stops: tuple[str, ...]
    planned_km: float
    planned_arrivals_s: tuple[float, ...] = ()


class TransportAction(NamedTuple):
    """Dispatch every waiting load of the lane now (as many trucks as needed), or wait.

    With ``routes`` (and ``ship``), every route's stops ship instead: their full loads
    direct, their part loads together on one truck per route; stops of the origin in no
    route keep waiting. ``fallback`` says why a planner answered with its fallback rule
    instead of its plan ("" when it did not); the network counts these.
    """

    ship: bool
    routes: tuple[Route, ...] = ()
    fallback: str = ""


SHIP = TransportAction(ship=True)
WAIT = TransportAction(ship=False)


def check_transport_action(
    action: object, observation: TransportObservation, policy_id: str
) -> TransportAction:
    """``action`` if the lane of ``observation`` can carry it out (any lane may ship or
    wait); :class:`InvalidActionError` if not."""
    if type(action) is not TransportAction or type(action.ship) is not bool:
        raise InvalidActionError(policy_id, action, "expected TransportAction(ship=True|False)")
    if type(action.fallback) is not str:
        raise InvalidActionError(policy_id, action, "fallback must be a str")
    if action.routes == ():
        return action
    if type(action.routes) is not tuple:
        raise InvalidActionError(policy_id, action, "routes must be a tuple of Route")
    if not action.ship:
        raise InvalidActionError(policy_id, action, "routes need ship=True")
    _check_routes(action, observation, policy_id)
    return action


def _check_routes(
    action: TransportAction, observation: TransportObservation, policy_id: str
) -> None:
    """Every route names waiting destinations once, and its part loads fit one truck."""
    waiting = {load.destination: load for load in observation.waiting}
    seen: set[str] = set()
    for route in action.routes:
        if type(route) is not Route or type(route.stops) is not tuple or not route.stops:
            raise InvalidActionError(policy_id, action, f"{route!r} is not a Route with stops")
        if type(route.planned_arrivals_s) is not tuple or (
            route.planned_arrivals_s and len(route.planned_arrivals_s) != len(route.stops)
        ):
            raise InvalidActionError(
                policy_id, action, "planned_arrivals_s must be empty or one time per stop"
            )
        if type(route.planned_km) is not float or not 0.0 <= route.planned_km < math.inf:
            raise InvalidActionError(policy_id, action, "planned_km must be a float >= 0")
        pallets = 0
        kg = 0.0
        for stop in route.stops:
            load = waiting.get(stop) if type(stop) is str else None
            if load is None:
                known = ", ".join(waiting) or "none"
                raise InvalidActionError(
                    policy_id, action, f"stop {stop!r} has nothing waiting; waiting: {known}"
                )
            if stop in seen:
                raise InvalidActionError(policy_id, action, f"stop {stop!r} is routed twice")
            seen.add(stop)
            if len(route.stops) > 1 and not load.part_units:
                raise InvalidActionError(
                    policy_id,
                    action,
                    f"stop {stop!r} has only full truckloads: route it alone",
                )
            pallets += load.part_pallets
            kg += load.part_kg
        if pallets > observation.truck_capacity_pallets or kg > observation.truck_capacity_kg * (
            1 + 1e-9
        ):
            raise InvalidActionError(
                policy_id,
                action,
                f"route {'->'.join(route.stops)} loads {pallets} pallets / {kg:g} kg, more than "
                f"a truck ({observation.truck_capacity_pallets} / "
                f"{observation.truck_capacity_kg:g})",
            )
