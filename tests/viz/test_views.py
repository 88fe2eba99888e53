"""The drawn data equals the engine's own state."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twin.core.scenario import ScenarioConfig
from twin.traffic.kernels import DRIVING
from viz.draw import CloudView, FactoryView, TrafficView
from viz.session import Session
from viz.views import (
    MACHINE_CLASS_RGB,
    MACHINE_STATES,
    SIGNAL_RGB_TABLE,
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


@pytest.fixture(scope="module")
def city():
    return session("traffic/grid4x4-v0", "signals/fixed-time-v0", 10)


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


def test_vehicles_drawn_are_the_vehicles_on_the_network(city):
    c = city.arms[0].run.scenario.city
    figure, ax = axes()
    view = TrafficView(ax, c)
    frame = view.frame()
    view.update(frame)
    figure.canvas.draw()
    on_network = int((c.veh.state == DRIVING).sum())
    assert on_network > 0
    drawn = sum(len(view.vehicles.points(k)) for k in range(len(view.vehicles.lines)))
    assert drawn == on_network == len(frame.speed_mps)
    assert on_network == int(c.lanes.count.sum())
    np.testing.assert_allclose(frame.speed_mps, c.veh.speed[c.veh.state == DRIVING])
    # Faster vehicles are never in a slower colour class.
    order = np.argsort(frame.speed_mps)
    assert np.all(np.diff(frame.speed_class[order]) >= 0)
    # Every vehicle is drawn on its lane's segment.
    layout = view.layout
    lanes = c.veh.lane[frame.vehicles]
    low = np.minimum(layout.lane_start, layout.lane_start + layout.lane_vector)[lanes]
    high = np.maximum(layout.lane_start, layout.lane_start + layout.lane_vector)[lanes]
    assert np.all((frame.vehicle_xy >= low - 1e-6) & (frame.vehicle_xy <= high + 1e-6))


def test_signal_colours_are_the_banks_movement_states(city):
    c = city.arms[0].run.scenario.city
    _, ax = axes()
    view = TrafficView(ax, c)
    frame = view.frame()
    view.update(frame)
    np.testing.assert_array_equal(frame.signal_state, c.mov_state)
    for state, line in enumerate(view.signals.lines):
        np.testing.assert_allclose(line.get_color(), SIGNAL_RGB_TABLE[state])
        expected = view.layout.signal_xy[c.mov_state == state]
        drawn = view.signals.points(state)
        np.testing.assert_array_equal(np.sort(drawn, axis=0), np.sort(expected, axis=0))
    np.testing.assert_allclose(frame.signal_rgb, SIGNAL_RGB_TABLE[c.mov_state])
    bank = c.signals
    for i, movements in enumerate(bank.movements):
        # The bank shows the codes of its current phase while green.
        if bank.stage[i] == 0:
            expected = bank.codes[i][bank.phase[i]]
            np.testing.assert_array_equal(frame.signal_state[movements], expected)
    np.testing.assert_array_equal(frame.approach_queue, c.lanes.halting[view.layout.approach_lanes])


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
