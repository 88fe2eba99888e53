"""An MQTT client for the live twin (paho-mqtt 2.x) that survives a broker restart.

Readings and recommendations travel with QoS 1, at least once: the broker keeps a message
until the receiver acknowledges it, so a dropped connection loses nothing in flight, at
the price of an occasional redelivery. :class:`twin.live.messages.Intake` drops a
redelivered reading as a "duplicate" (same channel and time as the last one accepted).
QoS 2 (exactly once) would cost two more round trips a message for nothing the intake
does not already catch.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from twin.core.errors import UserError

_EXAMPLE = "mqtt://127.0.0.1:1883/<prefix>"


@dataclass(frozen=True)
class MqttSource:
    """Where a real system publishes: a broker and a topic prefix.

    Attributes:
        host: the broker's host name or address.
        port: its TCP port.
        topic: the topic prefix; readings arrive on ``<topic>/readings``.
    """

    host: str
    port: int
    topic: str

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}/{self.topic}"


def parse_source(text: str) -> MqttSource:
    """``mqtt://<host>:<port>/<prefix>`` as an :class:`MqttSource`; UserError otherwise.

    Any host is allowed, but the connection is plain MQTT (no TLS, no password): use a
    host other than 127.0.0.1 only on a network you trust.
    """
    bad = f"{text!r} is not an MQTT source: expected {_EXAMPLE}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:  # a port that is not a number or beyond 65535
        raise UserError(f"{bad} (port: {error})") from None
    if parts.scheme != "mqtt":
        raise UserError(f"{bad} (scheme {parts.scheme or 'missing'!r}; only mqtt://)")
    if parts.username is not None or parts.password is not None:
        raise UserError(f"{bad} (user names and passwords are not supported)")
    if not parts.hostname:
        raise UserError(f"{bad} (no host)")
    if port is None:
        raise UserError(f"{bad} (no port; the usual one is 1883)")
    if not 1 <= port <= 65535:
        raise UserError(f"{bad} (port {port} outside 1..65535)")
    if parts.query or parts.fragment:
        raise UserError(f"{bad} (no ?query or #fragment)")
    topic = parts.path.removeprefix("/")
    if not topic:
        raise UserError(f"{bad} (no topic prefix after the port)")
    if "+" in topic or "#" in topic or "" in topic.split("/"):
        raise UserError(f"{bad} (topic {topic!r}: no wildcards + or #, no empty levels)")
    return MqttSource(host=parts.hostname, port=port, topic=topic)


class MqttClient:
    """A connected MQTT client that reconnects and re-subscribes by itself.

    Args:
        host: the broker's host.
        port: its port.
        client_id: this client's id on the broker (two clients with the same id make
            the broker drop one of them).
        connect_timeout_s: how long to wait for the first connection.

    paho's network thread receives messages into a thread-safe queue, unbounded: the
    caller must keep taking them out with :meth:`get`. Publish from one thread (the
    counters ``published`` and ``publish_failures`` are not locked). Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(
        self, host: str, port: int, client_id: str, *, connect_timeout_s: float = 10.0
    ) -> None:
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        # Retry after 1 s, then 2 s, then every 2 s: a restarted local broker is back
        # within a second or two, and a shadow session should lose as little as it can.
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._inbox: queue.Queue[tuple[str, bytes, float]] = queue.Queue()
        self._topics: list[str] = []
        self._lock = threading.Lock()
        # Set while connected with every subscription acknowledged.
        self._connected = threading.Event()
        # Subscriptions sent and not yet acknowledged: message id -> event to set.
        self._pending: dict[int, threading.Event] = {}
        self._acked_early: set[int] = set()
        self._connects = 0
        self.published = 0
        self.publish_failures = 0
        self._closed = False
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(connect_timeout_s):
            self.close()
            raise UserError(
                f"cannot connect to the MQTT broker at {host}:{port} within "
                f"{connect_timeout_s:g} s: is it running?"
            )

    @property
    def connected(self) -> bool:
        """Connected, with every subscription acknowledged by the broker."""
        return self._connected.is_set()

    @property
    def reconnects(self) -> int:
        """How many times the connection was made again after the first."""
        return max(self._connects - 1, 0)

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until connected (True) or ``timeout_s`` has passed (False)."""
        return self._connected.wait(timeout_s)

    def subscribe(self, topic: str, *, timeout_s: float = 5.0) -> bool:
        """Receive ``topic`` (QoS 1), now and after every reconnect.

        Returns:
            True once the broker has acknowledged the subscription (waits at most
            ``timeout_s``); False if not yet (it is made again on the next connect).
        """
        with self._lock:
            if topic not in self._topics:
                self._topics.append(topic)
        if not self._connected.is_set():
            return False
        # Not under self._lock: paho takes its callback lock here, and its network thread
        # holds that lock while it calls _on_subscribe, which takes self._lock.
        result, mid = self._client.subscribe(topic, qos=1)
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            return False
        acked = threading.Event()
        with self._lock:
            if mid in self._acked_early:
                self._acked_early.discard(mid)
                return True
            self._pending[mid] = acked
        return acked.wait(timeout_s)

    def get(self, timeout_s: float) -> tuple[str, bytes] | None:
        """The next received ``(topic, payload)``; None if none came within ``timeout_s``."""
        received = self.get_timed(timeout_s)
        return None if received is None else received[:2]

    def get_timed(self, timeout_s: float) -> tuple[str, bytes, float] | None:
        """As :meth:`get`, with the ``time.monotonic()`` at which it was received."""
        try:
            return self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def publish(self, topic: str, payload: bytes, qos: int = 1, *, timeout_s: float = 5.0) -> bool:
        """Publish and wait (at most ``timeout_s``) until the broker has it.

        Returns:
            True when the broker acknowledged it (QoS 1) or it was sent (QoS 0); False
            when the broker could not be reached in time (counted in
            ``publish_failures``; paho may still deliver it after a reconnect).
        """
        deadline = time.monotonic() + timeout_s
        if not self._connected.wait(timeout_s):
            self.publish_failures += 1
            return False
        info = self._client.publish(topic, payload, qos=qos)
        try:
            info.wait_for_publish(max(deadline - time.monotonic(), 0.0))
        except (RuntimeError, ValueError):  # the connection dropped, or the queue is full
            self.publish_failures += 1
            return False
        if not info.is_published():
            self.publish_failures += 1
            return False
        self.published += 1
        return True

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        if self._closed:
            return
        self._closed = True
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            return
        self._connects += 1
        # The broker forgets subscriptions when it restarts (persistence off), and a
        # clean session forgets them on every reconnect: subscribe again each time, and
        # count as connected only once the broker has acknowledged them all, so that a
        # message published after `wait_connected` returns is not missed.
        with self._lock:
            self._pending.clear()
            self._acked_early.clear()
            if self._topics:
                result, mid = client.subscribe([(topic, 1) for topic in self._topics])
                if result == paho.MQTT_ERR_SUCCESS and mid is not None:
                    self._pending[mid] = self._connected
                return
        self._connected.set()

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        with self._lock:
            acked = self._pending.pop(mid, None)
            if acked is None:  # acknowledged before subscribe() could note its id
                self._acked_early.add(mid)
        if acked is not None:
            acked.set()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connected.clear()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.put((message.topic, bytes(message.payload), time.monotonic()))

    def __enter__(self) -> MqttClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
