"""The plant: parts flow from sources through stations to the sink while machines wear.

Discrete events (arrivals, processing, failures, repairs, maintenance) are SimPy
events; the wear and the sensor signals of all machines are advanced together every
``degradation_step_s`` by the Numba kernel in :mod:`twin.factory.kernels`, and a threshold
crossing found by the kernel becomes a failure event.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from twin.core.distributions import Distribution
from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.ports import GoodsOutbox
from twin.core.run import start_policy
from twin.core.scenario import KPI
from twin.core.sensors import ReadingBoard, SensorFeed
from twin.core.streams import Draws
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World
from twin.factory import kernels
from twin.factory.agv import AgvFleet
from twin.factory.buffer import Buffer, BufferEntity
from twin.factory.config import PlantParams
from twin.factory.crew import Crew
from twin.factory.layout import Layout, buffer_positions, machine_positions
from twin.factory.machine import Machine, MachineTable
from twin.factory.observation import (
    CONTINUE,
    DOWN_STATES,
    MACHINE_STATES,
    MAINTAIN,
    MaintenanceAction,
    MaintenanceObservation,
    check_maintenance_action,
)
from twin.factory.orders import Order, OrderBook

CHANNELS = len(kernels.SENSOR_CHANNELS)
_new_tuple = tuple.__new__


@dataclass(slots=True)
class Part:
    """One part on its way through the plant."""

    product: int
    route: tuple[int, ...]
    released_s: float
    step: int = 0
    order: Order | None = None


class Plant(Entity):
    """Builds and runs the plant of ``params`` in ``world`` under a maintenance policy.

    The entity ``plant``; its machines (``machine:<index>``), the stations' input
    buffers (``buffer:<station>``), the AGV fleet (``fleet:agv``) and its vehicles
    (``agv:<index>``) are entities too.
    """

    def __init__(
        self,
        world: World,
        params: PlantParams,
        policy: Policy[Any, Any],
        scenario_id: str = "factory",
        planner: Policy[Any, Any] | None = None,
        *,
        dispatch: Policy[Any, Any] | None = None,
    ) -> None:
        super().__init__(world, "plant")
        self.world = world
        self.env = world.env
        self.params = params
        self.policy = policy
        self.policy_id = getattr(policy, "id", type(policy).__name__)
        streams = world.streams
        crew = params.crew
        self.spare_part_lead = self.draws("factory.spare_part_lead", crew.spare_part_lead)
        self.repair_time = self.draws("factory.repair_time", crew.repair)
        self.preventive_time = self.draws("factory.preventive_time", crew.preventive)
        self._quality = Draws(
            lambda n: streams["factory.quality"].random(n), source=streams["factory.quality"]
        )
        self._degradation_rng = streams["factory.degradation"]

        probes = world.probes
        self.released = probes.counter("parts_released")
        self.finished = probes.counter("parts_good")
        self.scrapped = probes.counter("parts_scrapped")
        self.processed = probes.counter("parts_processed")
        self.wip = probes.level("wip")
        self.lead_time = probes.tally("lead_time_s", keep_values=False)
        self.failures = probes.counter("failures")
        self.preventive_actions = probes.counter("preventive_actions")
        self.repair_downtime = probes.tally("repair_downtime_s", keep_values=False)
        self.decisions = probes.counter("maintenance_decisions")
        self.failure_log: list[tuple[float, int]] = []
        """Every unplanned failure as (time_s, machine index), warm-up included."""
        self.outbox: GoodsOutbox | None = None
        """Where good parts go when a scenario wires the plant to a consumer (a supply
        chain's plant site); ``None``: they just leave."""
        self.crew = Crew(world.env, crew, probes.level("technicians_busy"))

        station_index = {station.name: i for i, station in enumerate(params.stations)}
        self.buffers = [
            Buffer(world.env, s.name, s.buffer, probes.level(f"buffer.{s.name}"))
            for s in params.stations
        ]
        n = sum(station.machines for station in params.stations)
        self.table = MachineTable(n)
        """Health, busy time and true signals of every machine (the kernel's arrays)."""
        self.health = self.table.health
        self.signals = self.table.signals
        machine_xy = machine_positions(params)
        self.machines: list[Machine] = []
        for station, buffer in zip(params.stations, self.buffers, strict=True):
            for _ in range(station.machines):
                index = len(self.machines)
                x, y = machine_xy[index]
                self.machines.append(
                    Machine(self, index, station, buffer, self.table, (float(x), float(y)))
                )
        self.buffer_entities = [
            BufferEntity(world, buffer, (float(x), float(y)))
            for buffer, (x, y) in zip(self.buffers, buffer_positions(params), strict=True)
        ]
        self._busy_mark_s = np.zeros(n)
        self._failed = np.zeros(n, dtype=np.bool_)
        self._load = np.zeros(n)
        self.degradation = kernels.DegradationParams.for_machines(
            [m.station.degradation for m in self.machines]
        )
        self._defect_new = np.array([m.station.defect_rate_new for m in self.machines])
        self._defect_worn = np.array([m.station.defect_rate_worn for m in self.machines])

        self.fleet: AgvFleet | None = None
        if params.agvs is not None and params.layout is not None:
            if dispatch is None:  # else the run's own policy, reset by the run
                dispatch = start_policy(
                    world, params.dispatch_policy, {}, scenario_id, {"agvs": params.agvs.count}
                )
            self.fleet = AgvFleet(world, Layout(params.layout), params.agvs, dispatch)

        if params.electricity_price_per_kwh:
            world.ledger.set_price("electricity", params.electricity_price_per_kwh)
        self.feed = SensorFeed.attach(
            world, "factory.machines", self.sensor_signals, params.sensors, channels=n * CHANNELS
        )
        self.board: ReadingBoard = self.feed.board
        self.board.subscribe(self._on_report)
        self.routes = [
            tuple(station_index[name] for name in product.route) for product in params.products
        ]
        self.setups = 0
        self.setup_total_s = 0.0
        """Changeovers and their machine time (stations with ``setup_s``)."""
        self.order_book: OrderBook | None = None
        if params.orders is None:
            for index, route in enumerate(self.routes):
                self.env.process(self._source(index, route))
        else:
            if planner is None:
                raise ValueError("a plant with an order book needs a planning policy")
            self.order_book = OrderBook(self, params.orders, planner)
        self.env.process(self._degrade())

    def inspect(self) -> dict[str, Any]:
        """Parts in and out, machines by state, the crew and the AGV fleet now."""
        states = {state: 0 for state in MACHINE_STATES}
        for machine in self.machines:
            states[machine.state] += 1
        info: dict[str, Any] = {
            "entity": self.name,
            "machines": len(self.machines),
            "machines_by_state": states,
            "parts_released": self.released.count,
            "parts_good": self.finished.count,
            "parts_scrapped": self.scrapped.count,
            "wip": self.wip.level,
            "failures": self.failures.count,
            "preventive_actions": self.preventive_actions.count,
            "technicians_free": self.crew.free,
            "maintenance_queue": self.crew.waiting,
        }
        if self.fleet is not None:
            info["agvs"] = len(self.fleet.agvs)
            info["transport_requests_waiting"] = len(self.fleet.waiting)
        return info

    # -- randomness ---------------------------------------------------------------
    def draws(self, stream: str, distribution: Distribution) -> Draws:
        return distribution.draws(self.world.streams[stream])

    # -- material flow ------------------------------------------------------------
    def _source(self, product: int, route: tuple[int, ...]) -> Generator[simpy.Event, Any, None]:
        spec = self.params.products[product]
        gaps = self.draws(f"factory.orders.{spec.name.lower()}", spec.interarrival)
        while True:
            yield self.env.timeout(next(gaps))
            self.release_part(product, None, route)

    def release_part(
        self, product: int, order: Order | None = None, route: tuple[int, ...] | None = None
    ) -> Part:
        """A new part of ``product`` (for ``order``) enters the plant now."""
        spec = self.params.products[product]
        route = route if route is not None else self.routes[product]
        self.released.count += 1
        self.wip.add(1)
        self.world.ledger.charge("material", spec.material_cost, item=spec.name)
        part = Part(product, route, self.env.now, order=order)
        if self.fleet is None:
            self.buffers[route[0]].put(part)  # waits in the order backlog if the buffer is full
        else:
            origin = spec.source_node or self.params.source_node
            self._carry(part, origin, route[0], None)
        return part

    def forward(self, machine: Machine, part: Part) -> simpy.Event:
        """Move a finished part on: to the next station's buffer, or out of the plant.

        The event succeeds when the machine is free of the part: at once, when the next
        buffer takes it, or when an AGV has loaded it.
        """
        part.step += 1
        done = part.step == len(part.route)
        if self.fleet is not None:
            picked_up = self.env.event()
            target = None if done else part.route[part.step]
            node = machine.station.node
            self._carry(part, node, target, picked_up)
            return picked_up
        if done:
            self._leave(part, good=True)
            return self.env.event().succeed()
        return self.buffers[part.route[part.step]].put(part)

    def _carry(
        self, part: Part, origin: str | None, station: int | None, picked_up: simpy.Event | None
    ) -> None:
        """Reserve a place at the destination, then have an AGV take the part there.

        Callbacks rather than a process: a plant-day carries 17,600 parts, and a process
        per carry cost two more SimPy events each (its start and its end) for nothing
        that could observe them.
        """
        assert self.fleet is not None
        assert origin is not None
        if station is None:
            drop = self.params.products[part.product].sink_node or self.params.sink_node
            assert drop is not None
            self._send(part, origin, drop, None, picked_up)
            return
        buffer = self.buffers[station]
        drop = self.params.stations[station].node
        assert drop is not None
        reserved = buffer.reserve()
        if reserved.triggered:  # a place was free: send at once
            self._send(part, origin, drop, buffer, picked_up)
        else:
            reserved.callbacks.append(lambda _: self._send(part, origin, drop, buffer, picked_up))

    def _send(
        self,
        part: Part,
        origin: str,
        drop: str,
        buffer: Buffer | None,
        picked_up: simpy.Event | None,
    ) -> None:
        assert self.fleet is not None
        delivered = self.fleet.request(origin, drop, part, picked_up=picked_up)
        if buffer is None:
            delivered.callbacks.append(lambda _: self._leave(part, good=True))
        else:
            delivered.callbacks.append(lambda _: buffer.put_reserved(part))

    def record_setup(self, setup_s: float) -> None:
        """A machine changed over to another product."""
        self.setups += 1
        self.setup_total_s += setup_s

    def check_quality(self, machine: Machine, part: Part) -> bool:
        """Quality check after processing: worn machines make more scrap."""
        self.processed.count += 1
        i = machine.index
        wear = min(self.health[i] / self.degradation.threshold[i], 1.0)
        defect_rate = self._defect_new[i] + (self._defect_worn[i] - self._defect_new[i]) * wear
        if next(self._quality) < defect_rate:
            self._leave(part, good=False)
            return False
        return True

    def _leave(self, part: Part, *, good: bool) -> None:
        self.wip.add(-1)
        self.lead_time.observe(self.env.now - part.released_s)
        if good:
            self.finished.count += 1
            if self.outbox is not None:
                self.outbox.put(1)
        else:
            self.scrapped.count += 1
            product = self.params.products[part.product]
            self.world.ledger.charge("lost_production", product.material_cost, item="scrap")
        if part.order is not None:
            assert self.order_book is not None
            self.order_book.part_left(part.order, part, good=good)

    # -- wear, failures and sensors ---------------------------------------------------
    def _degrade(self) -> Generator[simpy.Event, Any, None]:
        step_s = self.params.degradation_step_s
        while True:
            yield self.env.timeout(step_s)
            self._advance(step_s)

    def _advance(self, step_s: float) -> None:
        now = self.env.now
        table = self.table
        in_progress = now - table.busy_since_s
        busy_total = table.busy_s + np.where(np.isnan(in_progress), 0.0, in_progress)
        np.divide(busy_total - self._busy_mark_s, step_s, out=self._load)
        self._busy_mark_s = busy_total
        z = self._degradation_rng.standard_normal(len(self.machines))
        kernels.step(
            self.health,
            self._load,
            self.params.ambient_c,
            self.params.ambient_humidity_pct,
            z,
            step_s,
            self.degradation,
            self.signals,
            self._failed,
        )
        for index in np.flatnonzero(self._failed):
            machine = self.machines[index]
            if machine.state not in DOWN_STATES and not machine.failure_pending:
                machine.interrupt_for("failure")

    def sensor_signals(self) -> np.ndarray:
        """The true signals of every machine, flattened machine-major, for the sensors."""
        return self.signals.reshape(-1)

    # -- maintenance decisions ----------------------------------------------------
    def _on_report(self, now_s: float, channels: np.ndarray) -> None:
        for index in np.unique(channels // CHANNELS):
            machine = self.machines[int(index)]
            observation = self.observe(machine)
            action = self.policy.act(observation)
            self.decisions.count += 1
            wants = action is MAINTAIN or (
                action is not CONTINUE and self._valid(action, observation).maintain
            )
            if wants and machine.state not in DOWN_STATES and not machine.pm_requested:
                machine.interrupt_for("maintenance")

    def observe(self, machine: Machine) -> MaintenanceObservation:
        board = self.board
        first = machine.index * CHANNELS
        readings = board.values[first : first + CHANNELS]
        measured = board.measured_at_s[first : first + CHANNELS]
        now = self.env.now
        newest = np.nanmax(measured) if not np.all(np.isnan(measured)) else math.nan
        return _new_tuple(
            MaintenanceObservation,
            (
                now,
                machine.index,
                machine.station.name,
                machine.state,
                float(readings[0]),
                float(readings[1]),
                float(readings[2]),
                float(readings[3]),
                now - newest,
                machine.operating_s() / SECONDS_PER_HOUR,
                (now - machine.last_maintenance_s) / SECONDS_PER_HOUR,
                machine.parts_since_maintenance,
                machine.failures,
                self.crew.free,
                self.crew.waiting,
            ),
        )

    def _valid(self, action: object, observation: MaintenanceObservation) -> MaintenanceAction:
        return check_maintenance_action(action, observation, self.policy_id)

    # -- accounting -----------------------------------------------------------------
    def record_failure(self, machine: Machine) -> None:
        self.failures.count += 1
        self.failure_log.append((self.env.now, machine.index))

    def record_repair(self, machine: Machine, downtime_s: float) -> None:
        self.repair_downtime.observe(downtime_s)

    def record_preventive(self, machine: Machine) -> None:
        self.preventive_actions.count += 1

    def book_maintenance(
        self, kind: str, work_s: float, part_cost: float, machine: Machine
    ) -> None:
        ledger = self.world.ledger
        labour = self.params.crew.wage_per_h * work_s / SECONDS_PER_HOUR
        ledger.charge("maintenance", part_cost, entity=machine.label, item=f"{kind}_parts")
        ledger.charge("maintenance", labour, entity=machine.label, item=f"{kind}_labour")

    def book_downtime(self, machine: Machine, down_s: float) -> None:
        """Production lost while a machine was down, at the plant's downtime rate."""
        rate = self.params.downtime_cost_per_h
        if rate:
            self.world.ledger.charge(
                "lost_production",
                rate * down_s / SECONDS_PER_HOUR,
                entity=machine.label,
                item="downtime",
            )

    # -- KPIs -------------------------------------------------------------------------
    def kpis(self) -> dict[str, KPI]:
        world = self.world
        span_s = world.now_s - world.warmup_s
        hours = span_s / SECONDS_PER_HOUR
        states: dict[str, float] = {}
        for machine in self.machines:
            for state, seconds in machine.meter.time_in_state_s.items():
                states[state] = states.get(state, 0.0) + seconds
        planned_s = sum(states.values())
        down_s = sum(states.get(s, 0.0) for s in ("failed", "repair", "maintenance", "idle"))
        up_s = planned_s - down_s
        busy_s = states.get("busy", 0.0)
        good = self.finished.count
        scrapped = self.scrapped.count
        availability = up_s / planned_s if planned_s else math.nan
        performance = busy_s / up_s if up_s else math.nan
        quality = good / (good + scrapped) if good + scrapped else math.nan
        failures = self.failures.count
        ledger = world.ledger
        money = ledger.money_rows()

        def maintenance(item_part: str) -> float:
            return sum(v for c, i, _, v in money if c == "maintenance" and item_part in i)

        total_cost = ledger.cost()
        kpis = {
            "throughput_per_h": KPI(good / hours, "parts/h", "good parts out of the plant"),
            "oee": KPI(
                availability * performance * quality, "1", "availability x performance x quality"
            ),
            "availability": KPI(
                availability, "1", "machine time not down (failed, repair, maintenance)"
            ),
            "performance": KPI(performance, "1", "share of up time spent processing"),
            "quality": KPI(quality, "1", "good parts / parts out"),
            "mtbf_h": KPI(
                busy_s / SECONDS_PER_HOUR / failures if failures else math.inf,
                "h",
                "processing hours per unplanned failure",
            ),
            "mttr_h": KPI(
                self.repair_downtime.mean / SECONDS_PER_HOUR, "h", "failure to back in service"
            ),
            "unplanned_failures": KPI(float(failures), "failures"),
            "preventive_actions": KPI(float(self.preventive_actions.count), "actions"),
            "downtime_h": KPI(
                down_s / SECONDS_PER_HOUR, "machine-h", "failed, repair, maintenance"
            ),
            "wip_mean": KPI(self.wip.mean(), "parts", "time-average parts in the plant"),
            "lead_time_mean_s": KPI(self.lead_time.mean, "s", "release to leaving, good or scrap"),
            "parts_released": KPI(float(self.released.count), "parts"),
            "parts_good": KPI(float(good), "parts"),
            "parts_scrapped": KPI(float(scrapped), "parts"),
            "maintenance_corrective_cost": KPI(maintenance("corrective"), ledger.currency),
            "maintenance_preventive_cost": KPI(maintenance("preventive"), ledger.currency),
            "maintenance_parts_cost": KPI(maintenance("_parts"), ledger.currency),
            "maintenance_labour_cost": KPI(maintenance("_labour"), ledger.currency),
            "technician_utilisation": KPI(
                self.crew.busy.mean() / self.params.crew.technicians, "1"
            ),
            "productivity_index": KPI(
                good / total_cost * 1000 if total_cost else math.nan,
                "parts per 1000 " + ledger.currency,
                "good output per unit of total input cost",
            ),
        }
        for state in ("busy", "idle", "starved", "blocked", "failed", "repair", "maintenance"):
            kpis[f"energy_{state}_kwh"] = KPI(ledger.energy_kwh(state=state), "kWh")
        if self.fleet is not None:
            kpis.update(self.fleet.kpis())
        if any(station.setup_s for station in self.params.stations):
            kpis["setups"] = KPI(float(self.setups), "changeovers", "machine product changes")
            kpis["setup_h"] = KPI(
                self.setup_total_s / SECONDS_PER_HOUR, "machine-h", "changeover time"
            )
        if self.order_book is not None:
            kpis.update(self.order_book.kpis())
        return kpis
