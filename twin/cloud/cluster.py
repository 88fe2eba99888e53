"""The cluster: nodes with cold starts, a load balancer, an autoscaler process, accounting.

SimPy owns time. A :class:`Node` is one launch of a VM in a slot; its process is its
cold start (a timeout before it accepts work) and, once drained, the wait for its last
request before it powers off. The :class:`Cluster`'s autoscaler process wakes every sync period: it
draws the window's arrivals, routes and serves them in one kernel call
(:mod:`twin.cloud.kernels`), books energy, cost and CO2e, observes, asks the policy and
launches or drains nodes. Requests are not SimPy events; node launches, readiness,
drains and power-offs are.

The cluster is the entity ``"cluster"``; each of its node slots is the entity
``"node:<slot>"`` (:class:`NodeSlot`, a view over the cluster's arrays that shows
whichever node holds the slot now), placed on the grid the view draws.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from twin.cloud import kernels
from twin.cloud.observation import ScalingAction, ScalingObservation, check_scaling_action
from twin.cloud.workload import Backlog, LoadPattern
from twin.cloud.workload import class_streams as make_class_streams
from twin.core.entity import Entity
from twin.core.ledger import EmissionFactor
from twin.core.policy import Policy
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

if TYPE_CHECKING:
    from twin.cloud.config import CloudParams
    from twin.core.world import World

INF = math.inf
NODE_ENTITY = "cloud.nodes"


class Node:
    """One node (VM) in a cluster slot, from launch to power-off.

    States: ``starting`` (cold start, drawing idle power, billed), ``ready`` (accepting
    work), ``draining`` (finishing its queue, accepting nothing), ``off``.
    """

    def __init__(self, cluster: Cluster, slot: int, ready_at_start: bool) -> None:
        self.cluster = cluster
        self.slot = slot
        env = cluster.env
        self.launched_s = float(env.now)
        self.accounted_s = self.launched_s
        self.ready_s = INF
        self.drain_s = INF
        self.off_s = INF
        self.done_work_s = 0.0
        self.state = "starting"
        if ready_at_start:
            self._become_ready()
        else:
            self.process = env.process(self._cold_start(cluster.params.node.cold_start_s))

    def _cold_start(self, cold_start_s: float) -> simpy.events.ProcessGenerator:
        yield self.cluster.env.timeout(cold_start_s)
        if self.state == "starting":  # not cancelled while it booted
            self._become_ready()

    def _become_ready(self) -> None:
        self.state = "ready"
        self.ready_s = float(self.cluster.env.now)
        self.cluster.ready_s[self.slot] = self.ready_s

    def drain(self) -> None:
        """Stop accepting work; power off when the last request in the node completes."""
        cluster = self.cluster
        now = float(cluster.env.now)
        if self.state == "starting":  # cancel the launch: nothing to finish
            self.state = "draining"
            self.drain_s = now
            self._power_off()
            return
        self.state = "draining"
        self.drain_s = now
        cluster.drain_s[self.slot] = now
        last_completion = float(cluster.free[self.slot].max())
        cluster.env.process(self._finish(max(0.0, last_completion - now)))

    def _finish(self, remaining_s: float) -> simpy.events.ProcessGenerator:
        yield self.cluster.env.timeout(remaining_s)
        self._power_off()

    def _power_off(self) -> None:
        cluster = self.cluster
        now = float(cluster.env.now)
        cluster.account_node(self, now)
        one = slice(self.slot, self.slot + 1)
        kernels.complete_until(now, cluster.heap[one], cluster.heap_size[one], cluster.served[one])
        self.state = "off"
        self.off_s = now
        cluster.release_slot(self)

    def busy_work_until(self, now_s: float) -> float:
        """Worker-seconds of service this node has done since it launched, up to ``now_s``."""
        cluster = self.cluster
        remaining = np.maximum(cluster.free[self.slot] - now_s, 0.0).sum()
        return float(cluster.assigned_work[self.slot] - remaining)


def slot_positions(slots: int) -> np.ndarray:
    """Where each node slot sits, in metres: a square grid, 1 m a cell, row 0 on top."""
    columns = math.ceil(math.sqrt(slots))
    k = np.arange(slots)
    return np.column_stack((k % columns, -(k // columns))).astype(np.float64)


class NodeSlot(Entity):
    """One slot of the cluster (``"node:<slot>"``) and the node in it now, if any.

    Nodes come and go (a launch takes the lowest free slot, a power-off frees it), so
    the entity a person selects is the slot; it holds no state of its own.
    """

    def __init__(self, cluster: Cluster, slot: int, pos: tuple[float, float]) -> None:
        super().__init__(cluster.world, f"node:{slot}", pos)
        self.cluster = cluster
        self.slot = slot

    def inspect(self) -> dict[str, Any]:
        """The node in the slot as of the last served window (a view closes it first)."""
        cluster, slot = self.cluster, self.slot
        node = cluster.nodes[slot]
        now = float(cluster.env.now)
        busy = int((cluster.free[slot] > now).sum())
        # Completions not yet popped from the node's heap are done: count only those ahead.
        in_node = int((cluster.heap[slot, : cluster.heap_size[slot]] > now).sum())
        return {
            "entity": self.name,
            "state": "empty" if node is None else node.state,
            "busy_workers": busy if node is not None else 0,
            "workers": int(cluster.workers),
            "waiting": max(in_node - busy, 0) if node is not None else 0,
            "launched_s": node.launched_s if node is not None else None,
            "ready_s": node.ready_s if node is not None and math.isfinite(node.ready_s) else None,
            "served_in_slot": int(cluster.served[slot]),
        }


class Cluster(Entity):
    """Nodes behind a load balancer, scaled by ``policy`` every ``sync_period_s``."""

    def __init__(
        self,
        world: World,
        params: CloudParams,
        policy: Policy[Any, Any],
        env: simpy.Environment | None = None,
    ) -> None:
        super().__init__(world, "cluster")
        self.world = world
        self.env = world.env if env is None else env
        """The cluster's clock: the world's, or a side clock of its own (a region's)."""
        self.window_listeners: list[Callable[[float], None]] = []
        """Called with the end of every window served, once its requests are counted."""
        self.params = params
        self.policy = policy
        self.policy_id = getattr(policy, "id", type(policy).__name__)
        node = params.node
        self.slots = 2 * params.max_nodes
        """Draining nodes keep their slot until they power off: twice the most live nodes."""
        self.workers = node.workers
        self.ready_s = np.full(self.slots, INF)
        self.drain_s = np.full(self.slots, INF)
        self.free = np.zeros((self.slots, node.workers))
        self.heap = np.zeros((self.slots, node.workers + node.queue_capacity))
        self.heap_size = np.zeros(self.slots, dtype=np.int64)
        self.assigned_work = np.zeros(self.slots)
        self.first_start = np.full(self.slots, INF)
        self.served = np.zeros(self.slots, dtype=np.int64)
        """Requests completed, by slot, over the whole run (kept when a slot is reused)."""
        self.rr_next = np.zeros(1, dtype=np.int64)
        self.nodes: list[Node | None] = [None] * self.slots
        self.slot_xy = slot_positions(self.slots)
        self.node_slots = [
            NodeSlot(self, slot, (float(x), float(y))) for slot, (x, y) in enumerate(self.slot_xy)
        ]

        n_classes = len(params.classes)
        self.class_names = [c.name for c in params.classes]
        self.slo_s = np.array([c.slo_s for c in params.classes])
        self.histogram = np.zeros((n_classes, kernels.LATENCY_BINS), dtype=np.int64)
        self.latency_sum = np.zeros(n_classes)
        self.violations = np.zeros(n_classes, dtype=np.int64)
        self.assigned = np.zeros(n_classes, dtype=np.int64)
        self.dropped = np.zeros(n_classes, dtype=np.int64)
        self._baseline = self._tallies()

        streams = world.streams
        self.pattern = LoadPattern(params.workload, streams["cloud.bursts"])
        self.class_streams = make_class_streams(params, streams)
        self._release_rng = streams["cloud.release"]
        self.backlog = Backlog()
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        """Released batch work spread over the next window: times, origins, classes, work."""
        self.pending_count = 0
        self.rate_history: deque[float] = deque(maxlen=params.rate_history_windows)
        self._last_obs: ScalingObservation | None = None

        self.grid = EmissionFactor(
            carrier="electricity",
            unit="kWh",
            kg_co2e_per_unit=tuple(params.grid_kg_co2e_per_kwh),
            source=params.grid_source,
        )
        # The ledger integrates this profile over every interval booked with draw_power.
        world.ledger.factors["electricity"] = self.grid

        # Lifetime totals (never reset): the conservation invariant holds across warm-up.
        self.arrived_total = 0
        self.arrived_by_class = np.zeros(n_classes, dtype=np.int64)
        """Arrivals per class before the served windows' end (lifetime, as measured)."""
        self.forced_total = 0
        probes = world.probes
        self.arrived = probes.counter("requests_arrived")
        self.scaling_actions = probes.counter("scaling_actions")
        self.forced_releases = probes.counter("deferred_released_at_deadline")
        self.nodes_current = probes.level("nodes_current", clock=self.env)
        self.nodes_ready = probes.level("nodes_ready", clock=self.env)
        self.in_system = probes.level("requests_in_system", clock=self.env)
        self.node_seconds = 0.0
        self.busy_worker_seconds = 0.0
        self._window_idle_kws = 0.0
        self._window_starting_kws = 0.0
        self._window_busy_kws = 0.0
        self._window_node_s = 0.0
        self._window_ready_worker_s = 0.0
        self._window_ready_busy_s = 0.0
        world.at_warmup_end(self._restart_statistics)

        for _ in range(params.start_nodes):
            self._launch(ready_at_start=True)
        self._record_levels()
        self.window_start_s = 0.0
        self._entered_in_window = 0
        self._draw_window(0.0)
        self.process = self.env.process(self.autoscale())

    # -- the autoscaler -------------------------------------------------------------
    def autoscale(self) -> simpy.events.ProcessGenerator:
        """Every sync period: serve the window's arrivals, account, observe, act."""
        period = self.params.sync_period_s
        while True:
            yield self.env.timeout(period)
            now = float(self.env.now)
            if now > self.window_start_s:  # else the warm-up has just closed the window
                self.serve_window(self.window_start_s, now)
            self.rate_history.append(self._entered_in_window / period)
            self._entered_in_window = 0
            self._draw_window(now)
            action = self.policy.act(self.observe(now))
            if type(action) is not ScalingAction or not (
                self.params.min_nodes <= action.desired_nodes <= self.params.max_nodes
            ):
                check_scaling_action(action, self._last_obs, self.policy_id)
            self.scale_to(action.desired_nodes)
            self.release(action.release_deferred, now, now + period)
            self._record_levels()
            self.window_start_s = now

    def close(self, book: bool = True) -> None:
        """Serve the window so far, now: at the end of a run (SimPy stops before the
        epoch at the horizon), at the end of the warm-up (``book=False``: the window's
        energy and cost belong to the warm-up), and whenever KPIs or a view read the
        cluster mid-window. The window's arrivals were drawn at its start, so serving
        it in parts changes nothing. Calling it again does nothing."""
        now = float(self.env.now)
        if now > self.window_start_s:
            self.serve_window(self.window_start_s, now, book)
            self.window_start_s = now
            # The levels (nodes, requests in system) stay sampled at the sync epochs:
            # a sample taken only because someone looked would change their means.

    def _draw_window(self, start_s: float) -> None:
        """Draw every class's arrivals of the sync window starting at ``start_s`` at once,
        so the window is the same random numbers however it is later served in parts."""
        end_s = start_s + self.params.sync_period_s
        self._drawn = [stream.window(self.pattern, start_s, end_s) for stream in self.class_streams]

    def serve_window(self, start_s: float, end_s: float, book: bool = True) -> None:
        """Route and serve the arrivals of ``[start_s, end_s)`` (drawn when their sync
        window began); account the time."""
        parts_t, parts_o, parts_c, parts_s = [], [], [], []
        arrived = 0
        for stream, (drawn_times, drawn_services) in zip(
            self.class_streams, self._drawn, strict=True
        ):
            first, last = np.searchsorted(drawn_times, (start_s, end_s))
            times, services = drawn_times[first:last], drawn_services[first:last]
            arrived += times.size
            self.arrived_by_class[stream.index] += times.size
            if stream.spec.deferrable:
                assert stream.spec.deadline_s is not None
                self.backlog.add(times, services, stream.index, stream.spec.deadline_s)
                continue
            parts_t.append(times)
            parts_o.append(times)
            parts_c.append(np.full(times.size, stream.index, dtype=np.int64))
            parts_s.append(services)
        # Released work due in this window; a window cut short (the end of the warm-up
        # off an epoch) leaves the rest for the next one, so times never go back.
        later = []
        for times, origins, classes, services in self.pending:
            due = int(np.searchsorted(times, end_s))
            parts_t.append(times[:due])
            parts_o.append(origins[:due])
            parts_c.append(classes[:due])
            parts_s.append(services[:due])
            if due < times.size:
                later.append((times[due:], origins[due:], classes[due:], services[due:]))
        self.pending = later
        self.pending_count = sum(part[0].size for part in later)
        self.arrived_total += arrived
        self.arrived.count += arrived
        times = np.concatenate(parts_t) if parts_t else np.empty(0)
        entering = times.size
        if len(parts_t) > 1:
            order = np.argsort(times, kind="stable")
            times = times[order]
            origins = np.concatenate(parts_o)[order]
            classes = np.concatenate(parts_c)[order]
            services = np.concatenate(parts_s)[order]
        elif parts_t:
            origins, classes, services = parts_o[0], parts_c[0], parts_s[0]
        else:
            origins, classes, services = times, np.empty(0, dtype=np.int64), times
        if entering:
            kernels.route_and_serve(
                times, origins, classes, services, self.ready_s, self.drain_s, self.free,
                self.heap, self.heap_size, self.assigned_work, self.first_start, self.served,
                self.rr_next, self._slots_used(), self.params.balancer == "least-connections",
                self.params.node.queue_capacity, self.slo_s, self.histogram, self.latency_sum,
                self.violations, self.assigned, self.dropped,
            )  # fmt: skip
        kernels.complete_until(end_s, self.heap, self.heap_size, self.served)
        self._entered_in_window += entering
        for node in self.nodes:
            if node is not None:
                self.account_node(node, end_s)
        self._book_window(start_s, end_s, book)
        for listener in self.window_listeners:
            listener(end_s)

    def _slots_used(self) -> int:
        """One past the highest occupied slot (nodes take the lowest free slot)."""
        for slot in range(self.slots - 1, -1, -1):
            if self.nodes[slot] is not None:
                return slot + 1
        return 1

    def account_node(self, node: Node, until_s: float) -> None:
        """Add ``node``'s time, busy work and energy since it was last accounted."""
        since = node.accounted_s
        if until_s <= since:
            return
        spec = self.params.node
        on_s = until_s - since
        done = node.busy_work_until(until_s)
        busy = done - node.done_work_s
        node.done_work_s = done
        node.accounted_s = until_s
        self._window_node_s += on_s
        self.node_seconds += on_s
        self.busy_worker_seconds += busy
        booting_s = max(0.0, min(until_s, node.ready_s) - since)
        self._window_starting_kws += spec.idle_kw * booting_s
        self._window_idle_kws += spec.idle_kw * (on_s - booting_s)
        self._window_busy_kws += (spec.peak_kw - spec.idle_kw) * busy / self.workers
        ready_from = max(since, node.ready_s)
        ready_until = min(until_s, node.drain_s)
        if ready_until > ready_from:
            self._window_ready_worker_s += self.workers * (ready_until - ready_from)
            self._window_ready_busy_s += busy

    def _book_window(self, start_s: float, end_s: float, book: bool = True) -> None:
        if not book:
            self._clear_window()
            return
        ledger = self.world.ledger
        span = end_s - start_s
        for state, kws in (
            ("starting", self._window_starting_kws),
            ("idle", self._window_idle_kws),
            ("busy", self._window_busy_kws),
        ):
            if kws > 0:
                ledger.draw_power(kws / span, start_s, end_s, entity=NODE_ENTITY, state=state)
        if self._window_node_s and self.params.node.price_per_h:
            ledger.charge(
                "compute",
                self.params.node.price_per_h * self._window_node_s / SECONDS_PER_HOUR,
                entity=NODE_ENTITY,
                item="node-hours",
            )
        self._clear_window()

    def _clear_window(self) -> None:
        self._window_idle_kws = self._window_starting_kws = self._window_busy_kws = 0.0
        self._window_node_s = 0.0

    # -- observation and action -----------------------------------------------------
    def observe(self, now_s: float) -> ScalingObservation:
        params = self.params
        ready = [n for n in self.nodes if n is not None and n.state == "ready"]
        starting = sum(1 for n in self.nodes if n is not None and n.state == "starting")
        queues = tuple(self.waiting(n.slot, now_s) for n in ready)
        utilisation = (
            self._window_ready_busy_s / self._window_ready_worker_s
            if self._window_ready_worker_s > 0
            else math.nan
        )
        self._window_ready_busy_s = self._window_ready_worker_s = 0.0
        hour = int((now_s % SECONDS_PER_DAY) // SECONDS_PER_HOUR)
        profile = params.grid_kg_co2e_per_kwh
        obs = ScalingObservation(
            now_s=now_s,
            sync_period_s=params.sync_period_s,
            min_nodes=params.min_nodes,
            max_nodes=params.max_nodes,
            current_nodes=len(ready) + starting,
            ready_nodes=len(ready),
            starting_nodes=starting,
            workers_per_node=self.workers,
            cold_start_s=params.node.cold_start_s,
            utilisation=utilisation,
            queue_lengths=queues,
            arrival_rates_per_s=tuple(self.rate_history),
            hour_of_day=(now_s % SECONDS_PER_DAY) / SECONDS_PER_HOUR,
            carbon_intensity=self.grid.at(now_s),
            carbon_forecast=tuple(profile[(hour + k) % 24] for k in range(24)),
            deferred=self.backlog.summary(),
        )
        self._last_obs = obs
        return obs

    def waiting(self, slot: int, now_s: float) -> int:
        """Requests queued (not in service) at a node at ``now_s``."""
        busy = int((self.free[slot] > now_s).sum())
        return int(self.heap_size[slot]) - busy

    def live_nodes(self) -> list[Node]:
        """Nodes ready or starting: the current scale."""
        return [n for n in self.nodes if n is not None and n.state in ("ready", "starting")]

    def scale_to(self, desired: int) -> None:
        """Launch or drain nodes so that ``desired`` are ready or starting."""
        live = self.live_nodes()
        if desired == len(live):
            return
        self.scaling_actions.count += 1
        if desired > len(live):
            for _ in range(desired - len(live)):
                if not self._launch(ready_at_start=False):
                    break
            return
        # Cancel the newest launches first (no work lost), then drain the newest nodes.
        order = sorted(live, key=lambda n: (n.state != "starting", -n.launched_s, -n.slot))
        for node in order[: len(live) - desired]:
            node.drain()

    def release(self, count: int | None, now_s: float, window_end_s: float) -> None:
        """Release deferred work (and any work due) over the next window."""
        due_by = window_end_s + self.params.deadline_guard_s
        taken, forced = self.backlog.take(count, due_by)
        self.forced_total += forced
        self.forced_releases.count += forced
        for origins, services, cls in taken:
            times = np.sort(self._release_rng.uniform(now_s, window_end_s, origins.size))
            classes = np.full(origins.size, cls, dtype=np.int64)
            self.pending.append((times, origins, classes, services))
            self.pending_count += origins.size

    def _launch(self, ready_at_start: bool) -> bool:
        free_slots = [i for i, n in enumerate(self.nodes) if n is None]
        if not free_slots:
            return False
        slot = free_slots[0]
        self.ready_s[slot] = INF
        self.drain_s[slot] = INF
        self.free[slot] = 0.0
        self.heap_size[slot] = 0
        self.assigned_work[slot] = 0.0
        self.first_start[slot] = INF
        self.nodes[slot] = Node(self, slot, ready_at_start)
        return True

    def release_slot(self, node: Node) -> None:
        self.nodes[node.slot] = None
        self.ready_s[node.slot] = INF
        self.drain_s[node.slot] = INF

    # -- statistics -----------------------------------------------------------------
    def inspect(self) -> dict[str, Any]:
        """Nodes by state, busy workers, arrivals, deferred work and the latest rates."""
        now = float(self.env.now)
        states = [node.state for node in self.nodes if node is not None]
        return {
            "entity": self.name,
            "nodes": {state: states.count(state) for state in sorted(set(states))},
            "busy_workers": int((self.free > now).sum()),
            "workers_per_node": int(self.workers),
            "requests_arrived": int(self.arrived_total),
            "deferred": int(self.backlog.size),
            "recent_rates_per_s": [round(r, 3) for r in list(self.rate_history)[-4:]],
        }

    def requests_in_system(self) -> int:
        """Requests in nodes, held back, or released and not yet routed."""
        return int(self.heap_size.sum()) + self.backlog.size + self.pending_count

    @property
    def served_total(self) -> int:
        """Requests completed since the start (warm-up included)."""
        return int(self.served.sum())

    def dropped_total(self) -> int:
        return int(self.dropped.sum())

    def _record_levels(self) -> None:
        live = self.live_nodes()
        self.nodes_current.set(len(live))
        self.nodes_ready.set(sum(1 for n in live if n.state == "ready"))
        self.in_system.set(self.requests_in_system())

    def _tallies(self) -> tuple[np.ndarray, ...]:
        return (
            self.histogram.copy(),
            self.latency_sum.copy(),
            self.violations.copy(),
            self.assigned.copy(),
            self.dropped.copy(),
        )

    def tallies_since_warmup(self) -> tuple[np.ndarray, ...]:
        """Histogram, latency sum, violations, assigned and dropped per class since warm-up."""
        current = self._tallies()
        return tuple(now - base for now, base in zip(current, self._baseline, strict=True))

    def _restart_statistics(self) -> None:
        self.close(book=False)
        # The world reset its probes before this hook: the arrivals close() just counted
        # came before the warm-up's end.
        self.arrived.reset(float(self.env.now))
        self._baseline = self._tallies()
        self.node_seconds = 0.0
        self.busy_worker_seconds = 0.0
