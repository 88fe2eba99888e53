"""Vehicle-actuated control with gap-out and max-out, like SUMO's ``actuated`` lights."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.traffic.observation import SignalAction, SignalObservation


class ActuatedParams(PolicyParams):
    max_gap_s: float = Field(
        default=3.0, gt=0, description="end green when no vehicle passed a loop for this long"
    )
    step_s: float = Field(default=1.0, gt=0, description="green extension per decision")


class Actuated(BasePolicy[SignalObservation, SignalAction]):
    """Hold the green while vehicles keep arriving, phases in programme order.

    After the minimum green, the phase is extended ``step_s`` at a time as long as some
    lane it serves saw a vehicle pass its upstream loop (2 s before the stop line)
    within ``max_gap_s`` (gap-out); the controller ends it at maximum green (max-out).
    SUMO's defaults: ``max-gap`` 3 s, ``detector-gap`` 2 s, min/max green from the
    programme.
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
        if served.any() and float(np.min(obs.gap_s[served])) < p.max_gap_s:
            return SignalAction(obs.phase, p.step_s)
        nxt = (obs.phase + 1) % len(obs.green_s)
        return SignalAction(nxt, p.step_s)
