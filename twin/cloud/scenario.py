"""Cloud scenarios registered by id: ``cloud/diurnal-v0`` and ``cloud/burst-v0``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import simpy

from twin.cloud import kernels
from twin.cloud.cluster import Cluster
from twin.cloud.config import BurstParams, CloudParams
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World

QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def histogram_quantile(histogram: np.ndarray, q: float) -> float:
    """The ``q`` quantile of a latency histogram, interpolated within its bin.

    The empirical distribution function is taken as linear in log-latency inside each
    bin, so the estimate moves continuously with the data (a bin is 4.7% wide).
    """
    total = int(histogram.sum())
    if total == 0:
        return math.nan
    cumulative = np.cumsum(histogram)
    target = q * total
    index = min(int(np.searchsorted(cumulative, target)), len(histogram) - 1)
    below = float(cumulative[index - 1]) if index else 0.0
    inside = float(histogram[index])
    fraction = (target - below) / inside if inside else 0.5
    return float(10.0 ** (kernels.LOG10_MIN + (index + fraction) / kernels.BINS_PER_DECADE))


class DiurnalCloud(Scenario[CloudParams]):
    """An edge/cloud cluster serving sensor ingestion, inference, dashboards and batch work."""

    id = "cloud/diurnal-v0"
    domain = "cloud.scaling"
    description = "elastic cluster, 4 request classes on a day/week pattern, scaling policy"
    Params = CloudParams
    default_policy = "scaling/hpa-v0"
    headline_kpis = ("latency_p95_s", "slo_violation_share", "node_hours", "dropped_share")

    def policy_info(self) -> dict[str, Any]:
        """Cluster facts a scaling policy may size its decisions by."""
        params = self.params
        return {
            "min_nodes": params.min_nodes,
            "max_nodes": params.max_nodes,
            "initial_nodes": params.start_nodes,
            "workers_per_node": params.node.workers,
            "cold_start_s": params.node.cold_start_s,
            "sync_period_s": params.sync_period_s,
            "service_mean_s": {c.name: c.service.mean_s for c in params.classes},
            "deferrable": [c.name for c in params.classes if c.deferrable],
        }

    def build(
        self, world: World, policy: Policy[Any, Any], env: simpy.Environment | None = None
    ) -> None:
        """The cluster, on the world's clock or on ``env`` (a side clock's)."""
        self.cluster = Cluster(world, self.params, policy, env)

    def kpis(self, world: World) -> dict[str, KPI]:
        cluster = self.cluster
        cluster.close()
        span_s = world.now_s - world.warmup_s
        histogram, latency_sum, violations, assigned, dropped = cluster.tallies_since_warmup()
        kpis: dict[str, KPI] = {}
        interactive = [i for i, c in enumerate(self.params.classes) if not c.deferrable]
        for i, name in enumerate(cluster.class_names):
            for label, q in QUANTILES.items():
                kpis[f"latency_{name}_{label}_s"] = KPI(
                    histogram_quantile(histogram[i], q), "s", f"{label} latency of {name}"
                )
            count = int(assigned[i])
            kpis[f"requests_{name}"] = KPI(
                float(count + dropped[i]), "requests", f"{name} requests routed or dropped"
            )
            kpis[f"latency_{name}_mean_s"] = KPI(
                latency_sum[i] / count if count else math.nan, "s", f"mean latency of {name}"
            )
            kpis[f"slo_violation_share_{name}"] = KPI(
                violations[i] / count if count else 0.0, "1", f"{name} requests over their SLO"
            )
        overall = histogram[interactive].sum(axis=0) if interactive else histogram.sum(axis=0)
        for label, q in QUANTILES.items():
            kpis[f"latency_{label}_s"] = KPI(
                histogram_quantile(overall, q), "s", f"{label} latency of interactive classes"
            )
        served = int(assigned.sum())
        lost = int(dropped.sum())
        offered = served + lost
        kpis["latency_mean_s"] = KPI(
            float(latency_sum.sum() / served) if served else math.nan, "s", "mean latency"
        )
        kpis["slo_violation_share"] = KPI(
            float((violations.sum() + lost) / offered) if offered else 0.0,
            "1",
            "requests over their SLO or dropped, of all routed",
        )
        kpis["requests_arrived"] = KPI(float(cluster.arrived.count), "requests", "after warm-up")
        kpis["requests_routed"] = KPI(float(served), "requests", "given to a node")
        kpis["dropped"] = KPI(float(lost), "requests", "no node or a full queue")
        kpis["dropped_share"] = KPI(lost / offered if offered else 0.0, "1", "of routed")
        kpis["throughput_per_s"] = KPI(served / span_s, "requests/s", "routed to a node")
        kpis["node_hours"] = KPI(cluster.node_seconds / SECONDS_PER_HOUR, "h", "billed node time")
        kpis["nodes_mean"] = KPI(cluster.nodes_current.mean(), "nodes", "ready or starting")
        kpis["utilisation"] = KPI(
            cluster.busy_worker_seconds / (cluster.workers * cluster.node_seconds)
            if cluster.node_seconds
            else 0.0,
            "1",
            "busy share of billed worker time",
        )
        kpis["in_system_mean"] = KPI(
            cluster.in_system.mean(), "requests", "time average, sampled every sync period"
        )
        kpis["scaling_actions"] = KPI(
            float(cluster.scaling_actions.count), "actions", "epochs that changed the scale"
        )
        kpis["deferred_released_at_deadline"] = KPI(
            float(cluster.forced_releases.count), "requests", "batch work the deadline released"
        )
        return kpis


class BurstCloud(DiurnalCloud):
    """The diurnal cluster with about six 15-minute bursts a day at three times the load."""

    id = "cloud/burst-v0"
    description = "elastic cluster with random 3x load bursts (6 a day, 15 min each)"
    Params = BurstParams
