"""Hypothesis strategies shared by the factory tests."""

from __future__ import annotations

from hypothesis import strategies as st

from twin.factory import layout as layout_module
from twin.factory.layout import Layout, LayoutSpec


@st.composite
def connected_graphs(
    draw: st.DrawFn, *, min_nodes: int, max_nodes: int, grid: int, max_extra: int
) -> tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]:
    """Node names, distinct grid cells, and aisles as index pairs ``(i, j)`` with i < j.

    A random spanning tree plus up to ``max_extra`` random extra aisles, so every graph
    is connected.
    """
    n = draw(st.integers(min_nodes, max_nodes))
    cell = st.tuples(st.integers(0, grid), st.integers(0, grid))
    cells = draw(st.lists(cell, min_size=n, max_size=n, unique=True))
    names = [f"n{i}" for i in range(n)]
    pairs = {(draw(st.integers(0, i - 1)), i) for i in range(1, n)}
    node = st.integers(0, n - 1)
    extra = draw(st.lists(st.tuples(node, node), max_size=max_extra))
    pairs |= {(min(a, b), max(a, b)) for a, b in extra if a != b}
    return names, cells, sorted(pairs)


def layout_in_mode(spec: LayoutSpec, *, all_pairs: bool) -> Layout:
    """``spec`` as a small layout (every path up front) or as a large one (searched)."""
    saved = layout_module.ALL_PAIRS_MAX_NODES
    layout_module.ALL_PAIRS_MAX_NODES = len(spec.nodes) if all_pairs else 0
    try:
        return Layout(spec)
    finally:
        layout_module.ALL_PAIRS_MAX_NODES = saved
