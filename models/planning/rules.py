"""The baselines: release orders by a list schedule in FIFO, EDD or SPT order."""

from __future__ import annotations

from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.factory.observation import PlanningAction, PlanningObservation
from twin.factory.schedule import (
    RuleKey,
    edd_key,
    fifo_key,
    list_schedule,
    planned_tardiness_s,
    spt_key,
)


class _RuleRelease(BasePolicy[PlanningObservation, PlanningAction]):
    domain: ClassVar[str] = "factory.planning"
    rule: ClassVar[tuple[RuleKey]]
    """The rule's sort key (in a tuple, so it is not bound as a method)."""

    def act(self, obs: PlanningObservation) -> PlanningAction:
        releases = list_schedule(obs, self.rule[0])
        return PlanningAction(tuple(releases), planned_tardiness_s(obs, releases))


class Fifo(_RuleRelease):
    """Release each order when it may start and its first station is free, oldest
    release date first."""

    id: ClassVar[str] = "planning/fifo-v0"
    description: ClassVar[str] = "baseline: release orders first come, first served"
    rule = (fifo_key,)


class Edd(_RuleRelease):
    """As FIFO, but the waiting order with the earliest due date goes first; also the
    optimiser's fallback."""

    id: ClassVar[str] = "planning/edd-v0"
    description: ClassVar[str] = "baseline: release orders earliest due date first"
    rule = (edd_key,)


class Spt(_RuleRelease):
    """As FIFO, but the waiting order with the least work goes first."""

    id: ClassVar[str] = "planning/spt-v0"
    description: ClassVar[str] = "baseline: release orders shortest processing time first"
    rule = (spt_key,)
