"""Deliberately broken policies and a broken scenario: the kit must catch each of them."""

from __future__ import annotations

import random
import time
from typing import Any, ClassVar

from twin.core.policy import BasePolicy, PolicyContext
from twin.core.world import World
from twin.factory.observation import (
    CONTINUE,
    MAINTAIN,
    DispatchAction,
    DispatchObservation,
    MaintenanceAction,
    MaintenanceObservation,
)
from twin.station import ADMIT, REJECT, StationAction, StationObservation
from twin.station.scenario import StationScenario
from twin.station.station import Station


class AssignsMissingAgv(BasePolicy[DispatchObservation, DispatchAction]):
    """Sends the first request to an AGV one past the end of the fleet."""

    id: ClassVar[str] = "broken/missing-agv-v0"
    domain: ClassVar[str] = "factory.dispatch"

    def act(self, obs: DispatchObservation) -> DispatchAction:
        if not obs.requests:
            return DispatchAction(())
        return DispatchAction(((0, len(obs.agvs)),))


class GlobalRandom(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Maintains on a coin flip from Python's global ``random``, not its own stream."""

    id: ClassVar[str] = "broken/global-random-v0"
    domain: ClassVar[str] = "factory.maintenance"

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        return MAINTAIN if random.random() < 0.05 else CONTINUE  # the bug


class CrashesOnEmptyQueue(BasePolicy[StationObservation, StationAction]):
    """Rejects when the queue per busy server is long; divides by zero on an empty queue."""

    id: ClassVar[str] = "broken/empty-queue-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        servers_per_waiting_job = obs.busy_servers / obs.queue_length
        return REJECT if servers_per_waiting_job < 0.2 else ADMIT


class RejectsAtRandom(BasePolicy[StationObservation, StationAction]):
    """Turns away a fifth of the arrivals at random (from its own stream): loses
    throughput against admitting everyone."""

    id: ClassVar[str] = "broken/rejects-at-random-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        assert self.context is not None
        return REJECT if self.context.rng.random() < 0.2 else ADMIT


class RemembersAcrossResets(BasePolicy[StationObservation, StationAction]):
    """Rejects every third arrival it has ever seen: its counter survives ``reset``."""

    id: ClassVar[str] = "broken/remembers-v0"
    domain: ClassVar[str] = "station"

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.seen = 0

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)  # forgets to reset self.seen

    def act(self, obs: StationObservation) -> StationAction:
        self.seen += 1
        return REJECT if self.seen % 3 == 0 else ADMIT


class LeakyStation(StationScenario):
    """A station that loses a waiting job whenever a server finds three or more waiting."""

    id = "broken/leaky-station-v0"

    def build(self, world: World, policy: Any) -> None:
        self.station = _LeakyServers(world, self.params, policy)


class _LeakyServers(Station):
    def serve(self) -> Any:
        jobs = self.jobs
        while True:
            arrived_s, service_s = yield jobs.get()
            if len(jobs.items) >= 3:
                jobs.items.pop()  # the bug: a job vanishes from the queue and the books
                self.in_system -= 1
            self.wait.observe(self.env.now - arrived_s)
            yield self.env.timeout(service_s)
            self.in_system -= 1
            self.completed.count += 1
            if not jobs.items:
                self.free_servers += 1


class UsesTheClock(BasePolicy[StationObservation, StationAction]):
    """Rejects when the nanosecond clock is odd: different answers on every replay."""

    id: ClassVar[str] = "broken/uses-the-clock-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        return REJECT if time.perf_counter_ns() % 2 else ADMIT


class NeverAnswers(BasePolicy[StationObservation, StationAction]):
    """Loops forever in its first decision (pure Python: the watchdog can interrupt it)."""

    id: ClassVar[str] = "broken/never-answers-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        while True:
            pass


class DispatchNeverAnswers(BasePolicy[DispatchObservation, DispatchAction]):
    """An AGV dispatcher that loops forever in its first decision."""

    id: ClassVar[str] = "broken/dispatch-never-answers-v0"
    domain: ClassVar[str] = "factory.dispatch"

    def act(self, obs: DispatchObservation) -> DispatchAction:
        while True:
            pass


class MaintenanceRaises(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Raises in its first decision: a bug in a policy's own code."""

    id: ClassVar[str] = "broken/maintenance-raises-v0"
    domain: ClassVar[str] = "factory.maintenance"

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        raise KeyError("machine_health")
