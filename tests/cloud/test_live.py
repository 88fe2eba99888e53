"""The cloud domain's live interface: a rate channel per request class, the twin's
expected rates, a load multiplier per class estimated from measured rates, and that
multiplier put into the twin's workload."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from twin.cloud.config import CloudParams
from twin.cloud.domain import DOMAIN
from twin.cloud.live import arrivals_so_far, cloud_live, expected_arrivals
from twin.core.errors import UserError
from twin.core.live import LiveInterface, Reading
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig

PERIOD_S = 60.0
HOUR_S = 3600.0
CHANNELS = [
    "class:ingestion/rate_per_s",
    "class:inference/rate_per_s",
    "class:dashboard/rate_per_s",
    "class:batch/rate_per_s",
]


def cluster_run(seed: int, horizon_s: float, scenario: str = "cloud/diurnal-v0", **params: Any):  # type: ignore[no-untyped-def]
    config = ScenarioConfig(id=scenario, horizon_s=horizon_s, params=params)
    return prepare_run(config, "scaling/hpa-v0", seed)


def kpis(run) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {name: kpi.value for name, kpi in run.scenario.kpis(run.world).items()}


def scaled_classes(factor: float) -> list[dict[str, Any]]:
    """The default classes with every mean rate times ``factor``."""
    classes = [c.model_dump(mode="json") for c in CloudParams().classes]
    return [{**c, "rate_per_s": c["rate_per_s"] * factor} for c in classes]


def test_the_domain_points_at_its_live_interface():
    assert DOMAIN.live is not None
    assert isinstance(DOMAIN.live(), LiveInterface)


def test_a_rate_channel_per_class_on_the_cluster_with_poisson_alarms():
    cluster = cluster_run(0, HOUR_S).scenario.cluster
    channels = cloud_live().channels(cluster)
    assert [c.name for c in channels] == CHANNELS
    assert {(c.entity, c.unit) for c in channels} == {("cluster", "requests/s")}
    alarms = [c.alarm for c in channels]
    # 3 sqrt(E) / P, E the count at the busiest rate: ingestion 100/s flat, the
    # others 1.6 times their mean at the diurnal peak.
    expected = [3 * math.sqrt(r * PERIOD_S) / PERIOD_S for r in (100.0, 64.0, 8.0, 1.6)]
    assert alarms == pytest.approx(expected, rel=1e-12)
    assert alarms[0] == pytest.approx(3.873, abs=1e-3)
    # A class slow enough hits the floor of five requests a period.
    slow = cluster_run(0, HOUR_S, classes=scaled_classes(0.001)).scenario.cluster
    assert cloud_live().channels(slow)[3].alarm == 5.0 / PERIOD_S


def test_predict_is_nan_until_a_period_is_whole_then_the_expected_rate_of_the_last_one():
    run = cluster_run(1, 2 * HOUR_S)
    cluster, live = run.scenario.cluster, cloud_live()
    run.world.advance(59.0)
    assert all(math.isnan(v) for v in live.predict(cluster).values())
    run.world.advance(PERIOD_S)
    first = live.predict(cluster)
    assert list(first) == CHANNELS
    # Ingestion is flat at 100/s; inference at 00:00-00:01 is 40 (1 + 0.6 cos(-14 h)).
    assert first["class:ingestion/rate_per_s"] == pytest.approx(100.0, rel=1e-12)
    windows = [40 * (1 + 0.6 * math.cos(2 * math.pi * ((k + 0.5) * 15 / 3600 - 14) / 24))
               for k in range(4)]  # fmt: skip
    assert first["class:inference/rate_per_s"] == pytest.approx(np.mean(windows), rel=1e-12)
    # Mid-period it is still the last complete period's rate.
    run.world.advance(PERIOD_S + 37.0)
    assert live.predict(cluster) == first
    # Over an hour the predicted rates times the period are the expected arrivals, and
    # what arrived is within four Poisson sigmas of them.
    run.world.advance(2 * PERIOD_S)
    start = arrivals_so_far(cluster)
    predicted = np.zeros(4)
    for k in range(3, 63):
        run.world.advance(k * PERIOD_S)
        predicted += np.array(list(live.predict(cluster).values())) * PERIOD_S
    arrived = np.array(arrivals_so_far(cluster)) - np.array(start)
    assert np.all(np.abs(arrived - predicted) < 4 * np.sqrt(predicted))
    assert all(math.isfinite(v) and v > 0 for v in live.predict(cluster).values())


def test_the_arrivals_counted_so_far_include_the_window_being_served():
    run = cluster_run(2, HOUR_S)
    cluster = run.scenario.cluster
    run.world.advance(600.0)  # on an epoch: the window ending now is not served yet
    assert sum(arrivals_so_far(cluster)) > cluster.arrived_total
    run.world.advance(607.5)
    cluster.close()  # served up to now: the counter and the drawn times agree
    assert sum(arrivals_so_far(cluster)) == cluster.arrived_total


@pytest.mark.parametrize("scenario", ["cloud/diurnal-v0", "cloud/burst-v0"])
def test_watching_and_a_multiplier_of_one_change_no_kpi(scenario):
    def run_kpis(watch: bool, correct_at_s: float | None) -> dict[str, float]:
        run = cluster_run(3, 2 * HOUR_S, scenario)
        live, cluster = cloud_live(), run.scenario.cluster
        estimator = live.estimator(cluster, {})
        for k in range(1, 120):
            run.world.advance(k * PERIOD_S)
            if watch:
                for name, value in live.predict(cluster).items():
                    estimator.ingest(Reading(name, k * PERIOD_S, value))
                live.truth(cluster)
                estimator.estimates(k * PERIOD_S)
            if correct_at_s == k * PERIOD_S:
                ones = dict.fromkeys(["ingestion", "inference", "dashboard", "batch"], 1.0)
                live.correct(cluster, {"rate_multiplier": ones})
        run.world.run(2 * HOUR_S)
        return kpis(run)

    plain = run_kpis(watch=False, correct_at_s=None)
    assert run_kpis(watch=True, correct_at_s=None) == plain
    assert run_kpis(watch=False, correct_at_s=1800.0) == plain


def test_a_multiplier_of_two_doubles_the_arrivals_from_the_next_window():
    def inference_arrivals(multiplier: float | None) -> tuple[int, float, float]:
        run = cluster_run(4, 2 * HOUR_S)
        cluster, live = run.scenario.cluster, cloud_live()
        run.world.advance(1800.0)  # the window starting now is not drawn yet
        before = arrivals_so_far(cluster)[1]
        if multiplier is not None:
            live.correct(cluster, {"rate_multiplier": {"inference": multiplier}})
        run.world.advance(1800.0 + HOUR_S)
        base = expected_arrivals(cluster, 1, 1800.0, 1800.0 + HOUR_S, multiplied=False)
        drawn_at = expected_arrivals(cluster, 1, 1800.0, 1800.0 + HOUR_S)
        return arrivals_so_far(cluster)[1] - before, base, drawn_at

    plain, base, drawn_at = inference_arrivals(None)
    doubled, base_again, doubled_at = inference_arrivals(2.0)
    assert base == base_again == drawn_at
    assert doubled_at == 2 * base
    # 00:30-01:30, near the night trough (0.42 of the mean): the 240 windows' steps.
    steps = [40 * 15 * (1 + 0.6 * math.cos(2 * math.pi * ((1807.5 + 15 * k) / 3600 - 14) / 24))
             for k in range(240)]  # fmt: skip
    assert base == pytest.approx(sum(steps), rel=1e-12)
    # Each count within four Poisson sigmas of its mean; the corrected one about twice.
    assert abs(plain - base) < 4 * math.sqrt(base)
    assert abs(doubled - 2 * base) < 4 * math.sqrt(2 * base)
    assert 1.95 < doubled / plain < 2.05


def test_the_multiplier_applies_from_the_next_window_drawn():
    run = cluster_run(5, HOUR_S)
    cluster, live = run.scenario.cluster, cloud_live()
    run.world.advance(607.5)  # mid-window: [600, 615) is drawn at 1x
    live.correct(cluster, {"rate_multiplier": {"dashboard": 3.0}})
    run.world.advance(700.0)
    assert live.truth(cluster)["class:dashboard/rate_multiplier"] == 3.0
    one = expected_arrivals(cluster, 2, 600.0, 615.0, multiplied=False)
    assert expected_arrivals(cluster, 2, 600.0, 615.0) == one
    three = expected_arrivals(cluster, 2, 615.0, 630.0, multiplied=False)
    assert expected_arrivals(cluster, 2, 615.0, 630.0) == pytest.approx(3.0 * three, rel=1e-12)


def measured_rates(seed: int, factor: float, periods: int) -> list[list[Reading]]:
    """Per period, the rate readings of a 'real' cluster: the twin built with every
    class's mean rate times ``factor``, its arrivals counted each period."""
    run = cluster_run(seed, periods * PERIOD_S, classes=scaled_classes(factor))
    cluster = run.scenario.cluster
    out, last = [], np.array(arrivals_so_far(cluster))
    for k in range(1, periods + 1):
        run.world.advance(k * PERIOD_S)
        now = np.array(arrivals_so_far(cluster))
        rates = (now - last) / PERIOD_S
        last = now
        out.append(
            [Reading(n, k * PERIOD_S, float(r)) for n, r in zip(CHANNELS, rates, strict=True)]
        )
    return out


