"""The degradation and sensor-synthesis kernel, read as specifications.

Every test here also runs with ``NUMBA_DISABLE_JIT=1`` (CI does one such pass), where
the kernel is plain Python at about 7 us per machine update; the statistical tests use
fewer machines then and derive their tolerances from the sample size they ran.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.factory.kernels import (
    LIFE_CV,
    SENSOR_CHANNELS,
    DegradationParams,
    advance,
    advance_reference,
    exp2,
    first_passage_mean_reflected_s,
    first_passage_mean_s,
    step,
)

JIT = not numba.config.DISABLE_JIT
CHANNELS = len(SENSOR_CHANNELS)
VIBRATION, TEMPERATURE, PRESSURE, HUMIDITY = range(CHANNELS)
SEEDS = st.integers(0, 2**32 - 1)

# ISO 10816-3 zone boundaries used below (r.m.s. velocity, mm/s; see twin/factory/kernels.py).
ZONE_A_B_LOW, ZONE_B_C, ZONE_C_D = 1.4, 2.8, 7.1


def outputs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh ``signals_out`` and ``failed_out`` for ``n`` machines, filled with junk."""
    return np.full((n, CHANNELS), np.nan), np.ones(n, dtype=np.bool_)


def random_params(rng: np.random.Generator, n: int) -> DegradationParams:
    """Per-machine parameters over and beyond the realistic range, with a few zeros.

    The physical domain, not all of float64: at most 1e-4 of wear per hour-long tick at
    stress 1 and stress factors up to about 2**10, so three ticks never run a machine
    into an overflow (where the kernel gives inf and plain Python raises).
    """
    drift = rng.uniform(0.0, 3e-8, n)
    drift[rng.random(n) < 0.1] = 0.0
    return DegradationParams(
        drift_per_s=drift,
        sigma_per_sqrt_s=rng.uniform(0.0, 1e-5, n) * (rng.random(n) > 0.1),
        threshold=rng.uniform(0.1, 2.0, n),
        temp_ref_c=rng.uniform(40.0, 80.0, n),
        temp_rise_load_c=rng.uniform(0.0, 30.0, n),
        temp_rise_wear_c=rng.uniform(0.0, 15.0, n),
        vib_base_mm_s=rng.uniform(0.0, 5.0, n),
        vib_wear_mm_s=rng.uniform(0.0, 15.0, n),
        pressure_nominal_bar=rng.uniform(0.0, 300.0, n),
        leak=rng.uniform(0.0, 1.5, n),
    )


def random_state(rng: np.random.Generator, params: DegradationParams) -> dict[str, np.ndarray]:
    """Degradation levels, loads and normals, with the edge cases mixed in on purpose:
    new machines, machines exactly at and past the threshold, stopped machines,
    overloads, and normals (down to -1000) large enough to push a level below zero."""
    n = params.n
    h = rng.uniform(0.0, 1.3, n) * params.threshold
    h[rng.random(n) < 0.1] = 0.0
    at_threshold = rng.random(n) < 0.1
    h[at_threshold] = params.threshold[at_threshold]
    load = rng.uniform(0.0, 1.5, n)
    load[rng.random(n) < 0.2] = 0.0
    z = rng.standard_normal(n)
    plunge = rng.random(n) < 0.2
    z[plunge] = -np.abs(z[plunge]) * rng.choice([10.0, 1000.0], int(plunge.sum()))
    return {"h": h, "load": load, "z": z}


