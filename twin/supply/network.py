"""The supply network: sites that order, hold, ship and sell, connected by truck lanes.

A day runs as one SimPy process for the whole network:

- 00:00 plants turn raw material into product (up to capacity) and every site due for
  review shows its state to the replenishment policy (the decision epoch) and orders;
- 12:00 customers buy at the retailers;
- 23:59:59 the day is closed: expired stock scrapped, holding and backorder costs
  booked, the day's demand added to each site's history.

Between those, orders are filled from stock at the source (or backlogged), prepared for
the destination's lead time, and carried by trucks when the transport policy ships them.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from twin.core.distributions import Distribution, Lognormal
from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.run import start_policy
from twin.core.scenario import KPI
from twin.core.streams import Draws
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World
from twin.supply.config import SiteSpec, SupplyParams
from twin.supply.demand import DemandModel
from twin.supply.observation import (
    ReplenishmentObservation,
    check_replenishment_action,
)
from twin.supply.production import CapacityProduction, ProductionModel
from twin.supply.transport import (
    Depot,
    Fleet,
    Lane,
    Order,
    Shipment,
    TransportChecks,
    TransportStats,
)

NOON_S = SECONDS_PER_DAY / 2
CLOSE_S = SECONDS_PER_DAY - 1.0
LEAD_TIMES_KEPT = 30
"""Completed orders a site's observed lead time is averaged over."""
ECHELON_SPACING_M = 10.0
"""Drawn distance between echelons (suppliers left, retailers right); not to scale."""


class Site(Entity):
    """One site (entity ``site:<name>``): its stock, what it has on order, what it owes,
    and its history. ``site_name`` is the config's name (``"dc01"``), which observations,
    lanes and the ledger use; ``pos`` is where the network's schematic view draws it."""

    def __init__(self, world: World, index: int, spec: SiteSpec, history_days: int) -> None:
        super().__init__(world, f"site:{spec.name}")
        self.index = index
        self.spec = spec
        self.site_name = spec.name
        self.kind = spec.kind
        self.source: Site | None = None
        self.echelon = 0
        self.is_supplier = spec.kind == "supplier"
        self.is_retailer = spec.kind == "retailer"
        self.is_plant = spec.kind == "plant"
        self.on_hand = 0 if self.is_supplier else spec.initial_on_hand
        self.raw = 0
        """Raw material at a plant, waiting for capacity."""
        self.production: ProductionModel | None = None
        if spec.capacity_units_per_day is not None:
            self.production = CapacityProduction(spec.capacity_units_per_day)
        self.batches: deque[list[int]] = deque()
        """``[day received, units]`` of stock that spoils, oldest first."""
        if spec.shelf_life_days is not None and self.on_hand:
            self.batches.append([0, self.on_hand])
        self.on_order = 0
        self.customer_backorders = 0
        self.backlog: deque[list[Any]] = deque()
        """``[Order, units still to ship]`` of downstream orders, first come first served."""
        self.backlog_units = 0
        # Conservation: initial + received == on_hand + raw + shipped + sold + scrapped.
        self.initial = self.on_hand
        self.received = 0
        self.shipped = 0
        self.sold = 0
        self.scrapped = 0
        self.demand_today = 0
        self.short_today = 0
        self.short_in_cycle = False
        self.reviewed_once = False
        self.history: deque[float] = deque(maxlen=history_days)
        self.price_history: deque[float] = deque(maxlen=history_days)
        self.promotion_history: deque[bool] = deque(maxlen=history_days)
        self.lead_times_days: deque[float] = deque(maxlen=LEAD_TIMES_KEPT)
        self.planned_lead_time_days = 0.0
        self.lead_time: Draws | None = None
        self.lane: Lane | None = None
        """The lane from this site's source to it."""
        self.retailer_index = -1

    @property
    def stock(self) -> int:
        """Units physically at the site (finished and raw)."""
        return self.on_hand + self.raw

    @property
    def backorders(self) -> int:
        return self.customer_backorders if self.is_retailer else self.backlog_units

    @property
    def inventory_position(self) -> int:
        return self.stock + self.on_order - self.backorders

    def take(self, units: int) -> None:
        """Remove ``units`` (at most what is on hand) from stock, oldest batches first."""
        self.on_hand -= units
        while units and self.batches:
            oldest = self.batches[0]
            used = min(units, oldest[1])
            oldest[1] -= used
            units -= used
            if oldest[1] == 0:
                self.batches.popleft()

    def put(self, units: int, day: int) -> None:
        self.on_hand += units
        if self.spec.shelf_life_days is not None:
            self.batches.append([day, units])

    def inspect(self) -> dict[str, Any]:
        """The site's stock, orders, backorders and today's demand."""
        return {
            "entity": self.name,
            "kind": self.kind,
            "echelon": self.echelon,
            "source": self.source.site_name if self.source is not None else None,
            "on_hand": self.on_hand,
            "on_order": self.on_order,
            "backorders": self.backorders,
            "inventory_position": self.inventory_position,
            "demand_today": self.demand_today,
            "short_today": self.short_today,
            "received": self.received,
            "shipped": self.shipped,
        }


