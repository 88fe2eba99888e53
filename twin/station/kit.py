"""Test kit of the queueing station: generated observations and edge cases of
``station`` policies, generated ``station/mmc-v0`` params, and the invariants as a
``ScenarioKit`` calls them.

Imports hypothesis (the ``testing`` extra): :mod:`twin.station.domain` imports it lazily.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from twin.core.scenario import Scenario, ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.core.world import World
from twin.station.observation import StationObservation
from twin.station.station import Station


@st.composite
def station_observations(draw: st.DrawFn) -> StationObservation:
    """A station as an arrival may find it: any size, full or empty, sensor or not."""
    servers = draw(st.integers(1, 50))
    capacity = draw(st.none() | st.integers(servers, servers + 200))
    busy = draw(st.integers(0, servers))
    most_waiting = (capacity - servers) if capacity is not None else 10_000
    # A job waits only while every server is busy.
    queue = draw(st.integers(0, most_waiting)) if busy == servers else 0
    sensed = draw(
        st.just(math.nan)
        | st.floats(-5.0, 2.0 * most_waiting + 5.0, allow_nan=False)  # noise can go below 0
    )
    now_s = draw(st.floats(0.0, 1e9, allow_nan=False))
    return StationObservation(now_s, queue, busy, servers, capacity, sensed)


def station_edge_cases() -> list[StationObservation]:
    """Empty, saturated, full to capacity, one server, sensor down or reading below zero."""
    return [
        StationObservation(0.0, 0, 0, 1, None, math.nan),
        StationObservation(0.0, 0, 0, 2, 2, 0.0),
        StationObservation(SECONDS_PER_HOUR, 0, 2, 2, 2, math.nan),
        StationObservation(SECONDS_PER_HOUR, 10_000, 50, 50, None, math.nan),
        StationObservation(SECONDS_PER_HOUR, 8, 2, 2, 10, -0.7),
        StationObservation(1e9, 5, 3, 3, None, 1e6),
    ]


def run_config(policy_ref: str) -> tuple[ScenarioConfig, str | None]:
    # A busy two-server station with a queue sensor: both the true and the sensed queue
    # vary, and 1,400 arrivals a day give a policy many decisions.
    config = ScenarioConfig(
        id="station/mmc-v0",
        horizon_s=SECONDS_PER_DAY,
        params={
            "arrival_rate_per_s": 1 / 60,
            "servers": 2,
            "service": {"kind": "exponential", "mean": 110.0},
            "capacity": 30,
            "queue_sensor": {
                "sensor": {"period_s": 60.0, "noise_std": 0.5, "dropout_prob": 0.05},
                "pipeline": {"latency_mean_s": 5.0},
            },
        },
    )
    return config, None


@st.composite
def station_params(draw: st.DrawFn) -> dict[str, Any]:
    """Small stations: 1-4 servers, light to overloaded, any service law, bounded or not."""
    servers = draw(st.integers(1, 4))
    mean_service_s = draw(st.floats(10.0, 300.0))
    load = draw(st.floats(0.1, 1.5))  # above 1 the queue grows without bound
    service = draw(
        st.sampled_from(
            [
                {"kind": "exponential", "mean": mean_service_s},
                {"kind": "deterministic", "value": mean_service_s},
                {"kind": "gamma", "mean": mean_service_s, "cv": 0.5},
            ]
        )
    )
    capacity = draw(st.none() | st.integers(servers, servers + 10))
    return {
        "arrival_rate_per_s": load * servers / mean_service_s,
        "servers": servers,
        "service": service,
        "capacity": capacity,
    }


def scenario_invariants(scenario: Scenario[Any], world: World) -> list[str]:
    """:func:`station_invariants` of the station in ``world`` (what a ``ScenarioKit`` calls)."""
    from twin.station.domain import station_invariants  # the contract imports this kit lazily

    return station_invariants(world.the(Station), world)
