"""Sensors, edge stages and delivery, read as specifications."""

from __future__ import annotations

import math
import statistics
from collections import deque

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from twin.core.sensors import (
    MovingAverage,
    OutlierRejection,
    PipelineSpec,
    ReadingBoard,
    ReportByException,
    SensorConfig,
    SensorFeed,
    SensorModel,
    SensorSpec,
)
from twin.core.world import World

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
MAYBE_MISSING = st.one_of(FINITE, st.just(math.nan))


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def sequences(channels: int, max_size: int = 30) -> st.SearchStrategy[list[list[float]]]:
    """Time-ordered samples: a list of per-channel value lists (NaN = no sample)."""
    return st.lists(
        st.lists(MAYBE_MISSING, min_size=channels, max_size=channels), max_size=max_size
    )


def recording(board: ReadingBoard) -> list[tuple[float, list[int], list[float], list[float]]]:
    """Subscribe a recorder of ``(now_s, channels, values, measured_at_s)`` per delivery."""
    history: list[tuple[float, list[int], list[float], list[float]]] = []

    def record(now_s: float, channels: np.ndarray) -> None:
        history.append(
            (
                now_s,
                channels.tolist(),
                board.values[channels].tolist(),
                board.measured_at_s[channels].tolist(),
            )
        )

    board.subscribe(record)
    return history


# -- the sensor model ---------------------------------------------------------------------


@given(
    true=st.lists(FINITE, min_size=1, max_size=50),
    now_s=st.floats(0, 1e6),
    seed=st.integers(0, 2**32),
)
def test_an_ideal_sensor_reproduces_the_true_signal_exactly(
    true: list[float], now_s: float, seed: int
) -> None:
    model = SensorModel(SensorSpec(period_s=1.0), len(true), rng(seed))
    measured = model.measure(np.array(true), now_s)
    assert measured.dtype == np.float64
    np.testing.assert_array_equal(measured, true)


def test_noise_has_the_configured_std_and_bias_the_configured_mean() -> None:
    spec = SensorSpec(period_s=1.0, noise_std=0.3, bias=2.0)
    model = SensorModel(spec, 400, rng(1))
    errors = np.concatenate([model.measure(np.full(400, 5.0), 0.0) - 5.0 for _ in range(50)])
    n = errors.size
    # Sample std of n normals has standard error sigma / sqrt(2 (n - 1)); the mean has
    # sigma / sqrt(n). Five standard errors: a false alarm about once in 1.7 million seeds.
    assert abs(errors.std(ddof=1) - 0.3) < 5 * 0.3 / math.sqrt(2 * (n - 1))
    assert abs(errors.mean() - 2.0) < 5 * 0.3 / math.sqrt(n)


def test_drift_grows_linearly_from_the_start_time() -> None:
    spec = SensorSpec(period_s=1.0, bias=0.5, drift_per_s=0.01)
    model = SensorModel(spec, 3, rng(), start_s=100.0)
    true = np.array([1.0, -2.0, 0.0])
    for now_s in (100.0, 150.0, 1100.0):
        expected = true + 0.5 + 0.01 * (now_s - 100.0)
        np.testing.assert_allclose(model.measure(true, now_s), expected, rtol=0, atol=1e-12)


@given(quantum=st.floats(1e-3, 10.0), seed=st.integers(0, 2**32))
def test_quantisation_rounds_to_the_nearest_multiple_of_the_quantum(
    quantum: float, seed: int
) -> None:
    true = np.linspace(-50.0, 50.0, 64)
    raw = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0), 64, rng(seed))
    quantised = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0, quantum=quantum), 64, rng(seed))
    unrounded = raw.measure(true, 0.0)
    measured = quantised.measure(true, 0.0)
    steps = measured / quantum
    np.testing.assert_allclose(steps, np.round(steps), rtol=0, atol=1e-6)
    assert np.all(np.abs(measured - unrounded) <= quantum / 2 * (1 + 1e-9) + 1e-9)


