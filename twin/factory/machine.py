"""A machine: takes parts, processes them, wears, fails, gets repaired and maintained."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import simpy

from twin.core.entity import Entity
from twin.factory.crew import CORRECTIVE, PREVENTIVE
from twin.factory.kernels import SENSOR_CHANNELS

if TYPE_CHECKING:
    from twin.core.ledger import PowerMeter
    from twin.core.streams import Draws
    from twin.factory.buffer import Buffer
    from twin.factory.config import StationSpec
    from twin.factory.plant import Part, Plant

ProcessGenerator = Generator[simpy.Event, Any, None]
CHANNELS = len(SENSOR_CHANNELS)


class MachineTable:
    """The per-machine arrays the degradation kernel advances for all machines at once.

    The plant owns the table and runs the kernel on it; a machine changes its own row
    only through these methods, never by indexing the arrays.

    Attributes:
        health: wear of each machine, 0 = new; failure at its threshold.
        busy_s: processing seconds of each machine before the part in progress.
        busy_since_s: when the part in progress started; NaN while not processing.
        signals: ``(machines, channels)`` true sensor signals
            (:data:`twin.factory.kernels.SENSOR_CHANNELS`).
    """

    def __init__(self, machines: int) -> None:
        self.health = np.zeros(machines)
        self.busy_s = np.zeros(machines)
        self.busy_since_s = np.full(machines, np.nan)
        self.signals = np.zeros((machines, CHANNELS))

    def start_busy(self, index: int, now_s: float) -> None:
        """Machine ``index`` starts processing at ``now_s``."""
        self.busy_since_s[index] = now_s

    def stop_busy(self, index: int, now_s: float) -> float:
        """Machine ``index`` stops processing at ``now_s``; returns the seconds it was busy."""
        busy_s = now_s - float(self.busy_since_s[index])
        self.busy_s[index] += busy_s
        self.busy_since_s[index] = np.nan
        return busy_s

    def busy_running_s(self, index: int, now_s: float) -> float:
        """Seconds machine ``index`` has been processing its current part."""
        running_s: float = now_s - self.busy_since_s[index]
        return running_s

    def renew(self, index: int) -> None:
        """Machine ``index`` is as good as new (repaired or maintained)."""
        self.health[index] = 0.0


class Machine(Entity):
    """One machine of a station, the entity ``machine:<index>``.

    Its health lives in the plant's :class:`MachineTable` (advanced for all machines at
    once by the degradation kernel); the machine is the SimPy process that acts on it.
    Work interrupted by a failure resumes after the repair.

    Attributes:
        label: ``<station>.<index>``, how the ledger and the power meter name it.
    """

    def __init__(
        self,
        plant: Plant,
        index: int,
        station: StationSpec,
        input_buffer: Buffer,
        table: MachineTable,
        pos: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(plant.world, f"machine:{index}", pos)
        self.plant = plant
        self.index = index
        self.station = station
        self.input = input_buffer
        self.env = plant.world.env
        self.label = f"{station.name}.{index}"
        self._table = table
        power = station.power
        self.meter: PowerMeter = plant.world.power_meter(
            self.label,
            {
                "idle": power.idle_kw,
                "starved": power.idle_kw,
                "busy": power.busy_kw,
                "blocked": power.idle_kw,
                "failed": power.down_kw,
                "repair": power.down_kw,
                "maintenance": power.down_kw,
            },
            "idle",
        )
        self._processing: Draws = plant.draws(
            f"factory.processing.{station.name.lower()}", station.processing
        )
        self.pm_requested = False
        self.failure_pending = False
        self.failures = 0
        self.parts_since_maintenance = 0
        self.operating_s_since_maintenance = 0.0
        self.last_maintenance_s = 0.0
        self.set_up_for: int | None = None
        """The product the machine is set up for (None: none yet)."""
        self._waiting_get: simpy.Event | None = None
        self.process = self.env.process(self.run())

    @property
    def state(self) -> str:
        return self.meter.state

    def set_state(self, state: str) -> None:
        now = self.env.now
        if self.meter.state == "busy":
            self.operating_s_since_maintenance += self._table.stop_busy(self.index, now)
        if state == "busy":
            self._table.start_busy(self.index, now)
        self.meter.switch(state)

    def operating_s(self) -> float:
        """Processing time since the last maintenance, including the part in progress."""
        running = (
            self._table.busy_running_s(self.index, self.env.now) if self.state == "busy" else 0.0
        )
        return self.operating_s_since_maintenance + running

    def inspect(self) -> dict[str, Any]:
        """The truth the engine holds (health, true signals) beside what the sensors
        delivered (readings, when they were measured)."""
        index = self.index
        plant = self.plant
        first = index * CHANNELS
        board = plant.board
        return {
            "entity": self.name,
            "name": self.label,
            "station": self.station.name,
            "state": self.state,
            "health": float(self._table.health[index]),
            "failure_threshold": float(plant.degradation.threshold[index]),
            "true_signals": dict(
                zip(SENSOR_CHANNELS, self._table.signals[index].tolist(), strict=True)
            ),
            "readings": dict(
                zip(SENSOR_CHANNELS, board.values[first : first + CHANNELS].tolist(), strict=True)
            ),
            "measured_at_s": board.measured_at_s[first : first + CHANNELS].tolist(),
            "failures": self.failures,
        }

    def run(self) -> ProcessGenerator:
        while True:
            if self.pm_requested:
                yield from self._maintain()
            self.set_state("starved")
            part = yield from self._take_part()
            if part is None:
                continue  # called away to maintenance while waiting
            if self.failure_pending:
                yield from self._fail()
            self.set_state("busy")
            work_s = next(self._processing)
            if self.station.setup_s and part.product != self.set_up_for:
                # A changeover keeps the machine busy (and wearing) like processing.
                work_s += self.station.setup_s
                self.plant.record_setup(self.station.setup_s)
            self.set_up_for = part.product
            yield from self._process(work_s)
            self.parts_since_maintenance += 1
            if self.plant.check_quality(self, part):
                self.set_state("blocked")
                yield from self._hand_on(part)

    def _take_part(self) -> Generator[simpy.Event, Any, Part | None]:
        get = self.input.get()
        self._waiting_get = get
        try:
            part: Part = yield get
        except simpy.Interrupt:
            if get.triggered:  # the part was handed over in the same instant: keep it
                part = cast("Part", get.value)
            else:
                self.input.cancel_get(get)
                return None
        finally:
            self._waiting_get = None
        return part

    def _process(self, work_s: float) -> ProcessGenerator:
        remaining = work_s
        while remaining > 0:
            started = self.env.now
            try:
                yield self.env.timeout(remaining)
                remaining = 0.0
            except simpy.Interrupt as interrupt:
                remaining -= self.env.now - started
                if interrupt.cause == "failure":
                    yield from self._fail()
                    self.set_state("busy")
                # a maintenance request waits for the end of the part

    def _hand_on(self, part: Part) -> ProcessGenerator:
        move = self.plant.forward(self, part)
        while True:
            try:
                yield move
                return
            except simpy.Interrupt:
                continue  # maintenance waits until the part has left

    def interrupt_for(self, cause: str) -> None:
        """Ask the machine to stop: ``"failure"`` now, ``"maintenance"`` when it can."""
        if cause == "failure":
            if self.state == "busy":
                self.process.interrupt("failure")
            else:
                self.failure_pending = True  # it breaks down when it next starts
            return
        self.pm_requested = True
        if self.state == "starved" and self._waiting_get is not None:
            self.process.interrupt("maintenance")

    def _fail(self) -> ProcessGenerator:
        plant = self.plant
        self.failure_pending = False
        self.failures += 1
        plant.record_failure(self)
        down_since = self.env.now
        self.set_state("failed")
        yield self.env.timeout(next(plant.spare_part_lead))
        repair_s = yield from self._with_technician(CORRECTIVE, "repair", plant.repair_time)
        plant.book_maintenance("corrective", repair_s, plant.crew.spec.repair_part_cost, self)
        plant.record_repair(self, self.env.now - down_since)
        plant.book_downtime(self, self.env.now - down_since)
        self._restore()

    def _maintain(self) -> ProcessGenerator:
        plant = self.plant
        down_since = self.env.now
        self.set_state("idle")
        work_s = yield from self._with_technician(PREVENTIVE, "maintenance", plant.preventive_time)
        plant.book_maintenance("preventive", work_s, plant.crew.spec.preventive_part_cost, self)
        plant.record_preventive(self)
        plant.book_downtime(self, self.env.now - down_since)
        self._restore()

    def _with_technician(
        self, priority: int, state: str, duration: Draws
    ) -> Generator[simpy.Event, Any, float]:
        """Wait for a technician, then spend ``state`` with them; returns the work time."""
        crew = self.plant.crew
        with crew.request(priority) as technician:
            yield technician
            self.set_state(state)
            crew.busy.add(1)
            work_s = next(duration)
            yield self.env.timeout(work_s)
            crew.busy.add(-1)
        return work_s

    def _restore(self) -> None:
        """As good as new: health, counters since maintenance, pending flags."""
        self._table.renew(self.index)
        self.pm_requested = False
        self.failure_pending = False
        self.parts_since_maintenance = 0
        self.operating_s_since_maintenance = 0.0
        self.last_maintenance_s = self.env.now
