"""Fixed-time control: the programme as given, or Webster's optimal cycle from flows."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyParams
from twin.traffic import actuation
from twin.traffic.observation import SignalAction, SignalObservation


class FixedTimeParams(PolicyParams):
    pass


class FixedTime(BasePolicy[SignalObservation, SignalAction]):
    """Each light's programme as SUMO runs it: the phases in order, each for its
    programmed green time (SUMO's ``static`` traffic lights); a SUMO programme of
    ``type="actuated"`` by SUMO's gap control (:mod:`twin.traffic.actuation`).

    The controller asks at the end of each green, so the cycle runs exactly as
    programmed.
    """

    id: ClassVar[str] = "signals/fixed-time-v0"
    domain: ClassVar[str] = "traffic.signals"
    follows_programme: ClassVar[bool] = True
    """Its answer is the programme's (at an actuated light, SUMO's gap control), so the
    kernel runs the lights without asking (:func:`twin.traffic.signals.follows_programme`)."""
    description: ClassVar[str] = (
        "the signal programme as given (cyclic, fixed greens; SUMO's actuated programmes "
        "by SUMO's gap control)"
    )
    Params = FixedTimeParams

    def act(self, obs: SignalObservation) -> SignalAction:
        if obs.actuation is not None:
            return actuation.decide(obs)
        nxt = (obs.phase + 1) % len(obs.green_s)
        return SignalAction(nxt, float(obs.green_s[nxt]))


class WebsterParams(PolicyParams):
    saturation_flow_per_s: float = Field(
        default=0.5, gt=0, description="saturation flow per lane (1800 veh/h, HCM base ~1900)"
    )
    lost_time_per_phase_s: float | None = Field(
        default=None, ge=0, description="lost time per phase; default yellow + all-red + 2 s"
    )
    min_cycle_s: float = Field(default=30.0, gt=0)
    max_cycle_s: float = Field(default=120.0, gt=0)
    warmup_s: float = Field(
        default=600.0, ge=0, description="run the given programme until flows are measured"
    )
    critical_ratio_cap: float = Field(default=0.9, gt=0, lt=1)
    mode: Literal["webster"] = "webster"


class Webster(BasePolicy[SignalObservation, SignalAction]):
    """Fixed-time with Webster's (1958) optimal cycle and green split from measured flows.

    ``C0 = (1.5 L + 5) / (1 - Y)``, ``g_i = (C0 - L) y_i / Y`` with ``y_i`` the largest
    flow ratio (flow / saturation flow) of the lanes phase ``i`` serves, ``Y = sum y_i``
    (capped) and ``L`` the lost time per cycle. Flows are the stop-line loop counts
    since the start; until ``warmup_s`` the programme's greens are used. Recomputed at
    every phase end, so the timing follows slow changes in demand.
    """

    id: ClassVar[str] = "signals/webster-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "fixed-time with Webster's optimal cycle from measured flows"
    Params = WebsterParams
    params: WebsterParams

    def act(self, obs: SignalObservation) -> SignalAction:
        nxt = (obs.phase + 1) % len(obs.green_s)
        if obs.now_s < self.params.warmup_s:
            return SignalAction(nxt, float(obs.green_s[nxt]))
        return SignalAction(nxt, float(self.greens(obs)[nxt]))

    def greens(self, obs: SignalObservation) -> np.ndarray:
        """Webster green times of every phase."""
        p = self.params
        ratios = np.array(
            [
                float(np.max(obs.flow_per_s[served], initial=0.0)) / p.saturation_flow_per_s
                for served in obs.phase_green
            ]
        )
        n = len(ratios)
        lost = p.lost_time_per_phase_s if p.lost_time_per_phase_s is not None else 5.0
        total_lost = n * lost
        y = min(float(ratios.sum()), p.critical_ratio_cap)
        cycle = (1.5 * total_lost + 5.0) / (1.0 - y)
        cycle = min(max(cycle, p.min_cycle_s, total_lost + n), p.max_cycle_s)
        share = ratios / ratios.sum() if ratios.sum() > 0 else np.full(n, 1.0 / n)
        return np.maximum((cycle - total_lost) * share, 1.0)
