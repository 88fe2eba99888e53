"""Comparable pictures of values: to see whether a policy changed what it was shown, and
whether two runs or two action sequences are the same."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel

_MAX_DEPTH = 12


def snapshot(value: Any, _depth: int = 0) -> Any:
    """A nested tuple that equals another snapshot exactly when the values are equal.

    NaN equals NaN here (a dropped-out reading stays a dropped-out reading), arrays are
    compared by dtype, shape and bytes, and objects by their public attributes: caches a
    domain object fills in lazily live in private (``_``) attributes and do not count.
    """
    if _depth > _MAX_DEPTH:
        return ("...", type(value).__name__)
    deeper = _depth + 1
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return value
    if isinstance(value, float):
        return ("nan",) if math.isnan(value) else value
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return snapshot(value.item(), deeper)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(snapshot(item, deeper) for item in value))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, tuple(sorted(repr(snapshot(item, deeper)) for item in value)))
    if isinstance(value, dict) or (hasattr(value, "items") and hasattr(value, "keys")):
        return (
            "mapping",
            tuple((repr(key), snapshot(item, deeper)) for key, item in value.items()),
        )
    if isinstance(value, BaseModel):
        return (type(value).__name__, snapshot(value.model_dump(), deeper))
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        public = {key: item for key, item in attributes.items() if not key.startswith("_")}
        return (type(value).__qualname__, snapshot(public, deeper))
    return (type(value).__qualname__, repr(value))
