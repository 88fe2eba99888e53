"""``twin shadow``: run a :class:`~twin.live.shadow.Shadow` on a live MQTT feed or on a
recording, record what it receives, and write what it found.

A session's directory holds ``recording/`` (every message received, in order: replay it
with ``--source <dir>/recording``), ``summary.json`` (message counts by reason, alarms,
the log of policy changes and corrections), ``recommendations.json``,
``divergence.parquet`` (each reading against the twin's value), ``estimates.parquet`` and
``divergence.png``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from twin.core.errors import UserError
from twin.live.messages import encode_json, readings_topic
from twin.live.mqtt import MqttClient, parse_source
from twin.live.recording import Recorder, replay
from twin.live.shadow import Shadow

logger = logging.getLogger("twin.live")

RECOMMENDATION_SUFFIX = "recommendation"
ALARM_SUFFIX = "alarm"
STATUS_SUFFIX = "status"


def messages_from_recording(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """Every message of a recording, in the order it was received."""
    if not Path(path).is_dir():
        raise UserError(f"{path}: --source is neither mqtt://... nor a recording directory")
    yield from replay(path)


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
    out.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(out / "recording")
    client: MqttClient | None = None
    try:
        if source.startswith("mqtt://"):
            where = parse_source(source)
            client = MqttClient(where.host, where.port, client_id)
            if not client.subscribe(readings_topic(where.topic), timeout_s=10.0):
                raise UserError(f"{source}: no MQTT broker answered at {where.host}:{where.port}")
            shadow.publish = _publisher(client, where.topic)
            # Tell whoever waits (a demo, a reality) that readings will now be heard.
            status_topic = f"{where.topic}/{STATUS_SUFFIX}"
            client.publish(status_topic, encode_json({"state": "listening"}))
            messages = messages_from_mqtt(client, idle_timeout_s, status_topic)
        else:
            messages = messages_from_recording(source)
        for topic, payload in messages:
            accepted = shadow.receive(payload)
            recorder.record(topic, payload, accepted)
            if shadow.run.now_s >= shadow.run.horizon_s:
                break
    finally:
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


def write_session(shadow: Shadow, summary: dict[str, Any], out: Path) -> None:
    """The session's files (see the module's docstring)."""
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out / "recommendations.json").write_bytes(encode_json(shadow.recommendations) + b"\n")
    divergence = pd.DataFrame(
        {
            "t_s": [d.at_s for d in shadow.divergences],
            "channel": [d.channel for d in shadow.divergences],
            "measured": [d.measured for d in shadow.divergences],
            "predicted": [d.predicted for d in shadow.divergences],
        }
    )
    divergence.to_parquet(out / "divergence.parquet", index=False)
    estimates = pd.DataFrame(
        [(t, name, value) for t, values in shadow.estimates for name, value in values.items()],
        columns=["t_s", "name", "value"],
    )
    estimates.to_parquet(out / "estimates.parquet", index=False)
    if not divergence.empty:
        plot_divergence(divergence, shadow, out / "divergence.png")


def plot_divergence(divergence: pd.DataFrame, shadow: Shadow, path: Path) -> None:
    """Top: how far the twin is from each measured channel, as a share of its alarm
    threshold (1 = alarm), for the channels that diverged most. Bottom: the estimated
    hidden quantities at each decision epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alarm = divergence["channel"].map({name: c.alarm for name, c in shadow.channels.items()})
    share = (divergence["measured"] - divergence["predicted"]).abs() / alarm
    frame = divergence.assign(share=share)
    worst = frame.groupby("channel")["share"].mean().sort_values(ascending=False).index[:6]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    highest = 2.0
    for name in worst:
        rows = frame[frame["channel"] == name]
        smooth = rows["share"].rolling(12, min_periods=1).mean()
        top.plot(rows["t_s"] / 3600.0, smooth, linewidth=1, label=name)
        highest = max(highest, float(smooth.quantile(0.99)))
    top.set_ylim(0.0, highest * 1.1)  # a start-up transient must not flatten the rest
    top.axhline(1.0, color="tab:red", linestyle="--", linewidth=1, label="alarm threshold")
    top.set_ylabel("|measured - twin| / threshold\n(mean of 12 readings)")
    top.legend(fontsize=7, ncol=2, loc="upper left")
    top.set_title(f"{shadow.run.config.id}: the twin against the measurements")
    # One kind of estimate (the first by name: "health", "inflow_veh_s", ...), a few series.
    series: dict[str, list[tuple[float, float]]] = {}
    kinds = sorted({name.rsplit("/", 1)[-1] for _, named in shadow.estimates for name in named})
    for t_s, named in shadow.estimates:
        for name, value in named.items():
            if kinds and name.rsplit("/", 1)[-1] == kinds[0]:
                series.setdefault(name, []).append((t_s / 3600.0, value))
    for name, points in sorted(series.items())[:8]:
        hours, values = zip(*points, strict=True)
        bottom.plot(hours, values, marker=".", linewidth=1, label=name)
    if series:
        bottom.set_ylabel(f"estimated {kinds[0]}")
        bottom.legend(fontsize=7, ncol=3, loc="upper left")
    for recommendation in shadow.recommendations:
        if recommendation["policy"] != recommendation["previous"]:
            bottom.axvline(recommendation["t"] / 3600.0, color="grey", linewidth=0.8)
            bottom.annotate(
                recommendation["policy"], (recommendation["t"] / 3600.0, 0.0), fontsize=7,
                rotation=90, va="bottom",
            )  # fmt: skip
    bottom.set_xlabel("time [h]")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
