"""Machine wear and true sensor signals, for every machine at once, in one Numba pass.

Model
-----
Each machine ``i`` has a degradation level ``h[i]`` (0 = as new); it fails on the first
tick where ``h[i] >= threshold[i]``. Degradation is a Wiener process with drift, the
standard data-driven degradation model (Whitmore 1995, "Estimating degradation by a
Wiener diffusion process subject to measurement error", *Lifetime Data Analysis*
1:307-319; Si, Wang, Hu & Zhou 2011, "Remaining useful life estimation - a review on the
statistical data driven approaches", *EJOR* 213:1-14), whose rate grows with stress::

    T_op  = ambient_c + load * temp_rise_load_c + h * temp_rise_wear_c
    s     = load * 2 ** ((T_op - temp_ref_c) / 10)
    dh    = drift_per_s * s * dt + sigma_per_sqrt_s * sqrt(s * dt) * z,   z ~ N(0, 1)
    h'    = max(h + dh, 0)
    failed = h' >= threshold

``load`` is the share of the tick the machine worked (0 = idle or stopped, 1 = nominal,
above 1 = overload); a negative load counts as 0. Stress doubles per +10 °C: the
10-degree rule of thumb usually credited to Montsinger (1930, "Loading transformers by
temperature", *Trans. AIEE* 49), who measured a doubling of insulation ageing per about
8 °C; 10 °C is the rounded generic rule. Stress is the *time-scale* of wear (the
Wiener process runs on the clock ``∫ s dt``), so drift and variance both scale with it,
and a machine with ``s = 0`` does not wear at all.

Order within one tick, per machine: stress from the *pre-update* ``h`` (the machine's
state during the tick), then the update of ``h``, then the sensor signals from the
*post-update* ``h`` (what a sensor sampled at the end of the tick sees). Because the
operating temperature rises with wear, a worn machine runs hotter and wears faster.

True sensor signals, written to ``signals_out[i, k]`` in the order of
:data:`SENSOR_CHANNELS`:

- vibration RMS velocity, mm/s: ``vib_base * (0.3 + 0.7 * load) + vib_wear * h**2``;
- temperature, °C: ``T_op`` with the post-update ``h``;
- pressure, bar: ``pressure_nominal * max(1 - leak * h, 0)`` while running, else 0;
- humidity, %: the ambient humidity (environmental, the same for every machine).

Noise, bias, drift, quantisation and dropout are not here: the caller passes these true
values through :class:`twin.core.sensors.SensorModel`. Random normals are drawn by the
caller from a named stream, never inside a kernel, so runs stay reproducible and every
policy arm sees the same wear.

Lifetimes
---------
Unclipped and at constant stress ``s``, the first-passage time is inverse Gaussian with
mean ``threshold / (drift * s)`` (:func:`first_passage_mean_s`) and squared coefficient
of variation ``sigma**2 / (drift * threshold)``. The clip at 0 makes the process
reflected at 0, which shortens the mean by up to ``sigma**2 / (2 drift**2 s)``
(:func:`first_passage_mean_reflected_s`, which also corrects for the tick): 4.5% (480 h
instead of 500 h) with the defaults. Wear heating shortens lives much more, because
stress grows as the machine wears (15 K at the threshold = 2.8x stress): with every
default, a new machine at nominal load has a mean life of about 305 h in a 20 °C shop
and 265 h at 22 °C (simulated, 20,000 machines, 600 s ticks). The nominal 500 h is the
life at *constant* nominal stress, not the plant's MTBF.

Defaults (per machine; sources in docs/PARAMETERS.md)
-----------------------------------------------------
- ``threshold`` 1.0: the degradation scale (1 = worn out).
- ``drift_per_s`` 1 / 1.8e6: mean life 500 h at constant nominal stress. Modelling
  choice (not fitted to data), meant to be of the order of field MTBFs of machine
  tools (hundreds of hours).
- ``sigma_per_sqrt_s`` ``LIFE_CV * sqrt(drift_per_s * threshold)`` = 2.236e-4 with
  ``LIFE_CV`` 0.3, so the life at constant stress has a coefficient of variation of 0.3.
  Modelling choice (the same as ``DegradationSpec.volatility``).
- ``temp_ref_c`` 40, ``temp_rise_load_c`` 20: a new machine at nominal load in a 20 °C
  shop (ISO 1 reference temperature) runs at 40 °C, where stress is exactly ``load``.
  ``temp_rise_wear_c`` 15: a worn-out machine runs 15 K hotter (friction). Modelling
  choices (the same as ``DegradationSpec``).
- ``vib_base_mm_s`` 1.8, ``vib_wear_mm_s`` 6.0: 1.8 mm/s new at nominal load (ISO 10816-3
  zone A/B) and 7.8 mm/s at the threshold (zone D), see :data:`VIB_BASE_MM_S`.
- ``pressure_nominal_bar`` 6.0 (a usual shop compressed-air pressure), ``leak`` 0.2 (20%
  pressure loss at the threshold). Modelling choices.

Performance
-----------
:func:`advance` reads 13 float64 values and writes 4 float64 signals, the new level and
one bool per machine (145 bytes) in one pass, with no temporaries. LLVM vectorises the
loop (4 machines per 256-bit step) because nothing in it stops that: the signals are
stored at a constant stride (a 2-D ``signals_out[i, k]`` has a run-time row stride,
which kept the loop scalar), the clips are selects, and the temperature factor
``2 ** (dT / 10)`` is :func:`exp2`, plain arithmetic instead of a call to libm's
``exp`` (Numba >= 0.62 has no Intel SVML, so a libm call stays scalar in a vector
loop). With both, the kernel runs at about the speed of a STREAM triad moving the same
bytes: memory-bound. No ``fastmath``: FMA contraction would make results depend on the
CPU, and reassociation would change them between scalar and vector code; as written,
the vectorised kernel and plain Python (``NUMBA_DISABLE_JIT=1``) give the same bits.
``benchmarks/degradation_kernel.py`` compares the kernel with a STREAM triad and with
:func:`advance_reference`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import numpy.typing as npt
from numba import types
from numba.extending import intrinsic, overload

from twin.core.units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    from twin.factory.config import DegradationSpec

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SENSOR_CHANNELS = ("vibration_rms_mm_s", "temperature_c", "pressure_bar", "humidity_pct")
"""The columns of ``signals_out``, in order."""
_CHANNELS = len(SENSOR_CHANNELS)

VIB_IDLE_SHARE = 0.3
"""Share of the base vibration an idle (running, unloaded) machine shows. Modelling choice."""
VIB_LOAD_SHARE = 0.7
"""Share of the base vibration that grows with load (1 - VIB_IDLE_SHARE, as a literal)."""

DEFAULT_THRESHOLD = 1.0
DEFAULT_MTBF_S = 1.8e6
"""500 h: mean life at constant nominal stress (see the module docstring)."""
DEFAULT_DRIFT_PER_S = DEFAULT_THRESHOLD / DEFAULT_MTBF_S
LIFE_CV = 0.3
"""Coefficient of variation of the life at constant stress that the default sigma gives."""
DEFAULT_TEMP_REF_C = 40.0
DEFAULT_TEMP_RISE_LOAD_C = 20.0
DEFAULT_TEMP_RISE_WEAR_C = 15.0
# ISO 10816-3:2009 (now ISO 20816-3:2022), Annex A, r.m.s. velocity 10-1000 Hz on the
# bearing housings. Zone boundaries A/B, B/C, C/D: group 2 (15-300 kW) rigid 1.4, 2.8,
# 4.5 mm/s, flexible 2.3, 4.5, 7.1; group 1 (300 kW-50 MW) rigid 2.3, 4.5, 7.1. A new
# machine at 1.8 mm/s is in zone A or low zone B; at the threshold 7.8 mm/s is zone D
# for all of these (only a large machine on a flexible foundation, C/D 11, is in C).
VIB_BASE_MM_S = 1.8
VIB_WEAR_MM_S = 6.0
DEFAULT_PRESSURE_NOMINAL_BAR = 6.0
DEFAULT_LEAK = 0.2

# -Zeta(1/2) / sqrt(2 pi): the mean overshoot of a Gaussian random walk over a barrier in
# units of its step's standard deviation (Siegmund 1979, "Corrected diffusion
# approximations in certain random walk problems", Adv. Appl. Prob. 11:701-719; Broadie,
# Glasserman & Kou 1997, "A continuity correction for discrete barrier options", Math.
# Finance 7:325-349).
SIEGMUND_RHO = 0.5825971579390106


# -- 2 ** y in plain arithmetic, so that it vectorises ---------------------------------

_ROUND_TO_INTEGER = 1.5 * 2.0**52
"""``(y + this) - this`` rounds ``|y| < 2**51`` to the nearest integer (ties to even)."""
_EXP2_TAYLOR = tuple(math.log(2.0) ** k / math.factorial(k) for k in range(14))
"""Taylor coefficients of ``2 ** f = exp(f ln 2)``; to degree 13 the truncation error is
below ``0.347**14 / 14! = 4e-18`` relative for ``|f| <= 1/2``, under 1/25 of an ulp."""


def _power_of_two(k: int) -> float:
    """``2.0 ** k`` for an integer ``-1022 <= k <= 1023``: exact."""
    return math.ldexp(1.0, k)


@intrinsic
def _float64_from_bits(typingctx: Any, bits: types.Integer) -> tuple[Any, Any]:
    """The float64 whose IEEE 754 bit pattern is the int64 ``bits`` (a bit cast)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Sequence[Any]) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@overload(_power_of_two, inline="always")
