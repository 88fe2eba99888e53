"""How the plant is drawn: machines by state and wear, buffers by fill, AGVs by charge.

Plain data (:mod:`twin.core.scene`), no plotting library: the layout is read once per
run, a frame at every drawn tick. Positions are those of the entities
(:func:`twin.factory.layout.machine_positions`, :func:`~twin.factory.layout.buffer_positions`,
``Agv.pos``), in metres of the floor plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from twin.core.scene import (
    Colour,
    FloatArray,
    IntArray,
    Lines,
    Marks,
    PointLayer,
    SceneFrame,
    SceneLayout,
    classes_from_levels,
    fit_bounds,
)
from twin.factory.layout import buffer_positions, machine_positions
from twin.factory.observation import MACHINE_STATES

if TYPE_CHECKING:
    from twin.factory.plant import Plant

STATE_CODE = {state: k for k, state in enumerate(MACHINE_STATES)}
"""Machine state -> its index in :data:`STATE_RGB`."""
STATE_RGB = np.array(
    [
        (0.75, 0.75, 0.75),  # idle: grey
        (0.55, 0.75, 0.95),  # starved: light blue
        (0.20, 0.65, 0.25),  # busy: green
        (0.95, 0.65, 0.10),  # blocked: orange
        (0.85, 0.10, 0.10),  # failed: red
        (0.60, 0.20, 0.70),  # repair: purple
        (0.10, 0.35, 0.80),  # maintenance: blue
    ]
)
HEALTH_SHADE = 0.6
"""How much darker a machine at its failure threshold is drawn than a new one."""
WEAR_LEVELS = 4
"""Shades of wear per state: a few colour classes draw much faster than one per machine."""
MACHINE_CLASS_RGB = np.array(
    [
        rgb * (1.0 - HEALTH_SHADE * level / (WEAR_LEVELS - 1))
        for rgb in STATE_RGB
        for level in range(WEAR_LEVELS)
    ]
)
"""Colour of machine class ``state * WEAR_LEVELS + wear level``."""
WEAR_LABELS = ("wear < 25%", "wear 25-50%", "wear 50-75%", "wear >= 75%")

BUFFER_LEVELS = 5
"""Fill classes of a buffer: below a fifth full, ..., at least four fifths full."""
BUFFER_RGB = (
    (0.8917, 0.9351, 0.9754),
    (0.6817, 0.8186, 0.9041),
    (0.3566, 0.6393, 0.8146),
    (0.1087, 0.4166, 0.6890),
    (0.0314, 0.1882, 0.4196),
)
"""Matplotlib's ``Blues`` at 0.1 .. 1.0: the fuller, the darker."""
BUFFER_LABELS = (
    "buffer < 20% full",
    "buffer 20-40% full",
    "buffer 40-60% full",
    "buffer 60-80% full",
    "buffer >= 80% full",
)
BUFFER_FULL_WHEN_UNBOUNDED = 10
"""Parts that count as a full buffer when it has no places (direct hand-over only)."""

SOC_BOUNDS = np.array([0.2, 0.5, 0.8])
"""State-of-charge class limits of an AGV: below 20% (it goes charging), ..., 80% and up."""
SOC_RGB = (
    (0.8393, 0.1845, 0.1529),
    (0.9941, 0.7785, 0.4611),
    (0.7490, 0.8933, 0.4791),
    (0.1000, 0.5924, 0.3118),
)
"""Matplotlib's ``RdYlGn`` in the middle of each class: red flat, green charged."""
SOC_LABELS = ("charge < 20%", "charge 20-50%", "charge 50-80%", "charge >= 80%")
LOADED_SHADE = 0.45
"""How much darker a loaded AGV is drawn than an empty one of the same charge."""
AGV_CLASS_RGB = np.array(
    [rgb for rgb in SOC_RGB] + [tuple(c * (1.0 - LOADED_SHADE) for c in rgb) for rgb in SOC_RGB]
)
"""Colour of AGV class ``loaded * len(SOC_RGB) + charge class``."""
AGV_LABELS = (
    *(f"AGV, {soc}" for soc in SOC_LABELS),
    "AGV loaded (darker)",
    *("" for _ in SOC_LABELS[1:]),
)
"""A legend entry per charge class, one for loaded AGVs: a legend of every class would
cover the floor."""
LOADED_STATES = ("loaded", "unloading")


def _colours(rgb: npt.ArrayLike) -> tuple[Colour, ...]:
    return tuple((float(r), float(g), float(b)) for r, g, b in np.asarray(rgb))


def machine_class(state: IntArray, wear: FloatArray) -> IntArray:
    """Colour class of each machine: its state, and its wear in :data:`WEAR_LEVELS` steps
    (the last step from three quarters of the failure threshold on)."""
    level = np.minimum((wear * WEAR_LEVELS).astype(np.int64), WEAR_LEVELS - 1)
    result: IntArray = state * WEAR_LEVELS + level
    return result


