"""Multi-lane cities no test had seen, made as a user makes them, through ``twin
sumo-compare``: the general case behind RESCO's eight.

``netgenerate --rand`` (80 iterations) with two or three lanes per direction, priority
junctions, or lights where netconvert guesses them (``--tls.guess``); random trips all
over the network (``randomTrips.py``, a trip a second for 30 minutes, validated, so
every trip has a route); a ``.sumocfg`` that ends at 2,400 s. Both simulators route the
trips as they depart. The one-lane random networks are in ``docs/VALIDATION.md``
("random networks no test had seen"); these add lane choice and lane changing.

Measured (twin/SUMO at seed 0, 2026-12-06, main at c1e35b9): every trip SUMO finishes
twin finishes on every network; mean time loss 1.001 and 0.982 on the two signalised
two-lane networks, 0.974 on the three-lane one, 0.966 on the priority network. The
priority network of seed 5 is left out of the time-loss check: SUMO itself jams there
and teleports 12 vehicles (twin 0.698 of its time loss), which is SUMO's gridlock
breaker, not driving to compare.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.traffic.compare import BANDS, Comparison, compare
from twin.traffic.sumo_tools import random_trips, run_program, sumo_binary

pytest.importorskip("sumo")
pytestmark = pytest.mark.slow

CITIES = {
    # name: (netgenerate seed, lanes per direction, lights guessed)
    "priority-2-lanes": (3, 2, False),
    "lights-2-lanes": (3, 2, True),
    "lights-2-lanes-b": (8, 2, True),
    "lights-3-lanes": (5, 3, True),
}


def make_city(where: Path, seed: int, lanes: int, lights: bool) -> Path:
    """The network, the trips and the ``.sumocfg`` a user would write."""
    net = where / "city.net.xml"
    args: list[str | Path] = [
        sumo_binary("netgenerate"), "--rand", "--rand.iterations", "80",
        "--default.lanenumber", str(lanes), "--seed", str(seed),
        "--default-junction-type", "priority", "--output-file", net,
    ]  # fmt: skip
    if lights:
        args += ["--tls.guess", "true"]
    run_program(args, "netgenerate")
    random_trips(
        net, where / "trips.xml", end_s=1800.0, period_s=1.0, seed=seed,
        fringe_only=False, routes=False, validate=True,
    )  # fmt: skip
    config = where / "city.sumocfg"
    config.write_text(
        '<configuration><input><net-file value="city.net.xml"/>'
        '<route-files value="trips.xml"/></input>'
        '<time><begin value="0"/><end value="2400"/></time></configuration>\n'
    )
    return config


@pytest.fixture(scope="module")
def comparisons(tmp_path_factory) -> dict[str, Comparison]:
    out = {}
    for name, (seed, lanes, lights) in CITIES.items():
        config = make_city(tmp_path_factory.mktemp(name), seed, lanes, lights)
        out[name] = compare(config, seed=0)
    return out


@pytest.mark.parametrize("name", CITIES)
def test_twin_finishes_every_trip_sumo_finishes(comparisons, name):
    result = comparisons[name]
    assert result.sumo.notes["teleports"] == 0
    assert result.twin.kpis["trips_completed"] == result.sumo.kpis["trips_completed"] > 1700


@pytest.mark.parametrize("name", CITIES)
def test_time_loss_within_the_issues_band(comparisons, name):
    ratio = comparisons[name].ratios()["time_loss_mean_s"]
    assert abs(ratio - 1.0) <= BANDS["time_loss_mean_s"], f"{name}: twin/SUMO {ratio:.3f}"
