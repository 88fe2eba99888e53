"""Max-pressure control (Varaiya 2013): serve the phase with the largest pressure."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.traffic.observation import SignalAction, SignalObservation


class MaxPressureParams(PolicyParams):
    period_s: float = Field(default=5.0, gt=0, description="decision period (green slot)")
    use_sensors: bool = Field(
        default=False, description="use the detector pipeline's queues instead of the truth"
    )


class MaxPressure(BasePolicy[SignalObservation, SignalAction]):
    """At every decision, give green to the phase of largest pressure.

    The pressure of a movement is the number of vehicles on its lane minus those per
    lane on its target edge; a phase's pressure is the sum over the movements it
    serves (Varaiya, Transportation Research Part C 36, 2013). Ties keep the current
    phase. Decisions every ``period_s`` (the controller adds min/max green and the
    yellow and all-red of every change).
    """

    id: ClassVar[str] = "signals/max-pressure-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "max-pressure (Varaiya 2013), decisions every 5 s"
    Params = MaxPressureParams
    params: MaxPressureParams

    def act(self, obs: SignalObservation) -> SignalAction:
        upstream = obs.vehicles
        if self.params.use_sensors:
            upstream = np.where(np.isnan(obs.sensed_queue), obs.vehicles, obs.sensed_queue)
        pressure = obs.phase_green.astype(np.float64) @ (upstream - obs.downstream)
        best = int(np.argmax(pressure))
        if pressure[best] <= pressure[obs.phase]:
            best = obs.phase
        return SignalAction(best, self.params.period_s)
