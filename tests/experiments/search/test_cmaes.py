"""CMA-ES (the ``cmaes`` package) replayed from the study: converges on a known minimum,
keeps no state, and resumes exactly."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from cmaes import CMA
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import TrialState

from experiments.search.cmaes import ReplayCmaEsSampler, from_unit, replay, to_unit

SPACE: dict[str, BaseDistribution] = {
    "x": FloatDistribution(-5.0, 5.0),
    "y": FloatDistribution(0.01, 100.0, log=True),
}
POPULATION = 6  # 4 + 3 ln 2, Hansen's default for two parameters


def shifted_sphere(params: dict[str, float]) -> float:
    # Minimum 0 at x = 1.5, y = 10 (log10 y = 1).
    return float((params["x"] - 1.5) ** 2 + (np.log10(params["y"]) - 1.0) ** 2)


def minimise(trials: int, *, fresh_sampler_each_trial: bool, seed: int = 1) -> optuna.Study:
    """Generation by generation, as twin's search loop: ask a whole batch, then tell it."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    sampler = ReplayCmaEsSampler(SPACE, POPULATION, seed=seed)
    for start in range(0, trials, POPULATION):
        asked = []
        for _ in range(start, min(trials, start + POPULATION)):
            if fresh_sampler_each_trial:
                sampler = ReplayCmaEsSampler(SPACE, POPULATION, seed=seed)
            study.sampler = sampler
            asked.append(study.ask(SPACE))
        for trial in asked:
            study.tell(trial, shifted_sphere(trial.params))
    return study


def params(study: optuna.Study) -> list[dict[str, float]]:
    return [t.params for t in study.get_trials()]


def test_finds_the_minimum_of_a_shifted_sphere_within_a_hundred_and_twenty_trials():
    study = minimise(120, fresh_sampler_each_trial=True)
    best = study.best_params
    assert best["x"] == pytest.approx(1.5, abs=0.05)
    assert np.log10(best["y"]) == pytest.approx(1.0, abs=0.05)
    assert study.best_value < 1e-2


def test_the_study_holds_what_cmaes_proposes_in_its_own_ask_and_tell_loop():
    study = minimise(18, fresh_sampler_each_trial=True)
    optimizer = CMA(
        mean=np.full(2, 0.5),
        sigma=1 / 6,
        bounds=np.array([[0.0, 1.0], [0.0, 1.0]]),
        seed=1,
        population_size=POPULATION,
    )
    expected = []
    for _ in range(3):
        points = [optimizer.ask() for _ in range(POPULATION)]
        told = []
        for point in points:
            proposed = {key: from_unit(SPACE[key], u) for key, u in zip(SPACE, point, strict=True)}
            expected.append(proposed)
            told.append((point, shifted_sphere(proposed)))
        optimizer.tell(told)
    assert params(study) == expected


def test_a_sampler_made_afresh_for_every_trial_proposes_what_one_kept_sampler_does():
    kept = minimise(30, fresh_sampler_each_trial=False)
    fresh = minimise(30, fresh_sampler_each_trial=True)
    assert params(fresh) == params(kept)
    assert params(minimise(30, fresh_sampler_each_trial=True, seed=2)) != params(kept)


def test_an_interrupted_generation_resumes_with_the_candidates_an_uninterrupted_one_asks():
    whole = minimise(18, fresh_sampler_each_trial=True)
    # Two generations told, then three of the third asked (running) when it stopped.
    resumed = minimise(12, fresh_sampler_each_trial=True)
    for _ in range(3):
        resumed.sampler = ReplayCmaEsSampler(SPACE, POPULATION, seed=1)
        resumed.ask(SPACE)
    for _ in range(3):
        resumed.sampler = ReplayCmaEsSampler(SPACE, POPULATION, seed=1)
        resumed.ask(SPACE)
    assert params(resumed) == params(whole)


def test_the_optimiser_is_a_function_of_the_finished_trials_only():
    study = minimise(24, fresh_sampler_each_trial=True)
    sampler = ReplayCmaEsSampler(SPACE, POPULATION, seed=1)
    first, siblings = replay(study, 24, ["x", "y"], SPACE, sampler)
    again, _ = replay(study, 24, ["x", "y"], SPACE, sampler)
    assert first.generation == 4  # 24 trials in generations of 6
    assert siblings == []
    np.testing.assert_array_equal(first.mean, again.mean)
    # Same distribution and generator: the same next generation.
    np.testing.assert_array_equal(
        [first.ask() for _ in range(POPULATION)], [again.ask() for _ in range(POPULATION)]
    )


