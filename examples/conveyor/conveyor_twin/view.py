"""How the belt is drawn: the belt as a line, items coloured moving or stopped, the
infeed queue behind it."""

from __future__ import annotations

import numpy as np

from conveyor_twin.belt import ConveyorBelt
from twin.core.scene import Lines, PointLayer, SceneFrame, SceneLayout, fit_bounds

MOVING, STOPPED, QUEUED = 0, 1, 2


class BeltView:
    """The belt of one world."""

    def __init__(self, belt: ConveyorBelt) -> None:
        self.belt = belt
        length = belt.params.length_m
        queue_end = -belt.params.item_pitch_m * (belt.params.infeed_places + 1)
        self.layout = SceneLayout(
            static=(Lines(np.array([[[0.0, 0.0], [length, 0.0]]]), "0.6", 6.0, "belt"),),
            layers=(
                PointLayer(
                    "items",
                    colours=("tab:green", "tab:red", "tab:blue"),
                    labels=("item moving", "item stopped (jam)", "item waiting at infeed"),
                    marker="s",
                    size_pt=5.0,
                ),
            ),
            bounds=fit_bounds(np.array([[queue_end, -2.0], [length, 2.0]]), pad_m=1.0),
            pick_xy=np.array([belt.pos]),
            pick_names=(belt.name,),
        )

    def frame(self) -> SceneFrame:
        belt = self.belt
        xy = belt.item_xy()
        riding = len(belt.positions)
        classes = np.full(len(xy), QUEUED, dtype=np.int64)
        classes[:riding] = STOPPED if belt.jammed else MOVING
        state = "JAMMED" if belt.jammed else f"speed {belt.speed:.0%}"
        return SceneFrame(
            now_s=float(belt.env.now),
            points={"items": (xy, classes)},
            caption=f"{state}; {riding} on belt, {len(belt.waiting)} waiting",
        )
