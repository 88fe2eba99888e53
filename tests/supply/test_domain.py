"""The supply contract: spaces, edge cases, entity names, invariants, inspection, view,
and the transport policy found in the run's registry."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, ClassVar

import pytest

from models.replenishment.base_stock import BaseStock
from models.transport.ship_now import ShipNow
from twin.core.errors import ConfigError
from twin.core.policy import BasePolicy
from twin.core.registry import Registry
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.supply.domain import DOMAIN
from twin.supply.network import Site, SupplyNetwork
from twin.supply.observation import SHIP, WAIT, TransportAction, TransportObservation
from twin.supply.scenario import SingleEchelon
from twin.supply.transport import Lane


@pytest.fixture(scope="module")
def regional():
    config = ScenarioConfig(id="supply/regional-v0", horizon_s=10 * SECONDS_PER_DAY)
    run = prepare_run(config, DOMAIN.area("supply.replenishment").baseline, seed=2)
    run.world.run(6 * SECONDS_PER_DAY + 7 * SECONDS_PER_HOUR)  # trucks on the road mid-morning
    return run


def test_importing_the_contract_does_not_import_hypothesis():
    code = "import sys, twin.supply.domain; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_area_has_its_spaces_and_its_edge_cases_pass_the_checker():
    answers = {"supply.replenishment": (0,), "supply.transport": (True,)}
    for area in DOMAIN.areas:
        assert area.observation_space() is not None
        assert area.action_space() is not None
        # Every field, and nothing else; nested fields as "field.name".
        assert {k.split(".")[0] for k in area.observation_fields} == set(area.observation._fields)
        assert {k.split(".")[0] for k in area.action_fields} == set(area.action._fields)
        action = area.action(*answers[area.name])
        for obs in area.edge_cases():
            assert area.check_action(action, obs, "test/v0") == action


def test_every_decision_names_an_entity_of_the_world(regional):
    world = regional.world
    network = DOMAIN.model_of(world)
    assert network is world.entity("network")
    replenishment = DOMAIN.area("supply.replenishment")
    transport = DOMAIN.area("supply.transport")
    for site in network.stocked:
        assert world.entity(replenishment.entity_of(network.observe(site))) is site
    for lane in network.lanes:
        assert world.entity(transport.entity_of(lane.observation())) is lane


def test_invariants_hold_after_a_short_run(regional):
    assert DOMAIN.check_world(regional.world) == []


def test_each_kind_of_entity_inspects_itself(regional):
    world = regional.world
    network = world.the(SupplyNetwork)
    kinds = {type(entity) for entity in world.entities()}
    assert kinds == {SupplyNetwork, Site, Lane}
    info = world.entity("network").inspect()
    assert info["sites"] == len(network.sites)
    assert info["in_transit_units"] == network.in_transit
    dc = world.entity("site:dc01")
    assert dc.inspect() == {
        "entity": "site:dc01",
        "kind": "dc",
        "echelon": 2,
        "source": "plant",
        "on_hand": dc.on_hand,
        "on_order": dc.on_order,
        "backorders": dc.backorders,
        "inventory_position": dc.inventory_position,
        "demand_today": dc.demand_today,
        "short_today": dc.short_today,
        "received": dc.received,
        "shipped": dc.shipped,
    }
    lane = world.entity("lane:dc01->r01-03")
    info = lane.inspect()
    assert info["pending_units"] == lane.pending_units
    assert info["trucks_loaded"] + info["trucks_returning"] == len(lane.on_road)
    # Positions: each lane midway between the sites it links.
    origin, destination = world.entity("site:dc01").pos, world.entity("site:r01-03").pos
    assert lane.pos == ((origin[0] + destination[0]) / 2, (origin[1] + destination[1]) / 2)


def test_kpi_directions_name_kpis_the_scenarios_report():
    result = simulate(
        ScenarioConfig(id="supply/beer-game-v0", horizon_s=60 * SECONDS_PER_DAY),
        "replenishment/base-stock-v0",
        seed=1,
    )
    assert set(DOMAIN.kpis) <= set(result.kpis)


class ShipsEveryOther(BasePolicy[TransportObservation, TransportAction]):
    """Ships at every other decision; counts its decisions where a test can see them."""

    id: ClassVar[str] = "tests/ships-every-other-v0"
    domain: ClassVar[str] = "supply.transport"
    decisions: ClassVar[list[float]] = []

    def act(self, obs: TransportObservation) -> TransportAction:
        ShipsEveryOther.decisions.append(obs.now_s)
        return SHIP if len(ShipsEveryOther.decisions) % 2 == 0 else WAIT


def registry_with(*policies: type[Any]) -> Registry:
    registry = Registry(discover=False)
    registry.register_scenario(SingleEchelon)
    for policy in policies:
        registry.register_policy(policy)
    return registry


def test_the_transport_policy_is_found_in_the_runs_registry():
    config = ScenarioConfig(
        id="supply/single-echelon-v0",
        horizon_s=20 * SECONDS_PER_DAY,
        params={"transport_policy": ShipsEveryOther.id},
    )
    ShipsEveryOther.decisions.clear()
    result = simulate(
        config, BaseStock.id, seed=1, registry=registry_with(BaseStock, ShipsEveryOther)
    )
    assert len(ShipsEveryOther.decisions) > 4
    assert result.kpis["truck_trips"].value > 0
    # The installed entry points do not know it: the run did not look there.
    with pytest.raises(ConfigError, match="transport_policy"):
        simulate(config, BaseStock.id, seed=1)


def test_a_transport_policy_the_runs_registry_lacks_is_a_clear_error():
    config = ScenarioConfig(id="supply/single-echelon-v0", horizon_s=SECONDS_PER_DAY)
    with pytest.raises(ConfigError, match=r"transport_policy.*transport/ship-now-v0"):
        simulate(config, BaseStock.id, seed=1, registry=registry_with(BaseStock))
    ok = simulate(config, BaseStock.id, seed=1, registry=registry_with(BaseStock, ShipNow))
    assert ok.kpis["demand_units"].value > 0
