"""A learned adaptive signal controller: a linear score per phase, trained in the twin.

At every decision epoch of an intersection the policy scores each green phase from
what the observation says about the movements that phase serves, and shows the phase
with the highest score (ties keep the current one), asking again after ``step_s``::

    score(p) = w_red . [queue_p, moving_p, downstream_p]                  p not shown
    score(p) = w_green . [queue_p, moving_p, downstream_p]
               + w_bias + w_elapsed * elapsed/max_green + w_arrival * arrival_p  p shown

where, summed over the movements phase ``p`` serves, ``queue_p`` is the halting
vehicles on their lanes, ``moving_p`` the other vehicles on them, ``downstream_p`` the
vehicles per lane on their target edges, and ``arrival_p = exp(-gap / 3 s)`` with the
smallest gap since a vehicle crossed an upstream loop of the phase (SUMO's actuated
``max-gap`` as the time scale: 1 when a vehicle just passed, 0 when none came).

Nine numbers. They can express max-pressure (``w_red = w_green = (1, 1, -1)``, the
rest 0: the starting point of training), actuated-style gap-out (a large
``w_arrival``) and SOTL-like hysteresis (``w_bias``), and anything in between. The
weights are found by the cross-entropy method on mean time loss in the twin
(``python -m models.signals.train train``), stored as plain JSON and evaluated with
numpy: loading a model never runs code (no pickle).
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
from twin.core.policy import BasePolicy, PolicyParams
from twin.traffic.observation import SignalAction, SignalObservation

FloatArray = npt.NDArray[np.float64]

MODEL_FORMAT = "twin.signals.linear-phase-score"
MODEL_FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "grid4x4-learned-v0.json"

FEATURES = (
    "red_queue",
    "red_moving",
    "red_downstream",
    "green_queue",
    "green_moving",
    "green_downstream",
    "green_bias",
    "green_elapsed",
    "green_arrival",
)
"""Weights, in order: three for a phase not shown, six for the phase being shown."""

MAX_PRESSURE_WEIGHTS = (1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 0.0, 0.0, 0.0)
"""The weights under which the score is Varaiya's pressure: where training starts."""

ARRIVAL_GAP_S = 3.0
"""Time scale of ``arrival``: SUMO actuated ``max-gap`` (docs/PARAMETERS.md)."""

ELAPSED_CAP = 2.0
"""``elapsed / max_green`` is capped here: past max green the controller ends the phase."""


def default_model_path() -> Path:
    """The model shipped with the package (trained on ``traffic/grid4x4-v0``)."""
    # Next to this module, so it works from a checkout and from an installed wheel
    # (the wheel carries models/signals/data/*.json as package data).
    return Path(__file__).resolve().parent / "data" / DEFAULT_MODEL_NAME


