"""Self-organising traffic lights (SOTL, Cools, Gershenson & D'Hooghe 2008)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.traffic.observation import SignalAction, SignalObservation


class SotlParams(PolicyParams):
    theta: float = Field(
        default=10.0, gt=0, description="vehicle-seconds of demand on red that ask for a switch"
    )
    mu: int = Field(
        default=3, ge=0, description="do not cut a green platoon of more than mu vehicles short"
    )
    step_s: float = Field(default=1.0, gt=0, description="decision period")


class Sotl(BasePolicy[SignalObservation, SignalAction]):
    """SOTL-platoon: each red phase accumulates the vehicles waiting for it, per second;
    when a red phase's account exceeds ``theta`` (and the minimum green is over) the
    light switches to it, unless a platoon of more than ``mu`` vehicles is close to the
    stop line on green (approximated by the green lanes' halting queue being 0 and
    their vehicle count above ``mu``). Accounts reset when a phase gets green."""

    id: ClassVar[str] = "signals/sotl-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "self-organising lights (Cools et al. 2008), SOTL-platoon"
    Params = SotlParams
    params: SotlParams

    def __init__(self, params: SotlParams | None = None) -> None:
        super().__init__(params)
        self._accounts: dict[int, np.ndarray] = {}
        self._last: dict[int, float] = {}

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        self._accounts.clear()
        self._last.clear()

    def act(self, obs: SignalObservation) -> SignalAction:
        p = self.params
        n = len(obs.green_s)
        account = self._accounts.get(obs.intersection)
        if account is None or len(account) != n:
            account = self._accounts[obs.intersection] = np.zeros(n)
        dt = obs.now_s - self._last.get(obs.intersection, obs.now_s)
        self._last[obs.intersection] = obs.now_s
        waiting = obs.phase_green.astype(np.float64) @ obs.vehicles
        account += waiting * dt
        account[obs.phase] = 0.0
        if obs.phase_elapsed_s < obs.min_green_s:
            return SignalAction(obs.phase, p.step_s)
        served = obs.phase_green[obs.phase]
        platoon = (
            served.any()
            and float(obs.queue[served].sum()) == 0.0
            and 0 < float(obs.vehicles[served].sum()) <= p.mu
        )
        best = int(np.argmax(account))
        if account[best] > p.theta and not platoon:
            account[best] = 0.0
            return SignalAction(best, p.step_s)
        return SignalAction(obs.phase, p.step_s)
