"""What every region test world must keep, checked the same way for each plant."""

import pytest

from twin.core.world import World
from twin.region.scenario import DOMAINS, Region


def assert_domains_sum_to_the_ledger(scenario: Region, world: World) -> dict[str, dict[str, float]]:
    """Cost, CO2e and energy by domain add up to the ledger's totals, and nothing is left
    unattributed; the accounts, for further checks."""
    ledger = world.ledger
    accounts = scenario.accounts(world)
    assert not any(accounts["unattributed"].values())
    assert sum(accounts[d]["cost"] for d in DOMAINS) == pytest.approx(ledger.cost(), rel=1e-12)
    assert sum(accounts[d]["co2e_kg"] for d in DOMAINS) == pytest.approx(
        ledger.co2e_kg(), rel=1e-12
    )
    assert sum(accounts[d]["energy_kwh"] for d in DOMAINS) == pytest.approx(
        ledger.energy_kwh(), rel=1e-12
    )
    return accounts


def assert_goods_cross_the_border(scenario: Region) -> None:
    """Every part the plant finished is in the outbox or was taken by the supply plant,
    and the supply plant's units are made, in stock, shipped or scrapped; some were made."""
    outbox = scenario.outbox
    assert outbox.produced == scenario.plant.finished.count > 0
    assert outbox.produced == outbox.taken + outbox.level
    plant = next(site for site in scenario.network.sites if site.is_plant)
    made = outbox.taken * scenario.params.units_per_part
    assert made > 0
    assert plant.initial + made == plant.on_hand + plant.shipped + plant.scrapped
