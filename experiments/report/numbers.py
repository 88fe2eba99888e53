"""Numbers as the report writes them: about 4 significant digits, "–" when missing."""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"


def format_number(value: Any) -> str:
    """About 4 significant digits, thousands separators from 1,000 up, NaN as "–"."""
    number = to_float(value)
    if math.isnan(number):
        return MISSING
    if abs(number) >= 1000:
        return f"{number:,.0f}"
    if number == 0:
        return "0"
    return f"{number:.4g}"


def format_change(percent: float, *, suffix: str = "%") -> str:
    """A signed percentage with one decimal (two significant digits when tiny)."""
    if math.isnan(percent):
        return MISSING
    if percent == 0 or abs(percent) >= 0.1:
        return f"{percent:+,.1f}{suffix}"
    return f"{percent:+.2g}{suffix}"


def format_p(p_value: float) -> str:
    """A p-value with three decimals, or "<0.001"."""
    if math.isnan(p_value):
        return MISSING
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def to_float(value: Any) -> float:
    """``value`` as a float; NaN for None, pd.NA and anything non-numeric."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
