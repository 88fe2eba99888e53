"""Bounded caches: a dict that keeps its newest entries, for work worth keeping but not
forever (a plant's routes, a process's imported SUMO networks and trip tables)."""

from __future__ import annotations

from typing import Any


def keep_bounded(cache: dict[Any, Any], key: Any, value: Any, size: int) -> None:
    """Store ``value`` in ``cache`` under a new ``key``, dropping the oldest entries
    beyond ``size`` (dicts keep insertion order)."""
    while cache and len(cache) >= size:
        del cache[next(iter(cache))]
    cache[key] = value
