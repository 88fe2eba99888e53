"""Fidelity against SUMO (issue 5): the same city, demand and fixed-time programme.

SUMO builds a 4x4 grid of signalised junctions (``netgenerate --grid``, 200 m blocks,
one lane each way, SUMO's guessed programme: 42 s green and 3 s yellow per direction,
permissive left turns) and 30 minutes of random trips between fringe streets
(``randomTrips.py`` with a fixed seed, routed by ``duarouter``). SUMO drives them with
the tripinfo and emissions devices; twin imports the very same ``.net.xml`` and
``.rou.xml`` (scenario ``traffic/sumo-net-v0``) and drives them under its fixed-time
policy. The vehicle type is SUMO's default car in both (Krauss, sigma 0.5, tau 1 s,
speed factor N(1, 0.1)) with emission class HBEFA3/PC_G_EU4, twin's model; vehicles
depart at speed 0 in both (``departSpeed="0"`` written on the trips, read by both; a
SUMO-only ``--default.departspeed 0`` left twin at SUMO 1.28's default ``avg``).

The tolerances are the issue's: mean trip duration and mean time loss within 15%, total
CO2 within 20%. Figures and the command that prints them: docs/VALIDATION.md, section
"Traffic: twin against SUMO".
"""

from pathlib import Path

import pytest

from twin.core.registry import Registry
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.traffic.sumo_scenario import SumoNet
from twin.traffic.sumo_tools import generate_grid, random_trips, run_sumo

pytestmark = pytest.mark.slow

SEED = 42
DEMAND_S = 1800.0
END_S = 3600.0
"""Long enough for every trip to finish in both simulators (checked below)."""
EMISSION_CLASS = "HBEFA3/PC_G_EU4"
TOLERANCE = {"trip_duration_mean_s": 0.15, "time_loss_mean_s": 0.15, "trips_co2_kg": 0.20}
REPORTED = (
    "trips_completed",
    "trip_duration_mean_s",
    "time_loss_mean_s",
    "waiting_time_mean_s",
    "stops_mean",
    "depart_delay_mean_s",
    "trips_vehicle_km",
    "trips_co2_kg",
)


@pytest.fixture(scope="module")
def grid4(tmp_path_factory) -> Path:
    return generate_grid(tmp_path_factory.mktemp("fidelity") / "grid4.net.xml", columns=4, rows=4)


def vehicle_type(directory: Path) -> Path:
    path = directory / "vtype.add.xml"
    path.write_text(
        f'<additional><vType id="DEFAULT_VEHTYPE" emissionClass="{EMISSION_CLASS}"/></additional>\n'
    )
    return path


def run_both(grid4: Path, tmp_path: Path, period_s: float) -> tuple[dict, dict, int]:
    """SUMO's and twin's KPIs on the grid, with a trip every ``period_s`` for 30 min."""
    routes = random_trips(
        grid4,
        tmp_path / "grid4.rou.xml",
        end_s=DEMAND_S,
        period_s=period_s,
        seed=SEED,
        trip_attributes='departSpeed="0"',
    )
    vtype = vehicle_type(tmp_path)
    sumo = run_sumo(
        grid4,
        routes,
        tmp_path / "sumo",
        end_s=END_S,
        additional=[vtype],
        seed=SEED,
    )
    trips = round(DEMAND_S / period_s)
    assert (sumo.inserted, sumo.running, sumo.waiting, sumo.teleports) == (trips, 0, 0, 0)

    registry = Registry()
    registry.register_scenario(SumoNet)
    config = ScenarioConfig(
        id="traffic/sumo-net-v0",
        horizon_s=END_S,
        params={"net_file": str(grid4), "route_files": [str(vtype), str(routes)]},
    )
    result = simulate(config, "signals/fixed-time-v0", SEED, registry=registry)
    twin = {name: kpi.value for name, kpi in result.kpis.items()}
    ref = sumo.trips.summary()
    print(f"\n4x4 grid, {trips} trips over {DEMAND_S:.0f} s, seed {SEED}")
    for name in REPORTED:
        print(
            f"  {name:22s} SUMO {ref[name]:10.2f}   twin {twin[name]:10.2f}"
            f"   twin/SUMO {twin[name] / ref[name]:6.3f}"
        )
    return ref, twin, trips


@pytest.mark.parametrize(
    "period_s",
    [
        pytest.param(2.0, id="900-trips"),  # light: few queues outlast a green
        pytest.param(1.0, id="1800-trips"),  # busy: queues, spillback at the border
    ],
)
def test_twin_agrees_with_sumo_on_a_4x4_grid(grid4, tmp_path, period_s):
    ref, twin, trips = run_both(grid4, tmp_path, period_s)
    assert twin["trips_completed"] == ref["trips_completed"] == trips
    assert twin["trips_unfinished"] == 0
    for name, tolerance in TOLERANCE.items():
        assert twin[name] == pytest.approx(ref[name], rel=tolerance), name


def test_twin_flows_where_sumo_flows_near_saturation(grid4, tmp_path):
    """At 1.33 trips/s SUMO still clears every trip (no teleports); so must twin.

    A permissive left turn used to wait for a stopped oncoming vehicle that had no room
    to go, and the grid locked up (1,047 of 2,400 trips arrived). Since insertion follows
    SUMO's (every waiting trip tries every step, from the step it is due) the durations
    hold the same bands here too (time loss 0.83 of SUMO's before, 0.98 then). SUMO's
    junction-blocking rule then left the mean trip duration at 0.84 of SUMO's, until
    twin's left turns waited inside the junction and a car turning off a lane held the
    one behind it (time loss 0.963, waiting 0.954 since).
    """
    ref, twin, trips = run_both(grid4, tmp_path, 0.75)
    assert twin["trips_completed"] == ref["trips_completed"] == trips
    assert twin["trips_unfinished"] == 0
    for name, tolerance in TOLERANCE.items():
        assert twin[name] == pytest.approx(ref[name], rel=tolerance), name
