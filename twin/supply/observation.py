"""What replenishment and transport policies see at their decision epochs, and answer."""

from __future__ import annotations

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


class TransportAction(NamedTuple):
    """Dispatch every waiting load of the lane now (as many trucks as needed), or wait."""

    ship: bool


SHIP = TransportAction(ship=True)
WAIT = TransportAction(ship=False)


def check_transport_action(
    action: object, observation: TransportObservation, policy_id: str
) -> TransportAction:
    """``action`` if the lane of ``observation`` can carry it out (any lane may ship or
    wait); :class:`InvalidActionError` if not."""
    if type(action) is not TransportAction or type(action.ship) is not bool:
        raise InvalidActionError(policy_id, action, "expected TransportAction(ship=True|False)")
    return action
