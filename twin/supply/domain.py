"""The supply chain as a domain: replenishment and transport decisions, the network's
invariants, its schematic view and which way its KPIs are better.

Hypothesis is imported only when a strategy is asked for (from :mod:`twin.supply.kit`).
"""

from __future__ import annotations

from twin.core.domain import Clock, DecisionArea, Deferred, Domain, Quantity, ScenarioChecks
from twin.core.units import SECONDS_PER_DAY
from twin.core.world import World
from twin.supply.network import SupplyNetwork
from twin.supply.observation import (
    MAX_ORDER_UNITS,
    ReplenishmentAction,
    ReplenishmentObservation,
    TransportAction,
    TransportObservation,
    check_replenishment_action,
    check_transport_action,
)
from twin.supply.view import SupplyView


def network_invariants(network: SupplyNetwork, world: World) -> list[str]:
    """Stock is conserved at every site and over the network, never negative; truck
    loads never exceed capacity; no load arrives before it left."""
    problems: list[str] = []
    shipped = received = backlog = on_order = 0
    for site in network.sites:
        shipped += site.shipped
        if site.is_supplier:
            continue
        received += site.received
        backlog += site.backlog_units
        on_order += site.on_order
        kept = site.stock + site.shipped + site.sold + site.scrapped
        if site.initial + site.received != kept:
            problems.append(
                f"{site.site_name}: initial {site.initial} + received {site.received} != stock "
                f"{site.stock} + shipped {site.shipped} + sold {site.sold} "
                f"+ scrapped {site.scrapped}"
            )
        if min(site.on_hand, site.raw, site.on_order, site.backlog_units) < 0:
            problems.append(
                f"{site.site_name}: negative on hand {site.on_hand}, raw {site.raw}, on order "
                f"{site.on_order} or backlog {site.backlog_units}"
            )
        if site.batches and sum(units for _, units in site.batches) != site.on_hand:
            problems.append(f"{site.site_name}: batches do not add up to on hand {site.on_hand}")
    in_transit = network.in_transit
    if shipped - received != in_transit or in_transit < 0:
        problems.append(f"shipped {shipped} - received {received} != in transit {in_transit}")
    if on_order != in_transit + backlog:
        problems.append(f"on order {on_order} != in transit {in_transit} + backlog {backlog}")
    checks = network.transport_checks
    truck = network.params.truck
    if checks.max_pallets > truck.capacity_pallets or checks.max_kg > truck.capacity_kg + 1e-6:
        problems.append(
            f"a truck carried {checks.max_pallets} pallets / {checks.max_kg:g} kg of "
            f"{truck.capacity_pallets} / {truck.capacity_kg:g}"
        )
    if checks.min_transit_s < 0:
        problems.append(f"a load arrived {-checks.min_transit_s:g} s before it left")
    return problems


KINDS = ("plant", "dc", "retailer")
"""The kinds of site that stock, order and so decide (suppliers never do)."""


def _site_of(observation: ReplenishmentObservation) -> str:
    return f"site:{observation.site}"


def _lane_of(observation: TransportObservation) -> str:
    return f"lane:{observation.origin}->{observation.destination}"


_replenishment_edge_cases = Deferred("twin.supply.kit:replenishment_edge_cases")


_replenishment_observations = Deferred("twin.supply.kit:replenishment_observations")


_replenishment_run = Deferred("twin.supply.kit:replenishment_run")


_transport_edge_cases = Deferred("twin.supply.kit:transport_edge_cases")


_transport_observations = Deferred("twin.supply.kit:transport_observations")


_transport_run = Deferred("twin.supply.kit:transport_run")


_transport_info = Deferred("twin.supply.kit:transport_info")


_networks = Deferred("twin.supply.kit:networks")


_replenishment_learning = Deferred("twin.supply.learning:replenishment_learning")


def _units(description: str) -> Quantity:
    return Quantity(low=0, description=description)


