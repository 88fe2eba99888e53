"""Matplotlib artists for the domain views: static parts built once, dynamic data updated.

A view is built once per run on an ``Axes``: the static parts (aisles, roads, chargers)
become artists that are never touched again; :meth:`update` only sets the data of the
dynamic artists (``set_offsets``, ``set_array``, ``set_facecolor``), listed in
``dynamic`` so a renderer can blit them over a cached background
(:class:`viz.record.Replay`) instead of redrawing the figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from viz.views import (
    BUFFER_LEVELS,
    MACHINE_CLASS_RGB,
    QUEUE_LEVELS,
    SIGNAL_RGB_TABLE,
    SPEED_LEVELS,
    STATE_CODE,
    STATION_SLOT_M,
    WEAR_LEVELS,
    CloudFrame,
    CloudLayout,
    FactoryFrame,
    FactoryLayout,
    StationFrame,
    StationLayout,
    SupplyFrame,
    SupplyLayout,
    TrafficFrame,
    TrafficLayout,
    cloud_frame,
    cloud_layout,
    domain_of,
    factory_frame,
    factory_layout,
    station_frame,
    station_layout,
    supply_frame,
    supply_layout,
    traffic_frame,
    traffic_layout,
)


class ClassMarkers:
    """Points drawn in a few colour classes: one marker line per class.

    Agg stamps a line's marker from one cached raster, where a scatter with a colour per
    point rasterises every marker: binning thousands of points into a few colours makes
    a frame several times faster, and the frame data keeps the exact values.
    """

    def __init__(
        self, ax: Axes, colours: Any, marker: str, size: float, zorder: float, **style: Any
    ) -> None:
        self.lines: list[Line2D] = [
            ax.plot(
                [],
                [],
                linestyle="none",
                marker=marker,
                markersize=size,
                color=colour,
                markeredgewidth=0,
                zorder=zorder,
                **style,
            )[0]
            for colour in colours
        ]

    def set(self, xy: np.ndarray, classes: np.ndarray) -> None:
        """Draw point ``xy[i]`` in the colour of class ``classes[i]``."""
        order = np.argsort(classes, kind="stable")
        bounds = np.searchsorted(classes[order], np.arange(len(self.lines) + 1))
        for k, line in enumerate(self.lines):
            chosen = xy[order[bounds[k] : bounds[k + 1]]]
            line.set_data(chosen[:, 0], chosen[:, 1])

    def points(self, k: int) -> np.ndarray:
        """The points drawn in class ``k``, ``(n, 2)`` (for tests)."""
        x, y = self.lines[k].get_data()
        return np.column_stack((x, y))


class ClassSegments:
    """Line segments in a few colour classes: one NaN-separated polyline per class."""

    def __init__(self, ax: Axes, segments: np.ndarray, colours: Any, **style: Any) -> None:
        self.segments = segments
        self.lines: list[Line2D] = [ax.plot([], [], color=c, **style)[0] for c in colours]

    def set(self, classes: np.ndarray) -> None:
        """Draw segment ``i`` in class ``classes[i]``; class 0 is not drawn."""
        for k, line in enumerate(self.lines):
            if k == 0:
                continue
            chosen = self.segments[classes == k]
            gaps = np.full((len(chosen), 1, 2), np.nan)
            path = np.concatenate((chosen, gaps), axis=1).reshape(-1, 2)
            line.set_data(path[:, 0], path[:, 1])


class FactoryView:
    """The factory floor of one plant on ``ax``."""

    def __init__(self, ax: Axes, plant: Any) -> None:
        self.plant = plant
        self.layout: FactoryLayout = factory_layout(plant)
        layout = self.layout
        ax.set_aspect("equal")
        ax.set_axis_off()
        if len(layout.aisles):
            ax.add_collection(
                LineCollection(layout.aisles, colors="0.85", linewidths=0.8, zorder=0)
            )
        if len(layout.charger_xy):
            ax.scatter(*layout.charger_xy.T, marker="P", s=30, c="gold", zorder=1)
        size = _marker_size(len(layout.machine_xy))
        self.machines = ClassMarkers(ax, MACHINE_CLASS_RGB, "s", size, 2)
        blues = colormaps["Blues"](np.linspace(0.1, 1.0, BUFFER_LEVELS))
        self.buffers = ClassMarkers(ax, blues, "o", size, 2)
        self.agvs = ax.scatter(
            np.zeros(0),
            np.zeros(0),
            marker="^",
            s=2 * size**2,
            c=np.zeros(0),
            cmap="RdYlGn",
            norm=Normalize(0.0, 1.0),
            edgecolors="k",
            zorder=3,
        )
        _fit(ax, np.vstack([layout.machine_xy, layout.buffer_xy, *layout.aisles]))
        self.dynamic: list[Artist] = [*self.machines.lines, *self.buffers.lines, self.agvs]

    def frame(self) -> FactoryFrame:
        return factory_frame(self.plant, self.layout)

    def update(self, frame: FactoryFrame) -> None:
        self.machines.set(self.layout.machine_xy, frame.machine_class)
        self.buffers.set(self.layout.buffer_xy, frame.buffer_class)
        self.agvs.set_offsets(frame.agv_xy)
        self.agvs.set_array(frame.agv_soc)
        # A loaded AGV has a thick black outline, an empty one a thin one.
        self.agvs.set_linewidths(np.where(frame.agv_loaded, 1.5, 0.3))


class TrafficView:
    """The traffic grid of one city on ``ax``."""

    def __init__(self, ax: Axes, city: Any) -> None:
        self.city = city
        self.layout: TrafficLayout = traffic_layout(city)
        layout = self.layout
        ax.set_aspect("equal")
        ax.set_axis_off()
        segments = layout.edge_segments[: city.arrays.n_lanes]
        ax.add_collection(LineCollection(segments, colors="0.8", linewidths=1.0, zorder=0))
        heat = colormaps["YlOrRd"](np.linspace(0.0, 1.0, QUEUE_LEVELS))
        self.queues = ClassSegments(
            ax, layout.edge_segments[layout.approach_lanes], heat, linewidth=3.0, zorder=1
        )
        self.signals = ClassMarkers(ax, SIGNAL_RGB_TABLE, "o", 2.0, 3)
        speeds = colormaps["viridis"](np.linspace(0.0, 1.0, SPEED_LEVELS))
        self.vehicles = ClassMarkers(ax, speeds, "o", 1.8, 2)
        _fit(ax, np.vstack([layout.lane_start, layout.lane_start + layout.lane_vector]))
        self.dynamic: list[Artist] = [
            *self.queues.lines,
            *self.vehicles.lines,
            *self.signals.lines,
        ]

    def frame(self) -> TrafficFrame:
        return traffic_frame(self.city, self.layout)

    def update(self, frame: TrafficFrame) -> None:
        self.vehicles.set(frame.vehicle_xy, frame.speed_class)
        self.signals.set(self.layout.signal_xy, frame.signal_state)
        self.queues.set(frame.queue_class)


STATE_IDLE_RGB = MACHINE_CLASS_RGB[STATE_CODE["idle"] * WEAR_LEVELS]
STATE_BUSY_RGB = MACHINE_CLASS_RGB[STATE_CODE["busy"] * WEAR_LEVELS]
"""A station's servers in the factory's idle grey and busy green."""


class StationView:
    """A queueing station on ``ax``: servers busy or idle, the jobs waiting in line."""

    def __init__(self, ax: Axes, station: Any) -> None:
        self.station = station
        self.layout: StationLayout = station_layout(station)
        layout = self.layout
        # Not to scale: a row of waiting places and a column of servers fill the panel.
        ax.set_axis_off()
        if layout.capacity is not None and len(layout.queue_xy):
            ax.plot(*layout.queue_xy.T, linestyle="none", marker="o", color="0.9", zorder=0)
        self.servers = ClassMarkers(ax, [STATE_IDLE_RGB, STATE_BUSY_RGB], "s", 18.0, 2)
        (self.queue,) = ax.plot([], [], linestyle="none", marker="o", color="tab:blue", ms=7)
        self.count = ax.text(0.02, 0.9, "", fontsize=10, transform=ax.transAxes)
        spread = float(np.abs(layout.server_xy[:, 1]).max()) + 2.0 * STATION_SLOT_M
        left = float(layout.queue_xy[:, 0].min()) if len(layout.queue_xy) else -1.0
        ax.set_xlim(left - STATION_SLOT_M, 2.0 * STATION_SLOT_M)
        ax.set_ylim(-spread, spread)
        self.dynamic: list[Artist] = [*self.servers.lines, self.queue, self.count]

    def frame(self) -> StationFrame:
        return station_frame(self.station, self.layout)

    def update(self, frame: StationFrame) -> None:
        self.servers.set(self.layout.server_xy, frame.busy.astype(np.int64))
        self.queue.set_data(frame.queue_drawn[:, 0], frame.queue_drawn[:, 1])
        self.count.set_text(f"{frame.queue_length} waiting, {frame.rejected} turned away")


STOCK_RGB = [(0.85, 0.10, 0.10), (0.95, 0.65, 0.10), (0.20, 0.65, 0.25), (0.10, 0.35, 0.80)]
"""Out of stock red, low orange, normal green, overstocked blue (``STOCK_LEVELS``)."""


class SupplyView:
    """A supply network on ``ax``: sites by echelon coloured by stock, trucks on lanes."""

    def __init__(self, ax: Axes, network: Any) -> None:
        self.network = network
        self.layout: SupplyLayout = supply_layout(network)
        layout = self.layout
        ax.set_axis_off()
        ax.add_collection(
            LineCollection(layout.lane_segments, colors="0.85", linewidths=0.8, zorder=0)
        )
        size = float(np.clip(80.0 / np.sqrt(max(len(layout.site_xy), 1)), 4.0, 14.0))
        suppliers = layout.site_xy[layout.supplier]
        ax.plot(*suppliers.T, linestyle="none", marker="D", ms=size, color="0.55", zorder=2)
        self.sites = ClassMarkers(ax, STOCK_RGB, "o", size, 2)
        self.trucks = ClassMarkers(ax, ["0.6", "k"], ">", 0.6 * size, 3)
        _fit(ax, layout.site_xy)
        self.dynamic: list[Artist] = [*self.sites.lines, *self.trucks.lines]

    def frame(self) -> SupplyFrame:
        return supply_frame(self.network, self.layout)

    def update(self, frame: SupplyFrame) -> None:
        stocked = ~self.layout.supplier
        self.sites.set(self.layout.site_xy[stocked], frame.stock_class[stocked])
        self.trucks.set(frame.truck_xy, frame.truck_loaded.astype(np.int64))


NODE_RGB = [
    (0.55, 0.75, 0.95),  # starting: light blue
    (0.95, 0.65, 0.10),  # draining: orange
    (0.80, 0.80, 0.80),  # idle: grey
    (0.60, 0.85, 0.55),  # lightly busy
    (0.20, 0.65, 0.25),  # busy
    (0.05, 0.40, 0.10),  # every worker busy
]
"""Colours of ``NODE_CLASSES``."""


class CloudView:
    """A cluster on ``ax``: node slots by state and load, queue marks above busy nodes."""

    def __init__(self, ax: Axes, cluster: Any) -> None:
        self.cluster = cluster
        self.layout: CloudLayout = cloud_layout(cluster)
        layout = self.layout
        ax.set_axis_off()
        ax.set_aspect("equal")
        columns = int(layout.slot_xy[:, 0].max()) + 1
        rows = int(-layout.slot_xy[:, 1].min()) + 1
        ax.set_xlim(-1.0, columns)
        ax.set_ylim(-rows, 1.0)
        # A node fills about 60% of its cell (marker sizes are in points).
        cell_pt = 72.0 * ax.figure.get_figwidth() / len(ax.figure.axes) / (max(columns, rows) + 1)
        size = 0.6 * cell_pt
        ax.plot(*layout.slot_xy.T, linestyle="none", marker="s", ms=size, color="0.95", zorder=0)
        self.nodes = ClassMarkers(ax, NODE_RGB, "s", size, 2)
        heat = colormaps["YlOrRd"](np.linspace(0.35, 1.0, 3))
        self.queues = ClassMarkers(ax, ["none", *heat], "o", 0.35 * size, 3)
        self.caption = ax.text(0.0, 0.0, "", fontsize=9, transform=ax.transAxes, va="top")
        self.dynamic: list[Artist] = [*self.nodes.lines, *self.queues.lines, self.caption]

    def frame(self) -> CloudFrame:
        return cloud_frame(self.cluster, self.layout)

    def update(self, frame: CloudFrame) -> None:
        shown = frame.node_class >= 0
        self.nodes.set(self.layout.slot_xy[shown], frame.node_class[shown])
        above = self.layout.slot_xy + np.array([0.0, 0.3])  # the queue mark sits on top
        self.queues.set(above, frame.queue_class)
        counts = np.bincount(frame.node_class[shown], minlength=len(NODE_RGB))
        self.caption.set_text(
            f"{counts[2:].sum()} ready, {counts[0]} starting, {counts[1]} draining; "
            f"{frame.waiting.sum()} queued, {frame.deferred} deferred"
        )


DomainView = FactoryView | TrafficView | StationView | SupplyView | CloudView


def view_for(ax: Axes, scenario: Any) -> DomainView:
    """The view of a built scenario's world on ``ax`` (``LookupError`` if none)."""
    domain = domain_of(scenario)
    if domain == "factory":
        return FactoryView(ax, scenario.plant)
    if domain == "station":
        return StationView(ax, scenario.station)
    if domain == "supply":
        return SupplyView(ax, scenario.network)
    if domain == "cloud":
        return CloudView(ax, scenario.cluster)
    return TrafficView(ax, scenario.city)


def _marker_size(n: int) -> float:
    """Marker width in points: smaller the more markers share the axes."""
    return float(np.clip(60.0 / np.sqrt(max(n, 1)), 1.5, 8.0))


def _fit(ax: Axes, xy: np.ndarray) -> None:
    xy = xy.reshape(-1, 2)
    if not len(xy):
        return
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = 0.05 * float(max(high - low)) + 5.0
    ax.set_xlim(low[0] - pad, high[0] + pad)
    ax.set_ylim(low[1] - pad, high[1] + pad)
