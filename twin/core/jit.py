"""Numba's on-disk cache kept honest across modules, and kernels called without
per-call dispatch (:class:`RepeatedCall`).

Numba decides whether a cached compiled function is still valid from the source file of
that function alone. A kernel that calls jitted functions of other modules (the traffic
tick calls insertion, lane changing, routing, emissions and loop counting) would keep running
their old code after one of those files changed. Treating the kernel's modules as one
unit fixes that: when any of them is newer than a cache index of any of them, those
indexes go, and Numba compiles afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np


def drop_stale_numba_cache(sources: Iterable[Path]) -> int:
    """Delete the Numba cache files of ``sources`` older than the newest of them.

    Only Numba's default cache location (``__pycache__`` beside the source) is looked
    at. Call it at import, before anything is compiled. Returns the number of cached
    functions dropped.
    """
    files = [Path(source) for source in sources]
    newest = max(file.stat().st_mtime for file in files)
    dropped = 0
    for file in files:
        cache = file.parent / "__pycache__"
        for index in cache.glob(f"{file.stem}.*.nbi"):
            try:
                stale = index.stat().st_mtime < newest
            except FileNotFoundError:  # another process dropped it first
                continue
            if stale:
                for data in cache.glob(f"{index.name.removesuffix('.nbi')}.*.nbc"):
                    data.unlink(missing_ok=True)
                index.unlink(missing_ok=True)
                dropped += 1
    return dropped


class RepeatedCall:
    """A compiled function called again and again on the same structures, without
    Numba's per-call type dispatch.

    Numba's dispatcher types every argument at every call. For a kernel handed two dozen
    named tuples of arrays (the traffic tick) that costs about 40 us a call, more than a
    short call's work. Here the dispatcher runs once; later calls go straight to the
    compiled code it chose (``CompileResult.entry_point``, which unboxes the arguments
    itself) as long as every argument is the object passed before, or an array or
    scalar of the same Numba type (same dtype, dimensions, layout, writeability and
    alignment: a refilled buffer). Anything else goes through the dispatcher again,
    which compiles for new types as usual. Under ``NUMBA_DISABLE_JIT`` the function is
    plain Python and is simply called.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self._compiled: Callable[..., Any] | None = None
        self._held: tuple[Any, ...] = ()

    def __call__(self, *args: Any) -> Any:
        compiled = self._compiled
        if compiled is not None and len(args) == len(self._held):
            held = self._held
            if all(a is b or _same_numba_type(a, b) for a, b in zip(args, held, strict=True)):
                # Held, not just compared: the objects stay alive, so no new object can
                # take a held one's place in memory and pass for it.
                self._held = args
                return compiled(*args)
        result = self._function(*args)
        self._bind(args)
        return result

    def _bind(self, args: tuple[Any, ...]) -> None:
        overloads = getattr(self._function, "overloads", None)
        if not overloads:  # NUMBA_DISABLE_JIT: a plain function
            return
        if len(overloads) == 1:
            chosen = next(iter(overloads.values()))
        else:  # typing every argument in Python is slow, so only when it must be
            signature = tuple(self._function.typeof_pyval(a) for a in args)  # type: ignore[attr-defined]
            chosen = overloads.get(signature)
        # No overload of exactly these types (the dispatcher converted an argument):
        # every call goes through the dispatcher, as without this class.
        self._compiled = None if chosen is None else chosen.entry_point
        self._held = args


_SCALARS = (bool, int, float, np.generic)


def _same_numba_type(new: Any, old: Any) -> bool:
    """Whether ``new`` has the Numba type of ``old``, for arrays and scalars (other
    objects only match themselves)."""
    kind = type(new)
    if kind is not type(old):
        return False
    if kind is np.ndarray:
        new_flags, old_flags = new.flags, old.flags
        return bool(
            new.dtype == old.dtype
            and new.ndim == old.ndim
            and new_flags.c_contiguous == old_flags.c_contiguous
            and new_flags.f_contiguous == old_flags.f_contiguous
            and new_flags.writeable == old_flags.writeable
            and new_flags.aligned == old_flags.aligned
        )
    return issubclass(kind, _SCALARS)
