"""The traffic domain's contract: what generic code reads of it holds for a built city."""

import subprocess
import sys

import numpy as np
import pytest

from twin.core.policy import InvalidActionError
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.traffic.city import City
from twin.traffic.domain import DOMAIN, SIGNALS
from twin.traffic.entities import Fleet, Junction
from twin.traffic.kernels import ARRIVED, DRIVING, WAITING
from twin.traffic.observation import SignalAction


@pytest.fixture(scope="module")
def run():
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=900.0, tick_s=60.0)
    prepared = prepare_run(config, "signals/max-pressure-v0", seed=2)
    prepared.world.run(300.0)
    return prepared


def test_importing_the_domain_imports_neither_hypothesis_nor_matplotlib():
    code = (
        "import sys, twin.traffic.domain, twin.traffic; "
        "assert 'hypothesis' not in sys.modules; assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_registry_finds_the_domain_by_name_and_by_area():
    from twin.core.run import default_registry

    registry = default_registry()
    assert registry.domain("traffic") is DOMAIN
    assert registry.domain("traffic.signals") is DOMAIN


def test_spaces_build_and_every_field_has_a_meaning():
    pytest.importorskip("gymnasium")
    for area in DOMAIN.areas:
        assert set(area.observation_fields) == set(area.observation._fields)
        assert set(area.action_fields) == set(area.action._fields)
        assert all(q.description for q in area.observation_fields.values())
        observation_space = area.observation_space()
        assert set(observation_space.spaces) == set(area.observation._fields)
        assert set(area.action_space().spaces) == {"phase", "duration_s"}


def test_edge_cases_accept_a_valid_action_and_refuse_a_phase_out_of_range():
    for obs in SIGNALS.edge_cases():
        assert SIGNALS.check_action(SignalAction(0, 5.0), obs, "p") == (0, 5.0)
        with pytest.raises(InvalidActionError):
            SIGNALS.check_action(SignalAction(len(obs.green_s), 5.0), obs, "p")
        with pytest.raises(InvalidActionError):
            SIGNALS.check_action((0, 5.0), obs, "p")


def test_the_model_is_the_city_and_its_invariants_hold(run):
    city = DOMAIN.model_of(run.world)
    assert city is run.scenario.city
    assert isinstance(city, City)
    assert city.name == "city"
    assert DOMAIN.check_world(run.world) == []
    assert (city.veh.state == DRIVING).any()


def test_entity_of_names_the_intersection_observed(run):
    city = run.scenario.city
    for i in range(len(city.signals)):
        obs = city.observe(i, run.world.now_s)
        entity = run.world.entity(SIGNALS.entity_of(obs))
        assert isinstance(entity, Junction)
        assert entity.signalised == obs.intersection
        assert entity.id == obs.intersection_id


def test_every_intersection_is_an_entity_at_its_node(run):
    city = run.scenario.city
    world = run.world
    for inter in city.network.intersections:
        junction = world.entity(f"intersection:{inter.id}")
        node = city.network.nodes[inter.node]
        assert junction.pos == (node.x_m, node.y_m)
    names = [e.name for e in world.entities()]
    assert names[0] == "city"
    assert names[-1] == "vehicles"
    assert len(names) == len(city.network.intersections) + 2


def test_an_intersection_inspects_as_its_controller_and_lanes(run):
    city = run.scenario.city
    bank = city.signals
    i = 5
    inter = bank.intersections[i]
    info = run.world.entity(f"intersection:{inter.id}").inspect()
    lanes = city.arrays.mov_from_lane[bank.movements[i]]
    assert info["entity"] == f"intersection:{inter.id}"
    assert (info["phase"], info["stage"]) == (int(bank.phase[i]), int(bank.stage[i]))
    assert info["movement_state"] == city.mov_state[bank.movements[i]].tolist()
    assert info["queue_veh"] == city.lanes.halting[lanes].tolist()
    assert info["vehicles"] == city.lanes.count[lanes].tolist()
    np.testing.assert_array_equal(info["sensed_queue_veh"], city.board.values[lanes])


def test_the_vehicles_inspect_as_a_summary_of_the_arrays(run):
    city = run.scenario.city
    veh = city.veh
    fleet = run.world.entity("vehicles")
    assert isinstance(fleet, Fleet)
    assert fleet.pos is None
    info = fleet.inspect()
    on = veh.state == DRIVING
    assert info["on_network"] == int(on.sum()) == int(city.lanes.count.sum())
    assert info["waiting_to_insert"] == int((veh.state == WAITING).sum())
    assert info["finished"] == int((veh.state == ARRIVED).sum())
    assert info["halting"] == int(veh.halting[on].sum())
    assert info["speed_mean_mps"] == pytest.approx(float(veh.speed[on].mean()))
    info = run.world.entity("city").inspect()
    assert info["entity"] == "city"
    assert info["intersections"] == len(city.network.intersections) == 16
    assert info["signalised"] == len(city.signals)
    assert info["trips"] == len(veh.state)


def test_a_run_needs_nothing_outside_the_registry_it_is_given():
    """The city resolves no second policy: a registry holding only the scenario and
    one policy runs it, and an id it lacks is refused by that registry."""
    from models.signals.fixed_time import FixedTime
    from twin.core.errors import ConfigError
    from twin.core.registry import Registry
    from twin.core.run import simulate
    from twin.traffic.scenario import GridCity

    registry = Registry(discover=False)
    registry.register_scenario(GridCity)
    registry.register_policy(FixedTime)
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=120.0, tick_s=60.0)
    result = simulate(config, "signals/fixed-time-v0", seed=1, registry=registry)
    assert result.kpis["signal_decisions"].value > 0
    with pytest.raises(ConfigError, match="unknown policy 'signals/max-pressure-v0'"):
        simulate(config, "signals/max-pressure-v0", seed=1, registry=registry)


def test_the_view_of_a_built_world_draws_it(run):
    view = DOMAIN.view_of(run.world)
    frame = view.frame()
    assert frame.now_s == run.world.now_s
    assert set(frame.points) == {"vehicles", "signals"}
    assert set(frame.segments) == {"queues"}
    for name in view.layout.pick_names:
        run.world.entity(name)
