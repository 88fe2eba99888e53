"""The baseline: oldest request first, to the nearest idle AGV that has the charge for it."""

from __future__ import annotations

from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.factory.observation import WAIT, AgvView, DispatchAction, DispatchObservation


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
        assignments: list[tuple[int, int]] = []
        for position, request in enumerate(obs.requests):
            # One row of distances to the pickup serves every vehicle: this runs at every
            # epoch over the whole idle fleet (100 AGVs in the large plant).
            to_pickup = layout.distances_from(request.pickup)
            onward_m = request.trip_m + layout.charger_distance_m(request.drop)
            best: tuple[bool, float, int] | None = None
            chosen = idle[0]
            for agv in idle:
                empty_m = to_pickup[layout.index(agv.node)]
                short_of_charge = (empty_m + onward_m) > agv.range_m * (1.0 + 1e-9)
                key = (short_of_charge, empty_m, agv.id)
                if best is None or key < best:
                    best, chosen = key, agv
            assignments.append((position, chosen.id))
            idle.remove(chosen)
            if not idle:
                break
        return DispatchAction(tuple(assignments))
