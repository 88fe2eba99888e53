"""Lights that run as programmed run inside the kernel, exactly as the signal bank runs
them in Python, and no batch of kernel ticks ends at their events."""

from __future__ import annotations

from typing import Any

import pytest

from models.signals.fixed_time import FixedTime
from tests.traffic.support import Cyclic, assert_same_run, joined_actuated_grid, programme_letters
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.kernels import ARRIVALS_THIS_CALL, NEXT_DAWDLE, STATE_LETTERS
from twin.traffic.network import Network, grid
from twin.traffic.observation import SignalAction, SignalObservation
from twin.traffic.signals import SignalBank, follows_programme
from twin.traffic.sumo import read_net, read_routes
from twin.traffic.sumo_tools import random_trips


class ProgrammeCyclic(Cyclic):
    """:class:`Cyclic`, declaring that it answers with the programme; counts its calls."""

    follows_programme = True

    def __init__(self) -> None:
        self.asked = 0

    def act(self, obs: SignalObservation) -> SignalAction:
        self.asked += 1
        return super().act(obs)


class Overrides(ProgrammeCyclic):
    """Inherits the declaration but answers otherwise: it must be asked."""

    def act(self, obs: SignalObservation) -> SignalAction:
        return SignalAction(int(obs.phase), 7.0)


def test_only_the_class_whose_act_answers_can_declare_it():
    assert follows_programme(ProgrammeCyclic())
    assert not follows_programme(Cyclic())
    assert not follows_programme(Overrides())


def city_of(network: Network, policy: Any, step_s: float, grid_s: float | None) -> City:
    world = World(3, tick_s=60.0, sample_period_s=45.0)
    trips = poisson_trips(
        network, RateProfile((0.0,), (0.5,)), 500.0, world.streams["traffic.demand"]
    )
    return City(world, network, trips, policy, step_s=step_s, decision_grid_s=grid_s)


def test_a_static_programme_shows_what_the_bank_shows_at_every_second():
    network = grid(2, 2, 150.0, green_s=30.0, all_red_s=2.0, min_green_s=30.0, max_green_s=30.0)
    city = city_of(network, Cyclic(), 1.0, None)
    assert len(city.fixed_lights.intersection) == len(city.signals) == 4
    shown: list[list[str]] = []

    def record():  # half a tick after each whole second: the tick at t has run
        yield city.env.timeout(0.5)
        while True:
            letters = (STATE_LETTERS[int(c)] for c in city.mov_state)
            row = "".join(letters)
            shown.append([row[m[0] : m[-1] + 1] for m in city.signals.movements])
            yield city.env.timeout(1.0)

    city.env.process(record())
    city.world.run(400.0)
    assert shown == programme_letters(network, 400)
    # Every green ended at its maximum (30 s, then 5 s of change: at 30, 65, ... 380 s);
    # nobody asked.
    assert city.signals.forced == 4 * len(range(30, 400, 35)) == 44
    assert city.signals.decisions == 0


@pytest.mark.parametrize(
    ("step_s", "grid_s", "programme"),
    [
        (1.0, None, {}),  # 42 s greens in [5, 50]: the policy's answer ends them
        (0.5, None, {"all_red_s": 2.0}),
        (1.0, 5.0, {}),  # sumo-rl's delta_time: the change counted in the answer
        (1.0, None, {"green_s": 60.0}),  # longer than the maximum: forced at 50 s
    ],
)
def test_a_policy_that_follows_the_programme_is_not_asked_and_changes_nothing(
    step_s, grid_s, programme
):
    network = grid(2, 3, 150.0, 2, **programme)
    asked, declared = Cyclic(), ProgrammeCyclic()
    python = city_of(network, asked, step_s, grid_s)
    kernel = city_of(network, declared, step_s, grid_s)
    assert len(python.fixed_lights.intersection) == 0
    assert len(kernel.fixed_lights.intersection) == len(kernel.signals) == 6
    for city in (python, kernel):
        city.world.run(700.0, warmup_s=100.0)
    assert declared.asked == 0
    if grid_s is None:
        assert kernel.kernel_calls < python.kernel_calls
    else:
        # On the 5 s grid every decision falls on a multiple of 45 s (a 42 s green, the
        # change counted in it), where the probes' samples end a batch anyway.
        assert kernel.kernel_calls == python.kernel_calls
    assert_same_run(python, kernel, per_call=(NEXT_DAWDLE,))


def test_actuated_lights_run_by_sumos_gap_control_in_the_kernel_as_in_the_bank(
    tmp_path, monkeypatch
):
    # Three junctions joined into one actuated light and six more (netconvert's
    # --tls.join), so parts of one light read each other's loops.
    net = joined_actuated_grid(tmp_path)
    routes = random_trips(net, tmp_path / "trips.rou.xml", end_s=900.0, period_s=1.5, seed=2)
    network = read_net(net)

    def city() -> City:
        world = World(4, tick_s=60.0, sample_period_s=45.0)
        return City(world, network, read_routes(network, routes), FixedTime(), step_s=1.0)

    kernel = city()
    real = SignalBank.runs_as_programmed
    with monkeypatch.context() as patch:  # the reference: the bank asks the policy
        patch.setattr(
            SignalBank,
            "runs_as_programmed",
            lambda bank, i: real(bank, i) and bank.intersections[i].program.actuation is None,
        )
        python = city()
    assert len(kernel.fixed_lights.intersection) == len(kernel.signals) > 0
    assert len(python.fixed_lights.intersection) == 0
    for run in (python, kernel):
        run.world.run(1200.0, warmup_s=60.0)
    assert kernel.signals.decisions > 5000  # SUMO's controller decides every second
    assert kernel.kernel_calls * 10 < python.kernel_calls
    assert_same_run(python, kernel, per_call=(NEXT_DAWDLE, ARRIVALS_THIS_CALL))
