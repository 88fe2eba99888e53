"""Trip tables: what a table gives back is what builds it again."""

import numpy as np

from twin.traffic.demand import RateProfile, TripTable, poisson_trips
from twin.traffic.network import grid


def test_a_table_turned_into_trips_builds_the_same_table_again():
    network = grid(2, 3)
    table = poisson_trips(network, RateProfile((0.0,), (0.05,)), 600.0, np.random.default_rng(1))
    trips = table.trips()
    assert len(trips) == len(table) > 10
    assert trips[0].route[0] == trips[0].origin
    assert trips[0].route[-1] == trips[0].destination
    again = TripTable.from_trips(network, trips)
    assert again.depart_s.tolist() == table.depart_s.tolist()
    assert again.vtype.tolist() == table.vtype.tolist()
    assert again.route_start.tolist() == table.route_start.tolist()
    assert again.route_edges.tolist() == table.route_edges.tolist()
