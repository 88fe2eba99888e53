"""The queueing station as a domain: its admission decision, invariants, view and KPIs.

Hypothesis is imported only when a strategy is asked for (from :mod:`twin.station.kit`).
"""

from __future__ import annotations

from twin.core.domain import Clock, DecisionArea, Deferred, Domain, Quantity, ScenarioChecks
from twin.core.units import SECONDS_PER_DAY
from twin.core.world import World
from twin.station.observation import StationAction, StationObservation, check_station_action
from twin.station.station import Station
from twin.station.view import StationView


def _entity_of(observation: StationObservation) -> str:
    return "station"


_edge_cases = Deferred("twin.station.kit:station_edge_cases")


_observations = Deferred("twin.station.kit:station_observations")


_run_config = Deferred("twin.station.kit:run_config")


_learning = Deferred("twin.station.learning:station_learning")


_params = Deferred("twin.station.kit:station_params")


def station_invariants(station: Station, world: World) -> list[str]:
    """Jobs are conserved; queue, busy servers and occupancy stay within the station."""
    params = station.params
    problems = []
    accounted = station.rejected.count + station.completed.count + station.in_system
    if station.arrived.count != accounted:
        problems.append(
            f"jobs not conserved: arrived {station.arrived.count} != rejected "
            f"{station.rejected.count} + completed {station.completed.count} + in station "
            f"{station.in_system}"
        )
    busy = params.servers - station.free_servers
    if not 0 <= busy <= params.servers:
        problems.append(f"{busy} busy servers outside [0, {params.servers}]")
    waiting = len(station.jobs.items)
    if waiting < 0 or waiting + busy != station.in_system:
        problems.append(f"waiting {waiting} + in service {busy} != in station {station.in_system}")
    if params.capacity is not None and station.in_system > params.capacity:
        problems.append(f"{station.in_system} jobs in a station of capacity {params.capacity}")
    return problems


OBSERVATION_FIELDS = {
    "now_s": Quantity("s", 0.0, description="simulated time of the arrival"),
    "queue_length": Quantity(low=0, description="jobs waiting, not in service"),
    "busy_servers": Quantity(low=0, description="servers serving a job"),
    "servers": Quantity(low=1, high=10_000, description="servers in the station"),
    "capacity": Quantity(
        low=1, missing=True, description="most jobs held, waiting plus in service; None: no limit"
    ),
    "sensed_queue_length": Quantity(
        missing=True,
        description="last sensed queue length (noisy, may read below 0); NaN: no reading",
    ),
}
ACTION_FIELDS = {
    "admit": Quantity(description="admit the arriving job (True) or turn it away (False)"),
}

ADMISSION = DecisionArea(
    name="station",
    observation=StationObservation,
    action=StationAction,
    check_action=check_station_action,
    entity_of=_entity_of,
    edge_cases=_edge_cases,
    observations=_observations,
    run_config=_run_config,
    observation_fields=OBSERVATION_FIELDS,
    action_fields=ACTION_FIELDS,
    baseline="admission/admit-all-v0",
    check_policy_s=12.0,  # s on a shared 2-core machine, 2026-12-04
    description="admit or turn away each arriving job",
    epochs=("Event-driven: once per arriving job, as it arrives and before it joins the queue."),
    learning=_learning,
)

DOMAIN: Domain[Station] = Domain(
    name="station",
    # A job arrives about once a minute and takes under two: a tick of one shows the queue move.
    clock=Clock(unit="min", display_tick_s=60.0),
    description="a queueing station (M/M/c, M/G/c, M/M/c/K) with an admission policy",
    model=Station,
    areas=(ADMISSION,),
    invariants=station_invariants,
    view=StationView,
    invariant_rules=(
        "jobs are conserved: arrived = turned away + completed + in the station",
        "busy servers lie between 0 and the number of servers",
        "waiting jobs + busy servers = jobs in the station",
        "a bounded station never holds more jobs than its capacity",
    ),
    scenario_checks={
        "station/mmc-v0": ScenarioChecks(
            params=_params, horizon_s=SECONDS_PER_DAY, check_period_s=60.0
        ),
    },
    kpis={
        "wait_mean_s": "lower",
        "wait_p95_s": "lower",
        "sojourn_mean_s": "lower",
        "queue_length_mean": "lower",
        "in_system_mean": "lower",
        "throughput_per_h": "higher",
        "rejected": "lower",
        "rejected_share": "lower",
    },
)
