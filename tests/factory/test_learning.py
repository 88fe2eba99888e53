"""The maintenance decision as a learning agent sees it: one agent per machine, a vector
of 25 bounded numbers, run on or maintain, and rewards read from the run
(twin.factory.learning)."""

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
from twin.factory.domain import DOMAIN
from twin.factory.learning import UPKEEP, maintenance_learning, nominal_life_h
from twin.factory.observation import CONTINUE, DOWN_STATES, MAINTAIN, MaintenanceObservation
from twin.factory.plant import Plant

AREA = DOMAIN.area("factory.maintenance")
LEARNING = maintenance_learning()
RUN_TO_FAILURE = "maintenance/run-to-failure-v0"


def build(scenario: str = "factory/flowline-v0", params: dict | None = None, seed: int = 1):
    config = ScenarioConfig(id=scenario, horizon_s=86_400.0, tick_s=600.0, params=params or {})
    return prepare_run(config, RUN_TO_FAILURE, seed)


def fast_wear_line() -> dict:
    """Two stations, three machines that wear out in about 20 operating hours."""
    stations = [
        {
            "name": name,
            "machines": machines,
            "processing": {"kind": "gamma", "mean": 50.0 * machines, "cv": 0.5},
            "degradation": {"drift_per_h": 1 / 20},
        }
        for name, machines in (("a", 1), ("b", 2))
    ]
    return {
        "products": [
            {"name": "p", "route": ["a", "b"], "interarrival": {"kind": "exponential", "mean": 60}}
        ],
        "stations": stations,
    }


@pytest.fixture(scope="module")
def flowline() -> Plant:
    return DOMAIN.model_of(build().world)


def test_maintenance_has_a_learning_interface_and_dispatch_has_none():
    assert AREA.learning is not None
    assert AREA.learning().rewards.keys() == LEARNING.rewards.keys()
    assert DOMAIN.area("factory.dispatch").learning is None
    code = (
        "import sys, twin.factory.domain; "
        "assert 'twin.factory.learning' not in sys.modules; assert 'gymnasium' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("scenario", "machines"),
    [("factory/flowline-v0", 6), ("factory/jobshop-agv-v0", 7), ("factory/plant-1000-v0", 1000)],
)
def test_the_agents_are_every_machine_named_as_its_observations_are(scenario, machines):
    world = build(scenario).world
    plant = DOMAIN.model_of(world)
    agents = LEARNING.agents(plant)
    assert len(agents) == machines
    assert agents[:2] == ("machine:0", "machine:1")
    assert list(agents) == [AREA.entity_of(plant.observe(m)) for m in plant.machines]
    assert world.entity(agents[-1]) is plant.machines[-1]


def test_the_spaces_are_25_bounded_numbers_and_two_choices(flowline):
    box = LEARNING.observation_space(flowline, "machine:0")
    assert isinstance(box, spaces.Box)
    assert box.shape == (25,)
    assert box.dtype == np.float32
    assert box.low.tolist() == [0.0] * 23 + [-1.0, -1.0]
    assert box.high.tolist() == [1.0] * 17 + [2.0, 2.0, 2.0] + [1.0] * 5
    assert LEARNING.action_space(flowline, "machine:5") == spaces.Discrete(2)


def test_every_edge_case_encodes_inside_the_space(flowline):
    for obs in AREA.edge_cases():
        box = LEARNING.observation_space(flowline, AREA.entity_of(obs))
        assert box.contains(LEARNING.encode(flowline, obs)), obs


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obs=AREA.observations())
def test_generated_observations_encode_inside_the_space(flowline, obs):
    # Generated machine indices go up to 999: the flow line's six machines and others.
    vector = LEARNING.encode(flowline, obs)
    assert vector.dtype == np.float32
    assert LEARNING.observation_space(flowline, AREA.entity_of(obs)).contains(vector)


def test_a_worn_mill_with_a_dead_pressure_sensor_encodes_element_by_element(flowline):
    # Machine 1 is a mill: 500 h nominal life, 160 s a part, so 11,250 parts a life.
    assert nominal_life_h(flowline, 1) == pytest.approx(500.0)
    obs = MaintenanceObservation(
        now_s=6 * 3600.0,  # a quarter of the day: sine 1, cosine 0
        machine=1,
        station="mill",
        state="busy",
        vibration_mm_s=5.0,
        temperature_c=50.0,
        pressure_bar=math.nan,
        humidity_pct=45.0,
        reading_age_s=300.0,  # half a 600 s period, of the 4 periods that fill it
        operating_h=250.0,
        calendar_h=1500.0,  # three lives: clipped at two
        parts=5625,
        failures=3,
        technicians_free=1,  # of 2
        maintenance_queue=3,  # of 6 machines
    )
    expected = [
        *(0, 0, 1, 0, 0, 0, 0),  # busy
        *(0.25, 0.5, 0.0, 0.45),  # 5/20 mm/s, (50+20)/140 degC, missing, 45/100 %
        *(0, 0, 1, 0),  # pressure missing
        *(0.125, 0),  # age, present
        *(0.5, 2.0, 0.5),  # operating, calendar, parts over a life
        *(0.75, 0.5, 0.5),  # 3 failures -> 3/4, crew, queue
        *(1.0, 0.0),  # time of day
    ]
    np.testing.assert_allclose(LEARNING.encode(flowline, obs), expected, atol=1e-6)


