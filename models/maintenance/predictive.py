"""Predictive maintenance: a learned failure-risk model weighed against the cost of stopping.

The model is a logistic regression on standardised sensor features, trained on histories
the twin generates itself (``python -m models.maintenance.train``). It is stored as plain
JSON and evaluated with numpy, so loading a model never runs code (no pickle, no
scikit-learn objects at inference).

Decision rule
-------------
At each sensor report of a running machine the policy predicts ``p``, the probability
that the machine fails within the next ``window_h`` hours, and maintains it when::

    p * C_failure > C_preventive

where ``C_failure`` is the expected cost of a corrective event (spare part + repair
labour + downtime cost over spare-part lead and repair time) and ``C_preventive`` the
cost of a preventive action (part + labour + downtime over its duration), both from
the scenario's ``PolicyContext.info`` unless overridden. Equivalently: warn when
``p > C_preventive / C_failure`` (0.206 on ``factory/flowline-v0``).

Both sides are costs over the same window: stopping now costs ``C_preventive``; not
stopping risks ``p * C_failure`` before the window ends. The window is the planning
horizon (a day by default: the next planned opportunity in a plant that plans
maintenance daily), not the decision epoch: the policy re-asks at every sensor report
(10 min on the flow line), and because ``p`` rises as a machine wears, the rule fires
at the first report where the window's risk crosses the threshold. The window must be
longer than the time it takes to act on a warning (a free technician, the end of the
current part, the lag of the sensor pipeline), or a warning would come too late. When
``window_h`` differs from the model's training horizon ``H``, ``p`` is rescaled
assuming a constant hazard inside the window, ``p_w = 1 - (1 - p_H) ** (window_h / H)``,
so the cost comparison is always made for the window it claims.

Not in the rule: the scrap a worn machine makes and margin lost downstream, unless
added through ``downtime_cost_per_h`` or the cost overrides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from models.model_files import ModelFileError, read_json_model, save_json_model
from twin.core.errors import ConfigError
from twin.core.policy import BasePolicy, PolicyContext, PolicyParams
from twin.core.units import SECONDS_PER_HOUR
from twin.factory.observation import (
    CONTINUE,
    DOWN_STATES,
    MAINTAIN,
    MaintenanceAction,
    MaintenanceObservation,
)

FloatArray = npt.NDArray[np.float64]

MODEL_FORMAT = "twin.maintenance.logistic-risk"
MODEL_FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "flowline-predictive-v0.json"

FEATURES = (
    "vibration_mm_s",
    "temperature_c",
    "pressure_bar",
    "operating_h",
    "parts_k",
    "vibration_trend_mm_s_per_h",
)
"""Model inputs, in order. ``parts_k``: parts since maintenance, in thousands."""

TREND_SMOOTHING = 0.05
"""EWMA weight of the newest vibration slope: about 20 reports (3 h on the flow line).
A single report-to-report change is mostly sensor noise (0.2 mm/s per sample against
wear of a few hundredths of a mm/s per hour), so the slope is smoothed."""


def default_model_path() -> Path:
    """The model shipped with the package (trained on ``factory/flowline-v0``)."""
    # Next to this module, so it works from a checkout and from an installed wheel
    # (the wheel must carry models/maintenance/data/*.json as package data).
    return Path(__file__).resolve().parent / "data" / DEFAULT_MODEL_NAME


# -- features ---------------------------------------------------------------------------


@dataclass
class _MachineTrack:
    vibration: float = math.nan
    temperature: float = math.nan
    pressure: float = math.nan
    trend: float = math.nan
    time_s: float = math.nan
    calendar_h: float = math.nan


class FeatureTracker:
    """Turns the stream of observations into feature vectors: one function for training
    and deployment, so the model sees in service exactly what it was trained on.

    Per machine it carries the last valid reading of each channel forward over NaN
    (a sensor dropout), and keeps a smoothed vibration slope. A reading that was never
    delivered stays NaN; :meth:`RiskModel.probability` imputes the training mean for it.
    The slope restarts after a repair or maintenance (``calendar_h`` falls), so a new
    machine does not inherit the old one's trend.
    """

    def __init__(self) -> None:
        self._tracks: dict[int, _MachineTrack] = {}

    def reset(self) -> None:
        """Forget every machine (a new run)."""
        self._tracks = {}

    def update(self, obs: MaintenanceObservation) -> FloatArray:
        """Features of ``obs`` (in :data:`FEATURES` order), updating the machine's state.

        Call it for every observation, the machine up or down, in time order.
        """
        track = self._tracks.get(obs.machine)
        if track is None or obs.calendar_h < track.calendar_h:
            track = _MachineTrack()
            self._tracks[obs.machine] = track
        previous_vibration, previous_s = track.vibration, track.time_s
        track.vibration = _latest(obs.vibration_mm_s, track.vibration)
        track.temperature = _latest(obs.temperature_c, track.temperature)
        track.pressure = _latest(obs.pressure_bar, track.pressure)
        dt_h = (obs.now_s - previous_s) / SECONDS_PER_HOUR
        if not math.isnan(obs.vibration_mm_s) and not math.isnan(previous_vibration) and dt_h > 0:
            slope = (track.vibration - previous_vibration) / dt_h
            track.trend = (
                slope
                if math.isnan(track.trend)
                else track.trend + TREND_SMOOTHING * (slope - track.trend)
            )
        if not math.isnan(obs.vibration_mm_s):
            track.time_s = obs.now_s
        track.calendar_h = obs.calendar_h
        return np.array(
            [
                track.vibration,
                track.temperature,
                track.pressure,
                obs.operating_h,
                obs.parts / 1000.0,
                track.trend,
            ]
        )


def _latest(value: float, previous: float) -> float:
    return previous if math.isnan(value) else value


def decidable(obs: MaintenanceObservation, min_operating_h: float) -> bool:
    """Whether the policy decides on ``obs``: the machine runs and has run long enough.

    For the first operating hour after a restore the edge moving average still mixes in
    readings from before it, which would look like a worn machine.
    """
    return obs.state not in DOWN_STATES and obs.operating_h >= min_operating_h


# -- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskModel:
    """Logistic failure-risk model: ``p = sigmoid(intercept + coef . (x - mean) / scale)``.

    Attributes:
        feature_names: the features, in the order of the arrays.
        mean: per-feature training mean (also the value a missing reading is imputed).
        scale: per-feature training standard deviation (> 0).
        coef: per-feature coefficient on the standardised feature.
        intercept: the bias term.
        horizon_s: ``p`` is the probability of a failure within this many seconds.
        metadata: provenance and hold-out metrics (free-form JSON).
    """

    feature_names: tuple[str, ...]
    mean: FloatArray
    scale: FloatArray
    coef: FloatArray
    intercept: float
    horizon_s: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.feature_names)
        for name in ("mean", "scale", "coef"):
            array = np.array(getattr(self, name), dtype=np.float64)
            if array.shape != (n,):
                raise ValueError(
                    f"{name} must have {n} values (one per feature), got {array.shape}"
                )
            if not np.isfinite(array).all():
                raise ValueError(f"{name} must be finite")
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        if not (self.scale > 0).all():
            raise ValueError("scale must be > 0 for every feature")
        if not math.isfinite(self.intercept):
            raise ValueError("intercept must be finite")
        if not (math.isfinite(self.horizon_s) and self.horizon_s > 0):
            raise ValueError(f"horizon_s must be a positive number, got {self.horizon_s}")

    @property
    def horizon_h(self) -> float:
        return self.horizon_s / SECONDS_PER_HOUR

    def probability(self, features: npt.ArrayLike) -> FloatArray:
        """Failure probability within the horizon, for one feature vector or a matrix.

        NaN features are imputed with the training mean (standardised value 0).
        """
        x = np.asarray(features, dtype=np.float64)
        z = (x - self.mean) / self.scale
        z = np.where(np.isnan(z), 0.0, z)
        return _sigmoid(z @ self.coef + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "scaler_mean": self.mean.tolist(),
            "scaler_scale": self.scale.tolist(),
            "coefficients": self.coef.tolist(),
            "intercept": self.intercept,
            "horizon_s": self.horizon_s,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskModel:
        """Build from :meth:`to_dict`'s output; ``ValueError`` on anything else."""
        if not isinstance(data, Mapping):
            raise ValueError("expected a JSON object")
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model (format {data.get('format')!r})")
        if data.get("format_version") != MODEL_FORMAT_VERSION:
            raise ValueError(
                f"format_version {data.get('format_version')!r} is not supported; "
                f"this twin reads version {MODEL_FORMAT_VERSION}"
            )
        try:
            names = tuple(str(name) for name in data["feature_names"])
            model = cls(
                feature_names=names,
                mean=np.asarray(data["scaler_mean"], dtype=np.float64),
                scale=np.asarray(data["scaler_scale"], dtype=np.float64),
                coef=np.asarray(data["coefficients"], dtype=np.float64),
                intercept=float(data["intercept"]),
                horizon_s=float(data["horizon_s"]),
                metadata=dict(data.get("metadata") or {}),
            )
        except KeyError as error:
            raise ValueError(f"missing key {error.args[0]!r}") from None
        except TypeError as error:
            raise ValueError(f"malformed value: {error}") from None
        return model

    def save(self, path: str | Path) -> None:
        """Write the model as JSON, atomically (a crash never leaves half a file)."""
        save_json_model(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path, features: Sequence[str] = FEATURES) -> RiskModel:
        """Read a model file: plain JSON, no code runs. Errors are one-line ``UserError``s.

        Args:
            path: the JSON file.
            features: the feature names this code computes; the file must match them.
        """
        where = str(path)
        data, digest = read_json_model(path)
        try:
            model = cls.from_dict(data)
        except ValueError as error:
            raise ModelFileError(where, f"invalid model: {error}") from None
        if model.feature_names != tuple(features):
            raise ModelFileError(
                where,
                f"model features {list(model.feature_names)} differ from the features this "
                f"version computes {list(features)}; retrain it",
            )
        return replace(model, metadata={**model.metadata, "sha256": digest})


