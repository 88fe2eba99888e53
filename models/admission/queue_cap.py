"""Turn arrivals away when the queue is long: trades lost jobs for shorter waits."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.station import ADMIT, REJECT, StationAction, StationObservation


class QueueCapParams(PolicyParams):
    max_queue: int = Field(
        default=10, ge=0, description="reject when every server is busy and this many jobs wait"
    )
    use_sensor: bool = Field(
        default=False,
        description="decide on the sensed queue length (delayed, noisy) instead of the true one",
    )


class QueueCap(BasePolicy[StationObservation, StationAction]):
    """Reject an arrival when every server is busy and ``max_queue`` jobs already wait.

    With true readings this is the M/M/c/K station with K = servers + max_queue. With
    ``use_sensor`` the rule reads the station's queue-length sensor instead, as a remote
    controller would (delayed, noisy); before the first reading it admits.
    """

    id: ClassVar[str] = "admission/queue-cap-v0"
    domain: ClassVar[str] = "station"
    description: ClassVar[str] = "reject arrivals while all servers are busy and max_queue wait"
    Params = QueueCapParams
    params: QueueCapParams

    def act(self, obs: StationObservation) -> StationAction:
        queue = obs.sensed_queue_length if self.params.use_sensor else obs.queue_length
        if math.isnan(queue):
            return ADMIT
        all_busy = obs.busy_servers >= obs.servers
        return REJECT if all_busy and queue >= self.params.max_queue else ADMIT
