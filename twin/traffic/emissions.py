"""Instantaneous emissions and fuel from speed and acceleration: SUMO's HBEFA3 and HBEFA4.

**HBEFA3** classes (``PC_G_EU4``, also written ``HBEFA3/PC_G_EU4``): each pollutant is a
polynomial in speed ``v`` (m/s) and acceleration ``a`` (m/s²)::

    E = max(0, (c0 + c1*a*v + c2*a²*v + c3*v + c4*v² + c5*v³) / 3.6)   [mg/s]

with coefficients fitted by DLR to the Handbook of Emission Factors for Road Transport
(HBEFA) 3.1 (SUMO ``src/utils/emissions/HelpersHBEFA3.cpp``). twin takes the engine to
be off while decelerating (``a < 0``) unless the vehicle is halting (``v <= 0.1`` m/s):
SUMO's own coasting threshold (below) differs from this in gentle braking, a documented
simplification kept so that twin's generated worlds keep their figures.

**HBEFA4** classes (``HBEFA4/PC_petrol_Euro-4``, SUMO's default since 1.23): one
polynomial per pollutant, SUMO ``src/utils/emissions/HelpersHBEFA4.h`` ``compute``::

    E = max(0, f0 + f1*v + f2*a + f3*v² + f4*v³ + f5*a*v + f6*a*v²)   [mg/s]

and zero while the vehicle coasts: ``v > 0.5`` m/s and ``a`` below the coasting deceleration
``a_coast(v)`` (SUMO ``PollutantsInterface::Helper::getCoastingDecel``), which is linear
in ``v`` from 10 km/h on (never above 0) and scaled down linearly to 0 at standstill
below it. Its two
coefficients depend on the vehicle's mass and frontal area; twin keeps one pair per
class, measured from SUMO 1.28's ``emissionsMap`` with the class's default vehicle class
(passenger for ``PC_*``, truck for ``RT_*``, ...). ``HBEFA4/zero`` (SUMO's class of
electric vehicles, bicycles, ...) emits nothing.

Fuel is the fuel-mass polynomial, turned into volume with the fuel's density. The
per-tick computation is :func:`tick_rates_mg_s`, called by the vehicle kernel.
Coefficients and sources: docs/PARAMETERS.md, section "Traffic".
"""

from __future__ import annotations

import numba
import numpy as np

from twin.core.ledger import DIESEL_COMBUSTION, EmissionFactor

POLLUTANTS = ("co2", "fuel", "nox")
"""Rows of :func:`coefficients` per class: CO2 (mg/s), fuel mass (mg/s), NOx (mg/s)."""

MODEL_HBEFA3 = 0
MODEL_HBEFA4 = 1
MODEL_ZERO = 2
HBEFA3_IDLE_MPS = 0.1
"""Below this speed an HBEFA3 vehicle idles (emits) even while decelerating."""
COAST_SPEED_MIN_MPS = 10.0 / 3.6
"""Below this speed SUMO scales the coasting deceleration down linearly to 0."""
HBEFA4_IDLE_MPS = 0.5
"""At or below this speed an HBEFA4 vehicle never coasts: it idles (measured: SUMO 1.28's
``emissionsMap`` emits at 0.5 m/s whatever the deceleration, and coasts from 0.501 m/s)."""

_Row = tuple[float, ...]

