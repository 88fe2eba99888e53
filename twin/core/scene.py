"""What a domain's view draws, as plain data: no plotting library here.

A domain describes its world in a few layers of marks (machines, vehicles, sites) and
line segments (lanes, queues), each in a handful of colour classes with a legend label
per class. :class:`SceneLayout` is read once per run (what never moves: positions,
geometry, palettes); :class:`SceneFrame` at every drawn tick (which point is in which
class now, where the moving ones are). ``viz`` draws any domain from these alone, and a
test compares them with the engine's state without drawing anything.

Positions are metres in the domain's plane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Colour = str | tuple[float, float, float] | tuple[float, float, float, float]
"""A matplotlib colour: a name (``"0.8"``, ``"gold"``, ``"none"``) or RGB(A) in 0..1."""


@dataclass(frozen=True)
class Lines:
    """Static line segments (aisles, lanes, roads), drawn once under everything else."""

    segments: FloatArray  # (n, 2, 2) end points
    colour: Colour = "0.85"
    width: float = 0.8
    label: str = ""


@dataclass(frozen=True)
class Marks:
    """Static points (chargers, suppliers, empty places), drawn once."""

    xy: FloatArray  # (n, 2)
    marker: str = "o"
    colour: Colour = "0.9"
    size_pt: float | None = None
    label: str = ""


@dataclass(frozen=True)
class PointLayer:
    """Points that change class (and may move) from frame to frame.

    Attributes:
        name: key of the layer's data in :attr:`SceneFrame.points`.
        colours: the colour of each class; class ``k`` is drawn in ``colours[k]``.
        labels: the legend entry of each class (``""``: not in the legend).
        marker: a matplotlib marker (``"o"``, ``"s"``, ``"^"``, ``">"``, ``"D"``).
        size_pt: marker width in points; ``None``: sized by how many points share the
            view, or by ``size_m`` when given.
        size_m: marker width in metres of the plane (a node that fills its cell).
        zorder: higher layers are drawn on top.
    """

    name: str
    colours: tuple[Colour, ...]
    labels: tuple[str, ...]
    marker: str = "o"
    size_pt: float | None = None
    size_m: float | None = None
    zorder: float = 2.0

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.colours):
            raise ValueError(
                f"layer {self.name!r}: {len(self.colours)} colours, {len(self.labels)} labels"
            )


@dataclass(frozen=True)
class SegmentLayer:
    """Fixed segments (approach lanes) whose class changes; class 0 is not drawn."""

    name: str
    segments: FloatArray  # (n, 2, 2)
    colours: tuple[Colour, ...]
    labels: tuple[str, ...]
    width: float = 3.0
    zorder: float = 1.0

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.colours):
            raise ValueError(
                f"layer {self.name!r}: {len(self.colours)} colours, {len(self.labels)} labels"
            )


@dataclass(frozen=True)
class SceneLayout:
    """What does not move, and how the moving layers are drawn.

    Attributes:
        static: lines and marks drawn once.
        layers: the dynamic layers, bottom to top.
        bounds: ``(x_min, x_max, y_min, y_max)`` of the plane worth showing, metres.
        equal_aspect: a metre is as long across as up (a floor plan, a road map); false
            for schematic views that fill their panel.
        pick_xy: points a click selects an entity at (``(n, 2)``), and
        pick_names: the entity (agent name) each one selects (``world.entity(name)``).
        pick_labels: what people call each pick point where its name after the first
            ``":"`` is not it (``()``: none given; ``""``: a point not worth a label);
            :attr:`point_labels` reads them.
    """

    static: tuple[Lines | Marks, ...]
    layers: tuple[PointLayer | SegmentLayer, ...]
    bounds: tuple[float, float, float, float]
    equal_aspect: bool = True
    pick_xy: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    pick_names: tuple[str, ...] = ()
    pick_labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names repeat: {names}")
        if len(self.pick_xy) != len(self.pick_names):
            raise ValueError(f"{len(self.pick_xy)} pick points, {len(self.pick_names)} names")
        if self.pick_labels and len(self.pick_labels) != len(self.pick_names):
            raise ValueError(f"{len(self.pick_names)} pick points, {len(self.pick_labels)} labels")

    @property
    def point_labels(self) -> tuple[str, ...]:
        """A short label per pick point: its explicit one, or its entity name after the
        first ``":"`` (``"intersection:J1_1"`` -> ``"J1_1"``)."""
        if self.pick_labels:
            return self.pick_labels
        return tuple(name.partition(":")[2] or name for name in self.pick_names)


@dataclass(frozen=True)
class SceneFrame:
    """The world at one instant.

    Attributes:
        now_s: simulated time of the frame.
        points: point layer name -> ``(xy (n, 2), class (n,))``.
        segments: segment layer name -> the class of each of its segments.
        caption: one line of text drawn over the view ("3 waiting, 1 turned away").
        pick_xy: points a click selects a moving entity at now (a truck), with
        pick_names: the entity each selects; the layout's pick points are the fixed ones.
    """

    now_s: float
    points: Mapping[str, tuple[FloatArray, IntArray]]
    segments: Mapping[str, IntArray] = field(default_factory=dict)
    caption: str = ""
    pick_xy: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))
    pick_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.pick_xy) != len(self.pick_names):
            raise ValueError(f"{len(self.pick_xy)} pick points, {len(self.pick_names)} names")


@dataclass(frozen=True)
class Highlight:
    """What a view emphasises for a selected entity: its route, its vehicles.

    Attributes:
        segments: ``(n, 2, 2)`` lines drawn over everything (the edges a truck drives).
        xy: ``(m, 2)`` points ringed (the trucks of a selected site, a selected truck).
    """

    segments: FloatArray = field(default_factory=lambda: np.zeros((0, 2, 2)))
    xy: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def empty(self) -> bool:
        """Nothing to emphasise."""
        return not (len(self.segments) or len(self.xy))


class View(Protocol):
    """A built world as a domain draws it: one layout, a frame whenever asked."""

    layout: SceneLayout

    def frame(self) -> SceneFrame:
        """The world now."""
        ...


@runtime_checkable
class HighlightingView(View, Protocol):
    """A view that shows, beside its frame, what belongs to a selected entity, wherever
    in the run it was selected (a truck picked on one panel is highlighted on each)."""

    def highlight(self, entity: str) -> Highlight:
        """What to emphasise now for ``entity`` (nothing when it is not in this view)."""
        ...


@dataclass(frozen=True)
class Panel:
    """One of several views a scenario is drawn in side by side (a region: its plant,
    its city, its supply network).

    Attributes:
        name: a short key (``"city"``).
        title: what the panel's heading says.
        view: the view drawn in it.
    """

    name: str
    title: str
    view: View


def fit_bounds(
    xy: FloatArray, pad_fraction: float = 0.05, pad_m: float = 5.0
) -> tuple[float, float, float, float]:
    """Bounds around points, padded (the whole plane when there are none)."""
    points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    if not len(points):
        return (-1.0, 1.0, -1.0, 1.0)
    low, high = points.min(axis=0), points.max(axis=0)
    pad = pad_fraction * float(max(high - low)) + pad_m
    return (float(low[0] - pad), float(high[0] + pad), float(low[1] - pad), float(high[1] + pad))


def classes_from_levels(values: FloatArray, bounds: FloatArray) -> IntArray:
    """The class of each value: how many of the ascending ``bounds`` it reaches."""
    return np.searchsorted(bounds, values, side="right").astype(np.int64)
