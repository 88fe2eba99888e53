"""The cloud domain's contract: what its scaling policies see and answer, the invariants
its cluster keeps, how it is drawn and which way its KPIs are better.

Hypothesis is imported only when a strategy is asked for (:mod:`twin.cloud.kit`).
"""

from __future__ import annotations

from typing import Any

from twin.cloud.cluster import Cluster
from twin.cloud.observation import (
    SCALING_ACTION_FIELDS,
    SCALING_OBSERVATION_FIELDS,
    ScalingAction,
    ScalingObservation,
    check_scaling_action,
)
from twin.cloud.view import CloudView
from twin.core.domain import Better, Clock, DecisionArea, Deferred, Domain, ScenarioChecks
from twin.core.units import SECONDS_PER_HOUR
from twin.core.world import World

SCENARIO_IDS = ("cloud/diurnal-v0", "cloud/burst-v0")
RUN_HORIZON_S = 4 * SECONDS_PER_HOUR
"""How long a policy's trial run and each generated scenario run last."""
CHECK_PERIOD_S = 97.0
"""Between invariant checks: off the 15 s epochs, so checks also fall between them."""
DEFAULT_CLASSES = ("ingestion", "inference", "dashboard", "batch")
"""The request classes of the shipped scenarios (per-class KPIs are named after them)."""


def cluster_invariants(cluster: Cluster, world: World) -> list[str]:
    """Requests conserved; node count within [min, max]; no work before a node is ready;
    no node holds more than its workers plus its queue, nor a negative queue."""
    params = cluster.params
    problems = []
    in_system = cluster.requests_in_system()
    dropped = cluster.dropped_total()
    if cluster.arrived_total != cluster.served_total + dropped + in_system:
        problems.append(
            f"requests not conserved: arrived {cluster.arrived_total} != served "
            f"{cluster.served_total} + dropped {dropped} + in system {in_system}"
        )
    live = len(cluster.live_nodes())
    if not params.min_nodes <= live <= params.max_nodes:
        problems.append(f"{live} nodes outside [{params.min_nodes}, {params.max_nodes}]")
    now = float(cluster.env.now)  # the cluster may run on a side clock of its own
    for node in cluster.nodes:
        if node is None:
            continue
        first = cluster.first_start[node.slot]
        if first < node.ready_s:
            problems.append(
                f"node in slot {node.slot} served a request at {first:g} s, before it was "
                f"ready at {node.ready_s:g} s"
            )
        held = int(cluster.heap_size[node.slot])
        if held > cluster.workers + params.node.queue_capacity:
            problems.append(f"node in slot {node.slot} holds {held} requests")
        if cluster.waiting(node.slot, now) < 0:
            problems.append(f"node in slot {node.slot} has a negative queue")
    return problems


INVARIANT_RULES = (
    "requests are conserved: arrived = served + dropped + in the system (nodes, backlog, "
    "released work not yet routed)",
    "nodes ready or starting stay within [min_nodes, max_nodes]",
    "no node serves a request before its cold start ends",
    "no node holds more requests than its workers plus its queue capacity",
    "no node has a negative queue",
)


def _check(action: object, observation: Any, policy_id: str) -> object:
    return check_scaling_action(action, observation, policy_id)


def _entity_of(observation: ScalingObservation) -> str:
    return "cluster"


_edge_cases = Deferred("twin.cloud.kit:scaling_edge_cases")


_observations = Deferred("twin.cloud.kit:scaling_observations")


_run_config = Deferred("twin.cloud.kit:run_config")


_params = Deferred("twin.cloud.kit:cloud_params")


_learning = Deferred("twin.cloud.learning:scaling_learning")


def _scenario_checks() -> dict[str, ScenarioChecks]:
    return {
        scenario_id: ScenarioChecks(
            params=_params, horizon_s=RUN_HORIZON_S, check_period_s=CHECK_PERIOD_S
        )
        for scenario_id in SCENARIO_IDS
    }


def _kpis() -> dict[str, Better]:
    lower: list[str] = [
        "latency_mean_s", "latency_p50_s", "latency_p95_s", "latency_p99_s",
        "slo_violation_share", "dropped", "dropped_share", "in_system_mean",
        "deferred_released_at_deadline", "node_hours", "nodes_mean",
        "cost_total", "cost_compute", "cost_energy", "energy_kwh",
        "co2e_kg", "co2e_electricity_kg",
    ]  # fmt: skip
    for name in DEFAULT_CLASSES:
        lower += [f"latency_{name}_{stat}_s" for stat in ("mean", "p50", "p95", "p99")]
        lower.append(f"slo_violation_share_{name}")
    directions: dict[str, Better] = dict.fromkeys(lower, "lower")
    directions["throughput_per_s"] = "higher"
    return directions


SCALING = DecisionArea(
    name="cloud.scaling",
    observation=ScalingObservation,
    action=ScalingAction,
    check_action=_check,
    entity_of=_entity_of,
    edge_cases=_edge_cases,
    observations=_observations,
    run_config=_run_config,
    observation_fields=SCALING_OBSERVATION_FIELDS,
    action_fields=SCALING_ACTION_FIELDS,
    baseline="scaling/static-v0",
    check_policy_s=21.0,  # s on a shared 2-core machine, 2026-12-04
    description="how many nodes to run, and how much deferred batch work to release, "
    "every sync period",
    epochs=(
        "Periodic: every `sync_period_s` (scenario params) of simulated time, for the whole "
        "cluster at once."
    ),
    learning=_learning,
)

DOMAIN: Domain[Cluster] = Domain(
    name="cloud",
    # Load follows the hour of day; a minute spans four sync windows and most of a cold start.
    clock=Clock(unit="h", display_tick_s=60.0),
    description="an elastic edge/cloud cluster: request classes, cold starts, load "
    "balancing, energy and carbon",
    model=Cluster,
    areas=(SCALING,),
    invariants=cluster_invariants,
    invariant_rules=INVARIANT_RULES,
    view=CloudView,
    scenario_checks=_scenario_checks(),
    kpis=_kpis(),
    live=Deferred("twin.cloud.live:cloud_live"),
)
