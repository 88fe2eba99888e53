"""Transport rules: ship-now always ships; consolidation waits for a full truck, a
deadline or a destination that has run out."""

from __future__ import annotations

from models.transport.consolidate import Consolidate, ConsolidateParams
from models.transport.ship_now import ShipNow
from twin.supply.kit import transport_edge_cases
from twin.supply.observation import SHIP, WAIT

ONE = transport_edge_cases()[1]  # one unit waiting, 33-pallet truck, destination stocked


def test_ship_now_ships_everything_at_once():
    assert all(ShipNow().act(case) == SHIP for case in transport_edge_cases())


def test_consolidation_waits_for_a_full_load_or_the_deadline():
    policy = Consolidate(ConsolidateParams(fill_target=0.8, max_wait_s=86_400.0))
    assert policy.act(ONE) == WAIT
    assert policy.act(ONE._replace(pending_pallets=26)) == WAIT  # 26 / 33 < 0.8
    assert policy.act(ONE._replace(pending_pallets=27)) == SHIP
    assert policy.act(ONE._replace(pending_kg=20_000.0)) == SHIP  # weight binds first
    assert policy.act(ONE._replace(oldest_wait_s=86_400.0)) == SHIP


def test_a_destination_that_ran_out_is_served_at_once_unless_told_otherwise():
    out = ONE._replace(destination_on_hand=0)
    assert Consolidate().act(out) == SHIP
    assert Consolidate(ConsolidateParams(expedite_when_out=False)).act(out) == WAIT