class SupplyNetwork(Entity):
    """Builds the network of ``params`` in ``world`` and runs it under two policies
    (entity ``network``; its sites and lanes are entities too).

    The transport policy is looked up in the run's registry (``world.registry``).

    Args:
        world: the run's world.
        params: sites, product, trucks and the transport policy's id.
        policy: the replenishment policy every stocking site asks at its review.
        scenario_id: told to the transport policy at reset.
        transport: the transport policy, already reset (a scenario whose run policy it
            is); by default the one ``params`` names, looked up and reset here.
    """

    def __init__(
        self,
        world: World,
        params: SupplyParams,
        policy: Policy[Any, Any],
        scenario_id: str = "supply",
        *,
        transport: Policy[Any, Any] | None = None,
    ) -> None:
        super().__init__(world, "network")
        self.world = world
        self.env = world.env
        self.params = params
        self.policy = policy
        self.policy_id = getattr(policy, "id", type(policy).__name__)
        self.day = 0
        self.sites = [
            Site(world, i, spec, params.history_days) for i, spec in enumerate(params.sites)
        ]
        by_name = {site.site_name: site for site in self.sites}
        for site in self.sites:
            if site.spec.source is not None:
                site.source = by_name[site.spec.source]
        self._set_echelons()
        for site, xy in zip(self.sites, schematic_positions(self.sites), strict=True):
            site.pos = (float(xy[0]), float(xy[1]))
        self.stocked = [site for site in self.sites if not site.is_supplier]
        self.retailers = [site for site in self.sites if site.is_retailer]
        for k, site in enumerate(self.retailers):
            site.retailer_index = k
        self.echelons = max(site.echelon for site in self.stocked)
        streams = world.streams
        self.demand = DemandModel(
            [site.spec.demand for site in self.retailers if site.spec.demand is not None],
            streams["supply.demand"],
            streams["supply.promotions"],
        )
        self._plan_prices: list[list[float]] = []
        self._plan_promotions: list[list[bool]] = []
        self._order_numbers = 0

        if transport is None:
            transport = start_policy(
                world,
                params.transport_policy,
                dict(params.transport_policy_params),
                scenario_id,
                {"lanes": len(self.stocked)},
            )
        self.transport_policy = transport
        self.transport_stats = TransportStats()
        self.transport_checks = TransportChecks()
        self.fleets = {
            site.site_name: Fleet(self.env, site.site_name, site.spec.trucks)
            for site in self.sites
            if site.spec.trucks
        }
        self.lanes: list[Lane] = []
        truck = params.truck
        for site in self.stocked:
            assert site.source is not None
            lane = Lane(
                world=world,
                pos=_midpoint(site.source.pos, site.pos),
                origin=site.source.site_name,
                destination=site.site_name,
                destination_index=site.index,
                distance_km=site.spec.distance_km,
                fleet=self.fleets[site.source.site_name],
                truck=truck,
                product=params.product,
                policy=transport,
                review_s=params.transport_review_s,
                deliver=self._deliver,
                destination_state=self._destination_state,
                stats=self.transport_stats,
                checks=self.transport_checks,
            )
            site.lane = lane
            self.lanes.append(lane)
            site.lead_time = self._draws(f"supply.lead_times.{site.site_name}", site.spec.lead_time)
            travel_s = (
                site.spec.distance_km / truck.speed_kmh * SECONDS_PER_HOUR + 2 * truck.dock_time_s
            )
            site.planned_lead_time_days = (site.spec.lead_time.mean_s + travel_s) / SECONDS_PER_DAY
        self.depots = self._depots()
        if truck.travel_time_cv > 0:  # else no draws: runs without it stay as they were
            travel = Lognormal(mean=1.0, cv=truck.travel_time_cv).draws(
                streams["supply.travel"], block=256
            )
            for lane in self.lanes:
                lane.travel = travel

        probes = world.probes
        self.demand_units = probes.counter("demand_units")
        self.served_units = probes.counter("served_from_stock_units")
        self.lost_units = probes.counter("lost_sales_units")
        self.stockout_days = probes.counter("stockout_days")
        self.cycles = probes.counter("review_cycles")
        self.stockout_cycles = probes.counter("stockout_cycles")
        self.orders_placed = probes.counter("orders_placed")
        self.inventory = probes.level("inventory_units", float(sum(s.stock for s in self.stocked)))
        self.echelon_inventory = [
            probes.level(
                f"inventory_units.echelon_{e}",
                float(sum(s.stock for s in self.stocked if s.echelon == e)),
            )
            for e in range(1, self.echelons + 1)
        ]
        self.backorder_level = probes.level("backorders_units")
        self.closing_inventory = probes.tally("closing_inventory_units")
        self.order_lead_time = probes.tally("order_lead_time_s")
        self.order_lateness = probes.tally("order_lateness_s", keep_values=False)
        self.late_orders = probes.counter("late_orders")
        self.retailer_lead_time = probes.tally("retailer_order_lead_time_s")
        self.customer_demand_by_day: list[float] = []
        self._orders_today = np.zeros(self.echelons + 1)
        self._order_rows: list[np.ndarray] = []
        self.stats_start_day = 0
        self.in_preparation = 0
        """Units shipped by a source and waiting out the destination's lead time."""
        world.at_warmup_end(self._restart_statistics)
        self.env.process(self._days())

    def inspect(self) -> dict[str, Any]:
        """The whole network today: stock, backorders, goods on the way, trucks out."""
        stocked = self.stocked
        return {
            "entity": self.name,
            "day": self.day,
            "sites": len(self.sites),
            "lanes": len(self.lanes),
            "inventory_units": sum(site.stock for site in stocked),
            "backorders_units": sum(site.backorders for site in stocked),
            "in_transit_units": self.in_transit,
            "trucks_on_road": sum(len(lane.on_road) for lane in self.lanes),
            "demand_units": self.demand_units.count,
            "lost_sales_units": self.lost_units.count,
            "transport_policy": self.transport_policy.id,
        }

    # -- structure -------------------------------------------------------------------------
    def _set_echelons(self) -> None:
        for site in self.sites:
            if site.is_retailer:
                level, current = 1, site
                while current.source is not None and not current.source.is_supplier:
                    current = current.source
                    level += 1
                    current.echelon = max(current.echelon, level)
                site.echelon = max(site.echelon, 1)

    def _depots(self) -> dict[str, Depot]:
        """One depot per shipping site: its lanes and the road km between their ends."""
        by_origin: dict[str, list[Lane]] = {}
        for lane in self.lanes:
            by_origin.setdefault(lane.origin, []).append(lane)
        sites = {site.site_name: site for site in self.sites}
        depots = {}
        for origin, lanes in by_origin.items():
            ends = [sites[lane.destination].spec for lane in lanes]
            road_km = [[self._road_km(a, b) for b in ends] for a in ends]
            depot = Depot(self.world, lanes, road_km)
            for lane in lanes:
                lane.depot = depot
            depots[origin] = depot
        return depots

    def _road_km(self, a: SiteSpec, b: SiteSpec) -> float:
        """Road km between two sites served from one origin: ``road_circuity`` x the
        straight line where both are on the map, never more than going back through
        the origin (which is all that is known without a map)."""
        via_origin = a.distance_km + b.distance_km
        if a.name == b.name:
            return 0.0
        if a.location_km is None or b.location_km is None:
            return via_origin
        (xa, ya), (xb, yb) = a.location_km, b.location_km
        return min(self.params.road_circuity * math.hypot(xa - xb, ya - yb), via_origin)

    def _draws(self, stream: str, distribution: Distribution) -> Draws:
        return distribution.draws(self.world.streams[stream], block=256)

    def _restart_statistics(self) -> None:
        self.stats_start_day = math.ceil(self.env.now / SECONDS_PER_DAY)
        self.transport_stats.reset()

    # -- the day -----------------------------------------------------------------------------
    def _days(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            self._start_of_day()
            yield env.timeout(NOON_S)
            self._customer_demand()
            yield env.timeout(CLOSE_S - NOON_S)
            self._close_day()
            yield env.timeout(SECONDS_PER_DAY - CLOSE_S)
            self.day += 1

    def _start_of_day(self) -> None:
        for site in self.stocked:
            if site.production is not None and site.raw:
                made = min(site.production.produce(self.day, site.raw), site.raw)
                site.raw -= made
                site.put(made, self.day)
                if made:
                    self._fill_backlog(site)
        reviewing = [s for s in self.stocked if self.day % s.spec.review_period_days == 0]
        if any(site.is_retailer for site in reviewing):
            self._plan_calendar()
        for site in reviewing:
            self._review(site)

    def _plan_calendar(self) -> None:
        """Prices and promotions known today for the coming days, per retailer."""
        notice = self.demand.notice_days
        if not notice:
            self._plan_prices = [[] for _ in self.retailers]
            self._plan_promotions = [[] for _ in self.retailers]
            return
        days = range(self.day, self.day + notice)
        prices = np.array([self.demand.shelf_price(d) for d in days]).T
        promoted = np.array([self.demand.promoted(d) for d in days]).T
        self._plan_prices = []
        self._plan_promotions = []
        for site, row_price, row_promoted in zip(self.retailers, prices, promoted, strict=True):
            assert site.spec.demand is not None
            known = site.spec.demand.promotion_notice_days
            self._plan_prices.append(row_price[:known].tolist())
            self._plan_promotions.append(row_promoted[:known].tolist())

    def observe(self, site: Site) -> ReplenishmentObservation:
        """What the replenishment policy sees at ``site``'s review."""
        mean_lt, std_lt = _mean_and_std(site.lead_times_days, site.planned_lead_time_days)
        if site.is_retailer:
            k = site.retailer_index
            price_plan = tuple(self._plan_prices[k]) if self._plan_prices else ()
            promo_plan = tuple(self._plan_promotions[k]) if self._plan_promotions else ()
        else:
            price_plan, promo_plan = (), ()
        spec = site.spec
        return ReplenishmentObservation(
            now_s=self.world.now_s,
            day=self.day,
            site=site.site_name,
            kind=site.kind,
            echelon=site.echelon,
            review_period_days=spec.review_period_days,
            on_hand=site.stock,
            on_order=site.on_order,
            backorders=site.backorders,
            inventory_position=site.inventory_position,
            lead_time_mean_days=mean_lt,
            lead_time_std_days=std_lt,
            demand_history=tuple(site.history),
            price_history=tuple(site.price_history),
            promotion_history=tuple(site.promotion_history),
            price_plan=price_plan,
            promotion_plan=promo_plan,
            holding_cost_per_unit_day=spec.holding_cost_per_unit_day,
            shortage_cost_per_unit=spec.shortage_cost_per_unit,
            order_cost=spec.order_cost,
            lost_sales=spec.lost_sales,
            shelf_life_days=(
                math.inf if spec.shelf_life_days is None else float(spec.shelf_life_days)
            ),
        )

    def _review(self, site: Site) -> None:
        if site.is_retailer:
            if site.reviewed_once:
                self.cycles.count += 1
                if site.short_in_cycle:
                    self.stockout_cycles.count += 1
            site.reviewed_once = True
            site.short_in_cycle = False
        observation = self.observe(site)
        action = check_replenishment_action(
            self.policy.act(observation), observation, self.policy_id
        )
        if action.order_units:
            self.place_order(site, action.order_units)

    # -- orders and their fulfilment ------------------------------------------------------
    def place_order(self, site: Site, units: int) -> None:
        """``site`` orders ``units`` from its source."""
        source = site.source
        assert source is not None
        self._order_numbers += 1
        now = self.world.now_s
        due_s = now + site.planned_lead_time_days * SECONDS_PER_DAY + self.params.delivery_slack_s
        order = Order(self._order_numbers, site.index, units, now, units, due_s)
        site.on_order += units
        self.orders_placed.count += 1
        self._orders_today[site.echelon] += units
        if site.spec.order_cost:
            self.world.ledger.charge(
                "other", site.spec.order_cost, entity=site.site_name, item="ordering"
            )
        source.demand_today += units
        if source.is_supplier:
            source.shipped += units
            self._prepare(Shipment(site.index, units, [(order, units)]))
            return
        source.backlog.append([order, units])
        source.backlog_units += units
        self._fill_backlog(source)

    def _fill_backlog(self, site: Site) -> None:
        """Ship what is on hand to the oldest open orders first."""
        if not site.backlog or not site.on_hand:
            return
        shipments: dict[int, Shipment] = {}
        while site.backlog and site.on_hand:
            entry = site.backlog[0]
            order: Order = entry[0]
            units = min(entry[1], site.on_hand)
            site.take(units)
            site.shipped += units
            site.backlog_units -= units
            entry[1] -= units
            if entry[1] == 0:
                site.backlog.popleft()
            shipment = shipments.get(order.site)
            if shipment is None:
                shipments[order.site] = Shipment(order.site, units, [(order, units)])
            else:
                shipment.units += units
                shipment.lines.append((order, units))
        for shipment in shipments.values():
            self._prepare(shipment)

    def _prepare(self, shipment: Shipment) -> None:
        """Hand a shipment to its lane after the destination's lead time."""
        destination = self.sites[shipment.destination]
        assert destination.lead_time is not None
        assert destination.lane is not None
        delay = next(destination.lead_time)
        if delay <= 0.0:
            destination.lane.add(shipment)
            return
        self.in_preparation += shipment.units
        self.env.process(self._after(delay, shipment, destination.lane))

    def _after(
        self, delay: float, shipment: Shipment, lane: Lane
    ) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(delay)
        self.in_preparation -= shipment.units
        lane.add(shipment)

    def _deliver(self, destination: int, units: int, lines: list[tuple[Order, int]]) -> None:
        """A truck has unloaded ``units`` at ``destination``."""
        site = self.sites[destination]
        now = self.world.now_s
        site.received += units
        site.on_order -= units
        if site.is_plant:
            site.raw += units
        else:
            site.put(units, self.day)
        for order, part in lines:
            order.outstanding -= part
            if order.outstanding == 0:
                lead_s = now - order.placed_s
                self.order_lead_time.observe(lead_s)
                late_s = max(now - order.due_s, 0.0)
                self.order_lateness.observe(late_s)
                if late_s > 0.0:
                    self.late_orders.count += 1
                if site.is_retailer:
                    self.retailer_lead_time.observe(lead_s)
                site.lead_times_days.append(lead_s / SECONDS_PER_DAY)
        if site.is_retailer:
            served = min(site.on_hand, site.customer_backorders)
            if served:
                site.take(served)
                site.sold += served
                site.customer_backorders -= served
        else:
            self._fill_backlog(site)

    def _destination_state(self, destination: int) -> tuple[int, int]:
        site = self.sites[destination]
        return site.stock, site.backorders

    # -- customers -------------------------------------------------------------------------
    def _customer_demand(self) -> None:
        demand = self.demand.draw(self.day).tolist()
        total = 0
        for site, units in zip(self.retailers, demand, strict=True):
            site.demand_today = units
            total += units
            served = min(units, site.on_hand)
            if served:
                site.take(served)
                site.sold += served
            short = units - served
            self.served_units.count += served
            if short:
                site.short_today = short
                site.short_in_cycle = True
                if site.spec.lost_sales:
                    self.lost_units.count += short
                    if site.spec.shortage_cost_per_unit:
                        self.world.ledger.charge(
                            "shortage",
                            site.spec.shortage_cost_per_unit * short,
                            entity=site.site_name,
                            item="lost_sales",
                        )
                else:
                    site.customer_backorders += short
        self.demand_units.count += total
        self.customer_demand_by_day.append(float(total))

    def _close_day(self) -> None:
        ledger = self.world.ledger
        day = self.day
        prices = self.demand.shelf_price(day).tolist() if self.retailers else []
        promoted = self.demand.promoted(day).tolist() if self.retailers else []
        stock_total = 0
        by_echelon = [0] * (self.echelons + 1)
        backorders_total = 0
        for site in self.stocked:
            spec = site.spec
            life = spec.shelf_life_days
            if life is not None:
                expired = 0
                while site.batches and site.batches[0][0] <= day - life + 1:
                    expired += site.batches.popleft()[1]
                if expired:
                    site.on_hand -= expired
                    site.scrapped += expired
                    if spec.obsolescence_cost_per_unit:
                        ledger.charge(
                            "material",
                            spec.obsolescence_cost_per_unit * expired,
                            entity=site.site_name,
                            item="obsolescence",
                        )
            stock = site.stock
            stock_total += stock
            by_echelon[site.echelon] += stock
            if spec.holding_cost_per_unit_day and stock:
                ledger.charge(
                    "holding", spec.holding_cost_per_unit_day * stock, entity=site.site_name
                )
            backorders = site.backorders
            backorders_total += backorders
            if backorders and not spec.lost_sales and spec.shortage_cost_per_unit:
                ledger.charge(
                    "shortage",
                    spec.shortage_cost_per_unit * backorders,
                    entity=site.site_name,
                    item="backorders",
                )
            site.history.append(float(site.demand_today))
            if site.is_retailer:
                k = site.retailer_index
                site.price_history.append(prices[k])
                site.promotion_history.append(bool(promoted[k]))
                if site.short_today:
                    self.stockout_days.count += 1
                site.short_today = 0
            site.demand_today = 0
        self.inventory.set(float(stock_total))
        for level, stock in zip(self.echelon_inventory, by_echelon[1:], strict=True):
            level.set(float(stock))
        self.backorder_level.set(float(backorders_total))
        self.closing_inventory.observe(float(stock_total))
        self._order_rows.append(self._orders_today.copy())
        self._orders_today[:] = 0.0

    # -- results ---------------------------------------------------------------------------
    @property
    def in_transit(self) -> int:
        """Units shipped by a source and not yet received at the destination."""
        waiting = sum(lane.pending_units + lane.in_flight_units for lane in self.lanes)
        return self.in_preparation + waiting

    def bullwhip(self) -> dict[int, float]:
        """Variance of weekly orders placed by each echelon over that of weekly demand."""
        start = self.stats_start_day
        days = len(self.customer_demand_by_day) - start
        weeks = days // 7
        if weeks < 3:
            return {e: math.nan for e in range(1, self.echelons + 1)}
        end = start + 7 * weeks
        demand = np.asarray(self.customer_demand_by_day[start:end]).reshape(weeks, 7).sum(axis=1)
        orders = np.asarray(self._order_rows[start:end]).reshape(weeks, 7, -1).sum(axis=1)
        demand_var = float(np.var(demand, ddof=1))
        return {
            e: float(np.var(orders[:, e], ddof=1)) / demand_var if demand_var > 0 else math.nan
            for e in range(1, self.echelons + 1)
        }

    def kpis(self) -> dict[str, KPI]:
        """Service, inventory, cost detail, bullwhip and transport KPIs of the run."""
        days = max(len(self.customer_demand_by_day) - self.stats_start_day, 1)
        demand = self.demand_units.count
        served = self.served_units.count
        cycles = self.cycles.count
        inventory = self.inventory.mean()
        sold_per_year = (demand - self.lost_units.count) * 365.0 / days
        stats = self.transport_stats
        money = self.world.ledger.money_rows()
        kpis = {
            "fill_rate": KPI(
                served / demand if demand else math.nan,
                "1",
                "share of customer demand served from stock on the day",
            ),
            "cycle_service_level": KPI(
                1.0 - self.stockout_cycles.count / cycles if cycles else math.nan,
                "1",
                "share of retailer review cycles without a shortage",
            ),
            "stockout_days": KPI(
                float(self.stockout_days.count), "retailer-days", "days a retailer fell short"
            ),
            "lost_sales_units": KPI(float(self.lost_units.count), "units", "demand lost"),
            "demand_units": KPI(float(demand), "units", "customer demand"),
            "avg_inventory_units": KPI(inventory, "units", "time-weighted stock, all sites"),
            "inventory_turns": KPI(
                sold_per_year / inventory if inventory > 0 else math.nan,
                "1/year",
                "units sold per year over average inventory",
            ),
            "cost_ordering": KPI(
                sum(v for c, i, _, v in money if c == "other" and i == "ordering"),
                self.world.ledger.currency,
                "fixed cost of orders placed: booked as cost_other, which holds nothing else "
                "in a supply network (cost_total counts it once)",
            ),
            "cost_obsolescence": KPI(
                sum(v for c, i, _, v in money if c == "material" and i == "obsolescence"),
                self.world.ledger.currency,
                "stock scrapped at the end of its shelf life: booked as cost_material, which "
                "holds nothing else in a supply network (cost_total counts it once)",
            ),
            "order_lead_time_days": KPI(
                self.order_lead_time.mean / SECONDS_PER_DAY, "d", "order placed to fully received"
            ),
            "retailer_order_lead_time_days": KPI(
                self.retailer_lead_time.mean / SECONDS_PER_DAY, "d", "the same, retailer orders"
            ),
            "truck_trips": KPI(float(stats.trips), "trips", "loaded truck trips"),
            "truck_km": KPI(stats.km, "km", "truck kilometres, empty returns included"),
            "load_factor": KPI(
                stats.load_factor_sum / stats.trips if stats.trips else math.nan,
                "1",
                "mean share of a truck filled (pallets or weight, whichever binds)",
            ),
        }
        completed = self.order_lateness.count
        kpis["late_order_share"] = KPI(
            self.late_orders.count / completed if completed else math.nan,
            "1",
            "share of orders fully received after their due time",
        )
        kpis["order_lateness_mean_h"] = KPI(
            self.order_lateness.mean / SECONDS_PER_HOUR if completed else math.nan,
            "h",
            "mean time orders were received after their due time (on time counts 0)",
        )
        kpis["planned_route_km"] = KPI(
            stats.planned_route_km, "km", "km the dispatched routes were planned at"
        )
        kpis["routed_km"] = KPI(stats.routed_km, "km", "km the trucks of those routes drove")
        kpis["route_arrival_delay_mean_h"] = KPI(
            stats.arrival_delay_s / stats.route_stops / SECONDS_PER_HOUR
            if stats.route_stops
            else math.nan,
            "h",
            "mean arrival at a routed stop after its planned arrival",
        )
        stops = stats.route_stops
        kpis["route_arrival_deviation_mean_h"] = KPI(
            stats.arrival_deviation_s / stops / SECONDS_PER_HOUR if stops else math.nan,
            "h",
            "mean |arrival - planned arrival| at a routed stop",
        )
        kpis["route_late_stops_planned_share"] = KPI(
            stats.late_planned / stops if stops else math.nan,
            "1",
            "share of routed stops the plan reached after their orders' due time",
        )
        kpis["route_late_stops_share"] = KPI(
            stats.late / stops if stops else math.nan,
            "1",
            "share of routed stops the trucks reached after their orders' due time",
        )
        kpis["transport_plan_fallbacks"] = KPI(
            float(stats.plan_fallbacks), "decisions", "planner answers that fell back to its rule"
        )
        for echelon, level in enumerate(self.echelon_inventory, start=1):
            kpis[f"avg_inventory_echelon_{echelon}_units"] = KPI(
                level.mean(), "units", f"time-weighted stock of echelon {echelon}"
            )
        for echelon, ratio in self.bullwhip().items():
            kpis[f"bullwhip_echelon_{echelon}"] = KPI(
                ratio, "1", f"variance of weekly orders of echelon {echelon} / of weekly demand"
            )
        return kpis


def schematic_positions(sites: list[Site]) -> np.ndarray:
    """Where a schematic of the network draws each site, ``(sites, 2)`` metres.

    Suppliers in the left column, then one column per echelon with retailers on the
    right; a column is ordered by its sources' order (so lanes cross as little as
    possible) and spans the same height whatever its number of sites.
    """
    top = max(site.echelon for site in sites) + 1
    column = [0 if site.is_supplier else top - site.echelon for site in sites]
    xy = np.zeros((len(sites), 2))
    for c in sorted(set(column)):
        members = [k for k, col in enumerate(column) if col == c]
        members.sort(key=lambda k: (_source_index(sites[k]), k))
        step = 2.0 * ECHELON_SPACING_M / max(len(members) - 1, 1)
        for j, k in enumerate(members):
            xy[k] = (c * ECHELON_SPACING_M, (j - (len(members) - 1) / 2) * step)
    return xy


def _midpoint(
    a: tuple[float, float] | None, b: tuple[float, float] | None
) -> tuple[float, float] | None:
    if a is None or b is None:
        return None
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def _source_index(site: Site) -> int:
    return site.source.index if site.source is not None else -1


def _mean_and_std(values: deque[float], default: float) -> tuple[float, float]:
    """Mean and sample standard deviation of a short series in plain floats (the
    ``statistics`` module computes exactly, with fractions: a hundred times slower);
    ``default`` and 0 when it is empty."""
    n = len(values)
    if n == 0:
        return default, 0.0
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    variance = sum((x - mean) ** 2 for x in values) / (n - 1)
    return mean, math.sqrt(max(variance, 0.0))
