"""A small PNG of how a benchmark's cost grows with size, beside the figures it prints.

Every benchmark script calls :func:`save_growth_plot` once with the points it measured, so
``docs/BENCHMARKS.md`` can show the growth (linear, flat, worse) instead of only stating it.
The plot is written with matplotlib's Agg canvas (no display, no pyplot state), log-log when
the sizes span more than a factor of ten, with a dashed line of linear growth through the
first point of the first series for reference.

Usage from a benchmark::

    from growth import save_growth_plot

    save_growth_plot(
        "plant_scale",
        x_label="machines",
        y_label="wall s per simulated day",
        series={"twin": [(100, 0.4), (1000, 3.9)]},
        title="plant: cost per simulated day",
    )
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PLOT_DIRECTORY = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
"""Where plots go by default: beside the document that links them."""


def save_growth_plot(
    name: str,
    *,
    x_label: str,
    y_label: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    title: str,
    linear_reference: bool = True,
    directory: Path | None = None,
) -> Path:
    """Draw ``series`` (label -> [(size, cost), ...]) and save ``<directory>/<name>.png``.

    Returns the path written. Series with no points are left out; the file is written
    whole (to a temporary name, then renamed), so an interrupted run leaves no half PNG.
    """
    target_directory = PLOT_DIRECTORY if directory is None else directory
    target_directory.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(5.0, 3.2), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    sizes: list[float] = []
    for label, points in series.items():
        if not points:
            continue
        ordered = sorted(points)
        xs = [x for x, _ in ordered]
        ys = [y for _, y in ordered]
        sizes.extend(xs)
        axes.plot(xs, ys, marker="o", label=label)
    first = next((sorted(p) for p in series.values() if p), None)
    if linear_reference and first is not None and len(sizes) > 1:
        x0, y0 = first[0]
        span = [min(sizes), max(sizes)]
        if x0 > 0:
            axes.plot(
                span,
                [y0 * x / x0 for x in span],
                linestyle="--",
                color="grey",
                linewidth=0.8,
                label="linear growth",
            )
    if sizes and min(sizes) > 0 and max(sizes) / min(sizes) > 10:
        axes.set_xscale("log")
        axes.set_yscale("log")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", linewidth=0.3)
    axes.legend(fontsize=8)
    path = target_directory / f"{name}.png"
    partial = path.with_suffix(".png.partial")
    figure.savefig(partial, format="png")
    partial.replace(path)
    print(f"plot: {path}")
    return path