def run_both(
    params: DegradationParams,
    state: dict[str, np.ndarray],
    ambient_c: float,
    humidity_pct: float,
    dt_s: float,
    ticks: int,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """``ticks`` steps through the jitted wrapper and through the reference, same inputs."""
    results = []
    for kernel in ("step", "reference"):
        h = state["h"].copy()
        signals, failed = outputs(params.n)
        for tick in range(ticks):
            z = np.roll(state["z"], tick)  # a different normal per tick, same for both
            if kernel == "step":
                step(h, state["load"], ambient_c, humidity_pct, z, dt_s, params, signals, failed)
            else:
                advance_reference(
                    h,
                    state["load"],
                    ambient_c,
                    humidity_pct,
                    z,
                    dt_s,
                    *params.arrays(),
                    signals,
                    failed,
                )
        results.append((h, signals, failed))
    return results[0], results[1]


# -- the jitted kernel is the reference ---------------------------------------------


@settings(max_examples=200)
@given(
    n=st.integers(1, 200),
    seed=SEEDS,
    ambient_c=st.floats(-20.0, 50.0),
    humidity_pct=st.floats(0.0, 100.0),
    dt_s=st.floats(0.0, 3600.0),
    ticks=st.integers(1, 3),
)
def test_jitted_kernel_equals_the_pure_python_reference(
    n: int, seed: int, ambient_c: float, humidity_pct: float, dt_s: float, ticks: int
) -> None:
    rng = np.random.default_rng(seed)
    params = random_params(rng, n)
    state = random_state(rng, params)
    (h, signals, failed), (h_ref, signals_ref, failed_ref) = run_both(
        params, state, ambient_c, humidity_pct, dt_s, ticks
    )
    # The reference computes 2 ** (dT / 10) with pow where the kernel uses exp2 (within
    # 1 ulp), and groups drift * s * dt differently: a few ulps apart. atol covers a
    # level that a large negative step brings close to (not below) zero, where h + dh
    # cancels and the relative difference of those ulps grows; 1e-15 is ~5 ulps of a
    # level near 1.
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(signals, signals_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(failed, failed_ref)


@pytest.mark.skipif(not JIT, reason="compares the compiled kernel with plain Python")
@settings(max_examples=50)
@given(n=st.integers(1, 300), seed=SEEDS, dt_s=st.floats(0.0, 3600.0))
def test_vectorised_kernel_equals_itself_in_plain_python_bit_for_bit(
    n: int, seed: int, dt_s: float
) -> None:
    # No fastmath: LLVM may vectorise but not reassociate or fuse, so a run does not
    # depend on the JIT (or on how many machines a vector step takes).
    rng = np.random.default_rng(seed)
    params = random_params(rng, n)
    state = random_state(rng, params)
    results = []
    for kernel in (advance, advance.py_func):
        h = state["h"].copy()
        signals, failed = outputs(n)
        kernel(h, state["load"], 21.5, 40.0, state["z"], dt_s, *params.arrays(), signals, failed)
        results.append((h, signals, failed))
    for compiled, python in zip(*results, strict=True):
        np.testing.assert_array_equal(compiled, python)


# -- invariants -----------------------------------------------------------------------


@given(n=st.integers(1, 50), seed=SEEDS, dt_s=st.floats(0.0, 1e6), ambient_c=st.floats(-50, 80))
def test_a_stopped_machine_does_not_wear(n: int, seed: int, dt_s: float, ambient_c: float) -> None:
    rng = np.random.default_rng(seed)
    params = random_params(rng, n)
    state = random_state(rng, params)
    h = state["h"].copy()
    signals, failed = outputs(n)
    step(h, np.zeros(n), ambient_c, 40.0, state["z"], dt_s, params, signals, failed)
    np.testing.assert_array_equal(h, state["h"])  # bit for bit, whatever z is
    np.testing.assert_array_equal(failed, h >= params.threshold)
    np.testing.assert_array_equal(signals[:, PRESSURE], 0.0)
    np.testing.assert_allclose(
        signals[:, VIBRATION], 0.3 * params.vib_base_mm_s + params.vib_wear_mm_s * h**2
    )


@given(n=st.integers(1, 50), seed=SEEDS, dt_s=st.floats(0.0, 1e6), scale=st.floats(0.0, 1e6))
def test_degradation_never_goes_below_zero(n: int, seed: int, dt_s: float, scale: float) -> None:
    rng = np.random.default_rng(seed)
    params = random_params(rng, n)
    state = random_state(rng, params)
    h = state["h"].copy()
    signals, failed = outputs(n)
    z = -scale * np.abs(rng.standard_normal(n))  # every step pulls down, some very hard
    step(h, state["load"], 20.0, 40.0, z, dt_s, params, signals, failed)
    assert (h >= 0.0).all()


@given(n=st.integers(1, 50), seed=SEEDS, dt_s=st.floats(0.0, 1e5))
def test_failed_exactly_when_the_level_reaches_the_threshold(
    n: int, seed: int, dt_s: float
) -> None:
    rng = np.random.default_rng(seed)
    params = random_params(rng, n)
    state = random_state(rng, params)
    h = state["h"].copy()
    signals, failed = outputs(n)
    step(h, state["load"], 20.0, 40.0, state["z"], dt_s, params, signals, failed)
    np.testing.assert_array_equal(failed, h >= params.threshold)


def test_failed_is_a_level_so_a_stopped_failed_machine_stays_failed() -> None:
    params = DegradationParams.from_scalars(2)
    h = np.array([1.0, 0.999])
    signals, failed = outputs(2)
    for _ in range(3):
        step(h, np.zeros(2), 20.0, 40.0, np.zeros(2), 60.0, params, signals, failed)
        np.testing.assert_array_equal(failed, [True, False])


def test_a_worked_example_by_hand() -> None:
    params = DegradationParams.from_scalars(
        1,
        drift_per_s=1e-6,
        sigma_per_sqrt_s=1e-3,
        temp_ref_c=40.0,
        temp_rise_load_c=20.0,
        temp_rise_wear_c=10.0,
        vib_base_mm_s=2.0,
        vib_wear_mm_s=5.0,
        pressure_nominal_bar=6.0,
        leak=0.2,
    )
    h = np.array([0.5])
    signals, failed = outputs(1)
    step(h, [0.5], 25.0, 55.0, [1.0], 100.0, params, signals, failed)
    # Before: T_op = 25 + 0.5 * 20 + 0.5 * 10 = 40 °C = T_ref, so stress = load = 0.5 and
    # the process runs 50 s of wear time.
    h_after = 0.5 + 1e-6 * 50.0 + 1e-3 * math.sqrt(50.0) * 1.0
    assert h[0] == pytest.approx(h_after, rel=1e-14)
    assert not failed[0]
    expected = [
        2.0 * (0.3 + 0.7 * 0.5) + 5.0 * h_after**2,  # vibration
        25.0 + 0.5 * 20.0 + h_after * 10.0,  # temperature from the level after the step
        6.0 * (1.0 - 0.2 * h_after),  # pressure
        55.0,  # humidity
    ]
    np.testing.assert_allclose(signals[0], expected, rtol=1e-14)


# -- 2 ** y ----------------------------------------------------------------------------


@settings(max_examples=500)
@given(y=st.floats(-1074.0, 1023.9))
def test_exp2_is_within_one_ulp_of_pow(y: float) -> None:
    exact = 2.0**y  # glibc's pow: correctly rounded in practice
    assert abs(exp2(y) - exact) <= np.spacing(exact)


@given(y=st.floats(allow_nan=True, allow_infinity=True))
def test_exp2_compiled_equals_exp2_in_python_bit_for_bit(y: float) -> None:
    # exp2 builds 2**k from exponent bits when compiled and with ldexp in Python: the
    # kernel gives the same numbers with and without NUMBA_DISABLE_JIT.
    python = exp2.py_func(y) if JIT else exp2(y)
    compiled = exp2(y)
    assert compiled == python or (math.isnan(compiled) and math.isnan(python))


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (0.0, 1.0),
        (-0.0, 1.0),
        (1.0, 2.0),
        (-1.0, 0.5),
        (10.0, 1024.0),
        (-1022.0, 2.0**-1022),  # the smallest normal
        (-1074.0, 5e-324),  # the smallest subnormal
        (-1076.0, 0.0),
        (-math.inf, 0.0),
        (1023.0, 2.0**1023),
        (1024.0, math.inf),
        (math.inf, math.inf),
    ],
)
def test_exp2_at_the_edges(y: float, expected: float) -> None:
    assert exp2(y) == expected


