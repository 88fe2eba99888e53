"""How learning agents see, answer and are rewarded in ``supply.replenishment``
(:mod:`twin.supply.learning`)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from twin.core.learning import COST, LearningInterface
from twin.core.policy import BasePolicy
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.supply.domain import DOMAIN
from twin.supply.kit import replenishment_edge_cases
from twin.supply.learning import (
    OBSERVATION_ELEMENTS,
    lot_units,
    replenishment_learning,
    site_scales,
)
from twin.supply.network import SupplyNetwork
from twin.supply.observation import (
    MAX_ORDER_UNITS,
    ReplenishmentAction,
    ReplenishmentObservation,
)

AREA = DOMAIN.area("supply.replenishment")
LEARNING = replenishment_learning()


def run(scenario_id: str, days: int) -> tuple[object, SupplyNetwork]:
    """``scenario_id`` under base stock for ``days`` days."""
    config = ScenarioConfig(id=scenario_id, horizon_s=400 * SECONDS_PER_DAY)
    prepared = prepare_run(config, "replenishment/base-stock-v0", seed=2)
    prepared.world.run(days * SECONDS_PER_DAY)
    return prepared, prepared.world.the(SupplyNetwork)


class RandomIndices(BasePolicy[ReplenishmentObservation, ReplenishmentAction]):
    """What untrained agents do: encode, pick any index, decode."""

    id = "test/random-indices"
    domain = "supply.replenishment"

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.model: SupplyNetwork | None = None
        self.seen: list[tuple[str, np.ndarray, ReplenishmentAction]] = []

    def act(self, obs: ReplenishmentObservation) -> ReplenishmentAction:
        assert self.model is not None
        agent = AREA.entity_of(obs)
        vector = LEARNING.encode(self.model, obs)
        index = int(self.rng.integers(LEARNING.action_space(self.model, agent).n))
        action = LEARNING.decode(self.model, obs, index)
        self.seen.append((agent, vector, action))
        return action


@pytest.fixture(scope="module")
def store():
    """The single store, thirty days."""
    return run("supply/single-echelon-v0", 30)


@pytest.fixture(scope="module")
def beer():
    """The beer game, sixty days: the demand step of day 28 has reached every stage."""
    return run("supply/beer-game-v0", 60)


def test_the_domain_points_at_the_interface_without_importing_it():
    interface = AREA.learning()
    assert isinstance(interface, LearningInterface)
    assert interface.default_reward == "cost"
    assert interface.rewards["cost"] is COST
    assert set(interface.rewards) == {"cost", "site-cost", "holding", "shortage", "transport"}
    code = (
        "import sys, twin.supply.domain\n"
        "assert 'twin.supply.learning' not in sys.modules\n"
        "assert 'gymnasium' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("scenario_id", "expected"),
    [
        ("supply/single-echelon-v0", ("site:store",)),
        (
            "supply/beer-game-v0",
            ("site:factory", "site:distributor", "site:wholesaler", "site:retailer"),
        ),
        (
            "supply/regional-v0",
            ("site:plant", "site:dc00", *(f"site:r00-{k:02d}" for k in range(10)), "site:dc01"),
        ),
    ],
)
def test_the_agents_are_the_stocking_sites_as_entity_of_names_them(scenario_id, expected):
    config = ScenarioConfig(id=scenario_id, horizon_s=SECONDS_PER_DAY)
    network = prepare_run(config, "replenishment/base-stock-v0", seed=0).world.the(SupplyNetwork)
    names = LEARNING.agents(network)
    assert names[: len(expected)] == expected
    assert names == tuple(AREA.entity_of(network.observe(site)) for site in network.stocked)
    if scenario_id == "supply/regional-v0":
        assert len(names) == 1 + 5 + 50  # plant, DCs, retailers; the supplier never decides


def test_edge_cases_and_every_site_s_own_observation_encode_inside_the_space(store, beer):
    for _, network in (store, beer):
        observations = [*AREA.edge_cases(), *(network.observe(s) for s in network.stocked)]
        for obs in observations:
            space = LEARNING.observation_space(network, AREA.entity_of(obs))
            assert space.shape == (len(OBSERVATION_ELEMENTS),) == (37,)
            assert np.isfinite(space.low).all()
            assert np.isfinite(space.high).all()
            vector = LEARNING.encode(network, obs)
            assert vector.dtype == np.float32
            assert space.contains(vector), (obs, vector)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(obs=AREA.observations())
def test_generated_observations_encode_inside_the_space_and_every_index_is_accepted(store, obs):
    # "store" is the network's own site; "dc00", "plant", "r00-03" are not (scaled by
    # their history): both ways stay inside the space.
    _, network = store
    space = LEARNING.observation_space(network, AREA.entity_of(obs))
    assert space.contains(LEARNING.encode(network, obs))
    for index in range(LEARNING.action_space(network, AREA.entity_of(obs)).n):
        action = LEARNING.decode(network, obs, index)
        assert AREA.check_action(action, obs, "rl") == action


def test_every_index_of_every_edge_case_is_an_order_the_site_accepts(store):
    _, network = store
    assert LEARNING.action_space(network, "site:store").n == 9
    for obs in AREA.edge_cases():
        for index in range(9):
            AREA.check_action(LEARNING.decode(network, obs, index), obs, "rl")


def test_an_index_orders_that_many_half_periods_of_mean_demand(store, beer):
    _, network = store
    obs = replenishment_edge_cases()[0]  # the store, reviewing daily
    # 20 units a day reviewed daily: lots of 10.
    assert [LEARNING.decode(network, obs, k) for k in range(9)] == [
        ReplenishmentAction(10 * k) for k in range(9)
    ]
    _, game = beer
    for site in game.stocked:  # 4 cases a week, reviewed weekly: lots of 2 at every stage
        assert LEARNING.decode(game, game.observe(site), 8) == ReplenishmentAction(16)
    stranger = obs._replace(site="elsewhere", demand_history=(1e9,) * 30)
    assert lot_units(network, stranger) == MAX_ORDER_UNITS // 8  # capped
    assert LEARNING.decode(network, stranger, 8).order_units <= MAX_ORDER_UNITS
    with pytest.raises(ValueError, match="index 9"):
        LEARNING.decode(network, obs, 9)


def test_the_vector_s_elements_mean_what_the_table_says(store):
    _, network = store
    store_site = network.stocked[0]
    lead = store_site.planned_lead_time_days  # 2 days of preparation, 40 km, two docks
    assert lead == pytest.approx(2 + (40 / 60 * 3600 + 2 * 900) / 86_400)
    level = 20 * (lead + 1)
    obs = replenishment_edge_cases()[0]._replace(
        day=12,  # a Saturday
        on_hand=30,
        on_order=20,
        backorders=5,
        inventory_position=45,
        demand_history=(10.0, 30.0) * 10,
        lead_time_mean_days=7.0,
        lead_time_std_days=1.4,
        price_plan=(0.8, 1.0),
        promotion_plan=(True, False),
        holding_cost_per_unit_day=0.5,
        shortage_cost_per_unit=1.5,
        lost_sales=True,
        shelf_life_days=14.0,
    )
    assert site_scales(network, obs) == pytest.approx((20.0, level))
    v = dict(zip(OBSERVATION_ELEMENTS, LEARNING.encode(network, obs).tolist(), strict=True))
    assert v["on_hand"] == pytest.approx(30 / level)
    assert v["on_order"] == pytest.approx(20 / level)
    assert v["backorders"] == pytest.approx(5 / level)
    assert v["inventory_position"] == pytest.approx(45 / level)
    assert [v[f"demand_{k}"] for k in range(-13, 1)] == pytest.approx([0.5, 1.5] * 7)
    assert v["demand_days"] == 1.0
    assert v["demand_mean"] == pytest.approx(1.0)
    assert v["demand_std"] == pytest.approx(np.std([10.0, 30.0] * 10, ddof=1) / 20)
    assert v["lead_time_mean"] == pytest.approx(7 / 28)
    assert v["lead_time_std"] == pytest.approx(1.4 / 28)
    assert v["review_period"] == pytest.approx(1 / 28)
    assert (v["is_plant"], v["is_dc"], v["is_retailer"]) == (0.0, 0.0, 1.0)
    assert v["price_today"] == pytest.approx(0.8)  # the store's regular price is 1
    assert v["price_missing"] == 0.0
    assert v["promotion_today"] == 1.0
    assert v["promotion_week"] == pytest.approx(1 / 7)
    assert v["critical_ratio"] == pytest.approx(0.75)
    assert (v["lost_sales"], v["perishable"]) == (1.0, 1.0)
    assert v["shelf_life"] == pytest.approx(0.5)
    assert (v["weekday_sin"], v["weekday_cos"]) == pytest.approx(
        (math.sin(2 * math.pi * 5 / 7), math.cos(2 * math.pi * 5 / 7))
    )
    empty = LEARNING.encode(network, replenishment_edge_cases()[0])
    named = dict(zip(OBSERVATION_ELEMENTS, empty.tolist(), strict=True))
    assert named["demand_days"] == named["demand_mean"] == named["price_today"] == 0.0
    assert named["price_missing"] == 1.0


def test_rewards_are_the_ledger_s_money_by_category(store, beer):
    for prepared, network in (store, beer):
        world = prepared.world
        ledger = world.ledger
        measures = {n: r.measure(world, network, None) for n, r in LEARNING.rewards.items()}
        assert all(math.isfinite(m) for m in measures.values())
        assert measures["cost"] == pytest.approx(ledger.cost())
        assert measures["holding"] == pytest.approx(ledger.cost("holding"))
        assert measures["shortage"] == pytest.approx(ledger.cost("shortage"))
        assert measures["transport"] == pytest.approx(ledger.cost("transport"))
        assert measures["holding"] > 0
        assert measures["transport"] > 0
        # Nothing else is booked in these networks (no order cost, nothing spoils).
        assert measures["cost"] == pytest.approx(
            measures["holding"] + measures["shortage"] + measures["transport"]
        )
        # Sites book holding and shortage (and here nothing else); trucks book trips.
        assert measures["site-cost"] == pytest.approx(measures["holding"] + measures["shortage"])
        # Each site's own add up to the network's.
        for name in ("site-cost", "holding", "shortage"):
            reward = LEARNING.reward(name)
            by_site = [reward.measure(world, network, a) for a in LEARNING.agents(network)]
            assert sum(by_site) == pytest.approx(measures[name])
        # A turn's reward is minus the money booked since the previous turn.
        assert COST.value(0.0, measures["cost"]) == pytest.approx(-measures["cost"])
    _, game = beer
    assert LEARNING.reward("shortage").measure(beer[0].world, game, "site:retailer") > 0


def test_random_indices_drive_the_beer_game_within_its_invariants():
    config = ScenarioConfig(id="supply/beer-game-v0", horizon_s=400 * SECONDS_PER_DAY)
    policy = RandomIndices(seed=7)
    prepared = prepare_run(config, policy, seed=7)
    network = prepared.world.the(SupplyNetwork)
    policy.model = network
    prepared.world.run(70 * SECONDS_PER_DAY)
    agents = LEARNING.agents(network)
    # Every stage reviews weekly, days 0, 7, .., 63: ten turns each.
    assert sorted({agent for agent, _, _ in policy.seen}) == sorted(agents)
    assert len(policy.seen) == 10 * len(agents)
    for agent, vector, action in policy.seen:
        assert LEARNING.observation_space(network, agent).contains(vector)
        assert action.order_units in range(0, 17, 2)  # lots of 2 cases
    assert DOMAIN.check_world(prepared.world) == []
    assert LEARNING.reward(None).measure(prepared.world, network, None) > 0


def test_in_the_regional_network_site_costs_include_ordering_and_leave_out_only_trips():
    prepared, network = run("supply/regional-v0", 10)
    world = prepared.world
    site_cost = LEARNING.reward("site-cost")
    ordering = sum(v for c, i, _, v in world.ledger.money_rows() if (c, i) == ("other", "ordering"))
    assert ordering > 0
    whole = site_cost.measure(world, network, None)
    assert whole == pytest.approx(world.ledger.cost() - world.ledger.cost("transport"))
    by_site = [site_cost.measure(world, network, a) for a in LEARNING.agents(network)]
    assert sum(by_site) == pytest.approx(whole)
    # A DC pays for its orders (100 each) and its stock; a retailer for its own.
    assert site_cost.measure(world, network, "site:dc00") >= 100.0
