"""The unit conversions twin uses, defined once.

Time is in seconds, energy in kWh, emissions in kg CO2e, distances in metres; these
constants convert what people type or read (hours, days, grams) at the edges.
"""

from __future__ import annotations

SECONDS_PER_MINUTE = 60.0
SECONDS_PER_HOUR = 3_600.0
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY
"""A calendar year of 365 days (no leap day: annual figures in parameter sources are)."""

METRES_PER_KM = 1_000.0
KG_PER_G = 1e-3
G_PER_MG = 1e-3
KG_PER_MG = 1e-6
JOULES_PER_KWH = 3.6e6
MPS_PER_KMH = 1.0 / 3.6
