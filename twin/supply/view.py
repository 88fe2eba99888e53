"""How a supply network is drawn: a schematic with suppliers on the left and one band
per echelon (retailers on the right), each stocking site coloured by its stock against
its starting stock, the lanes that delivered since the last frame, and trucks on their
lanes, loaded or returning empty. Not to scale.

An echelon of many sites wraps into a grid of columns, so fifty retailers are fifty
markers a click tells apart, not one bar of overlapping ones.
"""

from __future__ import annotations

import math

import numpy as np

from twin.core.scene import (
    Lines,
    Marks,
    PointLayer,
    SceneFrame,
    SceneLayout,
    SegmentLayer,
)
from twin.supply.network import Site, SupplyNetwork

STOCK_LEVELS = (
    "out of stock",
    "under a quarter of its start",
    "under half its start",
    "half to twice its start",
    "over twice its start",
)
"""Stock classes of a stocking site, by on-hand units against its initial stock."""
STOCK_RGB = (
    (0.85, 0.10, 0.10),  # out of stock: red
    (0.95, 0.45, 0.10),  # very low: dark orange
    (0.95, 0.75, 0.15),  # low: amber
    (0.20, 0.65, 0.25),  # normal: green
    (0.10, 0.35, 0.80),  # overstocked: blue
)
TRUCK_CLASSES = ("truck returning empty", "truck loaded")
TRUCK_RGB = ("0.6", "k")
DELIVERY_CLASSES = ("", "delivered since the last frame")
DELIVERY_RGB = ("none", (0.25, 0.45, 0.85))
SUPPLIER_RGB = "0.55"
LANE_RGB = "0.85"

CELL_M = 1.0
"""Spacing of the sites of an echelon's grid."""
ECHELON_GAP_M = 4.0
"""From an echelon's last column to the next echelon's first: room for lanes and trucks."""
ROWS_BEFORE_WRAP = 10
"""An echelon of up to this many sites is one column; more wrap into a near-square grid."""
SITE_SIZE_M = 0.6
TRUCK_SIZE_M = 0.35
SUPPLIER_SIZE_PT = 8.0
MARGIN_M = 1.0