def _power_of_two_jit(k):  # type: ignore[no-untyped-def]
    # In compiled code, build 2**k from its exponent bits: ldexp is a libm call that
    # LLVM cannot vectorise. Python (NUMBA_DISABLE_JIT) keeps ldexp; same value. The two
    # signatures stay unannotated: Numba requires them to match, annotations included,
    # and ``k`` is a Numba type in one and an int in the other.
    def implementation(k):  # type: ignore[no-untyped-def]
        return _float64_from_bits((k + 1023) << 52)

    return implementation


@numba.njit(cache=True, inline="always")
def exp2(y: float) -> float:
    """``2.0 ** y`` within 1 ulp of the correctly rounded value, in arithmetic LLVM vectorises.

    ``2 ** y = 2 ** k * 2 ** f`` with ``k`` the integer nearest ``y`` and ``|f| <= 1/2``;
    ``2 ** f`` is its Taylor series to degree 13 by Horner's rule, ``2 ** k`` is exact
    (applied as two halves, so that results below 2**-1022 round once to a subnormal
    and 2**1024 overflows to inf). NaN gives NaN, +inf gives inf, below -1075 gives 0.
    The same operations in the same order in compiled and plain Python, no ``fastmath``:
    bit-for-bit reproducible, unlike libm's ``exp``, which varies between libm versions.
    """
    if y < -1100.0:  # 2**-1100 is 0 in float64; the clamp keeps NaN
        y = -1100.0
    nearest = y if y < 1100.0 else 1100.0  # NaN and +inf take a finite k; f carries them
    k = (nearest + _ROUND_TO_INTEGER) - _ROUND_TO_INTEGER
    f = y - k  # exact
    c = _EXP2_TAYLOR
    p = c[13]
    p = p * f + c[12]
    p = p * f + c[11]
    p = p * f + c[10]
    p = p * f + c[9]
    p = p * f + c[8]
    p = p * f + c[7]
    p = p * f + c[6]
    p = p * f + c[5]
    p = p * f + c[4]
    p = p * f + c[3]
    p = p * f + c[2]
    p = p * f + c[1]
    p = p * f + c[0]
    k_int = int(k)
    half = k_int >> 1
    return p * _power_of_two(half) * _power_of_two(k_int - half)


