"""CMA-ES for continuous parameters, its state rebuilt from the study's trials.

Optuna's own ``CmaEsSampler`` needs the ``cmaes`` package and keeps its state as a pickle
in the study database, which twin never loads (a results directory may come from
anyone). This sampler keeps no state at all: the (mu/mu_w, lambda)-CMA-ES state after
generation g is a function of the starting point and the candidates of generations
0..g with their values, so it is replayed from the finished trials each time a
candidate is asked. That also makes it resume exactly, as the rest of a search does.

The algorithm and its default constants are Hansen's, *The CMA Evolution Strategy: A
Tutorial* (arXiv:1604.00772, 2016), Table 1 and Fig. 7 ("purecma"). Parameters are
searched in the unit cube (a log axis for ``log = true``), starting at its centre with
step size 1/6 of it, as Optuna's ``CmaEsSampler`` starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

SIGMA0 = 1 / 6
MAX_RESAMPLES = 100


@dataclass
class CmaState:
    """The search distribution N(mean, sigma^2 C) and its evolution paths."""

    dimension: int
    mean: np.ndarray
    sigma: float
    cov: np.ndarray = field(init=False)
    path_c: np.ndarray = field(init=False)
    path_sigma: np.ndarray = field(init=False)
    generation: int = 0

    def __post_init__(self) -> None:
        n = self.dimension
        self.cov = np.eye(n)
        self.path_c = np.zeros(n)
        self.path_sigma = np.zeros(n)
        self.population = 4 + int(3 * math.log(n))
        self.parents = self.population // 2
        weights = math.log(self.parents + 0.5) - np.log(np.arange(1, self.parents + 1))
        self.weights = weights / weights.sum()
        self.mu_eff = 1.0 / float(np.sum(self.weights**2))
        mu_eff = self.mu_eff
        self.c_c = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
        self.c_sigma = (mu_eff + 2) / (n + mu_eff + 5)
        self.c_1 = 2 / ((n + 1.3) ** 2 + mu_eff)
        self.c_mu = min(1 - self.c_1, 2 * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + mu_eff))
        self.damping = 1 + 2 * max(0.0, math.sqrt((mu_eff - 1) / (n + 1)) - 1) + self.c_sigma
        self.chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n**2))

    def tell(self, ranked_points: Sequence[np.ndarray]) -> None:
        """Update from one generation's points, best first."""
        n = self.dimension
        old_mean = self.mean
        best = np.array(ranked_points[: self.parents])
        self.mean = self.weights @ best
        step = (self.mean - old_mean) / self.sigma
        eigenvalues, basis = np.linalg.eigh(self.cov)
        inverse_root = basis @ np.diag(1 / np.sqrt(np.maximum(eigenvalues, 1e-20))) @ basis.T
        self.path_sigma = (1 - self.c_sigma) * self.path_sigma + math.sqrt(
            self.c_sigma * (2 - self.c_sigma) * self.mu_eff
        ) * (inverse_root @ step)
        self.generation += 1
        norm = float(np.linalg.norm(self.path_sigma))
        stalled = norm / math.sqrt(1 - (1 - self.c_sigma) ** (2 * self.generation)) / self.chi_n
        h_sigma = 1.0 if stalled < 1.4 + 2 / (n + 1) else 0.0
        self.path_c = (1 - self.c_c) * self.path_c + h_sigma * math.sqrt(
            self.c_c * (2 - self.c_c) * self.mu_eff
        ) * step
        offsets = (best - old_mean) / self.sigma
        rank_mu = (offsets.T * self.weights) @ offsets
        self.cov = (
            (1 - self.c_1 - self.c_mu) * self.cov
            + self.c_1
            * (
                np.outer(self.path_c, self.path_c)
                + (1 - h_sigma) * self.c_c * (2 - self.c_c) * self.cov
            )
            + self.c_mu * rank_mu
        )
        self.cov = (self.cov + self.cov.T) / 2
        self.sigma *= math.exp((self.c_sigma / self.damping) * (norm / self.chi_n - 1))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A point of N(mean, sigma^2 C) inside the unit cube (resampled, then clipped)."""
        eigenvalues, basis = np.linalg.eigh(self.cov)
        root = basis @ np.diag(np.sqrt(np.maximum(eigenvalues, 0.0)))
        point = self.mean
        for _ in range(MAX_RESAMPLES):
            point = self.mean + self.sigma * (root @ rng.standard_normal(self.dimension))
            if np.all((point >= 0) & (point <= 1)):
                return point
        return np.clip(point, 0.0, 1.0)


class ReplayCmaEsSampler(BaseSampler):
    """CMA-ES over ``space`` (float ranges only), replayed from the finished trials.

    Finished trials, in trial order, form the generations (``population`` each); a
    failed trial ranks last, an infeasible one (Optuna constraints > 0) after every
    feasible one, by its total violation.
    """

    def __init__(self, space: dict[str, BaseDistribution], seed: int) -> None:
        self._space = {key: d for key, d in space.items() if isinstance(d, FloatDistribution)}
        self._rng = np.random.default_rng(seed)
        self._fallback = RandomSampler(seed=seed)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._space)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        keys = list(search_space)
        state = replay(study, keys, search_space)
        unit = state.sample(self._rng)
        return {key: from_unit(search_space[key], u) for key, u in zip(keys, unit, strict=True)}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)


def replay(study: optuna.Study, keys: list[str], space: dict[str, BaseDistribution]) -> CmaState:
    """The CMA-ES state after every complete generation of the study's finished trials."""
    state = CmaState(len(keys), np.full(len(keys), 0.5), SIGMA0)
    finished = sorted(
        (t for t in study.get_trials(deepcopy=False) if t.state.is_finished()),
        key=lambda t: t.number,
    )
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    size = state.population
    for start in range(0, len(finished) - size + 1, size):
        generation = finished[start : start + size]
        ranked = sorted(generation, key=lambda t: _rank_key(t, sign))
        points = [np.array([to_unit(space[key], t.params[key]) for key in keys]) for t in ranked]
        state.tell(points)
    return state


def _rank_key(trial: FrozenTrial, sign: float) -> tuple[int, float, int]:
    if trial.state != TrialState.COMPLETE or trial.value is None:
        return (2, 0.0, trial.number)
    violation = sum(v for v in trial.constraints.values() if v > 0)
    if violation > 0:
        return (1, violation, trial.number)
    return (0, sign * float(trial.value), trial.number)


def to_unit(distribution: BaseDistribution, value: float) -> float:
    assert isinstance(distribution, FloatDistribution)
    low, high, x = distribution.low, distribution.high, float(value)
    if distribution.log:
        low, high, x = math.log(low), math.log(high), math.log(x)
    return (x - low) / (high - low)


def from_unit(distribution: BaseDistribution, u: float) -> float:
    assert isinstance(distribution, FloatDistribution)
    low, high = distribution.low, distribution.high
    if distribution.log:
        value = math.exp(math.log(low) + float(u) * (math.log(high) - math.log(low)))
    else:
        value = low + float(u) * (high - low)
    return min(max(value, low), high)