REPLENISHMENT_FIELDS = {
    "now_s": Quantity("s", 0.0, description="simulated time of the review"),
    "day": Quantity("d", 0, description="days since the start (day 0 is a Monday)"),
    "site": Quantity(description="the reviewing site's name"),
    "kind": Quantity(choices=KINDS, description="what the site is"),
    "echelon": Quantity(low=1, description="1 for retailers, 2 for their sources, and so on"),
    "review_period_days": Quantity("d", 1, 365, description="days until the next review"),
    "on_hand": _units("units in stock (at a plant: finished goods plus raw material)"),
    "on_order": _units("units ordered and not yet received"),
    "backorders": _units("units owed to customers or downstream sites"),
    "inventory_position": Quantity(description="on hand + on order - backorders, units"),
    "lead_time_mean_days": Quantity(
        "d", 0.0, description="mean order-to-receipt time of recent orders (planned before any)"
    ),
    "lead_time_std_days": Quantity("d", 0.0, description="standard deviation of the same"),
    "demand_history": Quantity(
        low=0.0,
        description="daily demand (units), oldest first, ending yesterday: one value a day "
        "since the start, the last `history_days` (91) at most; at a retailer what its "
        "customers asked (served or not), at a DC or plant the units its downstream sites "
        "ordered from it that day",
    ),
    "price_history": Quantity(
        low=0.0, description="the retailer's shelf price on those days; empty at DCs and plants"
    ),
    "promotion_history": Quantity(
        description="whether each of those days was a promotion; empty at DCs and plants"
    ),
    "price_plan": Quantity(
        low=0.0,
        description="the shelf price from today for the retailer's promotion notice days; "
        "empty at DCs and plants and without notice",
    ),
    "promotion_plan": Quantity(
        description="promotion days from today, as far as price_plan; empty where it is"
    ),
    "holding_cost_per_unit_day": Quantity(low=0.0, description="money per unit on hand per day"),
    "shortage_cost_per_unit": Quantity(
        low=0.0,
        description="money per unit lost, or per unit backordered per day; 0 where the "
        "scenario books none (the DCs and plant of supply/regional-v0)",
    ),
    "order_cost": Quantity(
        low=0.0,
        description="fixed money per order placed (KPI cost_ordering); 0 in "
        "supply/single-echelon-v0; the truck trips an order causes cost more (below)",
    ),
    "lost_sales": Quantity(description="unmet demand is lost (else backordered)"),
    "shelf_life_days": Quantity(
        "d", 1.0, description="days stock keeps after receipt; inf when it does not spoil"
    ),
}
TRANSPORT_FIELDS = {
    "now_s": Quantity("s", 0.0, description="simulated time of the decision"),
    "origin": Quantity(description="the shipping site's name"),
    "destination": Quantity(description="the receiving site's name"),
    "distance_km": Quantity("km", 0.0, 20_000.0, description="road distance of the lane"),
    "pending_units": _units("units waiting to be loaded for this destination"),
    "pending_pallets": _units("pallets they fill (whole pallets per shipment)"),
    "pending_kg": Quantity("kg", 0.0, description="their weight"),
    "oldest_wait_s": Quantity("s", 0.0, description="how long the oldest shipment has waited"),
    "shipments": _units("shipments waiting"),
    "truck_capacity_pallets": Quantity(low=1, high=1000, description="pallets a truck carries"),
    "truck_capacity_kg": Quantity("kg", 0.0, description="kilograms a truck carries"),
    "trucks_idle": _units("trucks of the origin's fleet not on a trip"),
    "trucks_total": _units("trucks of the origin's fleet"),
    "destination_on_hand": _units("units the destination has in stock"),
    "destination_backorders": _units("units the destination owes its own customers"),
    "waiting": Quantity(description="loads waiting at the origin for any destination"),
    "waiting.destination": Quantity(description="the receiving site"),
    "waiting.distance_km": Quantity("km", 0.0, 20_000.0, description="road km from the origin"),
    "waiting.units": _units("every unit waiting for it"),
    "waiting.full_loads": _units("full truckloads among them (they travel direct)"),
    "waiting.part_units": _units("units after the full loads: what a shared route carries"),
    "waiting.part_pallets": _units("pallets of the part load"),
    "waiting.part_kg": Quantity("kg", 0.0, description="weight of the part load"),
    "waiting.oldest_wait_s": Quantity("s", 0.0, description="age of its oldest shipment"),
    "waiting.due_s": Quantity("s", description="earliest due time of the orders it fills"),
    "road_km": Quantity("km", 0.0, description="road km between the waiting destinations"),
    "truck_speed_kmh": Quantity("km/h", 0.0, 200.0, description="truck speed"),
    "truck_dock_time_s": Quantity("s", 0.0, description="docking time per stop"),
    "truck_handling_s_per_pallet": Quantity("s", 0.0, description="handling per pallet"),
    "truck_fixed_cost": Quantity(low=0.0, description="money per truck trip"),
    "truck_cost_per_km": Quantity(low=0.0, description="money per km driven"),
}

REPLENISHMENT_NOTES = (
    "Every site that holds stock decides for itself: retailers, DCs and plants (suppliers "
    "never). A site reviews at 00:00 of each day that is a multiple of its "
    "`review_period_days`, so `now_s` is `day` x 86,400 s; customers buy at noon and the "
    "day closes (holding and shortage costs, the history) one second before midnight. "
    "What a review orders joins `on_order` at once.",
    "An order is carried by the source's trucks: when they leave is the transport policy's "
    "decision (a scenario parameter, `transport/ship-now-v0` by default), and every truck "
    "trip costs `fixed_cost_per_trip` + `cost_per_km` x km (60 + 1.3/km by default, KPI "
    "`cost_transport`). The observation shows none of this, yet many small orders mean "
    "many trips: in `supply/single-echelon-v0` transport is nearly all of `cost_total` "
    "(99.7% over 60 days under the baseline), and 85% over 30 days of `supply/regional-v0`.",
    "A plant's `on_hand` includes raw material waiting for its daily capacity; what it "
    "orders arrives as raw material.",
    "Trucks carry whole pallets: a shipment of u units takes ceil(u / `units_per_pallet`) "
    "of a truck's `truck_capacity_pallets` (both in `context.info` in every supply "
    "scenario, one value each for the whole network; 40 and 33 in `supply/regional-v0`); "
    "`load_factor` is the mean over trips of the larger of the pallet and weight shares "
    "used.",
    "A DC's or plant's demand is what its downstream sites ordered, on their review days "
    "only: lumpy, with zeros between reviews. Estimate its daily rate over whole review "
    "periods, as the baseline's `daily_mean_and_std` does.",
    "`supply/regional-v0` has a plant, DCs and 50 retailers: run `twin run --scenario "
    "supply/regional-v0 --policy my_replenishment:BaseStock --horizon-s 2592000` (30 days) "
    "with `PYTHONPATH=.` to see a policy decide at every echelon.",
)