def test_dropout_share_matches_the_probability_within_binomial_tolerance() -> None:
    p = 0.2
    model = SensorModel(SensorSpec(period_s=1.0, dropout_prob=p), 200, rng(2))
    lost = np.concatenate([np.isnan(model.measure(np.zeros(200), 0.0)) for _ in range(500)])
    n = lost.size
    assert abs(lost.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_a_true_nan_stays_nan_and_other_channels_are_measured() -> None:
    model = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0, quantum=0.5), 3, rng())
    measured = model.measure(np.array([1.0, math.nan, 3.0]), 0.0)
    assert math.isnan(measured[1])
    assert np.isfinite(measured[[0, 2]]).all()


def test_measure_does_not_modify_its_input_and_checks_the_shape() -> None:
    model = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0, dropout_prob=0.5), 4, rng())
    true = np.arange(4.0)
    model.measure(true, 0.0)
    np.testing.assert_array_equal(true, np.arange(4.0))
    with pytest.raises(ValueError, match="shape"):
        model.measure(np.zeros(5), 0.0)


@given(
    first=st.lists(MAYBE_MISSING, min_size=8, max_size=8),
    second=st.lists(MAYBE_MISSING, min_size=8, max_size=8),
    noise_std=st.sampled_from([0.0, 1.0]),
    dropout_prob=st.sampled_from([0.0, 0.3]),
)
def test_the_number_of_random_draws_does_not_depend_on_values_or_spec(
    first: list[float], second: list[float], noise_std: float, dropout_prob: float
) -> None:
    ideal = SensorModel(SensorSpec(period_s=1.0), 8, rng(7))
    noisy_spec = SensorSpec(period_s=1.0, noise_std=noise_std, dropout_prob=dropout_prob)
    noisy = SensorModel(noisy_spec, 8, rng(7))
    for _ in range(3):
        ideal.measure(np.array(first), 0.0)
        noisy.measure(np.array(second), 5.0)
    assert ideal._rng.bit_generator.state == noisy._rng.bit_generator.state


def plain_measure(
    spec: SensorSpec, true: list[float], now_s: float, draws: np.random.Generator
) -> np.ndarray:
    """The documented model, one scalar draw at a time: every normal, then every uniform."""
    noise = [draws.standard_normal() for _ in true]
    uniform = [draws.random() for _ in true]
    out = []
    for value, z, u in zip(true, noise, uniform, strict=True):
        x = np.float64(value) + (spec.bias + spec.drift_per_s * now_s)
        if spec.noise_std > 0.0:
            x = x + spec.noise_std * np.float64(z)
        if spec.quantum > 0.0:
            x = np.round(x / spec.quantum) * spec.quantum
        out.append(np.nan if u < spec.dropout_prob else x)
    return np.array(out, dtype=np.float64)


@given(
    true=st.lists(st.one_of(MAYBE_MISSING, st.just(-0.0)), min_size=1, max_size=40),
    noise_std=st.sampled_from([0.0, 0.5, 1.0]),
    bias=st.sampled_from([0.0, -0.0, 0.3]),
    drift_per_s=st.sampled_from([0.0, 1e-3]),
    quantum=st.sampled_from([0.0, 1.0, 0.25, 0.1]),
    dropout_prob=st.sampled_from([0.0, 0.02, 0.5]),
    now_s=st.sampled_from([0.0, 5.0, 3601.5]),
    seed=st.integers(0, 2**32),
)
def test_measure_is_bit_for_bit_the_model_drawn_one_number_at_a_time(
    true: list[float],
    noise_std: float,
    bias: float,
    drift_per_s: float,
    quantum: float,
    dropout_prob: float,
    now_s: float,
    seed: int,
) -> None:
    spec = SensorSpec(
        period_s=1.0,
        noise_std=noise_std,
        bias=bias,
        drift_per_s=drift_per_s,
        quantum=quantum,
        dropout_prob=dropout_prob,
    )
    model = SensorModel(spec, len(true), rng(seed))
    reference = rng(seed)
    first = model.measure(np.array(true), now_s)
    kept = first.copy()
    assert first.tobytes() == plain_measure(spec, true, now_s, reference).tobytes()
    # The next sample continues the stream where the plain draws do, in a new array.
    second = model.measure(np.array(true), now_s + 1.0)
    assert second.tobytes() == plain_measure(spec, true, now_s + 1.0, reference).tobytes()
    assert first.tobytes() == kept.tobytes()
    # Exactly the words the plain draws used are used: the next one is the plain next.
    words = model.words
    if words.pos == len(words.words):
        words.more()
    assert words.words[words.pos] == reference.bit_generator.random_raw()


