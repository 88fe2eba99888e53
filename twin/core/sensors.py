"""Sensors and the IoT pipeline between the true state of a system and what a policy sees.

A policy never reads the truth. A :class:`SensorModel` measures a vector of channels
(one channel is one sensor) with noise, bias, drift, quantisation and dropout; edge
stages (:class:`OutlierRejection`, :class:`MovingAverage`, :class:`ReportByException`)
filter and compress; a :class:`SensorFeed` transmits the survivors with a latency to a
:class:`ReadingBoard`, which holds the latest delivered value per channel and the
counters of every sample taken, lost and sent.

Everything works on whole arrays of channels, so 1,000 machines cost one SimPy event
per sampling period, not 1,000. A value of ``NaN`` means "no value" all the way through.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.core.raw_draws import has_raw_words, words_of
from twin.core.sensor_kernels import (
    book_sample,
    delays_into,
    deliver_fresh,
    deliver_rows,
    kept_behind,
    measure_into,
    sample_rows,
)
from twin.core.world import timeout_at

if TYPE_CHECKING:
    import simpy

    from twin.core.world import World

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
CountArray = npt.NDArray[np.int64]
Signal = Callable[[], npt.ArrayLike]
"""Returns the true values of every channel now (length ``channels``; NaN = no value)."""


class TimedSignal(Protocol):
    """A signal that can also give its true values as at other times: a feed that samples
    ahead of the clock (:attr:`SensorFeed.sample_ahead`) needs one."""

    def __call__(self) -> npt.ArrayLike: ...

    def at_times(self, times: Sequence[float]) -> npt.ArrayLike:
        """``(len(times), channels)``: the true values as at each time (ascending, none
        before the last time read), read in order as one call per time would."""
        ...


Subscriber = Callable[[float, IndexArray], None]
"""Called with ``(now_s, channel_indices)`` each time a board receives fresh readings."""
LossKind = Literal["rejected", "suppressed"]

MAD_TO_STD = 1.4826
"""Scales the median absolute deviation to the standard deviation of a normal sample."""


def _float_vector(values: npt.ArrayLike, channels: int, what: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (channels,):
        raise ValueError(f"{what} must have shape ({channels},), got {array.shape}")
    return array


def _check_channels(channels: int) -> None:
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")


# -- configuration ----------------------------------------------------------------------


class SensorSpec(BaseModel):
    """How one kind of sensor distorts the truth; the same for every channel of a feed.

    The measured value is ``round((true + bias + drift_per_s * t + noise) / quantum) *
    quantum`` (ties to even) with ``t`` the time since the sensor started, then lost with
    probability ``dropout_prob``. Values are in the unit of the measured quantity.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    period_s: float = Field(gt=0, description="sampling period, s")
    noise_std: float = Field(default=0.0, ge=0, description="std of Gaussian white noise")
    bias: float = Field(default=0.0, description="constant offset added to every sample")
    drift_per_s: float = Field(default=0.0, description="growth of the offset per second")
    quantum: float = Field(
        default=0.0, ge=0, description="resolution; values round to multiples (0 = none)"
    )
    dropout_prob: float = Field(
        default=0.0, ge=0, lt=1, description="probability that a sample is lost"
    )