def test_exp2_of_nan_is_nan() -> None:
    assert math.isnan(exp2(math.nan))


# -- stress ----------------------------------------------------------------------------


def deterministic(n: int, **overrides: Any) -> DegradationParams:
    """No noise, no wear heating: one step's wear is drift * stress * dt exactly."""
    return DegradationParams.from_scalars(
        n, sigma_per_sqrt_s=0.0, temp_rise_wear_c=0.0, **overrides
    )


def one_step_wear(params: DegradationParams, load: float, ambient_c: float, dt_s: float) -> float:
    h = np.zeros(1)
    signals, failed = outputs(1)
    step(h, [load], ambient_c, 40.0, [0.0], dt_s, params, signals, failed)
    return float(h[0])


@given(
    loads=st.lists(st.floats(0.01, 2.0), min_size=2, max_size=2, unique=True),
    ambient_c=st.floats(-20.0, 50.0),
)
def test_more_load_wears_faster(loads: list[float], ambient_c: float) -> None:
    params = deterministic(1)
    low, high = sorted(loads)
    assert one_step_wear(params, high, ambient_c, 60.0) > one_step_wear(
        params, low, ambient_c, 60.0
    )


@given(ambient_c=st.floats(-20.0, 50.0), load=st.floats(0.01, 2.0))
def test_ten_degrees_hotter_doubles_the_wear_rate(ambient_c: float, load: float) -> None:
    params = deterministic(1)
    base = one_step_wear(params, load, ambient_c, 60.0)
    assert one_step_wear(params, load, ambient_c + 10.0, 60.0) == pytest.approx(2 * base, 1e-12)
    assert one_step_wear(params, load, ambient_c + 1.0, 60.0) > base