def test_the_estimator_finds_a_load_one_and_a_half_times_the_twins():
    # Four hours of a cluster whose load is 1.5x the twin's (other seeds), read per
    # minute. The posterior's sigma at the end, sqrt(1.5 / E_eff) with E_eff the
    # discounted expected count (period count / (1 - exp(-60/900))) at 03:59, is 0.004
    # (ingestion), 0.0095 (inference), 0.027 (dashboard), 0.06 (batch); the bounds are
    # four of them. Measured over seeds 10-19, the
    # worst errors were 0.0056, 0.015, 0.044, 0.126.
    bounds = [0.016, 0.038, 0.11, 0.24]
    twin = cluster_run(0, 4 * HOUR_S).scenario.cluster
    live = cloud_live()
    for seed in (10, 11):
        estimator = live.estimator(twin, {})
        assert estimator.correction(0.0) == {}
        for readings in measured_rates(seed, 1.5, 240):
            for reading in readings:
                estimator.ingest(reading)
        estimates = estimator.estimates(4 * HOUR_S)
        for name, bound in zip(CHANNELS, bounds, strict=True):
            entity = name.removesuffix("/rate_per_s")
            assert abs(estimates[f"{entity}/rate_multiplier"] - 1.5) < bound
        correction = estimator.correction(4 * HOUR_S)["rate_multiplier"]
        assert list(correction) == ["ingestion", "inference", "dashboard", "batch"]
        assert correction["inference"] == estimates["class:inference/rate_multiplier"]
        # The estimated rate is the multiplier times the twin's pattern rate.
        assert estimates["class:ingestion/rate_per_s"] == pytest.approx(
            100.0 * estimates["class:ingestion/rate_multiplier"], rel=1e-12
        )


