"""Customer demand: its mean follows trend, week, season, price and promotions; its noise
is Poisson or negative binomial; it does not depend on who asks for it."""

from __future__ import annotations

import numpy as np
import pytest

from twin.core.streams import Streams
from twin.supply.config import DemandSpec
from twin.supply.demand import DemandModel

WEEK = [0.8, 0.8, 0.9, 1.0, 1.2, 1.5, 0.8]


def model(*specs: DemandSpec, seed: int = 1) -> DemandModel:
    streams = Streams(seed)
    return DemandModel(list(specs), streams["supply.demand"], streams["supply.promotions"])


def draws(m: DemandModel, days: range) -> np.ndarray:
    return np.array([m.draw(day) for day in days], dtype=float)


def test_the_week_shape_is_kept_and_rescaled_to_mean_one():
    m = model(DemandSpec(base_per_day=100.0, weekly=[2 * w for w in WEEK]))
    sample = draws(m, range(7 * 400))[:, 0].reshape(400, 7).mean(axis=0)
    expected = 100.0 * np.array(WEEK) / np.mean(WEEK)
    assert np.allclose(sample, expected, rtol=0.02)


def test_trend_and_yearly_season_move_the_mean():
    spec = DemandSpec(
        base_per_day=50.0, trend_per_year=0.2, yearly_amplitude=0.3, yearly_peak_day=0
    )
    m = model(spec)
    assert m.mean(0)[0] == pytest.approx(50.0 * 1.3)
    assert m.mean(365)[0] == pytest.approx(50.0 * 1.2 * 1.3)
    assert m.mean(182)[0] == pytest.approx(
        50.0 * (1 + 0.2 * 182 / 365) * (1 - 0.3 * 0.99996), rel=1e-3
    )


def test_promotions_cut_the_price_and_lift_demand_by_elasticity_and_display():
    spec = DemandSpec(
        base_per_day=40.0,
        price=10.0,
        price_elasticity=-2.0,
        promotion_probability=0.5,
        promotion_discount=0.2,
        promotion_lift=1.25,
    )
    m = model(spec)
    promoted = np.array([m.promoted(day)[0] for day in range(7 * 200)])
    weeks = promoted.reshape(200, 7)
    assert np.all(weeks == weeks[:, :1])  # whole weeks
    assert 0.4 < promoted.mean() < 0.6
    day = int(np.argmax(promoted))
    assert m.shelf_price(day)[0] == pytest.approx(8.0)
    assert m.mean(day)[0] == pytest.approx(40.0 * 0.8**-2.0 * 1.25)


def test_negative_binomial_noise_is_overdispersed_as_specified():
    poisson = DemandSpec(base_per_day=30.0)
    overdispersed = DemandSpec(base_per_day=30.0, noise="negative_binomial", dispersion=5.0)
    sample = draws(model(poisson, overdispersed), range(20_000))
    assert sample[:, 0].var() == pytest.approx(30.0, rel=0.05)
    assert sample[:, 1].var() == pytest.approx(30.0 + 30.0**2 / 5.0, rel=0.07)
    assert sample.min() >= 0


def test_a_step_multiplies_the_base_from_its_day_on():
    m = model(DemandSpec(base_per_day=4 / 7, step_day=28.0, step_factor=2.0))
    assert m.mean(27)[0] == pytest.approx(4 / 7)
    assert m.mean(28)[0] == pytest.approx(8 / 7)


def test_demand_is_the_same_whatever_else_the_run_draws():
    spec = DemandSpec(base_per_day=20.0, promotion_probability=0.2)
    first = draws(model(spec, spec), range(50))
    other = model(spec, spec)
    other.promoted(300)  # asking about the calendar far ahead draws promotions early
    assert np.array_equal(draws(other, range(50)), first)
