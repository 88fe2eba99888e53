"""The MQTT client and the ``mqtt://`` source syntax."""

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from twin.core.errors import UserError
from twin.live.broker import Broker
from twin.live.mqtt import MqttClient, MqttSource, parse_source


@contextmanager
def socket_port() -> Iterator[int]:
    """A port bound but not listening while in use, so no broker can be on it."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def test_parses_host_port_and_topic_prefix() -> None:
    source = parse_source("mqtt://127.0.0.1:1883/plant/line-1")
    assert source == MqttSource(host="127.0.0.1", port=1883, topic="plant/line-1")
    assert source.url == "mqtt://127.0.0.1:1883/plant/line-1"


def test_another_host_is_allowed() -> None:
    assert parse_source("mqtt://broker.example:8883/p").host == "broker.example"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("http://127.0.0.1:1883/p", "scheme 'http'; only mqtt://"),
        ("127.0.0.1:1883/p", "scheme"),
        ("mqtt://:1883/p", "(no host)"),
        ("mqtt://127.0.0.1/p", "(no port; the usual one is 1883)"),
        ("mqtt://127.0.0.1:0/p", "(port 0 outside 1..65535)"),
        ("mqtt://127.0.0.1:65536/p", "port: "),
        ("mqtt://127.0.0.1:port/p", "port: "),
        ("mqtt://127.0.0.1:1883", "(no topic prefix after the port)"),
        ("mqtt://127.0.0.1:1883/", "(no topic prefix after the port)"),
        ("mqtt://127.0.0.1:1883/plant/#", "no wildcards"),
        ("mqtt://127.0.0.1:1883/a//b", "no empty levels"),
        ("mqtt://me:pw@127.0.0.1:1883/p", "passwords are not supported"),
        ("mqtt://127.0.0.1:1883/p?x=1", "no ?query"),
    ],
)
def test_anything_else_is_one_line_naming_the_expected_form(text: str, why: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_source(text)
    message = str(caught.value)
    assert message.startswith(f"{text!r} is not an MQTT source: expected mqtt://127.0.0.1:1883/")
    assert why in message
    assert "\n" not in message


def test_no_broker_is_one_line_after_the_timeout() -> None:
    with socket_port() as port, pytest.raises(UserError) as caught:
        MqttClient("127.0.0.1", port, "lonely", connect_timeout_s=0.5)
    assert str(caught.value) == (
        f"cannot connect to the MQTT broker at 127.0.0.1:{port} within 0.5 s: is it running?"
    )


def test_messages_arrive_in_order_with_their_receive_time(broker: Broker) -> None:
    with (
        MqttClient(broker.host, broker.port, "sub") as subscriber,
        MqttClient(broker.host, broker.port, "pub") as publisher,
    ):
        assert subscriber.subscribe("p/readings")
        before = time.monotonic()
        for i in range(20):
            assert publisher.publish("p/readings", str(i).encode())
        got = [subscriber.get_timed(timeout_s=5) for _ in range(20)]
        assert [g[:2] for g in got if g] == [("p/readings", str(i).encode()) for i in range(20)]
        assert all(g is not None and g[2] >= before for g in got)
        assert subscriber.get(timeout_s=0.05) is None
        assert publisher.published == 20
        assert publisher.publish_failures == 0


def test_reconnects_and_resubscribes_after_a_broker_restart(broker: Broker) -> None:
    with (
        MqttClient(broker.host, broker.port, "shadow") as subscriber,
        MqttClient(broker.host, broker.port, "plant") as publisher,
    ):
        assert subscriber.subscribe("p/readings")
        broker.restart()
        deadline = time.monotonic() + 15
        while not (subscriber.reconnects >= 1 and subscriber.connected):
            assert time.monotonic() < deadline, "the subscriber did not reconnect in 15 s"
            time.sleep(0.05)
        assert publisher.publish("p/readings", b"after the restart", timeout_s=15)
        assert subscriber.get(timeout_s=15) == ("p/readings", b"after the restart")
        assert subscriber.reconnects >= 1
        assert publisher.reconnects >= 1


def test_publish_without_a_broker_returns_false_and_counts_it(broker: Broker) -> None:
    with MqttClient(broker.host, broker.port, "pub") as publisher:
        broker.stop()
        deadline = time.monotonic() + 5
        while publisher.connected:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert not publisher.publish("p/readings", b"lost", timeout_s=0.2)
        assert publisher.publish_failures == 1
        assert publisher.published == 0
