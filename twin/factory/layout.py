"""The plant floor as a graph: nodes where loads are handed over, aisles between them.

Shortest paths are computed once for every pair of nodes (Dijkstra, scipy), so a
vehicle's route is a dictionary look-up rather than a search per trip.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from twin.core.caches import keep_bounded

if TYPE_CHECKING:
    from twin.factory.config import PlantParams

FloatArray = npt.NDArray[np.float64]

Edge = tuple[str, str] | tuple[str, str, float]
"""An aisle ``(a, b)`` of Euclidean length, or ``(a, b, length_m)`` of explicit length."""

_MAX_LISTED = 20  # known nodes named in an error message; a big plant would flood the line


class LayoutSpec(BaseModel):
    """Nodes with positions, bidirectional aisles between them, and charger nodes.

    Attributes:
        nodes: node name -> ``(x, y)`` position in metres.
        edges: aisles ``(a, b)`` (length = distance between the positions) or
            ``(a, b, length_m)`` (an explicit length, e.g. for an aisle that bends).
            Each aisle is driven in both directions, one lane per direction.
        chargers: nodes with a charging station.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    nodes: dict[str, tuple[float, float]] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    chargers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_graph(self) -> LayoutSpec:
        for name, (x, y) in self.nodes.items():
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError(f"node {name!r} has a non-finite position ({x}, {y})")
        seen: set[frozenset[str]] = set()
        for k, edge in enumerate(self.edges):
            a, b = edge[0], edge[1]
            for end in (a, b):
                if end not in self.nodes:
                    raise ValueError(
                        f"edges[{k}] {edge!r} names unknown node {end!r}; "
                        f"known nodes: {_listing(self.nodes)}"
                    )
            if a == b:
                raise ValueError(f"edges[{k}] {edge!r} is a self-loop: an aisle joins two nodes")
            pair = frozenset((a, b))
            if pair in seen:
                raise ValueError(f"edges[{k}] {edge!r} repeats an aisle between {a!r} and {b!r}")
            seen.add(pair)
            length = self.edge_length_m(k)
            if not (length > 0 and math.isfinite(length)):
                raise ValueError(
                    f"edges[{k}] {edge!r} has length {length} m; lengths must be finite and > 0 "
                    "(give an explicit length when two nodes share a position)"
                )
        for k, charger in enumerate(self.chargers):
            if charger not in self.nodes:
                raise ValueError(
                    f"chargers[{k}] names unknown node {charger!r}; "
                    f"known nodes: {_listing(self.nodes)}"
                )
        if len(set(self.chargers)) != len(self.chargers):
            raise ValueError(f"chargers lists a node twice: {self.chargers}")
        unreachable = self._unreachable()
        if unreachable is not None:
            first = next(iter(self.nodes))
            raise ValueError(
                f"the layout is not connected: node {unreachable!r} cannot be reached from "
                f"{first!r} (an AGV path with no connection); add an aisle to it"
            )
        return self

    def edge_length_m(self, k: int) -> float:
        """The length of ``edges[k]``: explicit, or the distance between its end nodes."""
        edge = self.edges[k]
        if len(edge) == 3:
            return float(edge[2])
        (xa, ya), (xb, yb) = self.nodes[edge[0]], self.nodes[edge[1]]
        return math.hypot(xb - xa, yb - ya)

    def _unreachable(self) -> str | None:
        """A node not reachable from the first one (breadth-first search), or ``None``."""
        neighbours: dict[str, list[str]] = {name: [] for name in self.nodes}
        for edge in self.edges:
            neighbours[edge[0]].append(edge[1])
            neighbours[edge[1]].append(edge[0])
        start = next(iter(self.nodes))
        reached = {start}
        frontier = deque([start])
        while frontier:
            for other in neighbours[frontier.popleft()]:
                if other not in reached:
                    reached.add(other)
                    frontier.append(other)
        return next((name for name in self.nodes if name not in reached), None)


ROUTE_CACHE_SIZE = 1 << 16
"""Routes kept per layout, the oldest dropped first. A plant-year asks for hundreds of
thousands of (from, to) pairs; an unbounded cache grew the memory with the horizon."""


ROW_CACHE_SIZE = 64
"""Whole distance rows kept by a large layout (a row of 12,000 nodes is ~400 kB)."""