# -- edge stages --------------------------------------------------------------------------


@given(channels=st.integers(1, 4), window=st.integers(1, 6), data=st.data())
def test_moving_average_equals_the_mean_of_the_last_window_samples(
    channels: int, window: int, data: st.DataObject
) -> None:
    samples = data.draw(sequences(channels))
    stage = MovingAverage(window, channels)
    held = [deque[float](maxlen=window) for _ in range(channels)]
    for t, row in enumerate(samples):
        out = stage.process(float(t), np.array(row))
        for c, x in enumerate(row):
            if math.isnan(x):
                assert math.isnan(out[c])
                continue
            held[c].append(x)
            assert out[c] == pytest.approx(sum(held[c]) / len(held[c]), rel=1e-9, abs=1e-6)


def hampel_reference(
    samples: list[list[float]], channels: int, window: int, k: float, min_scale: float
) -> list[list[bool]]:
    """Per sample and channel, whether a plain-Python causal Hampel filter rejects it."""
    held = [deque[float](maxlen=window) for _ in range(channels)]
    rejected = []
    for row in samples:
        flags = []
        for c, x in enumerate(row):
            reject = False
            if not math.isnan(x) and len(held[c]) >= 3:
                median = statistics.median(held[c])
                mad = statistics.median(abs(h - median) for h in held[c])
                scale = max(1.4826 * mad, min_scale)
                reject = scale > 0 and abs(x - median) > k * scale
            if not math.isnan(x):
                held[c].append(x)
            flags.append(reject)
        rejected.append(flags)
    return rejected


@given(
    channels=st.integers(1, 4),
    window=st.integers(3, 8),
    k=st.floats(0.5, 5.0),
    min_scale=st.sampled_from([0.0, 0.5]),
    data=st.data(),
)
def test_hampel_filter_matches_a_plain_reference(
    channels: int, window: int, k: float, min_scale: float, data: st.DataObject
) -> None:
    # Small integers make ties and MAD = 0 common, the cases a reference catches.
    value = st.one_of(st.integers(-3, 3).map(float), st.just(math.nan), FINITE)
    samples = data.draw(
        st.lists(st.lists(value, min_size=channels, max_size=channels), max_size=30)
    )
    stage = OutlierRejection(window, k, channels, min_scale)
    expected = hampel_reference(samples, channels, window, k, min_scale)
    for t, (row, flags) in enumerate(zip(samples, expected, strict=True)):
        out = stage.process(float(t), np.array(row))
        for c, x in enumerate(row):
            if flags[c] or math.isnan(x):
                assert math.isnan(out[c])
            else:
                assert out[c] == x


def test_hampel_rejects_a_spike_and_keeps_normal_data() -> None:
    noise = rng(3).standard_normal((2000, 10))
    noise[1000, 4] = 50.0
    stage = OutlierRejection(51, 3.0, 10)
    out = np.array([stage.process(float(t), row) for t, row in enumerate(noise)])
    assert math.isnan(out[1000, 4])
    assert out[1001, 4] == noise[1001, 4]
    # About 0.8 % of Gaussian samples fall outside 3 robust stds estimated from 51.
    assert np.isnan(out[51:]).mean() < 0.02


