"""The belt: items arrive, queue at the infeed, ride at the belt's speed and leave; a jam
stops everything until it is cleared. Motion advances in fixed steps (a SimPy process),
arrivals, jams and clearing are events."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import simpy

from conveyor_twin.config import BeltParams
from conveyor_twin.observation import BeltObservation, check_belt_action
from twin.core.entity import Entity
from twin.core.policy import Policy
from twin.core.world import World

ENTITY = "belt"


class ConveyorBelt(Entity):
    """One belt, drawn along the x axis from 0 (infeed) to its length (outfeed)."""

    def __init__(self, world: World, params: BeltParams, policy: Policy[Any, Any]) -> None:
        super().__init__(world, ENTITY, pos=(params.length_m / 2, 0.0))
        self.world = world
        self.params = params
        self.policy = policy
        self.places = max(1, math.ceil(params.length_m / params.item_pitch_m))
        self.positions: deque[float] = deque()  # metres from the infeed, oldest first
        self.entered_s: deque[float] = deque()  # arrival time of each item on the belt
        self.waiting: deque[float] = deque()  # arrival times of items at the infeed
        self.speed = 1.0
        self.jammed = False
        self.arrived = world.probes.counter("conveyor.arrived")
        self.jams = world.probes.counter("conveyor.jams")
        self.delivered = world.probes.counter("conveyor.delivered")
        self.lost = world.probes.counter("conveyor.lost")
        self.time_in_system = world.probes.tally("conveyor.time_in_system_s")
        self._arrivals = world.streams["conveyor.arrivals"]
        self._jams = world.streams["conveyor.jams"]
        self._clearing = world.streams["conveyor.clearing"]
        self._power_since_s = 0.0
        world.at_warmup_end(self._restart_power)
        world.env.process(self._arrive())
        world.env.process(self._move())
        world.env.process(self._decide())

    @property
    def env(self) -> simpy.Environment:
        return self.world.env

    def observation(self) -> BeltObservation:
        return BeltObservation(
            now_s=float(self.env.now),
            items_on_belt=len(self.positions),
            belt_places=self.places,
            waiting=len(self.waiting),
            speed=self.speed,
            jammed=self.jammed,
            jams=int(self.jams.count),
        )

    def inspect(self) -> dict[str, Any]:
        return {
            "entity": self.name,
            "items_on_belt": len(self.positions),
            "waiting": len(self.waiting),
            "speed": self.speed,
            "jammed": self.jammed,
            "jams": int(self.jams.count),
            "delivered": int(self.delivered.count),
        }

    def book_power(self) -> None:
        """Book the drive's electricity since the last booking (at the current speed)."""
        now = float(self.env.now)
        power_kw = 0.0 if self.jammed else self.params.motor_kw * self.speed
        self.world.ledger.draw_power(power_kw, self._power_since_s, now, entity=ENTITY)
        self._power_since_s = now

    def _restart_power(self) -> None:
        self._power_since_s = float(self.env.now)

    def _arrive(self) -> simpy.events.ProcessGenerator:
        while True:
            yield self.env.timeout(self._arrivals.exponential(self.params.interarrival_s))
            self.arrived.add()
            if len(self.waiting) >= self.params.infeed_places:
                self.lost.add()
                self.world.ledger.charge(
                    "lost_production", self.params.lost_item_cost, entity=ENTITY
                )
            else:
                self.waiting.append(float(self.env.now))

    def _move(self) -> simpy.events.ProcessGenerator:
        step_s = self.params.step_s
        while True:
            yield self.env.timeout(step_s)
            if self.jammed:
                continue
            advance = self.params.top_speed_mps * self.speed * step_s
            for k in range(len(self.positions)):
                self.positions[k] += advance
            while self.positions and self.positions[0] >= self.params.length_m:
                self.positions.popleft()
                self.delivered.add()
                self.time_in_system.observe(self.env.now - self.entered_s.popleft())
            if self.waiting and (
                not self.positions or self.positions[-1] >= self.params.item_pitch_m
            ):
                self.positions.append(0.0)
                self.entered_s.append(self.waiting.popleft())
            # Hazard grows with load squared and with speed: a crowded, fast belt jams.
            load = len(self.positions) / self.places
            hazard_per_s = self.params.jams_per_h / 3600.0 * load**2 * self.speed
            if self._jams.random() < -math.expm1(-hazard_per_s * step_s):
                self.env.process(self._jam())

    def _jam(self) -> simpy.events.ProcessGenerator:
        self.book_power()
        self.jammed = True
        self.jams.add()
        yield self.env.timeout(self._clearing.exponential(self.params.clear_s))
        self.book_power()
        self.jammed = False

    def _decide(self) -> simpy.events.ProcessGenerator:
        while True:
            observation = self.observation()
            action = check_belt_action(self.policy.act(observation), observation, self.policy.id)
            self.book_power()
            self.speed = float(action.speed)
            yield self.env.timeout(self.params.decision_period_s)

    def item_xy(self) -> np.ndarray:
        """Where the items on the belt and at the infeed are, ``(n, 2)`` metres."""
        on_belt = np.column_stack((np.array(self.positions), np.zeros(len(self.positions))))
        queued = np.column_stack(
            (
                -self.params.item_pitch_m * (1 + np.arange(len(self.waiting))),
                np.zeros(len(self.waiting)),
            )
        )
        return np.vstack((on_belt, queued)) if len(queued) else on_belt