def test_a_twin_that_matches_its_real_cluster_estimates_a_multiplier_near_one():
    twin = cluster_run(0, 2 * HOUR_S).scenario.cluster
    estimator = cloud_live().estimator(twin, {"memory_s": 1800.0})
    for readings in measured_rates(20, 1.0, 120):
        for reading in readings:
            estimator.ingest(reading)
    estimates = estimator.estimates(2 * HOUR_S)
    assert abs(estimates["class:ingestion/rate_multiplier"] - 1.0) < 0.015
    assert abs(estimates["class:inference/rate_multiplier"] - 1.0) < 0.03


def test_a_correction_in_two_identical_worlds_gives_identical_kpis():
    correction = {"rate_multiplier": {"inference": 1.37, "dashboard": 0.5}}

    def corrected() -> dict[str, float]:
        run = cluster_run(6, 2 * HOUR_S)
        run.world.advance(1234.0)
        cloud_live().correct(run.scenario.cluster, correction)
        run.world.run(2 * HOUR_S)
        return kpis(run)

    first = corrected()
    assert corrected() == first
    plain = cluster_run(6, 2 * HOUR_S)
    plain.world.run(2 * HOUR_S)
    assert kpis(plain) != first


@pytest.mark.parametrize(
    ("correction", "message"),
    [
        ({"rate": {"inference": 2.0}}, "a cloud correction is"),
        ({"rate_multiplier": 2.0}, "a cloud correction is"),
        ({"rate_multiplier": {"video": 2.0}}, "no request class 'video'"),
        ({"rate_multiplier": {"inference": -1.0}}, "finite and >= 0"),
        ({"rate_multiplier": {"inference": math.inf}}, "finite and >= 0"),
        ({"rate_multiplier": {"inference": "2"}}, "must be a number"),
        ({"rate_multiplier": {"inference": True}}, "must be a number"),
    ],
)
def test_a_bad_correction_is_one_clear_error_and_changes_nothing(correction, message):
    cluster = cluster_run(0, HOUR_S).scenario.cluster
    inner = correction.get("rate_multiplier")
    if isinstance(inner, dict):  # a good multiplier first: it must not be set either
        correction = {"rate_multiplier": {"dashboard": 2.0, **inner}}
    with pytest.raises(UserError, match=message):
        cloud_live().correct(cluster, correction)
    assert [s.multiplier for s in cluster.class_streams] == [1.0] * 4


