"""Production planning by a mixed-integer program: big-bucket lot sizing of orders with
setups, solved by HiGHS.

Why this model and not a job-shop schedule: a disjunctive job-shop MIP needs a binary
and a big-M pair of rows for every two operations that may share a machine, so a week of
a few hundred orders on a 100-machine plant is far beyond what a MIP solver closes in a
minute, and its second-by-second plan would not survive the first breakdown anyway.
Capacitated lot sizing with time buckets (Drexl and Kimms, *EJOR* 99, 1997) plans what
a twin can hold a plan to: which orders are made in which shift, so that every station's
load (processing plus changeovers) fits its capacity, minimising tardiness. The twin's
first-in first-out buffers then carry out the sequence (orders of one product in a bucket
released together, so they share one changeover). HiGHS rather than CP-SAT because the
model is a MIP with a strong LP relaxation, which is what HiGHS's branch and cut is for.

The model, for open orders ``o`` with quantity ``q``, release date ``r`` and due date
``d``, buckets ``t`` of length ``L`` from now, stations ``s`` and products ``p``:

- ``x[o,t]`` binary: order ``o`` is made in bucket ``t`` (only where ``r < end_t``);
  ``sum_t x[o,t] = 1``. Its planned completion ``c[o,t]`` is the end of the bucket, or
  later when the order's own flow time (its work on each station over that station's
  machines) does not fit after its release in the bucket.
- ``y[p,t]`` binary: product ``p`` is made in bucket ``t``; ``x[o,t] <= y[p(o),t]``.
- capacity: ``sum_o W[o,s] x[o,t] + sum_p S[s] m[s] y[p,t] <= m[s] a[s] L u`` minus the
  work still owed to released parts (spent from the first bucket on), where ``W`` is
  the order's work at ``s``, ``S`` the changeover time (every machine of the station
  changes over: conservative), ``a`` the forecast availability and ``u`` the share of
  a bucket planned full (``load_factor``, room for variability and flow).
- tardiness ``T[o] >= sum_t (c[o,t] - d[o]) x[o,t]``, ``T >= 0``.
- minimise ``sum_o T[o]`` in hours, plus a thousandth of the completion hours and of
  the changeover hours (earlier and fewer changeovers break ties).

HiGHS runs with one thread, a fixed seed and a node limit as well as the time limit: a
node limit stops at the same place on any machine, so a batch is byte-identical across
executors whenever the node limit binds before the time limit (the time limit is the
safety net). When the solver is missing, proves the model infeasible or stops without a
solution, one line is logged and the EDD rule plans the epoch (``fallback=True``, counted
as the KPI ``planning_fallbacks``).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.factory.observation import (
    OpenOrder,
    PlanningAction,
    PlanningObservation,
    Release,
)
from twin.factory.schedule import Instance, edd_key, list_schedule, planned_tardiness_s

logger = logging.getLogger("models.planning")

COMPLETION_WEIGHT = 1e-3
"""Objective weight of an hour of completion time against an hour of tardiness."""
SETUP_WEIGHT = 1e-3
"""Objective weight of an hour of changeover against an hour of tardiness."""


class LotSizingParams(PolicyParams):
    bucket_s: float = Field(
        default=8 * SECONDS_PER_HOUR,
        gt=0,
        allow_inf_nan=False,
        description="bucket length (a shift)",
    )
    horizon_s: float = Field(
        default=14 * SECONDS_PER_DAY,
        gt=0,
        allow_inf_nan=False,
        description="planned time ahead; orders released later wait for a later plan",
    )
    load_factor: float = Field(
        default=0.85, gt=0, le=1, description="share of a bucket's capacity planned full"
    )
    time_limit_s: float = Field(
        default=60.0, gt=0, allow_inf_nan=False, description="solver wall-time limit per epoch"
    )
    max_nodes: int = Field(
        default=2000, ge=1, description="branch-and-bound nodes per epoch (deterministic budget)"
    )
    mip_rel_gap: float = Field(
        default=0.01, ge=0, le=1, description="stop when the proven relative gap is below this"
    )
    mip_abs_gap_h: float = Field(
        default=0.5,
        ge=0,
        allow_inf_nan=False,
        description="or when the proven gap is below this many hours of tardiness",
    )
    solver_seed: int = Field(default=0, ge=0, le=2**31 - 1, description="HiGHS random_seed")


@dataclass(frozen=True)
class BucketModel:
    """The numbers of one epoch's lot-sizing model.

    Attributes:
        now_s: the epoch.
        bucket_s: bucket length.
        orders: the orders planned (open, released before the horizon).
        done_s: ``(orders, buckets)`` planned completion; NaN where not allowed.
        load_s: ``(orders, stations)`` work of each order at each station.
        products: per order, the index of its product in :attr:`product_names`.
        product_names: products of the planned orders.
        setup_load_s: ``(products, stations)`` changeover time a product's bucket costs.
        capacity_s: ``(stations, buckets)`` planned capacity.
    """

    now_s: float
    bucket_s: float
    orders: tuple[OpenOrder, ...]
    done_s: np.ndarray
    load_s: np.ndarray
    products: tuple[int, ...]
    product_names: tuple[str, ...]
    setup_load_s: np.ndarray
    capacity_s: np.ndarray

    @property
    def buckets(self) -> int:
        return int(self.capacity_s.shape[1])

    def start_s(self, bucket: int) -> float:
        return self.now_s + bucket * self.bucket_s

    def objective(self, buckets: Sequence[int]) -> float | None:
        """The objective of making order ``i`` in ``buckets[i]``; None if infeasible.

        Evaluated directly (products present per bucket, loads summed), so tests can
        check the solver against enumeration."""
        done = self.done_s[np.arange(len(buckets)), list(buckets)]
        if np.isnan(done).any():
            return None
        load = np.zeros_like(self.capacity_s)
        present: set[tuple[int, int]] = set()
        for i, t in enumerate(buckets):
            load[:, t] += self.load_s[i]
            present.add((self.products[i], t))
        for p, t in present:
            load[:, t] += self.setup_load_s[p]
        if (load > self.capacity_s + 1e-6).any():
            return None
        due = np.array([o.due_s for o in self.orders])
        tardiness_h = float(np.maximum(done - due, 0.0).sum()) / SECONDS_PER_HOUR
        completion_h = float((done - self.now_s).sum()) / SECONDS_PER_HOUR
        setup_h = sum(float(self.setup_load_s[p].sum()) for p, _ in present) / SECONDS_PER_HOUR
        return tardiness_h + COMPLETION_WEIGHT * completion_h + SETUP_WEIGHT * setup_h

    def subset(self, orders: Sequence[int]) -> BucketModel:
        """The model of ``orders`` alone (positions in :attr:`orders`), every station kept."""
        rows = list(orders)
        return BucketModel(
            self.now_s,
            self.bucket_s,
            tuple(self.orders[i] for i in rows),
            self.done_s[rows],
            self.load_s[rows],
            tuple(self.products[i] for i in rows),
            self.product_names,
            self.setup_load_s,
            self.capacity_s,
        )

    def tardiness_s(self, buckets: Sequence[int]) -> float:
        done = self.done_s[np.arange(len(buckets)), list(buckets)]
        due = np.array([o.due_s for o in self.orders])
        return float(np.maximum(done - due, 0.0).sum())


def build_model(obs: PlanningObservation, params: LotSizingParams) -> BucketModel:
    """The lot-sizing model of ``obs``: orders released before the horizon, buckets of
    ``params.bucket_s`` from now."""
    instance = Instance.of(obs)
    now = obs.now_s
    n_buckets = max(1, math.ceil(params.horizon_s / params.bucket_s))
    starts = now + params.bucket_s * np.arange(n_buckets)
    ends = starts + params.bucket_s
    positions = [i for i, o in enumerate(obs.orders) if o.ready_s < ends[-1]]
    orders = tuple(obs.orders[i] for i in positions)
    n_stations = len(obs.stations)
    machines = np.array(instance.machines, dtype=float)
    load = np.zeros((len(orders), n_stations))
    flow = np.zeros(len(orders))
    for row, i in enumerate(positions):
        route = instance.route[orders[row].product]
        for step, station in enumerate(route):
            load[row, station] += instance.work_s[i][step]
            flow[row] += instance.work_s[i][step] / machines[station]
    ready = np.array([o.ready_s for o in orders])
    release = np.maximum(ready[:, None], starts[None, :])
    done = np.maximum(ends[None, :], release + flow[:, None])
    done[ready[:, None] >= ends[None, :]] = np.nan
    names = tuple(dict.fromkeys(o.product for o in orders))
    products = tuple(names.index(o.product) for o in orders)
    setup_load = np.zeros((len(names), n_stations))
    for p, name in enumerate(names):
        for station in set(instance.route[name]):
            setup_load[p, station] = instance.setup_s[station] * machines[station]
    rate = np.array(instance.rate)
    capacity = np.repeat((rate * params.bucket_s * params.load_factor)[:, None], n_buckets, 1)
    owed = np.array(instance.backlog_s)
    for t in range(n_buckets):  # work owed to released parts comes first
        spent = np.minimum(owed, capacity[:, t])
        capacity[:, t] -= spent
        owed = owed - spent
    return BucketModel(
        now, params.bucket_s, orders, done, load, products, names, setup_load, capacity
    )


@dataclass(frozen=True)
class Solution:
    """What the solver made of a model.

    Attributes:
        buckets: per order of the model, its bucket; None when there is no plan.
        status: HiGHS's model status, or why there was no solve.
        mip_gap: relative gap proved (NaN without a plan).
        objective: the solver's objective value (NaN without a plan).
    """

    buckets: tuple[int, ...] | None
    status: str
    mip_gap: float = math.nan
    objective: float = math.nan


def solve(model: BucketModel, params: LotSizingParams) -> Solution:
    """Solve ``model`` with HiGHS: one thread, ``params``' seed, node and time limits.

    Products that share no station (the lines of a plant) make independent models: each
    is solved on its own, one after the other within the one time limit, which a solver
    closes far sooner than their union. The gap reported is the whole plan's.
    """
    try:
        import highspy
    except ImportError:
        return Solution(None, "solver missing (pip install 'twin[solvers]')")
    if not model.orders:
        return Solution((), "Optimal", 0.0, 0.0)
    deadline = time.perf_counter() + params.time_limit_s
    buckets = [0] * len(model.orders)
    objective = bound = 0.0
    statuses: list[str] = []
    for orders in independent_orders(model):
        part = model.subset(orders)
        left_s = max(deadline - time.perf_counter(), 1e-3)
        solution, part_bound = _solve_one(part, params, highspy, left_s)
        if solution.buckets is None:
            return solution
        for i, t in zip(orders, solution.buckets, strict=True):
            buckets[i] = t
        objective += solution.objective
        bound += part_bound
        statuses.append(solution.status)
    gap = max(0.0, (objective - bound) / abs(objective)) if objective else 0.0
    status = next((s for s in statuses if s != "Optimal"), "Optimal")
    return Solution(tuple(buckets), status, gap, objective)


def independent_orders(model: BucketModel) -> list[list[int]]:
    """The orders in groups whose products share no station with another group's."""
    parent = list(range(len(model.product_names)))

    def root(p: int) -> int:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    owner: dict[int, int] = {}
    for i in range(len(model.orders)):
        for station in np.flatnonzero(model.load_s[i] > 0):
            p = root(model.products[i])
            q = root(owner.setdefault(int(station), p))
            parent[max(p, q)] = min(p, q)
    groups: dict[int, list[int]] = {}
    for i in range(len(model.orders)):
        groups.setdefault(root(model.products[i]), []).append(i)
    return [groups[key] for key in sorted(groups)]


