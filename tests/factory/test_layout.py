"""The layout graph: validation messages and shortest paths against hand and brute force."""

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.factory.strategies import connected_graphs, layout_in_mode
from twin.factory import layout as layout_module
from twin.factory.layout import Layout, LayoutSpec

# A 3-4-5 triangle a-b-c plus a spur c-d of explicit length (a bent aisle).
#   b (3, 4)
#   |  \
#   a---c---d        a-b 5 m, b-c 4 m, a-c 3 m, c-d 7.5 m (explicit; straight line is 7)
HAND = LayoutSpec(
    nodes={"a": (0.0, 0.0), "b": (3.0, 4.0), "c": (3.0, 0.0), "d": (10.0, 0.0)},
    edges=[("a", "b"), ("b", "c"), ("a", "c"), ("c", "d", 7.5)],
    chargers=["d", "b"],
)


def test_shortest_paths_match_the_hand_computed_ones():
    layout = Layout(HAND)
    assert layout.distance_m("a", "b") == pytest.approx(5.0)
    assert layout.distance_m("a", "d") == pytest.approx(10.5)  # a-c-d, not a-b-c-d (16.5)
    assert layout.distance_m("b", "d") == pytest.approx(11.5)
    assert layout.distance_m("d", "a") == layout.distance_m("a", "d")
    assert layout.distance_m("c", "c") == 0.0
    assert layout.path("a", "d") == ["a", "c", "d"]
    assert layout.path("d", "b") == ["d", "c", "b"]
    assert layout.path("b", "b") == ["b"]
    assert layout.edge_lengths_m[("c", "d")] == 7.5
    assert layout.edge_lengths_m[("d", "c")] == 7.5


def test_nearest_and_chargers():
    layout = Layout(HAND)
    assert layout.nearest("a", ["d", "b"]) == "b"  # 5 m against 10.5 m
    assert layout.nearest("c", ["d", "b"]) == "b"  # 4 m against 7.5 m
    assert layout.nearest("a", ["c", "c"]) == "c"
    assert layout.nearest_charger("a") == "b"
    assert layout.nearest_charger("d") == "d"
    assert layout.charger_distance_m("c") == pytest.approx(4.0)
    with pytest.raises(ValueError, match="no candidates"):
        layout.nearest("a", [])


def test_nearest_first_orders_nodes_by_path_length_then_index():
    # a - b - c in a line (10 m apart) and d 10 m off b: from b, a, c and d tie at 10 m.
    layout = Layout(
        LayoutSpec(
            nodes={"a": (0, 0), "b": (10, 0), "c": (20, 0), "d": (10, 10)},
            edges=[("a", "b"), ("b", "c"), ("b", "d")],
        )
    )
    assert list(layout.nearest_first("b")) == [1, 0, 2, 3]
    assert list(layout.nearest_first("a")) == [0, 1, 2, 3]
    assert layout.nearest_first("a") is layout.nearest_first("a")
    assert layout.node_index["c"] == 2


def test_paths_are_cached_not_recomputed_per_trip():
    layout = Layout(HAND)
    assert layout.route("a", "d") is layout.route("a", "d")
    returned = layout.path("a", "d")
    returned.append("x")  # a caller's copy; the cache is untouched
    assert layout.path("a", "d") == ["a", "c", "d"]


def test_a_small_layout_keeps_the_order_of_every_node_it_was_asked(monkeypatch):
    # The dispatcher asks for every pickup's order, all day: dropping them re-sorted a row
    # per request (a plant-year slowed fourfold once the pickups outnumbered the cache).
    monkeypatch.setattr(layout_module, "ROW_CACHE_SIZE", 1)
    layout = Layout(HAND)
    first = layout.nearest_first("a")
    layout.nearest_first("b")
    assert layout.nearest_first("a") is first


def test_the_route_cache_keeps_a_bounded_number_of_pairs(monkeypatch):
    # A year of trips asks for ever more pairs; the oldest route goes first.
    monkeypatch.setattr(layout_module, "ROUTE_CACHE_SIZE", 2)
    layout = Layout(HAND)
    first = layout.route("a", "d")
    layout.route("b", "d")
    layout.route("c", "a")
    assert list(layout._routes) == [("b", "d"), ("c", "a")]
    assert layout.route("a", "d") == first  # recomputed, the same


def test_unknown_nodes_in_queries_name_the_known_ones():
    layout = Layout(HAND)
    with pytest.raises(ValueError, match=r"unknown node 'zz'; known nodes: 'a', 'b', 'c', 'd'"):
        layout.distance_m("a", "zz")
    with pytest.raises(ValueError, match="the layout has no chargers"):
        Layout(LayoutSpec(nodes={"a": (0, 0)})).nearest_charger("a")