class PipelineSpec(BaseModel):
    """The edge pipeline and the link: each section is off unless configured.

    Stages run in the order outlier rejection -> moving average -> report by exception:
    a spike is removed before it can smear into the average, and compression decides on
    the value that would actually be sent.

    Latency is a shifted exponential with mean ``latency_mean_s`` and standard deviation
    ``latency_jitter_s`` (a constant propagation delay plus an exponential queueing
    delay, the usual first model of a network path), so it is never below
    ``latency_mean_s - latency_jitter_s``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    outlier_window: int | None = Field(
        default=None, ge=3, description="samples in the Hampel window; none = no rejection"
    )
    # 3 is Hampel's "three-sigma edit rule" (Pearson et al., Generalized Hampel filters,
    # EURASIP J. Adv. Signal Process. 2016:87).
    outlier_k: float = Field(
        default=3.0, gt=0, description="Hampel threshold in robust standard deviations"
    )
    outlier_min_scale: float = Field(
        default=0.0, ge=0, description="floor of the robust std used by the Hampel test"
    )
    moving_average_window: int | None = Field(
        default=None, ge=1, description="samples averaged; none = no smoothing"
    )
    deadband: float | None = Field(
        default=None, ge=0, description="report only changes larger than this; none = all"
    )
    heartbeat_s: float | None = Field(
        default=None, gt=0, description="report at least this often even without change, s"
    )
    latency_mean_s: float = Field(default=0.0, ge=0, description="mean transmission delay, s")
    latency_jitter_s: float = Field(
        default=0.0, ge=0, description="std of the transmission delay, s"
    )

    @model_validator(mode="after")
    def _consistent(self) -> PipelineSpec:
        if self.heartbeat_s is not None and self.deadband is None:
            raise ValueError("heartbeat_s needs a deadband (report by exception is off)")
        if self.latency_jitter_s > self.latency_mean_s:
            raise ValueError(
                f"latency_jitter_s ({self.latency_jitter_s}) must not exceed latency_mean_s "
                f"({self.latency_mean_s}): the delay would have to be negative"
            )
        return self

    def build(self, channels: int) -> list[Stage]:
        """Fresh stages (with empty per-channel state) for ``channels`` channels."""
        stages: list[Stage] = []
        if self.outlier_window is not None:
            stages.append(
                OutlierRejection(
                    self.outlier_window, self.outlier_k, channels, self.outlier_min_scale
                )
            )
        if self.moving_average_window is not None:
            stages.append(MovingAverage(self.moving_average_window, channels))
        if self.deadband is not None:
            stages.append(ReportByException(self.deadband, self.heartbeat_s, channels))
        return stages


class SensorConfig(BaseModel):
    """A sensor and its pipeline, for a scenario to embed in its own parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor: SensorSpec
    pipeline: PipelineSpec = Field(default_factory=PipelineSpec)


# -- the sensor -------------------------------------------------------------------------


class SensorModel:
    """Measures ``channels`` sensors of one :class:`SensorSpec` at once.

    Every call draws ``channels`` standard normals then ``channels`` uniforms from
    ``rng``, whatever the values and whatever the spec, so two policy arms (or two
    sensor qualities) that share a stream keep drawing the same numbers for the same
    sample (common random numbers).

    Args:
        spec: the sensor's distortions.
        channels: number of sensors measured together.
        rng: the generator noise and dropout are drawn from, a block of raw words at a
            time (:mod:`twin.core.raw_draws`): other sensor models may share it, but
            nothing else should draw from it directly while this model lives.
        start_s: the time drift is counted from.
    """

    __slots__ = (
        "_bias",
        "_drift_per_s",
        "_dropout_prob",
        "_noise",
        "_noise_std",
        "_quantum",
        "_rng",
        "_spec",
        "_uniform",
        "channels",
        "start_s",
        "words",
    )

    def __init__(
        self, spec: SensorSpec, channels: int, rng: np.random.Generator, start_s: float = 0.0
    ) -> None:
        _check_channels(channels)
        self.spec = spec
        self.channels = channels
        self._rng = rng
        self.words = words_of(rng) if has_raw_words(rng) else None
        """Where the draws come from: ``rng``'s raw words, as numpy would use them (None:
        numpy's calls, for a generator of another family)."""
        self.start_s = start_s
        self._noise: FloatArray = np.empty(channels)
        self._uniform: FloatArray = np.empty(channels)

    @property
    def spec(self) -> SensorSpec:
        """The sensor's distortions."""
        return self._spec

    @spec.setter
    def spec(self, spec: SensorSpec) -> None:
        # Plain floats read once: a model's fields cost a lookup each, every sample.
        self._spec = spec
        self._bias = spec.bias
        self._drift_per_s = spec.drift_per_s
        self._noise_std = spec.noise_std
        self._quantum = spec.quantum
        self._dropout_prob = spec.dropout_prob

    def measure(self, true_values: npt.ArrayLike, now_s: float) -> FloatArray:
        """Measured values at ``now_s`` (a new float64 array; NaN where no value)."""
        true = _float_vector(true_values, self.channels, "true_values")
        noise, uniform = self._noise, self._uniform
        if self.words is None:
            self._rng.standard_normal(out=noise)
            self._rng.random(out=uniform)
        else:
            self.words.normals_uniforms(noise, uniform)
        measured: FloatArray = np.empty(self.channels)
        offset = self._bias + self._drift_per_s * (now_s - self.start_s)
        measure_into(
            true,
            noise,
            uniform,
            offset,
            self._noise_std,
            self._quantum,
            self._dropout_prob,
            measured,
        )
        return measured

    def measure_rows(
        self, true: FloatArray, times: FloatArray, board: ReadingBoard
    ) -> tuple[FloatArray, IndexArray, IndexArray]:
        """Measures row ``r`` of ``true`` (``(k, channels)``) at ``times[r]``, in order,
        and books each sample on ``board`` as taken, dropped or sent; the same draws and
        values as ``k`` calls of :meth:`measure`. Returns the measured rows, and for each
        row the sent channels (ascending, at the front) and how many there are."""
        k, n = true.shape
        if n != self.channels:
            raise ValueError(f"true rows have {n} channels, expected {self.channels}")
        measured: FloatArray = np.empty((k, n))
        sent_channels: IndexArray = np.empty((k, n), dtype=np.intp)
        n_sent: IndexArray = np.empty(k, dtype=np.intp)
        words = self.words
        if words is None:
            for r in range(k):
                measured[r] = self.measure(true[r], float(times[r]))
                n_sent[r] = book_sample(
                    measured[r], board.taken, board.dropped, board.sent, sent_channels[r]
                )
            return measured, sent_channels, n_sent
        done = 0
        while done < k:
            done, words.pos = sample_rows(
                true, times, done, words.words, words.pos, self._bias, self._drift_per_s,
                self.start_s, self._noise_std, self._quantum, self._dropout_prob,
                self._noise, self._uniform, measured, board.taken, board.dropped,
                board.sent, sent_channels, n_sent,
            )  # fmt: skip
            if done < k:
                words.more()
        return measured, sent_channels, n_sent


