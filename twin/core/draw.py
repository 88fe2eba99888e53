"""Draw any domain's scene with matplotlib: static parts once, dynamic layers per frame.

In ``twin.core`` because both the browser app (``viz``) and the Gymnasium environments'
``render()`` (``twin.rl``) draw with it.

A domain describes its world as plain data (:mod:`twin.core.scene`); this module is the
only place that turns it into artists, for every domain alike. The static parts (aisles,
roads, chargers) become artists never touched again; :meth:`SceneArtists.update` only
sets the data of the dynamic artists, listed in ``dynamic`` so a renderer can blit them
over a cached background (:class:`viz.record.Replay`) instead of redrawing the figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text

from twin.core.scene import (
    Highlight,
    Lines,
    Marks,
    PointLayer,
    SceneFrame,
    SceneLayout,
    View,
)

LEGEND_FONT_PT = 7.0
CAPTION_FONT_PT = 9.0
LEGEND_ROOM_AT_MOST = 0.45
"""The largest share of a panel's height kept clear for the legend under the plane; a
taller legend is drawn over it."""
LABEL_FONT_PT = 6.0
LABEL_CHAR_WIDTH = 0.6
"""Width of a character of the label font in font sizes (an estimate that needs no
renderer: a label that would overlap another is left out either way)."""
LABEL_GAP_PT = 2.0
"""Between a pick point's marker and the top of its label, below it."""
LABELLED_POINTS_AT_MOST = 200
"""Beyond this many, no point is labelled: a thousand machines are read by their colours,
and labels on a few of them would be a wall of text hiding the rest."""
HIGHLIGHT_COLOURS = ("#000000", "#ffd400")
"""A selection is drawn yellow over black, as the browser's map draws it: it stands out
on a light floor and on a dark road alike."""
HIGHLIGHT_WIDTH_PT = (5.25, 3.0)
"""Route lines, black under yellow: the browser's 7 px and 4 px in points."""
RING_EDGE_PT = (3.75, 1.9)
"""A ring's black and yellow strokes: the browser's 5 px and 2.5 px in points."""
HIGHLIGHT_RING_PT = 13.5
"""Diameter of the ring round each highlighted point (the browser's 9 px radius)."""
SELECTED_RING_PT = 19.5
"""Diameter of the ring round the selected entity itself (the browser's 13 px radius)."""


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
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        order = np.argsort(classes, kind="stable")
        bounds = np.searchsorted(np.asarray(classes)[order], np.arange(len(self.lines) + 1))
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
        self.segments = np.asarray(segments, dtype=np.float64).reshape(-1, 2, 2)
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


