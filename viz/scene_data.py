"""A domain's scene as the browser's map draws it: JSON-ready layout and frames.

:mod:`twin.core.scene` describes what a domain draws as arrays; this module flattens
them into what ``viz/vue/scene_map.vue`` reads: the layout once per run (static lines
and marks, the dynamic layers' colours, markers and legend labels, entities a click or a
hover can find) and a small frame per drawn instant (where each point is and which
class it is in). Frames stream as data, never as images: the browser draws them as
vectors, so zoom, pan and hover cost the server nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import to_hex

from twin.core.scene import (
    Colour,
    Highlight,
    Lines,
    Marks,
    PointLayer,
    SceneFrame,
    SceneLayout,
)

POINTS_PER_PX = 0.75
"""CSS pixels are 1/96 inch, points 1/72: a marker of ``s`` points is ``s / 0.75`` px."""
MIN_MARK_PX = 5.0
"""No moving thing is drawn smaller than this: a vehicle or a truck stays visible when
the whole map is on screen (the PNG view drew them as 1-2 px dots)."""
XY_DECIMALS = 2
"""Positions are sent to the centimetre: the map never needs more, and it keeps a frame
of 2,000 vehicles near 30 kB."""


def css_colour(colour: Colour) -> str:
    """A matplotlib colour as CSS ``#rrggbbaa`` (``"none"``: fully transparent)."""
    if isinstance(colour, str) and colour.lower() == "none":
        return "#00000000"
    return to_hex(colour, keep_alpha=True)


def marker_px(count: int) -> float:
    """A marker's width in pixels when its layer gives no size: smaller the more marks
    share the map, as the recordings size them (:func:`twin.core.draw._marker_size`)."""
    points = float(np.clip(60.0 / np.sqrt(max(count, 1)), 1.5, 8.0))
    return max(points / POINTS_PER_PX, MIN_MARK_PX)


def _flat(array: Any) -> list[float | None]:
    """Flat, rounded and JSON-safe: a NaN (a point not on the map) is sent as null."""
    values = np.round(np.asarray(array, dtype=np.float64).ravel(), XY_DECIMALS)
    if np.isfinite(values).all():
        rounded: list[float | None] = values.tolist()
        return rounded
    return [float(v) if np.isfinite(v) else None for v in values]


def layout_data(layout: SceneLayout, first: SceneFrame) -> dict[str, Any]:
    """The layout as the map reads it; ``first`` sizes markers by how many there are."""
    static: list[dict[str, Any]] = []
    for part in layout.static:
        if isinstance(part, Lines):
            static.append(
                {
                    "kind": "lines",
                    "segments": _flat(part.segments),
                    "colour": css_colour(part.colour),
                    "width_px": part.width / POINTS_PER_PX,
                    "label": part.label,
                }
            )
        elif isinstance(part, Marks):
            count = len(np.asarray(part.xy).reshape(-1, 2))
            size = part.size_pt / POINTS_PER_PX if part.size_pt is not None else marker_px(count)
            static.append(
                {
                    "kind": "marks",
                    "xy": _flat(part.xy),
                    "marker": part.marker,
                    "colour": css_colour(part.colour),
                    "size_px": size,
                    "label": part.label,
                }
            )
    layers: list[dict[str, Any]] = []
    for layer in layout.layers:
        common = {
            "name": layer.name,
            "colours": [css_colour(c) for c in layer.colours],
            "labels": list(layer.labels),
            "zorder": layer.zorder,
        }
        if isinstance(layer, PointLayer):
            count = len(first.points.get(layer.name, (np.zeros((0, 2)), None))[0])
            if layer.size_pt is not None:
                size_px = max(layer.size_pt / POINTS_PER_PX, MIN_MARK_PX)
            else:
                size_px = marker_px(count)
            layers.append(
                {
                    **common,
                    "kind": "points",
                    "marker": layer.marker,
                    "size_px": size_px,
                    "size_m": layer.size_m,
                }
            )
        else:
            layers.append(
                {
                    **common,
                    "kind": "segments",
                    "segments": _flat(layer.segments),
                    "width_px": layer.width / POINTS_PER_PX,
                }
            )
    layers.sort(key=lambda layer: float(layer["zorder"]))
    return {
        "bounds": [float(b) for b in layout.bounds],
        "equal_aspect": layout.equal_aspect,
        "static": static,
        "layers": layers,
        "picks": {
            "xy": _flat(layout.pick_xy),
            "names": list(layout.pick_names),
            "labels": list(layout.point_labels),  # "": no label
        },
    }


def frame_data(frame: SceneFrame, highlight: Highlight | None = None) -> dict[str, Any]:
    """One instant as the map reads it: flat ``xy`` and ``classes`` per point layer,
    the class of each segment per segment layer, and the caption; the moving entities
    a click selects (``picks``) and what the selection highlights, where there are any."""
    points = {
        name: {
            "xy": _flat(xy),
            "classes": np.asarray(classes, dtype=np.int64).ravel().tolist(),
        }
        for name, (xy, classes) in frame.points.items()
    }
    segments = {
        name: np.asarray(classes, dtype=np.int64).ravel().tolist()
        for name, classes in frame.segments.items()
    }
    data: dict[str, Any] = {
        "now_s": float(frame.now_s),
        "points": points,
        "segments": segments,
        "caption": frame.caption,
    }
    if frame.pick_names:
        data["picks"] = {"xy": _flat(frame.pick_xy), "names": list(frame.pick_names)}
    if highlight is not None and not highlight.empty:
        data["highlight"] = {"segments": _flat(highlight.segments), "xy": _flat(highlight.xy)}
    return data