def test_the_first_report_and_wild_readings_encode_as_missing_or_clipped(flowline):
    first = AREA.edge_cases()[0]  # every reading NaN, at midnight, idle
    vector = LEARNING.encode(flowline, first)
    assert vector[:7].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert vector[7:11].tolist() == [0, 0, 0, 0]
    assert vector[11:17].tolist() == [1, 1, 1, 1, 0, 1]
    assert vector[23:].tolist() == [0.0, 1.0]
    wild = first._replace(vibration_mm_s=1e6, temperature_c=-1e6, pressure_bar=11.0)
    assert LEARNING.encode(flowline, wild)[7:15].tolist() == [1, 0, 1, 0, 0, 0, 0, 1]


def test_index_zero_lets_the_machine_run_and_one_maintains_it(flowline):
    for obs in AREA.edge_cases():
        actions = [LEARNING.decode(flowline, obs, i) for i in range(2)]
        assert actions == [CONTINUE, MAINTAIN]
        for action in actions:
            assert AREA.check_action(action, obs, "learner/v0") is action
    with pytest.raises(ValueError, match="outside Discrete"):
        LEARNING.decode(flowline, AREA.edge_cases()[0], -1)


def test_upkeep_is_the_default_and_is_all_money_but_raw_material():
    assert LEARNING.reward(None) is UPKEEP
    run = build(params={**fast_wear_line(), "downtime_cost_per_h": 100.0})
    world = run.world
    plant = DOMAIN.model_of(world)
    world.run(2 * 86_400.0)
    ledger = world.ledger
    assert ledger.cost("material") > 0
    assert ledger.cost("maintenance") > 0
    expected = ledger.cost("maintenance") + ledger.cost("lost_production") + ledger.cost("energy")
    assert UPKEEP.measure(world, plant, None) == pytest.approx(expected)
    assert UPKEEP.measure(world, plant, "machine:2") == UPKEEP.measure(world, plant, None)


def test_cost_is_the_plants_money_for_material_and_scrap():
    run = build()
    world = run.world
    plant = DOMAIN.model_of(world)
    world.run(6 * 3600.0)
    assert plant.failures.count == 0  # 6 h of a 500 h life: nothing to repair yet
    material = 20.0  # the flow line's ProductSpec.material_cost per raw part
    expected = material * (plant.released.count + plant.scrapped.count)
    assert COST.measure(world, plant, "machine:0") == pytest.approx(expected)
    assert COST.measure(world, plant, None) == COST.measure(world, plant, "machine:3")


def test_cost_includes_repairs_and_the_price_of_downtime():
    run = build(params={**fast_wear_line(), "downtime_cost_per_h": 100.0})
    world = run.world
    plant = DOMAIN.model_of(world)
    world.run(2 * 86_400.0)
    ledger = world.ledger
    assert plant.failures.count > 0
    assert ledger.cost("maintenance") > 0
    assert ledger.cost("lost_production") > 0
    measure = COST.measure(world, plant, None)
    assert math.isfinite(measure)
    assert measure == pytest.approx(ledger.cost())
    assert COST.value(measure, measure + 800.0) == pytest.approx(-800.0)


def test_availability_is_one_for_a_machine_up_zero_for_one_down_and_the_share_for_the_plant():
    availability = LEARNING.reward("availability")
    assert availability.kind == "level"
    run = build(params=fast_wear_line(), seed=4)
    world = run.world
    plant = DOMAIN.model_of(world)
    agents = LEARNING.agents(plant)
    down_seen = False
    while world.now_s < 3 * 86_400.0 and not down_seen:
        world.run(world.now_s + 600.0)
        values = [availability.measure(world, plant, agent) for agent in agents]
        assert values == [0.0 if m.state in DOWN_STATES else 1.0 for m in plant.machines]
        assert availability.measure(world, plant, None) == pytest.approx(sum(values) / 3)
        down_seen = 0.0 in values
    assert down_seen  # a machine that wears out in ~20 h is down within three days


def test_a_run_answered_through_the_interface_sees_only_vectors_in_the_space():
    # What twin.rl's environments do at each report: encode, pick an index, decode.
    from twin.rl import DecisionStream

    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=86_400.0, tick_s=600.0)
    pick = np.random.default_rng(0)
    with DecisionStream(config, seed=1) as stream:
        plant = DOMAIN.model_of(stream.world)
        agents = set(LEARNING.agents(plant))
        decisions = 0
        while (obs := stream.next()) is not None:
            agent = AREA.entity_of(obs)
            assert agent in agents
            assert LEARNING.observation_space(plant, agent).contains(LEARNING.encode(plant, obs))
            # Maintain rarely (1 in 50 reports), as a learner early in training might.
            index = int(pick.random() < 0.02)
            stream.answer(LEARNING.decode(plant, obs, index))
            decisions += 1
        kpis = stream.result().kpis
    assert decisions == 6 * 144  # six machines reporting every 600 s for a day
    assert kpis["preventive_actions"].value > 0
