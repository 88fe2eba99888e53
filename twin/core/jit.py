"""Numba's on-disk cache, kept honest across modules.

Numba decides whether a cached compiled function is still valid from the source file of
that function alone. A kernel that calls jitted functions of other modules (the traffic
tick calls insertion, lane changing, routing, emissions and loop counting) would keep running
their old code after one of those files changed. Treating the kernel's modules as one
unit fixes that: when any of them is newer than a cache index of any of them, those
indexes go, and Numba compiles afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


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
