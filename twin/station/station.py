"""The station: Poisson arrivals, an admission decision, c servers, a FIFO queue."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import simpy

from twin.core.distributions import Exponential
from twin.core.policy import InvalidActionError, Policy
from twin.station.observation import StationAction, StationObservation

if TYPE_CHECKING:
    from twin.core.sensors import ReadingBoard
    from twin.core.world import World
    from twin.station.scenario import StationParams


class Station(mesa.Agent):
    """A multi-server queue whose arrivals pass an admission policy.

    Every arrival draws its service time whether or not it is admitted, so two policies
    run with the same seed serve the same jobs (common random numbers).
    """

    def __init__(self, world: World, params: StationParams, policy: Policy[Any, Any]) -> None:
        super().__init__(world)
        self.world = world
        self.params = params
        self.policy = policy
        self.env = world.env
        self.servers = simpy.Resource(world.env, capacity=params.servers)
        self._interarrival = Exponential(mean=1.0 / params.arrival_rate_per_s).draws(
            world.streams["station.arrivals"]
        )
        self._service = params.service.draws(world.streams["station.service"])
        self.in_system = 0
        self.sensor_board: ReadingBoard | None = None

        probes = world.probes
        self.arrived = probes.counter("arrived")
        self.rejected = probes.counter("rejected")
        self.completed = probes.counter("completed")
        self.wait = probes.tally("wait_s")
        self.sojourn = probes.tally("sojourn_s")
        self.queue = probes.level("queue_length")
        self.busy = probes.level("busy_servers")
        self.occupancy = probes.level("in_system")

        # Server i is busy while at least i + 1 servers are: which server takes a job does
        # not change the energy booked, and this needs no per-server bookkeeping.
        power_kw = {"busy": params.server_busy_power_kw, "idle": params.server_idle_power_kw}
        self._meters = [
            world.power_meter(f"station.server{i}", power_kw, "idle") for i in range(params.servers)
        ]
        self.process = world.env.process(self.arrive())

    def arrive(self) -> simpy.events.ProcessGenerator:
        env = self.env
        interarrival = self._interarrival
        service = self._service
        while True:
            yield env.timeout(next(interarrival))
            service_s = next(service)
            self.arrived.count += 1
            action = self.policy.act(self.observe())
            if type(action) is not StationAction or type(action.admit) is not bool:
                raise InvalidActionError(
                    getattr(self.policy, "id", type(self.policy).__name__),
                    action,
                    "expected StationAction(admit=True|False)",
                )
            capacity = self.params.capacity
            if not action.admit or (capacity is not None and self.in_system >= capacity):
                self.rejected.count += 1
                if self.params.rejection_cost:
                    self.world.ledger.charge(
                        "lost_production", self.params.rejection_cost, entity="station"
                    )
                continue
            env.process(self.serve(service_s))

    def observe(self) -> StationObservation:
        sensed = math.nan
        if self.sensor_board is not None:
            sensed = float(self.sensor_board.values[0])
        return StationObservation(
            self.env.now,
            len(self.servers.queue),
            self.servers.count,
            self.params.servers,
            self.params.capacity,
            sensed,
        )

    def serve(self, service_s: float) -> simpy.events.ProcessGenerator:
        env = self.env
        arrived_s = env.now
        self.in_system += 1
        self.occupancy.set(self.in_system)
        with self.servers.request() as request:
            self.queue.set(len(self.servers.queue))
            yield request
            self.queue.set(len(self.servers.queue))
            self.wait.observe(env.now - arrived_s)
            self._meters[self.servers.count - 1].switch("busy")
            self.busy.set(self.servers.count)
            yield env.timeout(service_s)
            self._meters[self.servers.count - 1].switch("idle")
        self.busy.set(self.servers.count)
        self.in_system -= 1
        self.occupancy.set(self.in_system)
        self.completed.count += 1
        self.sojourn.observe(env.now - arrived_s)

    def queue_length_signal(self) -> np.ndarray:
        """The true queue length, as the station's sensor measures it."""
        return np.array([float(len(self.servers.queue))])
