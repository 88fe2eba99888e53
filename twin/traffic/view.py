"""How a city is drawn: lanes, vehicles coloured by speed, signal lights, queues.

Plain data (:mod:`twin.core.scene`): the lanes and the lights' places once, then per
frame where each vehicle on the network is (along its lane's drawn centre line) and in
which speed class, the state of every movement's light and how long the queue on each
approach of a signalised intersection is. A click near an intersection selects it
(``intersection:<id>``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from twin.core.scene import (
    FloatArray,
    IntArray,
    Lines,
    PointLayer,
    SceneFrame,
    SceneLayout,
    SegmentLayer,
    fit_bounds,
)
from twin.traffic.kernels import (
    ALLWAY_STOP,
    DRIVING,
    EQUAL,
    MAJOR,
    MINOR,
    OFF,
    OFF_BLINKING,
    PERMISSIVE,
    PROTECTED,
    RED,
    STATE_LETTERS,
    STOP,
    YELLOW,
    ZIPPER,
)

if TYPE_CHECKING:
    from twin.traffic.city import City

SIGNAL_RGB = {
    RED: (0.85, 0.10, 0.10),
    YELLOW: (0.95, 0.80, 0.10),
    PERMISSIVE: (0.55, 0.85, 0.45),
    PROTECTED: (0.05, 0.60, 0.15),
    STOP: (0.50, 0.25, 0.55),
    OFF_BLINKING: (0.95, 0.65, 0.10),
    OFF: (0.45, 0.45, 0.45),
    MAJOR: (0.05, 0.60, 0.15),
    MINOR: (0.55, 0.85, 0.45),
    EQUAL: (0.40, 0.70, 0.90),
    ALLWAY_STOP: (0.50, 0.25, 0.55),
    ZIPPER: (0.95, 0.65, 0.10),
}
"""State of a movement -> colour (SUMO's r, y, g, G, s, o, O, M, m, =, w, Z)."""
SIGNAL_LABELS = {
    RED: "red",
    YELLOW: "yellow",
    PERMISSIVE: "green, yielding",
    PROTECTED: "green, protected",
    STOP: "stop, then go (right on red)",
    OFF_BLINKING: "light off, blinking",
    OFF: "light off",
    MAJOR: "priority road",
    MINOR: "minor road",
    EQUAL: "right before left",
    ALLWAY_STOP: "all-way stop",
    ZIPPER: "zipper",
}
SPEED_LEVELS = 8
"""Speed classes of vehicles, 0 .. SPEED_TOP_MPS."""
SPEED_TOP_MPS = 14.0
"""Top of the speed scale (50 km/h, the grid's limit)."""
SPEED_RGB = (
    (0.2670, 0.0049, 0.3294),
    (0.2752, 0.1949, 0.4960),
    (0.2124, 0.3597, 0.5517),
    (0.1534, 0.4970, 0.5577),
    (0.1223, 0.6332, 0.5304),
    (0.2889, 0.7584, 0.4284),
    (0.6266, 0.8546, 0.2234),
    (0.9932, 0.9062, 0.1439),
)
"""Slow to fast: matplotlib's viridis at SPEED_LEVELS even steps."""
QUEUE_LEVELS = 4
"""Queue heat classes of an approach (class 0, no queue, is not drawn)."""
QUEUE_FULL_VEH = 12.0
"""Halting vehicles at which an approach is drawn in the hottest colour."""
QUEUE_RGB = (
    (1.0, 1.0, 0.8),
    (0.9961, 0.7490, 0.3529),
    (0.9556, 0.2379, 0.1464),
    (0.5020, 0.0, 0.1490),
)
"""No queue to full: matplotlib's YlOrRd at QUEUE_LEVELS even steps."""
LANE_OFFSET_M = 5.0
"""Lateral offset of a lane's drawn centre line from its edge's axis, per lane."""


def speed_class(speed_mps: FloatArray) -> IntArray:
    """The speed class of each speed: ``SPEED_LEVELS`` even bins up to SPEED_TOP_MPS."""
    level = (speed_mps / SPEED_TOP_MPS * SPEED_LEVELS).astype(np.int64)
    return np.clip(level, 0, SPEED_LEVELS - 1)


def queue_class(halting: FloatArray) -> IntArray:
    """The heat class of each queue: 0 none, up to QUEUE_LEVELS - 1 at QUEUE_FULL_VEH."""
    hot = np.ceil(halting / QUEUE_FULL_VEH * (QUEUE_LEVELS - 1)).astype(np.int64)
    return np.minimum(hot, QUEUE_LEVELS - 1)


def _speed_labels() -> tuple[str, ...]:
    width = SPEED_TOP_MPS / SPEED_LEVELS
    labels = [f"{k * width:g}-{(k + 1) * width:g} m/s" for k in range(SPEED_LEVELS - 1)]
    return (*labels, f">= {(SPEED_LEVELS - 1) * width:g} m/s")


def _queue_labels() -> tuple[str, ...]:
    # Halting counts are whole: class k holds ((k - 1) * per_class, k * per_class].
    per_class = QUEUE_FULL_VEH / (QUEUE_LEVELS - 1)
    labels = ["no queue"]
    for k in range(1, QUEUE_LEVELS - 1):
        labels.append(f"{math.floor((k - 1) * per_class) + 1}-{math.floor(k * per_class)} halting")
    labels.append(f"> {math.floor((QUEUE_LEVELS - 2) * per_class)} halting")
    return tuple(labels)


class TrafficView:
    """The city's lanes, vehicles, lights and approach queues.

    Attributes:
        lane_start, lane_vector: ``(lanes, 2)`` start and ``end - start`` of the drawn
            centre line of every lane (edge lanes, then one internal lane per movement).
        lane_length_m: the kernel's length of each lane (a vehicle at ``pos`` is drawn
            ``pos / length`` of the way along its line).
        approach_lanes: edge lanes that end at a signalised intersection.
        signal_xy: ``(movements, 2)``: where each movement's light is drawn.
        intersection_xy: ``(intersections, 2)``: each intersection's node.
        intersection_ids: their ids.
    """

    def __init__(self, city: City) -> None:
        self.city = city
        net = city.network
        arrays = city.arrays
        node_xy = np.array([(n.x_m, n.y_m) for n in net.nodes], dtype=np.float64).reshape(-1, 2)
        self.lane_start, self.lane_vector = _lane_lines(city, node_xy)
        self.lane_length_m = arrays.lane_length_m.copy()
        signalised = [i for i in net.intersections if i.program is not None]
        approach = sorted(
            {int(arrays.mov_from_lane[m]) for inter in signalised for m in inter.movements}
        )
        self.approach_lanes = np.array(approach, dtype=np.int64)
        # A movement's light sits a quarter of the way into its path through the
        # junction, so the lights of one approach fan out by turn.
        mov_lanes = np.arange(arrays.n_lanes, arrays.total_lanes)
        self.signal_xy = self.lane_start[mov_lanes] + 0.25 * self.lane_vector[mov_lanes]
        self.intersection_xy = node_xy[[i.node for i in net.intersections]].reshape(-1, 2)
        self.intersection_ids = tuple(i.id for i in net.intersections)
        segments = self.edge_segments
        signal_codes = sorted(SIGNAL_RGB)
        self.layout = SceneLayout(
            static=(Lines(segments[: arrays.n_lanes], colour="0.8", width=1.0, label="lanes"),),
            layers=(
                SegmentLayer(
                    "queues",
                    segments[self.approach_lanes],
                    QUEUE_RGB,
                    _queue_labels(),
                    width=3.0,
                    zorder=1.0,
                ),
                PointLayer(
                    "vehicles", SPEED_RGB, _speed_labels(), marker="o", size_pt=1.8, zorder=2.0
                ),
                PointLayer(
                    "signals",
                    tuple(SIGNAL_RGB[k] for k in signal_codes),
                    tuple(f"{SIGNAL_LABELS[k]} ({STATE_LETTERS[k]})" for k in signal_codes),
                    marker="o",
                    size_pt=2.0,
                    zorder=3.0,
                ),
            ),
            bounds=fit_bounds(np.vstack([self.lane_start, self.lane_start + self.lane_vector])),
            equal_aspect=True,
            pick_xy=self.intersection_xy,
            pick_names=tuple(f"intersection:{i}" for i in self.intersection_ids),
        )

    @property
    def edge_segments(self) -> FloatArray:
        """(lanes, 2, 2) start and end of every lane."""
        return np.stack((self.lane_start, self.lane_start + self.lane_vector), axis=1)

    def vehicle_xy(self) -> tuple[IntArray, FloatArray]:
        """The trip indices of the vehicles on the network and where they are drawn."""
        veh = self.city.veh
        on = np.flatnonzero(veh.state == DRIVING)
        lane = veh.lane[on]
        fraction = np.clip(veh.pos[on] / self.lane_length_m[lane], 0.0, 1.0)
        return on, self.lane_start[lane] + self.lane_vector[lane] * fraction[:, None]

    def frame(self) -> SceneFrame:
        """Vehicles at their places by speed, every light's state, approach queues."""
        city = self.city
        on, xy = self.vehicle_xy()
        queue = city.lanes.halting[self.approach_lanes].astype(np.float64)
        halting = int(city.veh.halting[on].sum())
        return SceneFrame(
            now_s=float(city.env.now),
            points={
                "vehicles": (xy, speed_class(city.veh.speed[on])),
                "signals": (self.signal_xy, city.mov_state.astype(np.int64)),
            },
            segments={"queues": queue_class(queue)},
            caption=f"{len(on)} vehicles on the network, {halting} halting",
        )


def _lane_lines(city: City, node_xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Start and ``end - start`` of every lane's drawn centre line: edge lanes offset
    to the right of their edge's axis and trimmed short of the junctions, internal
    lanes from the end of their movement's lane to the start of its target edge."""
    net = city.network
    arrays = city.arrays
    total = arrays.total_lanes
    start = np.zeros((total, 2))
    vector = np.zeros((total, 2))
    for k, edge in enumerate(net.edges):
        a, b = node_xy[edge.from_node], node_xy[edge.to_node]
        axis = b - a
        length = math.hypot(*axis) or 1.0
        unit = axis / length
        right = np.array((unit[1], -unit[0]))
        trim = min(2.5 * LANE_OFFSET_M * edge.lanes, 0.25 * length)
        first = int(arrays.edge_lane_start[k])
        for j in range(edge.lanes):
            offset = right * LANE_OFFSET_M * (j + 0.5)
            start[first + j] = a + unit * trim + offset
            vector[first + j] = axis - 2 * unit * trim
    for m, movement in enumerate(net.movements):
        lane = arrays.n_lanes + m
        from_lane = int(arrays.mov_from_lane[m])
        to_lane = int(arrays.edge_lane_start[movement.to_edge])
        start[lane] = start[from_lane] + vector[from_lane]
        vector[lane] = start[to_lane] - start[lane]
    return start, vector
