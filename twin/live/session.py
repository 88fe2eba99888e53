"""``twin shadow``: run a :class:`~twin.live.shadow.Shadow` on a live MQTT feed or on a
recording, record what it receives, and write what it found.

A session's directory holds ``recording/`` (every message received, in order: replay it
with ``--source <dir>/recording``), ``summary.json`` (message counts by reason, alarms,
the log of policy changes and corrections), ``recommendations.json``,
``divergence.parquet`` (each reading against the twin's value), ``estimates.parquet``,
``channels.json`` (unit and alarm threshold of each channel), ``divergence.png`` and
``branches.png``. All but the pictures are rewritten at every decision, so ``twin viz
--shadow`` can show a session while it runs.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from twin.core.errors import UserError
from twin.live.messages import encode_json, readings_topic
from twin.live.mqtt import MqttClient, parse_source
from twin.live.plots import branches_figure, divergence_figure
from twin.live.recording import Recorder, replay
from twin.live.shadow import Shadow

logger = logging.getLogger("twin.live")

RECOMMENDATION_SUFFIX = "recommendation"
ALARM_SUFFIX = "alarm"
STATUS_SUFFIX = "status"


def messages_from_mqtt(
    client: MqttClient, idle_timeout_s: float, status_topic: str
) -> Iterator[tuple[str, bytes]]:
    """Messages as they arrive, until none came for ``idle_timeout_s`` wall seconds.
    After each reconnection the shadow says again that it is listening."""
    last = time.monotonic()
    reconnects = client.reconnects
    while True:
        if client.reconnects != reconnects and client.connected:
            reconnects = client.reconnects
            client.publish(status_topic, encode_json({"state": "listening", "again": True}))
        received = client.get(timeout_s=0.5)
        if received is not None:
            last = time.monotonic()
            yield received
        elif time.monotonic() - last > idle_timeout_s:
            logger.info("no message for %.0f s: the session ends", idle_timeout_s)
            return


def run_session(
    shadow: Shadow,
    source: str,
    out: Path,
    *,
    idle_timeout_s: float = 30.0,
    client_id: str = "twin-shadow",
) -> dict[str, Any]:
    """Feed ``shadow`` from ``source`` until it ends (the twin's horizon, the recording's
    end, or ``idle_timeout_s`` without a message), then write the session to ``out``.

    With an MQTT source, recommendations and alarms are published on
    ``<prefix>/recommendation`` and ``<prefix>/alarm``.
    """
    client: MqttClient | None = None
    recorder: Recorder | None = None
    try:
        # The source is checked (a broker answers, a recording exists) before anything
        # is written: a wrong --source leaves no session behind.
        if source.startswith("mqtt://"):
            where = parse_source(source)
            client = MqttClient(where.host, where.port, client_id)
            if not client.subscribe(readings_topic(where.topic), timeout_s=10.0):
                raise UserError(f"{source}: no MQTT broker answered at {where.host}:{where.port}")
            shadow.publish = _publisher(client, where.topic)
            status_topic = f"{where.topic}/{STATUS_SUFFIX}"
            messages = messages_from_mqtt(client, idle_timeout_s, status_topic)
        else:
            if not Path(source).is_dir():
                raise UserError(
                    f"{source}: --source is neither mqtt://... nor a recording directory"
                )
            messages = replay(source)
        out.mkdir(parents=True, exist_ok=True)
        recorder = Recorder(out / "recording")
        if client is not None:
            # Tell whoever waits (a demo, a reality) that readings will now be heard.
            client.publish(status_topic, encode_json({"state": "listening"}))
        decided = 0
        for topic, payload in messages:
            accepted = shadow.receive(payload)
            recorder.record(topic, payload, accepted)
            if len(shadow.recommendations) != decided:  # what a viewer of the session sees
                decided = len(shadow.recommendations)
                write_session(shadow, shadow.summary(), out, plots=False)
            if shadow.run.now_s >= shadow.run.horizon_s:
                break
    finally:
        if recorder is not None:
            recorder.close()
        if client is not None:
            client.close()
    summary = shadow.summary()
    if client is not None:
        summary["reconnects"] = client.reconnects
    write_session(shadow, summary, out)
    return summary


def _publisher(client: MqttClient, prefix: str) -> Any:
    def publish(kind: str, message: dict[str, Any]) -> None:
        suffix = RECOMMENDATION_SUFFIX if kind == "recommendation" else ALARM_SUFFIX
        if not client.publish(f"{prefix}/{suffix}", encode_json(message)):
            logger.warning("could not publish a %s (broker unreachable); kept in the session", kind)

    return publish


def write_session(
    shadow: Shadow, summary: dict[str, Any], out: Path, *, plots: bool = True
) -> None:
    """The session's files (see the module's docstring); each replaced whole, so a viewer
    reading them while the session runs never sees half a file."""
    _replace(out / "summary.json", (json.dumps(summary, indent=2, default=str) + "\n").encode())
    _replace(out / "recommendations.json", encode_json(shadow.recommendations) + b"\n")
    channels = {name: {"unit": c.unit, "alarm": c.alarm} for name, c in shadow.channels.items()}
    _replace(out / "channels.json", encode_json(channels) + b"\n")
    divergence = divergence_frame(shadow)
    _replace(out / "divergence.parquet", _parquet(divergence))
    estimates = pd.DataFrame(
        [(t, name, value) for t, values in shadow.estimates for name, value in values.items()],
        columns=["t_s", "name", "value"],
    )
    _replace(out / "estimates.parquet", _parquet(estimates))
    if plots:
        alarms = {name: c.alarm for name, c in shadow.channels.items()}
        title = shadow.run.config.id
        divergence_figure(divergence, alarms, estimates, shadow.recommendations, title).savefig(
            out / "divergence.png", dpi=110
        )
        branches_figure(shadow.recommendations).savefig(out / "branches.png", dpi=110)


def divergence_frame(shadow: Shadow) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "t_s": [d.at_s for d in shadow.divergences],
            "channel": [d.channel for d in shadow.divergences],
            "measured": [d.measured for d in shadow.divergences],
            "predicted": [d.predicted for d in shadow.divergences],
        }
    )


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _replace(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_bytes(data)
    os.replace(staging, path)
