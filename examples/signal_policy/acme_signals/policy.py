"""Green for the phase with the most vehicles halting, a few seconds at a time."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.traffic.observation import SignalAction, SignalObservation


class LongestQueueParams(PolicyParams):
    step_s: float = Field(default=5.0, gt=0, description="green before the next decision")


class LongestQueue(BasePolicy[SignalObservation, SignalAction]):
    """Serve the phase whose movements have the most vehicles halting.

    The phase showing keeps its green on a tie (each switch costs a yellow and a red),
    and gives it up at its maximum green however long its own queue is.
    """

    id: ClassVar[str] = "acme/longest-queue-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "green for the phase with the longest queue, 5 s at a time"
    Params = LongestQueueParams
    params: LongestQueueParams

    def act(self, obs: SignalObservation) -> SignalAction:
        # Vehicles each phase would release: the queues of the movements it serves.
        waiting = obs.phase_green.astype(np.float64) @ obs.queue
        if obs.phase_elapsed_s >= obs.max_green_s and len(waiting) > 1:
            waiting[obs.phase] = -np.inf
        best = obs.phase if waiting[obs.phase] >= waiting.max() else int(np.argmax(waiting))
        return SignalAction(int(best), self.params.step_s)
