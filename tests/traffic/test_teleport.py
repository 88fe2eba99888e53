"""Jammed vehicles teleport as in SUMO (``time-to-teleport``, :mod:`twin.traffic.teleport`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from twin.traffic import compare
from twin.traffic.kernels import ARRIVED
from twin.traffic.sumo_tools import run_program, run_sumo_config, sumo_binary
from twin.traffic.sumocfg import read_sumocfg


def red_light_road(tmp_path: Path, time_to_teleport: str | None) -> Path:
    """A 200 m road to a light that stays red for 3,000 s, then 200 m on; three cars
    (no dawdling, no speed spread) depart 10 s apart: each in turn stands at the line."""
    (tmp_path / "n.nod.xml").write_text(
        '<nodes><node id="A" x="0" y="0"/><node id="B" x="200" y="0" type="traffic_light"/>'
        '<node id="C" x="400" y="0"/></nodes>'
    )
    (tmp_path / "n.edg.xml").write_text(
        '<edges><edge id="AB" from="A" to="B" numLanes="1" speed="13.89"/>'
        '<edge id="BC" from="B" to="C" numLanes="1" speed="13.89"/></edges>'
    )
    (tmp_path / "n.tll.xml").write_text(
        '<tlLogics><tlLogic id="B" type="static" programID="0" offset="0">'
        '<phase duration="3000" state="r"/><phase duration="10" state="G"/></tlLogic></tlLogics>'
    )
    run_program(
        [sumo_binary("netconvert"), "-n", tmp_path / "n.nod.xml", "-e", tmp_path / "n.edg.xml",
         "--tllogic-files", tmp_path / "n.tll.xml", "-o", tmp_path / "n.net.xml"],
        "netconvert",
    )  # fmt: skip
    (tmp_path / "r.rou.xml").write_text(
        '<routes><vType id="car" speedDev="0" sigma="0"/>'
        + "".join(
            f'<vehicle id="v{k}" type="car" depart="{10 * k}"><route edges="AB BC"/></vehicle>'
            for k in range(3)
        )
        + "</routes>"
    )
    teleport = (
        ""
        if time_to_teleport is None
        else f'<processing><time-to-teleport value="{time_to_teleport}"/></processing>'
    )
    config = tmp_path / "c.sumocfg"
    config.write_text(
        '<configuration><input><net-file value="n.net.xml"/><route-files value="r.rou.xml"/>'
        f'</input><time><end value="2000"/></time>{teleport}'
        "</configuration>"
    )
    return config


def run_twin(config: Path):
    sumocfg = read_sumocfg(config)
    run = compare._prepare_twin(config, 0, compare.DEFAULT_POLICY, sumocfg.duration_s)
    run.world.advance(sumocfg.end_s)
    run.world.finish()
    return run.scenario.city


def test_a_car_standing_longer_than_time_to_teleport_jumps_the_jam_as_in_sumo(tmp_path):
    """SUMO's default 300 s: each car in turn stands at the red line, teleports when it
    has stood 301 s, is put back at the start of the next edge at the speed limit and
    drives on; the next car moves up to the line and stands 301 s in its turn. SUMO
    1.28 arrives the cars at 331, 635 and 939 s; twin's stop at the line takes one
    second more (it halts at 17 s, SUMO at 16 s), so each arrives one second later."""
    config = red_light_road(tmp_path, None)
    assert read_sumocfg(config).time_to_teleport_s == 300.0
    sumo = run_sumo_config(config, tmp_path / "sumo", seed=0)
    city = run_twin(config)
    veh = city.veh
    assert sumo.teleports == 3
    assert city.kpis()["teleports"].value == 3
    assert (veh.state[:3] == ARRIVED).all()
    assert veh.arrive_s[:3].tolist() == [332.0, 636.0, 940.0]
    assert veh.arrive_s[:3] == pytest.approx(np.sort(sumo.trips.arrival_s), abs=1.0)
    # A teleport costs no time loss while away: both add it up on the lanes only.
    assert veh.time_loss_s[:3] == pytest.approx(np.sort(sumo.trips.time_loss_s), abs=1.0)


def test_a_config_that_turns_teleporting_off_waits_for_the_green(tmp_path):
    """``time-to-teleport`` -1 (SUMO's "never"): the cars stand until the light turns
    green at 3,000 s, after the run's end; none arrives, none teleports."""
    config = red_light_road(tmp_path, "-1")
    assert read_sumocfg(config).time_to_teleport_s == -1.0
    city = run_twin(config)
    assert city.kpis()["teleports"].value == 0
    assert city.trips_unfinished() == 3
    assert not math.isfinite(city.transfer.after_s[0])
