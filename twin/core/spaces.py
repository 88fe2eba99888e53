"""Gymnasium spaces derived from a domain's observation and action types.

A field's Python type says what kind of space it is; its :class:`~twin.core.domain.Quantity`
says the range. ``float`` -> ``Box``; ``int`` -> ``Discrete`` over a finite range, else an
integer ``Box``; ``bool`` -> ``Discrete(2)``; ``str`` -> ``Discrete`` over its choices,
else ``Text``; a NumPy array or ``tuple[X, ...]`` -> ``Sequence`` of ``X``; a nested
``NamedTuple`` -> ``Dict``; ``tuple[X, Y]`` -> ``Tuple``. ``X | None`` has the space of
``X`` (``Quantity.missing`` says ``None`` is allowed). Fields of other types (a layout
object handed to a policy for its distance method) have no space and are left out.
Needs ``gymnasium`` (the ``rl`` extra).
"""

from __future__ import annotations

import math
import string
import types
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

from twin.core.domain import Quantity

DISCRETE_LIMIT = 1_000_000
"""Integer ranges up to this many values become ``Discrete``; wider ones a ``Box``."""
TEXT_LENGTH = 64
"""Longest label a ``Text`` space holds (ids, names)."""
TEXT_CHARSET = string.ascii_letters + string.digits + "-_./:#+ "
"""Characters of ids and names (SUMO ids, station names, site names)."""


def space_of(cls: type[Any], fields: Mapping[str, Quantity], prefix: str = "") -> Any:
    """The ``gymnasium.spaces.Dict`` of a ``NamedTuple`` (or dataclass) type's fields.

    ``fields`` maps field names (dotted for nested types: ``"agvs.soc"``) to their
    meaning; a field without an entry is unbounded.
    """
    from gymnasium import spaces

    hints = typing.get_type_hints(cls)
    names = getattr(cls, "_fields", None) or list(hints)
    parts: dict[str, Any] = {}
    for name in names:
        key = f"{prefix}{name}"
        space = _field_space(hints[name], fields.get(key, Quantity()), fields, f"{key}.")
        if space is not None:
            parts[name] = space
    return spaces.Dict(parts)


def _field_space(hint: Any, quantity: Quantity, fields: Mapping[str, Quantity], prefix: str) -> Any:
    from gymnasium import spaces

    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        chosen = [a for a in arguments if a is not type(None)]
        return _field_space(chosen[0], quantity, fields, prefix) if len(chosen) == 1 else None
    if hint is bool:
        return spaces.Discrete(2)
    if hint is int:
        return _integer_space(quantity)
    if hint is float:
        return spaces.Box(_bound(quantity.low), _bound(quantity.high), shape=(), dtype=np.float64)
    if hint is str:
        if quantity.choices:
            return spaces.Discrete(len(quantity.choices))
        return spaces.Text(max_length=TEXT_LENGTH, min_length=0, charset=TEXT_CHARSET)
    if origin is np.ndarray:
        dtype = typing.get_args(arguments[1])[0] if len(arguments) > 1 else np.float64
        element = (
            spaces.Discrete(2)
            if dtype is np.bool_
            else spaces.Box(_bound(quantity.low), _bound(quantity.high), shape=(), dtype=dtype)
        )
        return spaces.Sequence(element, stack=True)
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        element = _field_space(arguments[0], quantity, fields, prefix)
        return spaces.Sequence(element) if element is not None else None
    if origin is tuple and arguments and Ellipsis not in arguments:
        parts = [_field_space(a, quantity, fields, prefix) for a in arguments]
        return spaces.Tuple(parts) if all(p is not None for p in parts) else None
    if isinstance(hint, type) and hasattr(hint, "_fields"):
        return space_of(hint, fields, prefix)
    return None


def _integer_space(quantity: Quantity) -> Any:
    from gymnasium import spaces

    low, high = quantity.low, quantity.high
    if math.isfinite(low) and math.isfinite(high) and high - low < DISCRETE_LIMIT:
        return spaces.Discrete(int(high - low) + 1, start=int(low))
    info = np.iinfo(np.int64)
    return spaces.Box(
        int(low) if math.isfinite(low) else info.min,
        int(high) if math.isfinite(high) else info.max,
        shape=(),
        dtype=np.int64,
    )


def _bound(value: float) -> float:
    return float(value)