def test_the_layout_is_read_only():
    layout = Layout(HAND)
    with pytest.raises(TypeError):
        layout.edge_lengths_m[("a", "b")] = 1.0  # type: ignore[index]
    with pytest.raises(ValidationError, match="frozen"):
        HAND.chargers = []  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"nodes": {"a": (0, 0), "b": (1, 0)}, "edges": [("a", "zz")]},
            r"edges\[0\] \('a', 'zz'\) names unknown node 'zz'; known nodes: 'a', 'b'",
        ),
        (
            {"nodes": {"a": (0, 0), "b": (1, 0), "c": (2, 0)}, "edges": [("a", "b")]},
            "not connected: node 'c' cannot be reached from 'a' .*AGV path with no connection",
        ),
        (
            {"nodes": {"a": (0, 0), "b": (1, 0)}, "edges": [("a", "b"), ("b", "b")]},
            r"edges\[1\] \('b', 'b'\) is a self-loop",
        ),
        (
            {"nodes": {"a": (0, 0), "b": (0, 0)}, "edges": [("a", "b")]},
            r"has length 0.0 m; lengths must be finite and > 0",
        ),
        (
            {"nodes": {"a": (0, 0), "b": (1, 0)}, "edges": [("a", "b", -2.0)]},
            r"has length -2.0 m",
        ),
        (
            {"nodes": {"a": (0, 0), "b": (1, 0)}, "edges": [("a", "b"), ("b", "a")]},
            r"edges\[1\] \('b', 'a'\) repeats an aisle between 'b' and 'a'",
        ),
        (
            {"nodes": {"a": (0, 0), "b": (1, 0)}, "edges": [("a", "b")], "chargers": ["q"]},
            r"chargers\[0\] names unknown node 'q'; known nodes: 'a', 'b'",
        ),
        (
            {"nodes": {"a": (0, 0)}, "aisles": []},
            "Extra inputs are not permitted",
        ),
        ({"nodes": {}}, "at least 1 item"),
    ],
    ids=[
        "unknown-node",
        "disconnected",
        "self-loop",
        "zero-length",
        "negative-length",
        "duplicate",
        "unknown-charger",
        "extra-key",
        "empty",
    ],
)
def test_bad_layouts_are_rejected_with_a_clear_message(spec, message):
    with pytest.raises(ValidationError, match=message):
        LayoutSpec(**spec)


def test_edges_come_from_toml_like_lists():
    spec = LayoutSpec.model_validate(
        {"nodes": {"a": [0, 0], "b": [3, 4]}, "edges": [["a", "b"]], "chargers": ["a"]}
    )
    assert Layout(spec).distance_m("a", "b") == pytest.approx(5.0)


@st.composite
def connected_layouts(draw):
    """Random connected graphs: a random spanning tree plus random extra aisles."""
    names, cells, pairs = draw(connected_graphs(min_nodes=1, max_nodes=8, grid=9, max_extra=8))
    edges = []
    for a, b in pairs:
        if draw(st.booleans()):
            edges.append((names[a], names[b]))
        else:  # an explicit length at least the straight line, as a real aisle would be
            straight = math.dist(cells[a], cells[b])
            edges.append((names[a], names[b], straight * draw(st.floats(1.0, 2.0))))
    return LayoutSpec(nodes=dict(zip(names, cells, strict=True)), edges=edges)


@pytest.mark.parametrize("all_pairs", [True, False], ids=["all-pairs", "searched"])
@given(spec=connected_layouts())
def test_distances_match_floyd_warshall_and_paths_follow_aisles(all_pairs, spec):
    layout = layout_in_mode(spec, all_pairs=all_pairs)
    assert layout.all_pairs is all_pairs
    names = list(spec.nodes)
    lengths = {}
    for k, edge in enumerate(spec.edges):
        lengths[(edge[0], edge[1])] = lengths[(edge[1], edge[0])] = spec.edge_length_m(k)
    reference = {
        (a, b): 0.0 if a == b else lengths.get((a, b), math.inf) for a in names for b in names
    }
    for k, i, j in itertools.product(names, repeat=3):
        reference[(i, j)] = min(reference[(i, j)], reference[(i, k)] + reference[(k, j)])
    for a, b in itertools.product(names, repeat=2):
        assert layout.distance_m(a, b) == pytest.approx(reference[(a, b)])
        path = layout.path(a, b)
        assert path[0] == a
        assert path[-1] == b
        driven = sum(lengths[(u, v)] for u, v in itertools.pairwise(path))
        assert driven == pytest.approx(reference[(a, b)])


@given(connected_layouts(), st.lists(st.integers(0, 7), min_size=1, max_size=3, unique=True))
def test_a_searched_layout_answers_as_the_all_pairs_one(spec, charger_picks):
    # Large layouts search when asked; every answer must be the one computed up front:
    # distances, the walk outward (nearest first, ties by index), nearest chargers.
    names = list(spec.nodes)
    chargers = sorted({names[k % len(names)] for k in charger_picks})
    spec = spec.model_copy(update={"chargers": chargers})
    small = layout_in_mode(spec, all_pairs=True)
    large = layout_in_mode(spec, all_pairs=False)
    for a in names:
        walked = list(large.walk_outward(a))
        assert [j for j, _ in walked] == list(small.nearest_first(a))
        assert [d for _, d in walked] == pytest.approx(
            [small.distance_m(a, n) for n in [names[j] for j, _ in walked]]
        )
        assert large.distances_from(a) == pytest.approx(small.distances_from(a))
        assert large.charger_distance_m(a) == pytest.approx(small.charger_distance_m(a))
        assert large.farthest_charger_m(a) == pytest.approx(small.farthest_charger_m(a))
        if chargers:
            nearest = large.nearest_charger(a)
            assert large.distance_m(a, nearest) == pytest.approx(small.charger_distance_m(a))
        for b in names:
            assert large.distance_m(a, b) == pytest.approx(small.distance_m(a, b))


def test_a_large_layout_searches_only_as_far_as_asked():
    # A line of 5,000 nodes, 1 m apart: far beyond the all-pairs size.
    names = [f"n{i}" for i in range(5_000)]
    layout = Layout(
        LayoutSpec(
            nodes={name: (float(i), 0.0) for i, name in enumerate(names)},
            edges=list(itertools.pairwise(names)),
            chargers=["n0"],
        )
    )
    assert not layout.all_pairs
    walk = layout.walk_outward("n2500")
    assert [next(walk) for _ in range(3)] == [(2500, 0.0), (2499, 1.0), (2501, 1.0)]
    assert layout.distance_m("n10", "n4990") == 4980.0
    assert layout.route("n3", "n0") == ("n3", "n2", "n1", "n0")
    assert layout.charger_distance_m("n4999") == 4999.0
