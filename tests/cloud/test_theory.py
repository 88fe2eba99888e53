"""The cluster against queueing theory: Erlang C for a static node, Little's law.

A static node of c workers with Poisson arrivals and exponential work is M/M/c; its
mean latency (time in system) is compared with Erlang C over independent replications
with a Student-t interval at 99.9% confidence, which must also be narrow (at most 8% of
the theoretical value) for the check to mean anything.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.cloud.support import static_cluster
from twin.core.queueing import mmc
from twin.core.run import simulate

REPLICATIONS = 8


def replicate(config, kpi: str) -> np.ndarray:
    return np.array(
        [
            simulate(config, "scaling/static-v0", seed=500 + r).kpis[kpi].value
            for r in range(REPLICATIONS)
        ]
    )


def assert_matches(values: np.ndarray, theory: float, max_relative_halfwidth: float) -> None:
    mean = values.mean()
    halfwidth = stats.t.ppf(0.9995, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    assert halfwidth < max_relative_halfwidth * theory, "too few samples to test anything"
    assert abs(mean - theory) <= halfwidth, (
        f"simulated {mean:.5g} +- {halfwidth:.3g}, theory {theory:.5g}"
    )


@pytest.mark.parametrize(
    ("workers", "utilisation"),
    [(1, 0.7), (4, 0.8), pytest.param(16, 0.9, marks=pytest.mark.slow)],
)
def test_mean_latency_of_a_static_node_matches_erlang_c(workers, utilisation):
    service_mean_s = 0.01
    rate = utilisation * workers / service_mean_s
    config = static_cluster(rate, service_mean_s, workers, horizon_s=400_000 / rate, warmup_s=200.0)
    theory = mmc(rate, service_mean_s, workers)
    assert_matches(replicate(config, "latency_jobs_mean_s"), theory.sojourn_s, 0.08)


def test_utilisation_matches_offered_load():
    config = static_cluster(60.0, 0.05, 4, horizon_s=5_000.0, warmup_s=100.0)
    assert_matches(replicate(config, "utilisation"), 0.75, 0.02)


@pytest.mark.parametrize("balancer", ["round-robin", "least-connections"])
def test_littles_law_holds_on_the_runs_own_probes(balancer):
    # Three nodes behind the balancer: L (requests in the system, sampled every sync
    # period, here 2 s so that ~10,000 samples make L precise to about 0.5%) equals
    # throughput x mean latency.
    config = static_cluster(
        200.0, 0.05, 4, nodes=3, horizon_s=20_000.0, warmup_s=500.0, balancer=balancer,
        sync_period_s=2.0,
    )  # fmt: skip
    k = {
        name: kpi.value for name, kpi in simulate(config, "scaling/static-v0", seed=7).kpis.items()
    }
    assert k["dropped"] == 0
    assert k["in_system_mean"] == pytest.approx(
        k["throughput_per_s"] * k["latency_mean_s"], rel=0.015
    )


def test_least_connections_waits_less_than_round_robin():
    # Joining the shortest queue beats blind rotation at high load (Winston 1977).
    means = {}
    for balancer in ("round-robin", "least-connections"):
        config = static_cluster(
            270.0, 0.05, 2, nodes=8, horizon_s=3_000.0, warmup_s=200.0, balancer=balancer
        )
        means[balancer] = simulate(config, "scaling/static-v0", seed=3).kpis["latency_mean_s"].value
    assert means["least-connections"] < 0.9 * means["round-robin"]