# HBEFA3 coefficients (c0..c5) as in SUMO's HelpersHBEFA3.cpp (CO2 total, mKr, NOx).
_HBEFA3: dict[str, tuple[_Row, _Row, _Row]] = {
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

# HBEFA4 coefficients (f0..f6: 1, v, a, v², v³, a*v, a*v²) of CO2 (total), FC (fuel
# mass) and NOx, as in SUMO's HelpersHBEFA4.cpp; then the coasting deceleration
# a_coast(v) = -(k0 + k1*v) for v >= 10 km/h (k0, k1 measured from SUMO 1.28's
# emissionsMap with the class's default vehicle class; see the module docstring).
_PC_COAST = (0.10794838, 0.01297663)
_HBEFA4: dict[str, tuple[_Row, _Row, _Row, tuple[float, float]]] = {
    "PC_petrol_Euro-4": (
        (1521.0, 15.59, 695.1, 0.0, 0.1199, 132.5, 3.434),
        (493.1, 5.054, 225.3, 0.0, 0.03887, 42.96, 1.113),
        (0.6117, 0.0, 0.0, 0.0, 5.485e-05, 0.04339, 0.002726),
        _PC_COAST,
    ),
    # Other passenger cars (SUMO's HelpersHBEFA4.cpp), coasting as a passenger car.
    **{
        name: (*rows, _PC_COAST)
        for name, rows in {
            "PC_petrol_Euro-3": (
                (1515.0, 16.06, 691.2, 0.0, 0.1245, 130.2, 3.811),
                (491.2, 5.207, 224.1, 0.0, 0.04035, 42.2, 1.235),
                (0.4919, 0.0, 0.0, 0.0, 5.224e-05, 0.0, 0.002665),
            ),
            "PC_petrol_Euro-5": (
                (1391.0, 17.35, 696.8, 0.0, 0.1067, 119.1, 3.209),
                (451.0, 5.626, 225.9, 0.0, 0.0346, 38.62, 1.04),
                (0.3233, 0.0, 0.1097, 0.0, 6.108e-06, 0.0, 0.0005713),
            ),
            "PC_petrol_Euro-6ab": (
                (1415.0, 19.65, 868.3, 0.0, 0.09666, 101.8, 3.452),
                (458.8, 6.371, 281.5, 0.0, 0.03133, 32.99, 1.119),
                (0.4354, 0.007053, 0.5637, 0.0, 9.367e-06, 0.0, 0.0007952),
            ),
            "PC_petrol_Euro-6c": (
                (1465.0, 20.71, 882.6, 0.0, 0.09886, 107.4, 3.474),
                (475.0, 6.714, 286.1, 0.0, 0.03205, 34.81, 1.126),
                (0.1596, 0.0, 0.0, 0.0, 9.269e-06, 0.0, 0.0007923),
            ),
            "PC_petrol_Euro-6d-temp": (
                (1498.0, 24.87, 871.3, 0.0, 0.1014, 124.4, 3.378),
                (485.5, 8.063, 282.5, 0.0, 0.03287, 40.31, 1.095),
                (0.0, 0.0, 0.0, 0.0, 6.257e-05, 0.0, 0.004355),
            ),
            "PC_petrol_Euro-6d": (
                (1275.0, 26.43, 780.1, 0.0, 0.08965, 121.7, 2.9),
                (413.2, 8.567, 252.9, 0.0, 0.02906, 39.46, 0.9401),
                (0.0, 0.0, 0.0, 0.0, 6.379e-05, 0.0, 0.004489),
            ),
            "PC_diesel_Euro-3": (
                (1303.0, 40.91, 863.1, 0.0, 0.1112, 133.2, 5.631),
                (418.7, 13.15, 277.4, 0.0, 0.03575, 42.8, 1.81),
                (8.619, 0.0, 3.068, 0.0, 0.001315, 0.0, 0.09321),
            ),
            "PC_diesel_Euro-4": (
                (1322.0, 46.88, 1029.0, 0.0, 0.1017, 126.1, 5.705),
                (424.9, 15.07, 330.6, 0.0, 0.03269, 40.53, 1.833),
                (5.261, 0.0, 0.0, 0.0, 0.001182, 0.0, 0.08146),
            ),
            "PC_diesel_Euro-5": (
                (1246.0, 45.41, 901.9, 0.0, 0.09496, 128.5, 5.049),
                (400.4, 14.59, 289.9, 0.0, 0.03052, 41.29, 1.623),
                (10.05, 0.01932, 1.517, 0.0, 0.001125, 0.1982, 0.0793),
            ),
            "PC_diesel_Euro-6ab": (
                (1260.0, 48.17, 835.0, 0.0, 0.09099, 143.8, 4.551),
                (404.9, 15.48, 268.4, 0.0, 0.02924, 46.21, 1.463),
                (3.561, 0.0, 0.0, 0.0, 0.0005544, 0.0, 0.04371),
            ),
            "PC_diesel_Euro-6c": (
                (1310.0, 50.55, 848.8, 0.0, 0.09371, 152.7, 4.624),
                (421.2, 16.24, 272.8, 0.0, 0.03012, 49.06, 1.486),
                (1.965, 0.0, 0.0, 0.0, 0.0003045, 0.0, 0.02338),
            ),
            "PC_diesel_Euro-6d-temp": (
                (1388.0, 55.59, 906.1, 0.0, 0.09872, 167.8, 4.825),
                (446.2, 17.87, 291.2, 0.0, 0.03173, 53.91, 1.551),
                (0.3375, 0.0, 0.0, 0.0, 5.836e-05, 0.01484, 0.00369),
            ),
            "PC_diesel_Euro-6d": (
                (1299.0, 54.8, 866.5, 0.0, 0.09259, 165.1, 4.467),
                (417.4, 17.61, 278.5, 0.0, 0.02976, 53.07, 1.435),
                (0.2819, 0.0, 0.0, 0.0, 5.057e-05, 0.01544, 0.003125),
            ),
        }.items()
    },
    "RT_le7.5t_Euro-VI_A-C": (
        (1936.0, 0.0, 0.0, 16.21, 0.006403, 551.1, 12.03),
        (622.1, 0.0, 0.0, 5.211, 0.002058, 177.1, 3.866),
        (0.1158, 0.2321, 0.0, 0.0, 0.0, 0.0, 0.01005),
        (0.14991786, 0.00927917),
    ),
    "TT_AT_gt34-40t_Euro-VI_A-C": (
        (7734.0, 719.4, 18330.0, 0.0, 0.0, 1751.0, 0.0),
        (2486.0, 231.2, 5891.0, 0.0, 0.0, 562.8, 0.0),
        (6.535, 0.0, 0.1363, 0.0, 0.0, 0.0, 0.003652),
        (0.12975619, 0.00575675),
    ),
    "UBus_Std_gt15-18t_Euro-VI_A-C": (
        (2775.0, 651.0, 2643.0, 0.0, 0.0, 1627.0, 0.0),
        (891.8, 209.2, 849.3, 0.0, 0.0, 522.9, 0.0),
        (4.335, 0.0, 0.0, 0.0, 0.0006582, 0.0, 0.01626),
        (0.15126443, 0.00521433),
    ),
    "Coach_3-Axes_gt18t_Euro-VI_A-C": (
        (2381.0, 839.1, 4333.0, 0.0, 0.0, 2056.0, 0.0),
        (765.1, 269.7, 1393.0, 0.0, 0.0, 660.8, 0.0),
        (6.218, 0.0, 0.2816, 0.0, 4.322e-05, 0.0, 0.004579),
        (0.05425692, 0.00313572),
    ),
    "LCV_diesel_N1-III_Euro-6ab": (
        (1949.0, 34.07, 659.6, 0.0, 0.2332, 230.6, 8.244),
        (626.5, 10.95, 212.0, 0.0, 0.07494, 74.1, 2.649),
        (3.352, 0.0, 0.0, 0.0, 0.0006798, 0.264, 0.03613),
        (0.15091296, 0.00896292),
    ),
    "MC_4S_gt250cc_preEuro": (
        (1405.0, 0.0, 744.2, 2.35, 0.02944, 0.0, 0.6179),
        (455.6, 0.0, 241.3, 0.762, 0.009544, 0.0, 0.2003),
        (0.5242, 0.0, 0.0, 0.01004, 6.851e-06, 0.1337, 0.001821),
        (-0.58212755, 0.04817332),
    ),
}
HBEFA4_PREFIX = "HBEFA4/"
HBEFA3_PREFIX = "HBEFA3/"
ZERO_CLASS = "HBEFA4/zero"

EMISSION_CLASSES: tuple[str, ...] = (
    *_HBEFA3,
    *(HBEFA4_PREFIX + name for name in _HBEFA4),
    ZERO_CLASS,
)
"""twin's classes: HBEFA3 names unprefixed (as twin has always written them), HBEFA4
names with SUMO's ``HBEFA4/`` prefix."""
HBEFA3_CLASSES = tuple(_HBEFA3)
HBEFA4_CLASSES = tuple(HBEFA4_PREFIX + name for name in _HBEFA4)

FUEL_DENSITY_G_PER_L = {"petrol": 742.0, "diesel": 836.0}
"""Densities SUMO uses to turn fuel mass into volume (HBEFA3 and HBEFA4 helpers)."""

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

# The fuel of each HBEFA4 class (SUMO's HelpersHBEFA4::getFuel reads it from the name;
# heavy-duty and coach classes are diesel, motorcycles petrol).
_HBEFA4_FUEL = {
    name: "diesel"
    if "_diesel_" in name or name.startswith(("RT_", "TT_", "UBus_", "Coach_"))
    else "petrol"
    for name in _HBEFA4
}


def canonical(emission_class: str) -> str:
    """twin's name of ``emission_class`` (``ValueError`` naming the known classes).

    ``"HBEFA3/PC_G_EU4"`` and ``"PC_G_EU4"`` are the same class; HBEFA4 classes keep
    their prefix; ``"zero"``, ``"HBEFA4/zero"`` and ``"Zero/default"`` are the
    zero-emission class.
    """
    name = emission_class.removeprefix(HBEFA3_PREFIX)
    # SUMO reports the zero class as Zero/default and finds its name in any case.
    if name.lower() in ("zero", "zero/default"):
        name = ZERO_CLASS
    if name in EMISSION_CLASSES:
        return name
    raise ValueError(
        f"unknown emission class {emission_class!r}; twin knows: {', '.join(EMISSION_CLASSES)}"
    )


def is_electric(emission_class: str) -> bool:
    """Whether ``emission_class`` is one of SUMO's battery-electric models (``Energy/*``,
    ``MMPEVEM``): no tailpipe emissions and no fuel in SUMO's tripinfo; its electricity
    is SUMO's battery device's to compute, which twin does not model."""
    return emission_class.startswith("Energy/") or emission_class == "MMPEVEM"


def class_index(emission_class: str) -> int:
    """Index of ``emission_class`` in :data:`EMISSION_CLASSES` (see :func:`canonical`)."""
    return EMISSION_CLASSES.index(canonical(emission_class))


def fuel_of(emission_class: str) -> str | None:
    """``"petrol"`` or ``"diesel"``; ``None`` for the zero-emission class (no fuel)."""
    name = canonical(emission_class)
    if name == ZERO_CLASS:
        return None
    if name.startswith(HBEFA4_PREFIX):
        return _HBEFA4_FUEL[name.removeprefix(HBEFA4_PREFIX)]
    return "diesel" if "_D_" in name else "petrol"


def model_of(emission_class: str) -> str:
    """``"HBEFA3"``, ``"HBEFA4"`` or ``"zero"``: the model family, for KPI descriptions."""
    name = canonical(emission_class)
    if name == ZERO_CLASS:
        return "zero"
    return "HBEFA4" if name.startswith(HBEFA4_PREFIX) else "HBEFA3"


def coefficients() -> np.ndarray:
    """``(classes, 4, 7)`` table for :func:`tick_rates_mg_s`.

    Rows 0-2: the (co2, fuel, nox) coefficients of the class's model (HBEFA3: c0..c5
    and a zero; HBEFA4: f0..f6); row 3: ``[model, k0, k1, 0, ...]``.
    """
    table = np.zeros((len(EMISSION_CLASSES), 4, 7), dtype=np.float64)
    for i, name in enumerate(EMISSION_CLASSES):
        if name in _HBEFA3:
            for p, row in enumerate(_HBEFA3[name]):
                table[i, p, :6] = row
            table[i, 3, 0] = MODEL_HBEFA3
        elif name == ZERO_CLASS:
            table[i, 3, 0] = MODEL_ZERO
        else:
            *rows, coast = _HBEFA4[name.removeprefix(HBEFA4_PREFIX)]
            for p, row in enumerate(rows):
                table[i, p, :] = row
            table[i, 3, :3] = (MODEL_HBEFA4, coast[0], coast[1])
    return table


@numba.njit(cache=True, _nrt=False)
def coasting_decel(k0: float, k1: float, speed: float) -> float:
    """SUMO's coasting deceleration (<= 0, m/s²) at ``speed`` for coefficients k0, k1.

    ``min(0, -(k0 + k1*v))`` from 10 km/h on, scaled linearly to 0 below it (a light
    vehicle, e.g. a motorcycle, has a negative k0: at low speed any deceleration coasts).
    """
    if speed < COAST_SPEED_MIN_MPS:
        return speed / COAST_SPEED_MIN_MPS * min(0.0, -(k0 + k1 * COAST_SPEED_MIN_MPS))
    return min(0.0, -(k0 + k1 * speed))


@numba.njit(cache=True, _nrt=False)
def tick_rates_mg_s(
    table: np.ndarray, c: int, speed: float, accel: float
) -> tuple[float, float, float]:
    """CO2, fuel mass and NOx rates (mg/s) of a class-``c`` vehicle at (speed, accel).

    Each class follows its own model's rule (module docstring): HBEFA3 off while
    decelerating above the idle speed, HBEFA4 off while coasting, zero never emits.
    """
    model = table[c, 3, 0]
    v = speed
    a = accel
    if model == MODEL_ZERO:
        return 0.0, 0.0, 0.0
    if model == MODEL_HBEFA3:
        if a < 0.0 and v > HBEFA3_IDLE_MPS:
            return 0.0, 0.0, 0.0
        out0 = 0.0
        out1 = 0.0
        out2 = 0.0
        for p in range(3):
            f = table[c, p]
            e = (
                f[0] + f[1] * a * v + f[2] * a * a * v + f[3] * v + f[4] * v * v + f[5] * v * v * v
            ) / 3.6
            e = max(e, 0.0)
            if p == 0:
                out0 = e
            elif p == 1:
                out1 = e
            else:
                out2 = e
        return out0, out1, out2
    if v > HBEFA4_IDLE_MPS and a < coasting_decel(table[c, 3, 1], table[c, 3, 2], v):
        return 0.0, 0.0, 0.0
    out0 = 0.0
    out1 = 0.0
    out2 = 0.0
    for p in range(3):
        f = table[c, p]
        e = (
            f[0]
            + f[1] * v
            + f[2] * a
            + f[3] * v * v
            + f[4] * v * v * v
            + f[5] * a * v
            + f[6] * a * v * v
        )
        e = max(e, 0.0)
        if p == 0:
            out0 = e
        elif p == 1:
            out1 = e
        else:
            out2 = e
    return out0, out1, out2


def rates_mg_s(emission_class: str, speed_mps: float, accel_mps2: float) -> np.ndarray:
    """CO2, fuel mass and NOx emission rates (mg/s) of one vehicle."""
    table = coefficients()
    out = tick_rates_mg_s(table, class_index(emission_class), float(speed_mps), float(accel_mps2))
    return np.array(out, dtype=np.float64)


__all__ = [
    "EMISSION_CLASSES",
    "FUEL_DENSITY_G_PER_L",
    "FUEL_FACTORS",
    "POLLUTANTS",
    "canonical",
    "class_index",
    "coefficients",
    "fuel_of",
    "model_of",
    "rates_mg_s",
    "tick_rates_mg_s",
]
