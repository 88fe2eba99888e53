"""Small cities for the traffic tests: a grid, Poisson trips, a world, a policy."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.kernels import STATE_LETTERS, TICK_COUNTERS
from twin.traffic.network import Network, grid
from twin.traffic.observation import SignalAction, SignalObservation
from twin.traffic.signals import SignalBank
from twin.traffic.sumo_tools import run_program, sumo_binary


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


def assert_same_run(python: City, kernel: City, per_call: tuple[int, ...]) -> None:
    """Two runs of one city that differ only in where the kernel's batches of ticks end
    (``python``: the signal bank handles an event the ``kernel`` run handles inside the
    ticks) left the same vehicles, lanes, counters (but ``per_call``, which depend on
    where batches end), signals, counts and KPIs, to the last bit."""
    for x, y in zip((*python.veh, *python.lanes), (*kernel.veh, *kernel.lanes), strict=True):
        np.testing.assert_array_equal(x, y)
    keep = ~np.isin(np.arange(TICK_COUNTERS), per_call)
    np.testing.assert_array_equal(python.counters[keep], kernel.counters[keep])
    np.testing.assert_array_equal(python.mov_state, kernel.mov_state)
    for name in ("phase", "stage", "target", "target_green_s", "green_start_s", "next_event_s"):
        np.testing.assert_array_equal(getattr(python.signals, name), getattr(kernel.signals, name))
    counts = ("decisions", "forced", "clamped")
    assert [getattr(kernel.signals, c) for c in counts] == [
        getattr(python.signals, c) for c in counts
    ]
    assert {k: v.value for k, v in python.kpis().items()} == {
        k: v.value for k, v in kernel.kpis().items()
    }


def joined_actuated_grid(folder: Path) -> Path:
    """netgenerate's 3x3 grid with short x blocks (30 m), actuated lights and
    ``--tls.join`` (osmWebWizard's setting), so close junctions share one light."""
    net = folder / "joined.net.xml"
    run_program(
        [sumo_binary("netgenerate"), "--grid", "--grid.x-number", "3", "--grid.y-number", "3",
         "--grid.x-length", "30", "--grid.y-length", "200", "--grid.attach-length", "150",
         "--default-junction-type", "traffic_light", "--tls.join", "true",
         "--tls.join-dist", "40", "--tls.default-type", "actuated", "-o", net],
        "netgenerate",
    )  # fmt: skip
    return net
