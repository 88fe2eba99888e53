"""What every region test world must keep, checked the same way for each plant."""

import numpy as np
import pytest

from twin.core.world import World
from twin.region.scenario import DOMAINS, Region
from twin.traffic.kernels import ARRIVED, DRIVING, PENDING, WAITING


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


def assert_every_truck_arrives_or_is_in_the_city(scenario: Region) -> None:
    """Every truck drive sent into the city has arrived or is still driving (or waiting
    to enter), and the city's vehicles say the same; some were sent."""
    road = scenario.road
    assert road.counts.sent > 0
    assert road.counts.sent == road.counts.arrived + road.in_city
    state = scenario.city.veh.state[sorted(road.trucks)]
    assert int(np.sum(state == ARRIVED)) == road.counts.arrived
    assert int(np.sum((state == DRIVING) | (state == WAITING))) == road.in_city
    assert int(np.sum(state == PENDING)) == len(road.trucks) - road.counts.sent


def assert_a_free_flow_drive(scenario: Region, trip: int, model_s: float) -> None:
    """Truck trip ``trip``, in a city with no other traffic and a driver who does not
    dawdle, took the supply twin's own ``model_s`` (distance / speed) plus what it loses
    starting from rest (v / 2a per start) and waiting at red lights."""
    city, truck = scenario.city, scenario.params.truck
    limit_mps = min(scenario.params.city.grid.speed_mps, truck.max_speed_mps)
    start_loss_s = limit_mps / (2 * truck.accel_mps2)
    entry_m = truck.length_m + 0.1  # a vehicle enters with its back at the edge's start
    veh = city.veh
    assert veh.state[trip] == ARRIVED
    drive_s = veh.arrive_s[trip] - veh.depart_s[trip]
    moving_s = drive_s - veh.waiting_s[trip]
    stops = int(veh.stops[trip])
    stop_loss_s = start_loss_s + limit_mps / (2 * truck.decel_mps2)
    allowance_s = start_loss_s + stops * stop_loss_s + 2 * city.step_s
    assert -entry_m / limit_mps <= moving_s - model_s <= allowance_s
    if stops == 0:
        assert drive_s == pytest.approx(model_s, abs=start_loss_s + 2 * city.step_s)
