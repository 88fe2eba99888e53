"""The coupled region: one world in which goods, trucks and sensor messages cross borders."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.region.support import (
    assert_domains_sum_to_the_ledger,
    assert_every_truck_arrives_or_is_in_the_city,
    assert_goods_cross_the_border,
)
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.region.scenario import Region

SMALL = "region/coupled-small-v0"
HORIZON_S = 7 * 86_400.0
"""The supply network's base-stock reviews learn demand first: the plant orders raw
material on day 5 and turns the factory's parts into stock from day 6."""

pytestmark = pytest.mark.slow  # each coupled run simulates days of four twins


def run_small(params: dict | None = None, seed: int = 1, policy: str = "region/policy-set-v0"):
    run = prepare_run(
        ScenarioConfig(id=SMALL, params=params or {}, horizon_s=HORIZON_S), policy, seed
    )
    run.world.run(HORIZON_S)
    return run


@pytest.fixture(scope="module")
def small_run():
    return run_small()


def test_one_world_holds_every_domain(small_run):
    scenario: Region = small_run.scenario
    world = small_run.world
    assert scenario.plant.env is world.env
    assert scenario.city.env is world.env
    assert scenario.network.env is world.env
    assert scenario.cloud.cluster.world is world


def test_goods_made_by_the_plant_are_shipped_or_in_stock(small_run):
    assert_goods_cross_the_border(small_run.scenario)


def test_every_truck_that_leaves_arrives_or_is_still_in_the_city(small_run):
    scenario: Region = small_run.scenario
    road = scenario.road
    assert_every_truck_arrives_or_is_in_the_city(scenario)
    # Each loaded trip drives there and back: two drives per trip, the last maybe unfinished.
    trips = sum(len(lane.drives) for lane in scenario.network.lanes)
    assert trips <= road.counts.sent <= 2 * scenario.network.transport_stats.trips


def test_money_energy_and_co2e_by_domain_sum_to_the_ledger(small_run):
    accounts = assert_domains_sum_to_the_ledger(small_run.scenario, small_run.world)
    # Every domain spent something, and the trucks' diesel is the supply chain's.
    assert all(accounts[d]["cost"] > 0 for d in ("factory", "supply", "cloud"))
    assert accounts["supply"]["fuel_l"] > 0
    assert accounts["traffic"]["fuel_l"] > 0


def test_the_cloud_ingests_what_the_plant_and_city_sensors_send(small_run):
    scenario: Region = small_run.scenario
    rate = sum(s.messages_per_s for s in scenario.sensors)
    classes = {c.name: c for c in scenario.cloud.params.classes}
    assert classes["ingestion"].rate_per_s == rate
    machines = len(scenario.plant.machines)
    plant_rate = machines * 4 / 600.0 * (1 - 0.01)
    lanes = int(scenario.city.arrays.n_lanes)
    city_rate = lanes / 5.0 * (1 - 0.02)
    assert rate == pytest.approx(plant_rate + city_rate, rel=1e-12)


def test_a_run_is_a_function_of_its_seed():
    config = ScenarioConfig(id=SMALL, horizon_s=86_400.0)
    first = simulate(config, "region/policy-set-v0", 3).kpis
    again = simulate(config, "region/policy-set-v0", 3).kpis
    other = simulate(config, "region/policy-set-v0", 4).kpis
    values = {k: v.value for k, v in first.items()}
    assert values == pytest.approx({k: v.value for k, v in again.items()}, nan_ok=True)
    assert any(
        not (math.isnan(v.value) and math.isnan(values[k])) and v.value != values[k]
        for k, v in other.items()
    )


def test_the_city_runs_past_the_plant_and_the_cloud_and_the_run_is_the_same():
    def one_day(run_past: bool):
        run = prepare_run(ScenarioConfig(id=SMALL, horizon_s=86_400.0), "region/policy-set-v0", 5)
        if not run_past:
            run.scenario.city.own_feeds.passable = None
        run.world.run(86_400.0)
        kpis = {k: v.value for k, v in run.result(wall_s=0.0).kpis.items()}
        return kpis, run.scenario.city.kernel_calls

    passing, fewer_calls = one_day(run_past=True)
    stopping, calls = one_day(run_past=False)
    assert passing == pytest.approx(stopping, nan_ok=True, rel=0, abs=0)
    assert fewer_calls < calls / 2


@pytest.mark.parametrize(
    ("sample_period_s", "least_lead_s"),
    [(None, 20_000.0), (900.0, 400.0)],  # a sampler bounds the look-ahead to its samples
)
def test_the_cloud_runs_ahead_on_its_own_clock_and_the_run_is_the_same(
    monkeypatch, sample_period_s, least_lead_s
):
    config = ScenarioConfig(
        id=SMALL, horizon_s=86_400.0, warmup_s=3_600.0, sample_period_s=sample_period_s
    )

    def one_day(ahead_s: float):
        monkeypatch.setattr(Region, "cloud_ahead_s", ahead_s)
        run = prepare_run(config, "region/policy-set-v0", 5)
        cloud_env, world = run.scenario.cloud_clock.env, run.world
        lead: list[float] = []

        def watch():
            while True:
                yield world.env.timeout(450.0)
                lead.append(float(cloud_env.now) - world.now_s)

        world.env.process(watch())
        world.run(config.horizon_s, warmup_s=config.warmup_s)
        return run.result(wall_s=0.0), max(lead)

    ahead, lead = one_day(Region.cloud_ahead_s)
    in_step, no_lead = one_day(0.0)
    assert lead > least_lead_s
    assert no_lead <= 0.0
    assert {k: v.value for k, v in ahead.kpis.items()} == pytest.approx(
        {k: v.value for k, v in in_step.kpis.items()}, nan_ok=True, rel=0, abs=0
    )
    pd.testing.assert_frame_equal(ahead.timeseries, in_step.timeseries)


def test_without_readings_through_the_cloud_nothing_keeps_the_clouds_windows():
    def built(through: bool):
        config = ScenarioConfig(
            id=SMALL, horizon_s=3_600.0, params={"readings_through_cloud": through}
        )
        return prepare_run(config, "region/policy-set-v0", 1).scenario

    direct, delayed = built(False), built(True)
    assert direct.plant.feed.backend_delay is None
    assert direct.cloud.cluster.window_listeners == []
    assert delayed.plant.feed.backend_delay is not None
    assert len(delayed.cloud.cluster.window_listeners) == 1
