"""The public strategies give valid observations, params and seeds for users' own tests."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from twin.core.run import build_scenario, default_registry
from twin.core.scenario import ScenarioConfig
from twin.factory.observation import MACHINE_STATES
from twin.testing import strategies


@settings(max_examples=60)
@given(strategies.observations("factory.maintenance"))
def test_maintenance_observations_are_well_formed(obs):
    assert obs.state in MACHINE_STATES
    assert 0 <= obs.operating_h <= obs.calendar_h
    assert obs.technicians_free >= 0


@settings(max_examples=60)
@given(strategies.observations("station"))
def test_station_observations_respect_the_station(obs):
    assert 0 <= obs.busy_servers <= obs.servers
    assert obs.queue_length == 0 or obs.busy_servers == obs.servers
    if obs.capacity is not None:
        assert obs.queue_length + obs.busy_servers <= obs.capacity


def test_edge_cases_are_among_the_observations():
    seen = []

    @settings(max_examples=200, derandomize=True)
    @given(strategies.observations("factory.maintenance"))
    def collect(obs):
        seen.append(obs)

    collect()
    assert any(all(math.isnan(v) for v in obs[4:8]) for obs in seen)  # every sensor dropped


@settings(max_examples=15)
@given(
    st.sampled_from(["station/mmc-v0", "factory/flowline-v0"]).flatmap(
        lambda scenario: st.tuples(st.just(scenario), strategies.scenario_params(scenario))
    ),
    strategies.seeds(),
)
def test_scenario_params_are_accepted_by_their_scenario(scenario_and_params, seed):
    scenario, params = scenario_and_params
    config = ScenarioConfig(id=scenario, params=params, horizon_s=1.0)
    build_scenario(config, default_registry())
    assert 0 <= seed < 2**63
