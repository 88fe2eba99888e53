"""The factory's domain contract: spaces, edge cases, entities, invariants."""

from __future__ import annotations

import subprocess
import sys

import pytest

from twin.core.policy import InvalidActionError
from twin.core.run import default_registry, prepare_run
from twin.core.scenario import ScenarioConfig
from twin.factory.domain import DOMAIN
from twin.factory.observation import CONTINUE, MAINTAIN, WAIT, DispatchAction
from twin.factory.plant import Plant


def test_importing_the_domain_does_not_import_hypothesis() -> None:
    code = "import sys, twin.factory.domain; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_domain_is_registered() -> None:
    assert default_registry().domain("factory") is DOMAIN
    assert default_registry().domain("factory.dispatch") is DOMAIN


@pytest.mark.parametrize("area", DOMAIN.areas, ids=lambda a: a.name)
def test_every_field_has_a_meaning_and_the_spaces_build(area) -> None:
    pytest.importorskip("gymnasium")
    assert set(area.observation_fields) >= set(area.observation._fields)
    assert set(area.action_fields) >= set(area.action._fields)
    assert all(q.description for q in area.observation_fields.values())
    area.observation_space()
    area.action_space()
    assert area.baseline in {entry.id for entry in default_registry().policies()}


def test_edge_cases_pass_the_checker_with_the_simplest_answers() -> None:
    maintenance, dispatch = DOMAIN.area("factory.maintenance"), DOMAIN.area("factory.dispatch")
    for obs in maintenance.edge_cases():
        assert maintenance.check_action(MAINTAIN, obs, "t") == MAINTAIN
        assert maintenance.check_action(CONTINUE, obs, "t") == CONTINUE
        with pytest.raises(InvalidActionError):
            maintenance.check_action(True, obs, "t")
    for obs in dispatch.edge_cases():
        assert dispatch.check_action(WAIT, obs, "t") == []
        with pytest.raises(InvalidActionError):
            dispatch.check_action(DispatchAction(((0, 99),)), obs, "t")


@pytest.fixture(scope="module")
def jobshop() -> Plant:
    config = ScenarioConfig(id="factory/jobshop-agv-v0", horizon_s=86_400.0)
    run = prepare_run(config, "maintenance/run-to-failure-v0", seed=2)
    run.world.env.run(until=4 * 3600.0)
    return run.world.the(Plant)


def test_entity_of_names_an_entity_of_the_world(jobshop: Plant) -> None:
    world = jobshop.world
    maintenance, dispatch = DOMAIN.area("factory.maintenance"), DOMAIN.area("factory.dispatch")
    for machine in jobshop.machines:
        assert world.entity(maintenance.entity_of(jobshop.observe(machine))) is machine
    assert jobshop.fleet is not None
    assert world.entity(dispatch.entity_of(jobshop.fleet.observe())) is jobshop.fleet


def test_invariants_hold_after_a_short_run(jobshop: Plant) -> None:
    assert DOMAIN.model_of(jobshop.world) is jobshop
    assert DOMAIN.check_world(jobshop.world) == []
    assert len(DOMAIN.invariant_rules) == 8


def test_every_kind_of_entity_can_be_inspected(jobshop: Plant) -> None:
    world = jobshop.world
    names = [entity.name for entity in world.entities()]
    kinds = {name.partition(":")[0] for name in names}
    assert kinds == {"plant", "machine", "buffer", "fleet", "agv"}
    assert len(names) == len(set(names))
    for name in names:
        info = world.entity(name).inspect()
        assert info["entity"] == name
    machine = world.entity("machine:0").inspect()
    assert machine["name"] == "lathe.0"
    assert machine["station"] == "lathe"
    assert set(machine["true_signals"]) == set(machine["readings"])
    plant = world.entity("plant").inspect()
    assert sum(plant["machines_by_state"].values()) == len(jobshop.machines)
    agv = world.entity("agv:0").inspect()
    assert 0.0 <= agv["soc"] <= 1.0
    assert world.entity("agv:0").pos is not None
    assert world.entity("buffer:lathe").inspect()["capacity"] == 5


def test_kpis_with_a_better_direction_are_kpis_of_the_plant(jobshop: Plant) -> None:
    config = ScenarioConfig(id="factory/orders-small-v0", horizon_s=3600.0)
    run = prepare_run(config, "planning/fifo-v0", seed=0)
    run.world.run(config.horizon_s)
    make_to_order = DOMAIN.model_of(run.world)
    assert set(DOMAIN.kpis) <= set(jobshop.kpis()) | set(make_to_order.kpis())
