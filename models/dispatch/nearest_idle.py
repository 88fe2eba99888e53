"""The baseline: oldest request first, to the nearest idle AGV that has the charge for it."""

from __future__ import annotations

from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.factory.agv import WAIT, AgvView, DispatchAction, DispatchObservation


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
        assignments: list[tuple[int, int]] = []
        for position, request in enumerate(obs.requests):
            charged = [agv for agv in idle if obs.can_serve(agv, request)]
            best = min(
                charged or idle,
                key=lambda agv: (obs.pickup_distance_m(agv, request), agv.id),
            )
            assignments.append((position, best.id))
            idle.remove(best)
            if not idle:
                break
        return DispatchAction(tuple(assignments))
