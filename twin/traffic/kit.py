"""Hypothesis strategies and edge cases of the traffic domain (``traffic.signals``
observations, the grid and SUMO scenarios' params), read by :mod:`twin.traffic.domain`
when a policy or scenario is checked (needs the ``testing`` extra)."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from twin.traffic.observation import SignalObservation

_INF = math.inf


@st.composite
def signal_observations(draw: st.DrawFn) -> SignalObservation:
    """One intersection at a decision epoch: any programme, empty to jammed, detectors
    delivering, lagging or dead."""
    movements = draw(st.integers(1, 12))
    phases = draw(st.integers(1, 4))
    phase_green = np.array(
        draw(st.lists(st.lists(st.booleans(), min_size=movements, max_size=movements),
                      min_size=phases, max_size=phases)),
        dtype=np.bool_,
    )  # fmt: skip
    min_green = draw(st.floats(1.0, 15.0))
    max_green = draw(st.floats(min_green, 120.0))

    # Movements leaving from one lane (a left, a through and a right on a one-lane
    # approach) see that lane's values: draw per lane, then spread to its movements.
    lane = np.array(draw(st.lists(st.integers(0, movements - 1), min_size=movements,
                                  max_size=movements)))  # fmt: skip
    lane = np.unique(lane, return_inverse=True)[1].astype(np.int64)
    lanes = int(lane.max()) + 1

    def per_lane(draw_one: st.SearchStrategy[Any]) -> np.ndarray:
        return np.array(draw(st.lists(draw_one, min_size=lanes, max_size=lanes)))[lane]

    def per_movement(low: float, high: float) -> np.ndarray:
        return per_lane(st.floats(low, high, allow_nan=False))

    vehicles = np.floor(per_movement(0.0, 40.0))
    queue = np.minimum(np.floor(per_movement(0.0, 40.0)), vehicles)
    sensed = per_movement(-2.0, 45.0)  # detector noise can read below zero
    sensed[per_lane(st.booleans())] = np.nan
    gap = per_movement(0.0, 600.0)

    def per_loop(low: float, high: float) -> np.ndarray:
        values = st.floats(low, high, allow_nan=False)
        loops = np.array(draw(st.lists(values, min_size=2 * lanes, max_size=2 * lanes)))
        dead = draw(st.lists(st.booleans(), min_size=2 * lanes, max_size=2 * lanes))
        loops[np.array(dead)] = np.nan
        return loops.reshape(lanes, 2)[lane]

    gap[per_lane(st.booleans())] = _INF
    return SignalObservation(
        now_s=draw(st.floats(0.0, 1e6, allow_nan=False)),
        intersection=draw(st.integers(0, 899)),
        intersection_id=draw(st.sampled_from(["J0_0", "J3_2", "cluster_12_7"])),
        phase=draw(st.integers(0, phases - 1)),
        phase_elapsed_s=draw(st.floats(0.0, max_green + 10.0)),
        min_green_s=min_green,
        max_green_s=max_green,
        phase_green=phase_green,
        green_s=np.array(draw(st.lists(st.floats(1.0, 90.0), min_size=phases, max_size=phases))),
        queue=queue,
        vehicles=vehicles,
        # An exit is a movement's own: movements sharing an entry lane may part.
        downstream=np.floor(
            np.array(draw(st.lists(st.floats(0.0, 40.0), min_size=movements, max_size=movements)))
        ),
        gap_s=gap,
        flow_per_s=per_movement(0.0, 0.6),
        sensed_queue=sensed,
        sensed_count=np.floor(per_loop(-1.0, 40.0)),  # noise can read below zero
        sensed_occupancy=per_loop(-0.1, 1.1),
        sensed_speed_mps=per_loop(-2.0, 40.0),
        lane=lane,
    )


def signal_edge_cases() -> list[SignalObservation]:
    """An empty junction before any detection, a jammed one with full exits, a one-phase
    programme, every detector dead, a phase held past its maximum green, all movements
    from one lane."""
    green = np.array([[True, True, False, False], [False, False, True, True]])
    zeros = np.zeros(4)
    no_loops = np.full((4, 2), np.nan)
    empty = SignalObservation(
        0.0, 0, "J0_0", 0, 0.0, 5.0, 50.0, green, np.array([42.0, 42.0]),
        zeros, zeros, zeros, np.full(4, _INF), zeros, np.full(4, np.nan),
        no_loops, no_loops, no_loops, np.arange(4),
    )  # fmt: skip
    jammed = empty._replace(
        now_s=3600.0,
        phase=1,
        phase_elapsed_s=50.0,
        queue=np.full(4, 40.0),
        vehicles=np.full(4, 40.0),
        downstream=np.full(4, 40.0),
        gap_s=np.zeros(4),
        flow_per_s=np.full(4, 0.5),
        sensed_queue=np.full(4, 40.0),
        sensed_count=np.full((4, 2), 15.0),
        sensed_occupancy=np.full((4, 2), 0.95),
        sensed_speed_mps=np.full((4, 2), 0.5),
    )
    single = empty._replace(
        phase_green=np.ones((1, 4), dtype=np.bool_), green_s=np.array([60.0]), queue=np.ones(4)
    )
    dead = jammed._replace(
        sensed_queue=np.full(4, np.nan),
        sensed_count=no_loops,
        sensed_occupancy=no_loops,
        sensed_speed_mps=no_loops,
    )
    overdue = jammed._replace(phase_elapsed_s=500.0, gap_s=np.full(4, _INF))
    one_lane = jammed._replace(lane=np.zeros(4, dtype=np.int64))
    return [empty, jammed, single, dead, overdue, one_lane]


@st.composite
def grid_params(draw: st.DrawFn) -> dict[str, Any]:
    """Small grids (1-3 x 1-3 junctions, one or two lanes) from light to saturated demand."""
    return {
        "grid": {
            "rows": draw(st.integers(1, 3)),
            "cols": draw(st.integers(1, 3)),
            "lanes": draw(st.integers(1, 2)),
        },
        "demand": {"rates_per_s": [draw(st.floats(0.05, 1.5))]},
    }


def _sumo_files(variant: tuple[int, int, int, float]) -> dict[str, Any]:
    """A small SUMO grid and its random trips (``netgenerate``, ``randomTrips.py``), made
    once per machine in the temporary directory, so a printed command still replays."""
    from twin.traffic.sumo_tools import generate_grid, random_trips

    columns, rows, seed, period_s = variant
    folder = Path(tempfile.gettempdir()) / "twin-testing-sumo"
    folder.mkdir(exist_ok=True)
    name = f"grid{columns}x{rows}-seed{seed}-period{period_s:g}"
    net = folder / f"{name}.net.xml"
    routes = folder / f"{name}.rou.xml"
    if not routes.exists():
        # Written under a private name first: a half-made file is never taken for a net.
        staging = Path(tempfile.mkdtemp(dir=folder))
        generate_grid(staging / net.name, columns=columns, rows=rows, block_m=150.0)
        random_trips(
            staging / net.name, staging / routes.name, end_s=600.0, period_s=period_s, seed=seed
        )
        (staging / net.name).replace(net)
        (staging / routes.name).replace(routes)
        shutil.rmtree(staging, ignore_errors=True)
    return {"net_file": str(net), "route_files": [str(routes)]}


def sumo_net_params() -> st.SearchStrategy[dict[str, Any]]:
    """Imported SUMO grids of 2-3 x 2 junctions with light to busy random trips."""
    variants = st.tuples(
        st.integers(2, 3), st.just(2), st.integers(0, 3), st.sampled_from([1.0, 3.0])
    )
    return variants.map(_sumo_files)
