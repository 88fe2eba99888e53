"""The station's view draws exactly the engine's state."""

from __future__ import annotations

import numpy as np

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.station.station import Station
from twin.station.view import StationView


def test_a_station_draws_its_busy_servers_and_every_waiting_job():
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=6 * 3600.0)
    run = prepare_run(config, "admission/admit-all-v0", seed=3)
    run.world.run(40 * 60.0)
    station = run.world.the(Station)
    view = StationView(station)
    frame = view.frame()
    servers_xy, busy = frame.points["servers"]
    np.testing.assert_array_equal(servers_xy, view.server_xy)
    assert busy.sum() == station.params.servers - station.free_servers
    queue = len(station.jobs.items)
    assert queue > 0
    queue_xy, classes = frame.points["queue"]
    assert len(queue_xy) == min(queue, len(view.queue_xy))
    assert (classes == 0).all()
    rejected = int(station.rejected.value(station.env.now))
    assert frame.caption == f"{queue} waiting, {rejected} turned away"
    # Every class has a legend label; a click on a server selects the station.
    for layer in view.layout.layers:
        assert all(layer.labels)
    assert view.layout.pick_names == ("station",) * station.params.servers
    # A label tells the servers apart.
    assert view.layout.point_labels == ("server 1", "server 2")


def test_a_bounded_station_shows_its_empty_places():
    config = ScenarioConfig(id="station/mmc-v0", params={"capacity": 5}, horizon_s=3600.0)
    run = prepare_run(config, "admission/admit-all-v0", seed=1)
    view = StationView(run.scenario.station)
    (places,) = view.layout.static
    assert len(places.xy) == 5
