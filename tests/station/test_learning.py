"""The station as a learning agent sees it: one agent, a vector in [0, 1]^5, reject or
admit, and rewards read from the run (twin.station.learning)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings

from twin.core.learning import COST
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.station.domain import DOMAIN
from twin.station.learning import station_learning
from twin.station.observation import ADMIT, REJECT, StationObservation
from twin.station.station import Station

AREA = DOMAIN.area("station")
LEARNING = station_learning()


def build(params: dict | None = None, policy: str = "admission/admit-all-v0", horizon_s=3600.0):
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=horizon_s, params=params or {})
    return prepare_run(config, policy, seed=3)


@pytest.fixture(scope="module")
def station() -> Station:
    return DOMAIN.model_of(build().world)


def test_the_area_points_at_its_learning_interface_and_importing_the_contract_does_not_load_it():
    assert AREA.learning is not None
    assert AREA.learning().rewards.keys() == LEARNING.rewards.keys()
    code = (
        "import sys, twin.station.domain; "
        "assert 'twin.station.learning' not in sys.modules; assert 'gymnasium' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_one_agent_is_the_entity_every_observation_is_about(station):
    assert LEARNING.agents(station) == ("station",)
    assert AREA.entity_of(station.observe()) == "station"
    assert station.world.entity("station") is station


def test_the_spaces_are_five_numbers_in_the_unit_box_and_two_choices(station):
    box = LEARNING.observation_space(station, "station")
    assert isinstance(box, spaces.Box)
    assert box.shape == (5,)
    assert box.dtype == np.float32
    assert box.low.tolist() == [0.0] * 5
    assert box.high.tolist() == [1.0] * 5
    assert LEARNING.action_space(station, "station") == spaces.Discrete(2)


def test_every_edge_case_encodes_inside_the_space(station):
    box = LEARNING.observation_space(station, "station")
    for obs in AREA.edge_cases():
        assert box.contains(LEARNING.encode(station, obs)), obs


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obs=AREA.observations())
def test_generated_observations_encode_inside_the_space(station, obs):
    vector = LEARNING.encode(station, obs)
    assert vector.dtype == np.float32
    assert LEARNING.observation_space(station, "station").contains(vector)


def test_a_bounded_station_is_encoded_against_its_waiting_room(station):
    # 2 servers, capacity 10: 8 waiting places; 4 wait, both servers busy, sensor 6.5.
    obs = StationObservation(100.0, 4, 2, 2, 10, 6.5)
    assert LEARNING.encode(station, obs).tolist() == [0.5, 1.0, 6.5 / 8, 0.0, 0.0]
    full = obs._replace(queue_length=8, sensed_queue_length=-0.7)
    assert LEARNING.encode(station, full).tolist() == [1.0, 1.0, 0.0, 0.0, 1.0]


def test_an_unbounded_station_fills_its_queue_element_at_ten_jobs_per_server(station):
    obs = StationObservation(0.0, 5, 1, 4, None, math.nan)  # 1 of 4 busy, 5 of 40 places
    assert LEARNING.encode(station, obs).tolist() == [0.125, 0.25, 0.0, 1.0, 0.0]
    huge = obs._replace(queue_length=10_000, busy_servers=4, sensed_queue_length=1e6)
    assert LEARNING.encode(station, huge).tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_index_zero_turns_the_job_away_and_one_admits_it(station):
    for obs in AREA.edge_cases():
        actions = [LEARNING.decode(station, obs, i) for i in range(2)]
        assert actions == [REJECT, ADMIT]
        for action in actions:
            assert AREA.check_action(action, obs, "learner/v0") is action
    with pytest.raises(ValueError, match="outside Discrete"):
        LEARNING.decode(station, AREA.edge_cases()[0], 2)


def test_cost_is_the_default_and_counts_the_price_of_every_job_turned_away():
    assert LEARNING.reward(None) is COST
    # One server, one waiting place: a job finding both taken is turned away at 5 a job.
    run = build({"rejection_cost": 5.0, "servers": 1, "capacity": 2})
    world, station = run.world, DOMAIN.model_of(run.world)
    world.run(2 * 3600.0)
    rejected = station.rejected.count
    assert rejected > 0
    measure = COST.measure(world, station, None)
    assert measure == pytest.approx(5.0 * rejected)
    assert COST.measure(world, station, "station") == measure  # shared by its one agent
    assert COST.value(0.0, measure) == pytest.approx(-5.0 * rejected)


def test_cost_is_zero_when_nothing_is_priced():
    run = build()
    run.world.run(3600.0)
    assert COST.measure(run.world, DOMAIN.model_of(run.world), None) == 0.0


def test_throughput_rewards_each_turn_with_the_jobs_completed_since_the_last():
    throughput = LEARNING.reward("throughput")
    run = build()
    world, station = run.world, DOMAIN.model_of(run.world)
    world.run(1800.0)
    before = throughput.measure(world, station, "station")
    world.run(3600.0)
    now = throughput.measure(world, station, "station")
    assert now == station.completed.count
    assert 0 < before < now
    assert throughput.value(before, now) == now - before  # positive: jobs finished
    assert throughput.measure(world, station, None) == now


def test_an_unknown_reward_names_the_known_ones():
    with pytest.raises(KeyError, match="cost, throughput"):
        LEARNING.reward("queue")


def test_a_run_answered_through_the_interface_sees_only_vectors_in_the_space():
    # What twin.rl's environment does at each arrival: encode, pick an index, decode.
    from twin.rl import DecisionStream

    config = ScenarioConfig(id="station/mmc-v0", horizon_s=3600.0, params={"capacity": 6})
    pick = np.random.default_rng(0)
    with DecisionStream(config, seed=1) as stream:
        station = DOMAIN.model_of(stream.world)
        box = LEARNING.observation_space(station, "station")
        decisions = 0
        while (obs := stream.next()) is not None:
            assert AREA.entity_of(obs) in LEARNING.agents(station)
            assert box.contains(LEARNING.encode(station, obs))
            stream.answer(LEARNING.decode(station, obs, int(pick.integers(2))))
            decisions += 1
        kpis = stream.result().kpis
    assert decisions == kpis["arrived"].value > 0
    assert 0 < kpis["rejected"].value < decisions  # about half turned away at random
