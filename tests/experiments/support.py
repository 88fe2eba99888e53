"""Small experiments and misbehaving policies for the runner's tests."""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path
from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.station import ADMIT, StationAction, StationObservation

STATION_EXPERIMENT = """
name = "station-admission"
seed = 11

[[scenarios]]
id = "station/mmc-v0"
horizon_s = {horizon_s}
warmup_s = 1000

[scenarios.params]
arrival_rate_per_s = 0.0166
servers = 2
service = {{ kind = "exponential", mean = 100.0 }}

[[arms]]
name = "admit-all"
policy = "admission/admit-all-v0"

[[arms]]
name = "cap-3"
policy = "admission/queue-cap-v0"
params = {{ max_queue = 3 }}

{extra}
"""


def station_experiment(
    directory: Path,
    *,
    replications: str = "[replications]\ncount = 4",
    extra: str = "",
    horizon_s: float = 20_000,
    name: str = "experiment.toml",
) -> Path:
    """An experiment of two admission arms on a small M/M/2 station (runs of ~10 ms)."""
    text = STATION_EXPERIMENT.format(horizon_s=horizon_s, extra=f"{replications}\n{extra}")
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


class Explodes(BasePolicy[StationObservation, StationAction]):
    """Raises at its first decision: a plug-in with a bug."""

    id: ClassVar[str] = "test/explodes"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        raise RuntimeError("policy bug: division by zero in the admission rule")


class KillsItsWorker(BasePolicy[StationObservation, StationAction]):
    """Kills the process it runs in, as the out-of-memory killer would."""

    id: ClassVar[str] = "test/kills-its-worker"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        os.kill(os.getpid(), signal.SIGKILL)
        return ADMIT
