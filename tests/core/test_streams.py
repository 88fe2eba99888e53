"""Named streams: stable, independent, and unaffected by other streams."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from twin.core.distributions import Exponential
from twin.core.streams import Draws, Streams, stream_key

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-/", min_size=1, max_size=30)


def test_stream_keys_are_fixed_forever():
    # Changing the keying would silently change every published result: pin it.
    assert stream_key("factory.failures") == (2768256264, 1892323016, 2032134942, 258688301)
    assert Streams(42)["x"].random() == pytest.approx(0.17588430640023678, abs=0)


@given(seed=st.integers(0, 2**63 - 1), name=names)
def test_same_seed_and_name_give_the_same_draws(seed, name):
    assert np.array_equal(Streams(seed)[name].random(5), Streams(seed)[name].random(5))


@given(seed=st.integers(0, 2**32), name=names, other=names)
def test_using_another_stream_never_shifts_this_one(seed, name, other):
    assume(name != other)
    alone = Streams(seed)[name].random(4)
    crowded = Streams(seed)
    crowded[other].random(100)
    assert np.array_equal(crowded[name].random(4), alone)


def test_different_names_are_independent():
    streams = Streams(7)
    a, b = streams["a"].random(20_000), streams["b"].random(20_000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.03  # |r| of independent uniforms: sd 0.007


def test_replications_differ_but_each_is_reproducible():
    root = Streams(7)
    assert root.child(0)["a"].random() != root.child(1)["a"].random()
    assert root.child(1)["a"].random() == Streams(7, (1,))["a"].random()


def test_the_stream_object_is_cached_so_draws_continue():
    streams = Streams(1)
    first = streams["a"].random()
    assert streams["a"].random() != first
    assert streams.names() == ["a"]


@pytest.mark.parametrize("bad", ["", "Upper", "has space", "ü"])
def test_stream_names_are_restricted(bad):
    with pytest.raises(ValueError, match="stream name"):
        Streams(1)[bad]


def test_negative_seed_is_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        Streams(-1)


@given(block=st.integers(1, 50), count=st.integers(0, 200))
def test_draws_serve_the_block_sequence_in_order(block, count):
    expected = np.random.default_rng(3).exponential(2.0, ((count // block) + 1) * block)
    rng = np.random.default_rng(3)
    draws = Draws(lambda n: rng.exponential(2.0, n), block)
    got = [next(draws) for _ in range(count)]
    assert got == expected[:count].tolist()


def test_a_diverged_family_draws_other_numbers_and_drops_what_was_drawn_ahead() -> None:
    trunk, branch, sibling = Streams(9), Streams(9), Streams(9)
    draws = [Exponential(mean=1.0).draws(s["gaps"], block=8) for s in (trunk, branch, sibling)]
    assert len({next(d) for d in draws}) == 1
    branch.diverge(1)
    sibling.diverge(1)
    after = [next(d) for d in draws]
    assert after[0] != after[1], "the block drawn ahead was dropped and drawn anew"
    assert after[1] == after[2], "the same branch number is the same future"
    assert branch["new-stream"].random() == sibling["new-stream"].random()
    assert branch["new-stream"].random() != trunk["new-stream"].random()


def test_the_state_digest_follows_the_draws() -> None:
    one, other = Streams(9), Streams(9)
    one["a"].random(3)
    other["a"].random(3)
    assert one.state_digest() == other.state_digest()
    other["a"].random()
    assert one.state_digest() != other.state_digest()