def buffer_class(fill: FloatArray) -> IntArray:
    """Fill class of each buffer (``held / capacity`` clipped to [0, 1])."""
    result: IntArray = np.minimum((fill * BUFFER_LEVELS).astype(np.int64), BUFFER_LEVELS - 1)
    return result


class FactoryView:
    """The floor of one plant: the layout once, a frame whenever asked."""

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        params = plant.params
        layout = params.layout
        nodes = dict(layout.nodes) if layout is not None else {}
        edges = layout.edges if layout is not None else []
        chargers = layout.chargers if layout is not None else []
        aisles = np.array([[nodes[e[0]], nodes[e[1]]] for e in edges], dtype=np.float64)
        aisles = aisles.reshape(-1, 2, 2)
        self.machine_xy = machine_positions(params)
        self.buffer_xy = buffer_positions(params)
        self.buffer_capacity = np.array(
            [b.capacity or BUFFER_FULL_WHEN_UNBOUNDED for b in plant.buffers], dtype=np.float64
        )
        static: list[Lines | Marks] = []
        if len(aisles):
            static.append(Lines(aisles, colour="0.85", width=0.8, label="aisle"))
        if chargers:
            charger_xy = np.array([nodes[c] for c in chargers], dtype=np.float64).reshape(-1, 2)
            static.append(
                Marks(charger_xy, marker="P", colour="gold", size_pt=30**0.5, label="charger")
            )
        machine_labels = _machine_labels()
        layers = (
            PointLayer("machines", _colours(MACHINE_CLASS_RGB), machine_labels, marker="s"),
            PointLayer("buffers", _colours(BUFFER_RGB), BUFFER_LABELS, marker="o"),
            PointLayer("agvs", _colours(AGV_CLASS_RGB), AGV_LABELS, marker="^", zorder=3.0),
        )
        self.layout = SceneLayout(
            static=tuple(static),
            layers=layers,
            bounds=fit_bounds(np.vstack([self.machine_xy, self.buffer_xy, *aisles])),
            equal_aspect=True,
            pick_xy=np.vstack([self.machine_xy, self.buffer_xy]),
            pick_names=tuple(m.name for m in plant.machines)
            + tuple(b.name for b in plant.buffer_entities),
            # "saw.0", as the ledger and the power meter name a machine, not "0".
            pick_labels=tuple(m.label for m in plant.machines)
            + tuple(f"{b.name.partition(':')[2]} buffer" for b in plant.buffer_entities),
        )

    def frame(self) -> SceneFrame:
        """Machine states and wear, buffer levels, AGV positions, charge and loads now."""
        plant = self.plant
        machines = plant.machines
        state = np.fromiter(
            (STATE_CODE[m.state] for m in machines), dtype=np.int64, count=len(machines)
        )
        wear = np.clip(plant.health / plant.degradation.threshold, 0.0, 1.0)
        held = np.fromiter((len(b.items) for b in plant.buffers), np.int64, len(plant.buffers))
        fill = np.clip(held / self.buffer_capacity, 0.0, 1.0)
        agvs = plant.fleet.agvs if plant.fleet is not None else []
        agv_xy = np.array([agv.pos for agv in agvs], dtype=np.float64).reshape(-1, 2)
        soc = np.array([agv.soc for agv in agvs], dtype=np.float64)
        loaded = np.array([agv.state in LOADED_STATES for agv in agvs], dtype=np.int64)
        agv_class = loaded * len(SOC_RGB) + classes_from_levels(soc, SOC_BOUNDS)
        down = int(np.isin(state, [STATE_CODE[s] for s in ("failed", "repair")]).sum())
        caption = (
            f"{plant.finished.count} good, {plant.scrapped.count} scrapped, "
            f"{plant.wip.level:g} in process, {down} machines failed or in repair"
        )
        return SceneFrame(
            now_s=float(plant.env.now),
            points={
                "machines": (self.machine_xy, machine_class(state, wear)),
                "buffers": (self.buffer_xy, buffer_class(fill)),
                "agvs": (agv_xy, agv_class.astype(np.int64)),
            },
            caption=caption,
        )


def _machine_labels() -> tuple[str, ...]:
    """A legend entry per machine state (as new), one for wear: 28 classes listed one by
    one would cover the floor they describe."""
    labels = []
    for state in MACHINE_STATES:
        for level, _ in enumerate(WEAR_LABELS):
            if level == 0:
                labels.append(state)
            elif state == MACHINE_STATES[0] and level == len(WEAR_LABELS) - 1:
                labels.append(f"darker: more worn ({WEAR_LABELS[-1]})")
            else:
                labels.append("")
    return tuple(labels)
