"""The supply kits: a network that loses stock is caught by check_scenario with the
command that replays it; actions outside the rules are refused; generated observations
are consistent."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.core.policy import BasePolicy, InvalidActionError
from twin.supply.kit import replenishment_edge_cases, scenario_invariants, transport_edge_cases
from twin.supply.network import SupplyNetwork
from twin.supply.observation import MAX_ORDER_UNITS, ReplenishmentAction
from twin.supply.scenario import SingleEchelon
from twin.testing import CheckFailed, check_scenario, strategies


class _LeakyNetwork(SupplyNetwork):
    def _deliver(self, destination: int, units: int, lines: list[Any]) -> None:
        # The bug: a unit falls off every truck that carries more than one.
        super()._deliver(destination, units, lines)
        if units > 1:
            self.sites[destination].on_hand -= 1


class LeakySupply(SingleEchelon):
    """A store network whose trucks lose a unit per load."""

    id = "tests/leaky-supply-v0"

    def build(self, world, policy):
        self.network = _LeakyNetwork(world, self.params, policy, self.id)


def test_a_network_that_loses_stock_is_caught_with_the_command_that_replays_it():
    from twin.testing.kits import ScenarioKit

    kit = ScenarioKit(
        params=lambda: st.just({}),  # the single store: its first load already leaks
        horizon_s=10 * 86_400.0,
        invariants=scenario_invariants,
        check_period_s=86_400.0,
    )
    with pytest.raises(CheckFailed) as caught:
        check_scenario(
            "tests.testing.test_supply_kits:LeakySupply",
            "replenishment/base-stock-v0",
            kit=kit,
            max_examples=4,
        )
    report = str(caught.value)
    assert "store: initial 60 + received" in report
    assert "smallest failing scenario: params" in report
    assert "reproduce: twin run --scenario tests.testing.test_supply_kits:LeakySupply" in report


class OrdersTooMuch(BasePolicy[Any, ReplenishmentAction]):
    id: ClassVar[str] = "broken/orders-too-much-v0"
    domain: ClassVar[str] = "supply.replenishment"

    def act(self, obs: Any) -> ReplenishmentAction:
        return ReplenishmentAction(MAX_ORDER_UNITS + 1)


def test_orders_beyond_the_limit_negative_or_not_whole_are_refused():
    from twin.supply.observation import check_replenishment_action

    for action in (
        OrdersTooMuch().act(None),
        ReplenishmentAction(-1),
        ReplenishmentAction(2.5),  # type: ignore[arg-type]
        ReplenishmentAction(True),  # type: ignore[arg-type]
        (5,),
    ):
        with pytest.raises(InvalidActionError):
            check_replenishment_action(action, replenishment_edge_cases()[0], OrdersTooMuch.id)
    assert check_replenishment_action(
        ReplenishmentAction(7), replenishment_edge_cases()[0], "x"
    ) == (7,)


def assert_as_a_run_observes(obs):
    """What holds of every review in a run: reviews at 00:00 of the day, a day of
    history a day, retailers (the only priced sites) at echelon 1."""
    assert obs.inventory_position == obs.on_hand + obs.on_order - obs.backorders
    assert obs.now_s == obs.day * 86_400.0
    assert len(obs.demand_history) <= obs.day
    assert (obs.echelon == 1) == (obs.kind == "retailer")
    assert len(obs.price_history) in (0, len(obs.demand_history))
    assert obs.kind == "retailer" or not (obs.price_history or obs.price_plan)
    assert len(obs.price_plan) == len(obs.promotion_plan)


@settings(max_examples=30, deadline=None)
@given(obs=strategies.observations("supply.replenishment"))
def test_generated_observations_are_consistent(obs):
    assert_as_a_run_observes(obs)


@pytest.mark.parametrize("obs", replenishment_edge_cases())
def test_edge_cases_are_consistent(obs):
    assert_as_a_run_observes(obs)


def test_an_invalid_transport_answer_is_refused():
    from twin.supply.observation import check_transport_action

    with pytest.raises(InvalidActionError, match="TransportAction"):
        check_transport_action(True, transport_edge_cases()[0], "broken/v0")