@dataclass(frozen=True)
class SignalModel:
    """The nine weights of the phase score and where they came from.

    Attributes:
        weights: one per name in :data:`FEATURES`, finite.
        metadata: provenance and training/hold-out figures (free-form JSON).
    """

    weights: FloatArray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        array = np.array(self.weights, dtype=np.float64)
        if array.shape != (len(FEATURES),):
            raise ValueError(
                f"weights must have {len(FEATURES)} values (one per feature), got shape "
                f"{array.shape}"
            )
        if not np.isfinite(array).all():
            raise ValueError("weights must be finite")
        array.setflags(write=False)
        object.__setattr__(self, "weights", array)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "feature_names": list(FEATURES),
            "weights": self.weights.tolist(),
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignalModel:
        """Build from :meth:`to_dict`'s output; ``ValueError`` naming what is wrong."""
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
            names = [str(name) for name in data["feature_names"]]
            weights = data["weights"]
        except KeyError as error:
            raise ValueError(f"missing key {error.args[0]!r}") from None
        except TypeError as error:
            raise ValueError(f"malformed feature_names: {error}") from None
        if names != list(FEATURES):
            raise ValueError(
                f"model features {names} differ from the features this version computes "
                f"{list(FEATURES)}; retrain it"
            )
        if not isinstance(weights, list) or not all(
            isinstance(w, int | float) and not isinstance(w, bool) for w in weights
        ):
            raise ValueError("weights must be a list of numbers")
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise ValueError("metadata must be a JSON object")
        return cls(weights=np.asarray(weights, dtype=np.float64), metadata=dict(metadata))

    def save(self, path: str | Path) -> None:
        """Write the model as JSON, atomically (a crash never leaves half a file)."""
        save_json_model(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> SignalModel:
        """Read a model file: plain JSON, no code runs. Errors are one-line ``UserError``s."""
        where = str(path)
        data, digest = read_json_model(path)
        try:
            model = cls.from_dict(data)
        except ValueError as error:
            raise ModelFileError(where, f"invalid model: {error}") from None
        return replace(model, metadata={**model.metadata, "sha256": digest})


def phase_sums(obs: SignalObservation) -> list[list[float]]:
    """``[queue_p, moving_p, downstream_p]`` of every phase ``p``: sums over the
    movements it serves."""
    lanes = np.vstack((obs.queue, obs.vehicles - obs.queue, obs.downstream))
    sums: list[list[float]] = np.dot(obs.phase_green, lanes.T).tolist()
    return sums


def green_features(obs: SignalObservation) -> tuple[float, float, float]:
    """``(bias, elapsed, arrival)`` of the phase shown: 1, ``elapsed / max_green``
    (capped at 2) and ``exp(-gap / 3 s)`` over the lanes it serves (0 without one)."""
    gap = float(np.min(obs.gap_s, where=obs.phase_green[obs.phase], initial=math.inf))
    # NaN (no reading) counts as no vehicle; inf gives 0 too.
    arrival = 0.0 if math.isnan(gap) else math.exp(-max(gap, 0.0) / ARRIVAL_GAP_S)
    if obs.max_green_s > 0 and math.isfinite(obs.phase_elapsed_s):
        elapsed = min(max(obs.phase_elapsed_s / obs.max_green_s, 0.0), ELAPSED_CAP)
    else:
        elapsed = ELAPSED_CAP
    return 1.0, elapsed, arrival


def phase_scores(weights: Sequence[float], obs: SignalObservation) -> list[float]:
    """The score of every phase of ``obs`` under ``weights`` (see the module docstring).

    The per-phase sums are a handful of numbers, so the scores are plain Python
    arithmetic (the decision runs 16 times per simulated second on the 4x4 grid, and
    numpy's per-call overhead would dominate).
    """
    w = weights
    sums = phase_sums(obs)
    scores = [w[0] * q + w[1] * m + w[2] * d for q, m, d in sums]
    q, m, d = sums[obs.phase]
    bias, elapsed, arrival = green_features(obs)
    scores[obs.phase] = (
        w[3] * q + w[4] * m + w[5] * d + w[6] * bias + w[7] * elapsed + w[8] * arrival
    )
    return scores


class LearnedParams(PolicyParams):
    model_path: str | None = Field(
        default=None,
        description="model JSON (format twin.signals.linear-phase-score); none = the "
        "model shipped for the 4x4 grid",
    )
    step_s: float = Field(default=1.0, gt=0, description="decision period after min green")


class Learned(BasePolicy[SignalObservation, SignalAction]):
    """Show the phase with the highest learned score; see the module docstring.

    The model is read when the policy is built, so a missing or invalid file fails
    before the run starts. Stateless between decisions: the same observation always
    gets the same answer.

    Args:
        params: the policy's parameters.
        model: use these weights instead of reading ``params.model_path`` (training).
    """

    id: ClassVar[str] = "signals/learned-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "linear phase score trained by cross-entropy search in twin"
    Params = LearnedParams
    params: LearnedParams

    def __init__(self, params: LearnedParams | None = None, model: SignalModel | None = None):
        super().__init__(params)
        if model is None:
            model = SignalModel.load(self.params.model_path or default_model_path())
        self.model = model
        self._weights = tuple(float(w) for w in model.weights)

    def act(self, obs: SignalObservation) -> SignalAction:
        if obs.phase_elapsed_s < obs.min_green_s:
            # The controller would clamp a change anyway: ask again at min green.
            return SignalAction(obs.phase, max(obs.min_green_s - obs.phase_elapsed_s, 1e-3))
        scores = phase_scores(self._weights, obs)
        best = max(range(len(scores)), key=scores.__getitem__)
        if not scores[best] > scores[obs.phase]:  # ties (and NaN from bad input) keep it
            best = obs.phase
        return SignalAction(best, self.params.step_s)


def weights_table(weights: npt.ArrayLike) -> str:
    """The weights, one ``name value`` per line, for logs."""
    values = np.asarray(weights, dtype=np.float64).tolist()
    return "\n".join(f"  {n:18s} {w:+.3f}" for n, w in zip(FEATURES, values, strict=True))