def test_hampel_accepts_a_persistent_level_shift_within_half_a_window() -> None:
    window = 11
    stage = OutlierRejection(window, 3.0, 1)
    noise = rng(4).normal(0.0, 0.1, 60)
    level = np.where(np.arange(60) < 30, 0.0, 100.0)
    out = np.array([stage.process(float(t), np.array([x])) for t, x in enumerate(level + noise)])
    settled = 30 + window // 2 + 1  # the new level holds most of the window from here
    assert not np.isnan(out[settled : 30 + window]).any()
    # Not rejected forever, as a history of accepted samples only would do; what is left
    # is the small-window false-alarm rate (about 5 % at window 11).
    assert np.isnan(out[settled:]).mean() < 0.2


def test_hampel_with_a_constant_history_passes_unless_given_a_scale_floor() -> None:
    plain = OutlierRejection(5, 3.0, 1)
    floored = OutlierRejection(5, 3.0, 1, min_scale=0.1)
    for t in range(5):
        plain.process(float(t), np.array([1.0]))
        floored.process(float(t), np.array([1.0]))
    # With a floor of 0.1 the threshold is 3 * 0.1 from the median 1.0.
    assert plain.process(5.0, np.array([1.5])) == 1.5
    assert math.isnan(floored.process(5.0, np.array([1.5]))[0])
    assert floored.process(6.0, np.array([1.25])) == 1.25


def test_report_by_exception_sends_only_on_a_change_beyond_the_deadband_or_a_heartbeat() -> None:
    stage = ReportByException(deadband=0.5, heartbeat_s=10.0, channels=1)
    script = [  # (time, value, passes)
        (0.0, 1.0, True),  # first value always passes
        (1.0, 1.4, False),
        (2.0, 1.5, False),  # exactly the deadband is not more than it
        (3.0, 1.6, True),  # 0.6 from the last *sent* value 1.0
        (4.0, 1.2, False),
        (5.0, math.nan, False),
        (13.0, 1.6, True),  # heartbeat: 10 s since the last send
        (14.0, 1.0, True),
    ]
    for now_s, value, passes in script:
        out = stage.process(now_s, np.array([value]))[0]
        assert (out == value) if passes else math.isnan(out), (now_s, value)


@given(
    channels=st.integers(1, 3),
    deadband=st.floats(0.0, 5.0),
    heartbeat_s=st.one_of(st.none(), st.floats(0.5, 10.0)),
    data=st.data(),
)
def test_report_by_exception_matches_a_plain_reference(
    channels: int, deadband: float, heartbeat_s: float | None, data: st.DataObject
) -> None:
    value = st.one_of(st.integers(-5, 5).map(float), st.just(math.nan))
    samples = data.draw(
        st.lists(st.lists(value, min_size=channels, max_size=channels), max_size=30)
    )
    stage = ReportByException(deadband, heartbeat_s, channels)
    last: list[tuple[float, float] | None] = [None] * channels  # (time, value) sent
    for t, row in enumerate(samples):
        out = stage.process(float(t), np.array(row))
        for c, x in enumerate(row):
            sent = last[c]
            passes = not math.isnan(x) and (
                sent is None
                or abs(x - sent[1]) > deadband
                or (heartbeat_s is not None and t - sent[0] >= heartbeat_s)
            )
            if passes:
                last[c] = (float(t), x)
                assert out[c] == x
            else:
                assert math.isnan(out[c])


def test_a_heartbeat_is_not_delayed_by_float_error_in_the_clock() -> None:
    stage = ReportByException(deadband=1.0, heartbeat_s=1.0, channels=1)
    now_s, sends = 0.0, []
    for i in range(101):
        if not math.isnan(stage.process(now_s, np.array([0.0]))[0]):
            sends.append(i)
        now_s += 0.1  # ten additions of 0.1 do not sum to exactly 1.0
    assert sends == list(range(0, 101, 10))


def test_the_pipeline_builds_its_stages_in_order() -> None:
    assert PipelineSpec().build(3) == []
    stages = PipelineSpec(
        outlier_window=5, moving_average_window=3, deadband=0.1, heartbeat_s=60.0
    ).build(3)
    assert [type(s) for s in stages] == [OutlierRejection, MovingAverage, ReportByException]


