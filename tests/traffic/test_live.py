"""The traffic domain's live interface: the channels a city's stop-line loops give, the
twin's own values of them, and inflows and queues estimated from them."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from twin.core.errors import UserError
from twin.core.live import LiveInterface, Reading
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.traffic.domain import DOMAIN
from twin.traffic.kernels import STOP_LOOP
from twin.traffic.live import detector_lanes, traffic_live

PERIOD_S = 60.0


def city_run(scenario: str, minutes: int, seed: int, **params: object):  # type: ignore[no-untyped-def]
    config = ScenarioConfig(id=scenario, horizon_s=minutes * PERIOD_S, params=params)
    return prepare_run(config, "signals/fixed-time-v0", seed)


def grid(minutes: int, seed: int):  # type: ignore[no-untyped-def]
    """The twin's 4x4 grid with its steady Poisson demand (0.4 trips/s) for ``minutes``."""
    return city_run("traffic/grid4x4-v0", minutes, seed, demand_horizon_s=minutes * PERIOD_S)


def test_the_domain_points_at_its_live_interface():
    assert DOMAIN.live is not None
    live = DOMAIN.live()
    assert isinstance(live, LiveInterface)


def test_channels_are_a_count_and_an_occupancy_per_incoming_lane_with_poisson_alarms():
    run = grid(1, seed=0)
    city = run.scenario.city
    channels = traffic_live().channels(city)
    # 16 junctions with 4 one-lane approaches each.
    assert len(channels) == 2 * 16 * 4
    count = next(c for c in channels if c.name.endswith("/count"))
    occupancy = next(c for c in channels if c.name.endswith("/occupancy"))
    # 3 sqrt(E), E = half of 1900 veh/h over 60 s = 15.83 vehicles.
    assert count.alarm == pytest.approx(3 * math.sqrt(1900 / 3600 * 60 / 2))
    assert (count.unit, occupancy.unit, occupancy.alarm) == ("veh", "%", 50.0)
    assert {c.entity for c in channels} == set(detector_lanes(city))
    assert traffic_live(period_s=10.0).channels(grid(1, seed=0).scenario.city)[0].alarm == 5.0


def test_predict_is_nan_until_a_period_is_whole_then_tiles_the_loop_counts():
    run = grid(20, seed=1)
    city, env = run.scenario.city, run.world.env
    live = traffic_live()
    live.channels(city)
    lanes = np.array(list(detector_lanes(city).values()))

    def loop_total() -> float:
        return float(city.lanes.det_count[lanes, STOP_LOOP].sum())

    assert all(math.isnan(v) for v in live.predict(city).values())
    # A period closes one tick before its end (SUMO's e1 timing, module docstring):
    # running until then stops just before that close and the tick after it.
    env.run(until=PERIOD_S - 1.0)
    first_close = loop_total()
    env.run(until=PERIOD_S)
    assert all(math.isnan(v) for v in live.predict(city).values())
    counted = 0.0
    for k in range(2, 21):
        if k == 20:
            env.run(until=k * PERIOD_S - 1.0)
            last_close = loop_total()
        env.run(until=k * PERIOD_S)
        values = live.predict(city)
        assert all(math.isfinite(v) for v in values.values())
        assert all(v >= 0 for v in values.values())
        assert all(v <= 100 for n, v in values.items() if n.endswith("/occupancy"))
        counted += sum(v for n, v in values.items() if n.endswith("/count"))
    # The periods tile the run: no vehicle counted twice or lost between two.
    assert counted > 0
    assert counted == last_close - first_close


def test_watching_a_city_changes_nothing_it_does():
    def kpis(watched: bool) -> dict[str, float]:
        config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=900.0)
        run = prepare_run(config, "signals/max-pressure-v0", 3)
        if watched:
            traffic_live().channels(run.scenario.city)  # starts the period recorder
        run.world.run(900.0)
        return {name: kpi.value for name, kpi in run.scenario.kpis(run.world).items()}

    # The recorder's events split the kernel's batches; every KPI stays bit for bit.
    assert kpis(watched=True) == kpis(watched=False)


