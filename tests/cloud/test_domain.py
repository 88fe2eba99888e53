"""The cloud domain's contract: it loads light, declares what it decides, and holds in a run."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.cloud import Cluster, NodeSlot, ScalingAction
from twin.cloud.domain import DOMAIN
from twin.core.run import default_registry, prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.scene import SceneFrame, SceneLayout


@pytest.fixture(scope="module")
def run():
    """The burst scenario under the HPA for two hours: nodes launch and drain."""
    config = ScenarioConfig(id="cloud/burst-v0", horizon_s=86_400.0)
    prepared = prepare_run(config, "scaling/hpa-v0", seed=5)
    prepared.world.run(2 * 3600.0)
    return prepared


def test_the_domain_loads_without_hypothesis_or_matplotlib():
    code = (
        "import sys, twin.cloud.domain\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_entry_point_finds_the_domain_by_name_and_by_area():
    registry = default_registry()
    assert registry.domain("cloud") is DOMAIN
    assert registry.domain("cloud.scaling") is DOMAIN
    for scenario_id in DOMAIN.scenario_checks:
        assert registry.scenario(scenario_id).domain == "cloud.scaling"
    assert registry.policy(DOMAIN.area("cloud.scaling").baseline).domain == "cloud.scaling"


def test_every_field_has_a_meaning_and_the_spaces_build():
    area = DOMAIN.area("cloud.scaling")
    assert set(area.observation_fields) == set(area.observation._fields)
    assert set(area.action_fields) == set(area.action._fields)
    assert all(q.description for q in [*area.observation_fields.values()])
    assert all(q.description for q in [*area.action_fields.values()])
    observation_space = area.observation_space()
    action_space = area.action_space()
    assert "utilisation" in observation_space.spaces
    assert action_space["desired_nodes"].contains(1)


def test_the_edge_cases_pass_the_checker():
    area = DOMAIN.area("cloud.scaling")
    for obs in area.edge_cases():
        for desired in (obs.min_nodes, obs.max_nodes):
            action = ScalingAction(desired, 0)
            assert area.check_action(action, obs, "test/v0") is action


def test_a_run_keeps_its_invariants_and_names_its_entities(run):
    world = run.world
    cluster = DOMAIN.model_of(world)
    assert cluster is run.scenario.cluster
    assert isinstance(cluster, Cluster)
    assert DOMAIN.check_world(world) == []
    obs = cluster.observe(world.now_s)
    assert world.entity(DOMAIN.area("cloud.scaling").entity_of(obs)) is cluster
    assert_in_ranges(obs)


def test_each_entity_kind_inspects(run):
    world = run.world
    cluster = run.scenario.cluster
    cluster.close()  # as a view does: serve the window so far, pop what has completed
    info = world.entity("cluster").inspect()
    assert info["entity"] == "cluster"
    assert info["requests_arrived"] == cluster.arrived_total
    assert sum(info["nodes"].values()) == sum(n is not None for n in cluster.nodes)
    slots = [entity for entity in world.entities() if isinstance(entity, NodeSlot)]
    assert [entity.name for entity in slots] == [f"node:{s}" for s in range(cluster.slots)]
    for entity in slots:
        node = cluster.nodes[entity.slot]
        shown = entity.inspect()
        assert shown["entity"] == entity.name
        assert shown["state"] == ("empty" if node is None else node.state)
        assert shown["served_in_slot"] == cluster.served[entity.slot]
        if node is not None:
            assert shown["launched_s"] == node.launched_s
            assert shown["waiting"] == cluster.waiting(entity.slot, world.now_s)
    assert any(entity.inspect()["state"] == "ready" for entity in slots)


def test_the_view_draws_a_built_world(run):
    view = DOMAIN.view_of(run.world)
    assert isinstance(view.layout, SceneLayout)
    frame = view.frame()
    assert isinstance(frame, SceneFrame)
    assert set(frame.points) == {layer.name for layer in view.layout.layers}
    for name in view.layout.pick_names:
        run.world.entity(name)


def test_the_kpi_directions_name_kpis_a_run_reports(run):
    kpis = run.result(wall_s=0.0).kpis
    assert set(DOMAIN.kpis) <= set(kpis)
    assert DOMAIN.kpis["latency_p95_s"] == "lower"
    assert DOMAIN.kpis["throughput_per_s"] == "higher"


def test_a_run_finds_its_policy_in_the_registry_it_is_given():
    # The cluster has no second policy; its one policy comes from the run's registry.
    from models.scaling.static import Static
    from twin.cloud.scenario import DiurnalCloud
    from twin.core.registry import Registry
    from twin.core.run import simulate

    registry = Registry(discover=False)
    registry.register_scenario(DiurnalCloud)
    registry.register_policy(Static)
    config = ScenarioConfig(id="cloud/diurnal-v0", horizon_s=600.0)
    assert simulate(config, "scaling/static-v0", 1, registry=registry).kpis["node_hours"].value > 0
    with pytest.raises(
        Exception, match=r"unknown policy 'scaling/hpa-v0'; known: scaling/static-v0"
    ):
        simulate(config, "scaling/hpa-v0", 1, registry=registry)


def within(value: float, quantity) -> bool:
    if value is None or value != value:  # None or NaN
        return quantity.missing
    return quantity.low <= value <= quantity.high


@settings(max_examples=60)
@given(st.data())
def test_generated_observations_and_edge_cases_lie_in_the_declared_ranges(data):
    area = DOMAIN.area("cloud.scaling")
    obs = data.draw(st.one_of(area.observations(), st.sampled_from(area.edge_cases())))
    assert_in_ranges(obs)


def assert_in_ranges(obs) -> None:
    for name, quantity in DOMAIN.area("cloud.scaling").observation_fields.items():
        value = getattr(obs, name)
        values = value if isinstance(value, tuple) else (value,)
        if name == "deferred":
            values = [count for count, _ in value]
        assert all(within(v, quantity) for v in values), (name, value)
