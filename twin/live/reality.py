"""What every reality a shadow is shown on shares: waiting for the shadow's decision, and
(for the demos) running a reality beside a ``twin shadow`` process on one broker."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from twin.live.broker import Broker
from twin.live.mqtt import MqttClient
from twin.live.session import STATUS_SUFFIX


def await_recommendation(
    client: MqttClient, epoch_s: float, wait_s: float
) -> dict[str, Any] | None:
    """The first recommendation made at or after ``epoch_s`` (the client subscribed to
    ``<prefix>/recommendation``), or None after ``wait_s`` wall seconds."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        received = client.get(timeout_s=0.5)
        if received is None:
            continue
        recommendation: dict[str, Any] = json.loads(received[1])
        if float(recommendation.get("t", -1.0)) >= epoch_s - 1e-6:
            return recommendation
    return None


def beside_shadow(
    broker: Broker, prefix: str, shadow_command: list[str], reality_command: list[str]
) -> dict[str, Any]:
    """Start the shadow, wait until it listens, run the reality to its end, wait for the
    shadow to end, and return the reality's last line (its KPIs, JSON). Both processes
    are stopped however this ends."""
    watcher = MqttClient(broker.host, broker.port, f"{prefix}-watcher")
    watcher.subscribe(f"{prefix}/{STATUS_SUFFIX}")
    shadow = subprocess.Popen(shadow_command, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        # The reality's first readings must find the shadow listening.
        if watcher.get(timeout_s=60.0) is None:
            raise SystemExit("the shadow did not start listening within 60 s")
        done = subprocess.run(  # noqa: S603 - our own command
            reality_command, capture_output=True, text=True, check=False, timeout=1800
        )
        if done.returncode != 0:
            raise SystemExit(f"the reality failed:\n{done.stderr}")
        shadow.wait(timeout=120)
    finally:
        watcher.close()
        if shadow.poll() is None:
            shadow.terminate()
            shadow.wait(timeout=10)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
