"""The cluster's view: every node slot in its class, queues, caption, picking (no drawing)."""

from __future__ import annotations

import numpy as np

from twin.cloud.view import (
    ALL_BUSY,
    BUSY,
    BUSY_HALF,
    DRAINING,
    EMPTY,
    IDLE,
    NODE_CLASSES,
    QUEUE_LEVELS,
    STARTING,
    CloudView,
)
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.scene import PointLayer


def built(policy: str, until_s: float, scenario: str = "cloud/burst-v0"):
    config = ScenarioConfig(id=scenario, horizon_s=86_400.0, tick_s=300.0)
    run = prepare_run(config, policy, seed=3)
    run.world.run(until_s)
    return run


def expected_class(cluster, slot: int, now: float) -> int:
    node = cluster.nodes[slot]
    if node is None:
        return EMPTY
    if node.state == "starting":
        return STARTING
    if node.state == "draining":
        return DRAINING
    busy = int((cluster.free[slot] > now).sum())
    if busy == 0:
        return IDLE
    return BUSY_HALF if busy < cluster.workers / 2 else BUSY if busy < cluster.workers else ALL_BUSY


def test_a_cluster_shows_each_node_by_state_and_its_queue():
    # One static node under the burst scenario's load for 110 five-minute ticks.
    run = built("scaling/static-v0", 110 * 300.0)
    cluster = run.scenario.cluster
    view = CloudView(cluster)
    frame = view.frame()
    now = float(cluster.env.now)
    assert frame.now_s == now
    xy, node_class = frame.points["nodes"]
    assert np.array_equal(xy, view.layout.pick_xy)
    for slot in range(cluster.slots):
        assert node_class[slot] == expected_class(cluster, slot, now)
    live = [n for n in cluster.nodes if n is not None]
    assert (node_class != EMPTY).sum() == len(live)
    # Queues: after the view closed the window, every completion in a heap lies ahead.
    waiting = np.array(
        [
            cluster.waiting(s, now) if cluster.nodes[s] is not None else 0
            for s in range(cluster.slots)
        ]
    )
    queue_xy, queue_class = frame.points["queues"]
    assert np.array_equal(queue_class, np.searchsorted(QUEUE_LEVELS, waiting, side="right"))
    assert np.allclose(queue_xy - xy, [0.0, 0.3])
    assert waiting.sum() > 0  # one static node under the burst: a queue
    assert frame.caption == (
        f"{len(live)} ready, 0 starting, 0 draining; {waiting.sum()} queued, "
        f"{cluster.backlog.size} deferred"
    )
    assert run.world.entity("cluster").inspect()["deferred"] == cluster.backlog.size


def test_a_scaling_cluster_shows_starting_and_draining_nodes_and_empty_slots():
    run = built("scaling/hpa-v0", 4 * 3600.0)
    cluster = run.scenario.cluster
    view = CloudView(cluster)
    seen: set[int] = set()
    for _ in range(40):  # a few sync periods apart: launches and drains come and go
        run.world.run(cluster.env.now + 45.0)
        _, node_class = view.frame().points["nodes"]
        now = float(cluster.env.now)
        assert [int(c) for c in node_class] == [
            expected_class(cluster, s, now) for s in range(cluster.slots)
        ]
        seen.update(int(c) for c in node_class)
    assert EMPTY in seen
    assert seen & {IDLE, BUSY_HALF, BUSY, ALL_BUSY}


def test_the_layout_places_each_slot_where_its_entity_is_and_sizes_nodes_in_metres():
    run = built("scaling/static-v0", 60.0)
    cluster = run.scenario.cluster
    layout = CloudView(cluster).layout
    assert len(layout.pick_names) == cluster.slots == 80  # twice the 40 nodes at most
    for name, xy in zip(layout.pick_names, layout.pick_xy, strict=True):
        assert tuple(xy) == run.world.entity(name).pos
    x_min, x_max, y_min, y_max = layout.bounds
    assert x_min < layout.pick_xy[:, 0].min()
    assert layout.pick_xy[:, 0].max() < x_max
    assert y_min < layout.pick_xy[:, 1].min()
    assert layout.pick_xy[:, 1].max() < y_max
    nodes, queues = layout.layers
    assert isinstance(nodes, PointLayer)
    assert isinstance(queues, PointLayer)
    assert nodes.labels == NODE_CLASSES
    assert all(nodes.labels)
    assert nodes.size_m == 0.6
    assert nodes.size_pt is None
    assert queues.labels[0] == ""
    assert all(queues.labels[1:])


def test_every_node_and_queue_mark_is_whole_inside_the_bounds_and_nodes_are_labelled():
    run = built("scaling/static-v0", 60.0)
    view = CloudView(run.scenario.cluster)
    layout = view.layout
    x_min, x_max, y_min, y_max = layout.bounds
    nodes, queues = layout.layers
    for xy, layer in ((view.slot_xy, nodes), (view.queue_xy, queues)):
        half = layer.size_m / 2
        assert (xy - half >= (x_min, y_min)).all()
        assert (xy + half <= (x_max, y_max)).all()
    assert layout.point_labels[:3] == ("node 0", "node 1", "node 2")
    assert len(set(layout.point_labels)) == len(layout.pick_names) == 80