def _sigmoid(score: npt.ArrayLike) -> FloatArray:
    # exp of a negative number only, so no overflow for large |score|.
    s = np.asarray(score, dtype=np.float64)
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# -- the decision rule ------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionCosts:
    """The two costs the rule weighs, in the ledger's currency.

    Attributes:
        failure: expected cost of one corrective event.
        preventive: cost of one preventive action.
    """

    failure: float
    preventive: float

    @property
    def threshold(self) -> float:
        """The probability above which maintaining is cheaper: ``preventive / failure``."""
        return self.preventive / self.failure


def decision_costs(
    info: Mapping[str, Any],
    *,
    failure_cost: float | None = None,
    preventive_cost: float | None = None,
    downtime_cost_per_h: float | None = None,
    source: str = "<config>",
    key_path: str = "policy.params",
) -> DecisionCosts:
    """``C_failure`` and ``C_preventive`` from the scenario's facts (``PolicyContext.info``).

    ``C_failure = repair part + wage * repair time + downtime rate * (spare-part lead +
    repair time)``; ``C_preventive = preventive part + wage * preventive time + downtime
    rate * preventive time``. Mean times are used; technician queueing is left out.
    Overrides replace a whole cost, or the downtime rate. ``source`` and ``key_path``
    say where the overrides come from, for the error message.

    Raises:
        ConfigError: a cost the scenario does not give and no override supplies.
    """
    try:
        rate = (
            float(info.get("downtime_cost_per_h", 0.0))
            if downtime_cost_per_h is None
            else downtime_cost_per_h
        )
        if failure_cost is None:
            repair_h = float(info["repair_mean_s"]) / SECONDS_PER_HOUR
            lead_h = float(info["spare_part_lead_mean_s"]) / SECONDS_PER_HOUR
            failure_cost = (
                float(info["repair_part_cost"])
                + float(info["wage_per_h"]) * repair_h
                + rate * (lead_h + repair_h)
            )
        if preventive_cost is None:
            preventive_h = float(info["preventive_mean_s"]) / SECONDS_PER_HOUR
            preventive_cost = (
                float(info["preventive_part_cost"])
                + (float(info["wage_per_h"]) + rate) * preventive_h
            )
    except KeyError as error:
        raise ConfigError(
            source,
            key_path,
            f"{Predictive.id} needs the scenario fact {error.args[0]!r} to price maintenance; "
            "this scenario does not give it: set failure_cost and preventive_cost",
        ) from None
    if not failure_cost > 0 or not preventive_cost >= 0:
        raise ConfigError(
            source,
            key_path,
            f"failure cost must be > 0 and preventive cost >= 0, got {failure_cost} and "
            f"{preventive_cost}",
        )
    return DecisionCosts(failure=failure_cost, preventive=preventive_cost)


