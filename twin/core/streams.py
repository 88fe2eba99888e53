"""Named random streams with common random numbers across policy arms.

``Streams(seed)["factory.failures"]`` is a :class:`numpy.random.Generator` whose
``SeedSequence`` is keyed by a stable hash of the name. Adding or using another stream
never shifts this one, so two policy arms run with the same seed see the same arrivals,
failures and demand wherever they draw from the same stream names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

BlockDraw = Callable[[int], "np.ndarray[Any, np.dtype[np.float64]]"]
"""Draws ``size`` values in one call, e.g. ``lambda n: rng.exponential(2.0, n)``."""

STREAM_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/")
SEED_BOUND = 2**63
"""Root seeds are in [0, 2**63): what a config and ``twin run --seed`` accept."""


def replication_seed(seed: int, replication: int) -> int:
    """The root seed of replication ``i``: shared by every arm and point (common numbers).

    Each run is then an ordinary single run (``twin run --seed <this>`` reproduces it).
    """
    state = np.random.SeedSequence(seed, spawn_key=(replication,)).generate_state(2, np.uint64)
    return int(state[0]) % SEED_BOUND


def stream_key(name: str) -> tuple[int, ...]:
    """Four 32-bit words from a BLAKE2b digest of ``name``: stable across runs and hosts.

    Python's ``hash`` is salted per process, so it cannot key a stream.
    """
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """A family of independent, named random generators derived from one seed.

    Args:
        seed: the root entropy of the run (non-negative int).
        path: an optional prefix of the spawn key, e.g. ``(replication,)``, so a batch can
            derive one stream family per replication that every policy arm shares.
    """

    def __init__(self, seed: int, path: tuple[int, ...] = ()) -> None:
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.seed = seed
        self.path = path
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            if not name or not set(name) <= STREAM_NAME_CHARS:
                raise ValueError(
                    f"stream name {name!r} must be non-empty lowercase letters, digits and . _ - /"
                )
            sequence = np.random.SeedSequence(self.seed, spawn_key=(*self.path, *stream_key(name)))
            generator = np.random.Generator(np.random.PCG64(sequence))
            self._generators[name] = generator
        return generator

    def child(self, *path: int) -> Streams:
        """Streams for a sub-run (e.g. replication ``i``): same names, independent draws."""
        return Streams(self.seed, (*self.path, *path))

    def names(self) -> list[str]:
        """The names of the streams drawn from so far, sorted."""
        return sorted(self._generators)


class Draws:
    """Scalar draws served from blocks drawn in one numpy call.

    A numpy scalar draw costs about a microsecond of call overhead; a SimPy process that
    draws per event spends more time in that call than in the event. ``Draws`` keeps the
    sequence identical to drawing the same distribution in blocks of ``block`` values.

    Example:
        >>> gaps = Draws(lambda n: rng.exponential(2.0, n))
        >>> next(gaps)
    """

    __slots__ = ("_block", "_draw", "_iterator")

    def __init__(self, draw_block: BlockDraw, block: int = 4096) -> None:
        if block < 1:
            raise ValueError(f"block must be at least 1, got {block}")
        self._draw = draw_block
        self._block = block
        self._iterator: Iterator[float] = iter(())

    def __iter__(self) -> Draws:
        return self

    def __next__(self) -> float:
        try:
            return next(self._iterator)
        except StopIteration:
            self._iterator = iter(self._draw(self._block).tolist())
            return next(self._iterator)
