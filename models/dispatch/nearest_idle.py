"""The baseline: oldest request first, to the nearest idle AGV that has the charge for it."""

from __future__ import annotations

import math
from typing import ClassVar

from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.factory.layout import Layout
from twin.factory.observation import (
    WAIT,
    AgvView,
    DispatchAction,
    DispatchObservation,
    FleetViews,
    TransportRequest,
)

_SLACK = 1.0 + 1e-9
"""A job sized exactly to the battery must not count as short of charge through rounding."""


class NearestIdle(BasePolicy[DispatchObservation, DispatchAction]):
    """FIFO over requests; each goes to the idle AGV with the shortest path to its pickup.

    AGVs that can do the job and still reach a charger are preferred. When no idle AGV
    has the charge, the nearest idle one is sent anyway (it charges first), so a request
    never waits on a fleet that would otherwise stand still. Ties go to the lower AGV id.
    """

    id: ClassVar[str] = "dispatch/nearest-idle-v0"
    domain: ClassVar[str] = "factory.dispatch"
    description: ClassVar[str] = "baseline: oldest request to the nearest idle AGV with charge"

    def __init__(self, params: PolicyParams | None = None) -> None:
        super().__init__(params)
        self._idle = _IdleIndex()

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self._idle = _IdleIndex()

    def act(self, obs: DispatchObservation) -> DispatchAction:
        idle = self._idle
        idle.update(obs.agvs)
        if not idle.count:
            return WAIT
        layout = obs.layout
        taken: set[int] = set()
        assignments: list[tuple[int, int]] = []
        for position, request in enumerate(obs.requests):
            chosen = _nearest(request, idle.at_node, idle.count - len(taken), taken, layout)
            assignments.append((position, chosen.id))
            taken.add(chosen.id)
            if len(taken) == idle.count:
                break
        return DispatchAction(tuple(assignments))


class _IdleIndex:
    """Idle vehicles by node, carried from one observation to the next.

    Each request walks the layout outward from its pickup and stops at the first vehicle
    with the charge, so vehicles must be found by node. The fleet hands over the very same
    view for a vehicle that did not change, so between two epochs only the few views that
    differ are filed again (filing all 100 AGVs at every request was most of the
    dispatcher's time in the large plant), and a fleet's :class:`FleetViews` names them
    outright. Any sequence of observations gives the index of the last one: a view that
    is not the one seen before at its place is refiled.
    """

    def __init__(self) -> None:
        self.views: tuple[AgvView, ...] = ()
        self.at_node: dict[str, dict[int, AgvView]] = {}
        self.count = 0

    def update(self, agvs: tuple[AgvView, ...]) -> None:
        if agvs is self.views:
            return
        before: tuple[AgvView | None, ...] = self.views
        if (
            isinstance(agvs, FleetViews)
            and isinstance(before, FleetViews)
            and agvs.fleet is before.fleet
            and agvs.version == before.version + 1
        ):
            # The fleet says which views changed since the last one seen: only those.
            for i in agvs.changed:
                self._refile(agvs[i], before[i])
        else:
            if len(before) != len(agvs):
                self.at_node.clear()
                self.count = 0
                before = (None,) * len(agvs)
            for new, old in zip(agvs, before, strict=True):
                if new is not old:
                    self._refile(new, old)
        self.views = agvs

    def _refile(self, new: AgvView, old: AgvView | None) -> None:
        at_node = self.at_node
        if old is not None and old.idle:
            bucket = at_node[old.node]
            del bucket[old.id]
            if not bucket:
                del at_node[old.node]
            self.count -= 1
        if new.idle:
            at_node.setdefault(new.node, {})[new.id] = new
            self.count += 1


def _nearest(
    request: TransportRequest,
    at_node: dict[str, dict[int, AgvView]],
    available: int,
    taken: set[int],
    layout: Layout,
) -> AgvView:
    """The idle AGV not ``taken`` first by (short of charge, metres to the pickup, id)."""
    onward_m = request.trip_m + layout.charger_distance_m(request.drop)
    nodes = layout.nodes
    with_charge: AgvView | None = None
    with_charge_m = math.inf
    short: AgvView | None = None
    short_m = math.inf
    seen = 0
    for j, empty_m in layout.walk_outward(request.pickup):
        if empty_m > with_charge_m:
            break  # every vehicle from here on is farther than one that can do the job
        agvs = at_node.get(nodes[j])
        if agvs is None:
            continue
        for agv in agvs.values():
            if agv.id in taken:
                continue
            seen += 1
            if empty_m + onward_m > agv.range_m * _SLACK:
                if short is None or empty_m < short_m or (empty_m == short_m and agv.id < short.id):
                    short, short_m = agv, empty_m
            elif (
                with_charge is None
                or empty_m < with_charge_m
                or (empty_m == with_charge_m and agv.id < with_charge.id)
            ):
                with_charge, with_charge_m = agv, empty_m
        if seen == available:
            break
    chosen = with_charge or short
    assert chosen is not None  # the walk covers every node, so every idle vehicle
    return chosen