# -- the kernel -------------------------------------------------------------------------


@numba.njit(cache=True)
def advance(
    h: FloatArray,
    load: FloatArray,
    ambient_c: float,
    ambient_humidity_pct: float,
    z: FloatArray,
    dt_s: float,
    drift_per_s: FloatArray,
    sigma_per_sqrt_s: FloatArray,
    threshold: FloatArray,
    temp_ref_c: FloatArray,
    temp_rise_load_c: FloatArray,
    temp_rise_wear_c: FloatArray,
    vib_base_mm_s: FloatArray,
    vib_wear_mm_s: FloatArray,
    pressure_nominal_bar: FloatArray,
    leak: FloatArray,
    signals_out: FloatArray,
    failed_out: BoolArray,
) -> None:
    """Advance every machine's degradation by ``dt_s`` and synthesise its true signals.

    Updates ``h`` in place and overwrites ``signals_out`` (shape ``(n, 4)``) and
    ``failed_out`` (``h >= threshold`` after the update: a level, not an edge). Every
    array must have ``n = len(h)`` rows: Numba does not check bounds, so call it through
    :func:`step` unless the shapes are known to be right. NaN inputs give NaN outputs.
    """
    # The loop body has no early exit and no call LLVM cannot vectorise (exp2, not libm's
    # exp), and the signals are stored through a flat view at the constant stride
    # _CHANNELS: as ``signals_out[i, k]`` the row stride is a run-time value and LLVM
    # cannot vectorise the loop ("cannot identify array bounds"); as flat[4 * i + k] it can.
    flat = signals_out.reshape(-1)
    for i in range(h.shape[0]):
        running = load[i]
        if running < 0.0:  # written so that NaN passes through and shows up downstream
            running = 0.0
        heated_c = ambient_c + running * temp_rise_load_c[i]
        wear_heat_c = temp_rise_wear_c[i]
        temp_before_c = heated_c + h[i] * wear_heat_c
        stress = running * exp2((temp_before_c - temp_ref_c[i]) / 10.0)
        wear_time_s = stress * dt_s  # the Wiener process runs on the stress-scaled clock
        step_ = drift_per_s[i] * wear_time_s + sigma_per_sqrt_s[i] * math.sqrt(wear_time_s) * z[i]
        level = h[i] + step_
        if level < 0.0:
            level = 0.0
        h[i] = level
        failed_out[i] = level >= threshold[i]
        vibration = vib_base_mm_s[i] * (VIB_IDLE_SHARE + VIB_LOAD_SHARE * running)
        pressure = pressure_nominal_bar[i] * (1.0 - leak[i] * level)
        if pressure < 0.0:
            pressure = 0.0
        if not running > 0.0:  # stopped (or NaN load): no pressure
            pressure = 0.0
        row = _CHANNELS * i
        flat[row] = vibration + vib_wear_mm_s[i] * (level * level)
        flat[row + 1] = heated_c + level * wear_heat_c
        flat[row + 2] = pressure
        flat[row + 3] = ambient_humidity_pct


