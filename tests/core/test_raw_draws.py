"""Draws made from a generator's raw words are numpy's draws, bit for bit, word for word."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.core.raw_draws import (
    BLOCK_WORDS,
    OUT_OF_WORDS,
    draw_normals_uniforms,
    words_of,
)
from twin.core.sensors import ReadingBoard, SensorModel, SensorSpec
from twin.core.streams import Streams


def generator(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def next_word(source: np.random.Generator) -> int:
    """The next word the buffer of ``source`` would use."""
    words = words_of(source)
    if words.pos == len(words.words):
        words.more()
    return int(words.words[words.pos])


@pytest.mark.parametrize("n", [1, 7, 300])
def test_normals_then_uniforms_are_numpys_over_a_million_draws(n: int) -> None:
    # A million normals pass through every branch of the ziggurat: about 260 draws in
    # the tail beyond 3.65 and 10,000 in the wedges.
    ours, theirs = generator(11), generator(11)
    words = words_of(ours)
    noise, uniform = np.empty(n), np.empty(n)
    for _ in range(1_000_000 // n):
        words.normals_uniforms(noise, uniform)
        assert noise.tobytes() == theirs.standard_normal(n).tobytes()
        assert uniform.tobytes() == theirs.random(n).tobytes()
    assert next_word(ours) == int(theirs.bit_generator.random_raw())


def test_a_draw_that_runs_out_of_words_uses_none() -> None:
    raw = generator(3).bit_generator.random_raw(10)
    noise, uniform = np.empty(8), np.empty(8)
    assert draw_normals_uniforms(raw, 0, 8, noise, uniform) == OUT_OF_WORDS
    assert draw_normals_uniforms(raw, 2, 5, noise, uniform) == OUT_OF_WORDS
    end = draw_normals_uniforms(raw, 2, 3, noise, uniform)
    reference = generator(3)
    reference.bit_generator.advance(2)
    assert noise[:3].tobytes() == reference.standard_normal(3).tobytes()
    assert uniform[:3].tobytes() == reference.random(3).tobytes()
    assert raw[end] == reference.bit_generator.random_raw()


@given(batches=st.lists(st.integers(1, 9), min_size=1, max_size=12), channels=st.integers(1, 40))
def test_where_a_stream_stands_depends_on_the_draws_not_on_their_batching(
    batches: list[int], channels: int
) -> None:
    # The same samples, one at a time and in batches: the same values, the same words
    # used and the same blocks drawn (a live twin's snapshot digest reads the streams).
    spec = SensorSpec(period_s=1.0, noise_std=1.0, dropout_prob=0.3)
    single = SensorModel(spec, channels, generator(5))
    batched = SensorModel(spec, channels, generator(5))
    board = ReadingBoard(channels)
    now_s = 0.0
    for k in batches:
        times = now_s + np.arange(k, dtype=np.float64)
        true = np.tile(np.arange(channels, dtype=np.float64), (k, 1))
        one_by_one = np.array([single.measure(true[r], times[r]) for r in range(k)])
        together, _, _ = batched.measure_rows(true, times, board)
        assert together.tobytes() == one_by_one.tobytes()
        now_s += k
    assert single.words.pos == batched.words.pos
    assert single._rng.bit_generator.state == batched._rng.bit_generator.state


def test_every_user_of_a_generator_shares_its_words() -> None:
    shared = generator(8)
    first = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0), 3, shared)
    second = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0), 5, shared)
    assert first.words is second.words
    reference = generator(8)
    a = first.measure(np.zeros(3), 0.0)
    b = second.measure(np.zeros(5), 0.0)
    assert a.tobytes() == reference.standard_normal(3).tobytes()
    reference.random(3)
    assert b.tobytes() == reference.standard_normal(5).tobytes()


def test_a_diverging_branch_drops_the_words_drawn_ahead() -> None:
    streams, fresh = Streams(42), Streams(42)
    model = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0), 4, streams["sensors.x.noise"])
    model.measure(np.zeros(4), 0.0)
    assert len(model.words.words) - model.words.pos > 0  # words drawn ahead
    streams.diverge(1)
    fresh.diverge(1)
    expected = fresh["sensors.x.noise"].standard_normal(4)
    assert model.measure(np.zeros(4), 1.0).tobytes() == expected.tobytes()


@pytest.mark.parametrize("copy_of", [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy])
def test_a_copied_model_draws_what_the_original_draws(copy_of) -> None:
    model = SensorModel(SensorSpec(period_s=1.0, noise_std=1.0), 6, generator(9))
    for t in range(BLOCK_WORDS // 12 + 3):  # past the first block
        model.measure(np.zeros(6), float(t))
    copied = copy_of(model)
    assert copied.words is not model.words
    assert copied.words.source is copied._rng
    for t in range(700):
        original = model.measure(np.zeros(6), float(t))
        assert copied.measure(np.zeros(6), float(t)).tobytes() == original.tobytes()


def test_a_buffer_that_goes_away_gives_its_unused_words_back() -> None:
    # A model built anew on the same stream draws on from where the last one stopped.
    shared, reference = generator(4), generator(4)
    spec = SensorSpec(period_s=1.0, noise_std=1.0)
    first = SensorModel(spec, 3, shared)
    assert first.measure(np.zeros(3), 0.0).tobytes() == reference.standard_normal(3).tobytes()
    reference.random(3)
    del first
    assert shared.random() == reference.random()


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_a_generator_of_another_family_draws_through_numpy(bit_generator) -> None:
    model = SensorModel(
        SensorSpec(period_s=1.0, noise_std=1.0), 4, np.random.Generator(bit_generator(2))
    )
    reference = np.random.Generator(bit_generator(2))
    assert model.words is None
    assert model.measure(np.zeros(4), 0.0).tobytes() == reference.standard_normal(4).tobytes()
    together, _, _ = model.measure_rows(np.zeros((2, 4)), np.array([1.0, 2.0]), ReadingBoard(4))
    reference.random(4)
    first = reference.standard_normal(4)
    reference.random(4)
    assert together[0].tobytes() == first.tobytes()
    assert together[1].tobytes() == reference.standard_normal(4).tobytes()


def test_pcg64_dxsm_words_are_its_doubles_too() -> None:
    ours = np.random.Generator(np.random.PCG64DXSM(6))
    theirs = np.random.Generator(np.random.PCG64DXSM(6))
    noise, uniform = np.empty(5000), np.empty(5000)
    words_of(ours).normals_uniforms(noise, uniform)
    assert noise.tobytes() == theirs.standard_normal(5000).tobytes()
    assert uniform.tobytes() == theirs.random(5000).tobytes()
