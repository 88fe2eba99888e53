"""How a cluster is drawn: one square per node slot, coloured by the node's state and
load, and a mark above each node whose queue is long.

The slots sit on a square grid of 1 m cells (:func:`twin.cloud.cluster.slot_positions`),
so a node's square is sized in metres of that plane and fills its cell at any figure
size. A click on a slot selects its entity, ``node:<slot>``.
"""

from __future__ import annotations

import numpy as np

from twin.cloud.cluster import Cluster
from twin.core.scene import (
    PointLayer,
    SceneFrame,
    SceneLayout,
    classes_from_levels,
)

NODE_CLASSES = (
    "empty slot", "starting", "draining", "idle", "busy < 50%", "busy < 100%", "all busy",
)  # fmt: skip
"""Classes of the ``nodes`` layer: every slot, empty or holding a node."""
NODE_RGB = (
    (0.95, 0.95, 0.95),  # empty slot: the grid's background
    (0.55, 0.75, 0.95),  # starting: light blue
    (0.95, 0.65, 0.10),  # draining: orange
    (0.80, 0.80, 0.80),  # idle: grey
    (0.60, 0.85, 0.55),  # lightly busy
    (0.20, 0.65, 0.25),  # busy
    (0.05, 0.40, 0.10),  # every worker busy
)
"""Colours of :data:`NODE_CLASSES`."""
EMPTY, STARTING, DRAINING, IDLE, BUSY_HALF, BUSY, ALL_BUSY = range(len(NODE_CLASSES))

QUEUE_LEVELS = np.array([1, 5, 20])
"""Waiting requests at which a node's queue mark turns one class hotter."""
QUEUE_LABELS = ("", "1-4 waiting", "5-19 waiting", "20+ waiting")
QUEUE_RGB = (
    "none",
    (0.996, 0.73, 0.332),  # matplotlib's YlOrRd at 0.35, 0.675 and 1.0
    (0.949, 0.225, 0.143),
    (0.502, 0.0, 0.149),
)
NODE_SIZE_M = 0.6
"""A node's square is 60% of its 1 m cell."""
QUEUE_SIZE_M = 0.35 * NODE_SIZE_M
QUEUE_OFFSET_M = 0.3
"""The queue mark sits this far above its node's centre."""
MARGIN_M = 0.3


class CloudView:
    """A built cluster as the browser app and recordings draw it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.slot_xy = cluster.slot_xy
        self.queue_xy = self.slot_xy + np.array([0.0, QUEUE_OFFSET_M])
        x_min, y_min = self.slot_xy.min(axis=0)
        x_max, y_max = self.slot_xy.max(axis=0)
        half = NODE_SIZE_M / 2
        self.layout = SceneLayout(
            static=(),
            layers=(
                PointLayer(
                    "nodes", NODE_RGB, NODE_CLASSES, marker="s", size_m=NODE_SIZE_M, zorder=2
                ),
                PointLayer(
                    "queues", QUEUE_RGB, QUEUE_LABELS, marker="o", size_m=QUEUE_SIZE_M, zorder=3
                ),
            ),
            # Every square whole, and the queue marks above the top row.
            bounds=(
                float(x_min - half - MARGIN_M),
                float(x_max + half + MARGIN_M),
                float(y_min - half - MARGIN_M),
                float(y_max + QUEUE_OFFSET_M + QUEUE_SIZE_M / 2 + MARGIN_M),
            ),
            equal_aspect=True,
            pick_xy=self.slot_xy,
            pick_names=tuple(entity.name for entity in cluster.node_slots),
            pick_labels=tuple(f"node {slot}" for slot in range(len(self.slot_xy))),
        )

    def frame(self) -> SceneFrame:
        """The cluster now. It serves each sync window's requests lazily, so the window so
        far is served first (what its KPIs do too; it changes nothing a run ends with)."""
        cluster = self.cluster
        cluster.close()
        now = float(cluster.env.now)
        busy = (cluster.free > now).sum(axis=1)
        # Completions not yet popped from a node's heap are done: count only those ahead.
        in_node = np.array(
            [(cluster.heap[s, : cluster.heap_size[s]] > now).sum() for s in range(cluster.slots)]
        )
        waiting = np.maximum(in_node - busy, 0)
        node_class = np.full(cluster.slots, EMPTY, dtype=np.int64)
        for slot, node in enumerate(cluster.nodes):
            if node is None or node.state == "off":
                continue
            if node.state == "starting":
                node_class[slot] = STARTING
            elif node.state == "draining":
                node_class[slot] = DRAINING
            else:
                share = busy[slot] / cluster.workers
                node_class[slot] = (
                    IDLE if share == 0 else BUSY_HALF if share < 0.5 else BUSY
                    if share < 1 else ALL_BUSY
                )  # fmt: skip
        counts = np.bincount(node_class, minlength=len(NODE_CLASSES))
        caption = (
            f"{counts[IDLE:].sum()} ready, {counts[STARTING]} starting, {counts[DRAINING]} "
            f"draining; {waiting.sum()} queued, {cluster.backlog.size} deferred"
        )
        return SceneFrame(
            now_s=now,
            points={
                "nodes": (self.slot_xy, node_class),
                "queues": (self.queue_xy, classes_from_levels(waiting, QUEUE_LEVELS)),
            },
            caption=caption,
        )
