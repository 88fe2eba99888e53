"""How a supply network is drawn: a schematic with suppliers on the left and one column
per echelon (retailers on the right), each stocking site coloured by its stock against
its starting stock, and trucks on their lanes, loaded or returning empty. Not to scale.
"""

from __future__ import annotations

import numpy as np

from twin.core.scene import Lines, Marks, PointLayer, SceneFrame, SceneLayout, fit_bounds
from twin.supply.network import SupplyNetwork

STOCK_LEVELS = ("out of stock", "below half its start", "normal", "over twice its start")
"""Stock classes of a stocking site, by on-hand units against its initial stock."""
STOCK_RGB = (
    (0.85, 0.10, 0.10),  # out of stock: red
    (0.95, 0.65, 0.10),  # low: orange
    (0.20, 0.65, 0.25),  # normal: green
    (0.10, 0.35, 0.80),  # overstocked: blue
)
TRUCK_CLASSES = ("truck returning empty", "truck loaded")
TRUCK_RGB = ("0.6", "k")
SUPPLIER_RGB = "0.55"
LANE_RGB = "0.85"


def stock_class(on_hand: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The :data:`STOCK_LEVELS` class of each site's stock (``initial`` at least 1)."""
    ratio = on_hand / initial
    classes = np.where(on_hand <= 0, 0, np.where(ratio < 0.5, 1, np.where(ratio > 2, 3, 2)))
    return classes.astype(np.int64)


class SupplyView:
    """The network's sites and trucks (``layout`` once, :meth:`frame` per tick).

    Attributes:
        site_xy: ``(sites, 2)`` each site's ``pos``, in the network's order.
        lane_segments: ``(lanes, 2, 2)`` origin -> destination of each lane.
        stocked: which sites hold stock (all but suppliers), drawn in the ``sites`` layer.
    """

    def __init__(self, network: SupplyNetwork) -> None:
        self.network = network
        sites = network.sites
        self.site_xy = np.array([site.pos for site in sites], dtype=np.float64).reshape(-1, 2)
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
        # Markers shrink as sites multiply, within readable limits.
        size = float(np.clip(80.0 / np.sqrt(max(len(sites), 1)), 4.0, 14.0))
        lane_mid = self.lane_segments.mean(axis=1)
        self.layout = SceneLayout(
            static=(
                Lines(self.lane_segments, LANE_RGB, 0.8, label="lane"),
                Marks(self.site_xy[~self.stocked], "D", SUPPLIER_RGB, size, label="supplier"),
            ),
            layers=(
                PointLayer("sites", STOCK_RGB, STOCK_LEVELS, marker="o", size_pt=size),
                PointLayer(
                    "trucks", TRUCK_RGB, TRUCK_CLASSES, marker=">", size_pt=0.6 * size, zorder=3.0
                ),
            ),
            bounds=fit_bounds(self.site_xy),
            equal_aspect=False,
            pick_xy=np.concatenate((self.site_xy, lane_mid)),
            pick_names=(
                *(site.name for site in sites),
                *(lane.name for lane in network.lanes),
            ),
        )

    def frame(self) -> SceneFrame:
        """Each stocking site in its stock class; each truck on the road where it is."""
        network = self.network
        now = float(network.env.now)
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
        return SceneFrame(
            now_s=now,
            points={
                "sites": (self.site_xy[self.stocked], stock_class(on_hand, self._initial)),
                "trucks": (
                    np.array(xy, dtype=np.float64).reshape(-1, 2),
                    np.array(loaded, dtype=np.int64),
                ),
            },
            caption=f"day {network.day}: {trucks} truck{'s' if trucks != 1 else ''} on the road",
        )
