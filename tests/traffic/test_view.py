"""The traffic view's frames equal the city's own state (no drawing needed)."""

import numpy as np
import pytest

from twin.core.scenario import ScenarioConfig
from twin.core.scene import PointLayer, SegmentLayer
from twin.traffic.kernels import DRIVING
from twin.traffic.view import (
    QUEUE_FULL_VEH,
    QUEUE_LEVELS,
    SIGNAL_RGB,
    SPEED_LEVELS,
    SPEED_TOP_MPS,
    TrafficView,
    queue_class,
    speed_class,
)
from viz.session import Session


@pytest.fixture(scope="module")
def city():
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=6 * 3600.0, tick_s=60.0)
    session = Session(config, ["signals/fixed-time-v0"], 1)
    session.step(10)
    return session.arms[0].run.scenario.city


def test_vehicles_drawn_are_the_vehicles_on_the_network(city):
    view = TrafficView(city)
    frame = view.frame()
    xy, classes = frame.points["vehicles"]
    on = np.flatnonzero(city.veh.state == DRIVING)
    assert len(on) > 0
    assert len(xy) == len(classes) == len(on) == int(city.lanes.count.sum())
    speed = city.veh.speed[on]
    np.testing.assert_array_equal(
        classes, np.clip((speed / SPEED_TOP_MPS * SPEED_LEVELS).astype(np.int64), 0, 7)
    )
    # Faster vehicles are never in a slower colour class.
    order = np.argsort(speed)
    assert np.all(np.diff(classes[order]) >= 0)
    # Every vehicle is drawn on its lane's segment, as far along as it is on its lane.
    lanes = city.veh.lane[on]
    fraction = np.clip(city.veh.pos[on] / city.arrays.lane_length_m[lanes], 0.0, 1.0)
    expected = view.lane_start[lanes] + view.lane_vector[lanes] * fraction[:, None]
    np.testing.assert_array_equal(xy, expected)
    low = np.minimum(view.lane_start, view.lane_start + view.lane_vector)[lanes]
    high = np.maximum(view.lane_start, view.lane_start + view.lane_vector)[lanes]
    assert np.all((xy >= low - 1e-6) & (xy <= high + 1e-6))
    assert frame.caption.startswith(f"{len(on)} vehicles")


def test_signal_classes_are_the_banks_movement_states(city):
    view = TrafficView(city)
    frame = view.frame()
    xy, state = frame.points["signals"]
    np.testing.assert_array_equal(state, city.mov_state)
    np.testing.assert_array_equal(xy, view.signal_xy)
    layer = next(x for x in view.layout.layers if x.name == "signals")
    assert layer.colours == tuple(SIGNAL_RGB[k] for k in sorted(SIGNAL_RGB))
    bank = city.signals
    for i, movements in enumerate(bank.movements):
        # The bank shows the codes of its current phase while green.
        if bank.stage[i] == 0:
            np.testing.assert_array_equal(state[movements], bank.codes[i][bank.phase[i]])


def test_queue_classes_are_the_approach_lanes_halting_counts(city):
    view = TrafficView(city)
    frame = view.frame()
    halting = city.lanes.halting[view.approach_lanes]
    np.testing.assert_array_equal(frame.segments["queues"], queue_class(halting.astype(float)))
    expected = np.minimum(np.ceil(halting / QUEUE_FULL_VEH * 3), QUEUE_LEVELS - 1)
    np.testing.assert_array_equal(frame.segments["queues"], expected)
    approach = {
        int(city.arrays.mov_from_lane[m])
        for inter in city.network.intersections
        if inter.program is not None
        for m in inter.movements
    }
    assert set(view.approach_lanes.tolist()) == approach


def test_layout_labels_every_class_and_picks_intersections(city):
    view = TrafficView(city)
    layout = view.layout
    for layer in layout.layers:
        assert isinstance(layer, PointLayer | SegmentLayer)
        assert len(layer.labels) == len(layer.colours)
        assert all(layer.labels[1:])
        assert len(set(layer.labels)) == len(layer.labels)
    assert len(layout.pick_names) == len(city.network.intersections)
    for name, xy in zip(layout.pick_names, layout.pick_xy, strict=True):
        assert city.world.entity(name).pos == tuple(xy)
    x0, x1, y0, y1 = layout.bounds
    ends = np.vstack([view.lane_start, view.lane_start + view.lane_vector])
    assert x0 < ends[:, 0].min()
    assert ends[:, 0].max() < x1
    assert y0 < ends[:, 1].min()
    assert ends[:, 1].max() < y1


def test_class_helpers_at_their_edges():
    np.testing.assert_array_equal(
        speed_class(np.array([0.0, 1.7499, 1.75, 13.99, 14.0, 40.0])), [0, 0, 1, 7, 7, 7]
    )
    np.testing.assert_array_equal(
        queue_class(np.array([0.0, 1, 4, 5, 8, 9, 40])), [0, 1, 1, 2, 2, 3, 3]
    )