def test_failed_and_infeasible_trials_rank_after_feasible_ones():
    # One generation: the best value fails, the second best is infeasible; the mean moves
    # towards the feasible points only, so it equals a generation told without those two
    # best values, with them ranked last.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    sampler = ReplayCmaEsSampler(SPACE, POPULATION, seed=1)
    study.sampler = sampler
    asked = [study.ask(SPACE) for _ in range(POPULATION)]
    values = [shifted_sphere(t.params) for t in asked]
    best, second = np.argsort(values)[:2]
    for index, trial in enumerate(asked):
        if index == best:
            study.tell(trial, state=TrialState.FAIL)
            continue
        if index == second:
            trial.set_constraint("limit", 1.0)
        else:
            trial.set_constraint("limit", 0.0)
        study.tell(trial, values[index])
    told, _ = replay(study, POPULATION, ["x", "y"], SPACE, sampler)
    expected = sampler.optimizer(2)
    points = [expected.ask() for _ in range(POPULATION)]
    worst = max(values) + 1
    ranks = list(values)
    ranks[second], ranks[best] = worst + 1, worst + 2
    expected.tell(list(zip(points, ranks, strict=True)))
    np.testing.assert_array_equal(told.mean, expected.mean)


def test_the_first_generation_samples_around_the_centre_of_the_unit_cube():
    points = []
    for seed in range(40):
        optimizer = ReplayCmaEsSampler(SPACE, POPULATION, seed=seed).optimizer(2)
        points.extend(optimizer.ask() for _ in range(POPULATION))
    cloud = np.array(points)
    assert ((cloud >= 0) & (cloud <= 1)).all()
    assert cloud.mean(axis=0) == pytest.approx([0.5, 0.5], abs=0.03)
    assert cloud.std(axis=0) == pytest.approx([1 / 6, 1 / 6], rel=0.15)


def test_one_parameter_is_searched_too():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {"x": SPACE["x"]}
    study = optuna.create_study(direction="minimize")
    for _ in range(10):
        study.sampler = ReplayCmaEsSampler(space, 4, seed=3)
        asked = [study.ask(space) for _ in range(4)]
        for trial in asked:
            study.tell(trial, (trial.params["x"] - 1.5) ** 2)
    assert study.best_params["x"] == pytest.approx(1.5, abs=0.05)


def test_trials_it_did_not_propose_are_told_as_evaluated_and_said_once(capsys):
    # A study made by other code (here: a point enqueued by hand) still goes on: the
    # generation is told with the point that was evaluated.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize")
    study.enqueue_trial({"x": 1.5, "y": 10.0})
    study.sampler = ReplayCmaEsSampler(SPACE, 4, seed=1)
    asked = [study.ask(SPACE) for _ in range(4)]
    for trial in asked:
        study.tell(trial, shifted_sphere(trial.params))
    sampler = ReplayCmaEsSampler(SPACE, 4, seed=1)
    told, _ = replay(study, 4, ["x", "y"], SPACE, sampler)
    expected = sampler.optimizer(2)
    points = [expected.ask() for _ in range(4)]
    points[0] = np.array([to_unit(SPACE["x"], 1.5), to_unit(SPACE["y"], 10.0)])
    expected.tell([(p, shifted_sphere(t.params)) for p, t in zip(points, asked, strict=True)])
    np.testing.assert_array_equal(told.mean, expected.mean)
    assert "CMA-ES candidates this code does not replay" in capsys.readouterr().err


def test_a_population_below_four_is_refused():
    with pytest.raises(ValueError, match="at least 4"):
        ReplayCmaEsSampler(SPACE, 3, seed=1)


def test_log_ranges_map_to_the_unit_interval_and_back():
    y = SPACE["y"]
    assert to_unit(y, 0.01) == 0.0
    assert to_unit(y, 1.0) == pytest.approx(0.5)
    assert from_unit(y, 0.5) == pytest.approx(1.0)
    assert from_unit(SPACE["x"], 0.25) == -2.5