def _solve_one(
    model: BucketModel, params: LotSizingParams, highspy: ModuleType, time_limit_s: float
) -> tuple[Solution, float]:
    """One model through HiGHS: its solution and the proven lower bound."""
    highs = _quiet_highs(highspy)
    for name, value in (
        ("threads", 1),
        ("random_seed", params.solver_seed),
        ("time_limit", time_limit_s),
        ("mip_max_nodes", params.max_nodes),
        ("mip_rel_gap", params.mip_rel_gap),
        ("mip_abs_gap", params.mip_abs_gap_h),
    ):
        highs.setOptionValue(name, value)
    columns = _Columns(model)
    inf = highspy.kHighsInf
    highs.addCols(
        columns.count,
        columns.cost,
        np.zeros(columns.count),
        columns.upper,
        0,
        np.array([], dtype=np.int32),
        np.array([], dtype=np.int32),
        np.array([]),
    )
    integer = np.flatnonzero(columns.integer).astype(np.int32)
    highs.changeColsIntegrality(
        len(integer), integer, np.full(len(integer), highspy.HighsVarType.kInteger)
    )
    lower, upper, starts, indices, values = _rows(model, columns, inf)
    highs.addRows(len(lower), lower, upper, len(indices), starts, indices, values)
    start = greedy_buckets(model)
    if start is not None:  # the solver starts from the greedy plan and improves on it
        incumbent = highspy.HighsSolution()
        incumbent.col_value = columns.values_of(model, start).tolist()
        highs.setSolution(incumbent)
    highs.run()
    status = highs.modelStatusToString(highs.getModelStatus())
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # 2: feasible
        return Solution(None, status), math.nan
    x = np.asarray(highs.getSolution().col_value)
    buckets = tuple(
        max(allowed, key=lambda t: x[columns.x[(i, t)]])
        for i, allowed in enumerate(columns.allowed)
    )
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else objective
    gap = max(0.0, float(info.mip_gap)) if math.isfinite(info.mip_gap) else math.nan
    return Solution(buckets, status, gap, objective), min(bound, objective)