# -- feeds, latency and the board ---------------------------------------------------------


def test_latency_delays_each_delivery_by_the_configured_time() -> None:
    env = simpy.Environment()
    board = ReadingBoard(2)
    history = recording(board)
    model = SensorModel(SensorSpec(period_s=1.0), 2, rng())
    SensorFeed(env, "x", lambda: np.array([env.now, -env.now]), model, [], board, 0.5, 0.0, rng())
    env.run(until=10.2)
    assert [now for now, *_ in history] == [t + 0.5 for t in range(10)]
    for now_s, channels, values, measured in history:
        assert channels == [0, 1]
        assert measured == [now_s - 0.5] * 2
        assert values == [now_s - 0.5, 0.5 - now_s]
    assert board.delivered_at_s.tolist() == [9.5, 9.5]
    np.testing.assert_allclose(board.age_s(10.2), [1.2, 1.2])


def test_without_latency_a_reading_is_delivered_at_once() -> None:
    env = simpy.Environment()
    board = ReadingBoard(1)
    history = recording(board)
    model = SensorModel(SensorSpec(period_s=2.0), 1, rng())
    SensorFeed(env, "x", lambda: np.array([1.0]), model, [], board)
    env.run(until=5.0)
    assert [now for now, *_ in history] == [0.0, 2.0, 4.0]


def test_latency_is_a_shifted_exponential_with_the_configured_mean_and_std() -> None:
    env = simpy.Environment()
    board = ReadingBoard(1)
    history = recording(board)
    model = SensorModel(SensorSpec(period_s=100.0), 1, rng())
    # A period far above the delays, so no message waits behind an earlier one.
    SensorFeed(env, "x", lambda: np.zeros(1), model, [], board, 1.0, 0.5, rng(5))
    env.run(until=100.0 * 2000)
    delays = np.array([now - measured[0] for now, _, _, measured in history])
    n = delays.size
    assert delays.min() >= 0.5
    assert abs(delays.mean() - 1.0) < 5 * 0.5 / math.sqrt(n)
    # std of the sample std of an exponential: sigma * sqrt((kurtosis - 1) / 4n), kurtosis 9.
    assert abs(delays.std(ddof=1) - 0.5) < 5 * 0.5 * math.sqrt(8 / (4 * n))


@settings(max_examples=30, deadline=None)
@given(
    period_s=st.floats(0.1, 5.0),
    mean_s=st.floats(0.0, 20.0),
    jitter_share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
)
def test_deliveries_stay_in_order_per_channel_however_large_the_jitter(
    period_s: float, mean_s: float, jitter_share: float, seed: int
) -> None:
    env = simpy.Environment()
    board = ReadingBoard(3)
    history = recording(board)
    spec = SensorSpec(period_s=period_s, noise_std=1.0, dropout_prob=0.3)
    model = SensorModel(spec, 3, rng(seed))
    feed = SensorFeed(
        env, "x", lambda: np.zeros(3), model, [], board, mean_s, mean_s * jitter_share, rng(seed)
    )
    env.run(until=50 * period_s)
    assert board.stale.sum() == 0
    for channel in range(3):
        seen = [
            (now, measured[i])
            for now, channels, _, measured in history
            for i, c in enumerate(channels)
            if c == channel
        ]
        assert seen == sorted(seen)
        assert all(now >= at for now, at in seen)
    assert feed.board is board


def board_state(board: ReadingBoard) -> tuple[list[float], list[float], list[float], dict]:
    return (
        board.values.tolist(),
        board.measured_at_s.tolist(),
        board.delivered_at_s.tolist(),
        board.totals(),
    )


