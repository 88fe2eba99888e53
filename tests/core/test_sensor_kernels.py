"""The sensor kernels give what the array expressions they replace give, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import simpy
from hypothesis import example, given
from hypothesis import strategies as st

from twin.core.sensor_kernels import (
    book_sample,
    delays_into,
    deliver_fresh,
    deliver_rows,
    measure_into,
)
from twin.core.sensors import ReadingBoard, SensorFeed, SensorModel, SensorSpec

VALUES = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan), st.just(-0.0), st.just(0.5)
)


@given(
    true=st.lists(VALUES, min_size=1, max_size=30),
    offset=st.sampled_from([0.0, -0.0, 0.3, -2.5]),
    noise_std=st.sampled_from([0.0, 0.5, 1.0]),
    quantum=st.sampled_from([0.0, 1.0, 0.25, 0.1, 3.0]),
    dropout_prob=st.sampled_from([0.0, 0.02, 0.5]),
    seed=st.integers(0, 2**32),
)
# -0.0 stays -0.0 only if nothing is added to it: the noise term is left out when off.
@example(true=[-0.0, -0.0, -0.0], offset=-0.0, noise_std=0.0, quantum=0.0, dropout_prob=0.0, seed=1)
def test_measure_into_is_the_array_expression(
    true: list[float],
    offset: float,
    noise_std: float,
    quantum: float,
    dropout_prob: float,
    seed: int,
) -> None:
    draws = np.random.default_rng(seed)
    n = len(true)
    noise = draws.standard_normal(n)
    noise[: n // 3] = 0.0  # exact zeros: -0.0 + 0.0 must still become 0.0
    uniform = draws.random(n)
    expected = np.array(true) + offset
    if noise_std > 0.0:
        expected += noise_std * noise
    if quantum > 0.0:
        expected = np.round(expected / quantum) * quantum
    expected[uniform < dropout_prob] = np.nan
    out = np.empty(n)
    measure_into(np.array(true), noise, uniform, offset, noise_std, quantum, dropout_prob, out)
    assert out.tobytes() == expected.tobytes()


@given(values=st.lists(VALUES, min_size=1, max_size=30), start=st.integers(0, 5))
def test_book_sample_counts_every_channel_once_and_lists_the_sent_ones(
    values: list[float], start: int
) -> None:
    array = np.array(values)
    n = len(values)
    taken, dropped, sent = (np.full(n, start, dtype=np.int64) for _ in range(3))
    channels = np.full(n, -1, dtype=np.intp)
    n_sent = book_sample(array, taken, dropped, sent, channels)
    missing = np.isnan(array)
    np.testing.assert_array_equal(taken, start + 1)
    np.testing.assert_array_equal(dropped, start + missing)
    np.testing.assert_array_equal(sent, start + ~missing)
    np.testing.assert_array_equal(channels[:n_sent], np.flatnonzero(~missing))


@given(
    shown=st.lists(st.sampled_from([math.nan, 1.0, 2.0, 3.0]), min_size=1, max_size=12),
    measured_at_s=st.sampled_from([1.0, 2.0, 3.0]),
    data=st.data(),
)
def test_deliver_fresh_shows_a_message_only_when_no_channel_is_newer(
    shown: list[float], measured_at_s: float, data: st.DataObject
) -> None:
    n = len(shown)
    picked = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    channels = np.array(sorted(picked), dtype=np.intp)
    readings = np.arange(len(channels), dtype=np.float64) + 0.5
    values, measured, delivered_at = np.full(n, np.nan), np.array(shown), np.full(n, np.nan)
    delivered = np.zeros(n, dtype=np.int64)
    before = (values.copy(), measured.copy(), delivered_at.copy(), delivered.copy())
    stale = measured[channels] > measured_at_s
    shown_all = deliver_fresh(
        7.0, measured_at_s, channels, readings, values, measured, delivered_at, delivered
    )
    assert shown_all == (not stale.any())
    if not shown_all:
        for array, old in zip((values, measured, delivered_at, delivered), before, strict=True):
            assert array.tobytes() == old.tobytes()
        return
    expected_values, expected_measured = before[0], before[1]
    expected_values[channels] = readings
    expected_measured[channels] = measured_at_s
    assert values.tobytes() == expected_values.tobytes()
    assert measured.tobytes() == expected_measured.tobytes()
    np.testing.assert_array_equal(delivered_at[channels], 7.0)
    np.testing.assert_array_equal(delivered, np.isin(np.arange(n), channels))


@given(
    gaps=st.lists(st.sampled_from([0.0, 0.1, 1.0, 5.0]), min_size=1, max_size=12),
    mean_s=st.sampled_from([0.5, 2.0, 7.0]),
    jitter_share=st.sampled_from([0.0, 0.4, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_delays_into_gives_the_feeds_delays_one_sample_at_a_time(
    gaps: list[float], mean_s: float, jitter_share: float, seed: int
) -> None:
    env = simpy.Environment()
    jitter_s = mean_s * jitter_share
    model = SensorModel(SensorSpec(period_s=1.0), 1, np.random.default_rng(0))
    feed = SensorFeed(
        env, "x", lambda: [0.0], model, [], ReadingBoard(1), mean_s, jitter_s,
        np.random.default_rng(seed),
    )  # fmt: skip
    times = np.cumsum(gaps)
    expected = [feed._delay_s(float(t)) for t in times]
    tails = np.random.default_rng(seed).standard_exponential(len(times))
    delays = np.empty(len(times))
    last = delays_into(times, tails, mean_s, jitter_s, -math.inf, delays)
    assert delays.tolist() == expected
    assert last == feed._last_arrival_s


@given(
    shown=st.lists(st.sampled_from([math.nan, 1.0, 2.0, 3.0]), min_size=1, max_size=8),
    sent=st.lists(st.lists(st.booleans(), min_size=8, max_size=8), min_size=1, max_size=4),
    unread_until_s=st.sampled_from([math.inf, 3.6, 2.6, -math.inf]),
)
def test_deliver_rows_is_the_boards_deliveries_in_order(
    shown: list[float], sent: list[list[bool]], unread_until_s: float
) -> None:
    n = len(shown)
    k = len(sent)
    times = 1.5 + np.arange(k, dtype=np.float64)  # 1.5, 2.5, ...: some older than shown
    delays = np.full(k, 0.5)
    measured = np.arange(k * n, dtype=np.float64).reshape(k, n)
    sent_channels = np.full((k, n), -1, dtype=np.intp)
    n_sent = np.zeros(k, dtype=np.intp)
    for r, row in enumerate(sent):
        picked = [c for c in range(n) if row[c]]
        sent_channels[r, : len(picked)] = picked
        n_sent[r] = len(picked)
    ours, theirs = ReadingBoard(n), ReadingBoard(n)
    for board in (ours, theirs):
        board.measured_at_s[:] = shown
    first_waiting = deliver_rows(
        times, delays, unread_until_s, measured, sent_channels, n_sent, ours.values,
        ours.measured_at_s, ours.delivered_at_s, ours.delivered, ours.stale,
    )  # fmt: skip
    expected_waiting = k
    for r in range(k):
        if n_sent[r] == 0:
            continue
        if not times[r] + delays[r] < unread_until_s:
            expected_waiting = r
            break
        channels = sent_channels[r, : n_sent[r]]
        theirs.deliver(times[r] + delays[r], times[r], channels, measured[r][channels])
    assert first_waiting == expected_waiting
    for name in ("values", "measured_at_s", "delivered_at_s", "delivered", "stale"):
        assert getattr(ours, name).tobytes() == getattr(theirs, name).tobytes(), name
