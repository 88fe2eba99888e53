"""Instantaneous emissions and fuel from speed and acceleration: SUMO's HBEFA3 model.

Each pollutant is a polynomial in speed ``v`` (m/s) and acceleration ``a`` (m/s²)::

    E = max(0, (c0 + c1*a*v + c2*a²*v + c3*v + c4*v² + c5*v³) / 3.6)   [mg/s]

with one row of coefficients per emission class and pollutant, fitted by DLR to the
Handbook of Emission Factors for Road Transport (HBEFA) 3.1 and shipped in SUMO as the
``HBEFA3/<class>`` emission classes (``src/utils/emissions/HelpersHBEFA3.cpp``). While
decelerating (``a < 0``) the engine is taken to be coasting and emits nothing, as in
SUMO's HBEFA helpers. Fuel is the ``mKr`` (fuel mass) polynomial, turned into volume with
the fuel's density. Coefficients and sources: docs/PARAMETERS.md, section "Traffic".
"""

from __future__ import annotations

import numpy as np

from twin.core.ledger import DIESEL_COMBUSTION, EmissionFactor

POLLUTANTS = ("co2", "fuel", "nox")
"""Rows of :data:`COEFFICIENTS` per class: CO2 (mg/s), fuel mass (mg/s), NOx (mg/s)."""

# HBEFA3 coefficients (c0..c5) as in SUMO's HelpersHBEFA3.cpp (CO2 total, mKr, NOx).
_TABLE: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]] = {
    "PC_G_EU4": (
        (9449.0, 938.4, 0.0, -467.1, 28.26, 0.0),
        (3014.0, 299.3, 0.0, -149.0, 9.014, 0.0),
        (4.336, 0.4428, 0.0, -0.3204, 0.01371, 0.0),
    ),
    "PC_G_EU6": (
        (8273.0, 845.1, 0.0, -401.1, 25.08, 0.0),
        (2639.0, 269.6, 0.0, -127.9, 8.001, 0.0),
        (3.444, 0.4035, 0.0, -0.2313, 0.01086, 0.0),
    ),
    "PC_D_EU6": (
        (3946.0, 661.8, 0.0, 149.8, 0.0, 0.2041),
        (1241.0, 208.2, 0.0, 47.1, 0.0, 0.06419),
        (16.31, 1.39, 0.0, -1.391, 0.05512, 0.0),
    ),
}
EMISSION_CLASSES: tuple[str, ...] = tuple(_TABLE)

FUEL_DENSITY_G_PER_L = {"petrol": 742.0, "diesel": 836.0}
"""Densities SUMO uses to turn HBEFA3 fuel mass into volume."""

PETROL_COMBUSTION = EmissionFactor(
    carrier="petrol",
    unit="L",
    kg_co2e_per_unit=2.31,
    source=(
        "UK DESNZ/DEFRA Greenhouse gas reporting conversion factors 2023, fuels: "
        "petrol (average biofuel blend) 2.31 kg CO2e per litre, combustion"
    ),
)
"""Carbon factor of petrol, booked through the ledger (diesel: the core's factor)."""
FUEL_FACTORS = {"petrol": PETROL_COMBUSTION, "diesel": DIESEL_COMBUSTION}


def fuel_of(emission_class: str) -> str:
    """``"diesel"`` for HBEFA diesel classes (``_D_``), else ``"petrol"``."""
    return "diesel" if "_D_" in emission_class else "petrol"


def class_index(emission_class: str) -> int:
    """Index of ``emission_class`` (with or without the ``HBEFA3/`` prefix)."""
    name = emission_class.removeprefix("HBEFA3/")
    try:
        return EMISSION_CLASSES.index(name)
    except ValueError:
        raise ValueError(
            f"unknown emission class {emission_class!r}; known: {', '.join(EMISSION_CLASSES)}"
        ) from None


def coefficients() -> np.ndarray:
    """``(classes, 3, 6)`` array: class x (co2, fuel, nox) x (c0..c5)."""
    return np.array([_TABLE[name] for name in EMISSION_CLASSES], dtype=np.float64)


def rates_mg_s(emission_class: str, speed_mps: float, accel_mps2: float) -> np.ndarray:
    """CO2, fuel mass and NOx emission rates (mg/s) of one vehicle, in numpy."""
    c = coefficients()[class_index(emission_class)]
    v, a = speed_mps, accel_mps2
    if a < 0:
        return np.zeros(3)
    terms = np.array([1.0, a * v, a * a * v, v, v * v, v * v * v])
    return np.maximum(c @ terms / 3.6, 0.0)
