"""The drawn data equals the engine's own state."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twin.core.scenario import ScenarioConfig
from viz.draw import CloudView, FactoryView, StationView, SupplyView
from viz.session import Session
from viz.views import (
    MACHINE_CLASS_RGB,
    MACHINE_STATES,
    STATE_RGB,
    WEAR_LEVELS,
    machine_class,
)

TICK_S = 60.0


def session(scenario_id, policy, steps, seed=1):
    config = ScenarioConfig(id=scenario_id, horizon_s=6 * 3600.0, tick_s=TICK_S)
    run = Session(config, [policy], seed)
    run.step(steps)
    return run


@pytest.fixture(scope="module")
def jobshop():
    return session("factory/jobshop-agv-v0", "maintenance/run-to-failure-v0", 60)


def axes():
    figure = Figure()
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def test_machine_colours_are_the_machines_states_shaded_by_wear(jobshop):
    plant = jobshop.arms[0].run.scenario.plant
    figure, ax = axes()
    view = FactoryView(ax, plant)
    frame = view.frame()
    view.update(frame)
    figure.canvas.draw()
    states = [MACHINE_STATES[k] for k in frame.state]
    assert states == [m.state for m in plant.machines]
    wear = np.clip(plant.health / plant.degradation.threshold, 0, 1)
    np.testing.assert_allclose(frame.wear, wear)
    classes = machine_class(frame.state, wear)
    np.testing.assert_array_equal(classes // WEAR_LEVELS, frame.state)
    # Each colour class's marker line holds exactly the machines of that state and wear.
    for k, line in enumerate(view.machines.lines):
        np.testing.assert_allclose(line.get_color(), MACHINE_CLASS_RGB[k])
        drawn = view.machines.points(k)
        expected = view.layout.machine_xy[classes == k]
        np.testing.assert_array_equal(np.sort(drawn, axis=0), np.sort(expected, axis=0))
    # A new machine is drawn in its state's own colour, a worn one darker.
    np.testing.assert_allclose(
        MACHINE_CLASS_RGB[machine_class(np.array([2]), np.zeros(1))], STATE_RGB[[2]]
    )
    worn = MACHINE_CLASS_RGB[machine_class(np.array([2]), np.ones(1))]
    assert np.all(worn < STATE_RGB[[2]])


def test_buffers_and_agvs_match_the_plant(jobshop):
    plant = jobshop.arms[0].run.scenario.plant
    _, ax = axes()
    view = FactoryView(ax, plant)
    frame = view.frame()
    view.update(frame)
    assert frame.buffer_held.tolist() == [len(b.items) for b in plant.buffers]
    assert len(view.agvs.get_offsets()) == len(plant.fleet.agvs)
    np.testing.assert_allclose(frame.agv_soc, [agv.soc for agv in plant.fleet.agvs])
    nodes = plant.params.layout.nodes
    for xy, agv in zip(frame.agv_xy, plant.fleet.agvs, strict=True):
        if agv.segment is None:
            assert tuple(xy) == nodes[agv.node]


def test_a_station_draws_its_busy_servers_and_every_waiting_job():
    run = session("station/mmc-v0", "admission/admit-all-v0", 40, seed=3)
    station = run.arms[0].run.scenario.station
    _, ax = axes()
    view = StationView(ax, station)
    frame = view.frame()
    view.update(frame)
    busy = station.params.servers - station.free_servers
    assert frame.busy.sum() == busy
    assert frame.queue_length == len(station.jobs.items) > 0
    assert len(view.queue.get_xdata()) == frame.queue_length
    assert len(view.servers.points(1)) == busy
    assert view.count.get_text().startswith(f"{frame.queue_length} waiting")
    info = run.inspect("station")
    assert info["queue_length"] == frame.queue_length
    assert info["last_decision"].observation.busy_servers <= station.params.servers


def test_a_supply_network_colours_sites_by_stock_and_draws_trucks_on_their_lanes():
    config = ScenarioConfig(id="supply/regional-v0", horizon_s=60 * 86_400.0, tick_s=3 * 3600.0)
    run = Session(config, ["replenishment/base-stock-v0"], 2)
    run.step(90)
    network = run.arms[0].run.scenario.network
    _, ax = axes()
    view = SupplyView(ax, network)
    frame = view.frame()
    view.update(frame)
    for k, site in enumerate(network.sites):
        if site.is_supplier:
            assert frame.stock_class[k] == -1
        else:
            assert frame.on_hand[k] == site.on_hand
            assert (frame.stock_class[k] == 0) == (site.on_hand <= 0)
    on_road = sum(len(lane.on_road) for lane in network.lanes)
    assert on_road > 0
    assert len(frame.truck_xy) == on_road
    # Every truck is on the segment of its lane.
    for xy in frame.truck_xy:
        a, b = view.layout.lane_segments[:, 0], view.layout.lane_segments[:, 1]
        t = np.clip(
            np.einsum("ij,ij->i", xy - a, b - a) / np.einsum("ij,ij->i", b - a, b - a), 0, 1
        )
        assert np.min(np.hypot(*(a + t[:, None] * (b - a) - xy).T)) < 1e-9
    assert (
        run.inspect("site:dc01")["on_hand"]
        == network.sites[[s.name for s in network.sites].index("dc01")].on_hand
    )


def test_a_cluster_shows_each_node_by_state_and_its_queue():
    config = ScenarioConfig(id="cloud/burst-v0", horizon_s=86_400.0, tick_s=300.0)
    run = Session(config, ["scaling/static-v0"], 3)
    run.step(110)
    cluster = run.arms[0].run.scenario.cluster
    _, ax = axes()
    view = CloudView(ax, cluster)
    frame = view.frame()
    view.update(frame)
    now = cluster.env.now
    live = [n for n in cluster.nodes if n is not None and n.state != "off"]
    assert (frame.node_class >= 0).sum() == len(live)
    for node in live:
        assert frame.busy_workers[node.slot] == (cluster.free[node.slot] > now).sum()
    assert frame.waiting.sum() > 0  # one static node under the burst: a queue
    assert view.caption.get_text().startswith(f"{len(live)} ready")
    assert run.inspect("cluster")["deferred"] == frame.deferred