def _quiet_highs(highspy: ModuleType) -> Any:
    """A silent HiGHS. Its first instance in a process prints a banner on the C stdout
    before any option can be set, which would land in the middle of ``twin run``'s
    output: that construction runs with file descriptor 1 pointed at /dev/null."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
            highs.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return highs


def greedy_buckets(model: BucketModel) -> list[int] | None:
    """Orders by due date, each into the earliest bucket it fits (its changeover included
    when its product is new there); None when one fits nowhere. The solver's first
    incumbent, so that a solve stopped by its limits is never worse than this."""
    load = np.zeros_like(model.capacity_s)
    present: set[tuple[int, int]] = set()
    buckets = [-1] * len(model.orders)
    for i in sorted(range(len(model.orders)), key=lambda i: model.orders[i].due_s):
        p = model.products[i]
        for t in np.flatnonzero(~np.isnan(model.done_s[i])):
            extra = model.load_s[i] + (0.0 if (p, t) in present else model.setup_load_s[p])
            if (load[:, t] + extra <= model.capacity_s[:, t] + 1e-6).all():
                load[:, t] += extra
                present.add((p, int(t)))
                buckets[i] = int(t)
                break
        else:
            return None
    return buckets


class _Columns:
    """Column layout: ``x[o,t]`` for allowed pairs, then ``y[p,t]``, then ``T[o]``."""

    def __init__(self, model: BucketModel) -> None:
        n_orders, n_buckets = model.done_s.shape
        self.allowed = [
            [t for t in range(n_buckets) if not math.isnan(model.done_s[i, t])]
            for i in range(n_orders)
        ]
        cost: list[float] = []
        self.x: dict[tuple[int, int], int] = {}
        for i, allowed in enumerate(self.allowed):
            for t in allowed:
                self.x[(i, t)] = len(cost)
                cost.append(
                    COMPLETION_WEIGHT * (model.done_s[i, t] - model.now_s) / SECONDS_PER_HOUR
                )
        self.y: dict[tuple[int, int], int] = {}
        self.products = sorted(set(model.products))
        for p in self.products:
            for t in range(n_buckets):
                self.y[(p, t)] = len(cost)
                cost.append(SETUP_WEIGHT * float(model.setup_load_s[p].sum()) / SECONDS_PER_HOUR)
        n_binary = len(cost)
        self.tardiness = list(range(n_binary, n_binary + n_orders))
        cost += [1.0 / SECONDS_PER_HOUR] * n_orders
        self.count = len(cost)
        self.cost = np.array(cost)
        self.upper = np.concatenate([np.ones(n_binary), np.full(n_orders, np.inf)])
        self.integer = np.arange(self.count) < n_binary

    def values_of(self, model: BucketModel, buckets: Sequence[int]) -> np.ndarray:
        """The column values of the plan ``buckets``."""
        values = np.zeros(self.count)
        for i, t in enumerate(buckets):
            values[self.x[(i, t)]] = 1.0
            values[self.y[(model.products[i], t)]] = 1.0
            due = model.orders[i].due_s
            values[self.tardiness[i]] = max(0.0, float(model.done_s[i, t]) - due)
        return values


def _rows(
    model: BucketModel, columns: _Columns, inf: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The constraints in compressed-row form: lower, upper, starts, indices, values."""
    lower: list[float] = []
    upper: list[float] = []
    starts: list[int] = []
    indices: list[int] = []
    values: list[float] = []

    def row(low: float, high: float, entries: list[tuple[int, float]]) -> None:
        lower.append(low)
        upper.append(high)
        starts.append(len(indices))
        for index, value in entries:
            indices.append(index)
            values.append(value)

    for i, allowed in enumerate(columns.allowed):  # each order in exactly one bucket
        row(1.0, 1.0, [(columns.x[(i, t)], 1.0) for t in allowed])
    for i, allowed in enumerate(columns.allowed):  # an order's bucket makes its product
        for t in allowed:
            row(-inf, 0.0, [(columns.x[(i, t)], 1.0), (columns.y[(model.products[i], t)], -1.0)])
    n_stations = model.load_s.shape[1]
    by_bucket: dict[int, list[int]] = {}
    for i, allowed in enumerate(columns.allowed):
        for t in allowed:
            by_bucket.setdefault(t, []).append(i)
    for t in range(model.buckets):  # capacity of every station in every bucket
        for s in range(n_stations):
            entries = [
                (columns.x[(i, t)], float(model.load_s[i, s]))
                for i in by_bucket.get(t, [])
                if model.load_s[i, s] > 0
            ]
            entries += [
                (columns.y[(p, t)], float(model.setup_load_s[p, s]))
                for p in columns.products
                if model.setup_load_s[p, s] > 0
            ]
            if entries:
                row(-inf, float(model.capacity_s[s, t]), entries)
    for i, allowed in enumerate(columns.allowed):  # tardiness past the due date
        due = model.orders[i].due_s
        entries = [(columns.x[(i, t)], float(model.done_s[i, t] - due)) for t in allowed]
        row(-inf, 0.0, [*entries, (columns.tardiness[i], -1.0)])
    return (
        np.array(lower),
        np.array(upper),
        np.array(starts, dtype=np.int32),
        np.array(indices, dtype=np.int32),
        np.array(values),
    )


