"""Make-to-order production: the order book, its planning epochs and its tardiness KPIs.

The book is drawn when the plant is built (each product's orders from its own named
stream, so every policy arm of an experiment plans the same orders). At every planning
epoch the planning policy sees the open orders and the stations and answers which
orders to release when; a release puts the order's parts into the plant, where they flow
like any other part. A scrapped part of an order is made again at once, so an order is
done when it has its quantity of good parts.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twin.core.policy import Policy
from twin.core.scenario import KPI
from twin.core.units import SECONDS_PER_HOUR
from twin.factory.observation import (
    DOWN_STATES,
    OpenOrder,
    PlanningObservation,
    ProductPlanView,
    Release,
    StationPlanView,
    check_planning_action,
)

if TYPE_CHECKING:
    from twin.core.world import World
    from twin.factory.config import OrderBookSpec, PlantParams
    from twin.factory.plant import Part, Plant


@dataclass(slots=True, eq=False)
class Order:
    """One customer order and what became of it.

    Attributes:
        number: serial number in the book, from 0 (by release date, then product).
        product: index of the product in the plant's params.
        quantity: good parts ordered.
        ready_s: release date: it may not enter the plant before.
        due_s: due date.
        released_s: when it was released (NaN: still open).
        planned_done_s: when the plan that released it expected it done (NaN: no plan).
        good: good parts made so far.
        done_s: when its last good part left the plant (NaN: not yet).
        parts: its parts in the plant now, by ``id`` (parts compare by value: two of
            an order at the same step are equal).
    """

    number: int
    product: int
    quantity: int
    ready_s: float
    due_s: float
    released_s: float = math.nan
    planned_done_s: float = math.nan
    good: int = 0
    done_s: float = math.nan
    parts: dict[int, Part] = field(default_factory=dict)

    def tardiness_s(self, now_s: float) -> float:
        """Lateness past the due date: of the finished order, or, while it is not
        finished, at least ``now_s - due_s`` (what it has already accumulated)."""
        end_s = self.done_s if not math.isnan(self.done_s) else now_s
        return max(0.0, end_s - self.due_s)


def draw_orders(spec: OrderBookSpec, params: PlantParams, world: World) -> list[Order]:
    """The order book of ``spec``: every stream's orders with a release date before
    ``spec.horizon_s``, numbered by release date (ties by product order)."""
    products = [product.name for product in params.products]
    drawn: list[tuple[float, int, int, float]] = []
    for stream in spec.streams:
        product = products.index(stream.product)
        rng = world.streams[f"factory.order_book.{stream.product.lower()}"]
        gaps = stream.interarrival.draws(rng)
        due_after = stream.due_after.draws(rng)
        ready_s = next(gaps)
        while ready_s < spec.horizon_s:
            quantity = int(rng.integers(stream.min_quantity, stream.max_quantity + 1))
            drawn.append((ready_s, product, quantity, ready_s + next(due_after)))
            ready_s += next(gaps)
    drawn.sort(key=lambda row: (row[0], row[1]))
    return [
        Order(number, product, quantity, ready_s, due_s)
        for number, (ready_s, product, quantity, due_s) in enumerate(drawn)
    ]


def availability_forecast(params: PlantParams, station: int) -> float:
    """Long-run share of a station's machine time up: mean time to failure at nominal
    wear over that plus the mean time to repair (spare part, then the repair)."""
    spec = params.stations[station]
    mtbf_s = SECONDS_PER_HOUR / spec.degradation.drift_per_h
    crew = params.crew
    mttr_s = crew.spare_part_lead.mean_s + crew.repair.mean_s
    return mtbf_s / (mtbf_s + mttr_s)


class OrderBook:
    """The plant's orders and the planning epochs that release them.

    Args:
        plant: the plant the orders are made in.
        spec: the order book.
        planner: the ``factory.planning`` policy asked at every epoch.
    """

    def __init__(self, plant: Plant, spec: OrderBookSpec, planner: Policy[Any, Any]) -> None:
        self.plant = plant
        self.env = plant.env
        self.spec = spec
        self.planner = planner
        self.planner_id = getattr(planner, "id", type(planner).__name__)
        params = plant.params
        self.orders = draw_orders(spec, params, plant.world)
        self.open: dict[int, Order] = {order.number: order for order in self.orders}
        self.epochs = 0
        self.fallbacks = 0
        self.mip_gap_max = 0.0
        self._plan = 0  # the epoch whose releases stand; older ones are superseded
        station_index = {station.name: i for i, station in enumerate(params.stations)}
        self._work_s = [
            tuple(params.stations[station_index[name]].processing.mean_s for name in p.route)
            for p in params.products
        ]
        self.products = tuple(
            ProductPlanView(p.name, tuple(p.route), work)
            for p, work in zip(params.products, self._work_s, strict=True)
        )
        self._availability = [availability_forecast(params, s) for s in range(len(params.stations))]
        self.env.process(self._epochs())

    # -- planning epochs ----------------------------------------------------------------
    def _epochs(self) -> Generator[simpy.Event, Any, None]:
        period_s = self.spec.planning_period_s
        while True:
            self._replan(period_s)
            yield self.env.timeout(period_s)

    def _replan(self, period_s: float) -> None:
        observation = self.observe(period_s)
        action = self.planner.act(observation)
        releases = check_planning_action(action, observation, self.planner_id)
        self.epochs += 1
        self._plan += 1
        if action.fallback:
            self.fallbacks += 1
        if not math.isnan(action.mip_gap):
            self.mip_gap_max = max(self.mip_gap_max, action.mip_gap)
        if releases:
            self.env.process(self._release_in_time(releases, self._plan))

    def observe(self, period_s: float) -> PlanningObservation:
        """The open orders and the stations now."""
        params = self.plant.params
        names = [product.name for product in params.products]
        orders = tuple(
            OpenOrder(o.number, names[o.product], o.quantity, o.ready_s, o.due_s)
            for o in self.open.values()
        )
        backlog = self._backlog_s()
        up = [0] * len(params.stations)
        station_of = {station.name: i for i, station in enumerate(params.stations)}
        for machine in self.plant.machines:
            if machine.state not in DOWN_STATES:
                up[station_of[machine.station.name]] += 1
        stations = tuple(
            StationPlanView(
                spec.name,
                spec.machines,
                up[i],
                self._availability[i],
                spec.setup_s,
                float(backlog[i]),
            )
            for i, spec in enumerate(params.stations)
        )
        return PlanningObservation(self.env.now, period_s, orders, stations, self.products)

    def _backlog_s(self) -> np.ndarray:
        backlog = np.zeros(len(self.plant.params.stations))
        for order in self.orders:
            work = self._work_s[order.product]
            for part in order.parts.values():
                for step in range(part.step, len(part.route)):
                    backlog[part.route[step]] += work[step]
        return backlog

    def _release_in_time(
        self, releases: list[Release], plan: int
    ) -> Generator[simpy.Event, Any, None]:
        # Stable by time: orders released at the same instant keep the plan's sequence.
        for release in sorted(releases, key=lambda r: r.release_s):
            wait_s = release.release_s - self.env.now
            if wait_s > 0:
                yield self.env.timeout(wait_s)
            if plan != self._plan:
                return  # a newer plan replaced this one
            self._release(self.open.pop(release.order), release.planned_done_s)

    def _release(self, order: Order, planned_done_s: float) -> None:
        order.released_s = self.env.now
        order.planned_done_s = planned_done_s
        for _ in range(order.quantity):
            self._start_part(order)

    def _start_part(self, order: Order) -> None:
        part = self.plant.release_part(order.product, order)
        order.parts[id(part)] = part

    # -- parts leaving --------------------------------------------------------------------
    def part_left(self, order: Order, part: Part, *, good: bool) -> None:
        """A part of ``order`` left the plant; a scrapped one is made again."""
        del order.parts[id(part)]
        if not good:
            self._start_part(order)
            return
        order.good += 1
        if order.good == order.quantity:
            order.done_s = self.env.now

    # -- KPIs -----------------------------------------------------------------------------
    def kpis(self) -> dict[str, KPI]:
        """Tardiness, late and finished orders, makespan, and the planned
        tardiness of the released orders next to what they really had."""
        now = self.env.now
        orders = self.orders
        done = [o for o in orders if not math.isnan(o.done_s)]
        late = sum(1 for o in orders if o.tardiness_s(now) > 0)
        tardiness_h = sum(o.tardiness_s(now) for o in orders) / SECONDS_PER_HOUR
        # Until every order is done the makespan is at least the time now.
        makespan_s = max((o.done_s for o in done), default=0.0) if len(done) == len(orders) else now
        planned = [o for o in orders if not math.isnan(o.planned_done_s)]
        planned_h = sum(max(0.0, o.planned_done_s - o.due_s) for o in planned) / SECONDS_PER_HOUR
        real_h = sum(o.tardiness_s(now) for o in planned) / SECONDS_PER_HOUR
        count = len(orders)
        return {
            "orders": KPI(float(count), "orders", "orders in the book"),
            "orders_done": KPI(float(len(done)), "orders", "orders with all their good parts"),
            "orders_late": KPI(
                float(late), "orders", "finished after the due date, or open and past it"
            ),
            "late_share": KPI(late / count if count else 0.0, "1", "orders late / orders"),
            "tardiness_h": KPI(
                tardiness_h, "h", "sum over orders of time past the due date (open: until now)"
            ),
            "tardiness_mean_h": KPI(
                tardiness_h / count if count else 0.0, "h", "tardiness per order"
            ),
            "makespan_h": KPI(
                makespan_s / SECONDS_PER_HOUR,
                "h",
                "start to the last order done (now, while some are open)",
            ),
            "planning_epochs": KPI(float(self.epochs), "epochs"),
            "planning_fallbacks": KPI(
                float(self.fallbacks), "epochs", "plans made by the fallback rule (solver failed)"
            ),
            "planning_mip_gap": KPI(
                self.mip_gap_max,
                "1",
                "largest relative MIP gap of a plan (0: all optimal, or no solver)",
            ),
            "planned_tardiness_h": KPI(
                planned_h, "h", "tardiness the plans expected of the orders they released"
            ),
            "planned_orders_tardiness_h": KPI(
                real_h, "h", "tardiness those same orders really had"
            ),
            "plan_gap_h": KPI(
                real_h - planned_h, "h", "real minus planned tardiness of the planned orders"
            ),
        }
