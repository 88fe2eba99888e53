"""CMA-ES replayed from the study: converges on a known minimum, and keeps no state."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution

from experiments.search.cmaes import CmaState, ReplayCmaEsSampler, from_unit, replay, to_unit

SPACE = {
    "x": FloatDistribution(-5.0, 5.0),
    "y": FloatDistribution(0.01, 100.0, log=True),
}


def shifted_sphere(params: dict[str, float]) -> float:
    # Minimum 0 at x = 1.5, y = 10 (log10 y = 1).
    return (params["x"] - 1.5) ** 2 + (np.log10(params["y"]) - 1.0) ** 2


def minimise(trials: int, fresh_sampler_each_trial: bool) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    sampler = ReplayCmaEsSampler(SPACE, seed=1)
    for number in range(trials):
        if fresh_sampler_each_trial:
            sampler = ReplayCmaEsSampler(SPACE, seed=1000 + number)
        study.sampler = sampler
        trial = study.ask(SPACE)
        study.tell(trial, shifted_sphere(trial.params))
    return study


def test_finds_the_minimum_of_a_shifted_sphere_within_a_hundred_and_twenty_trials():
    study = minimise(120, fresh_sampler_each_trial=True)
    best = study.best_params
    assert best["x"] == pytest.approx(1.5, abs=0.05)
    assert np.log10(best["y"]) == pytest.approx(1.0, abs=0.05)
    assert study.best_value < 1e-2


def test_the_state_is_a_function_of_the_finished_trials_only():
    study = minimise(24, fresh_sampler_each_trial=True)
    first = replay(study, ["x", "y"], SPACE)
    again = replay(study, ["x", "y"], SPACE)
    assert first.generation == 4  # 24 trials in generations of 4 + 3 ln 2 = 6
    np.testing.assert_array_equal(first.mean, again.mean)
    np.testing.assert_array_equal(first.cov, again.cov)
    assert first.sigma == again.sigma


def test_the_first_generation_samples_around_the_centre_of_the_unit_cube():
    state = CmaState(2, np.full(2, 0.5), 1 / 6)
    points = np.array([state.sample(np.random.default_rng(seed)) for seed in range(200)])
    assert ((points >= 0) & (points <= 1)).all()
    assert points.mean(axis=0) == pytest.approx([0.5, 0.5], abs=0.03)


def test_log_ranges_map_to_the_unit_interval_and_back():
    y = SPACE["y"]
    assert to_unit(y, 0.01) == 0.0
    assert to_unit(y, 1.0) == pytest.approx(0.5)
    assert from_unit(y, 0.5) == pytest.approx(1.0)
    assert from_unit(SPACE["x"], 0.25) == -2.5
