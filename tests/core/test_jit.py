"""Numba's cache is dropped for every module of a kernel when any of them changes;
a repeated call skips the dispatcher only while its arguments keep their types."""

import os
from collections import namedtuple

import numba
import numpy as np
import pytest
from numba import njit

from twin.core.jit import RepeatedCall, _same_numba_type, drop_stale_numba_cache


def test_an_older_cache_of_any_module_goes_and_a_fresh_one_stays(tmp_path):
    kernel, helper = tmp_path / "kernel.py", tmp_path / "helper.py"
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    kernel.write_text("")
    helper.write_text("")
    stale = [cache / "kernel.step-10.py311.nbi", cache / "kernel.step-10.py311.1.nbc"]
    fresh = [cache / "helper.go-3.py311.nbi", cache / "helper.go-3.py311.1.nbc"]
    for path in (*stale, *fresh):
        path.write_text("")
    os.utime(kernel, (100, 100))
    for path in stale:
        os.utime(path, (150, 150))  # compiled before the helper changed
    os.utime(helper, (200, 200))
    for path in fresh:
        os.utime(path, (300, 300))
    assert drop_stale_numba_cache([kernel, helper]) == 1
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in fresh] == [True, True]
    assert drop_stale_numba_cache([kernel, helper]) == 0


# -- RepeatedCall --------------------------------------------------------------------------

Pair = namedtuple("Pair", "left right")


@njit
def _total(pair, scale, buffer):
    buffer[0] = (pair.left.sum() + pair.right.sum()) * scale
    return buffer[0]


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="without Numba there is no dispatcher")
def test_a_repeated_call_answers_as_the_dispatcher_while_the_structures_stay(monkeypatch):
    call = RepeatedCall(_total)
    pair, buffer = Pair(np.arange(3.0), np.ones(2)), np.zeros(1)
    assert call(pair, 2.0, buffer) == 10.0  # the dispatcher's call, which binds

    def dispatcher(*args):
        raise AssertionError("the dispatcher was asked again")

    monkeypatch.setattr(call, "_function", dispatcher)
    pair.left[0] = 4.0  # same objects, new contents
    assert call(pair, 0.5, buffer) == 4.5
    assert buffer[0] == 4.5


def test_a_refilled_buffer_of_the_same_type_is_taken_and_another_type_goes_to_numba():
    call = RepeatedCall(_total)
    pair = Pair(np.arange(3.0), np.ones(2))
    assert call(pair, 1.0, np.zeros(1)) == 5.0
    refilled = np.zeros(4)
    assert call(pair, 1.0, refilled) == 5.0
    assert refilled[0] == 5.0
    # Integer arrays and an int scale are new Numba types: compiled, then answered right.
    ints = Pair(np.arange(3), np.ones(2, dtype=np.int64))
    assert call(ints, 3, np.zeros(1, dtype=np.int64)) == 15
    assert call(pair, 1.0, np.zeros(1)) == 5.0


def test_a_read_only_array_is_a_type_of_its_own():
    call = RepeatedCall(_total)
    left = np.arange(3.0)
    assert call(Pair(left, np.ones(2)), 1.0, np.zeros(1)) == 5.0
    frozen = np.arange(3.0)
    frozen.setflags(write=False)
    # Numba types a read-only array apart (and would refuse to write one).
    assert not _same_numba_type(frozen, left)
    assert call(Pair(frozen, np.ones(2)), 1.0, np.zeros(1)) == 5.0


def test_without_numba_the_function_is_called_as_it_is():
    seen = []
    call = RepeatedCall(lambda *args: seen.append(args) or len(seen))
    assert call(1, 2) == 1
    assert call(1, 2) == 2
    assert seen == [(1, 2), (1, 2)]
