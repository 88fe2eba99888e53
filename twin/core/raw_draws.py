"""A generator's normal and uniform draws, made in compiled code from its raw words.

A sensor sample draws a normal and a uniform for each channel: two numpy calls of about
a microsecond each, more than the sample's own arithmetic. Here the generator's raw
64-bit words are drawn a block at a time (one ``BitGenerator.random_raw`` call) and
turned into the very numbers ``Generator.standard_normal`` and ``Generator.random``
return, in the same order, by numpy's own algorithms
(``numpy/random/src/distributions/distributions.c``: ``random_standard_normal``, the
ziggurat, with numpy's tables as Numba ships them; PCG64's ``next_double``, the top 53
bits). A model that draws through :class:`RawWords` therefore draws what it drew
before, bit for bit, and uses the same words (``tests/core/test_raw_draws.py`` holds
both to numpy over millions of draws).

The generator runs ahead of what has been used, by less than a block. Four rules keep
that invisible:

- a block is drawn only when a draw needs a word past the buffer, so where a stream
  stands is a function of what was drawn from it, however the draws were batched (a
  snapshot's digest, :meth:`twin.core.streams.Streams.state_digest`);
- every user of one generator shares its one buffer (:func:`words_of`), so draws
  interleave as they did;
- a buffer that goes away gives its unused words back (the generator steps back), so
  whoever draws from the generator next draws them;
- a diverging what-if branch drops the words drawn ahead (:func:`forget_words`).

Only the PCG64 family's words are numpy's doubles this way (``next_double`` is the top 53
bits of one word) and only it steps back: :func:`has_raw_words` says whether a generator
is one; twin's streams all are.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba.np.random._constants import (  # numpy's ziggurat_constants.h, as Numba ships it
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

WordArray = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]

BLOCK_WORDS = 4096
"""Raw words drawn at a time (32 KiB): a block lasts a 44-channel feed 46 samples."""
OUT_OF_WORDS = -1
"""What a kernel returns when the buffer ended before its draws did (nothing used)."""

_LOW_BYTE = np.uint64(0xFF)
_MANTISSA = np.uint64(0x000F_FFFF_FFFF_FFFF)


@numba.njit(cache=True)
def _unit_double(word: np.uint64) -> float:
    """PCG64's ``next_double``: the top 53 bits of a word, in [0, 1)."""
    return float(word >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def draw_normals_uniforms(
    words: WordArray, pos: int, n: int, noise: FloatArray, uniform: FloatArray
) -> int:
    """``n`` standard normals into ``noise`` then ``n`` uniforms into ``uniform``, from
    ``words[pos:]``: what ``standard_normal(n)`` then ``random(n)`` give. Returns the
    position after the last word used, or :data:`OUT_OF_WORDS` (the outputs then hold
    nothing meaningful; nothing was used)."""
    end = words.shape[0]
    for i in range(n):
        while True:  # numpy's random_standard_normal, line for line
            if pos >= end:
                return OUT_OF_WORDS
            r = words[pos]
            pos += 1
            idx = r & _LOW_BYTE
            r >>= np.uint64(8)
            sign = r & np.uint64(1)
            rabs = (r >> np.uint64(1)) & _MANTISSA
            x = rabs * wi_double[idx]
            if sign:
                x = -x
            if rabs < ki_double[idx]:
                break  # 99.3% of draws end here
            if idx == 0:  # the tail beyond ziggurat_nor_r
                while True:
                    if pos + 2 > end:
                        return OUT_OF_WORDS
                    xx = -ziggurat_nor_inv_r * np.log1p(-_unit_double(words[pos]))
                    yy = -np.log1p(-_unit_double(words[pos + 1]))
                    pos += 2
                    if yy + yy > xx * xx:
                        if (rabs >> np.uint64(8)) & np.uint64(1):
                            x = -(ziggurat_nor_r + xx)
                        else:
                            x = ziggurat_nor_r + xx
                        break
                break
            if pos >= end:
                return OUT_OF_WORDS
            u = _unit_double(words[pos])
            pos += 1
            if (fi_double[idx - 1] - fi_double[idx]) * u + fi_double[idx] < np.exp(-0.5 * x * x):
                break
        noise[i] = x
    if pos + n > end:
        return OUT_OF_WORDS
    for i in range(n):
        uniform[i] = _unit_double(words[pos + i])
    return pos + n


class RawWords:
    """The raw words of one generator, drawn a block at a time and used in order.

    Get it with :func:`words_of` (one per generator). A compiled draw reads ``words``
    from ``pos`` and hands back the new position, or :data:`OUT_OF_WORDS`; then
    :meth:`more` appends a block and the draw is made again from the same position.
    """

    __slots__ = ("__weakref__", "pos", "source", "words")

    def __init__(self, source: np.random.Generator) -> None:
        self.source = source
        self.words: WordArray = np.empty(0, dtype=np.uint64)
        self.pos = 0

    def more(self) -> None:
        """Append the generator's next block, dropping the words already used."""
        fresh = self.source.bit_generator.random_raw(BLOCK_WORDS)
        self.words = np.concatenate((self.words[self.pos :], fresh))
        self.pos = 0

    def __del__(self) -> None:
        unused = len(self.words) - self.pos
        if not unused:
            return
        # At interpreter shutdown numpy may be half gone: then nobody draws any more.
        with contextlib.suppress(Exception):
            bit_generator = self.source.bit_generator
            if isinstance(bit_generator, np.random.PCG64 | np.random.PCG64DXSM):
                bit_generator.advance(-unused)

    def forget(self) -> None:
        """Drop the words drawn ahead: the next draw starts from the generator's state."""
        self.words = np.empty(0, dtype=np.uint64)
        self.pos = 0

    def normals_uniforms(self, noise: FloatArray, uniform: FloatArray) -> None:
        """Fill ``noise`` with standard normals, then ``uniform`` with uniforms."""
        n = noise.shape[0]
        while True:
            pos = draw_normals_uniforms(self.words, self.pos, n, noise, uniform)
            if pos != OUT_OF_WORDS:
                self.pos = pos
                return
            self.more()

    def __reduce__(self) -> tuple[Any, ...]:
        # A copied world (a fork, a pickled run) shares the copy with the copied generator.
        return (_restored, (self.source, self.words, self.pos))


_BY_SOURCE: weakref.WeakValueDictionary[int, RawWords] = weakref.WeakValueDictionary()
"""The buffer of each generator in use, by the generator's id (a Generator cannot be
weakly referenced; its buffer holds it, so the id is not reused while the entry lives)."""


def has_raw_words(source: np.random.Generator) -> bool:
    """Whether draws from ``source`` can come from its raw words (a PCG64 generator)."""
    return isinstance(source.bit_generator, np.random.PCG64 | np.random.PCG64DXSM)


def words_of(source: np.random.Generator) -> RawWords:
    """The one buffer of ``source``'s raw words (see :func:`has_raw_words`)."""
    if not has_raw_words(source):
        raise ValueError(f"raw words need a PCG64 generator, not {source.bit_generator!r}")
    words = _BY_SOURCE.get(id(source))
    if words is None or words.source is not source:
        words = RawWords(source)
        _BY_SOURCE[id(source)] = words
    return words


def _restored(source: np.random.Generator, buffer: WordArray, pos: int) -> RawWords:
    words = words_of(source)
    words.words = np.array(buffer, dtype=np.uint64)
    words.pos = pos
    return words


def forget_words(sources: Iterable[np.random.Generator]) -> None:
    """Drop the words drawn ahead from ``sources`` (their generators were re-seeded)."""
    for source in sources:
        words = _BY_SOURCE.get(id(source))
        if words is not None and words.source is source:
            words.forget()