# -- edge stages ------------------------------------------------------------------------


class Stage(Protocol):
    """One step of the edge pipeline, with per-channel state.

    ``process`` returns a new array of the values to pass on, NaN where nothing passes,
    and leaves its input untouched; ``loss`` names the board counter that a value this
    stage turns into NaN is booked to.
    """

    @property
    def loss(self) -> LossKind: ...

    def process(self, now_s: float, values: FloatArray) -> FloatArray: ...


def _row_medians(rows: FloatArray, counts: IndexArray) -> FloatArray:
    """Median of the first ``counts[i]`` entries of each row (NaN where a row holds none).

    Entries past a row's count must be NaN. When every row holds the same number of
    samples (the steady state, and the warm-up without dropouts) a partition does the
    work at about half the cost of a sort.
    """
    held = int(counts[0])
    lo, hi = (held - 1) // 2, held // 2
    if held >= 1 and bool((counts == held).all()):
        picked: FloatArray = np.partition(rows[:, :held], [lo, hi] if lo != hi else lo, axis=1)
        return 0.5 * (picked[:, lo] + picked[:, hi])
    ranked: FloatArray = np.sort(rows, axis=1)  # NaN sorts last: ranks count from the front
    ranks = np.maximum(counts, 1)
    index = np.arange(rows.shape[0])
    medians: FloatArray = 0.5 * (ranked[index, (ranks - 1) // 2] + ranked[index, ranks // 2])
    return medians


class _History:
    """The last ``window`` non-NaN samples per channel in a ring buffer; empty slots hold
    ``fill``. Shape ``(window, channels)``: numpy reduces across rows far faster than
    along many short rows. Slots fill from 0, so a channel holding ``n < window``
    samples holds them in slots ``0 .. n-1``.
    """

    __slots__ = ("buffer", "counts", "positions", "window")

    def __init__(self, window: int, channels: int, fill: float) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        _check_channels(channels)
        self.window = window
        self.buffer: FloatArray = np.full((window, channels), fill)
        self.positions: IndexArray = np.zeros(channels, dtype=np.intp)
        self.counts: IndexArray = np.zeros(channels, dtype=np.intp)

    def push(self, rows: IndexArray, values: FloatArray) -> None:
        self.buffer[self.positions[rows], rows] = values
        self.positions[rows] = (self.positions[rows] + 1) % self.window
        self.counts[rows] = np.minimum(self.counts[rows] + 1, self.window)


class MovingAverage:
    """Mean of the last ``window`` non-NaN samples of each channel.

    A NaN input passes nothing for that channel (no new sample reached the edge), so
    this stage never loses a value it was given.
    """

    loss: LossKind = "rejected"

    def __init__(self, window: int, channels: int) -> None:
        # Zero padding: a row's plain sum is the sum of the samples it holds.
        self._history = _History(window, channels, 0.0)

    def process(self, now_s: float, values: FloatArray) -> FloatArray:
        history = self._history
        rows = np.flatnonzero(~np.isnan(values))
        history.push(rows, values[rows])
        out = np.full(values.shape, np.nan)
        # Summing every channel beats gathering the valid ones first; most are valid.
        out[rows] = history.buffer.sum(axis=0)[rows] / history.counts[rows]
        return out


class OutlierRejection:
    """Causal Hampel filter: drop a sample far from the median of the recent samples.

    A sample ``x`` is rejected when ``|x - median| > k * max(1.4826 * MAD, min_scale)``
    over the channel's last ``window`` non-NaN samples, once at least three are held.

    The window holds every sample, rejected or not: with only accepted samples a genuine
    level shift (the failure signature a maintenance policy is looking for) would be
    rejected forever, while the median already ignores isolated spikes. A shift is
    accepted within about half a window. When the history is constant (MAD = 0) and
    ``min_scale`` is 0, the spread is unknown and the sample passes, rather than
    silencing a quantised sensor the first time it steps by one quantum.

    Small windows estimate the spread poorly: on Gaussian noise with ``k = 3`` about 5 %
    of samples are rejected at ``window = 11``, 2 % at 21, 0.8 % at 51 (0.27 % in the
    limit).

    Args:
        window: samples in the history (>= 3).
        k: threshold in robust standard deviations (3 is Hampel's three-sigma rule).
        channels: number of channels.
        min_scale: floor of the robust standard deviation, in the unit of the values.
    """

    loss: LossKind = "rejected"

    def __init__(self, window: int, k: float, channels: int, min_scale: float = 0.0) -> None:
        if window < 3:
            raise ValueError(f"Hampel window must hold at least 3 samples, got {window}")
        if not k > 0:
            raise ValueError(f"k must be > 0, got {k}")
        if not min_scale >= 0:
            raise ValueError(f"min_scale must be >= 0, got {min_scale}")
        self.k = k
        self.min_scale = min_scale
        self._history = _History(window, channels, np.nan)

    def process(self, now_s: float, values: FloatArray) -> FloatArray:
        history = self._history
        counts = history.counts
        # Whole-array work: most channels have a sample each period. Rows that hold
        # nothing give a NaN median, and NaN compares False below. Contiguous rows
        # per channel are about twice as fast to partition as the buffer's columns.
        held = np.ascontiguousarray(history.buffer.T)
        median = _row_medians(held, counts)
        mad = _row_medians(np.abs(held - median[:, None]), counts)
        scale = np.maximum(MAD_TO_STD * mad, self.min_scale)
        outlier = (counts >= 3) & (scale > 0.0) & (np.abs(values - median) > self.k * scale)
        rows = np.flatnonzero(~np.isnan(values))
        history.push(rows, values[rows])
        return np.where(outlier, np.nan, values)


class ReportByException:
    """Passes a channel's value only when it moved more than ``deadband`` since the last
    value passed, or when ``heartbeat_s`` has elapsed since then (so silence means "no
    change", not "sensor dead"). The first value of each channel always passes.
    """

    loss: LossKind = "suppressed"

    def __init__(self, deadband: float, heartbeat_s: float | None, channels: int) -> None:
        if not deadband >= 0:
            raise ValueError(f"deadband must be >= 0, got {deadband}")
        if heartbeat_s is not None and not heartbeat_s > 0:
            raise ValueError(f"heartbeat_s must be > 0, got {heartbeat_s}")
        _check_channels(channels)
        self.deadband = deadband
        self.heartbeat_s = heartbeat_s
        self.last_sent: FloatArray = np.full(channels, np.nan)
        self.last_sent_at_s: FloatArray = np.full(channels, -np.inf)

    def process(self, now_s: float, values: FloatArray) -> FloatArray:
        valid = ~np.isnan(values)
        # NaN last_sent compares False, so the first value of a channel needs its own term.
        send = valid & (
            np.isnan(self.last_sent) | (np.abs(values - self.last_sent) > self.deadband)
        )
        if self.heartbeat_s is not None:
            # Sampling times are sums of float periods; without the slack a 1 s heartbeat
            # at a 0.1 s period would wait one period too long now and then. The rounding
            # error grows with the clock, so the slack does too.
            slack_s = 1e-9 * max(self.heartbeat_s, abs(now_s))
            due = now_s - self.last_sent_at_s >= self.heartbeat_s - slack_s
            send |= valid & due
        self.last_sent[send] = values[send]
        self.last_sent_at_s[send] = now_s
        return np.where(send, values, np.nan)


# -- delivery ---------------------------------------------------------------------------


class ReadingBoard:
    """What a policy reads: the latest delivered value of each channel, and the counts.

    Counters are per channel (int64 arrays). Every sample taken ends as exactly one of
    dropped (no value at the sensor: dropout or a NaN true value), rejected (outlier),
    suppressed (report by exception) or sent; every sent reading is later delivered,
    stale (arrived after a newer one for its channel, so ignored) or still in flight.

    Args:
        channels: number of channels.
    """

    def __init__(self, channels: int) -> None:
        _check_channels(channels)
        self.channels = channels
        self.values: FloatArray = np.full(channels, np.nan)
        self.measured_at_s: FloatArray = np.full(channels, np.nan)
        self.delivered_at_s: FloatArray = np.full(channels, np.nan)
        self._subscribers: list[Subscriber] = []
        self.reset_counters()

    def reset_counters(self) -> None:
        """Zero every counter (at the end of the warm-up); latest values are kept."""
        self.taken: CountArray = np.zeros(self.channels, dtype=np.int64)
        self.dropped: CountArray = np.zeros(self.channels, dtype=np.int64)
        self.rejected: CountArray = np.zeros(self.channels, dtype=np.int64)
        self.suppressed: CountArray = np.zeros(self.channels, dtype=np.int64)
        self.sent: CountArray = np.zeros(self.channels, dtype=np.int64)
        self.delivered: CountArray = np.zeros(self.channels, dtype=np.int64)
        self.stale: CountArray = np.zeros(self.channels, dtype=np.int64)

    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback(now_s, channel_indices)`` after each delivery of fresh readings."""
        self._subscribers.append(callback)

    def deliver(
        self, now_s: float, measured_at_s: float, channels: IndexArray, values: FloatArray
    ) -> None:
        """Receive readings taken at ``measured_at_s`` for ``channels`` (unique indices).

        A reading older than the one a channel already shows is counted stale and ignored.
        """
        if channels.size == 0:
            return
        fresh_all = deliver_fresh(
            now_s,
            measured_at_s,
            channels,
            values,
            self.values,
            self.measured_at_s,
            self.delivered_at_s,
            self.delivered,
        )
        if not fresh_all:
            # "not newer-shown" rather than "older-or-equal" so NaN (nothing yet) accepts.
            fresh = ~(self.measured_at_s[channels] > measured_at_s)
            self.stale[channels[~fresh]] += 1
            channels = channels[fresh]
            if channels.size == 0:
                return
            self.values[channels] = values[fresh]
            self.measured_at_s[channels] = measured_at_s
            self.delivered_at_s[channels] = now_s
            self.delivered[channels] += 1
        for callback in self._subscribers:
            callback(now_s, channels)

    def age_s(self, now_s: float) -> FloatArray:
        """Seconds since each channel's shown value was measured (NaN before any)."""
        return now_s - self.measured_at_s

    def totals(self) -> dict[str, int]:
        """Every counter summed over channels, plus ``in_flight`` (sent, not yet arrived)."""
        totals = {
            "taken": int(self.taken.sum()),
            "dropped": int(self.dropped.sum()),
            "rejected": int(self.rejected.sum()),
            "suppressed": int(self.suppressed.sum()),
            "sent": int(self.sent.sum()),
            "delivered": int(self.delivered.sum()),
            "stale": int(self.stale.sum()),
        }
        totals["in_flight"] = totals["sent"] - totals["delivered"] - totals["stale"]
        return totals

    @property
    def compression_ratio(self) -> float:
        """Samples taken per reading sent (>= 1; inf if none sent, NaN if none taken)."""
        taken = int(self.taken.sum())
        sent = int(self.sent.sum())
        if taken == 0:
            return math.nan
        return taken / sent if sent else math.inf


class SensorFeed:
    """A SimPy process that samples, filters and transmits ``signal`` every period.

    The first sample is taken when the feed is created, then one every
    ``model.spec.period_s``. The readings of one sample form one message with one
    latency (a gateway batch: one SimPy event per period for all channels); a feed whose
    channels need independent delays should be split into several feeds. Messages are
    delivered in the order they were sent, a message waiting behind a slower earlier one
    (as over an ordered transport such as MQTT over TCP), so a newer reading is never
    overwritten by an older one.

    Args:
        env: the SimPy environment.
        name: the feed's name (streams, reports).
        signal: returns the true values of every channel.
        model: the sensor.
        stages: the edge pipeline, run in order.
        board: receives the readings; must have ``model.channels`` channels.
        latency_mean_s: mean transmission delay (0 = delivered at once).
        latency_jitter_s: standard deviation of the delay (<= the mean), see
            :class:`PipelineSpec`.
        latency_rng: the generator delays are drawn from; required when delayed. One
            value is drawn per sample, whether or not anything survives the pipeline.
    """

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        signal: Signal,
        model: SensorModel,
        stages: Sequence[Stage],
        board: ReadingBoard,
        latency_mean_s: float = 0.0,
        latency_jitter_s: float = 0.0,
        latency_rng: np.random.Generator | None = None,
    ) -> None:
        if board.channels != model.channels:
            raise ValueError(
                f"feed {name!r}: board has {board.channels} channels, sensor {model.channels}"
            )
        if not 0.0 <= latency_jitter_s <= latency_mean_s:
            raise ValueError(
                f"feed {name!r}: need 0 <= latency_jitter_s <= latency_mean_s, got "
                f"{latency_jitter_s} and {latency_mean_s}"
            )
        if latency_mean_s > 0.0 and latency_rng is None:
            raise ValueError(f"feed {name!r}: a delayed feed needs latency_rng")
        self.env = env
        self.name = name
        self.signal = signal
        self.model = model
        self.stages = list(stages)
        self.board = board
        self.latency_mean_s = latency_mean_s
        self.latency_jitter_s = latency_jitter_s
        self._latency_rng = latency_rng
        self.backend_delay: Callable[[], float] | None = None
        """Seconds a reading spends behind the transmission before anyone sees it (a
        cloud's ingestion latency now), added to every delayed sample's delay; a scenario
        that wires a backend sets it. ``None``: the transmission delay alone."""
        self._last_arrival_s = -math.inf
        self.unread_until_s = -math.inf
        """Nothing reads the board before this time (the scenario that sets it vouches
        for that): a reading arriving earlier is delivered as the sample sends it, stamped
        with its arrival time, instead of by an event at that time. The traffic city sets
        it for its own feeds (:mod:`twin.traffic.feeds`)."""
        self._scheduled = 0  # deliveries waiting for their event: a later one waits too
        self.hold_at_s = -math.inf
        """An instant at which a reading that has not arrived yet is held for
        :meth:`settle_held` instead of being scheduled: the scenario that sets it settles
        the feed at that same instant, before anyone can read what has not arrived (the
        traffic city, whose own feeds sample just before it decides and runs on,
        :mod:`twin.traffic.feeds`)."""
        self._held: list[tuple[float, float, IndexArray, FloatArray]] = []
        self.sample_ahead: Callable[[SensorFeed, float], bool] | None = None
        """Called with the time of the feed's next sample: whether it may be taken now,
        with the one due now (:meth:`sample_at`). A scenario sets it where the signal
        reads a later time's values (a :class:`TimedSignal`) and nothing reads the board
        before then, so many samples cost one event (the traffic city's own feeds
        between its wake-ups, :mod:`twin.traffic.feeds`)."""
        self.process = env.process(self._run())

    @classmethod
    def attach(
        cls,
        world: World,
        name: str,
        signal: Signal,
        config: SensorConfig,
        channels: int,
        board: ReadingBoard | None = None,
    ) -> SensorFeed:
        """A feed in ``world`` built from ``config``, drift counted from now.

        Noise and dropout come from stream ``sensors.<name>.noise`` and delays from
        ``sensors.<name>.latency``, so feeds never shift each other's random numbers.
        """
        pipeline = config.pipeline
        model = SensorModel(
            config.sensor, channels, world.streams[f"sensors.{name}.noise"], world.now_s
        )
        board = board if board is not None else ReadingBoard(channels)
        world.at_warmup_end(board.reset_counters)
        return cls(
            world.env,
            name,
            signal,
            model,
            pipeline.build(channels),
            board,
            latency_mean_s=pipeline.latency_mean_s,
            latency_jitter_s=pipeline.latency_jitter_s,
            latency_rng=world.streams[f"sensors.{name}.latency"],
        )

    def _run(self) -> simpy.events.ProcessGenerator:
        period_s = self.model.spec.period_s
        env = self.env
        while True:
            ahead = self.sample_ahead
            if ahead is None:
                self.sample()
                yield env.timeout(period_s)
                continue
            times = [float(env.now)]
            next_s = env.now + period_s  # SimPy's own arithmetic for the next sample
            while ahead(self, next_s):
                times.append(next_s)
                next_s = next_s + period_s
            self.sample_at(times)
            yield timeout_at(env, next_s)

    def sample_at(self, times: Sequence[float]) -> None:
        """Take the samples due at ``times`` (ascending; the first may be now, the others
        ahead of the clock, as :attr:`sample_ahead` allowed), in order: the same draws,
        values and deliveries as one :meth:`sample` at each time. The signal must read
        any of those times (:class:`TimedSignal`)."""
        at_times = getattr(self.signal, "at_times", None)
        if at_times is None:
            raise TypeError(f"feed {self.name!r}: sampling ahead needs a TimedSignal")
        sample_times = np.array(times, dtype=np.float64)
        rows = np.asarray(at_times(sample_times), dtype=np.float64)
        board = self.board
        if self.stages or board._subscribers or self.backend_delay is not None:
            for at_s, true in zip(times, rows, strict=True):
                self.sample(at_s, true)
            return
        measured, sent_channels, n_sent = self.model.measure_rows(rows, sample_times, board)
        delays = np.zeros(len(times))
        if self._latency_rng is not None:
            # Drawn for every sample, even an empty one, so delays stay aligned across
            # arms; one call of len(times) draws gives the numbers of one call per sample.
            tails = self._latency_rng.standard_exponential(len(times))
            if self.latency_mean_s != 0.0:
                self._last_arrival_s = delays_into(
                    sample_times, tails, self.latency_mean_s, self.latency_jitter_s,
                    self._last_arrival_s, delays,
                )  # fmt: skip
                self._send_rows(sample_times, delays, measured, sent_channels, n_sent, True)
                return
        self._send_rows(sample_times, delays, measured, sent_channels, n_sent, False)

    def _send_rows(
        self,
        times: FloatArray,
        delays: FloatArray,
        measured: FloatArray,
        sent_channels: IndexArray,
        n_sent: IndexArray,
        delayed: bool,
    ) -> None:
        """Deliver the samples' messages at once where they arrive before
        :attr:`unread_until_s` (every one when not ``delayed``), and schedule the rest."""
        board = self.board
        if not delayed:
            unread_until_s = math.inf
        else:
            unread_until_s = -math.inf if self._scheduled else self.unread_until_s
        first_waiting = deliver_rows(
            times, delays, unread_until_s, measured, sent_channels, n_sent, board.values,
            board.measured_at_s, board.delivered_at_s, board.delivered, board.stale,
        )  # fmt: skip
        for r in range(first_waiting, len(times)):
            n = int(n_sent[r])
            if n:
                self._send(float(times[r]), float(delays[r]), sent_channels[r, :n], measured[r])

    def sample(self, at_s: float | None = None, true: npt.ArrayLike | None = None) -> None:
        """Take one sample of every channel now (or as at ``at_s``, ahead of time:
        :attr:`sample_ahead`, of the true values ``true``) and send what survives the
        pipeline."""
        now_s = float(self.env.now) if at_s is None else at_s
        board = self.board
        values = self.model.measure(self.signal() if true is None else true, now_s)
        stages = self.stages
        if not stages:
            # Taken, dropped or sent in one pass: no stage can lose a value.
            sent_buffer: IndexArray = np.empty(self.model.channels, dtype=np.intp)
            n_sent = book_sample(values, board.taken, board.dropped, board.sent, sent_buffer)
            delay_s = self._delay_s(now_s)
            if n_sent == 0:
                return
            self._send(now_s, delay_s, sent_buffer[:n_sent], values)
            return
        board.taken += 1
        missing = np.isnan(values)
        board.dropped += missing
        for stage in stages:
            values = stage.process(now_s, values)
            now_missing = np.isnan(values)
            lost = now_missing & ~missing
            if stage.loss == "suppressed":
                board.suppressed += lost
            else:
                board.rejected += lost
            missing = now_missing
        delay_s = self._delay_s(now_s)
        sent = np.logical_not(missing, out=missing)
        channels: IndexArray = sent.nonzero()[0]
        if channels.size == 0:
            return
        board.sent += sent
        self._send(now_s, delay_s, channels, values)

    def _send(
        self, now_s: float, delay_s: float | None, channels: IndexArray, values: FloatArray
    ) -> None:
        """Deliver ``values[channels]`` now (no delay) or schedule their arrival."""
        readings = values[channels]
        if delay_s is None:
            self.board.deliver(now_s, now_s, channels, readings)
            return
        arrival_s = now_s + delay_s  # SimPy's own arithmetic for the event's time
        if arrival_s < self.unread_until_s and not self._scheduled:
            self.board.deliver(arrival_s, now_s, channels, readings)
            return
        # A subscriber (perhaps one that came since the hold was set) acts on a reading
        # when it arrives: it is scheduled.
        held = self.env.now == self.hold_at_s and not self.board._subscribers
        if held and arrival_s > self.hold_at_s:
            self._held.append((arrival_s, now_s, channels, readings))
            return
        self._schedule(arrival_s, now_s, channels, readings)

    def _schedule(
        self, arrival_s: float, measured_at_s: float, channels: IndexArray, readings: FloatArray
    ) -> None:
        """The reading's delivery as an event at its arrival (after any still waiting)."""
        self._scheduled += 1
        arrival = timeout_at(self.env, arrival_s)  # the sample may be ahead of the clock
        arrival.callbacks.append(partial(self._arrive, measured_at_s, channels, readings))

    def settle_held(self, unread_until_s: float = -math.inf) -> None:
        """Stop holding (:attr:`hold_at_s`): deliver the held readings that arrive before
        ``unread_until_s`` (no one reads the board before then), stamped with their
        arrival, and schedule the others, in the order they were sent."""
        self.hold_at_s = -math.inf
        if not self._held:  # the usual case: settled at every kernel call of the city
            return
        held, self._held = self._held, []
        for arrival_s, measured_at_s, channels, readings in held:
            if arrival_s < unread_until_s and not self._scheduled:
                self.board.deliver(arrival_s, measured_at_s, channels, readings)
            else:
                self._schedule(arrival_s, measured_at_s, channels, readings)

    def _delay_s(self, now_s: float) -> float | None:
        """This sample's delay, kept behind the previous message's arrival; None = none."""
        if self._latency_rng is None:
            return None
        # Drawn for every sample, even an empty one, so delays stay aligned across arms.
        tail = self._latency_rng.standard_exponential()
        if self.latency_mean_s == 0.0 and self.backend_delay is None:
            return None
        delay_s = self.latency_mean_s - self.latency_jitter_s + self.latency_jitter_s * tail
        if self.backend_delay is not None:
            delay_s += max(self.backend_delay(), 0.0)
        delay_s = kept_behind(now_s, delay_s, self._last_arrival_s)
        self._last_arrival_s = now_s + delay_s
        return delay_s

    def _arrive(
        self, measured_at_s: float, channels: IndexArray, readings: FloatArray, _: Any
    ) -> None:
        self._scheduled -= 1
        self.board.deliver(float(self.env.now), measured_at_s, channels, readings)
