"""Test kit of the cloud cluster: generated observations of ``cloud.scaling`` policies,
their edge cases, the short run a policy is tried in, and small clusters for the
``cloud/*`` scenarios' property tests. :mod:`twin.cloud.domain` declares them (lazily:
hypothesis is only in the ``testing`` extra)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from twin.cloud.domain import RUN_HORIZON_S
from twin.cloud.observation import ScalingObservation
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR


def _observation(
    now_s: float,
    *,
    min_nodes: int,
    max_nodes: int,
    ready: int,
    starting: int,
    utilisation: float,
    queue: int = 0,
    rates: tuple[float, ...] = (),
    carbon: tuple[float, ...] = (0.4,) * 24,
    deferred: tuple[tuple[int, float], ...] = (),
    workers: int = 4,
    cold_start_s: float = 100.0,
) -> ScalingObservation:
    hour = (now_s % SECONDS_PER_DAY) / SECONDS_PER_HOUR
    return ScalingObservation(
        now_s=now_s,
        sync_period_s=15.0,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        current_nodes=ready + starting,
        ready_nodes=ready,
        starting_nodes=starting,
        workers_per_node=workers,
        cold_start_s=cold_start_s,
        utilisation=utilisation,
        queue_lengths=(queue,) * ready,
        arrival_rates_per_s=rates,
        hour_of_day=hour,
        carbon_intensity=carbon[0],
        carbon_forecast=carbon,
        deferred=deferred,
    )


@st.composite
def scaling_observations(draw: st.DrawFn) -> ScalingObservation:
    """A cluster at any epoch: empty or saturated, nodes starting, metric missing."""
    min_nodes = draw(st.integers(1, 20))
    max_nodes = draw(st.integers(min_nodes, min_nodes + 200))
    current = draw(st.integers(min_nodes, max_nodes))
    starting = draw(st.integers(0, current))
    ready = current - starting
    utilisation = math.nan if ready == 0 else draw(st.just(math.nan) | st.floats(0.0, 1.0))
    workers = draw(st.integers(1, 64))
    queue = draw(st.integers(0, 10_000)) if ready else 0
    rates = tuple(draw(st.lists(st.floats(0.0, 1e5, allow_nan=False), max_size=60)))
    carbon = tuple(draw(st.lists(st.floats(0.0, 1.5), min_size=24, max_size=24)))
    now_s = draw(st.floats(0.0, 1e8, allow_nan=False))
    deadlines = draw(st.lists(st.floats(0.0, SECONDS_PER_DAY), max_size=14))
    deferred = tuple(
        (draw(st.integers(1, 1_000_000)), now_s + offset) for offset in sorted(deadlines)
    )
    return _observation(
        now_s,
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        ready=ready,
        starting=starting,
        utilisation=utilisation,
        queue=queue,
        rates=rates,
        carbon=carbon,
        deferred=deferred,
        workers=workers,
        cold_start_s=draw(st.floats(0.0, 900.0)),
    )


def scaling_edge_cases() -> list[ScalingObservation]:
    """Zero load, all nodes starting, at max, no metric, a huge burst, a deadline passed."""
    flat = (0.4,) * 24
    return [
        _observation(0.0, min_nodes=1, max_nodes=10, ready=1, starting=0, utilisation=0.0),
        _observation(15.0, min_nodes=1, max_nodes=10, ready=0, starting=5, utilisation=math.nan),
        _observation(3600.0, min_nodes=2, max_nodes=8, ready=8, starting=0, utilisation=1.0,
                     queue=1000, rates=(1e5,) * 40),
        _observation(30.0, min_nodes=3, max_nodes=3, ready=3, starting=0, utilisation=math.nan),
        _observation(7200.0, min_nodes=1, max_nodes=1000, ready=1, starting=0, utilisation=1.0,
                     queue=100_000, rates=(1.0,) * 39 + (1e6,)),
        _observation(50_000.0, min_nodes=1, max_nodes=20, ready=4, starting=2, utilisation=0.3,
                     rates=(0.0,) * 40, carbon=tuple(0.1 * h for h in range(24)),
                     deferred=((10_000, 40_000.0), (5, 90_000.0))),
        _observation(1e6, min_nodes=1, max_nodes=5, ready=5, starting=0, utilisation=0.0,
                     carbon=(0.0,) * 24, deferred=((1, 1e6 + 1.0),)),
        _observation(100.0, min_nodes=1, max_nodes=4, ready=2, starting=0, utilisation=0.5,
                     carbon=flat, rates=()),
    ]  # fmt: skip


def run_config(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    """The short run a scaling policy is tried in (the policy checked runs in it)."""
    # Four hours from midnight at ten times the small load, up to 12 nodes: the load
    # falls into the night trough and batch work arrives against a night-time grid, so a
    # policy scales down, and a carbon-aware one has work to hold back.
    config = ScenarioConfig(
        id="cloud/diurnal-v0",
        horizon_s=RUN_HORIZON_S,
        params={"classes": small_classes(10.0), "max_nodes": 12},
    )
    return config, None


def small_classes(scale: float) -> list[dict[str, Any]]:
    """Ingestion, inference and deferrable batch classes at ``scale`` x 14.1 requests/s."""
    return [
        {"name": "ingestion", "rate_per_s": 10.0 * scale, "slo_s": 0.1,
         "service": {"kind": "exponential", "mean": 0.005},
         "follows_diurnal": False, "bursts": False},
        {"name": "inference", "rate_per_s": 4.0 * scale, "slo_s": 0.5,
         "service": {"kind": "lognormal", "mean": 0.05, "cv": 0.5}},
        {"name": "batch", "rate_per_s": 0.1 * scale, "slo_s": 7200.0,
         "service": {"kind": "gamma", "mean": 2.0, "cv": 0.5},
         "bursts": False, "deferrable": True, "deadline_s": 7200.0},
    ]  # fmt: skip


@st.composite
def cloud_params(draw: st.DrawFn) -> dict[str, Any]:
    """Small clusters under small, bursty workloads: overload, tiny queues, cold starts."""
    min_nodes = draw(st.integers(1, 3))
    max_nodes = draw(st.integers(min_nodes, 6))
    scale = draw(st.floats(0.05, 3.0))
    bursts = [
        {"start_s": draw(st.floats(0.0, 3 * SECONDS_PER_HOUR)),
         "duration_s": draw(st.floats(60.0, 1800.0)), "multiplier": draw(st.floats(1.0, 10.0))}
        for _ in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    return {
        "classes": small_classes(scale),
        "workload": {
            "diurnal_amplitude": draw(st.floats(0.0, 1.0)),
            "peak_hour": draw(st.floats(0.0, 23.0)),
            "bursts": bursts,
            "random_bursts_per_day": draw(st.floats(0.0, 24.0)),
        },
        "node": {
            "workers": draw(st.integers(1, 4)),
            "queue_capacity": draw(st.integers(0, 50)),
            "cold_start_s": draw(st.floats(0.0, 600.0)),
        },
        "min_nodes": min_nodes,
        "max_nodes": max_nodes,
        "balancer": draw(st.sampled_from(["round-robin", "least-connections"])),
        "deadline_guard_s": draw(st.floats(0.0, 3600.0)),
    }