def should_maintain(probability: float, costs: DecisionCosts) -> bool:
    """The rule: maintain when the expected failure cost exceeds the cost of stopping."""
    return probability * costs.failure > costs.preventive


def window_probability(p_horizon: float, horizon_h: float, window_h: float) -> float:
    """Failure probability within ``window_h`` from one within ``horizon_h``.

    Assumes a constant hazard inside the window: ``1 - (1 - p) ** (window / horizon)``.
    """
    if window_h == horizon_h:
        return p_horizon
    return float(-math.expm1(window_h / horizon_h * math.log1p(-min(p_horizon, 1.0 - 1e-15))))


# -- the policy -------------------------------------------------------------------------


class PredictiveParams(PolicyParams):
    model_path: str | None = Field(
        default=None, description="risk model JSON; none = the model shipped for the flow line"
    )
    failure_cost: float | None = Field(
        default=None, gt=0, description="cost of a corrective event; none = from the scenario"
    )
    preventive_cost: float | None = Field(
        default=None, ge=0, description="cost of a preventive action; none = from the scenario"
    )
    downtime_cost_per_h: float | None = Field(
        default=None,
        ge=0,
        description="cost per machine-hour down (add lost margin here); none = the scenario's",
    )
    window_h: float | None = Field(
        default=None, gt=0, description="risk window of the rule; none = the model's horizon"
    )
    min_operating_h: float = Field(
        default=1.0,
        ge=0,
        description="no decision until a machine has run this long since its last service",
    )


