"""Named random streams with common random numbers across policy arms.

``Streams(seed)["factory.failures"]`` is a :class:`numpy.random.Generator` whose
``SeedSequence`` is keyed by a stable hash of the name. Adding or using another stream
never shifts this one, so two policy arms run with the same seed see the same arrivals,
failures and demand wherever they draw from the same stream names.
"""

from __future__ import annotations

import hashlib
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import numpy as np

from twin.core.raw_draws import forget_words

BlockDraw = Callable[[int], "np.ndarray[Any, np.dtype[np.float64]]"]
"""Draws ``size`` values in one call, e.g. ``lambda n: rng.exponential(2.0, n)``."""

STREAM_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/")
DIVERGED = 0x7B1A_9C3D
"""Spawn-key word that marks a diverged branch's streams (:meth:`Streams.diverge`)."""
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
        self._branch: tuple[int, ...] = ()
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            if not name or not set(name) <= STREAM_NAME_CHARS:
                raise ValueError(
                    f"stream name {name!r} must be non-empty lowercase letters, digits and . _ - /"
                )
            generator = np.random.Generator(np.random.PCG64(self._sequence(name)))
            self._generators[name] = generator
        return generator

    def _sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(
            self.seed, spawn_key=(*self.path, *stream_key(name), *self._branch)
        )

    def diverge(self, branch: int) -> None:
        """Give every stream, from now on, draws of its own for what-if branch ``branch``.

        A forked world shares its future random numbers with its sibling branches
        (common random numbers); a branch that should see another possible future (a
        replication of a look-ahead) diverges. Generators are re-seeded in place, so the
        entities holding them draw the new numbers. Values drawn ahead in blocks are
        dropped where the :class:`Draws` names its source, and raw words drawn ahead
        (:mod:`twin.core.raw_draws`) too; arrays a model drew ahead itself stay as drawn.
        """
        if branch < 0:
            raise ValueError(f"branch must be a non-negative integer, got {branch}")
        self._branch = (DIVERGED, branch)
        for name, generator in self._generators.items():
            generator.bit_generator.state = np.random.PCG64(self._sequence(name)).state
        Draws.forget_drawn(self._generators.values())
        forget_words(self._generators.values())

    def state_digest(self) -> str:
        """A hash of every stream's position: two worlds that drew the same numbers in
        the same order have the same digest (a resumed snapshot proves it is exact)."""
        states = {name: self._generators[name].bit_generator.state for name in self.names()}
        text = repr(sorted(states.items()))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

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

    __slots__ = ("__weakref__", "_block", "_draw", "_iterator", "_source")

    # Every Draws with a source, so that a diverging branch (Streams.diverge) can drop
    # the values drawn ahead from its streams. Weak: a Draws lives as long as its user.
    _with_source: ClassVar[weakref.WeakSet[Draws]] = weakref.WeakSet()

    def __init__(
        self,
        draw_block: BlockDraw,
        block: int = 4096,
        *,
        source: np.random.Generator | None = None,
    ) -> None:
        if block < 1:
            raise ValueError(f"block must be at least 1, got {block}")
        self._draw = draw_block
        self._block = block
        self._iterator: Iterator[float] = iter(())
        self._source = source
        if source is not None:
            Draws._with_source.add(self)

    @classmethod
    def forget_drawn(cls, sources: Iterable[np.random.Generator]) -> None:
        """Drop the values drawn ahead from ``sources``: the next value is drawn anew."""
        wanted = {id(source) for source in sources}
        for draws in list(cls._with_source):
            if id(draws._source) in wanted:
                draws._iterator = iter(())

    def __iter__(self) -> Draws:
        return self

    def __next__(self) -> float:
        try:
            return next(self._iterator)
        except StopIteration:
            # Kept as packed doubles (8 bytes a value, a list would hold 32): a plant of
            # 10,000 machines keeps a block per machine. Served as the same Python floats.
            values = np.ascontiguousarray(self._draw(self._block), dtype=np.float64)
            self._iterator = iter(array("d", values.tobytes()))
            return next(self._iterator)
