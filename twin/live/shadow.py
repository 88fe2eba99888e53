"""Shadow mode: a twin that runs beside a real system, fed by its measurements.

Every message goes through the :class:`~twin.live.messages.Intake` (bad readings are
counted and logged, never believed). The twin's clock follows the readings' clock: it
advances to each reading's time before taking it, so a live feed paces it and a
recording replays as fast as it can be read. For each reading the twin's own value of
that channel is compared with the measured one (divergence; an alarm above the
channel's threshold). The domain's estimator takes every reading; at each decision
epoch its estimate corrects the twin's state, and the twin forks into what-if branches:
every candidate policy, on ``replications`` shared possible futures, over the
look-ahead. The candidate with the best mean paired difference against the current
policy on the chosen KPI is recommended when that difference is significant (a paired
t-interval excludes zero); otherwise the current policy stays. The twin follows its own
recommendation, and the recommendation (with the decisions the best branch made in the
next epoch) is published.

A session is a pure function of its config, seed, options and the messages it received
in order: replaying its recording gives the same recommendations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from twin.core.errors import UserError
from twin.core.live import Channel, LiveInterface, Reading, StateEstimator
from twin.live.branches import Branch, BranchResult, ForkMethod, LiveRun
from twin.live.messages import Intake

Publish = Callable[[str, dict[str, Any]], None]
"""``(kind, message)``: ``kind`` is ``"recommendation"`` or ``"alarm"``."""


@dataclass(frozen=True)
class ShadowOptions:
    """How a shadow decides.

    Attributes:
        candidates: the policies the what-if branches try (ids, default params).
        kpi: the KPI they are compared on.
        decision_period_s: twin seconds between decision epochs.
        correction_period_s: twin seconds between corrections of its state from the
            estimate (also made at every decision epoch); none: at decision epochs only.
        look_ahead_s: how far each branch runs past the epoch.
        replications: possible futures per candidate (paired across candidates).
        confidence: of the paired t-interval that must exclude zero to switch.
        alarm_after: consecutive readings of a channel beyond its threshold that raise an
            alarm (one spike of a noisy sensor is not a lost twin; a stuck or drifting
            sensor, or a twin that no longer follows the plant, is).
        settle_readings: the first readings of each channel never count towards an
            alarm: a sensor pipeline's filters start empty (a moving average of 3 readings
            reads 0, then a third, then two thirds of the value).
        estimator: options for the domain's estimator (particles, seed).
        fork: ``"auto"``, ``"process"`` or ``"replay"`` (see :class:`LiveRun`).
    """

    candidates: tuple[str, ...]
    kpi: str
    decision_period_s: float
    look_ahead_s: float
    correction_period_s: float | None = None
    replications: int = 4
    confidence: float = 0.95
    alarm_after: int = 3
    settle_readings: int = 3
    estimator: Mapping[str, Any] = field(default_factory=dict)
    fork: ForkMethod = "auto"


@dataclass(frozen=True)
class Divergence:
    """One reading against the twin's value of its channel."""

    at_s: float
    channel: str
    measured: float
    predicted: float

    @property
    def gap(self) -> float:
        return abs(self.measured - self.predicted)


@dataclass(frozen=True)
class Comparison:
    """A candidate against the current policy: mean and half-width of the paired
    difference (candidate - current) of the KPI over the look-ahead's futures."""

    policy: str
    mean: float
    mean_difference: float
    half_width: float