class Predictive(BasePolicy[MaintenanceObservation, MaintenanceAction]):
    """Maintain a machine when its predicted failure risk costs more than a stop.

    See the module docstring for the rule. The model is read when the policy is built,
    so a missing or invalid file fails before the run starts.
    """

    id: ClassVar[str] = "maintenance/predictive-v0"
    domain: ClassVar[str] = "factory.maintenance"
    description: ClassVar[str] = "maintain when learned failure risk x failure cost > PM cost"
    Params = PredictiveParams
    params: PredictiveParams

    def __init__(self, params: PredictiveParams | None = None) -> None:
        super().__init__(params)
        path = self.params.model_path or default_model_path()
        self.model = RiskModel.load(path)
        self.window_h = self.params.window_h or self.model.horizon_h
        self.features = FeatureTracker()
        self.costs: DecisionCosts | None = None
        self.last_probability: dict[int, float] = {}
        """The latest predicted risk per machine (within ``window_h``), for inspection."""

    def reset(self, context: PolicyContext) -> None:
        super().reset(context)
        p = self.params
        self.costs = decision_costs(
            context.info,
            failure_cost=p.failure_cost,
            preventive_cost=p.preventive_cost,
            downtime_cost_per_h=p.downtime_cost_per_h,
        )
        self.features.reset()
        self.last_probability = {}

    def act(self, obs: MaintenanceObservation) -> MaintenanceAction:
        x = self.features.update(obs)  # every report, so the trend state stays current
        if not decidable(obs, self.params.min_operating_h):
            return CONTINUE
        if self.costs is None:
            raise RuntimeError(f"{self.id}: act() called before reset()")
        p_model = float(self.model.probability(x))
        p = window_probability(p_model, self.model.horizon_h, self.window_h)
        self.last_probability[obs.machine] = p
        return MAINTAIN if should_maintain(p, self.costs) else CONTINUE
