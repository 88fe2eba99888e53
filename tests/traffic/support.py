"""Small cities for the traffic tests: a grid, Poisson trips, a world, a policy."""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.network import grid
from twin.traffic.observation import SignalAction, SignalObservation


class Cyclic:
    """The programme as given (what signals/fixed-time-v0 does), without models."""

    id = "test/cyclic"
    domain = "traffic.signals"

    def reset(self, context: Any) -> None:
        pass

    def act(self, obs: SignalObservation) -> SignalAction:
        nxt = (obs.phase + 1) % len(obs.green_s)
        return SignalAction(nxt, float(obs.green_s[nxt]))


class Erratic:
    """Asks for random phases and durations: the controller must stay safe anyway."""

    id = "test/erratic"
    domain = "traffic.signals"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, context: Any) -> None:
        pass

    def act(self, obs: SignalObservation) -> SignalAction:
        return SignalAction(
            int(self.rng.integers(len(obs.green_s))), float(self.rng.uniform(0.5, 20.0))
        )


def small_city(
    seed: int,
    rows: int = 2,
    cols: int = 2,
    lanes: int = 1,
    rate: float = 0.3,
    horizon_s: float = 600.0,
    policy: Any = None,
    block_m: float = 120.0,
    tick_s: float = 1.0,
) -> tuple[World, City]:
    world = World(seed, tick_s=60.0)
    network = grid(rows, cols, block_m, lanes)
    trips = poisson_trips(
        network, RateProfile((0.0,), (rate,)), horizon_s, world.streams["traffic.demand"]
    )
    city = City(world, network, trips, policy if policy is not None else Cyclic(), tick_s=tick_s)
    return world, city
