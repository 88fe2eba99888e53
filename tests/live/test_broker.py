"""The local broker: where it listens, that it carries messages, that it leaves nothing
running."""

import os
import socket
from pathlib import Path

import psutil
import pytest

from twin.core.errors import UserError
from twin.live.broker import Broker
from twin.live.mqtt import MqttClient


def test_listens_on_loopback_only(broker: Broker) -> None:
    listening = [
        c.laddr
        for c in psutil.Process(broker.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening == [("127.0.0.1", broker.port)]
    assert broker.host == "127.0.0.1"
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"


def test_carries_a_message_from_publisher_to_subscriber(broker: Broker) -> None:
    with (
        MqttClient(broker.host, broker.port, "subscriber") as subscriber,
        MqttClient(broker.host, broker.port, "publisher") as publisher,
    ):
        assert subscriber.subscribe("plant/readings")
        assert publisher.publish("plant/readings", b'{"x":1}')
        assert subscriber.get(timeout_s=5) == ("plant/readings", b'{"x":1}')
        assert publisher.published == 1


def test_stop_leaves_no_process_and_frees_the_port() -> None:
    with Broker() as broker:
        pid = broker.pid
        assert pid is not None
        broker.stop()
        assert broker.pid is None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((broker.host, broker.port), timeout=1).close()


def test_restart_listens_on_the_same_port(broker: Broker) -> None:
    port, pid = broker.port, broker.pid
    broker.restart()
    assert broker.port == port
    assert broker.pid != pid
    socket.create_connection((broker.host, broker.port), timeout=1).close()


def test_a_port_in_use_is_one_line(broker: Broker) -> None:
    with pytest.raises(UserError) as caught, Broker(port=broker.port):
        pass
    assert str(caught.value) == (
        f"cannot start mosquitto: port {broker.port} on 127.0.0.1 is in use"
    )


def test_a_broker_that_cannot_bind_says_why_from_its_log(tmp_path: Path) -> None:
    # Something that is not a broker holds the port, without accepting connections.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        with (
            pytest.raises(UserError, match=rf"exited at start on port {port}: .*in use"),
            Broker(port=port),
        ):
            pass


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr("twin.live.broker._KNOWN_PATHS", ())
    with pytest.raises(UserError) as caught:
        Broker()
    assert str(caught.value) == (
        "mosquitto not found: install it (Debian: apt-get install mosquitto; macOS: brew "
        "install mosquitto)"
    )


def test_the_fixture_stops_the_broker_when_its_test_fails(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    pytester.makeconftest("from tests.live.conftest import broker")
    pytester.makepyfile(
        f"""
        from pathlib import Path

        def test_fails(broker):
            Path({str(pid_file)!r}).write_text(str(broker.pid))
            assert False
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
