"""A finite FIFO buffer between stations, with blocking and starving.

SimPy's ``Store`` needs a capacity of at least one; a line without buffers (capacity 0)
hands a part straight from an upstream machine to an idle downstream machine, or keeps
the upstream machine blocked. This buffer does both with one rule: a put succeeds when a
machine is waiting for a part or there is room.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import simpy

from twin.core.entity import Entity
from twin.core.probes import Level

if TYPE_CHECKING:
    from twin.core.world import World


class Buffer:
    """FIFO parts buffer of ``capacity`` places (0 = none: direct hand-over only).

    Args:
        env: the simulation environment.
        name: for errors and probes.
        capacity: places, >= 0.
        level: optional time-weighted level of parts held (WIP in the buffer).
    """

    def __init__(
        self, env: simpy.Environment, name: str, capacity: int, level: Level | None = None
    ) -> None:
        if capacity < 0:
            raise ValueError(f"buffer {name!r} capacity must be >= 0, got {capacity}")
        self.env = env
        self.name = name
        self.capacity = capacity
        self.items: deque[Any] = deque()
        self._getters: deque[simpy.Event] = deque()
        self._putters: deque[tuple[simpy.Event, Any]] = deque()
        self._reservers: deque[simpy.Event] = deque()
        self.reserved = 0
        """Places promised to parts on their way (by AGV), not yet delivered."""
        self._level = level

    def put(self, item: Any) -> simpy.Event:
        """An event that succeeds when ``item`` has been accepted (the putter is free)."""
        event = self.env.event()
        if self._getters:
            self._getters.popleft().succeed(item)
            event.succeed()
        elif len(self.items) < self.capacity:
            self.items.append(item)
            self._changed()
            event.succeed()
        else:
            self._putters.append((event, item))
        return event

    def get(self) -> simpy.Event:
        """An event whose value is the oldest part, when there is one."""
        event = self.env.event()
        if self.items:
            event.succeed(self.items.popleft())
            if self._putters:
                putter, item = self._putters.popleft()
                self.items.append(item)
                putter.succeed()
            self._grant_reservations()
            self._changed()
        elif self._putters:  # no places: take the part straight from a blocked machine
            putter, item = self._putters.popleft()
            event.succeed(item)
            putter.succeed()
        else:
            self._getters.append(event)
        return event

    def reserve(self) -> simpy.Event:
        """An event that succeeds when a place is promised to a part about to be sent.

        A transport is only sent once its part has a place to go, so a vehicle never
        waits loaded at a full buffer. Needs at least one place.
        """
        if self.capacity < 1:
            raise ValueError(f"buffer {self.name!r} has no places to reserve")
        event = self.env.event()
        if len(self.items) + self.reserved < self.capacity:
            self.reserved += 1
            event.succeed()
        else:
            self._reservers.append(event)
        return event

    def put_reserved(self, item: Any) -> None:
        """Deliver a part into the place reserved for it."""
        self.reserved -= 1
        if self._getters:
            self._getters.popleft().succeed(item)
            self._grant_reservations()
        else:
            self.items.append(item)
            self._changed()

    def _grant_reservations(self) -> None:
        while self._reservers and len(self.items) + self.reserved < self.capacity:
            self.reserved += 1
            self._reservers.popleft().succeed()

    def cancel_get(self, event: simpy.Event) -> None:
        """Withdraw a waiting get (its machine went down for maintenance)."""
        if event in self._getters:
            self._getters.remove(event)

    @property
    def held(self) -> int:
        """Parts in the buffer's places (not counting parts on blocked machines)."""
        return len(self.items)

    @property
    def blocked_putters(self) -> int:
        """Parts waiting to be put (their machines blocked) because the buffer is full."""
        return len(self._putters)

    def _changed(self) -> None:
        if self._level is not None:
            self._level.set(len(self.items))


class BufferEntity(Entity):
    """A station's input buffer as an entity, ``buffer:<station>``, for inspection."""

    def __init__(self, world: World, buffer: Buffer, pos: tuple[float, float] | None) -> None:
        super().__init__(world, f"buffer:{buffer.name}", pos)
        self.buffer = buffer

    def inspect(self) -> dict[str, Any]:
        """Parts held, places, places promised to parts on their way, machines upstream
        blocked because it is full."""
        buffer = self.buffer
        return {
            "entity": self.name,
            "station": buffer.name,
            "held": len(buffer.items),
            "capacity": buffer.capacity,
            "reserved": buffer.reserved,
            "blocked_putters": buffer.blocked_putters,
        }
