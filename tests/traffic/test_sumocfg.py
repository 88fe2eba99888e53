"""SUMO run configurations (``.sumocfg``): what twin honours, ignores and refuses."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twin.core.errors import ConfigError
from twin.traffic.sumocfg import read_sumocfg

RESCO = Path("/tmp/resco")
RESCO_NAMES = (
    "arterial4x4",
    "cologne1",
    "cologne3",
    "cologne8",
    "grid4x4",
    "ingolstadt1",
    "ingolstadt21",
    "ingolstadt7",
)


def write(path: Path, body: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<configuration>\n{body}\n</configuration>\n'
    )
    return path


def test_sections_lists_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    cfg = write(
        tmp_path / "sub" / "run.sumocfg",
        """<input>
        <net-file value="city.net.xml"/>
        <route-files value="a.rou.xml, b.rou.xml"/>
        <additional-files value="tls.add.xml det.add.xml"/>
    </input>
    <time>
        <begin value="100"/>
        <end value="1:00:00"/>
        <step-length value="0.5"/>
    </time>
    <output><tripinfo-output value="trips.xml"/></output>
    <no-step-log value="true"/>
    <seed value="42"/>""",
    )
    config = read_sumocfg(cfg)
    folder = tmp_path / "sub"
    assert config.net_file == folder / "city.net.xml"
    assert config.route_files == (folder / "a.rou.xml", folder / "b.rou.xml")
    assert config.additional_files == (folder / "tls.add.xml", folder / "det.add.xml")
    assert (config.begin_s, config.end_s, config.step_length_s) == (100.0, 3600.0, 0.5)
    assert config.duration_s == 3500.0
    assert any(entry.startswith("seed:") for entry in config.ignored)
    assert any(entry.startswith("tripinfo-output:") for entry in config.ignored)


def test_top_level_options_synonyms_and_defaults(tmp_path: Path) -> None:
    cfg = write(tmp_path / "run.sumocfg", '<net value="/abs/x.net.xml"/><routes value="r.xml"/>')
    config = read_sumocfg(cfg)
    assert config.net_file == Path("/abs/x.net.xml")
    assert config.route_files == (tmp_path / "r.xml",)
    assert (config.begin_s, config.end_s, config.step_length_s) == (0.0, math.inf, 1.0)
    assert config.time_to_teleport_s == 300.0


def test_options_at_twins_value_are_accepted(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "run.sumocfg",
        """<net-file value="x.net.xml"/>
    <step-method.ballistic value="false"/>
    <lateral-resolution value="-1"/>
    <default.action-step-length value="1"/>
    <time-to-teleport value="-1"/>
    <collision.action value="warn"/>""",
    )
    config = read_sumocfg(cfg)
    assert config.time_to_teleport_s == -1.0


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("step-method.ballistic", "true", "Euler"),
        ("lateral-resolution", "0.8", "sublane"),
        ("default.action-step-length", "2", "every step"),
        ("scale", "2", "demand as given"),
        ("device.rerouting.probability", "0.5", "reroute"),
        ("mesosim", "true", "option not supported"),
        ("step-length", "5", "(0, 2]"),
    ],
)
def test_refusals_name_file_and_option(tmp_path: Path, option: str, value: str, says: str) -> None:
    cfg = write(
        tmp_path / "run.sumocfg", f'<net-file value="x.net.xml"/><{option} value="{value}"/>'
    )
    with pytest.raises(ConfigError) as info:
        read_sumocfg(cfg)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{cfg}: {option}: ")
    assert says in message


def test_refuses_a_config_without_network_or_with_end_before_begin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="net-file: missing"):
        read_sumocfg(write(tmp_path / "a.sumocfg", '<route-files value="r.xml"/>'))
    with pytest.raises(ConfigError, match="end"):
        read_sumocfg(
            write(
                tmp_path / "b.sumocfg", '<net-file value="x"/><begin value="10"/><end value="5"/>'
            )
        )
    (tmp_path / "d.sumocfg").write_text("<net/>")
    with pytest.raises(ConfigError, match="not a SUMO configuration"):
        read_sumocfg(tmp_path / "d.sumocfg")


@pytest.mark.skipif(not RESCO.exists(), reason="RESCO networks not unpacked at /tmp/resco")
@pytest.mark.parametrize("name", RESCO_NAMES)
def test_resco_configs_parse(name: str) -> None:
    config = read_sumocfg(RESCO / name / f"{name}.sumocfg")
    assert config.net_file.is_file()
    assert config.route_files
    assert all(path.is_file() for path in config.route_files)
    assert config.duration_s == 3600.0
