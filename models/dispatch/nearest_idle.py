"""The baseline: oldest request first, to the nearest idle AGV that has the charge for it."""

from __future__ import annotations

import math
from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.factory.observation import WAIT, AgvView, DispatchAction, DispatchObservation

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

    def act(self, obs: DispatchObservation) -> DispatchAction:
        idle: list[AgvView] = [agv for agv in obs.agvs if agv.idle]
        if not idle:
            return WAIT
        layout = obs.layout
        node_index = layout.node_index
        assignments: list[tuple[int, int]] = []
        for position, request in enumerate(obs.requests):
            # One row of distances to the pickup serves every vehicle: this runs at every
            # epoch over the whole idle fleet (100 AGVs in the large plant), so the order
            # (has the charge, shortest way, lowest id) is kept by hand, without a tuple
            # per vehicle.
            to_pickup = layout.distances_from(request.pickup)
            onward_m = request.trip_m + layout.charger_distance_m(request.drop)
            with_charge: AgvView | None = None
            with_charge_m = math.inf
            short: AgvView | None = None
            short_m = math.inf
            for agv in idle:
                empty_m = to_pickup[node_index[agv.node]]
                if empty_m + onward_m > agv.range_m * _SLACK:
                    if empty_m < short_m or (
                        empty_m == short_m and short is not None and agv.id < short.id
                    ):
                        short, short_m = agv, empty_m
                elif empty_m < with_charge_m or (
                    empty_m == with_charge_m and with_charge is not None and agv.id < with_charge.id
                ):
                    with_charge, with_charge_m = agv, empty_m
            chosen = with_charge or short or idle[0]
            assignments.append((position, chosen.id))
            idle.remove(chosen)
            if not idle:
                break
        return DispatchAction(tuple(assignments))
