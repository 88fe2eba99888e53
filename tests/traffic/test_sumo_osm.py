"""An OpenStreetMap city, imported as a user would, through ``twin sumo-compare``.

SUMO's wheel ships ``tools/game/racing/spreewaldring.osm`` (the Spreewaldring circuit
and the streets around it). A user converts it with netconvert's OSM import and SUMO's
default type map (``netconvert --osm-files ... --tls.guess true``), draws random trips
with ``randomTrips.py`` (its defaults: any edge a passenger car may use) and writes a
``.sumocfg``. Under the default type map the raceway is ``vip`` only and the paths are
for bicycles and pedestrians, so the passenger network is one two-way street of three
segments (``244341734#0..2``) joined by two priority junctions, with a dead-end
turnaround at each end: trips that start and end on it turn at the dead ends.

SUMO (1.28) finishes all 1,800 trips (no teleports). twin today finishes 94 (seed 0):
trips are inserted at the start of an edge with speed 0 while a vehicle coming through
the junction behind is a few metres upstream at ~13 m/s (twin's insertion checks only the
room ahead, not the follower: SUMO's ``MSLane::isInsertionSuccess`` also checks the
followers on the lanes before, ``getFollowersOnConsecutive``, and waits when one could not
brake), the follower brakes hard (twin counts 43 emergency brakes), queues form at both
priority junctions and at the turnarounds, and after ~10 minutes every lane of the
street is full: each queue's head waits at its stop line for room on the next lane,
which is the tail of the next queue around the loop (a ring gridlock).
"""

import pytest

from twin.traffic.compare import compare
from twin.traffic.sumo_tools import random_trips, run_program, sumo_binary, sumo_home

pytest.importorskip("sumo")

TRIPS = 1800


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    where = tmp_path_factory.mktemp("osm")
    osm = sumo_home() / "tools" / "game" / "racing" / "spreewaldring.osm"
    net = where / "spreewald.net.xml"
    run_program(
        [sumo_binary("netconvert"), "--osm-files", osm, "--tls.guess", "true",
         "--output-file", net],
        "netconvert",
    )  # fmt: skip
    routes = random_trips(
        net, where / "spreewald.rou.xml", end_s=3600, period_s=2.0, seed=42, fringe_only=False
    )
    config = where / "spreewald.sumocfg"
    config.write_text(
        "<configuration>\n"
        f'  <input><net-file value="{net.name}"/><route-files value="{routes.name}"/></input>\n'
        "</configuration>\n"
    )
    return compare(config, seed=0)


@pytest.mark.slow
def test_sumo_finishes_every_trip_of_the_osm_city(comparison):
    assert comparison.sumo.kpis["trips_completed"] == TRIPS
    assert comparison.sumo.notes["teleports"] == 0


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="twin finishes 94 of the 1,800 trips SUMO finishes (seed 0): insertion ignores "
    "the follower upstream (SUMO's MSLane::isInsertionSuccess follower check), queues at "
    "the priority junctions and dead-end turnarounds, then a ring gridlock of the street",
)
def test_twin_finishes_every_trip_sumo_finishes(comparison):
    assert comparison.twin.kpis["trips_completed"] == comparison.sumo.kpis["trips_completed"]