def test_bad_options_are_one_clear_error():
    cluster = cluster_run(0, HOUR_S).scenario.cluster
    for memory in (0.0, -5.0, math.nan, "long"):
        with pytest.raises(UserError, match="memory_s must be"):
            cloud_live().estimator(cluster, {"memory_s": memory})
    with pytest.raises(UserError, match="period_s must be"):
        cloud_live(period_s=0.0)


def test_after_a_step_in_load_the_estimate_closes_nine_tenths_of_the_gap_in_35_minutes():
    # Noise-free readings: the twin's expected rate, times 1.5 from 02:00 on.
    twin = cluster_run(0, 6 * HOUR_S).scenario.cluster
    estimator = cloud_live().estimator(twin, {})
    reached = None
    for k in range(1, 300):
        end = k * PERIOD_S
        factor = 1.5 if end > 2 * HOUR_S else 1.0
        expected = expected_arrivals(twin, 1, end - PERIOD_S, end, multiplied=False)
        estimator.ingest(Reading(CHANNELS[1], end, factor * expected / PERIOD_S))
        if end <= 2 * HOUR_S:
            assert estimator.multiplier("class:inference") == pytest.approx(1.0, rel=1e-12)
        elif reached is None and estimator.multiplier("class:inference") >= 1.45:
            reached = end - 2 * HOUR_S
    # 900 s x ln 10 = 2072 s: the 35th reading after the step.
    assert reached == 35 * PERIOD_S


def test_a_shadow_follows_a_cluster_with_one_and_a_half_times_the_load():
    from twin.live.branches import LiveRun
    from twin.live.shadow import Shadow, ShadowOptions

    horizon_s = 3 * HOUR_S
    options = ShadowOptions(
        candidates=("scaling/hpa-v0",),
        kpi="latency_p95_s",
        decision_period_s=horizon_s,  # no decision within the session: no forks
        look_ahead_s=600.0,
        correction_period_s=300.0,
    )
    config = ScenarioConfig(id="cloud/diurnal-v0", horizon_s=horizon_s)
    alarmed: list[tuple[float, str]] = []

    def publish(kind: str, message: dict[str, Any]) -> None:
        if kind == "alarm":
            alarmed.append((message["t"], message["channel"]))

    shadow = Shadow(LiveRun(config, "scaling/hpa-v0", 0), options, publish)
    for readings in measured_rates(30, 1.5, 179):
        batch = [{"channel": r.channel, "t": r.at_s, "value": r.value, "unit": "requests/s"}
                 for r in readings]  # fmt: skip
        assert shadow.receive(json.dumps({"readings": batch}).encode()) == 4
    truth = cloud_live().truth(shadow.model)
    assert abs(truth["class:ingestion/rate_multiplier"] - 1.5) < 0.016
    assert abs(truth["class:inference/rate_multiplier"] - 1.5) < 0.038
    # Uncorrected, the twin is 50 requests/s short on ingestion: the alarm as soon as the
    # channel has settled (3 readings) and 3 more are beyond; corrected every 5 min, no
    # alarm after the first quarter hour.
    assert alarmed[0] == (360.0, "class:ingestion/rate_per_s")
    assert all(t < 900.0 for t, _ in alarmed)
    # Its last hour is well inside the alarms: the mean gap is a third of the alarm or
    # less (measured 0.31, 0.16, 0.15, 0.16 on this seed; 0.30-0.34 for ingestion on
    # seeds 30-33, whose alarm is sized for 100/s, not the 150/s measured).
    alarms = {c.name: c.alarm for c in cloud_live().channels(shadow.model)}
    for name in CHANNELS:
        gaps = [d.gap for d in shadow.divergences if d.at_s > 2 * HOUR_S and d.channel == name]
        assert len(gaps) == 59
        assert np.mean(gaps) < 0.4 * alarms[name]
