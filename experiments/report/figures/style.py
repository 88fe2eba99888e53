"""What every figure shares: its own Agg canvas, arm colours, labels and tick formats."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.report.model import Experiment
from experiments.report.numbers import format_number

DPI = 100
BASELINE_COLOR = "#5a5a5a"
# tab10 without its grey, which is kept for the baseline so it stands apart.
ARM_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global figure registry."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" entry, so the same report renders to the same bytes across versions.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


@dataclass(frozen=True)
class ArmStyle:
    label: str
    color: str
    hatch: str | None
    linestyle: str


def arm_styles(arms: Sequence[str], baseline: str) -> dict[str, ArmStyle]:
    """Grey, hatched and dashed for the baseline; a distinct colour for every other arm."""
    colors = cycle(ARM_COLORS)
    return {
        arm: ArmStyle(plain(f"{arm} (baseline)"), BASELINE_COLOR, "//", "--")
        if arm == baseline
        else ArmStyle(plain(arm), next(colors), None, "-")
        for arm in arms
    }


def plain(text: str) -> str:
    """``text`` for matplotlib, where a pair of "$" would start mathtext (e.g. in units)."""
    return text.replace("$", r"\$")


def wrapped(text: str, width: int = 32) -> str:
    return plain(textwrap.fill(text, width))


def tick(value: float, _position: int) -> str:
    """Axis ticks formatted like the tables (thousands separators)."""
    return format_number(value)


def point_axis(
    experiment: Experiment, scenario: str, points: Sequence[int]
) -> tuple[list[str], str]:
    """Tick labels and axis label for several points of one scenario.

    A one-parameter sweep reads best as that parameter's values under its name; other
    grids name each point and list its parameters one per line.
    """
    parameters = [experiment.point_parameters.get((scenario, p), {}) for p in points]
    names = {tuple(values) for values in parameters}
    if len(names) == 1 and len(first := next(iter(names))) == 1:
        return [plain(values[first[0]]) for values in parameters], plain(first[0])
    ticks = [
        plain("\n".join([f"point {p}", *(f"{k}={v}" for k, v in values.items())]))
        for p, values in zip(points, parameters, strict=True)
    ]
    return ticks, "point"


def point_heading(experiment: Experiment, scenario: str, point: int) -> str:
    """``point 3: a=1, b=2``, wrapped to fit above a panel."""
    label = experiment.point_label(scenario, point)
    return textwrap.fill(f"point {point}" + (f": {label}" if label else ""), 30)


def arm_ticks(ax: Axes, x: np.ndarray, arms: Sequence[str], baseline: str) -> None:
    """Arm names under their bars, slanted when long so neighbours do not overlap."""
    labels = [
        plain(textwrap.fill(arm, 14) + ("\n(baseline)" if arm == baseline else "")) for arm in arms
    ]
    slanted = len(arms) > 2 and any(len(arm) > 10 for arm in arms)
    ax.set_xticks(
        x, labels, fontsize=8, rotation=30 if slanted else 0, ha="right" if slanted else "center"
    )
