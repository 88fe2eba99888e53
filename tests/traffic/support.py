"""Small cities for the traffic tests: a grid, Poisson trips, a world, a policy."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.kernels import STATE_LETTERS
from twin.traffic.network import Network, grid
from twin.traffic.observation import SignalAction, SignalObservation
from twin.traffic.signals import SignalBank


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
    step_s: float = 1.0,
) -> tuple[World, City]:
    world = World(seed, tick_s=60.0)
    network = grid(rows, cols, block_m, lanes)
    trips = poisson_trips(
        network, RateProfile((0.0,), (rate,)), horizon_s, world.streams["traffic.demand"]
    )
    city = City(world, network, trips, policy if policy is not None else Cyclic(), step_s=step_s)
    return world, city


def programme_letters(network: Network, seconds: int) -> list[list[str]]:
    """What each signalised intersection's own programme shows, in SUMO's letters, at
    t = 0, 1, ..., ``seconds - 1``: the signal bank under :class:`Cyclic`, as SUMO's
    ``SaveTLSStates`` records a light (one list per second, intersections in bank order)."""
    mov_state = np.zeros(len(network.movements), dtype=np.int8)
    holder: list[SignalBank] = []

    def observe(i: int, now_s: float) -> SimpleNamespace:
        program = holder[0].intersections[i].program
        greens = np.array([p.green_s for p in program.phases])
        return SimpleNamespace(phase=int(holder[0].phase[i]), green_s=greens)

    bank = SignalBank(network, mov_state, Cyclic(), observe)  # type: ignore[arg-type]
    holder.append(bank)
    shown = []
    for t in range(seconds):
        bank.update(float(t))
        shown.append(["".join(STATE_LETTERS[int(c)] for c in mov_state[m]) for m in bank.movements])
    return shown