def stock_class(on_hand: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The :data:`STOCK_LEVELS` class of each site's stock (``initial`` at least 1)."""
    ratio = on_hand / initial
    classes = np.where(
        on_hand <= 0,
        0,
        np.where(ratio < 0.25, 1, np.where(ratio < 0.5, 2, np.where(ratio > 2, 4, 3))),
    )
    return classes.astype(np.int64)


def grid_positions(sites: list[Site]) -> np.ndarray:
    """Where the view draws each site, ``(sites, 2)`` metres of the schematic.

    Suppliers in the left band, then one band per echelon with retailers on the right.
    A band is a column of up to :data:`ROWS_BEFORE_WRAP` sites, ordered by their sources'
    order (so lanes cross as little as they can); a larger echelon fills a grid row by
    row, as many rows as the largest echelon needs to stay near square.
    """
    top = max(site.echelon for site in sites) + 1
    band = [0 if site.is_supplier else top - site.echelon for site in sites]
    members = {
        b: sorted(
            (k for k, of in enumerate(band) if of == b),
            key=lambda k: (sites[k].source.index if sites[k].source is not None else -1, k),
        )
        for b in sorted(set(band))
    }
    rows = max(
        max(math.ceil(math.sqrt(len(m))), min(len(m), ROWS_BEFORE_WRAP)) for m in members.values()
    )
    xy = np.zeros((len(sites), 2))
    left = 0.0
    for chosen in members.values():
        # Row by row: the sites of one source share rows beside it, so its lanes fan
        # out over a few rows and cross few others.
        columns = math.ceil(len(chosen) / rows)
        used_rows = math.ceil(len(chosen) / columns)
        for j, k in enumerate(chosen):
            row, column = divmod(j, columns)
            xy[k] = (left + column * CELL_M, ((used_rows - 1) / 2 - row) * CELL_M)
        left += (columns - 1) * CELL_M + ECHELON_GAP_M
    return xy


class SupplyView:
    """The network's sites and trucks (``layout`` once, :meth:`frame` per tick).

    Args:
        network: the built network.
        site_xy: where to draw each site, in metres of a real plane (a scenario that
            places the sites on a map); ``None``: the schematic of :func:`grid_positions`.
        cell_m: the spacing of neighbouring sites in that plane: markers and margins are
            sized by it.

    Attributes:
        site_xy: ``(sites, 2)`` where each site is drawn, in the network's order.
        lane_segments: ``(lanes, 2, 2)`` origin -> destination of each lane.
        stocked: which sites hold stock (all but suppliers), drawn in the ``sites`` layer.
    """

    def __init__(
        self,
        network: SupplyNetwork,
        site_xy: np.ndarray | None = None,
        cell_m: float = CELL_M,
    ) -> None:
        self.network = network
        sites = network.sites
        on_a_map = site_xy is not None
        self.site_xy = (
            np.asarray(site_xy, dtype=np.float64).reshape(-1, 2)
            if on_a_map
            else grid_positions(sites)
        )
        scale = cell_m / CELL_M
        index = {site.site_name: k for k, site in enumerate(sites)}
        self.lane_segments = np.array(
            [
                [self.site_xy[index[lane.origin]], self.site_xy[index[lane.destination]]]
                for lane in network.lanes
            ],
            dtype=np.float64,
        ).reshape(-1, 2, 2)
        self.stocked = np.array([not site.is_supplier for site in sites], dtype=np.bool_)
        self._initial = np.array([max(site.initial, 1) for site in network.stocked], np.float64)
        self._lane_sites = [sites[lane.destination_index] for lane in network.lanes]
        # Received units per lane at the last two distinct frame times: a lane that
        # delivered since the previous frame is drawn, however often a frame is asked.
        self._seen_s = -math.inf
        self._received_then = self._received_now = self._received()
        lane_mid = self.lane_segments.mean(axis=1)
        x_min, y_min = self.site_xy.min(axis=0)
        x_max, y_max = self.site_xy.max(axis=0)
        self.layout = SceneLayout(
            static=(
                Lines(self.lane_segments, LANE_RGB, 0.8, label="lane"),
                Marks(
                    self.site_xy[~self.stocked],
                    "D",
                    SUPPLIER_RGB,
                    SUPPLIER_SIZE_PT,
                    label="supplier",
                ),
            ),
            layers=(
                SegmentLayer(
                    "deliveries", self.lane_segments, DELIVERY_RGB, DELIVERY_CLASSES, width=1.5
                ),
                PointLayer(
                    "sites", STOCK_RGB, STOCK_LEVELS, marker="o", size_m=SITE_SIZE_M * scale
                ),
                PointLayer(
                    "trucks",
                    TRUCK_RGB,
                    TRUCK_CLASSES,
                    marker=">",
                    size_m=TRUCK_SIZE_M * scale,
                    zorder=3.0,
                ),
            ),
            bounds=(
                float(x_min - MARGIN_M * scale),
                float(x_max + MARGIN_M * scale),
                float(y_min - MARGIN_M * scale),
                float(y_max + MARGIN_M * scale),
            ),
            equal_aspect=on_a_map,
            pick_xy=np.concatenate((self.site_xy, lane_mid)),
            pick_names=(
                *(site.name for site in sites),
                *(lane.name for lane in network.lanes),
            ),
            # A lane is named by the two sites it joins, labelled already: fifty lane
            # labels would bury the retailers they lead to.
            pick_labels=(*(site.site_name for site in sites), *("" for _ in network.lanes)),
        )

    def _received(self) -> np.ndarray:
        return np.array([site.received for site in self._lane_sites], dtype=np.int64)

    def frame(self) -> SceneFrame:
        """Each stocking site in its stock class, each lane that delivered since the
        previous frame, each truck on the road where it is."""
        network = self.network
        now = float(network.env.now)
        if now != self._seen_s:
            self._seen_s = now
            self._received_then, self._received_now = self._received_now, self._received()
        delivered = (self._received_now > self._received_then).astype(np.int64)
        on_hand = np.array([site.on_hand for site in network.stocked], dtype=np.int64)
        xy, loaded = [], []
        for k, lane in enumerate(network.lanes):
            origin, destination = self.lane_segments[k]
            for departed_s, drive_s, full in lane.on_road.values():
                share = min(max((now - departed_s) / drive_s, 0.0), 1.0) if drive_s > 0 else 1.0
                start_xy, end_xy = (origin, destination) if full else (destination, origin)
                xy.append(start_xy + share * (end_xy - start_xy))
                loaded.append(full)
        trucks = len(loaded)
        lanes = int(delivered.sum())
        return SceneFrame(
            now_s=now,
            points={
                "sites": (self.site_xy[self.stocked], stock_class(on_hand, self._initial)),
                "trucks": (
                    np.array(xy, dtype=np.float64).reshape(-1, 2),
                    np.array(loaded, dtype=np.int64),
                ),
            },
            segments={"deliveries": delivered},
            caption=(
                # The day is the clock's to show, in the domain's own words.
                f"{trucks} truck{'s' if trucks != 1 else ''} on the road, "
                f"{lanes} lane{'s' if lanes != 1 else ''} delivered since the last frame"
            ),
        )