@given(stress=st.floats(0.01, 3.0), dt_s=st.floats(1.0, 3600.0), z=st.floats(-5.0, 5.0))
def test_stress_is_a_time_scale(stress: float, dt_s: float, z: float) -> None:
    """At stress s for dt the step is the step at stress 1 for s * dt, noise included."""
    # No load heating and ambient = T_ref, so stress equals load.
    params = DegradationParams.from_scalars(
        2, sigma_per_sqrt_s=1e-3, temp_rise_load_c=0.0, temp_rise_wear_c=0.0
    )
    results = []
    for load, dt in ((stress, dt_s), (1.0, stress * dt_s)):
        h = np.full(2, 0.5)
        signals, failed = outputs(2)
        step(h, [load, load], 40.0, 40.0, [z, -z], dt, params, signals, failed)
        results.append(h)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@pytest.mark.parametrize(
    ("condition", "low", "high"),
    [("load", 0.6, 1.0), ("ambient_c", 20.0, 30.0)],
)
def test_higher_load_or_temperature_means_faster_mean_wear(
    condition: str, low: float, high: float
) -> None:
    """Noisy wear, default parameters, common random numbers for both conditions."""
    machines, ticks, dt_s = (20_000 if JIT else 1_000), 50, 3600.0
    params = DegradationParams.from_scalars(machines)
    means, finals = [], []
    for value in (low, high):
        rng = np.random.default_rng(7)
        inputs = {"load": 1.0, "ambient_c": 20.0, condition: value}
        h = np.zeros(machines)
        signals, failed = outputs(machines)
        load = np.full(machines, inputs["load"])
        for _ in range(ticks):
            z = rng.standard_normal(machines)
            step(h, load, inputs["ambient_c"], 40.0, z, dt_s, params, signals, failed)
        means.append(h.mean())
        finals.append(h)
    difference = finals[1] - finals[0]
    standard_error = difference.std(ddof=1) / math.sqrt(machines)
    assert means[1] - means[0] > 4 * standard_error, (means, standard_error)


# -- lifetimes against theory ---------------------------------------------------------


def first_failure_ticks(
    params: DegradationParams, dt_s: float, seed: int, ambient_c: float = 20.0
) -> np.ndarray:
    """Ticks until each new machine at nominal load first fails (failed ones drop out).

    Machines that failed are removed, so the work is the sum of the lives, not the
    number of machines times the longest life. The parameters must be the same for
    every machine: the survivors use the first rows of the arrays.
    """
    rng = np.random.default_rng(seed)
    arrays = params.arrays()
    h = np.zeros(params.n)
    alive = np.arange(params.n)
    lives = np.zeros(params.n, dtype=np.int64)
    tick = 0
    while alive.size:
        tick += 1
        m = alive.size
        signals, failed = outputs(m)
        z = rng.standard_normal(m)
        advance(h, np.ones(m), ambient_c, 40.0, z, dt_s, *(a[:m] for a in arrays), signals, failed)
        lives[alive[failed]] = tick
        alive, h = alive[~failed], h[~failed]
    return lives


def constant_stress(machines: int, mean_life_ticks: float, dt_s: float, cv: float):
    """New machines at stress exactly 1 (20 °C shop, nominal load, no wear heating)."""
    drift = 1.0 / (mean_life_ticks * dt_s)
    return DegradationParams.from_scalars(
        machines,
        drift_per_s=drift,
        sigma_per_sqrt_s=cv * math.sqrt(drift),
        temp_rise_wear_c=0.0,
    )


MACHINES = 20_000 if JIT else 2_000
MEAN_LIFE_TICKS = 100
DT_S = 60.0