class SceneArtists:
    """One domain's view of one world, drawn on ``ax``, its pick points labelled where
    the labels fit (``labels=False``: none).

    Attributes:
        labels: the text of each pick point label drawn (static).
        legend: the legend, an entry per labelled class and static part (``None``: none);
            static, below the plane (drawn per frame it would cost ten times the marks).
        dynamic: what changes from frame to frame, in drawing order.
    """

    def __init__(self, ax: Axes, view: View, *, labels: bool = True) -> None:
        self.view = view
        self.layout: SceneLayout = view.layout
        layout = self.layout
        ax.set_axis_off()
        if layout.equal_aspect:
            ax.set_aspect("equal")
        _set_limits(ax, layout)
        legend: list[Artist] = []
        for part in layout.static:
            legend += _draw_static(ax, part)
        first = view.frame()
        self.markers: dict[str, ClassMarkers] = {}
        self.segments: dict[str, ClassSegments] = {}
        for layer in layout.layers:
            if isinstance(layer, PointLayer):
                count = len(first.points.get(layer.name, (np.zeros((0, 2)), None))[0])
                size = _point_size(ax, layer, count)
                drawn = ClassMarkers(ax, layer.colours, layer.marker, size, layer.zorder)
                self.markers[layer.name] = drawn
                lines = drawn.lines
            else:
                drawn_segments = ClassSegments(
                    ax, layer.segments, layer.colours, linewidth=layer.width, zorder=layer.zorder
                )
                self.segments[layer.name] = drawn_segments
                lines = drawn_segments.lines
            for line, label in zip(lines, layer.labels, strict=True):
                if label:
                    legend.append(_legend_handle(line, label))
        self.caption = ax.text(
            0.01, 0.99, "", fontsize=CAPTION_FONT_PT, transform=ax.transAxes, va="top"
        )
        self.highlight = Emphasis(ax)
        self.legend: Legend | None = None
        if legend:
            self.legend = ax.legend(
                handles=legend,
                loc="lower left",
                fontsize=LEGEND_FONT_PT,
                framealpha=0.85,
                ncols=2 if len(legend) > 8 else 1,
            )
        # The plane is drawn clear of the caption above it and the legend below it, so
        # neither hides a machine or a node; marks sized in metres follow the new scale.
        _set_limits(ax, layout, _clear_of_text(ax, layout.bounds, self.legend))
        for layer in layout.layers:
            if isinstance(layer, PointLayer) and layer.size_pt is None and layer.size_m:
                size = layer.size_m * _points_per_metre(ax)
                for line in self.markers[layer.name].lines:
                    line.set_markersize(size)
        # Labels go below the largest marker: the markers are drawn over them.
        largest = max((line.get_markersize() for line in self._marker_lines()), default=0.0)
        self.labels: list[Text] = pick_labels(ax, layout, largest / 2) if labels else []
        self.dynamic: list[Artist] = [
            *(line for drawn in self.segments.values() for line in drawn.lines),
            *(line for drawn in self.markers.values() for line in drawn.lines),
            *self.highlight.lines,
            self.caption,
        ]
        self.update(first)

    def frame(self) -> SceneFrame:
        return self.view.frame()

    def _marker_lines(self) -> list[Line2D]:
        return [line for drawn in self.markers.values() for line in drawn.lines]

    def update(
        self, frame: SceneFrame, highlight: Highlight | None = None, selected: str | None = None
    ) -> None:
        """Set every dynamic artist to ``frame``, with what a selection highlights on
        this view and a ring round the ``selected`` entity where this view shows it."""
        for name, drawn in self.markers.items():
            if name in frame.points:
                xy, classes = frame.points[name]
                drawn.set(xy, classes)
        for name, drawn_segments in self.segments.items():
            if name in frame.segments:
                drawn_segments.set(frame.segments[name])
        self.caption.set_text(frame.caption)
        place = pick_point(self.layout, frame, selected) if selected is not None else None
        self.highlight.set(highlight if highlight is not None else Highlight(), place)


class Emphasis:
    """What a selection emphasises on one view: route lines and ringed points, yellow
    over black (:data:`HIGHLIGHT_COLOURS`); empty when nothing is selected."""

    def __init__(self, ax: Axes) -> None:
        style: dict[str, Any] = {"solid_capstyle": "round", "zorder": 5.0}
        self.routes = [
            ax.plot([], [], color=colour, linewidth=width, **style)[0]
            for colour, width in zip(HIGHLIGHT_COLOURS, HIGHLIGHT_WIDTH_PT, strict=True)
        ]
        self.rings = _rings(ax, HIGHLIGHT_RING_PT)
        self.selection = _rings(ax, SELECTED_RING_PT)
        self.lines: list[Line2D] = [*self.routes, *self.rings, *self.selection]

    def set(self, highlight: Highlight, selected_xy: np.ndarray | None = None) -> None:
        """Show ``highlight``, and a ring at ``selected_xy`` (``None``: none)."""
        segments = np.asarray(highlight.segments, dtype=np.float64).reshape(-1, 2, 2)
        gaps = np.full((len(segments), 1, 2), np.nan)
        path = np.concatenate((segments, gaps), axis=1).reshape(-1, 2)
        xy = np.asarray(highlight.xy, dtype=np.float64).reshape(-1, 2)
        chosen = np.zeros((0, 2)) if selected_xy is None else np.reshape(selected_xy, (1, 2))
        for lines, points in ((self.routes, path), (self.rings, xy), (self.selection, chosen)):
            for line in lines:
                line.set_data(points[:, 0], points[:, 1])
                # Hidden when empty: a blitted frame skips them at no cost.
                line.set_visible(len(points) > 0)

    def route(self) -> np.ndarray:
        """The highlighted route as drawn: NaN-separated points (for tests)."""
        x, y = self.routes[-1].get_data()
        return np.column_stack((x, y))

    def ringed(self) -> np.ndarray:
        """The ringed points, ``(n, 2)``, then the selected one if shown (for tests)."""
        points = [np.column_stack(line.get_data()) for line in (self.rings[-1], self.selection[-1])]
        return np.concatenate(points).reshape(-1, 2)


