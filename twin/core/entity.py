"""Entities: the Mesa agents a person can inspect or a policy can name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

if TYPE_CHECKING:
    from twin.core.world import World


class Entity(mesa.Agent):  # type: ignore[misc]  # mesa ships no type hints
    """A ``mesa.Agent`` with a stable name and a position in its domain's plane.

    ``name`` is how people, policies and the browser app refer to it
    (``"machine:3"``, ``"intersection:B2"``, ``"site:dc-north"``); Mesa's ``unique_id`` is
    stable too (agents are created in the same order on every run of a config), but it
    says nothing to a person. ``pos`` is in metres, ``None`` for entities that have no
    place (a whole cluster, the fleet of vehicles).

    Large populations (vehicles, requests) are arrays, not agents: one entity stands for
    all of them and :meth:`inspect` summarises them.
    """

    def __init__(self, world: World, name: str, pos: tuple[float, float] | None = None) -> None:
        super().__init__(world)
        self.name = name
        self.pos = pos

    def inspect(self) -> dict[str, Any]:
        """What the browser app shows when this entity is selected (JSON types)."""
        return {"entity": self.name}
