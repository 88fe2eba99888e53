"""The change intervals of lights a policy decides for end inside the kernel, exactly as
the signal bank ends them in Python, and no batch of kernel ticks ends at them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.traffic.support import Cyclic, Erratic, assert_same_run
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.demand import RateProfile, poisson_trips
from twin.traffic.kernels import ARRIVALS_THIS_CALL, NEXT_DAWDLE
from twin.traffic.network import Network, grid
from twin.traffic.signals import MAX_KERNEL_PHASES, SignalBank


def city_of(network: Network, policy: Any, step_s: float, grid_s: float | None) -> City:
    world = World(5, tick_s=60.0, sample_period_s=45.0)
    trips = poisson_trips(
        network, RateProfile((0.0,), (0.6,)), 600.0, world.streams["traffic.demand"]
    )
    return City(world, network, trips, policy, step_s=step_s, decision_grid_s=grid_s)


@pytest.mark.parametrize(
    ("policy", "step_s", "grid_s", "programme"),
    [
        ("cyclic", 1.0, None, {"all_red_s": 2.0}),
        ("erratic", 1.0, None, {"all_red_s": 2.0}),  # any phase after any other
        ("erratic", 0.5, None, {"all_red_s": 1.5}),
        ("erratic", 1.0, 5.0, {}),  # sumo-rl's grid: the yellow within the 5 s
        # A change on the 5 s grid with 3 s of yellow and 2 s of all-red leaves no green:
        # the green that starts at the grid point is asked at once.
        ("erratic", 1.0, 5.0, {"all_red_s": 2.0, "min_green_s": 0.0}),
        ("erratic", 1.0, None, {"yellow_s": 0.0, "all_red_s": 2.0}),
    ],
)
def test_a_decided_light_changes_in_the_kernel_as_in_the_bank(
    monkeypatch, policy, step_s, grid_s, programme
):
    network = grid(2, 3, 150.0, 2, **programme)

    def policy_of() -> Any:
        return Cyclic() if policy == "cyclic" else Erratic(11)

    kernel = city_of(network, policy_of(), step_s, grid_s)
    with monkeypatch.context() as patch:  # the reference: the bank ends every interval
        real = SignalBank._change_intervals
        patch.setattr(SignalBank, "_change_intervals", lambda bank, asked: real(bank, []))
        python = city_of(network, policy_of(), step_s, grid_s)
    assert len(python.change_intervals.intersection) == 0
    assert len(kernel.change_intervals.intersection) == len(kernel.signals) == 6
    for city in (python, kernel):
        city.world.run(600.0, warmup_s=60.0)
    assert kernel.signals.decisions > 50
    assert kernel.kernel_calls < python.kernel_calls
    # Where the dawdle uniforms are read from and the last call's arrivals depend on
    # where batches end; nothing else may.
    assert_same_run(python, kernel, per_call=(NEXT_DAWDLE, ARRIVALS_THIS_CALL))


def test_a_light_with_more_phases_than_the_kernel_holds_changes_in_the_bank():
    plain = grid(1, 2, 150.0)
    first = plain.intersections[0]
    assert first.program is not None
    repeats = MAX_KERNEL_PHASES // len(first.program.phases) + 1
    many = dataclasses.replace(first.program, phases=first.program.phases * repeats)
    intersections = (dataclasses.replace(first, program=many), *plain.intersections[1:])
    network = dataclasses.replace(plain, intersections=intersections)
    city = city_of(network, Erratic(3), 1.0, None)
    assert city.change_intervals.intersection.tolist() == [1]  # the other light
    city.world.run(300.0)
    assert city.signals.decisions > 20
