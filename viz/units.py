"""A quantity's unit, as twin names it: declared, said by a description, or spelt by the
name's suffix (``green_s``, ``speed_kmh``, ``price_per_h``, ``vibration_mm_s``).

One place for the parameter form (:mod:`viz.params_form`) and the inspector
(:mod:`viz.inspect_format`) alike.
"""

from __future__ import annotations

import re
from typing import Any

_UNIT_WORDS = {
    "s": "s",
    "m": "m",
    "km": "km",
    "kg": "kg",
    "kw": "kW",
    "kwh": "kWh",
    "h": "h",
    "hour": "h",
    "hours": "h",
    "day": "d",
    "days": "d",
    "l": "L",
    "mps": "m/s",
    "kmh": "km/h",
    "c": "°C",
    "pct": "%",
    "percent": "%",
    "pallets": "pallets",
}
"""Name suffixes the codebase uses for units (``green_s``, ``speed_kmh``, ``ambient_c``)."""
_COUNTED = {"pallet": "pallet", "trip": "trip", "unit": "unit", "units": "units"}
"""Things counted on either side of ``_per_`` (``units_per_pallet``, ``cost_per_trip``)."""
_MONEY = {"cost", "price", "wage"}
"""Money is in the ledger's currency, which the parameters do not name."""
_EVENTS = {"rate", "rates", "bursts", "arrivals", "trips"}
"""Counts of events: ``bursts_per_day`` is 1/d (``drift_per_s`` is not: it has a unit
of its own that the name does not give, so it gets none)."""
_QUALIFIERS = {"empty", "full", "min", "max", "mean"}
"""Words after a unit that qualify the quantity (``fuel_l_per_km_empty``)."""
_DESCRIBED_UNITS = {"s", "m", "km", "m/s", "km/h", "kW", "kWh", "kg", "L", "h", "%"}
_DESCRIBED_UNITS |= {"currency", "units", "pallets", "jobs", "vehicles"}
_TIME_WORDS = {"second": "s", "minute": "min", "hour": "h", "day": "d", "week": "wk"}
_LEADING_TIME = {"seconds": "s", "minutes": "min", "hours": "h", "days": "d", "metres": "m"}


def unit_of(name: str, description: str = "", extra: Any = None) -> str:
    """A parameter's unit: declared (``json_schema_extra={"unit": ...}``), else said by
    its description (``"sampling period, s"``, ``"units per day"``), else spelt by its
    name's suffix (``green_s``, ``price_per_h``); empty when none of them says."""
    if isinstance(extra, dict) and isinstance(extra.get("unit"), str):
        return str(extra["unit"])
    return _unit_of_description(description) or _unit_of_name(name)


def _unit_of_description(description: str) -> str:
    text = description.strip().rstrip(".")
    if "," in text:  # the codebase's "what it is, unit" convention
        tail = text.rsplit(",", 1)[1].strip()
        if tail in _DESCRIBED_UNITS:
            return tail
        rate = _per_time(tail)
        if rate:
            return rate
    leading = _per_time(" ".join(text.split()[:3]))
    if leading:
        return leading
    first = text.split(" ", 1)[0] if text else ""
    return _LEADING_TIME.get(first, "")


def _per_time(phrase: str) -> str:
    """A count per unit of time as a unit: ``units per day`` is units/d; else empty."""
    match = re.fullmatch(r"([a-z]+) per (second|minute|hour|day|week)", phrase)
    return f"{match[1]}/{_TIME_WORDS[match[2]]}" if match else ""


def _unit_of_name(name: str) -> str:
    words = name.lower().split("_")
    if len(words) > 2 and words[-1] in _QUALIFIERS and words[-2] in _UNIT_WORDS:
        words = words[:-1]
    denominators: list[str] = []
    while len(words) >= 3 and words[-2] == "per":
        last = words[-1]
        unit = _UNIT_WORDS.get(last) or _COUNTED.get(last)
        if unit is None:
            return ""
        denominators.insert(0, unit)
        words = words[:-2]
    if words[-2:] == ["mm", "s"] and not denominators:
        return "mm/s"  # vibration velocity, the one unit spelt over two words
    last = words[-1]
    bare = len(words) == 1 and not denominators  # "servers", not a unit suffix
    if words[-2:] == ["kg", "co2e"]:
        numerator = "kg CO2e"
    elif last in _UNIT_WORDS and not bare:
        numerator = _UNIT_WORDS[last]
    elif last in _COUNTED and denominators:
        numerator = _COUNTED[last]
    elif last in _MONEY:
        numerator = "currency"
    elif last in _EVENTS and denominators:
        numerator = "1"
    else:
        return ""
    return "/".join([numerator, *denominators])
