"""Vehicle-actuated control with gap-out and max-out, like SUMO's ``actuated`` lights."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.traffic.observation import LOOP_UPSTREAM, SignalAction, SignalObservation


class ActuatedParams(PolicyParams):
    max_gap_s: float = Field(
        default=3.0, gt=0, description="end green when no vehicle passed a loop for this long"
    )
    step_s: float = Field(default=1.0, gt=0, description="green extension per decision")
    use_sensors: bool = Field(
        default=False,
        description="read the upstream induction loops through the detector pipeline",
    )


class Actuated(BasePolicy[SignalObservation, SignalAction]):
    """Hold the green while vehicles keep arriving, phases in programme order.

    After the minimum green, the phase is extended ``step_s`` at a time as long as some
    lane it serves saw a vehicle pass its upstream loop (2 s before the stop line)
    within ``max_gap_s`` (gap-out); the controller ends it at maximum green (max-out).
    SUMO's defaults: ``max-gap`` 3 s, ``detector-gap`` 2 s, min/max green from the
    programme.

    With ``use_sensors`` the policy reads the upstream loops as delivered by the detector
    pipeline instead of the exact gap: a lane calls for more green when its loop counted
    a vehicle in the last period or was occupied. A loop with no reading (dead, or none
    delivered yet) places a call, so a failed detector holds the green to its maximum
    (the fail-safe "recall" of traffic controllers) rather than starving the lane. For
    a gap-out like SUMO's the loop period must be at most ``max_gap_s``.
    """

    id: ClassVar[str] = "signals/actuated-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "gap-out / max-out actuated control (SUMO's 'actuated')"
    Params = ActuatedParams
    params: ActuatedParams

    def act(self, obs: SignalObservation) -> SignalAction:
        p = self.params
        served = obs.phase_green[obs.phase]
        if obs.phase_elapsed_s < obs.min_green_s:
            return SignalAction(obs.phase, max(obs.min_green_s - obs.phase_elapsed_s, 1e-3))
        if served.any():
            if p.use_sensors:
                count = obs.sensed_count[served, LOOP_UPSTREAM]
                occupancy = obs.sensed_occupancy[served, LOOP_UPSTREAM]
                calling = (count > 0) | (occupancy > 0) | np.isnan(count) | np.isnan(occupancy)
                if calling.any():
                    return SignalAction(obs.phase, p.step_s)
            elif float(np.min(obs.gap_s[served])) < p.max_gap_s:
                return SignalAction(obs.phase, p.step_s)
        nxt = (obs.phase + 1) % len(obs.green_s)
        return SignalAction(nxt, p.step_s)
