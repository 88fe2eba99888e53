"""Matplotlib artists for the domain views: static parts built once, dynamic data updated.

A view is built once per run on an ``Axes``: the static parts (aisles, roads, chargers)
become artists that are never touched again; :meth:`update` only sets the data of the
dynamic artists (``set_offsets``, ``set_array``, ``set_facecolor``), so a frame costs
what matplotlib needs to rasterise it, not a rebuild of the figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize

from viz.views import (
    FactoryFrame,
    FactoryLayout,
    TrafficFrame,
    TrafficLayout,
    domain_of,
    factory_frame,
    factory_layout,
    traffic_frame,
    traffic_layout,
)

SPEED_LIMIT_MPS = 14.0
"""Top of the vehicle speed colour scale (50 km/h)."""
QUEUE_FULL_VEH = 15.0
"""Top of the approach queue colour scale: a 200 m block holds about 28 cars."""


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
        self.machines = ax.scatter(
            *layout.machine_xy.T, marker="s", s=size, c="0.75", linewidths=0, zorder=2
        )
        self.buffers = ax.scatter(
            *layout.buffer_xy.T,
            marker="o",
            s=size,
            c=np.zeros(len(layout.buffer_xy)),
            cmap="Blues",
            norm=Normalize(0.0, 1.0),
            edgecolors="0.5",
            linewidths=0.3,
            zorder=2,
        )
        self.agvs = ax.scatter(
            np.zeros(0),
            np.zeros(0),
            marker="^",
            s=3 * size,
            c=np.zeros(0),
            cmap="RdYlGn",
            norm=Normalize(0.0, 1.0),
            edgecolors="k",
            zorder=3,
        )
        _fit(ax, np.vstack([layout.machine_xy, layout.buffer_xy, *layout.aisles]))

    def frame(self) -> FactoryFrame:
        return factory_frame(self.plant, self.layout)

    def update(self, frame: FactoryFrame) -> None:
        self.machines.set_facecolor(frame.machine_rgb)
        self.buffers.set_array(frame.buffer_fill)
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
        ax.set_facecolor("white")
        segments = layout.edge_segments[: city.arrays.n_lanes]
        ax.add_collection(LineCollection(segments, colors="0.8", linewidths=1.0, zorder=0))
        self.queues = LineCollection(
            layout.edge_segments[layout.approach_lanes],
            cmap="YlOrRd",
            norm=Normalize(0.0, QUEUE_FULL_VEH),
            linewidths=3.0,
            alpha=0.8,
            zorder=1,
        )
        self.queues.set_array(np.zeros(len(layout.approach_lanes)))
        ax.add_collection(self.queues)
        self.signals = ax.scatter(
            *layout.signal_xy.T, marker="o", s=4, c="r", linewidths=0, zorder=3
        )
        self.vehicles = ax.scatter(
            np.zeros(0),
            np.zeros(0),
            marker="o",
            s=3,
            c=np.zeros(0),
            cmap="viridis",
            norm=Normalize(0.0, SPEED_LIMIT_MPS),
            linewidths=0,
            zorder=2,
        )
        _fit(ax, np.vstack([layout.lane_start, layout.lane_start + layout.lane_vector]))

    def frame(self) -> TrafficFrame:
        return traffic_frame(self.city, self.layout)

    def update(self, frame: TrafficFrame) -> None:
        self.vehicles.set_offsets(frame.vehicle_xy)
        self.vehicles.set_array(frame.speed_mps)
        self.signals.set_facecolor(frame.signal_rgb)
        self.queues.set_array(frame.approach_queue)


DomainView = FactoryView | TrafficView


def view_for(ax: Axes, scenario: Any) -> DomainView:
    """The view of a built scenario's world on ``ax`` (``LookupError`` if none)."""
    if domain_of(scenario) == "factory":
        return FactoryView(ax, scenario.plant)
    return TrafficView(ax, scenario.city)


def _marker_size(n: int) -> float:
    """Marker area in points^2: smaller the more markers share the axes."""
    return float(np.clip(4000.0 / max(n, 1), 2.0, 60.0))


def _fit(ax: Axes, xy: np.ndarray) -> None:
    xy = xy.reshape(-1, 2)
    if not len(xy):
        return
    low, high = xy.min(axis=0), xy.max(axis=0)
    pad = 0.05 * float(max(high - low)) + 5.0
    ax.set_xlim(low[0] - pad, high[0] + pad)
    ax.set_ylim(low[1] - pad, high[1] + pad)
