"""twin's HBEFA3 and HBEFA4 emission rates against SUMO's own ``emissionsMap``."""

from collections import defaultdict

import pytest

from twin.traffic.emissions import (
    COAST_SPEED_MIN_MPS,
    HBEFA3_CLASSES,
    HBEFA4_CLASSES,
    class_index,
    coasting_decel,
    coefficients,
    fuel_of,
    rates_mg_s,
)
from twin.traffic.sumo_tools import run_program, sumo_binary

POLLUTANTS = ("CO2", "fuel", "NOx")  # the order of rates_mg_s

# The vehicle class SUMO gives each HBEFA4 class by default (SUMOVTypeParameter.cpp):
# the coasting deceleration depends on the vehicle's mass, so SUMO is asked with it.
DEFAULT_VCLASS = {
    "HBEFA4/PC_petrol_Euro-4": "passenger",
    "HBEFA4/RT_le7.5t_Euro-VI_A-C": "truck",
    "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C": "trailer",
    "HBEFA4/UBus_Std_gt15-18t_Euro-VI_A-C": "bus",
    "HBEFA4/Coach_3-Axes_gt18t_Euro-VI_A-C": "coach",
    "HBEFA4/LCV_diesel_N1-III_Euro-6ab": "delivery",
    "HBEFA4/MC_4S_gt250cc_preEuro": "motorcycle",
}


def sumo_map(
    tmp_path,
    emission_class: str,
    a_min: float,
    a_max: float,
    a_step: float = 0.25,
    vclass: str | None = None,
) -> dict:
    """(speed, acceleration) -> pollutant -> mg/s, as SUMO computes them."""
    name = emission_class if "/" in emission_class else f"HBEFA3/{emission_class}"
    out = tmp_path / "map.txt"
    extra = []
    if vclass is not None:
        add = tmp_path / "vtype.add.xml"
        add.write_text(f'<additional><vType id="t" vClass="{vclass}"/></additional>')
        extra = ["--additional-files", str(add), "--vtype", "t"]
    run_program(
        [
            sumo_binary("emissionsMap"),
            "--emission-class", name,
            "--v-min", "0", "--v-max", "20", "--v-step", "0.5",
            "--a-min", str(a_min), "--a-max", str(a_max), "--a-step", str(a_step),
            "--s-min", "0", "--s-max", "0",
            "--output-file", str(out),
            *extra,
        ],
        "emissionsMap",
    )  # fmt: skip
    table: dict = defaultdict(dict)
    for line in out.read_text().splitlines():
        v, a, _slope, pollutant, value = line.split(";")
        table[(float(v), float(a))][pollutant] = float(value)
    return table


@pytest.mark.parametrize("emission_class", HBEFA3_CLASSES)
def test_accelerating_and_cruising_rates_equal_sumos(tmp_path, emission_class):
    table = sumo_map(tmp_path, emission_class, 0.0, 3.0)
    assert len(table) == 41 * 13
    for (v, a), sumo in table.items():
        twin = rates_mg_s(emission_class, v, a)
        for k, pollutant in enumerate(POLLUTANTS):
            assert twin[k] == pytest.approx(sumo[pollutant], rel=1e-4, abs=1e-3), (v, a, pollutant)


@pytest.mark.parametrize("emission_class", HBEFA3_CLASSES)
def test_braking_at_town_speeds_emits_nothing_in_both(tmp_path, emission_class):
    # SUMO cuts fuel when the deceleration is harder than coasting; between 1.5 and
    # 10 m/s every deceleration on this grid is, so both give zero. (Below ~1 m/s and in
    # gentle braking above ~11 m/s SUMO still emits: docs/VALIDATION.md, traffic.)
    table = sumo_map(tmp_path, emission_class, -3.0, -0.25)
    for (v, a), sumo in table.items():
        if 1.5 <= v <= 10.0:
            assert sumo["CO2"] == 0.0, (v, a)
            assert list(rates_mg_s(emission_class, v, a)) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("emission_class", HBEFA4_CLASSES)
def test_hbefa4_accelerating_and_cruising_rates_equal_sumos(tmp_path, emission_class):
    # SUMO prints six significant digits: twin agrees to that (5e-6 relative).
    table = sumo_map(
        tmp_path, emission_class, 0.0, 3.0, vclass=DEFAULT_VCLASS.get(emission_class, "passenger")
    )
    assert len(table) == 41 * 13
    for (v, a), sumo in table.items():
        twin = rates_mg_s(emission_class, v, a)
        for k, pollutant in enumerate(POLLUTANTS):
            assert twin[k] == pytest.approx(sumo[pollutant], rel=6e-6, abs=1e-9), (v, a, pollutant)


@pytest.mark.parametrize("emission_class", HBEFA4_CLASSES)
def test_hbefa4_decelerating_and_coasting_equal_sumos(tmp_path, emission_class):
    # Gentle braking emits, harder braking coasts (zero), standstill idles: the
    # threshold follows speed. Points within 1e-4 m/s² of the threshold are left out.
    table = sumo_map(
        tmp_path,
        emission_class,
        -1.0,
        -0.01,
        0.01,
        vclass=DEFAULT_VCLASS.get(emission_class, "passenger"),
    )
    row = coefficients()[class_index(emission_class), 3]
    zero = emitting = 0
    for (v, a), sumo in table.items():
        if abs(a - coasting_decel(row[1], row[2], v)) < 1e-4:
            continue
        twin = rates_mg_s(emission_class, v, a)
        for k, pollutant in enumerate(POLLUTANTS):
            assert twin[k] == pytest.approx(sumo[pollutant], rel=6e-6, abs=1e-9), (v, a, pollutant)
        zero += sumo["CO2"] == 0.0
        emitting += sumo["CO2"] > 0.0
    assert zero > 100  # both regimes are on the grid
    assert emitting > 100


def test_hbefa4_coasting_threshold_is_linear_in_speed_above_10_kmh():
    row = coefficients()[class_index("HBEFA4/PC_petrol_Euro-4"), 3]
    expected = -0.107948 - 0.0129766 * 20
    assert coasting_decel(row[1], row[2], 20.0) == pytest.approx(expected, abs=1e-5)
    at_min = coasting_decel(row[1], row[2], COAST_SPEED_MIN_MPS)
    assert coasting_decel(row[1], row[2], COAST_SPEED_MIN_MPS / 2) == pytest.approx(at_min / 2)
    assert coasting_decel(row[1], row[2], 0.0) == 0.0


def test_class_names_as_sumo_and_twin_write_them():
    assert class_index("HBEFA3/PC_G_EU4") == class_index("PC_G_EU4")
    assert class_index("HBEFA4/zero") == class_index("zero") == class_index("Zero/default")
    assert class_index("HBEFA4/PC_petrol_Euro-4") != class_index("PC_G_EU4")
    assert fuel_of("HBEFA4/PC_diesel_Euro-6d") == "diesel"
    assert fuel_of("HBEFA4/PC_petrol_Euro-6d") == "petrol"
    assert fuel_of("HBEFA4/zero") is None
    with pytest.raises(ValueError, match="unknown emission class 'HBEFA4/PC_CNG_petrol_Euro-6_"):
        class_index("HBEFA4/PC_CNG_petrol_Euro-6_(CNG)")
