"""Signal policies read as specifications, and the controller's rules around them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.signals.actuated import Actuated
from models.signals.fixed_time import FixedTime, Webster
from models.signals.max_pressure import MaxPressure
from models.signals.sotl import Sotl
from tests.traffic.support import small_city
from twin.core.policy import InvalidActionError
from twin.traffic.observation import SignalAction, SignalObservation


def obs(**over) -> SignalObservation:
    base = dict(
        now_s=100.0, intersection=0, intersection_id="J0_0", phase=0, phase_elapsed_s=20.0,
        min_green_s=5.0, max_green_s=50.0,
        phase_green=np.array([[True, True, False, False], [False, False, True, True]]),
        green_s=np.array([42.0, 30.0]), queue=np.zeros(4), vehicles=np.zeros(4),
        downstream=np.zeros(4), gap_s=np.full(4, math.inf), flow_per_s=np.zeros(4),
        sensed_queue=np.full(4, np.nan), sensed_count=np.full((4, 2), np.nan),
        sensed_occupancy=np.full((4, 2), np.nan), sensed_speed_mps=np.full((4, 2), np.nan),
        lane=np.arange(4),
    )  # fmt: skip
    base.update(over)
    return SignalObservation(**base)


def test_fixed_time_runs_the_programme_in_order():
    assert FixedTime().act(obs()) == SignalAction(1, 30.0)
    assert FixedTime().act(obs(phase=1)) == SignalAction(0, 42.0)


def test_webster_gives_the_busier_phase_more_green_and_a_longer_cycle_when_busier():
    policy = Webster()
    light = policy.greens(obs(flow_per_s=np.array([0.10, 0.05, 0.05, 0.05])))
    heavy = policy.greens(obs(flow_per_s=np.array([0.20, 0.10, 0.15, 0.05])))
    assert light[0] > light[1]
    assert heavy.sum() > light.sum()
    # Webster's cycle: (1.5 L + 5) / (1 - Y), L = 2 x 5 s, Y = 0.2 + 0.1 = 0.3.
    assert light.sum() + 10 == pytest.approx(max((1.5 * 10 + 5) / (1 - 0.3), 30.0))


def test_actuated_extends_on_recent_arrivals_and_gaps_out_otherwise():
    policy = Actuated()
    busy = obs(gap_s=np.array([1.0, math.inf, 0.5, 0.5]))
    assert policy.act(busy) == SignalAction(0, 1.0)
    quiet = obs(gap_s=np.array([5.0, 9.0, 0.5, 0.5]))
    assert policy.act(quiet) == SignalAction(1, 1.0)
    early = obs(phase_elapsed_s=2.0, gap_s=np.array([9.0, 9.0, 0.5, 0.5]))
    assert policy.act(early).phase == 0


def test_max_pressure_serves_the_largest_upstream_minus_downstream():
    policy = MaxPressure()
    o = obs(vehicles=np.array([2.0, 1.0, 6.0, 0.0]), downstream=np.array([0.0, 0.0, 1.0, 0.0]))
    assert policy.act(o) == SignalAction(1, 5.0)  # 3 vs 5
    tie = obs(vehicles=np.array([2.0, 1.0, 3.0, 0.0]))
    assert policy.act(tie).phase == 0


def test_sotl_switches_once_red_demand_accumulates():
    policy = Sotl()
    waiting = dict(vehicles=np.array([0.0, 0.0, 3.0, 0.0]))
    assert policy.act(obs(now_s=100.0, **waiting)).phase == 0
    assert policy.act(obs(now_s=102.0, **waiting)).phase == 0  # 6 vehicle-s < 10
    assert policy.act(obs(now_s=106.0, **waiting)).phase == 1  # 18 vehicle-s > 10


class Bad:
    id = "test/bad"
    domain = "traffic.signals"

    def __init__(self, action):
        self.action = action

    def reset(self, context):
        pass

    def act(self, obs):
        return self.action


@pytest.mark.parametrize(
    "action", [SignalAction(7, 5.0), SignalAction(0, -1.0), SignalAction(0, math.nan), 1]
)
def test_an_invalid_action_is_an_invalid_action_error(action):
    world, _ = small_city(1, policy=Bad(action))
    with pytest.raises(InvalidActionError):
        world.run(200.0)


class Switchy:
    """Asks to switch phase at every epoch, 1 s at a time."""

    id = "test/switchy"
    domain = "traffic.signals"

    def reset(self, context):
        pass

    def act(self, obs):
        return SignalAction((obs.phase + 1) % len(obs.green_s), 1.0)


class Sticky:
    """Never lets go of the current phase."""

    id = "test/sticky"
    domain = "traffic.signals"

    def reset(self, context):
        pass

    def act(self, obs):
        return SignalAction(obs.phase, 10.0)


def test_min_green_is_enforced_whatever_the_policy_asks():
    world, city = small_city(1, policy=Switchy())
    starts = []
    bank = city.signals
    last = bank.green_start_s.copy()
    for _ in range(300):
        world.env.run(until=world.env.now + 1)
        changed = bank.green_start_s != last
        starts += list(bank.green_start_s[changed] - last[changed])
        last = bank.green_start_s.copy()
    # Each green lasted its 5 s minimum plus 3 s yellow, never less.
    assert starts
    assert min(starts) >= 8.0 - 1e-9


def test_max_green_ends_a_phase_the_policy_would_hold_forever():
    world, city = small_city(1, policy=Sticky())
    world.run(400.0)
    assert city.signals.forced > 0
    starts = city.signals.green_start_s
    assert np.all(400.0 - starts <= 50.0 + 3.0 + 1.0)


def test_actuated_with_sensors_reads_the_upstream_loops():
    from models.signals.actuated import ActuatedParams

    policy = Actuated(ActuatedParams(use_sensors=True))
    quiet = np.zeros((4, 2))
    # The exact gap says "busy", but the policy reads the loops: nobody came, gap out.
    o = obs(gap_s=np.zeros(4), sensed_count=quiet, sensed_occupancy=quiet)
    assert policy.act(o) == SignalAction(1, 1.0)
    came = quiet.copy()
    came[1, 1] = 1.0  # a car crossed the upstream loop of a served lane
    assert policy.act(o._replace(sensed_count=came)).phase == 0
    covered = quiet.copy()
    covered[0, 1] = 0.3
    assert policy.act(o._replace(sensed_occupancy=covered)).phase == 0
    stop_line_only = quiet.copy()
    stop_line_only[0, 0] = 4.0  # the stop-line loop does not extend the green
    assert policy.act(o._replace(sensed_count=stop_line_only)).phase == 1
    # No reading from a served lane's loop: a call (fail-safe recall).
    assert policy.act(obs(gap_s=np.full(4, math.inf))).phase == 0
