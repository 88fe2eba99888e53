"""Predictive, carbon-aware, threshold and static scaling on hand-built observations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.scaling.carbon_aware import CarbonAware, CarbonAwareParams
from models.scaling.predictive import Predictive, PredictiveParams, holt_forecast
from models.scaling.static import Static, StaticParams
from models.scaling.threshold import Threshold, ThresholdParams
from twin.cloud import ScalingObservation
from twin.core.policy import PolicyContext

INFO = {"service_mean_s": {"web": 0.05, "batch": 2.0}, "deferrable": ["batch"], "initial_nodes": 3}


def reset(policy, info=INFO):
    policy.reset(PolicyContext("cloud/diurnal-v0", np.random.default_rng(0), dict(info)))
    return policy


def obs(now_s: float = 0.0, **fields) -> ScalingObservation:
    base = dict(
        now_s=now_s, sync_period_s=15.0, min_nodes=1, max_nodes=100, current_nodes=4,
        ready_nodes=4, starting_nodes=0, workers_per_node=4, cold_start_s=100.0,
        utilisation=0.5, queue_lengths=(0,) * 4, arrival_rates_per_s=(), hour_of_day=0.0,
        carbon_intensity=0.4, carbon_forecast=(0.4,) * 24, deferred=(),
    )  # fmt: skip
    base.update(fields)
    return ScalingObservation(**base)


def test_holt_extrapolates_a_straight_line_exactly():
    rates = tuple(10.0 * k for k in range(1, 11))  # 10, 20, ..., 100
    assert holt_forecast(rates, 5, alpha=1.0, beta=1.0) == pytest.approx(150.0)
    assert holt_forecast((7.0,) * 30, 9, alpha=0.3, beta=0.1) == pytest.approx(7.0)
    assert holt_forecast((100.0, 50.0, 0.0), 10, alpha=1.0, beta=1.0) == 0.0  # never negative


def test_predictive_provisions_a_rising_load_ahead_of_the_hpa():
    policy = reset(Predictive(PredictiveParams()))
    # 4 nodes x 4 workers at 50%: 8 busy workers for 80 requests/s = 0.1 s of work each.
    # The load climbs 2 requests/s per window; 100 s of cold start + 15 s = 8 windows on.
    rates = tuple(80.0 - 2.0 * k for k in range(39, -1, -1))
    action = policy.act(obs(arrival_rates_per_s=rates))
    # HPA: ratio 1.0, no change (4). Forecast ~96 requests/s x 0.1 s / (4 x 0.5) = 4.8.
    assert action.desired_nodes == 5


def test_predictive_keeps_the_scale_down_window():
    policy = reset(Predictive(PredictiveParams()))
    high = obs(0.0, utilisation=0.9, arrival_rates_per_s=(100.0,) * 40)
    first = policy.act(high).desired_nodes
    low = obs(15.0, current_nodes=first, ready_nodes=first, utilisation=0.05,
              arrival_rates_per_s=(10.0,) * 40, queue_lengths=(0,) * first)  # fmt: skip
    assert policy.act(low).desired_nodes == first


def clean_at_noon() -> tuple[float, ...]:
    return tuple(0.3 if h in (12, 13) else 0.5 for h in range(24))


def carbon_obs(hour: float, deferred, **fields) -> ScalingObservation:
    profile = clean_at_noon()
    forecast = tuple(profile[(int(hour) + k) % 24] for k in range(24))
    return obs(hour * 3600.0, hour_of_day=hour, carbon_intensity=forecast[0],
               carbon_forecast=forecast, deferred=deferred, **fields)  # fmt: skip


def test_predictive_ignores_a_rate_so_small_its_work_estimate_overflows():
    # Found by check_policy: a subnormal rate made work per request infinite, and
    # math.ceil(inf) raised. Such a window says nothing about the work per request.
    policy = reset(Predictive(PredictiveParams()))
    tiny = obs(max_nodes=1, current_nodes=1, ready_nodes=1, queue_lengths=(0,), utilisation=1.0,
               cold_start_s=0.0, arrival_rates_per_s=(2.2250738585072014e-308,))  # fmt: skip
    assert policy.act(tiny).desired_nodes == 1
    assert math.isnan(policy.work_per_request_s)


def test_carbon_aware_holds_work_while_a_cleaner_hour_comes_before_the_deadline():
    policy = reset(CarbonAware(CarbonAwareParams()))
    deadline = 20 * 3600.0  # noon is before it
    assert policy.act(carbon_obs(9.0, ((600, deadline),))).release_deferred == 0


def test_carbon_aware_spreads_the_backlog_over_the_clean_hours():
    policy = reset(CarbonAware(CarbonAwareParams()))
    action = policy.act(carbon_obs(12.0, ((720, 20 * 3600.0),)))
    # Two clean hours left (12:00-14:00): 720 requests x 15 s / 7200 s = 1.5 -> 2.
    assert action.release_deferred == 2
    assert policy.act(carbon_obs(13.5, ((720, 20 * 3600.0),))).release_deferred == 6  # 1800 s


def test_carbon_aware_releases_when_no_cleaner_hour_is_left_before_the_deadline():
    policy = reset(CarbonAware(CarbonAwareParams()))
    # At 15:00 with a deadline at 18:00 every hour ahead is equally dirty: run it now.
    assert policy.act(carbon_obs(15.0, ((100, 18 * 3600.0),))).release_deferred > 0


def test_carbon_aware_adds_nodes_for_a_rising_release():
    policy = reset(CarbonAware(CarbonAwareParams()))
    action = policy.act(carbon_obs(12.0, ((72_000, 20 * 3600.0),)))
    # 150 requests x 2 s / 15 s = 20 extra busy workers + 8 busy now, / (4 x 0.5) = 14.
    assert action.release_deferred == 150
    assert action.desired_nodes == 14


def test_threshold_steps_and_cools_down():
    policy = reset(Threshold(ThresholdParams(cooldown_s=60.0)))
    assert policy.act(obs(0.0, utilisation=0.9)).desired_nodes == 5
    assert policy.act(obs(15.0, utilisation=0.9)).desired_nodes == 4  # cooling down
    assert policy.act(obs(60.0, utilisation=0.1)).desired_nodes == 3
    assert policy.act(obs(200.0, utilisation=math.nan)).desired_nodes == 4


def test_static_runs_its_node_count_clamped():
    assert reset(Static(StaticParams(nodes=7))).act(obs()).desired_nodes == 7
    assert reset(Static(StaticParams())).act(obs()).desired_nodes == 3  # initial nodes
    assert reset(Static(StaticParams(nodes=500))).act(obs()).desired_nodes == 100