REPLENISHMENT = DecisionArea(
    name="supply.replenishment",
    observation=ReplenishmentObservation,
    action=ReplenishmentAction,
    check_action=check_replenishment_action,
    entity_of=_site_of,
    edge_cases=_replenishment_edge_cases,
    observations=_replenishment_observations,
    run_config=_replenishment_run,
    observation_fields=REPLENISHMENT_FIELDS,
    action_fields={
        "order_units": Quantity(
            low=0, high=MAX_ORDER_UNITS, description="units to order from the source now"
        ),
    },
    baseline="replenishment/base-stock-v0",
    check_policy_s=60.0,  # s on a shared 2-core machine, 2026-12-04
    description="how much each stocking site orders from its source at its review",
    notes=REPLENISHMENT_NOTES,
    epochs=(
        "Periodic, per stocking site: at its review, every `review_period_days` days at 00:00."
    ),
    learning=_replenishment_learning,
)
TRANSPORT = DecisionArea(
    name="supply.transport",
    observation=TransportObservation,
    action=TransportAction,
    check_action=check_transport_action,
    entity_of=_lane_of,
    edge_cases=_transport_edge_cases,
    observations=_transport_observations,
    run_config=_transport_run,
    context_info=_transport_info,
    observation_fields=TRANSPORT_FIELDS,
    action_fields={
        "ship": Quantity(description="dispatch every waiting load of the lane now, or wait"),
        "routes": Quantity(description="with ship: truck routes over the origin's waiting loads"),
        "routes.stops": Quantity(description="destinations in visiting order"),
        "routes.planned_km": Quantity("km", 0.0, description="km planned for the route's trucks"),
        "routes.planned_arrivals_s": Quantity("s", description="planned arrival at each stop"),
        "fallback": Quantity(description="why a planner fell back to its rule ('' if it did not)"),
    },
    baseline="transport/ship-now-v0",
    check_policy_s=45.0,  # s on a shared 2-core machine, 2026-12-04
    description="when the loads waiting on a lane leave",
    epochs=(
        "Event-driven and periodic, per lane: when a load is added to the lane, and every "
        "`transport_review_s` while any load waits on it."
    ),
)

DOMAIN: Domain[SupplyNetwork] = Domain(
    name="supply",
    # Sites review once a day, and day 0 is a Monday (twin/supply/learning.py).
    clock=Clock(unit="d", display_tick_s=SECONDS_PER_DAY, weekday_of_day0=0),
    description="a supply network: suppliers, plants, DCs and retailers linked by truck lanes",
    model=SupplyNetwork,
    areas=(REPLENISHMENT, TRANSPORT),
    invariants=network_invariants,
    view=SupplyView,
    invariant_rules=(
        "stock is conserved at every site: initial + received = stock + shipped + sold + scrapped",
        "no site holds negative stock, raw material, orders or backlog",
        "a site's spoiling batches add up to its stock on hand",
        "shipped - received = units in transit (being prepared, waiting or on a truck)",
        "units on order = units in transit + units backlogged at the sources",
        "no truck carries more pallets or kilograms than its capacity",
        "no load arrives before it left",
    ),
    scenario_checks={
        "supply/single-echelon-v0": ScenarioChecks(
            params=_networks, horizon_s=60 * SECONDS_PER_DAY, check_period_s=SECONDS_PER_DAY
        ),
        "supply/beer-game-v0": ScenarioChecks(
            horizon_s=120 * SECONDS_PER_DAY, check_period_s=SECONDS_PER_DAY
        ),
        "supply/regional-v0": ScenarioChecks(
            horizon_s=20 * SECONDS_PER_DAY, check_period_s=SECONDS_PER_DAY
        ),
    },
    kpis={
        "fill_rate": "higher",
        "cycle_service_level": "higher",
        "stockout_days": "lower",
        "lost_sales_units": "lower",
        "avg_inventory_units": "lower",
        "inventory_turns": "higher",
        "cost_ordering": "lower",
        "cost_obsolescence": "lower",
        "order_lead_time_days": "lower",
        "retailer_order_lead_time_days": "lower",
        "truck_km": "lower",
        "load_factor": "higher",
        "late_order_share": "lower",
        "order_lateness_mean_h": "lower",
        "planned_route_km": "lower",
        "routed_km": "lower",
        "route_arrival_delay_mean_h": "lower",
        "route_arrival_deviation_mean_h": "lower",
        "route_late_stops_planned_share": "lower",
        "route_late_stops_share": "lower",
        "transport_plan_fallbacks": "lower",
    },
)
