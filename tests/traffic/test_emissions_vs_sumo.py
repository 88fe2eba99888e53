"""twin's HBEFA3 and HBEFA4 emission rates against SUMO's own ``emissionsMap``, and a
40 t truck's whole drive (CO2 and distance) against SUMO's tripinfo."""

import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
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
from twin.traffic.kernels import ARRIVED
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


TRUCK_40T = (
    '<vType id="truck" vClass="trailer" length="16.5" minGap="2.5" accel="1.0" decel="4.0" '
    'emergencyDecel="7.0" maxSpeed="25.0" sigma="0" tau="1.0" speedFactor="1" speedDev="0" '
    'emissionClass="HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C"/>'
)
"""The region's supply truck (twin.region.config.TruckVehicleSpec) without dawdling."""


def one_truck_on_a_straight_road(tmp_path, length_m: float, depart_speed: str) -> None:
    """A road of one edge at 50 km/h, no junction on it, and one truck: a sumocfg."""
    (tmp_path / "road.nod.xml").write_text(
        f'<nodes><node id="a" x="0" y="0"/><node id="b" x="{length_m}" y="0"/></nodes>'
    )
    (tmp_path / "road.edg.xml").write_text(
        '<edges><edge id="ab" from="a" to="b" numLanes="1" speed="13.89"/></edges>'
    )
    run_program(
        [
            sumo_binary("netconvert"),
            "--node-files", str(tmp_path / "road.nod.xml"),
            "--edge-files", str(tmp_path / "road.edg.xml"),
            "--output-file", str(tmp_path / "road.net.xml"),
        ],
        "netconvert",
    )  # fmt: skip
    (tmp_path / "road.rou.xml").write_text(
        f'<routes>{TRUCK_40T}<vehicle id="t" type="truck" depart="0" '
        f'departSpeed="{depart_speed}"><route edges="ab"/></vehicle></routes>'
    )
    (tmp_path / "road.sumocfg").write_text(
        '<configuration><input><net-file value="road.net.xml"/>'
        '<route-files value="road.rou.xml"/></input>'
        '<time><begin value="0"/><end value="200"/></time></configuration>'
    )


def sumo_trip(tmp_path) -> tuple[float, float]:
    """SUMO's (CO2 kg, route length m) of the one trip."""
    tripinfo = tmp_path / "tripinfo.xml"
    run_program(
        [
            sumo_binary("sumo"), "-c", str(tmp_path / "road.sumocfg"),
            "--device.emissions.probability", "1", "--tripinfo-output", str(tripinfo),
            "--no-step-log", "true",
        ],
        "sumo",
    )  # fmt: skip
    trip = ET.parse(tripinfo).getroot().find("tripinfo")
    assert trip is not None
    emissions = trip.find("emissions")
    assert emissions is not None
    return float(emissions.get("CO2_abs", "nan")) / 1e6, float(trip.get("routeLength", "nan"))


def twin_trip(tmp_path) -> tuple[float, float]:
    """twin's (CO2 kg, distance driven m) of the one trip."""
    config = ScenarioConfig(
        id="traffic/sumo-net-v0",
        params={"sumocfg": str(tmp_path / "road.sumocfg")},
        horizon_s=200.0,
    )
    run = prepare_run(config, "signals/fixed-time-v0", 1)
    run.world.run(200.0)
    veh = run.scenario.city.veh
    assert veh.state[0] == ARRIVED
    return float(veh.co2_mg[0]) / 1e6, float(veh.dist_m[0])


@pytest.mark.parametrize(
    ("depart_speed", "expected_kg"),
    [
        # Entering at 50 km/h: cruise, 17.73 g/s over 383.4 m (its front starts 16.6 m in).
        ("max", 0.49634105),
        # From rest, as the region's trucks leave a site: the 14 s at 1 m/s² to 50 km/h
        # cost as much again, so a 400 m leg books 2.6 kg/km against the cruise's 1.29.
        ("0", 0.99158039),
    ],
)
def test_a_40t_trucks_400_m_drive_emits_what_sumos_tripinfo_says(
    tmp_path, depart_speed, expected_kg
):
    one_truck_on_a_straight_road(tmp_path, 400.0, depart_speed)
    sumo_kg, sumo_m = sumo_trip(tmp_path)
    assert sumo_kg == pytest.approx(expected_kg, rel=1e-6)
    twin_kg, twin_m = twin_trip(tmp_path)
    assert twin_kg == pytest.approx(sumo_kg, rel=1e-6)
    # Front from 16.6 m (inserted with its back at the road's start) to the road's end:
    # the last step's move past the end is not driven in either.
    assert sumo_m == pytest.approx(400.0 - 16.6, abs=0.005)
    assert twin_m == pytest.approx(400.0 - 16.6, abs=1e-9)