def advance_reference(
    h: FloatArray,
    load: FloatArray,
    ambient_c: float,
    ambient_humidity_pct: float,
    z: FloatArray,
    dt_s: float,
    drift_per_s: FloatArray,
    sigma_per_sqrt_s: FloatArray,
    threshold: FloatArray,
    temp_ref_c: FloatArray,
    temp_rise_load_c: FloatArray,
    temp_rise_wear_c: FloatArray,
    vib_base_mm_s: FloatArray,
    vib_wear_mm_s: FloatArray,
    pressure_nominal_bar: FloatArray,
    leak: FloatArray,
    signals_out: FloatArray,
    failed_out: BoolArray,
) -> None:
    """:func:`advance` written as the model reads, in plain Python: the test oracle.

    Python raises ``OverflowError`` where the kernel's IEEE arithmetic gives inf; that
    takes a machine run far past its threshold under heavy stress, outside the model.
    """

    def operating_temp_c(load_i: float, h_i: float, i: int) -> float:
        return ambient_c + load_i * float(temp_rise_load_c[i]) + h_i * float(temp_rise_wear_c[i])

    for i in range(len(h)):
        load_i = float(load[i])
        if load_i < 0.0:  # stopped; NaN is kept, as in the kernel
            load_i = 0.0
        h_before = float(h[i])
        temp_before_c = operating_temp_c(load_i, h_before, i)
        stress = load_i * 2.0 ** ((temp_before_c - float(temp_ref_c[i])) / 10.0)
        drift = float(drift_per_s[i]) * stress * dt_s
        diffusion = float(sigma_per_sqrt_s[i]) * math.sqrt(stress * dt_s) * float(z[i])
        dh = drift + diffusion
        h_after = h_before + dh
        if h_after < 0.0:
            h_after = 0.0
        h[i] = h_after
        failed_out[i] = h_after >= threshold[i]
        signals_out[i, 0] = (
            float(vib_base_mm_s[i]) * (VIB_IDLE_SHARE + VIB_LOAD_SHARE * load_i)
            + float(vib_wear_mm_s[i]) * h_after**2
        )
        signals_out[i, 1] = operating_temp_c(load_i, h_after, i)
        signals_out[i, 2] = (
            float(pressure_nominal_bar[i]) * max(1.0 - float(leak[i]) * h_after, 0.0)
            if load_i > 0.0
            else 0.0
        )
        signals_out[i, 3] = ambient_humidity_pct