def _rings(ax: Axes, diameter_pt: float) -> list[Line2D]:
    """Hollow circles, a black stroke under a yellow one; no points yet."""
    return [
        ax.plot(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=diameter_pt,
            markerfacecolor="none",
            markeredgecolor=colour,
            markeredgewidth=edge,
            zorder=5.5,
        )[0]
        for colour, edge in zip(HIGHLIGHT_COLOURS, RING_EDGE_PT, strict=True)
    ]


def pick_point(layout: SceneLayout, frame: SceneFrame, entity: str) -> np.ndarray | None:
    """Where ``entity`` is drawn now: its moving pick point in ``frame``, else its fixed
    one in ``layout``; ``None`` where this view does not show it."""
    for names, xy in ((frame.pick_names, frame.pick_xy), (layout.pick_names, layout.pick_xy)):
        if entity in names:
            points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
            place: np.ndarray = points[names.index(entity)].copy()
            return place
    return None


def pick_labels(ax: Axes, layout: SceneLayout, below_pt: float = 0.0) -> list[Text]:
    """Label the pick points of ``layout`` on ``ax`` in a small font, ``below_pt`` points
    (half a marker) and a small gap below each point.

    Greedily in order: a label that would overlap one already placed, or leave the axes,
    is left out, so a crowded view stays readable and a sparse one is fully named; a
    view of more than :data:`LABELLED_POINTS_AT_MOST` labelled points gets none.
    """
    names = layout.point_labels
    if sum(1 for name in names if name) > LABELLED_POINTS_AT_MOST:
        return []
    ax.apply_aspect()  # where an equal-aspect plane will be drawn, before any draw
    to_pixels = ax.figure.dpi / 72.0
    height = 1.2 * LABEL_FONT_PT * to_pixels
    gap = (below_pt + LABEL_GAP_PT) * to_pixels
    points = np.asarray(layout.pick_xy, dtype=np.float64).reshape(-1, 2)
    centres = ax.transData.transform(points)
    box = ax.get_window_extent()
    placed = np.zeros((0, 4))  # x0, x1, y0, y1 in display pixels
    texts: list[Text] = []
    for (x, y), (x_m, y_m), name in zip(centres, points, names, strict=True):
        if not name or not np.isfinite((x, y)).all():
            continue
        half = 0.5 * len(name) * LABEL_CHAR_WIDTH * LABEL_FONT_PT * to_pixels
        candidate = np.array([x - half, x + half, y - gap - height, y - gap])
        inside = (
            candidate[0] >= box.x0
            and candidate[1] <= box.x1
            and candidate[2] >= box.y0
            and candidate[3] <= box.y1
        )
        if not inside:
            continue
        overlaps = (
            (placed[:, 0] < candidate[1])
            & (candidate[0] < placed[:, 1])
            & (placed[:, 2] < candidate[3])
            & (candidate[2] < placed[:, 3])
        )
        if overlaps.any():
            continue
        placed = np.vstack((placed, candidate))
        texts.append(
            ax.annotate(
                name,
                (float(x_m), float(y_m)),
                xytext=(0.0, -below_pt - LABEL_GAP_PT),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=LABEL_FONT_PT,
                color="0.25",
                zorder=4.0,
                annotation_clip=False,
            )
        )
    return texts


def _draw_static(ax: Axes, part: Lines | Marks) -> list[Artist]:
    if isinstance(part, Lines):
        if not len(part.segments):
            return []
        collection = LineCollection(
            list(part.segments), colors=part.colour, linewidths=part.width, zorder=0
        )
        ax.add_collection(collection)
        handle: Artist = Line2D([], [], color=part.colour, linewidth=part.width)
    else:
        if not len(part.xy):
            return []
        size = part.size_pt if part.size_pt is not None else _marker_size(len(part.xy))
        (handle,) = ax.plot(
            *np.asarray(part.xy).reshape(-1, 2).T,
            linestyle="none",
            marker=part.marker,
            markersize=size,
            color=part.colour,
            zorder=0.5,
        )
    if not part.label:
        return []
    return [_legend_handle(handle, part.label)]