class LotSizingMip(BasePolicy[PlanningObservation, PlanningAction]):
    """Plans each epoch by the lot-sizing MIP (module docstring); EDD when it cannot."""

    id: ClassVar[str] = "planning/mip-v0"
    domain: ClassVar[str] = "factory.planning"
    description: ClassVar[str] = "lot sizing with setups by a MIP (HiGHS), min tardiness"
    Params: ClassVar[type[PolicyParams]] = LotSizingParams

    def act(self, obs: PlanningObservation) -> PlanningAction:
        params = self.params
        assert isinstance(params, LotSizingParams)
        model = build_model(obs, params)
        solution = solve(model, params)
        if solution.buckets is None:
            logger.warning(
                "%s at %.0f s: no plan (%s); releasing by EDD, the fallback",
                self.id,
                obs.now_s,
                solution.status,
            )
            releases = list_schedule(obs, edd_key)
            return PlanningAction(
                tuple(releases), planned_tardiness_s(obs, releases), fallback=True
            )
        releases = plan_releases(model, solution.buckets, obs)
        return PlanningAction(
            tuple(releases), model.tardiness_s(solution.buckets), solution.mip_gap
        )


def plan_releases(
    model: BucketModel, buckets: Sequence[int], obs: PlanningObservation
) -> list[Release]:
    """The plan as releases: a bucket's orders grouped by product so they share a
    changeover (products, then orders, by due date), each released when the list
    schedule of that sequence has its first station free, never before its bucket. The
    pacing keeps a bucket's orders from flooding the buffers all at once, where
    first-in first-out would mix products again and undo the grouping."""
    first_due: dict[tuple[int, int], float] = {}
    for i, t in enumerate(buckets):
        key = (t, model.products[i])
        first_due[key] = min(first_due.get(key, math.inf), model.orders[i].due_s)

    def sequence(i: int) -> tuple[float, ...]:
        t, p = buckets[i], model.products[i]
        order = model.orders[i]
        return (t, first_due[(t, p)], p, order.due_s, order.number)

    ordered = sorted(range(len(buckets)), key=sequence)
    position = {order.number: i for i, order in enumerate(obs.orders)}
    paced = list_schedule(obs, edd_key, [position[model.orders[i].number] for i in ordered])
    return [
        Release(
            release.order,
            max(release.release_s, model.start_s(buckets[i])),
            float(model.done_s[i, buckets[i]]),
        )
        for i, release in zip(ordered, paced, strict=True)
    ]