def test_mean_life_is_threshold_over_drift() -> None:
    """With little noise the mean life is the inverse-Gaussian mean threshold / drift.

    The tolerance is four standard errors plus the two known biases, each bounded: the
    clip at 0 (a reflecting barrier) shortens the mean by at most cv**2 / 2 of it, and a
    failure seen only at the end of a tick lengthens it by the mean overshoot, at most
    0.583 sigma sqrt(dt) / drift (Siegmund) plus one tick.
    """
    cv = 0.1
    params = constant_stress(MACHINES, MEAN_LIFE_TICKS, DT_S, cv)
    lives_s = first_failure_ticks(params, DT_S, seed=11) * DT_S
    drift = float(params.drift_per_s[0])
    sigma = float(params.sigma_per_sqrt_s[0])
    theory_s = first_passage_mean_s(drift, threshold=1.0)
    assert theory_s == pytest.approx(MEAN_LIFE_TICKS * DT_S)
    standard_error = lives_s.std(ddof=1) / math.sqrt(lives_s.size)
    reflection_s = cv**2 / 2 * theory_s
    overshoot_s = 0.583 * sigma * math.sqrt(DT_S) / drift + DT_S
    error = lives_s.mean() - theory_s
    assert -4 * standard_error - reflection_s <= error <= 4 * standard_error + overshoot_s
    assert abs(error) < 0.03 * theory_s  # and so within 3% of threshold / drift


@pytest.mark.parametrize("cv", [0.1, LIFE_CV, 0.6])
def test_mean_life_matches_the_reflected_wiener_process(cv: float) -> None:
    """The clipped, ticked process against its theory (reflected at 0, Siegmund-corrected
    for the tick), which is accurate to about half a tick; at cv 0.6 the reflection alone
    shortens the life by 18%, so this checks the diffusion term, not only the drift."""
    params = constant_stress(MACHINES, MEAN_LIFE_TICKS, DT_S, cv)
    lives_s = first_failure_ticks(params, DT_S, seed=12) * DT_S
    theory_s = first_passage_mean_reflected_s(
        float(params.drift_per_s[0]), float(params.sigma_per_sqrt_s[0]), dt_s=DT_S
    )
    standard_error = lives_s.std(ddof=1) / math.sqrt(lives_s.size)
    assert abs(lives_s.mean() - theory_s) <= 4 * standard_error + DT_S / 2


def test_without_noise_the_life_is_a_whole_number_of_ticks() -> None:
    params = constant_stress(3, 99.5, DT_S, cv=0.0)
    np.testing.assert_array_equal(first_failure_ticks(params, DT_S, seed=0), 100)


def test_reflected_theory_reduces_to_the_inverse_gaussian_mean_without_noise() -> None:
    assert first_passage_mean_reflected_s(2e-6, 0.0, threshold=1.5, stress=3.0) == (
        pytest.approx(first_passage_mean_s(2e-6, threshold=1.5, stress=3.0))
    )
    assert first_passage_mean_s(2e-6, 1.5, 3.0) == pytest.approx(1.5 / 6e-6)
    assert first_passage_mean_s(0.0, 1.0) == math.inf
    # Reflected Brownian motion without drift from 0 to a: a**2 / sigma**2.
    assert first_passage_mean_reflected_s(0.0, 0.1, threshold=2.0) == pytest.approx(400.0)
    # Reflection only ever helps the process up, so the mean life is shorter.
    assert first_passage_mean_reflected_s(1e-6, 1e-3) < first_passage_mean_s(1e-6)


# -- defaults --------------------------------------------------------------------------


def test_default_vibration_follows_iso_10816_3_zones() -> None:
    """New at nominal load: zone A/B; at the failure threshold: zone D."""
    params = DegradationParams.from_scalars(2)
    h = np.array([0.0, 1.0])
    signals, failed = outputs(2)
    step(h, np.ones(2), 20.0, 45.0, np.zeros(2), 1.0, params, signals, failed)
    assert ZONE_A_B_LOW <= signals[0, VIBRATION] <= ZONE_B_C
    assert signals[1, VIBRATION] > ZONE_C_D
    np.testing.assert_array_equal(failed, [False, True])


def test_default_life_at_constant_nominal_stress_is_500_hours() -> None:
    params = DegradationParams.from_scalars(1)
    assert first_passage_mean_s(float(params.drift_per_s[0])) == pytest.approx(500 * 3600.0)
    cv = float(params.sigma_per_sqrt_s[0]) / math.sqrt(float(params.drift_per_s[0]))
    assert cv == pytest.approx(LIFE_CV)