# -- parameters -------------------------------------------------------------------------

# Lower bounds of each parameter: (bound, strict). temp_ref_c may be any finite value.
_LOWER_BOUNDS: dict[str, tuple[float, bool]] = {
    "drift_per_s": (0.0, False),
    "sigma_per_sqrt_s": (0.0, False),
    "threshold": (0.0, True),
    "temp_rise_load_c": (0.0, False),
    "temp_rise_wear_c": (0.0, False),
    "vib_base_mm_s": (0.0, False),
    "vib_wear_mm_s": (0.0, False),
    "pressure_nominal_bar": (0.0, False),
    "leak": (0.0, False),
}


@dataclass(frozen=True, eq=False)
class DegradationParams:
    """Per-machine parameters of the wear and signal model: read-only float64 arrays.

    The fields are in the order :func:`advance` takes them. Arrays are copied on
    construction and made read-only, so a params object never changes under a run.

    Attributes:
        drift_per_s: mean wear per second at stress 1 (threshold units per s).
        sigma_per_sqrt_s: diffusion of the wear at stress 1 (threshold units per sqrt(s)).
        threshold: degradation level at which the machine fails.
        temp_ref_c: operating temperature at which stress equals load, °C.
        temp_rise_load_c: operating temperature rise at nominal load, K.
        temp_rise_wear_c: extra temperature rise at degradation 1, K.
        vib_base_mm_s: vibration RMS velocity of a new machine at nominal load, mm/s.
        vib_wear_mm_s: extra vibration at degradation 1 (grows with its square), mm/s.
        pressure_nominal_bar: pressure of a new machine while running, bar.
        leak: share of the pressure lost per unit of degradation.
    """

    drift_per_s: FloatArray
    sigma_per_sqrt_s: FloatArray
    threshold: FloatArray
    temp_ref_c: FloatArray
    temp_rise_load_c: FloatArray
    temp_rise_wear_c: FloatArray
    vib_base_mm_s: FloatArray
    vib_wear_mm_s: FloatArray
    pressure_nominal_bar: FloatArray
    leak: FloatArray

    def __post_init__(self) -> None:
        n: int | None = None
        for field in fields(self):
            name = field.name
            array = np.array(getattr(self, name), dtype=np.float64)  # a private copy
            if array.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
            if n is None:
                n = array.shape[0]
            elif array.shape[0] != n:
                raise ValueError(f"{name} has {array.shape[0]} machines, drift_per_s has {n}")
            if not np.isfinite(array).all():
                raise ValueError(f"{name} must be finite")
            if name in _LOWER_BOUNDS:
                bound, strict = _LOWER_BOUNDS[name]
                bad = array <= bound if strict else array < bound
                if bad.any():
                    relation = ">" if strict else ">="
                    raise ValueError(
                        f"{name} must be {relation} {bound:g}, got {array[bad][0]} for machine "
                        f"{int(np.flatnonzero(bad)[0])}"
                    )
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @property
    def n(self) -> int:
        """Number of machines."""
        return int(self.drift_per_s.shape[0])

    def arrays(self) -> tuple[FloatArray, ...]:
        """The ten arrays in the order :func:`advance` takes them."""
        return (
            self.drift_per_s,
            self.sigma_per_sqrt_s,
            self.threshold,
            self.temp_ref_c,
            self.temp_rise_load_c,
            self.temp_rise_wear_c,
            self.vib_base_mm_s,
            self.vib_wear_mm_s,
            self.pressure_nominal_bar,
            self.leak,
        )

    @classmethod
    def from_scalars(
        cls,
        n: int,
        *,
        drift_per_s: npt.ArrayLike = DEFAULT_DRIFT_PER_S,
        sigma_per_sqrt_s: npt.ArrayLike | None = None,
        threshold: npt.ArrayLike = DEFAULT_THRESHOLD,
        temp_ref_c: npt.ArrayLike = DEFAULT_TEMP_REF_C,
        temp_rise_load_c: npt.ArrayLike = DEFAULT_TEMP_RISE_LOAD_C,
        temp_rise_wear_c: npt.ArrayLike = DEFAULT_TEMP_RISE_WEAR_C,
        vib_base_mm_s: npt.ArrayLike = VIB_BASE_MM_S,
        vib_wear_mm_s: npt.ArrayLike = VIB_WEAR_MM_S,
        pressure_nominal_bar: npt.ArrayLike = DEFAULT_PRESSURE_NOMINAL_BAR,
        leak: npt.ArrayLike = DEFAULT_LEAK,
    ) -> DegradationParams:
        """Parameters for ``n`` machines, each value broadcast to all of them.

        ``sigma_per_sqrt_s`` defaults to ``LIFE_CV * sqrt(drift_per_s * threshold)``, so
        the life at constant stress keeps a coefficient of variation of ``LIFE_CV``
        whatever drift and threshold are chosen.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")

        def per_machine(value: npt.ArrayLike) -> FloatArray:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))

        drift = per_machine(drift_per_s)
        limit = per_machine(threshold)
        sigma = (
            LIFE_CV * np.sqrt(np.maximum(drift, 0.0) * np.maximum(limit, 0.0))
            if sigma_per_sqrt_s is None
            else per_machine(sigma_per_sqrt_s)
        )
        return cls(
            drift,
            sigma,
            limit,
            per_machine(temp_ref_c),
            per_machine(temp_rise_load_c),
            per_machine(temp_rise_wear_c),
            per_machine(vib_base_mm_s),
            per_machine(vib_wear_mm_s),
            per_machine(pressure_nominal_bar),
            per_machine(leak),
        )

    @classmethod
    def for_machines(cls, specs: Sequence[DegradationSpec]) -> DegradationParams:
        """Parameters for one machine per config spec (threshold 1, signal defaults).

        ``volatility`` is the coefficient of variation of the life at constant stress,
        so ``sigma = volatility * sqrt(drift)`` at threshold 1.
        """
        drift = np.array([spec.drift_per_h for spec in specs], dtype=np.float64)
        drift /= SECONDS_PER_HOUR
        volatility = np.array([spec.volatility for spec in specs], dtype=np.float64)
        return cls.from_scalars(
            len(specs),
            drift_per_s=drift,
            sigma_per_sqrt_s=volatility * np.sqrt(drift * DEFAULT_THRESHOLD),
            threshold=DEFAULT_THRESHOLD,
            temp_ref_c=[spec.temp_ref_c for spec in specs],
            temp_rise_load_c=[spec.temp_rise_load_c for spec in specs],
            temp_rise_wear_c=[spec.temp_rise_wear_c for spec in specs],
        )


# -- the wrapper the plant calls --------------------------------------------------------


def _check_array(
    name: str, array: npt.NDArray[np.generic], shape: tuple[int, ...], dtype: type
) -> None:
    """Raise unless ``array`` can be written in place by the kernel."""
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != shape:
        got = (array.dtype, array.shape) if isinstance(array, np.ndarray) else type(array)
        raise ValueError(f"{name} must be a {np.dtype(dtype)} array of shape {shape}, got {got}")
    if not (array.flags.c_contiguous and array.flags.writeable):
        raise ValueError(f"{name} must be C-contiguous and writeable (it is updated in place)")


def step(
    h: FloatArray,
    load: npt.ArrayLike,
    ambient_c: float,
    ambient_humidity_pct: float,
    z: npt.ArrayLike,
    dt_s: float,
    params: DegradationParams,
    signals_out: FloatArray,
    failed_out: BoolArray,
) -> None:
    """Check shapes, then run :func:`advance` on ``params``'s arrays.

    Args:
        h: degradation levels, float64 ``(n,)``, updated in place.
        load: share of the tick each machine worked, ``(n,)`` (>= 0; 1 = nominal).
        ambient_c: shop-floor temperature, °C.
        ambient_humidity_pct: shop-floor relative humidity, %.
        z: standard normal draws, ``(n,)``, one per machine, drawn from a named stream.
        dt_s: the tick, s (>= 0; 0 only refreshes the signals).
        params: per-machine parameters for the same ``n`` machines.
        signals_out: float64 ``(n, len(SENSOR_CHANNELS))``, overwritten.
        failed_out: bool ``(n,)``, overwritten with ``h >= threshold``.
    """
    n = params.n
    _check_array("h", h, (n,), np.float64)
    _check_array("signals_out", signals_out, (n, len(SENSOR_CHANNELS)), np.float64)
    _check_array("failed_out", failed_out, (n,), np.bool_)
    load_array = np.ascontiguousarray(load, dtype=np.float64)
    z_array = np.ascontiguousarray(z, dtype=np.float64)
    if load_array.shape != (n,) or z_array.shape != (n,):
        raise ValueError(
            f"load and z must have shape ({n},), got {load_array.shape} and {z_array.shape}"
        )
    if not dt_s >= 0.0 or math.isinf(dt_s):
        raise ValueError(f"dt_s must be finite and >= 0, got {dt_s}")
    advance(
        h,
        load_array,
        float(ambient_c),
        float(ambient_humidity_pct),
        z_array,
        float(dt_s),
        params.drift_per_s,
        params.sigma_per_sqrt_s,
        params.threshold,
        params.temp_ref_c,
        params.temp_rise_load_c,
        params.temp_rise_wear_c,
        params.vib_base_mm_s,
        params.vib_wear_mm_s,
        params.pressure_nominal_bar,
        params.leak,
        signals_out,
        failed_out,
    )


# -- theory, for tests and documentation ----------------------------------------------


def first_passage_mean_s(
    drift_per_s: float, threshold: float = DEFAULT_THRESHOLD, stress: float = 1.0
) -> float:
    """Mean life at constant stress without the clip at 0: the inverse-Gaussian mean.

    ``threshold / (drift * stress)``; infinite when there is no drift.
    """
    rate = drift_per_s * stress
    return threshold / rate if rate > 0.0 else math.inf


def first_passage_mean_reflected_s(
    drift_per_s: float,
    sigma_per_sqrt_s: float,
    threshold: float = DEFAULT_THRESHOLD,
    stress: float = 1.0,
    dt_s: float = 0.0,
) -> float:
    """Mean life at constant stress of the clipped process the kernel simulates.

    The clip at 0 makes a Wiener process reflected at 0 (Skorokhod); started at 0 and
    absorbed at ``a``, with drift ``v`` and variance rate ``D``, its mean first-passage
    time solves ``D/2 T'' + v T' = -1, T'(0) = 0, T(a) = 0`` (Cox & Miller, *The Theory
    of Stochastic Processes*, 1965, ch. 5)::

        T(x) = (a - x) / v - D / (2 v**2) * (exp(-2 v x / D) - exp(-2 v a / D))

    With ``dt_s > 0``, Siegmund's corrected diffusion approximation accounts for a
    process observed once a tick: both barriers move outward by ``SIEGMUND_RHO *
    sqrt(D * dt_s)`` (the mean overshoot of a Gaussian step); what remains is within
    about half a tick.
    """
    drift = drift_per_s * stress
    variance = sigma_per_sqrt_s**2 * stress
    shift = SIEGMUND_RHO * math.sqrt(variance * dt_s)
    span = threshold + 2.0 * shift
    start = shift
    if variance == 0.0:
        return first_passage_mean_s(drift_per_s, threshold, stress)
    if drift == 0.0:
        return (span * span - start * start) / variance  # reflected Brownian motion
    k = 2.0 * drift / variance
    # expm1 keeps the difference of two exponentials accurate when both are near 1.
    reflected = (math.expm1(-k * start) - math.expm1(-k * span)) / (k * drift)
    return (span - start) / drift - reflected