class _Ramp:
    """Channel values ``t`` and ``2 t`` at time ``t``, now or at given times."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    def __call__(self) -> np.ndarray:
        return self.at_times([float(self.env.now)])[0]

    def at_times(self, times: list[float]) -> np.ndarray:
        return np.array([[t, 2.0 * t] for t in times])


@pytest.mark.parametrize("latency_mean_s", [0.0, 0.8])
def test_samples_taken_ahead_are_the_samples_taken_on_time(latency_mean_s: float) -> None:
    # A hook that lets every sample due before 7 s be taken at once, its signal reading
    # each sample's time (as the traffic city's own feeds do between its wake-ups).
    def feed(env: simpy.Environment, ahead: bool) -> SensorFeed:
        spec = SensorSpec(period_s=1.0, noise_std=0.5, dropout_prob=0.2, bias=0.1)
        made = SensorFeed(
            env, "x", _Ramp(env), SensorModel(spec, 2, rng(1)), [], ReadingBoard(2),
            latency_mean_s, latency_mean_s / 2, rng(2),
        )  # fmt: skip
        if ahead:
            made.sample_ahead = lambda _feed, at_s: at_s < 7.0
            made.unread_until_s = 7.0  # readings due before 7 s are delivered when sent
        return made

    env_on_time, env_ahead = simpy.Environment(), simpy.Environment()
    on_time, ahead = feed(env_on_time, False), feed(env_ahead, True)
    env_on_time.run(until=0.5)
    env_ahead.run(until=0.5)
    assert on_time.board.taken.tolist() == [1, 1]
    assert ahead.board.taken.tolist() == [7, 7]  # the samples of 0 s to 6 s, at 0 s
    env_on_time.run(until=9.5)
    env_ahead.run(until=9.5)
    assert board_state(ahead.board) == board_state(on_time.board)


def test_a_feed_samples_ahead_only_with_a_signal_that_reads_other_times() -> None:
    env = simpy.Environment()
    model = SensorModel(SensorSpec(period_s=1.0), 1, rng())
    feed = SensorFeed(env, "x", lambda: np.array([env.now]), model, [], ReadingBoard(1))
    feed.sample_ahead = lambda _feed, at_s: at_s < 3.0
    with pytest.raises(TypeError, match="feed 'x': sampling ahead needs a TimedSignal"):
        env.run(until=0.5)


def test_a_reading_due_before_the_board_is_read_is_delivered_when_sent() -> None:
    env = simpy.Environment()
    board = ReadingBoard(1)
    model = SensorModel(SensorSpec(period_s=1.0), 1, rng())
    feed = SensorFeed(env, "x", lambda: np.array([env.now]), model, [], board, 2.0, 0.0, rng())
    feed.unread_until_s = 2.5  # nothing reads the board before 2.5 s
    env.run(until=0.5)
    # The 0 s reading, due at 2 s, is on the board already, stamped 2 s.
    assert (board.measured_at_s[0], board.delivered_at_s[0]) == (0.0, 2.0)
    env.run(until=1.5)  # the 1 s reading is due at 3 s, after 2.5 s: it waits
    assert board.measured_at_s[0] == 0.0
    feed.unread_until_s = 100.0
    env.run(until=2.5)  # due at 4 s, before 100 s, but behind the one due at 3 s
    assert board.measured_at_s[0] == 0.0
    env.run(until=4.5)  # the readings of 1 s and 2 s came by their events, in order
    assert (board.measured_at_s[0], board.delivered_at_s[0]) == (2.0, 4.0)
    assert board.totals()["delivered"] == 3
    assert board.totals()["stale"] == 0


def test_the_board_ignores_a_reading_older_than_the_one_it_shows() -> None:
    board = ReadingBoard(2)
    calls: list[tuple[float, list[int]]] = []
    board.subscribe(lambda now_s, channels: calls.append((now_s, channels.tolist())))
    board.deliver(5.0, 4.0, np.array([0, 1]), np.array([1.0, 2.0]))
    board.deliver(6.0, 3.0, np.array([0]), np.array([9.0]))
    board.deliver(7.0, 4.5, np.array([0, 1]), np.array([3.0, 4.0]))
    assert board.values.tolist() == [3.0, 4.0]
    assert board.measured_at_s.tolist() == [4.5, 4.5]
    assert board.delivered_at_s.tolist() == [7.0, 7.0]
    assert calls == [(5.0, [0, 1]), (7.0, [0, 1])]
    assert board.stale.tolist() == [1, 0]
    assert board.delivered.tolist() == [2, 2]


def test_a_board_rejects_a_channel_it_does_not_have() -> None:
    board = ReadingBoard(3)
    with pytest.raises(IndexError):
        board.deliver(1.0, 1.0, np.array([0, 3]), np.array([1.0, 2.0]))
    assert np.isnan(board.values).all()  # nothing shown, nothing counted
    assert board.totals()["delivered"] == 0
    board.deliver(1.0, 1.0, np.array([-1]), np.array([5.0]))  # numpy's wrap-around
    assert board.values[2] == 5.0


def test_a_board_shows_nan_before_the_first_delivery() -> None:
    board = ReadingBoard(3)
    assert np.isnan(board.values).all()
    assert np.isnan(board.measured_at_s).all()
    assert math.isnan(board.compression_ratio)
    assert board.totals()["in_flight"] == 0


FULL_PIPELINE = SensorConfig(
    sensor=SensorSpec(period_s=1.0, noise_std=0.2, quantum=0.05, dropout_prob=0.1),
    pipeline=PipelineSpec(
        outlier_window=7,
        moving_average_window=3,
        deadband=0.1,
        heartbeat_s=5.0,
        latency_mean_s=2.0,
        latency_jitter_s=1.5,
    ),
)


def sine(world: World) -> np.ndarray:
    return np.sin(world.now_s / 20.0 + np.arange(50))


def run_full_pipeline(
    seed: int,
) -> tuple[SensorFeed, list[tuple[float, list[int], list[float], list[float]]]]:
    world = World(seed)
    feed = SensorFeed.attach(world, "vibration", lambda: sine(world), FULL_PIPELINE, 50)
    history = recording(feed.board)
    world.run(until_s=300.0)
    return feed, history


def test_the_same_seed_gives_an_identical_board_history() -> None:
    feed_a, history_a = run_full_pipeline(11)
    feed_b, history_b = run_full_pipeline(11)
    _, history_c = run_full_pipeline(12)
    assert history_a
    assert history_a == history_b
    assert history_a != history_c
    assert feed_a.board.totals() == feed_b.board.totals()


def test_every_sample_is_counted_exactly_once() -> None:
    feed, _ = run_full_pipeline(13)
    board = feed.board
    np.testing.assert_array_equal(board.taken, 300)  # t = 0, 1, ..., 299: run stops at 300
    np.testing.assert_array_equal(
        board.taken, board.dropped + board.rejected + board.suppressed + board.sent
    )
    totals = board.totals()
    assert totals["sent"] == totals["delivered"] + totals["stale"] + totals["in_flight"]
    assert totals["stale"] == 0
    assert 0 < totals["in_flight"] <= 2 * 50  # what left in the last few seconds
    for counter in ("dropped", "rejected", "suppressed"):
        assert totals[counter] > 0, counter
    assert board.compression_ratio == totals["taken"] / totals["sent"]
    board.reset_counters()
    assert set(board.totals().values()) == {0}


def test_report_by_exception_compresses_a_constant_signal_to_one_reading() -> None:
    world = World(0)
    config = SensorConfig(sensor=SensorSpec(period_s=1.0), pipeline=PipelineSpec(deadband=0.0))
    feed = SensorFeed.attach(world, "level", lambda: np.full(4, 3.0), config, 4)
    world.run(until_s=99.5)
    assert feed.board.sent.tolist() == [1, 1, 1, 1]
    assert feed.board.suppressed.tolist() == [99, 99, 99, 99]
    assert feed.board.compression_ratio == 100.0
    assert feed.board.values.tolist() == [3.0] * 4


def test_latency_draws_do_not_depend_on_what_survives_the_pipeline() -> None:
    worlds = [World(21), World(21)]
    config = SensorConfig(
        sensor=SensorSpec(period_s=1.0),
        pipeline=PipelineSpec(deadband=0.5, latency_mean_s=1.0, latency_jitter_s=1.0),
    )
    SensorFeed.attach(worlds[0], "s", lambda: np.zeros(2), config, 2)
    SensorFeed.attach(worlds[1], "s", lambda: rng().normal(size=2) * 10, config, 2)
    for world in worlds:
        world.run(until_s=50.0)
    states = [w.streams["sensors.s.latency"].bit_generator.state for w in worlds]
    assert states[0] == states[1]


def test_attach_draws_from_named_streams_and_counts_drift_from_attachment() -> None:
    world = World(3)
    world.run(until_s=100.0)
    config = SensorConfig(sensor=SensorSpec(period_s=10.0, drift_per_s=0.5))
    feed = SensorFeed.attach(world, "temp", lambda: np.zeros(1), config, 1)
    world.run(until_s=125.0)
    assert feed.board.values.tolist() == [0.5 * 20.0]
    assert feed.board.measured_at_s.tolist() == [120.0]
    assert {"sensors.temp.noise", "sensors.temp.latency"} <= set(world.streams.names())


def test_a_feed_rejects_inconsistent_parts() -> None:
    env = simpy.Environment()
    model = SensorModel(SensorSpec(period_s=1.0), 2, rng())
    with pytest.raises(ValueError, match="channels"):
        SensorFeed(env, "x", lambda: np.zeros(2), model, [], ReadingBoard(3))
    with pytest.raises(ValueError, match="latency_rng"):
        SensorFeed(env, "x", lambda: np.zeros(2), model, [], ReadingBoard(2), 1.0)
    with pytest.raises(ValueError, match="latency_jitter_s"):
        SensorFeed(env, "x", lambda: np.zeros(2), model, [], ReadingBoard(2), 1.0, 2.0, rng())


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (SensorSpec, {"period_s": -1.0}),
        (SensorSpec, {"period_s": 0.0}),
        (SensorSpec, {"period_s": 1.0, "dropout_prob": 1.0}),
        (SensorSpec, {"period_s": 1.0, "noise_std": -0.1}),
        (SensorSpec, {"period_s": 1.0, "noise_std": math.nan}),
        (SensorSpec, {"period_s": 1.0, "quantum": -1.0}),
        (SensorSpec, {"period_s": 1.0, "noise": 0.1}),
        (SensorSpec, {}),
        (PipelineSpec, {"outlier_window": 2}),
        (PipelineSpec, {"moving_average_window": 0}),
        (PipelineSpec, {"heartbeat_s": 10.0}),
        (PipelineSpec, {"latency_mean_s": 1.0, "latency_jitter_s": 2.0}),
        (PipelineSpec, {"latency_mean_s": -1.0}),
        (PipelineSpec, {"deadband": 0.1, "compression": True}),
        (SensorConfig, {"sensor": {"period_s": 1.0}, "extra": 1}),
    ],
)
def test_bad_specs_are_rejected(model: type[BaseModel], data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(data)


def test_specs_are_frozen() -> None:
    spec = SensorSpec(period_s=1.0)
    with pytest.raises(ValidationError):
        spec.period_s = 2.0  # type: ignore[misc]


def test_a_scenario_embeds_a_sensor_config_in_its_own_params() -> None:
    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        machines: int
        vibration: SensorConfig

    params = Params.model_validate(
        {
            "machines": 3,
            "vibration": {
                "sensor": {"period_s": 60.0, "noise_std": 0.05},
                "pipeline": {"deadband": 0.1, "latency_mean_s": 0.2},
            },
        }
    )
    assert params.vibration.sensor.noise_std == 0.05
    assert params.vibration.pipeline.latency_jitter_s == 0.0
    with pytest.raises(ValidationError, match=r"vibration\.sensor\.period_s"):
        Params.model_validate({"machines": 3, "vibration": {"sensor": {"period_s": -1}}})
