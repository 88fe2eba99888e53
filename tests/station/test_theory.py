"""The station against queueing theory: Erlang C, Pollaczek-Khinchine, M/M/c/K, Little.

Each check runs independent replications and compares the mean of their per-run means
with theory using a Student-t interval at 99.9% confidence, so a correct model fails
about once in a thousand runs per check; every check also asserts the interval is
narrow enough (a half-width of at most ~12% of the theoretical value) to catch a bias.
"""

import math

import numpy as np
import pytest
from scipy import stats

from twin.core.queueing import mgc_allen_cunneen, mmc, mmck
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig

REPLICATIONS = 10


def station(horizon_s: float, warmup_s: float, **params) -> ScenarioConfig:
    return ScenarioConfig(
        id="station/mmc-v0", params=params, horizon_s=horizon_s, warmup_s=warmup_s
    )


def replicate(config: ScenarioConfig, kpi: str, policy="admission/admit-all-v0", **policy_params):
    values = [
        simulate(config, policy, seed=1000 + r, policy_params=policy_params).kpis[kpi].value
        for r in range(REPLICATIONS)
    ]
    return np.array(values)


def assert_matches(values: np.ndarray, theory: float, max_relative_halfwidth: float) -> None:
    mean = values.mean()
    halfwidth = stats.t.ppf(0.9995, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    assert halfwidth < max_relative_halfwidth * theory, "too few samples to test anything"
    assert abs(mean - theory) <= halfwidth, (
        f"simulated {mean:.4g} +- {halfwidth:.3g}, theory {theory:.4g}"
    )


@pytest.mark.parametrize(
    ("servers", "utilisation"),
    [(1, 0.5), (1, 0.8), (3, 0.7), pytest.param(5, 0.9, marks=pytest.mark.slow)],
)
def test_mean_wait_matches_erlang_c(servers, utilisation):
    service_mean = 1.0
    rate = utilisation * servers / service_mean
    config = station(
        horizon_s=40_000 / rate * (3 if utilisation >= 0.9 else 1),
        warmup_s=2_000,
        arrival_rate_per_s=rate,
        servers=servers,
        service={"kind": "exponential", "mean": service_mean},
    )
    theory = mmc(rate, service_mean, servers)
    assert_matches(replicate(config, "wait_mean_s"), theory.wait_s, 0.12)


def test_deterministic_service_matches_pollaczek_khinchine():
    rate, service_mean = 0.8, 1.0
    config = station(
        horizon_s=50_000,
        warmup_s=2_000,
        arrival_rate_per_s=rate,
        servers=1,
        service={"kind": "deterministic", "value": service_mean},
    )
    theory = mgc_allen_cunneen(rate, service_mean, 0.0, 1)  # exact for one server
    assert theory.wait_s == pytest.approx(0.8 / (2 * 0.2))
    assert_matches(replicate(config, "wait_mean_s"), theory.wait_s, 0.12)


def test_utilisation_and_throughput_match_offered_load():
    config = station(
        horizon_s=30_000,
        warmup_s=1_000,
        arrival_rate_per_s=1.4,
        servers=2,
        service={"kind": "gamma", "mean": 1.0, "cv": 0.5},
    )
    assert_matches(replicate(config, "utilisation"), 0.7, 0.02)
    assert_matches(replicate(config, "throughput_per_h"), 1.4 * 3600, 0.02)


def test_queue_cap_policy_gives_mmck_blocking():
    servers, max_queue = 2, 3
    config = station(
        horizon_s=30_000,
        warmup_s=1_000,
        arrival_rate_per_s=1.8,
        servers=servers,
        service={"kind": "exponential", "mean": 1.0},
    )
    theory = mmck(1.8, 1.0, servers, servers + max_queue)
    shares = replicate(config, "rejected_share", "admission/queue-cap-v0", max_queue=max_queue)
    assert_matches(shares, theory.blocking, 0.08)


def test_queue_cap_policy_equals_a_station_of_that_capacity():
    base = dict(arrival_rate_per_s=1.8, servers=2, service={"kind": "exponential", "mean": 1.0})
    by_policy = simulate(
        station(5_000, 100, **base),
        "admission/queue-cap-v0",
        seed=5,
        policy_params={"max_queue": 3},
    )
    by_capacity = simulate(
        station(5_000, 100, capacity=5, **base), "admission/admit-all-v0", seed=5
    )
    assert {k: v.value for k, v in by_policy.kpis.items()} == {
        k: v.value for k, v in by_capacity.kpis.items()
    }


@pytest.mark.parametrize("servers", [1, 4])
def test_littles_law_holds(servers):
    rate = 0.85 * servers
    result = simulate(
        station(
            60_000,
            2_000,
            arrival_rate_per_s=rate,
            servers=servers,
            service={"kind": "lognormal", "mean": 1.0, "cv": 1.5},
        ),
        "admission/admit-all-v0",
        seed=11,
    )
    k = {name: kpi.value for name, kpi in result.kpis.items()}
    throughput_per_s = k["throughput_per_h"] / 3600
    assert k["in_system_mean"] == pytest.approx(throughput_per_s * k["sojourn_mean_s"], rel=0.02)
    assert k["queue_length_mean"] == pytest.approx(throughput_per_s * k["wait_mean_s"], rel=0.03)
