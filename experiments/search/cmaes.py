"""CMA-ES for continuous parameters, its state rebuilt from the study's trials.

The algorithm is the ``cmaes`` package's ``CMA`` (the one Optuna's ``CmaEsSampler``
runs). Optuna's sampler keeps that optimiser as a pickle in the study database, which
twin never loads (a results directory may come from anyone). This sampler keeps no
state at all: an optimiser made with the same seed, asked and told the same
generations, is in the same state, so it is rebuilt for every candidate by replaying
the finished generations of the study: ask a whole population (which advances its
random generator exactly as the original asks did), check the points are the trials'
stored parameters, tell their ranks. That also makes a search resume exactly, as the
rest of a search does.

Parameters are searched in the unit cube (a log axis for ``log = true``), starting at
its centre with step size 1/6 of it, as Optuna's ``CmaEsSampler`` starts; the population
is the search's batch, so a batch is one generation.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import optuna
from cmaes import CMA
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

SIGMA0 = 1 / 6
MIN_POPULATION = 4
"""``cmaes.CMA`` with fewer than 4 has no rank-mu update (its learning rate is 0)."""


class ReplayCmaEsSampler(BaseSampler):
    """CMA-ES over ``space`` (float ranges only), replayed from the study's trials.

    Trials, in trial order, form the generations of ``population`` candidates each. A
    generation is told once all its trials finished: a failed trial ranks last, an
    infeasible one (Optuna constraints > 0) after every feasible one, by its total
    violation. ``seed`` must be the same for every trial of a study (it seeds the
    optimiser that is replayed).
    """

    def __init__(self, space: dict[str, BaseDistribution], population: int, seed: int) -> None:
        if population < MIN_POPULATION:
            raise ValueError(f"CMA-ES needs a population of at least {MIN_POPULATION}")
        self._space = {key: d for key, d in space.items() if isinstance(d, FloatDistribution)}
        self._population = population
        self._seed = seed
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
        optimizer, siblings = replay(study, trial.number, keys, search_space, self)
        # Asked again in order, the earlier candidates of this generation come out as
        # they were first asked; the next one is this trial's.
        for sibling in siblings:
            _check_replayed(optimizer.ask(), sibling, keys, search_space)
        unit = optimizer.ask()
        return {key: from_unit(search_space[key], u) for key, u in zip(keys, unit, strict=True)}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    @property
    def population(self) -> int:
        return self._population

    def optimizer(self, dimension: int) -> CMA:
        """The optimiser before the first generation."""
        return CMA(
            mean=np.full(dimension, 0.5),
            sigma=SIGMA0,
            bounds=np.array([[0.0, 1.0]] * dimension),
            seed=self._seed,
            population_size=self._population,
        )


def replay(
    study: optuna.Study,
    before: int,
    keys: list[str],
    space: dict[str, BaseDistribution],
    sampler: ReplayCmaEsSampler,
) -> tuple[CMA, list[FrozenTrial]]:
    """The optimiser after every generation wholly before trial ``before``, and the
    trials of ``before``'s generation asked before it (in order).

    Raises:
        RuntimeError: a trial of an earlier generation has not finished (twin's search
            loop tells a whole batch before asking the next).
    """
    population = sampler.population
    trials = sorted(
        (t for t in study.get_trials(deepcopy=False) if t.number < before),
        key=lambda t: t.number,
    )
    optimizer = sampler.optimizer(len(keys))
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1.0
    complete = (before // population) * population
    for start in range(0, complete, population):
        generation = trials[start : start + population]
        unfinished = [t.number for t in generation if not t.state.is_finished()]
        if unfinished:
            raise RuntimeError(
                f"CMA-ES: trial {before} asked before trials {unfinished} of an earlier "
                "generation finished"
            )
        points = [_check_replayed(optimizer.ask(), t, keys, space) for t in generation]
        # CMA-ES uses only the order within a generation: telling each point its rank
        # orders failed and infeasible trials as twin ranks them.
        order = sorted(range(population), key=lambda i: _rank_key(generation[i], sign))
        rank = {index: position for position, index in enumerate(order)}
        optimizer.tell([(points[i], float(rank[i])) for i in range(population)])
    return optimizer, trials[complete:]


def _check_replayed(
    point: np.ndarray, trial: FrozenTrial, keys: list[str], space: dict[str, BaseDistribution]
) -> np.ndarray:
    """The unit-cube point of ``trial``: the replayed ``point`` when the trial holds it,
    else (the trial was proposed by other code) its stored parameters, said once."""
    replayed = [from_unit(space[key], u) for key, u in zip(keys, point, strict=True)]
    stored = [float(trial.params[key]) for key in keys]
    if replayed == stored:
        return point
    _say_once(
        "twin: warning: the study holds CMA-ES candidates this code does not replay (made "
        "by another twin or cmaes version); the search goes on from the points as "
        "evaluated; use --force-new to start over"
    )
    return np.array([to_unit(space[key], value) for key, value in zip(keys, stored, strict=True)])


_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        print(message, file=sys.stderr)


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
