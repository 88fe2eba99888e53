"""The sensor pipeline's per-sample arithmetic, in compiled code.

A sample of a few dozen channels is a dozen numpy calls of well under a microsecond of
arithmetic each: what it costs is the calls. A traffic city takes a thousand samples an
hour against a bare hour of well under a second, so these few loops are a tenth of its
run (docs/BENCHMARKS.md, issue 19). Each kernel does what
:mod:`twin.core.sensors` documents, element by element in the same IEEE operations and
the same order, so every value is what the array expressions give, bit for bit
(``tests/core/test_sensor_kernels.py`` holds them to numpy references). Random numbers
come from the named streams: numpy's draws, made from the stream's raw words in compiled
code (:mod:`twin.core.raw_draws`).

Samples a feed takes ahead of the clock (:attr:`twin.core.sensors.SensorFeed.sample_ahead`)
go through :func:`sample_rows`, :func:`delays_into` and :func:`deliver_rows` together:
a batch of samples costs three calls instead of a dozen per sample.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from twin.core.raw_draws import OUT_OF_WORDS, WordArray, draw_normals_uniforms

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


@numba.njit(cache=True)
def sample_rows(
    true: FloatArray,
    times: FloatArray,
    first: int,
    words: WordArray,
    pos: int,
    bias: float,
    drift_per_s: float,
    start_s: float,
    noise_std: float,
    quantum: float,
    dropout_prob: float,
    noise: FloatArray,
    uniform: FloatArray,
    measured: FloatArray,
    taken: CountArray,
    dropped: CountArray,
    sent: CountArray,
    sent_channels: IndexArray,
    n_sent: IndexArray,
) -> tuple[int, int]:
    """Samples ``first``, ``first + 1``, ... of a batch: row ``r`` of ``true`` measured at
    ``times[r]`` into ``measured[r]`` (draws from ``words[pos:]``, then
    :func:`measure_into`), then booked (:func:`book_sample`: the sent channels at the
    front of ``sent_channels[r]``, ``n_sent[r]`` of them). Returns (samples done,
    position in ``words``): fewer than all when the words ran out before a sample's
    draws did; that sample and the later ones are untouched."""
    for r in range(first, true.shape[0]):
        n = true.shape[1]
        end = draw_normals_uniforms(words, pos, n, noise, uniform)
        if end == OUT_OF_WORDS:
            return r, pos
        pos = end
        offset = bias + drift_per_s * (times[r] - start_s)
        measure_into(true[r], noise, uniform, offset, noise_std, quantum, dropout_prob, measured[r])
        n_sent[r] = book_sample(measured[r], taken, dropped, sent, sent_channels[r])
    return true.shape[0], pos


@numba.njit(cache=True)
def delays_into(
    times: FloatArray,
    tails: FloatArray,
    latency_mean_s: float,
    latency_jitter_s: float,
    last_arrival_s: float,
    delays: FloatArray,
) -> float:
    """Each sample's transmission delay into ``delays``: ``mean - jitter + jitter *
    tails[r]`` (``tails``: standard exponentials), :func:`kept_behind` the previous
    message's arrival. Returns the last arrival, ``times[-1] + delays[-1]``. The same
    float operations as :meth:`twin.core.sensors.SensorFeed._delay_s`."""
    for r in range(times.shape[0]):
        now_s = times[r]
        delay_s = latency_mean_s - latency_jitter_s + latency_jitter_s * tails[r]
        delay_s = kept_behind(now_s, delay_s, last_arrival_s)
        last_arrival_s = now_s + delay_s
        delays[r] = delay_s
    return last_arrival_s


@numba.njit(cache=True)
def kept_behind(now_s: float, delay_s: float, last_arrival_s: float) -> float:
    """``delay_s``, or the delay that makes a message sent at ``now_s`` arrive no earlier
    than the previous one (``last_arrival_s``): ordered transport. SimPy schedules at
    ``now + delay``, so the delay is nudged up by ulps until that float is not early: a
    tie keeps first-in first-out by event id instead of overtaking by one ulp."""
    if now_s + delay_s < last_arrival_s:
        delay_s = last_arrival_s - now_s
        while now_s + delay_s < last_arrival_s:
            delay_s = np.nextafter(delay_s, math.inf)
    return delay_s


@numba.njit(cache=True)
def deliver_rows(
    times: FloatArray,
    delays: FloatArray,
    unread_until_s: float,
    measured: FloatArray,
    sent_channels: IndexArray,
    n_sent: IndexArray,
    values: FloatArray,
    shown_measured_at_s: FloatArray,
    delivered_at_s: FloatArray,
    delivered: CountArray,
    stale: CountArray,
) -> int:
    """Delivers each sample's sent readings, in order, at ``times[r] + delays[r]``, while
    that is before ``unread_until_s``; returns the first sample not delivered (its
    message and the later ones wait for events), or the number of samples. A reading
    older than the one its channel shows is counted stale, as
    :meth:`twin.core.sensors.ReadingBoard.deliver` counts it."""
    for r in range(times.shape[0]):
        if n_sent[r] == 0:
            continue  # nothing sent: no message
        measured_at_s = times[r]
        arrival_s = measured_at_s + delays[r]
        if not arrival_s < unread_until_s:
            return r
        for k in range(n_sent[r]):
            c = sent_channels[r, k]
            if shown_measured_at_s[c] > measured_at_s:
                stale[c] += 1
                continue
            values[c] = measured[r, c]
            shown_measured_at_s[c] = measured_at_s
            delivered_at_s[c] = arrival_s
            delivered[c] += 1
    return len(times)
