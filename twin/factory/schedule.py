"""What every planning policy needs from an observation (``models/planning`` and the
learning interface's rule choice): each order's work per station,
the stations' capacity, and a forward list schedule that turns a rule into releases.

The list schedule treats a station as one server ``machines x availability`` times as
fast as a machine, and an order as one job (its parts one after another): the planner's
aggregate view, not the twin's. Its finishing times are what a rule expects
(``Release.planned_done_s``), so the rules report a plan-vs-reality gap too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from twin.factory.observation import OpenOrder, PlanningObservation, Release

RuleKey = Callable[[OpenOrder, "Instance"], tuple[float, ...]]


@dataclass(frozen=True)
class Instance:
    """The numbers of a planning observation, by position.

    Attributes:
        orders: the open orders, by number.
        route: per product name, its stations' positions in processing order.
        work_s: per order, per step of its route, its whole quantity's processing time.
        rate: per station, machines x forecast availability (machines up now, if fewer).
        setup_s: per station, the changeover time of one machine.
        machines: per station, its machines.
        backlog_s: per station, work still owed to released parts.
        part_work_s: per product name, one part's processing time over its route.
    """

    orders: tuple[OpenOrder, ...]
    route: dict[str, tuple[int, ...]]
    work_s: tuple[tuple[float, ...], ...]
    rate: tuple[float, ...]
    setup_s: tuple[float, ...]
    machines: tuple[int, ...]
    backlog_s: tuple[float, ...]
    part_work_s: dict[str, float]

    @classmethod
    def of(cls, obs: PlanningObservation) -> Instance:
        station = {view.name: i for i, view in enumerate(obs.stations)}
        route = {p.name: tuple(station[name] for name in p.route) for p in obs.products}
        unit_work = {p.name: p.work_s for p in obs.products}
        work = tuple(
            tuple(order.quantity * w for w in unit_work[order.product]) for order in obs.orders
        )
        # A station with every machine down still gets a sliver of capacity: it is being
        # repaired, and a zero rate would make every finishing time infinite.
        rate = tuple(
            max(min(view.machines * view.availability, float(view.machines_up)), 0.1)
            for view in obs.stations
        )
        return cls(
            orders=obs.orders,
            route=route,
            work_s=work,
            rate=rate,
            setup_s=tuple(view.setup_s for view in obs.stations),
            machines=tuple(view.machines for view in obs.stations),
            backlog_s=tuple(view.backlog_s for view in obs.stations),
            part_work_s={p.name: sum(p.work_s) for p in obs.products},
        )


def fifo_key(order: OpenOrder, instance: Instance) -> tuple[float, ...]:
    """First come (earliest release date), first served."""
    return (order.ready_s, order.number)


def edd_key(order: OpenOrder, instance: Instance) -> tuple[float, ...]:
    """Earliest due date first."""
    return (order.due_s, order.number)


def spt_key(order: OpenOrder, instance: Instance) -> tuple[float, ...]:
    """Shortest processing time (the order's whole work over its route) first."""
    return (order.quantity * instance.part_work_s[order.product], order.number)


def list_schedule(
    obs: PlanningObservation, key: RuleKey, sequence: list[int] | None = None
) -> list[Release]:
    """Releases of every open order by a non-delay list schedule.

    Whenever an order can start (its release date has come and the first station of its
    route has finished the orders before it), the best waiting order by ``key`` is
    released; with ``sequence`` (positions in ``obs.orders``) the orders go in that order
    instead. Each release carries when the schedule expects the order done.
    """
    instance = Instance.of(obs)
    now = obs.now_s
    free = [now + b / r for b, r in zip(instance.backlog_s, instance.rate, strict=True)]
    set_up: list[str | None] = [None] * len(free)  # the twin's machines may be set up: unknown
    waiting = list(range(len(obs.orders))) if sequence is None else list(sequence)
    releases: list[Release] = []
    while waiting:
        if sequence is None:
            start = min(_earliest(obs.orders[i], instance, free, now) for i in waiting)
            ready = [i for i in waiting if _earliest(obs.orders[i], instance, free, now) <= start]
            chosen = min(ready, key=lambda i: key(obs.orders[i], instance))
        else:
            chosen = waiting[0]
            start = _earliest(obs.orders[chosen], instance, free, now)
        waiting.remove(chosen)
        order = obs.orders[chosen]
        done = start
        for step, station in enumerate(instance.route[order.product]):
            begin = max(done, free[station])
            changeover = instance.setup_s[station] if set_up[station] != order.product else 0.0
            done = begin + (instance.work_s[chosen][step] + changeover) / instance.rate[station]
            free[station] = done
            set_up[station] = order.product
        releases.append(Release(order.number, start, done))
    return releases


def _earliest(order: OpenOrder, instance: Instance, free: list[float], now: float) -> float:
    return max(now, order.ready_s, free[instance.route[order.product][0]])


def planned_tardiness_s(obs: PlanningObservation, releases: list[Release]) -> float:
    """Tardiness the releases expect, summed over their orders."""
    due = {order.number: order.due_s for order in obs.orders}
    return sum(
        max(0.0, r.planned_done_s - due[r.order])
        for r in releases
        if not math.isnan(r.planned_done_s)
    )