def _legend_handle(artist: Any, label: str) -> Line2D:
    """A legend entry that looks like ``artist`` but never changes with the frames."""
    if isinstance(artist, Line2D) and artist.get_marker() not in (None, "None", "none", ""):
        return Line2D(
            [],
            [],
            linestyle="none",
            marker=artist.get_marker(),
            markersize=6.0,
            color=artist.get_color(),
            label=label,
        )
    colour = artist.get_color() if isinstance(artist, Line2D) else "0.5"
    return Line2D([], [], color=colour, linewidth=2.5, label=label)


def _set_limits(
    ax: Axes, layout: SceneLayout, bounds: tuple[float, float, float, float] | None = None
) -> None:
    """Show ``bounds`` (the layout's by default), widened to the panel's shape where a
    metre is as long across as up."""
    bounds = layout.bounds if bounds is None else bounds
    x_min, x_max, y_min, y_max = _fill_panel(ax, bounds) if layout.equal_aspect else bounds
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)


def _clear_of_text(
    ax: Axes, bounds: tuple[float, float, float, float], legend: Legend | None
) -> tuple[float, float, float, float]:
    """``bounds`` grown down and up so that what they hold is drawn below the caption
    line and above the legend's top (unchanged where the legend would take more than
    :data:`LEGEND_ROOM_AT_MOST` of the panel, or without a renderer to measure it)."""
    get_renderer = getattr(ax.figure.canvas, "get_renderer", None)
    if get_renderer is None:
        return bounds
    panel = ax.get_window_extent()
    to_pixels = ax.figure.dpi / 72.0
    top = (0.01 * panel.height + 1.4 * CAPTION_FONT_PT * to_pixels) / panel.height
    bottom = 0.0
    if legend is not None:
        legend_top = legend.get_window_extent(get_renderer()).y1
        bottom = (legend_top - panel.y0) / panel.height + 0.01
        if bottom > LEGEND_ROOM_AT_MOST:
            bottom = 0.0
    x_min, x_max, y_min, y_max = bounds
    height = (y_max - y_min) / (1.0 - bottom - top)
    return x_min, x_max, y_min - bottom * height, y_max + top * height


def _fill_panel(
    ax: Axes, bounds: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """``bounds`` widened about their centre to the panel's shape: the plane fills the
    panel rather than the panel shrinking to the plane, so a long, flat floor keeps room
    above and below it for the legend and the caption."""
    x_min, x_max, y_min, y_max = bounds
    box = ax.get_position()
    width_px, height_px = ax.figure.bbox.size
    panel = (box.height * height_px) / (box.width * width_px)  # height per width
    width, height = x_max - x_min, y_max - y_min
    if height < width * panel:
        grow = (width * panel - height) / 2
        return x_min, x_max, y_min - grow, y_max + grow
    grow = (height / panel - width) / 2
    return x_min - grow, x_max + grow, y_min, y_max


def _point_size(ax: Axes, layer: PointLayer, count: int) -> float:
    if layer.size_pt is not None:
        return layer.size_pt
    if layer.size_m is not None:
        return layer.size_m * _points_per_metre(ax)
    return _marker_size(count)


def _points_per_metre(ax: Axes) -> float:
    """How many points a metre of the plane spans on ``ax`` (the tighter axis)."""
    box = ax.get_position()
    width_px, height_px = ax.figure.bbox.size  # a subfigure's box too, in display pixels
    dpi = ax.figure.dpi
    width_in, height_in = box.width * width_px / dpi, box.height * height_px / dpi
    x_min, x_max = ax.get_xlim()
    y_min, y_max = ax.get_ylim()
    return 72.0 * float(min(width_in / (x_max - x_min), height_in / (y_max - y_min)))


def _marker_size(n: int) -> float:
    """Marker width in points: smaller the more markers share the axes."""
    return float(np.clip(60.0 / np.sqrt(max(n, 1)), 1.5, 8.0))
