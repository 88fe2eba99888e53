"""An entity's inspection as a table people read: units, rounded numbers, no reprs.

``entity.inspect()`` returns plain Python (numbers, arrays, the policy's last
observation as a ``NamedTuple``); :func:`entity_rows` turns it into ``(key, text, unit)``
rows for the inspector beside the map and the hover tooltip. Units come from the
domain contract where it declares them (an observation's or action's
:class:`~twin.core.domain.Quantity`), else from the key's SI suffix (``_s``, ``_m``,
``_kwh``: :func:`viz.units.unit_of`), as twin names every quantity. Times read as
people read them: a duration in seconds in the unit that suits its size (``24.84 h``, not
``89,438 s``), an instant (``now_s``, a key ending ``_at_s``) as the page's clock reads
it (:meth:`~twin.core.domain.Clock.format`), so it compares with the clock at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.core.domain import Clock, DecisionArea
from viz.units import unit_of

LIST_SHOWN = 5
"""An array longer than this shows its first values and its length."""
TEXT_LIMIT = 80
DURATION_UNITS = (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0))
"""A duration reads in the largest of these units it spans at least two of (150 min reads
2.5 h, 90 min stays 90 min); under two minutes, in seconds."""


@dataclass(frozen=True)
class Row:
    """One line of the inspector: ``key``, the value as text, and its unit."""

    key: str
    text: str
    unit: str = ""


def format_value(value: Any) -> str:
    """A value as a person reads it: 4 significant digits, thousands separated, arrays
    shortened, ``yes``/``no`` for flags, ``-`` for a missing reading."""
    if value is None:
        return "-"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "-"
        if math.isinf(number):
            return "∞" if number > 0 else "-∞"
        if number == 0:
            return "0"  # and never "-0"
        if number != 0 and (abs(number) >= 1e4 or number == round(number)):
            return f"{number:,.0f}" if abs(number) < 1e15 else f"{number:.4g}"
        return f"{number:.4g}"
    if isinstance(value, np.ndarray | list | tuple) and not _is_record(value):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        shown = ", ".join(format_value(item) for item in items[:LIST_SHOWN])
        more = f", ... ({len(items)} values)" if len(items) > LIST_SHOWN else ""
        return f"[{shown}{more}]"
    text = str(value)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 3] + "..."


def duration(seconds: float) -> tuple[str, str]:
    """A duration as text and unit, in the unit that suits its size: 89,438 s is
    ``("24.84", "h")``."""
    for unit, size in DURATION_UNITS:
        if abs(seconds) >= 2 * size:
            return format_value(seconds / size), unit
    return format_value(seconds), "s"


def is_instant(key: str) -> bool:
    """Whether a field in seconds is an instant of the run (``now_s``,
    ``dispatched_at_s``) rather than a duration (``wait_s``, ``late_by_s``)."""
    name = key.rsplit(".", 1)[-1]
    return name == "now_s" or name.endswith("_at_s")


def entity_rows(
    info: Mapping[str, Any],
    area: DecisionArea | None,
    *,
    with_decision: bool = True,
    clock: Clock | None = None,
) -> list[Row]:
    """The rows of an inspection: the entity's own fields, then (``with_decision``) the
    policy's last observation and action, field by field; instants read on ``clock``
    (``None``: as durations since time zero)."""
    rows: list[Row] = []
    for key, value in info.items():
        if key == "last_decision":
            continue
        rows.extend(_rows(key, value, {}, clock))
    if not with_decision:
        return rows
    decision = info.get("last_decision")
    if decision is None:
        rows.append(Row("policy", "no decision about it yet"))
        return rows
    observed = dict(area.observation_fields) if area is not None else {}
    acted = dict(area.action_fields) if area is not None else {}
    rows.append(_seconds("decided at", float(decision.now_s), clock, instant=True))
    rows.extend(_rows("observation", decision.observation, observed, clock))
    rows.extend(_rows("action", decision.action, acted, clock))
    return rows


def _seconds(key: str, seconds: float, clock: Clock | None, *, instant: bool) -> Row:
    if instant and clock is not None and math.isfinite(seconds):
        return Row(key, clock.format(seconds))
    if not math.isfinite(seconds):
        return Row(key, format_value(seconds), "s")
    return Row(key, *duration(seconds))


def _rows(key: str, value: Any, units: Mapping[str, Any], clock: Clock | None) -> list[Row]:
    """``value`` under ``key``: one row, or one per field of a record or mapping."""
    if _is_record(value):
        fields = value._asdict() if hasattr(value, "_asdict") else vars(value)
        return [
            row
            for name, item in fields.items()
            for row in _rows(f"{key}.{name}", item, {"": units.get(name)}, clock)
        ]
    if isinstance(value, Mapping) and value and len(value) <= 20:
        return [
            row for name, item in value.items() for row in _rows(f"{key}.{name}", item, {}, clock)
        ]
    quantity = units.get("")
    unit = getattr(quantity, "unit", "") if quantity is not None else ""
    unit = unit or unit_of(key.rsplit(".", 1)[-1])
    if unit == "s" and _is_number(value):
        return [_seconds(key, float(value), clock, instant=is_instant(key))]
    return [Row(key, format_value(value), unit)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _is_record(value: Any) -> bool:
    """A NamedTuple or a dataclass instance: shown field by field."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return True
    return hasattr(value, "__dataclass_fields__") and not isinstance(value, type)
