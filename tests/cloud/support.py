"""Small cloud configs shared by the cloud tests."""

from __future__ import annotations

from typing import Any

from twin.core.scenario import ScenarioConfig


def poisson_class(rate_per_s: float, service: dict[str, Any], name: str = "jobs") -> dict[str, Any]:
    """One request class with a constant Poisson rate (no day pattern, no bursts)."""
    return {
        "name": name,
        "rate_per_s": rate_per_s,
        "service": service,
        "slo_s": 10.0,
        "follows_diurnal": False,
        "bursts": False,
    }


def static_cluster(
    rate_per_s: float,
    service_mean_s: float,
    workers: int,
    nodes: int = 1,
    *,
    horizon_s: float,
    warmup_s: float,
    **params: Any,
) -> ScenarioConfig:
    """``nodes`` nodes of ``workers`` workers, exponential work, Poisson arrivals, no drops."""
    return ScenarioConfig(
        id="cloud/diurnal-v0",
        horizon_s=horizon_s,
        warmup_s=warmup_s,
        params={
            "classes": [poisson_class(rate_per_s, {"kind": "exponential", "mean": service_mean_s})],
            "node": {"workers": workers, "queue_capacity": 100_000},
            "min_nodes": nodes,
            "max_nodes": nodes,
            **params,
        },
    )