class Shadow:
    """A live run that follows a real system's readings and recommends a policy.

    Args:
        run: the twin, built and at the time the real system starts.
        options: how it decides.
        publish: where recommendations and alarms go (an MQTT topic); none: kept only.
    """

    def __init__(
        self, run: LiveRun, options: ShadowOptions, publish: Publish | None = None
    ) -> None:
        if not options.candidates:
            raise ValueError("a shadow needs at least one candidate policy")
        if options.decision_period_s <= 0 or options.look_ahead_s <= 0:
            raise ValueError("decision_period_s and look_ahead_s must be > 0")
        self.run = run
        self.options = options
        self.publish = publish
        domain = run.registry.domain(run.prepared.scenario.domain)
        if domain.live is None:
            raise ValueError(
                f"domain {domain.name!r} cannot be shadowed: it declares no live interface"
            )
        self.better = domain.better(options.kpi) or "lower"
        self.live: LiveInterface[Any] = domain.live()
        self.model = domain.model_of(run.world)
        self.channels: dict[str, Channel] = {c.name: c for c in self.live.channels(self.model)}
        self.intake = Intake(self.channels)
        self.estimator: StateEstimator = self.live.estimator(self.model, options.estimator)
        self.divergences: list[Divergence] = []
        self.alarms: dict[str, int] = {}
        self._beyond: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._predicted: dict[str, float] = {}
        self._predicted_at = math.nan
        self.recommendations: list[dict[str, Any]] = []
        self.estimates: list[tuple[float, dict[str, float]]] = []
        self._check_kpi()
        self.next_epoch_s = run.now_s + options.decision_period_s
        period = options.correction_period_s
        self.next_correction_s = run.now_s + period if period else math.inf

    # -- readings ----------------------------------------------------------------------

    def receive(self, payload: bytes) -> int:
        """Take one message; return how many of its readings were accepted."""
        readings = sorted(self.intake.accept(payload), key=lambda r: r.at_s)
        taken = 0
        for reading in readings:
            if reading.at_s > self.run.horizon_s:
                continue  # past the twin's horizon: the session is over for this channel
            self._advance(reading.at_s)
            self._compare(reading)
            self.estimator.ingest(reading)
            taken += 1
        return taken

    def _advance(self, until_s: float) -> None:
        # Corrections and decision epochs fall between readings: each one crossed, in order.
        while True:
            due_s = min(self.next_epoch_s, self.next_correction_s)
            if due_s > until_s or due_s > self.run.horizon_s:
                break
            self.run.advance(due_s)
            if due_s == self.next_epoch_s:
                self.decide()
                self.next_epoch_s += self.options.decision_period_s
            else:
                self.correct()
            if due_s == self.next_correction_s:
                self.next_correction_s += self.options.correction_period_s or math.inf
        if until_s > self.run.now_s:
            self.run.advance(until_s)

    def correct(self) -> None:
        """Put the estimator's estimate into the twin now."""
        correction = self.estimator.correction(self.run.now_s)
        if correction:
            self.run.correct(correction)
            self._predicted_at = math.nan  # the twin's state changed under the prediction

    def _compare(self, reading: Reading) -> None:
        # One prediction of every channel serves all readings taken at the same twin time
        # (a batch is mostly so): predicting per reading cost channels x readings.
        if self._predicted_at != self.run.now_s:
            self._predicted = self.live.predict(self.model)
            self._predicted_at = self.run.now_s
        predicted = self._predicted.get(reading.channel, math.nan)
        entry = Divergence(reading.at_s, reading.channel, reading.value, predicted)
        self.divergences.append(entry)
        channel = self.channels[reading.channel]
        seen = self._seen[reading.channel] = self._seen.get(reading.channel, 0) + 1
        settled = seen > self.options.settle_readings
        beyond = settled and math.isfinite(predicted) and entry.gap > channel.alarm
        streak = self._beyond.get(reading.channel, 0) + 1 if beyond else 0
        self._beyond[reading.channel] = streak
        if streak == self.options.alarm_after:  # once per run of readings beyond
            self.alarms[reading.channel] = self.alarms.get(reading.channel, 0) + 1
            if self.publish is not None:
                self.publish(
                    "alarm",
                    {
                        "t": reading.at_s,
                        "channel": reading.channel,
                        "measured": reading.value,
                        "predicted": predicted,
                        "threshold": channel.alarm,
                        "unit": channel.unit,
                    },
                )

    # -- decisions ---------------------------------------------------------------------

    def decide(self) -> dict[str, Any]:
        """Correct the twin from the estimate, fork the candidates, recommend one."""
        now_s = self.run.now_s
        self.correct()
        estimates = self.estimator.estimates(now_s)
        self.estimates.append((now_s, estimates))
        end_s = min(now_s + self.options.look_ahead_s, self.run.horizon_s)
        current = self.run.switch.policy.id
        policies = [current, *(p for p in self.options.candidates if p != current)]
        epoch_end_s = now_s + self.options.decision_period_s
        # The current policy's branches keep its running instance (and its memory).
        branches = [
            Branch(
                policy,
                None if policy == current else policy,
                future=k,
                record_until_s=epoch_end_s,
            )
            for policy in policies
            for k in range(self.options.replications)
        ]
        results = self.run.fork(branches, end_s, method=self.options.fork)
        by_policy = {
            policy: [self._kpi(r) for r in results if r.branch.name == policy]
            for policy in policies
        }
        comparisons = [
            self._compare_policy(policy, by_policy[policy], by_policy[current])
            for policy in policies
        ]
        chosen = self._choose(current, comparisons)
        decisions = next(r.decisions for r in results if r.branch.name == chosen)
        if chosen != current:
            self.run.switch_policy(chosen)
        recommendation = {
            "t": now_s,
            "policy": chosen,
            "previous": current,
            "kpi": self.options.kpi,
            "better": self.better,
            "look_ahead_s": end_s - now_s,
            "replications": self.options.replications,
            "branches": [
                {
                    "policy": c.policy,
                    "mean": c.mean,
                    "difference": c.mean_difference,
                    "half_width": c.half_width,
                }
                for c in comparisons
            ],
            "estimates": estimates,
            "decisions": [{"entity": d.entity, "t": d.at_s, "action": d.action} for d in decisions],
        }
        self.recommendations.append(recommendation)
        if self.publish is not None:
            self.publish("recommendation", recommendation)
        return recommendation

    def _check_kpi(self) -> None:
        # One look-ahead names the KPIs: a wrong --kpi is refused before the session
        # starts, not at its first decision.
        until_s = min(self.run.now_s + self.options.look_ahead_s, self.run.horizon_s)
        (probe,) = self.run.fork([Branch("kpi names")], until_s, method=self.options.fork)
        self._kpi(probe)

    def _kpi(self, result: BranchResult) -> float:
        kpis = result.result.kpis
        if self.options.kpi not in kpis:
            known = ", ".join(sorted(kpis))
            raise UserError(f"--kpi: no KPI {self.options.kpi!r}; this scenario reports {known}")
        return float(kpis[self.options.kpi].value)

    def _compare_policy(
        self, policy: str, values: Sequence[float], current: Sequence[float]
    ) -> Comparison:
        differences = np.asarray(values) - np.asarray(current)
        mean_difference = float(differences.mean())
        if len(differences) < 2 or float(differences.std(ddof=1)) == 0.0:
            half_width = 0.0
        else:
            t = float(stats.t.ppf(0.5 + self.options.confidence / 2, len(differences) - 1))
            half_width = t * float(differences.std(ddof=1)) / math.sqrt(len(differences))
        return Comparison(policy, float(np.mean(values)), mean_difference, half_width)

    def _choose(self, current: str, comparisons: Sequence[Comparison]) -> str:
        sign = -1.0 if self.better == "lower" else 1.0
        # Gain = how much better than the current policy; significant when the whole
        # interval is on the better side of zero.
        best = max(comparisons, key=lambda c: sign * c.mean_difference)
        gain = sign * best.mean_difference
        if best.policy == current or gain <= 0 or gain - best.half_width <= 0:
            return current
        return best.policy

    # -- the end -----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Counts, alarms and recommendations of the session so far."""
        gaps: dict[str, list[float]] = {}
        for entry in self.divergences:
            if math.isfinite(entry.predicted):
                gaps.setdefault(entry.channel, []).append(entry.gap)
        return {
            "scenario": self.run.config.id,
            "seed": self.run.seed,
            "now_s": self.run.now_s,
            "messages": self.intake.counts(),
            "alarms": dict(sorted(self.alarms.items())),
            "divergence_mean": {name: float(np.mean(g)) for name, g in sorted(gaps.items())},
            "recommendations": len(self.recommendations),
            "policy_now": self.run.switch.policy.id,
            "log": [entry.to_json() for entry in self.run.log],
        }
