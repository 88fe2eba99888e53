"""Fixtures of the live twin's tests: a local MQTT broker per test."""

from collections.abc import Iterator

import pytest

from twin.live.broker import Broker


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A mosquitto on 127.0.0.1 and a free port, stopped when the test ends, pass or fail."""
    with Broker() as running:
        yield running
