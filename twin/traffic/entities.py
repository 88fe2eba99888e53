"""The city's entities a person can inspect or a policy can name (Mesa agents).

:class:`~twin.traffic.city.City` is the domain's model (``"city"``); each intersection is a
:class:`Junction` (``"intersection:<id>"``, at its node); the vehicles stay arrays in the
kernel behind one :class:`Fleet` (``"vehicles"``) that summarises them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin.core.entity import Entity
from twin.traffic.kernels import ARRIVED, DRIVING, WAITING

if TYPE_CHECKING:
    from twin.traffic.city import City


class Junction(Entity):
    """One intersection of the network: its signal state and its approaches.

    Args:
        city: the city it belongs to.
        index: its index among the network's intersections.
        signalised: its index among the signalised ones (the bank's and the
            observations' ``intersection``); ``None`` for a priority junction.
    """

    def __init__(self, city: City, index: int, signalised: int | None) -> None:
        inter = city.network.intersections[index]
        node = city.network.nodes[inter.node]
        super().__init__(city.world, f"intersection:{inter.id}", (node.x_m, node.y_m))
        self.city = city
        self.id = inter.id
        self.movements = np.array(inter.movements, dtype=np.int64)
        self.signalised = signalised

    def inspect(self) -> dict[str, Any]:
        """Phase and stage of its controller (``None`` at a priority junction), the state
        of each movement, and the true and sensed queue of each movement's lane."""
        city = self.city
        bank = city.signals
        lanes = city.arrays.mov_from_lane[self.movements]
        board = city.board
        sensed = board.values[lanes] if board is not None else np.full(len(lanes), np.nan)
        i = self.signalised
        return {
            "entity": self.name,
            "phase": None if i is None else int(bank.phase[i]),
            "stage": None if i is None else int(bank.stage[i]),
            "movement_state": city.mov_state[self.movements].tolist(),
            "queue_veh": city.lanes.halting[lanes].tolist(),
            "vehicles": city.lanes.count[lanes].tolist(),
            "sensed_queue_veh": sensed.tolist(),
        }


class Fleet(Entity):
    """Every vehicle of the run: arrays in the kernel, summarised here."""

    def __init__(self, city: City) -> None:
        super().__init__(city.world, "vehicles", None)
        self.city = city

    def inspect(self) -> dict[str, Any]:
        """How many trips are on the network, waiting to enter, finished; how fast the
        ones on the network go and how many of them halt."""
        veh = self.city.veh
        driving = veh.state == DRIVING
        speed = veh.speed[driving]
        return {
            "entity": self.name,
            "trips": len(veh.state),
            "on_network": int(driving.sum()),
            "waiting_to_insert": int((veh.state == WAITING).sum()),
            "inserted": int(np.isfinite(veh.insert_s).sum()),
            "finished": int((veh.state == ARRIVED).sum()),
            "halting": int(veh.halting[driving].sum()),
            "speed_mean_mps": float(speed.mean()) if len(speed) else None,
        }
