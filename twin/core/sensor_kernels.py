"""The sensor pipeline's per-sample arithmetic, in compiled code.

A sample of a few dozen channels is a dozen numpy calls of well under a microsecond of
arithmetic each: what it costs is the calls. A traffic city takes a thousand samples an
hour against a bare hour of well under a second, so these few loops are a tenth of its
run (docs/BENCHMARKS.md, issue 19). Each kernel does what
:mod:`twin.core.sensors` documents, element by element in the same IEEE operations and
the same order, so every value is what the array expressions give, bit for bit
(``tests/core/test_sensor_kernels.py`` holds them to numpy references). Random numbers are
drawn outside, by numpy, from the named streams.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
CountArray = npt.NDArray[np.int64]


@numba.njit(cache=True)
def measure_into(
    true: FloatArray,
    noise: FloatArray,
    uniform: FloatArray,
    offset: float,
    noise_std: float,
    quantum: float,
    dropout_prob: float,
    out: FloatArray,
) -> None:
    """``out`` = ``round((true + offset + noise_std * noise) / quantum) * quantum``, NaN
    where ``uniform < dropout_prob``; no noise term when ``noise_std`` is 0 (adding a
    zero would turn -0.0 into 0.0), no rounding when ``quantum`` is 0."""
    for i in range(true.shape[0]):
        x = true[i] + offset
        if noise_std > 0.0:
            x = x + noise_std * noise[i]
        if quantum > 0.0:
            x = np.rint(x / quantum) * quantum
        if uniform[i] < dropout_prob:
            x = np.nan
        out[i] = x


@numba.njit(cache=True)
def book_sample(
    values: FloatArray,
    taken: CountArray,
    dropped: CountArray,
    sent: CountArray,
    channels: IndexArray,
) -> int:
    """Counts one sample of every channel as taken, and as dropped (NaN) or sent; writes
    the sent channels' indices, ascending, to the front of ``channels`` and returns how
    many there are."""
    n = 0
    for i in range(values.shape[0]):
        taken[i] += 1
        if np.isnan(values[i]):
            dropped[i] += 1
        else:
            sent[i] += 1
            channels[n] = i
            n += 1
    return n


@numba.njit(cache=True)
def deliver_fresh(
    now_s: float,
    measured_at_s: float,
    channels: IndexArray,
    readings: FloatArray,
    values: FloatArray,
    shown_measured_at_s: FloatArray,
    delivered_at_s: FloatArray,
    delivered: CountArray,
) -> bool:
    """Shows ``readings`` on ``channels`` if none of them is stale (its channel shows a
    reading measured later) and every index is in range; returns whether it did.
    Changes nothing otherwise (the caller's numpy path then books the stale ones, or
    raises numpy's IndexError rather than this loop writing out of bounds)."""
    n = values.shape[0]
    for k in range(channels.shape[0]):
        c = channels[k]
        if c < 0 or c >= n or shown_measured_at_s[c] > measured_at_s:
            return False
    for k in range(channels.shape[0]):
        c = channels[k]
        values[c] = readings[k]
        shown_measured_at_s[c] = measured_at_s
        delivered_at_s[c] = now_s
        delivered[c] += 1
    return True
