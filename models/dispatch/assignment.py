"""AGV dispatch by minimum-cost assignment over a short batch window.

Requests are collected for up to ``batch_window_s`` (or until there are as many as idle
AGVs), then matched to idle AGVs all at once by ``scipy.optimize.linear_sum_assignment``
(the Hungarian method's modern variant, exact): the matching that minimises the empty
metres driven to the pickups, where an AGV short of charge for a job pays the detour
through its nearest charger, and a request's wait is credited so that old requests are
served first when there are more requests than vehicles.

Failures (no SciPy, a cost matrix with no finite matching) fall back to the baseline,
``dispatch/nearest-idle-v0``, with one warning line per reason and run, counted by the
fleet (KPI ``agv_dispatch_fallbacks``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from models.dispatch.nearest_idle import NearestIdle
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.factory.observation import (
    WAIT,
    AgvView,
    DispatchAction,
    DispatchObservation,
    TransportRequest,
)

_CLOSE_S = 1e-6
"""A batch window closer to its end than this is over."""
_SLACK = 1.0 + 1e-9
"""As the baseline's: a job sized exactly to the battery is not short of charge."""


class AssignmentParams(PolicyParams):
    batch_window_s: float = Field(
        default=10.0, ge=0, le=3600, description="longest a request waits for its batch"
    )
    wait_credit_m_per_s: float = Field(
        default=1.0,
        ge=0,
        le=1e6,
        description="metres of empty travel one second of waiting is worth (priority by age)",
    )


class PlanningFailed(Exception):
    """No assignment; the message says why, in one line."""


class MinCostAssignment(BasePolicy[DispatchObservation, DispatchAction]):
    """Batch the waiting requests, then match them to idle AGVs at minimum cost."""

    id: ClassVar[str] = "dispatch/min-cost-assignment-v0"
    domain: ClassVar[str] = "factory.dispatch"
    description: ClassVar[str] = "batch requests over a window, match to AGVs at minimum cost"
    Params = AssignmentParams
    params: AssignmentParams

    def __init__(self, params: PolicyParams | None = None) -> None:
        super().__init__(params)
        self._fallback = NearestIdle()
        self._warned: set[str] = set()

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self._fallback.reset(context)
        self._warned = set()

    def act(self, obs: DispatchObservation) -> DispatchAction:
        idle = [agv for agv in obs.agvs if agv.idle]
        if not idle or not obs.requests:
            return WAIT
        oldest_wait_s = obs.now_s - min(request.requested_s for request in obs.requests)
        window_s = self.params.batch_window_s
        left_s = window_s - oldest_wait_s
        # Within a microsecond the window is over: the timer's own rounding must not
        # reopen it (an ask again in 1e-12 s, forever).
        if len(obs.requests) < len(idle) and left_s > _CLOSE_S:
            # The batch is still open: more requests may come that these AGVs serve better.
            return DispatchAction((), ask_again_in_s=left_s)
        try:
            pairs, _ = assign(obs, idle, self.params)
        except PlanningFailed as failure:
            reason = str(failure)
            self._warn(reason, obs)
            baseline = self._fallback.act(obs)
            return DispatchAction(baseline.assignments, fallback=reason)
        return DispatchAction(pairs)

    def _warn(self, reason: str, obs: DispatchObservation) -> None:
        if reason in self._warned:
            return
        self._warned.add(reason)
        warnings.warn(
            f"{self.id} at t={obs.now_s:.0f} s: {reason}; dispatching nearest-idle instead - "
            "counted in KPI agv_dispatch_fallbacks",
            RuntimeWarning,
            stacklevel=3,
        )


def costs(obs: DispatchObservation, idle: list[AgvView], params: AssignmentParams) -> np.ndarray:
    """``(requests, idle AGVs)`` metres: empty travel to the pickup (through the nearest
    charger for an AGV short of charge for the job), less the request's wait credit."""
    layout = obs.layout
    matrix = np.empty((len(obs.requests), len(idle)))
    for r, request in enumerate(obs.requests):
        onward_m = request.trip_m + layout.charger_distance_m(request.drop)
        credit_m = params.wait_credit_m_per_s * (obs.now_s - request.requested_s)
        for a, agv in enumerate(idle):
            matrix[r, a] = _empty_m(obs, agv, request, onward_m) - credit_m
    return matrix


def _empty_m(
    obs: DispatchObservation, agv: AgvView, request: TransportRequest, onward_m: float
) -> float:
    layout = obs.layout
    empty_m = layout.distance_m(agv.node, request.pickup)
    if empty_m + onward_m <= agv.range_m * _SLACK:
        return empty_m
    charger = layout.nearest_charger(agv.node)
    return layout.distance_m(agv.node, charger) + layout.distance_m(charger, request.pickup)


def _solver() -> Any:
    """SciPy's assignment solver (imported on first use)."""
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment


def assign(
    obs: DispatchObservation, idle: list[AgvView], params: AssignmentParams
) -> tuple[tuple[tuple[int, int], ...], float]:
    """The minimum-cost matching of requests to ``idle`` AGVs (as many pairs as the
    smaller side) and its planned cost in metres (wait credits included).

    Raises:
        PlanningFailed: SciPy is missing, or no matching has a finite cost.
    """
    try:
        solve = _solver()
    except ImportError:
        raise PlanningFailed("SciPy is not installed") from None
    matrix = costs(obs, idle, params)
    if not np.isfinite(matrix).all():
        # An unreachable pickup costs inf; SciPy refuses a matrix it cannot match finitely.
        matrix = np.where(np.isfinite(matrix), matrix, np.inf)
    try:
        rows, cols = solve(matrix)
    except ValueError as error:
        raise PlanningFailed(f"no feasible assignment ({error})") from None
    planned = float(matrix[rows, cols].sum())
    if not math.isfinite(planned):
        raise PlanningFailed("no feasible assignment (an unreachable pickup)")
    pairs = tuple(sorted((int(r), idle[int(c)].id) for r, c in zip(rows, cols, strict=True)))
    return pairs, planned
