"""The station's contract: spaces, edge cases, entity names, invariants, inspection, view."""

from __future__ import annotations

import subprocess
import sys

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.station.domain import DOMAIN
from twin.station.station import Station


def short_run(horizon_s: float = 3600.0):
    area = DOMAIN.area("station")
    config, _ = area.run_config(area.baseline)
    config = config.model_copy(update={"horizon_s": horizon_s})
    run = prepare_run(config, area.baseline, seed=2)
    run.world.run(horizon_s)
    return run


def test_importing_the_contract_does_not_import_hypothesis():
    code = "import sys, twin.station.domain; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_area_has_its_spaces_and_its_edge_cases_pass_the_checker():
    for area in DOMAIN.areas:
        assert area.observation_space() is not None
        assert area.action_space() is not None
        for obs in area.edge_cases():
            assert area.check_action(area.action(True), obs, "test/v0") == (True,)
        assert set(area.observation_fields) == set(area.observation._fields)
        assert set(area.action_fields) == set(area.action._fields)


def test_after_a_short_run_the_station_is_found_inspected_and_keeps_its_invariants():
    run = short_run()
    world = run.world
    station = DOMAIN.model_of(world)
    assert station is world.the(Station) is world.entity("station")
    assert DOMAIN.check_world(world) == []
    area = DOMAIN.area("station")
    obs = station.observe()
    assert world.entity(area.entity_of(obs)) is station
    info = station.inspect()
    assert info["entity"] == "station"
    assert info["queue_length"] == len(station.jobs.items)
    assert info["busy_servers"] == station.params.servers - station.free_servers
    assert info["arrived"] == station.arrived.count > 0
    assert info["sensed_queue_length"] is not None  # the kit's run has a queue sensor


def test_the_view_of_a_built_world_has_a_layout_and_a_frame():
    world = short_run().world
    view = DOMAIN.view_of(world)
    frame = view.frame()
    assert set(frame.points) == {layer.name for layer in view.layout.layers}
    assert frame.now_s == world.now_s
    assert set(view.layout.pick_names) == {"station"}


def test_kpi_directions_name_kpis_the_scenario_reports():
    result = prepare_run(
        ScenarioConfig(id="station/mmc-v0", horizon_s=3600.0), "admission/admit-all-v0", 1
    )
    result.world.run(3600.0)
    kpis = result.scenario.kpis(result.world)
    assert set(DOMAIN.kpis) <= set(kpis)