def test_default_signals_of_a_new_machine() -> None:
    params = DegradationParams.from_scalars(1)
    h = np.zeros(1)
    signals, failed = outputs(1)
    step(h, [1.0], 20.0, 45.0, [0.0], 0.0, params, signals, failed)
    np.testing.assert_allclose(signals[0], [1.8, 40.0, 6.0, 45.0])


def test_defaults_agree_with_the_plant_config() -> None:
    """One set of defaults: the config's DegradationSpec builds the same parameters."""
    from twin.factory.config import DegradationSpec

    from_config = DegradationParams.for_machines([DegradationSpec()] * 3)
    defaults = DegradationParams.from_scalars(3)
    for ours, theirs in zip(defaults.arrays(), from_config.arrays(), strict=True):
        np.testing.assert_allclose(theirs, ours, rtol=1e-12)


# -- parameters and the wrapper -------------------------------------------------------


def test_from_scalars_broadcasts_and_keeps_per_machine_values() -> None:
    params = DegradationParams.from_scalars(3, threshold=[1.0, 2.0, 4.0], drift_per_s=1e-6)
    assert params.n == 3
    np.testing.assert_array_equal(params.drift_per_s, [1e-6] * 3)
    # The default sigma keeps the life's coefficient of variation whatever the threshold.
    np.testing.assert_allclose(
        params.sigma_per_sqrt_s, LIFE_CV * np.sqrt(1e-6 * np.array([1.0, 2.0, 4.0]))
    )


def test_params_are_a_read_only_copy() -> None:
    drift = np.full(2, 1e-6)
    params = DegradationParams.from_scalars(2, drift_per_s=drift)
    drift[0] = 1.0
    assert params.drift_per_s[0] == 1e-6
    with pytest.raises(ValueError, match="read-only"):
        params.drift_per_s[0] = 1.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"threshold": 0.0}, "threshold must be > 0"),
        ({"drift_per_s": -1e-6}, "drift_per_s must be >= 0"),
        ({"sigma_per_sqrt_s": math.nan}, "sigma_per_sqrt_s must be finite"),
        ({"leak": [0.1, -0.1]}, "leak must be >= 0, got -0.1 for machine 1"),
    ],
)
def test_invalid_params_are_rejected_with_the_field_named(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DegradationParams.from_scalars(2, **overrides)


def test_params_arrays_must_be_one_per_machine() -> None:
    arrays = list(DegradationParams.from_scalars(3).arrays())
    arrays[4] = arrays[4][:2]
    with pytest.raises(ValueError, match="temp_rise_load_c has 2 machines"):
        DegradationParams(*arrays)


@pytest.mark.parametrize(
    ("argument", "bad"),
    [
        ("h", np.zeros(4)),
        ("h", np.zeros(3, dtype=np.float32)),
        ("h", np.zeros(6)[::2]),
        ("load", np.zeros(4)),
        ("z", np.zeros(2)),
        ("signals", np.zeros((3, 3))),
        ("failed", np.zeros(3)),
        ("dt_s", -1.0),
        ("dt_s", math.inf),
    ],
)
def test_step_checks_shapes_before_numba_writes_out_of_bounds(argument: str, bad: Any) -> None:
    arguments: dict[str, Any] = {
        "h": np.zeros(3),
        "load": np.ones(3),
        "z": np.zeros(3),
        "dt_s": 1.0,
        "signals": np.zeros((3, CHANNELS)),
        "failed": np.zeros(3, dtype=np.bool_),
    }
    arguments[argument] = bad
    a = arguments
    params = DegradationParams.from_scalars(3)
    with pytest.raises(ValueError, match="must"):
        step(a["h"], a["load"], 20.0, 45.0, a["z"], a["dt_s"], params, a["signals"], a["failed"])


def test_a_zero_tick_refreshes_the_signals_without_wear() -> None:
    params = DegradationParams.from_scalars(2)
    h = np.array([0.2, 0.9])
    signals, failed = outputs(2)
    step(h, [1.0, 0.5], 20.0, 45.0, [3.0, -3.0], 0.0, params, signals, failed)
    np.testing.assert_array_equal(h, [0.2, 0.9])
    assert not np.isnan(signals).any()