ALL_PAIRS_MAX_NODES = 2_500
"""Up to this many nodes a layout computes every shortest path once, up front (2,500
nodes: about 200 MB of distances); a larger one searches outward from a node when asked,
so a 12,000-node plant of 10,000 machines fits in memory and builds in a second."""


class Layout:
    """A validated layout with its shortest paths.

    Small layouts (up to :data:`ALL_PAIRS_MAX_NODES` nodes) hold all-pairs distances and
    predecessors; larger ones run a Dijkstra search from the asking node, stopping as soon
    as the answer is known (routes and distances are cached per pair, bounded). Both give
    shortest paths; on ties between equally short routes they may pick different ones.

    Args:
        spec: the layout's nodes, aisles and chargers.
    """

    def __init__(self, spec: LayoutSpec) -> None:
        self.spec = spec
        self.nodes: tuple[str, ...] = tuple(spec.nodes)
        self.chargers: tuple[str, ...] = tuple(spec.chargers)
        self._index = {name: i for i, name in enumerate(self.nodes)}
        self.node_index: Mapping[str, int] = MappingProxyType(self._index)
        """Position of every node in :attr:`nodes` (read only; :meth:`index` names unknown
        nodes, this is the plain look-up for loops over a fleet)."""
        n = len(self.nodes)
        edge_lengths_m: dict[tuple[str, str], float] = {}
        neighbours: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for k, edge in enumerate(spec.edges):
            a, b = edge[0], edge[1]
            length = spec.edge_length_m(k)
            edge_lengths_m[(a, b)] = edge_lengths_m[(b, a)] = length
            i, j = self._index[a], self._index[b]
            neighbours[i].append((j, length))
            neighbours[j].append((i, length))
        # Read-only, because the layout is shared with every policy's observation.
        self.edge_lengths_m: Mapping[tuple[str, str], float] = MappingProxyType(edge_lengths_m)
        """Length of every directed segment ``(from, to)``; both directions of each aisle."""
        self._neighbours = neighbours
        self._csr = self._graph()
        self.all_pairs = n <= ALL_PAIRS_MAX_NODES
        """Whether every shortest path was computed up front (see the class doc)."""
        self._routes: dict[tuple[str, str], tuple[str, ...]] = {}
        self._distances: dict[tuple[int, int], float] = {}
        self._rows: dict[int, list[float]] = {}
        self._nearest_first: dict[int, array[int]] = {}
        self._farthest_charger: list[float] | None = None
        self._dist: list[list[float]] = []
        self._pred: np.ndarray = np.empty((0, 0), dtype=np.int32)
        if self.all_pairs:
            dist, pred = dijkstra(self._csr, directed=True, return_predecessors=True)
            # Python lists: a scalar look-up in a list is several times cheaper than in
            # numpy, and distances are read at every dispatch decision.
            self._dist = dist.tolist()
            pred.setflags(write=False)
            self._pred = pred
            no_charger: tuple[float, str | None] = (math.inf, None)
            self._to_charger = [
                min(((row[self._index[c]], c) for c in self.chargers), default=no_charger)
                for row in self._dist
            ]
        else:
            self._to_charger = self._nearest_chargers()
        """Per node: (distance to the nearest charger, that charger); ties by name."""

    def _graph(self) -> csr_matrix:
        rows: list[int] = []
        cols: list[int] = []
        lengths: list[float] = []
        for i, out in enumerate(self._neighbours):
            for j, length in out:
                rows.append(i)
                cols.append(j)
                lengths.append(length)
        n = len(self.nodes)
        return csr_matrix((lengths, (rows, cols)), shape=(n, n))

    def _nearest_chargers(self) -> list[tuple[float, str | None]]:
        """One search from all chargers at once, keyed (distance, charger name): each node
        is settled by its nearest charger, ties to the first name, as the all-pairs rule."""
        best: list[tuple[float, str | None]] = [(math.inf, None)] * len(self.nodes)
        heap = [(0.0, charger, self._index[charger]) for charger in self.chargers]
        heapq.heapify(heap)
        settled = [False] * len(self.nodes)
        while heap:
            d, charger, u = heapq.heappop(heap)
            if settled[u]:
                continue
            settled[u] = True
            best[u] = (d, charger)
            for v, length in self._neighbours[u]:
                if not settled[v]:
                    heapq.heappush(heap, (d + length, charger, v))
        return best

    def __repr__(self) -> str:
        return (
            f"Layout({len(self.nodes)} nodes, {len(self.spec.edges)} aisles, "
            f"chargers={list(self.chargers)})"
        )

    def index(self, node: str) -> int:
        """The position of ``node`` in :attr:`nodes`; ``ValueError`` names known nodes."""
        try:
            return self._index[node]
        except KeyError:
            raise ValueError(
                f"unknown node {node!r}; known nodes: {_listing(self.nodes)}"
            ) from None

    def distance_m(self, a: str, b: str) -> float:
        """Length of the shortest path from ``a`` to ``b``, metres."""
        i, j = self.index(a), self.index(b)
        if self.all_pairs:
            return self._dist[i][j]
        key = (i, j) if i <= j else (j, i)  # aisles run both ways: one search per pair
        distance = self._distances.get(key)
        if distance is None:
            distance = self._search(key[0], key[1])[0]
        return distance

    def distances_from(self, node: str) -> list[float]:
        """Path lengths from ``node`` to every node, by :meth:`index` (read only).

        Graphs here are undirected, so this is also the distance *to* ``node``: one row
        serves a dispatcher comparing every vehicle's way to one pickup. On a large layout
        this is a whole search (see :meth:`walk_outward` for one that stops early).
        """
        i = self.index(node)
        if self.all_pairs:
            return self._dist[i]
        row = self._rows.get(i)
        if row is None:
            row = dijkstra(self._csr, directed=True, indices=i).tolist()
            keep_bounded(self._rows, i, row, ROW_CACHE_SIZE)
        return row

    def walk_outward(self, node: str) -> Iterator[tuple[int, float]]:
        """``(index, metres)`` of every node, nearest to ``node`` first (ties by index).

        A dispatcher stops at the first idle vehicle it meets; on a large layout only the
        nodes up to there are searched.
        """
        if self.all_pairs:
            row = self._dist[self.index(node)]
            for j in self.nearest_first(node):
                yield j, row[j]
            return
        heap = [(0.0, self.index(node))]
        settled: set[int] = set()  # a walk usually stops after a few nodes of thousands
        neighbours = self._neighbours
        while heap:
            d, u = heapq.heappop(heap)
            if u in settled:
                continue
            settled.add(u)
            yield u, d
            for v, length in neighbours[u]:
                if v not in settled:
                    heapq.heappush(heap, (d + length, v))

    def nearest_first(self, node: str) -> Sequence[int]:
        """Every node's :meth:`index`, nearest to ``node`` first (ties by index), cached.

        Lets a dispatcher stop at the first idle vehicle instead of measuring the whole
        fleet: walking this order, the first vehicle found is a nearest one.
        """
        i = self.index(node)
        order = self._nearest_first.get(i)
        if order is None:
            row = np.asarray(self.distances_from(node))
            # Packed (4 bytes a node): a small layout keeps one order per node it is asked
            # about, at most all of them; a large one keeps as many as it keeps rows.
            order = array("i", np.argsort(row, kind="stable").astype(np.int32).tobytes())
            if self.all_pairs:
                self._nearest_first[i] = order
            else:
                keep_bounded(self._nearest_first, i, order, ROW_CACHE_SIZE)
        return order

    def path(self, a: str, b: str) -> list[str]:
        """The nodes of the shortest path from ``a`` to ``b``, both included."""
        return list(self.route(a, b))

    def route(self, a: str, b: str) -> tuple[str, ...]:
        """Like :meth:`path`, as the cached tuple itself (no copy; for the hot path)."""
        key = (a, b)
        route = self._routes.get(key)
        if route is None:
            i, j = self.index(a), self.index(b)
            if self.all_pairs:
                reversed_nodes = [b]
                while j != i:
                    j = int(self._pred[i, j])
                    reversed_nodes.append(self.nodes[j])
                route = tuple(reversed(reversed_nodes))
            else:
                route = tuple(self.nodes[k] for k in self._search(i, j)[1])
            keep_bounded(self._routes, key, route, ROUTE_CACHE_SIZE)
        return route

    def _search(self, i: int, j: int) -> tuple[float, list[int]]:
        """Dijkstra from ``i``, stopped when ``j`` is settled: its distance and the path."""
        best = {i: 0.0}
        came_from: dict[int, int] = {}
        heap = [(0.0, i)]
        settled: set[int] = set()
        neighbours = self._neighbours
        while heap:
            d, u = heapq.heappop(heap)
            if u in settled:
                continue
            if u == j:
                break
            settled.add(u)
            for v, length in neighbours[u]:
                candidate = d + length
                if candidate < best.get(v, math.inf):
                    best[v] = candidate
                    came_from[v] = u
                    heapq.heappush(heap, (candidate, v))
        path = [j]
        while path[-1] != i:
            path.append(came_from[path[-1]])
        path.reverse()
        keep_bounded(self._distances, (i, j) if i <= j else (j, i), best[j], ROUTE_CACHE_SIZE)
        return best[j], path

    def farthest_charger_m(self, node: str) -> float:
        """Path length from the charger farthest from ``node`` (0 without chargers): what
        a vehicle leaving any charger may have to drive to get there."""
        i = self.index(node)
        if self.all_pairs:
            return max((self._dist[self._index[c]][i] for c in self.chargers), default=0.0)
        if self._farthest_charger is None:
            # Once for every node: a search from each charger (200 in a 10,000-machine
            # plant), where asking per pickup was a whole search per new pickup.
            if self.chargers:
                sources = [self._index[c] for c in self.chargers]
                rows = dijkstra(self._csr, directed=True, indices=sources)
                self._farthest_charger = rows.max(axis=0).tolist()
            else:
                self._farthest_charger = [0.0] * len(self.nodes)
        return self._farthest_charger[i]

    def nearest(self, from_node: str, candidates: list[str] | tuple[str, ...]) -> str:
        """The candidate closest to ``from_node`` by path; ties go to the earlier one."""
        if not candidates:
            raise ValueError(f"no candidates to choose the nearest to {from_node!r} from")
        return min(candidates, key=lambda c: self.distance_m(from_node, c))

    def nearest_charger(self, node: str) -> str:
        """The charger closest to ``node``; ``ValueError`` when the layout has none."""
        charger = self._to_charger[self.index(node)][1]
        if charger is None:
            raise ValueError("the layout has no chargers")
        return charger

    def charger_distance_m(self, node: str) -> float:
        """Path length from ``node`` to its nearest charger (infinite without chargers)."""
        return self._to_charger[self.index(node)][0]

    def covers(self, node: str, pickup: str, drop: str, range_m: float) -> bool:
        """Whether ``range_m`` covers node -> pickup -> drop -> nearest charger."""
        if math.isinf(range_m):
            return True
        need_m = (
            self.distance_m(node, pickup)
            + self.distance_m(pickup, drop)
            + self.charger_distance_m(drop)
        )
        # A relative slack of 1e-9: a job sized exactly to the battery must not fail on
        # rounding.
        return need_m <= range_m * (1.0 + 1e-9)


