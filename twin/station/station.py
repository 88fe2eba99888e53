"""The station: Poisson arrivals, an admission decision, c servers, a FIFO queue."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twin.core.distributions import Exponential
from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.scenario import KPI
from twin.core.units import SECONDS_PER_HOUR
from twin.station.observation import (
    ADMIT,
    REJECT,
    StationObservation,
    check_station_action,
)

if TYPE_CHECKING:
    from twin.core.sensors import ReadingBoard
    from twin.core.world import World
    from twin.station.config import StationParams

_new_tuple = tuple.__new__


class Station(Entity):
    """A multi-server FIFO queue whose arrivals pass an admission policy (entity ``station``).

    Each server is a SimPy process that takes the oldest waiting job from a store, as
    the machines of SimPy's machine-shop example do; an arrival that finds a server
    free claims it at once. Only an idle server waits on the store: a job that finds
    every server busy joins the store's list of items without a SimPy event, and a
    server that ends a service with jobs waiting takes the oldest at once (nothing can
    happen between the two at the same instant but other events of that instant, so
    results are those of ``put`` and ``get`` with two events fewer per queued job).
    Every arrival draws its service time whether or not it is admitted, so two
    policies run with the same seed serve the same jobs (common random numbers).

    Its ``pos`` is the centre of the column of servers, where its view draws them.
    """

    def __init__(self, world: World, params: StationParams, policy: Policy[Any, Any]) -> None:
        super().__init__(world, "station", (0.0, 0.0))
        self.world = world
        self.params = params
        self.policy = policy
        self._policy_id: str = getattr(policy, "id", type(policy).__name__)
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
        # Everything read per arrival is bound once: this loop runs once per job and
        # each attribute lookup is a measurable share of twin's cost over raw SimPy.
        env = self.env
        timeout = env.timeout
        interarrival = self._interarrival
        service = self._service
        servers = self.params.servers
        capacity = self.params.capacity
        put = self.jobs.put
        waiting = self.jobs.items
        arrived = self.arrived
        busy = self.busy
        queue = self.queue
        while True:
            yield timeout(next(interarrival))
            now = env.now  # a property: read once per arrival
            service_s = next(service)
            arrived.count += 1
            observation = self._observe_now(now, len(waiting), servers - self.free_servers)
            action = self.policy.act(observation)
            if action is not ADMIT and action is not REJECT:
                check_station_action(action, observation, self._policy_id)
            if not action.admit or (capacity is not None and self.in_system >= capacity):
                self._reject()
                continue
            self.in_system += 1
            if self.free_servers:
                put((now, service_s))  # an idle server waits on the store: this wakes it
                self.free_servers -= 1
                busy.set_at(servers - self.free_servers, now)
            else:  # no server waits on the store: the job only joins the queue
                waiting.append((now, service_s))
                queue.set_at(len(waiting), now)

    def serve(self) -> simpy.events.ProcessGenerator:
        """One server: take the oldest job, serve it, repeat."""
        env = self.env
        timeout = env.timeout
        get = self.jobs.get
        waiting = self.jobs.items
        queue = self.queue
        busy = self.busy
        observe_wait = self.wait.observe
        completed = self.completed
        servers = self.params.servers
        while True:
            if waiting:  # the oldest job is taken at once, as get() would hand it over
                arrived_s, service_s = waiting.pop(0)
            else:
                arrived_s, service_s = yield get()
            now = env.now
            wait_s = now - arrived_s
            if wait_s:  # it waited in the queue, which is now one shorter
                queue.set_at(len(waiting), now)
            observe_wait(wait_s)
            yield timeout(service_s)
            self.in_system -= 1
            completed.count += 1
            self.served_service_s += service_s
            if not waiting:
                self.free_servers += 1
                busy.set(servers - self.free_servers)

    def observe(self) -> StationObservation:
        """The station as an arrival would find it now."""
        return self._observe_now(
            self.env.now, len(self.jobs.items), self.params.servers - self.free_servers
        )

    def _observe_now(self, now_s: float, queue_length: int, busy: int) -> StationObservation:
        sensed = math.nan
        board = self.sensor_board
        if board is not None:
            sensed = float(board.values[0])
        params = self.params
        # tuple.__new__ skips NamedTuple's generated __new__, a third of the cost of an
        # observation, and this runs at every arrival.
        return _new_tuple(
            StationObservation,
            (now_s, queue_length, busy, params.servers, params.capacity, sensed),
        )

    def queue_length_signal(self) -> np.ndarray:
        """The true queue length, as the station's sensor measures it."""
        return np.array([float(len(self.jobs.items))])

    def _reject(self) -> None:
        self.rejected.count += 1
        if self.params.rejection_cost:
            self.world.ledger.charge(
                "lost_production", self.params.rejection_cost, entity="station"
            )

    def _restart_service_sum(self) -> None:
        self.served_service_s = 0.0

    def inspect(self) -> dict[str, Any]:
        """The queue, the servers, the sensed queue and the job counts so far."""
        now = self.env.now
        board = self.sensor_board
        return {
            "entity": self.name,
            "queue_length": len(self.jobs.items),
            "busy_servers": self.params.servers - self.free_servers,
            "servers": self.params.servers,
            "capacity": self.params.capacity,
            "sensed_queue_length": float(board.values[0]) if board is not None else None,
            "arrived": int(self.arrived.value(now)),
            "completed": int(self.completed.value(now)),
            "rejected": int(self.rejected.value(now)),
        }

    def kpis(self) -> dict[str, KPI]:
        """The station's KPIs since the end of the warm-up (the one place they are computed)."""
        span_s = self.world.now_s - self.world.warmup_s
        arrived = self.arrived.count
        rejected = self.rejected.count
        completed = self.completed.count
        service_mean_s = self.served_service_s / completed if completed else float("nan")
        return {
            "wait_mean_s": KPI(self.wait.mean, "s", "mean wait in queue of served jobs (Wq)"),
            "wait_p95_s": KPI(self.wait.quantile(0.95), "s", "95th percentile of wait"),
            "sojourn_mean_s": KPI(
                self.wait.mean + service_mean_s, "s", "mean time in station (W = Wq + S)"
            ),
            "queue_length_mean": KPI(self.queue.mean(), "jobs", "time-average queue (Lq)"),
            "in_system_mean": KPI(
                self.queue.mean() + self.busy.mean(), "jobs", "time-average in station (L)"
            ),
            "utilisation": KPI(
                self.busy.mean() / self.params.servers, "1", "share of server time busy"
            ),
            "throughput_per_h": KPI(
                self.completed.count / span_s * SECONDS_PER_HOUR, "jobs/h", "completed jobs"
            ),
            "arrived": KPI(float(arrived), "jobs", "arrivals after the warm-up"),
            "rejected": KPI(float(rejected), "jobs", "arrivals turned away"),
            "rejected_share": KPI(
                rejected / arrived if arrived else 0.0, "1", "share of arrivals turned away"
            ),
        }
