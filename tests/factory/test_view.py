"""The factory's scene data equals the engine's own state (no drawing)."""

from __future__ import annotations

import numpy as np
import pytest

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.factory.domain import DOMAIN
from twin.factory.layout import MACHINE_SPACING_M, STATION_SPACING_M
from twin.factory.observation import MACHINE_STATES
from twin.factory.plant import Plant
from twin.factory.view import (
    AGV_CLASS_RGB,
    BUFFER_FULL_WHEN_UNBOUNDED,
    BUFFER_LEVELS,
    MACHINE_CLASS_RGB,
    SOC_RGB,
    STATE_RGB,
    WEAR_LEVELS,
    FactoryView,
    machine_class,
)


def built(scenario_id: str, hours: float) -> Plant:
    config = ScenarioConfig(id=scenario_id, horizon_s=24 * 3600.0)
    run = prepare_run(config, "maintenance/run-to-failure-v0", seed=1)
    run.world.env.run(until=hours * 3600.0)
    return run.world.the(Plant)


@pytest.fixture(scope="module")
def jobshop() -> Plant:
    return built("factory/jobshop-agv-v0", 1.0)


@pytest.fixture(scope="module")
def flowline() -> Plant:
    return built("factory/flowline-v0", 3.0)


def test_machine_classes_are_the_machines_states_shaded_by_wear(jobshop: Plant) -> None:
    view = FactoryView(jobshop)
    xy, classes = view.frame().points["machines"]
    states = [MACHINE_STATES[k] for k in classes // WEAR_LEVELS]
    assert states == [m.state for m in jobshop.machines]
    wear = np.clip(jobshop.health / jobshop.degradation.threshold, 0, 1)
    levels = np.minimum((wear * WEAR_LEVELS).astype(int), WEAR_LEVELS - 1)
    np.testing.assert_array_equal(classes % WEAR_LEVELS, levels)
    np.testing.assert_array_equal(xy, [m.pos for m in jobshop.machines])
    # A new machine is drawn in its state's own colour, a worn one darker.
    np.testing.assert_allclose(
        MACHINE_CLASS_RGB[machine_class(np.array([2]), np.zeros(1))], STATE_RGB[[2]]
    )
    worn = MACHINE_CLASS_RGB[machine_class(np.array([2]), np.ones(1))]
    assert np.all(worn < STATE_RGB[[2]])


def test_the_legend_names_every_state_fill_and_charge_once_and_says_darker_is_worn(
    jobshop: Plant,
) -> None:
    layers = {layer.name: layer for layer in FactoryView(jobshop).layout.layers}
    for layer in layers.values():
        named = [label for label in layer.labels if label]
        assert len(set(named)) == len(named), layer.name
    machine_labels = [label for label in layers["machines"].labels if label]
    assert machine_labels == [
        *MACHINE_STATES[:1],
        "darker: more worn (wear >= 75%)",
        *MACHINE_STATES[1:],
    ]
    assert all(layers["buffers"].labels)
    assert [label for label in layers["agvs"].labels if label] == [
        "AGV, charge < 20%",
        "AGV, charge 20-50%",
        "AGV, charge 50-80%",
        "AGV, charge >= 80%",
        "AGV loaded (darker)",
    ]


def test_buffers_match_the_plant(jobshop: Plant) -> None:
    view = FactoryView(jobshop)
    xy, classes = view.frame().points["buffers"]
    for k, buffer in enumerate(jobshop.buffers):
        capacity = buffer.capacity or BUFFER_FULL_WHEN_UNBOUNDED
        fill = min(len(buffer.items) / capacity, 1.0)
        assert classes[k] == min(int(fill * BUFFER_LEVELS), BUFFER_LEVELS - 1)
    np.testing.assert_array_equal(xy, [b.pos for b in jobshop.buffer_entities])


def test_agvs_are_where_the_fleet_says_coloured_by_charge_and_load(jobshop: Plant) -> None:
    fleet = jobshop.fleet
    assert fleet is not None
    xy, classes = FactoryView(jobshop).frame().points["agvs"]
    assert len(xy) == len(fleet.agvs) == 5
    assert jobshop.params.layout is not None
    nodes = jobshop.params.layout.nodes
    for k, agv in enumerate(fleet.agvs):
        if agv.segment is None:
            assert tuple(xy[k]) == nodes[agv.node]
        else:
            (xa, ya), (xb, yb) = nodes[agv.segment[0]], nodes[agv.segment[1]]
            assert tuple(xy[k]) == ((xa + xb) / 2, (ya + yb) / 2)
        loaded = agv.state in ("loaded", "unloading")
        assert classes[k] // len(SOC_RGB) == int(loaded)
        charge = int(np.searchsorted([0.2, 0.5, 0.8], agv.soc, side="right"))
        assert classes[k] % len(SOC_RGB) == charge
    assert len(AGV_CLASS_RGB) == 2 * len(SOC_RGB)


def test_a_click_picks_the_machine_or_buffer_drawn_there(jobshop: Plant) -> None:
    layout = FactoryView(jobshop).layout
    world = jobshop.world
    for xy, name in zip(layout.pick_xy, layout.pick_names, strict=True):
        assert world.entity(name).pos == tuple(xy)
    assert len(layout.pick_names) == len(jobshop.machines) + len(jobshop.buffers)
    # Labelled as the ledger names a machine, and a buffer by its station.
    assert layout.point_labels == (
        *(machine.label for machine in jobshop.machines),
        *(f"{spec.name} buffer" for spec in jobshop.params.stations),
    )
    assert layout.point_labels[0] == "lathe.0"


def test_a_plant_without_layout_stands_in_a_row(flowline: Plant) -> None:
    view = FactoryView(flowline)
    assert not view.layout.static  # no aisles, no chargers
    xy, _ = view.frame().points["machines"]
    # Five stations 15 m apart; the mill's two machines side by side.
    stations = [m.station.name for m in flowline.machines]
    assert stations == ["saw", "mill", "mill", "drill", "wash", "assemble"]
    expected_x = [0.0, 15 - MACHINE_SPACING_M / 2, 15 + MACHINE_SPACING_M / 2, 30, 45, 60]
    np.testing.assert_allclose(xy[:, 0], expected_x)
    np.testing.assert_allclose(xy[:, 1], MACHINE_SPACING_M)
    assert STATION_SPACING_M == 15.0
    assert view.frame().points["agvs"][0].shape == (0, 2)


def test_the_domain_view_is_the_factory_view(jobshop: Plant) -> None:
    view = DOMAIN.view_of(jobshop.world)
    frame = view.frame()
    assert frame.now_s == jobshop.world.now_s
    assert set(frame.points) == {layer.name for layer in view.layout.layers}
    assert f"{jobshop.finished.count} good" in frame.caption