# -- where things stand on the floor (what the view draws, what entities' pos says) ----

MACHINE_SPACING_M = 2.5
"""Gap between the machines of one station, set side by side around its node; also how
far the machines stand behind the node and the buffer in front of it."""
STATION_SPACING_M = 15.0
"""Gap between stations when the plant has no layout (set in a row along x)."""


def station_positions(params: PlantParams) -> FloatArray:
    """``(stations, 2)``: each station's layout node, or a place in a row without one."""
    nodes = dict(params.layout.nodes) if params.layout is not None else {}
    return np.array(
        [
            nodes[s.node] if s.node is not None and s.node in nodes else (k * STATION_SPACING_M, 0)
            for k, s in enumerate(params.stations)
        ],
        dtype=np.float64,
    ).reshape(-1, 2)


def machine_positions(params: PlantParams) -> FloatArray:
    """``(machines, 2)`` in machine-index order: a station's machines side by side,
    :data:`MACHINE_SPACING_M` behind its node."""
    stations = station_positions(params)
    rows = [
        stations[k] + ((j - (station.machines - 1) / 2) * MACHINE_SPACING_M, MACHINE_SPACING_M)
        for k, station in enumerate(params.stations)
        for j in range(station.machines)
    ]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def buffer_positions(params: PlantParams) -> FloatArray:
    """``(stations, 2)``: each station's input buffer, in front of its node."""
    return station_positions(params) - (0.0, MACHINE_SPACING_M)


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")
