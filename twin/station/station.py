"""The station: Poisson arrivals, an admission decision, c servers, a FIFO queue."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import simpy

from twin.core.distributions import Exponential
from twin.core.policy import Policy
from twin.station.observation import (
    ADMIT,
    REJECT,
    StationObservation,
    check_station_action,
)

if TYPE_CHECKING:
    from twin.core.sensors import ReadingBoard
    from twin.core.world import World
    from twin.station.scenario import StationParams

_new_tuple = tuple.__new__


class Station(mesa.Agent):
    """A multi-server FIFO queue whose arrivals pass an admission policy.

    Each server is a SimPy process that takes the oldest waiting job from a store, as
    the machines of SimPy's machine-shop example do; an arrival that finds a server
    free claims it at once. Every arrival draws its service time whether or not it is
    admitted, so two policies run with the same seed serve the same jobs (common
    random numbers).
    """

    def __init__(self, world: World, params: StationParams, policy: Policy[Any, Any]) -> None:
        super().__init__(world)
        self.world = world
        self.params = params
        self.policy = policy
        self.env = world.env
        self.jobs: simpy.Store = simpy.Store(world.env)
        """Admitted jobs not yet taken by a server, oldest first: (arrived_s, service_s)."""
        self.free_servers = params.servers
        self.in_system = 0
        self.sensor_board: ReadingBoard | None = None
        self._interarrival = Exponential(mean=1.0 / params.arrival_rate_per_s).draws(
            world.streams["station.arrivals"]
        )
        self._service = params.service.draws(world.streams["station.service"])

        probes = world.probes
        self.arrived = probes.counter("arrived")
        self.rejected = probes.counter("rejected")
        self.completed = probes.counter("completed")
        self.wait = probes.tally("wait_s")
        self.queue = probes.level("queue_length")
        self.busy = probes.level("busy_servers")
        # Time in system is wait plus service: the service sum of completed jobs gives
        # its mean without a second tally on the hot path.
        self.served_service_s = 0.0
        world.at_warmup_end(self._restart_service_sum)
        world.pool_power_meter(
            "station",
            self.busy,
            params.servers,
            params.server_busy_power_kw,
            params.server_idle_power_kw,
        )
        self.process = world.env.process(self.arrive())
        self.server_processes = [world.env.process(self.serve()) for _ in range(params.servers)]

    def arrive(self) -> simpy.events.ProcessGenerator:
        env = self.env
        interarrival = self._interarrival
        service = self._service
        capacity = self.params.capacity
        while True:
            yield env.timeout(next(interarrival))
            service_s = next(service)
            self.arrived.count += 1
            action = self.policy.act(self.observe())
            if action is not ADMIT and action is not REJECT:
                self._check(action)
            if not action.admit or (capacity is not None and self.in_system >= capacity):
                self._reject()
                continue
            self.in_system += 1
            self.jobs.put((env.now, service_s))
            if self.free_servers:
                self.free_servers -= 1
                self.busy.set(self.params.servers - self.free_servers)
            else:
                self.queue.set(len(self.jobs.items))

    def serve(self) -> simpy.events.ProcessGenerator:
        """One server: take the oldest job, serve it, repeat."""
        env = self.env
        jobs = self.jobs
        queue = self.queue
        while True:
            arrived_s, service_s = yield jobs.get()
            wait_s = env.now - arrived_s
            if wait_s:  # it waited in the queue, which is now one shorter
                queue.set(len(jobs.items))
            self.wait.observe(wait_s)
            yield env.timeout(service_s)
            self.in_system -= 1
            self.completed.count += 1
            self.served_service_s += service_s
            if not jobs.items:
                self.free_servers += 1
                self.busy.set(self.params.servers - self.free_servers)

    def observe(self) -> StationObservation:
        sensed = math.nan
        if self.sensor_board is not None:
            sensed = float(self.sensor_board.values[0])
        params = self.params
        # tuple.__new__ skips NamedTuple's generated __new__, a third of the cost of an
        # observation, and this runs at every arrival.
        return _new_tuple(
            StationObservation,
            (
                self.env.now,
                len(self.jobs.items),
                params.servers - self.free_servers,
                params.servers,
                params.capacity,
                sensed,
            ),
        )

    def queue_length_signal(self) -> np.ndarray:
        """The true queue length, as the station's sensor measures it."""
        return np.array([float(len(self.jobs.items))])

    def _check(self, action: object) -> None:
        check_station_action(action, getattr(self.policy, "id", type(self.policy).__name__))

    def _reject(self) -> None:
        self.rejected.count += 1
        if self.params.rejection_cost:
            self.world.ledger.charge(
                "lost_production", self.params.rejection_cost, entity="station"
            )

    def _restart_service_sum(self) -> None:
        self.served_service_s = 0.0
