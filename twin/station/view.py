"""How a queueing station is drawn: a column of servers, busy or idle, and the row of
jobs waiting for them. Not to scale: the places fill the panel whatever the station's size.
"""

from __future__ import annotations

import numpy as np

from twin.core.scene import Marks, PointLayer, SceneFrame, SceneLayout
from twin.station.station import Station

SLOT_M = 1.0
"""Spacing of the drawn servers and waiting places."""
QUEUE_DRAWN = 60
"""Waiting jobs drawn one by one; a longer queue is drawn as this many and counted."""
IDLE_RGB = (0.75, 0.75, 0.75)
BUSY_RGB = (0.20, 0.65, 0.25)
"""A station's servers in the factory's idle grey and busy green."""
SERVER_SIZE_PT = 18.0
LABEL_ROOM_M = 6.0 * SLOT_M
JOB_SIZE_PT = 7.0


class StationView:
    """The station's servers and queue (``layout`` once, :meth:`frame` per tick).

    Attributes:
        server_xy: ``(servers, 2)`` where each server is drawn, a column at x = 0.
        queue_xy: ``(places drawn, 2)`` the waiting places, nearest the servers first.
    """

    def __init__(self, station: Station) -> None:
        self.station = station
        params = station.params
        servers = params.servers
        places = min(params.capacity or QUEUE_DRAWN, QUEUE_DRAWN)
        self.server_xy = np.column_stack(
            (np.zeros(servers), (np.arange(servers) - (servers - 1) / 2) * SLOT_M * 1.5)
        ).astype(np.float64)
        self.queue_xy = np.column_stack(
            (-SLOT_M * (2 + np.arange(places)), np.zeros(places))
        ).astype(np.float64)
        static: tuple[Marks, ...] = ()
        if params.capacity is not None and places:
            # A bounded station shows its empty places too.
            static = (Marks(self.queue_xy, "o", "0.9", label="waiting place"),)
        spread = float(np.abs(self.server_xy[:, 1]).max()) + 2.0 * SLOT_M
        left = float(self.queue_xy[:, 0].min()) if places else -1.0
        self.layout = SceneLayout(
            static=static,
            layers=(
                PointLayer(
                    "servers",
                    (IDLE_RGB, BUSY_RGB),
                    ("idle server", "busy server"),
                    marker="s",
                    size_pt=SERVER_SIZE_PT,
                    zorder=2.0,
                ),
                PointLayer(
                    "queue",
                    ("tab:blue",),
                    ("waiting job",),
                    marker="o",
                    size_pt=JOB_SIZE_PT,
                    zorder=3.0,
                ),
            ),
            # Room right of the servers for their labels, centred under them.
            bounds=(left - SLOT_M, LABEL_ROOM_M, -spread, spread),
            equal_aspect=False,
            pick_xy=self.server_xy.copy(),
            pick_names=(station.name,) * servers,
            # Every server selects the station; a label tells the servers apart.
            pick_labels=tuple(f"server {k + 1}" for k in range(servers)),
        )

    def frame(self) -> SceneFrame:
        """Servers busy (class 1) or idle (0); the first waiting jobs in their places."""
        station = self.station
        servers = len(self.server_xy)
        busy = servers - station.free_servers
        queue = len(station.jobs.items)
        drawn = self.queue_xy[: min(queue, len(self.queue_xy))]
        rejected = int(station.rejected.value(station.env.now))
        return SceneFrame(
            now_s=float(station.env.now),
            points={
                "servers": (self.server_xy, (np.arange(servers) < busy).astype(np.int64)),
                "queue": (drawn, np.zeros(len(drawn), dtype=np.int64)),
            },
            caption=f"{queue} waiting, {rejected} turned away",
        )
