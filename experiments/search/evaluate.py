"""Candidates x replications as runs on an executor, with common random numbers.

Replication ``r`` of every candidate runs on the seed ``replication_seed(seed, r)``: the
candidates of a search see the same arrivals, failures and demand, so their
differences are the parameters' and not the dice's. A run's result depends only on its
spec, so every executor (in process, process pool, Dask) gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.design import RunSpec
from experiments.executors import Executor, RunOutcome, WorkersLost
from experiments.search.space import Candidate
from twin.core.streams import replication_seed

MAX_LOSSES = 3
"""A run whose worker died this many times fails (as in the batch runner)."""


@dataclass(frozen=True)
class Evaluation:
    """The runs of one candidate, in replication order."""

    candidate: Candidate
    replications: tuple[int, ...]
    outcomes: tuple[RunOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(outcome.status == "ok" for outcome in self.outcomes)

    @property
    def errors(self) -> list[str]:
        return [outcome.error or outcome.status for outcome in self.outcomes if outcome.error]

    def values(self, kpi: str) -> np.ndarray:
        """The KPI of every replication (NaN where a run failed or lacks it)."""
        found = []
        for outcome in self.outcomes:
            by_name = {name: value for name, value, _ in outcome.kpis}
            found.append(by_name.get(kpi, math.nan))
        return np.array(found, dtype=np.float64)

    def mean(self, kpi: str) -> float:
        return float(self.values(kpi).mean())

    def kpi_frame(self) -> pd.DataFrame:
        """Tidy ``arm, replication, kpi, value, unit`` rows of the runs that finished."""
        rows = [
            (self.candidate.label, replication, name, value, unit)
            for replication, outcome in zip(self.replications, self.outcomes, strict=True)
            for name, value, unit in outcome.kpis
        ]
        return pd.DataFrame(rows, columns=["arm", "replication", "kpi", "value", "unit"])

    def timeseries(self) -> list[pd.DataFrame | None]:
        return [outcome.timeseries for outcome in self.outcomes]


def evaluate(
    candidates: Sequence[Candidate],
    *,
    policy: str,
    seed: int,
    replications: Sequence[int],
    pool: Executor,
    keep_timeseries: bool = False,
    on_run: Callable[[], None] | None = None,
) -> list[Evaluation]:
    """Run every candidate on every replication; return their evaluations in order.

    Args:
        candidates: the points to evaluate.
        policy: the policy id every run uses (its params come with each candidate).
        seed: the root seed; replication ``r`` runs on ``replication_seed(seed, r)``.
        replications: the replication indices (the same for every candidate).
        pool: where the runs execute.
        keep_timeseries: keep each run's KPI time series (calibration to a series).
        on_run: called after every finished run (a progress bar).
    """
    specs = [
        RunSpec(
            run_id=f"c{c}-r{r:05d}",
            order=c * len(replications) + i,
            scenario=candidate.scenario.id,
            point=c,
            arm=candidate.label,
            policy=policy,
            policy_params=candidate.policy_params,
            replication=r,
            seed=replication_seed(seed, r),
            scenario_config=candidate.scenario,
            keep_timeseries=keep_timeseries,
        )
        for c, candidate in enumerate(candidates)
        for i, r in enumerate(replications)
    ]
    outcomes = run_specs(specs, pool, on_run)
    n = len(replications)
    return [
        Evaluation(
            candidate,
            tuple(replications),
            tuple(outcomes[spec.run_id] for spec in specs[c * n : (c + 1) * n]),
        )
        for c, candidate in enumerate(candidates)
    ]


def run_specs(
    specs: list[RunSpec], pool: Executor, on_run: Callable[[], None] | None = None
) -> dict[str, RunOutcome]:
    """Every spec's outcome; runs lost with a dying worker are tried again (then fail)."""
    outcomes: dict[str, RunOutcome] = {}
    losses: dict[str, int] = {}
    # A few chunks per worker keep every worker busy and the tail short.
    size = max(1, math.ceil(len(specs) / (4 * pool.workers)))
    queue = [specs[i : i + size] for i in range(0, len(specs), size)]
    queue.reverse()
    while queue or pool.in_flight:
        while queue and pool.in_flight < 2 * pool.workers:
            pool.submit(queue.pop())
        try:
            finished = pool.next_done()
        except WorkersLost as lost:
            for chunk in lost.chunks:
                for spec in chunk:
                    losses[spec.run_id] = losses.get(spec.run_id, 0) + (
                        MAX_LOSSES if lost.retried else 1
                    )
                    if losses[spec.run_id] >= MAX_LOSSES:
                        message = f"the worker process died while running {spec.run_id}"
                        outcomes[spec.run_id] = RunOutcome(
                            spec.run_id, "lost", math.nan, message, (), None
                        )
                    else:
                        queue.append([spec])
            continue
        for outcome in finished:
            outcomes[outcome.run_id] = outcome
            if on_run is not None:
                on_run()
    return outcomes