RESCO = (
    "arterial4x4", "cologne1", "cologne3", "cologne8",
    "grid4x4", "ingolstadt1", "ingolstadt21", "ingolstadt7",
)  # fmt: skip


@pytest.mark.parametrize("network", RESCO)
def test_the_sumo_reality_publishes_exactly_the_twins_channels_and_phases(network):
    pytest.importorskip("libsumo")
    pytest.importorskip("sumo_rl")
    from twin.live.sumo_reality import SumoReality, channel_names

    run = city_run("traffic/sumo-net-v0", 1, seed=0, resco=network)
    city = run.scenario.city
    twin_channels = {c.name for c in traffic_live().channels(city)}
    with SumoReality(network, seed=0) as reality:
        published = {r.channel for r in reality.step_period()}
        green_rows = {node: len(j.green_rows) for node, j in reality.junctions.items()}
    assert published == channel_names(reality.detectors) == twin_channels
    # Twin phase p is SUMO's green row p at every signalised junction.
    assert green_rows == {i.id: len(i.program.phases) for i in city.signalised}


def feed_itself(minutes: int, seed: int):  # type: ignore[no-untyped-def]
    """The estimator fed the twin's own predictions each period: its inflow estimate at
    the end against the true inflow (upstream loops) over the second half, and each
    period's queue estimate against the true mean queue."""
    run = grid(minutes, seed)
    city, env = run.scenario.city, run.world.env
    live = traffic_live()
    live.channels(city)
    estimator = live.estimator(city, {})
    inflows, queues, estimated = [], [], []
    for k in range(1, minutes + 1):
        env.run(until=k * PERIOD_S)
        for channel, value in live.predict(city).items():
            if math.isfinite(value):
                estimator.ingest(Reading(channel, k * PERIOD_S, value))
        truth = live.truth(city)
        if k >= 16:  # after a 15-min warm-up of the estimator
            guess = estimator.estimates(k * PERIOD_S)
            inflows.append([v for n, v in truth.items() if n.endswith("inflow_veh_s")])
            queues.append([v for n, v in truth.items() if n.endswith("queue_veh")])
            estimated.append([guess[n] for n in truth if n.endswith("queue_veh")])
    final = estimator.estimates(minutes * PERIOD_S)
    inflow = np.array([final[n] for n in truth if n.endswith("inflow_veh_s")])
    true_inflow = np.array(inflows[len(inflows) // 2 :]).mean(axis=0)
    return inflow, true_inflow, np.array(estimated), np.array(queues)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_estimator_fed_the_twin_itself_finds_its_inflows_and_queues(seed):
    inflow, true_inflow, queue, true_queue = feed_itself(120, seed)
    # Measured (seeds 1, 2): mean error per lane 0.0021, 0.0020 veh/s on a mean inflow of
    # 0.026, 0.025 veh/s; network total within 0.1%, 2.4%.
    assert np.abs(inflow - true_inflow).mean() < 0.004
    assert abs(inflow.sum() / true_inflow.sum() - 1.0) < 0.05
    # Measured: mean error 0.089, 0.085 vehicles per lane and period on a mean queue of
    # 0.23 vehicles; correlation 0.89 with the true period-mean queue.
    assert np.abs(queue - true_queue).mean() < 0.15
    assert np.corrcoef(queue.ravel(), true_queue.ravel())[0, 1] > 0.8


def test_the_estimator_ignores_other_channels_and_asks_for_no_correction():
    run = grid(1, seed=0)
    city = run.scenario.city
    live = traffic_live()
    estimator = live.estimator(city, {"memory_s": 600.0})
    before = estimator.estimates(0.0)
    estimator.ingest(Reading("machine:1/vibration", 60.0, 3.0))
    assert estimator.estimates(0.0) == before
    assert estimator.correction(60.0) == {}
    live.correct(city, {})
    with pytest.raises(UserError, match="takes no corrections"):
        live.correct(city, {"inflow": 1.0})
    with pytest.raises(UserError, match=re.escape("memory_s must be finite and > 0")):
        live.estimator(city, {"memory_s": 0.0})
    with pytest.raises(UserError, match=re.escape("read every 60.0 s, not 30.0 s")):
        traffic_live(period_s=30.0).channels(city)
