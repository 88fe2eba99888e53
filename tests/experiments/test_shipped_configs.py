"""Every config shipped in experiments/ validates: the examples users copy must work."""

from pathlib import Path

import pytest

from twin.cli import main

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "experiments").glob("*.toml"))


def test_there_are_shipped_configs():
    assert {path.name for path in SHIPPED} >= {"factory_maintenance.toml", "station_run.toml"}


@pytest.mark.parametrize("config", SHIPPED, ids=[path.name for path in SHIPPED])
def test_a_shipped_config_validates(config, capsys):
    assert main(["validate", str(config)]) == 0
    assert ": ok (" in capsys.readouterr().out
