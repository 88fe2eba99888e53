"""The region's run view as data: three panels whose marks are the engine's state, and
a truck that is one selection on the city and the network, in the page, in compare mode
and in a recording (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from twin.core.scenario import ScenarioConfig
from twin.region.scenario import Region
from twin.region.view import RegionCityView, RegionNetworkView, Truck, truck_name
from twin.traffic.kernels import DRIVING
from viz.controller import AppTarget, Controller
from viz.inspect_format import duration
from viz.record import Replay

SMALL = "region/coupled-small-v0"
FIRST_DAY_S = 86_400.0
"""The first day's retailer orders leave the DC the next morning: trucks drive after it."""

pytestmark = pytest.mark.slow  # a coupled run of a day and more


@pytest.fixture(scope="module")
def app() -> Controller:
    """The app of the small region, stopped at the first instant a loaded truck drives
    through the city."""
    config = ScenarioConfig(id=SMALL, horizon_s=3 * FIRST_DAY_S, tick_s=30.0)
    controller = Controller(AppTarget(config, "region/policy-set-v0", seed=1))
    controller.session.advance(FIRST_DAY_S)
    for _ in range(4_000):
        controller.step(1)
        if any(
            d.cargo is not None and d.cargo.units > 0 and _driving(controller, d.trip)
            for d in _region(controller).road.drives_now()
        ):
            return controller
    pytest.fail("no loaded truck drove through the city in two days")


def _region(app: Controller) -> Region:
    scenario = app.session.arms[0].run.scenario
    assert isinstance(scenario, Region)
    return scenario


def _driving(app: Controller, trip: int) -> bool:
    return int(_region(app).city.veh.state[trip]) == DRIVING


def _panel(app: Controller, name: str):
    return next(panel for panel in app.panels if panel.name == name)


def _loaded_truck(app: Controller) -> tuple[str, int]:
    """A loaded truck driving now: its entity and its city trip."""
    for drive in _region(app).road.drives_now():
        if drive.cargo is not None and drive.cargo.units > 0 and _driving(app, drive.trip):
            return truck_name(drive.cargo.vehicle), drive.trip
    raise AssertionError("no loaded truck is driving")


def test_the_region_is_drawn_as_its_plant_its_city_and_its_supply_network(app):
    assert [(p.name, p.title) for p in app.panels] == [
        ("plant", "Plant: the flow line"),
        ("city", "City: traffic and supply trucks"),
        ("network", "Supply network: stock and trucks"),
    ]
    plant, city, network = (panel.views[0] for panel in app.panels)
    assert {layer.name for layer in plant.layout.layers} == {"machines", "buffers", "agvs"}
    assert isinstance(city, RegionCityView)
    assert isinstance(network, RegionNetworkView)
    # The first panel is what a single-view page showed: the plant.
    assert app.layout == _panel(app, "plant").layout


def test_the_city_draws_each_supply_truck_in_its_own_layer_not_among_the_cars(app):
    region = _region(app)
    veh = region.city.veh
    frame = _panel(app, "city").frames[0]
    driving = np.flatnonzero(veh.state == DRIVING)
    trucks = [d for d in region.road.drives_now() if veh.state[d.trip] == DRIVING]
    assert len(trucks) >= 1
    assert len(frame["points"]["supply_trucks"]["classes"]) == len(trucks)
    assert len(frame["points"]["vehicles"]["classes"]) == len(driving) - len(trucks)
    assert frame["picks"]["names"] == [truck_name(d.cargo.vehicle) for d in trucks]
    loaded = [int(d.cargo.units > 0) for d in trucks]
    assert frame["points"]["supply_trucks"]["classes"] == loaded
    layer = next(x for x in app.panels[1].layout["layers"] if x["name"] == "supply_trucks")
    assert layer["labels"] == ["supply truck, returning empty", "supply truck, loaded"]


def test_the_city_marks_the_supply_sites_at_their_junctions(app):
    region = _region(app)
    layout = _panel(app, "city").layout
    nodes = {node.id: (node.x_m, node.y_m) for node in region.city.network.nodes}
    for site, junction in region.params.places.items():
        k = layout["picks"]["names"].index(f"site:{site}")
        assert layout["picks"]["labels"][k] == site
        assert layout["picks"]["xy"][2 * k : 2 * k + 2] == list(nodes[junction])
    assert "supply site" in {part["label"] for part in layout["static"]}


def test_a_selected_truck_is_highlighted_along_the_route_the_city_drives_it(app):
    name, trip = _loaded_truck(app)
    app.select(name)
    region = _region(app)
    city_view = _panel(app, "city").views[0]
    veh = region.city.veh
    edges = veh.route_edges[veh.route_start[trip] : veh.route_end[trip]]
    starts = region.city.arrays.edge_lane_start
    lanes = [
        lane
        for e in edges
        for lane in range(int(starts[e]), int(starts[e]) + region.city.network.edges[e].lanes)
    ]
    frame = _panel(app, "city").frames[0]
    expected = np.round(city_view.base.edge_segments[lanes], 2).ravel().tolist()
    assert frame["highlight"]["segments"] == expected
    k = frame["picks"]["names"].index(name)
    assert frame["highlight"]["xy"] == frame["picks"]["xy"][2 * k : 2 * k + 2]
    # The network highlights the same truck, on its lane, and the plant nothing.
    network = _panel(app, "network").frames[0]
    j = network["picks"]["names"].index(name)
    assert network["highlight"]["xy"] == network["picks"]["xy"][2 * j : 2 * j + 2]
    assert "highlight" not in _panel(app, "plant").frames[0]
    app.select(None)
    assert all("highlight" not in panel.frames[0] for panel in app.panels)


def test_a_selected_truck_is_inspected_as_its_order_its_route_and_its_delay(app):
    name, trip = _loaded_truck(app)
    region = _region(app)
    truck = app.session.arms[0].world.entity(name)
    assert isinstance(truck, Truck)
    drive = region.road.by_vehicle[truck.vehicle]
    lane = next(
        lane
        for lane in region.network.lanes
        if (lane.origin, lane.destination) == (drive.origin, drive.destination)
    )
    number = int(truck.vehicle.rsplit(".", 1)[1])
    departed_s, model_s, loaded = lane.on_road[number]
    assert loaded
    info = app.session.inspect(name)
    now = app.session.now_s
    assert info["city_vehicle"] == f"vehicle{trip}"
    assert info["state"] == f"driving loaded to {lane.destination}"
    order = info["order"]
    assert (order["from"], order["to"]) == (lane.origin, lane.destination)
    assert order["dispatched_at_s"] == departed_s
    assert order["units"] == drive.cargo.units
    assert order["units"] > 0
    assert order["pallets"] == -(-order["units"] // region.network.params.product.units_per_pallet)
    route = region.routes[(lane.origin, lane.destination)]
    assert info["route"]["length_m"] == route.length_m
    assert info["route"]["driven_m"] == float(region.city.veh.dist_m[trip])
    delay = info["delay"]
    # The supply twin's own model of this drive: route length over the free-flow speed.
    assert delay["model_s"] == pytest.approx(region._free_flow_s()[(lane.origin, lane.destination)])
    assert delay["model_s"] == model_s
    assert delay["driving_s"] == now - drive.requested_s
    remaining_s = (route.length_m - info["route"]["driven_m"]) / region._limit_mps()
    assert delay["expected_arrival_at_s"] == pytest.approx(now + remaining_s)
    assert delay["late_by_s"] == pytest.approx(
        delay["expected_arrival_at_s"] - drive.requested_s - model_s
    )
    rows = {row.key: (row.text, row.unit) for row in _rows_of(app, name)}
    assert rows["order.from"] == (lane.origin, "")
    # Instants read as the page's clock does, durations in the unit that suits them.
    assert rows["order.dispatched_at_s"] == (app.clock.format(departed_s), "")
    assert rows["delay.expected_arrival_at_s"] == (
        app.clock.format(delay["expected_arrival_at_s"]),
        "",
    )
    assert rows["delay.model_s"] == duration(model_s)
    assert rows["delay.driving_s"] == duration(delay["driving_s"])


def _rows_of(app: Controller, name: str):
    app.select(name)
    try:
        return app.inspection_rows()
    finally:
        app.select(None)


def test_the_network_places_each_truck_by_how_far_it_has_driven_in_the_city(app):
    name, trip = _loaded_truck(app)
    region = _region(app)
    view = _panel(app, "network").views[0]
    frame = _panel(app, "network").frames[0]
    assert len(frame["points"]["trucks"]["classes"]) == sum(
        len(lane.on_road) for lane in region.network.lanes
    )
    drive = region.road.by_vehicle[app.session.arms[0].world.entity(name).vehicle]
    k = next(
        j
        for j, lane in enumerate(region.network.lanes)
        if (lane.origin, lane.destination) == (drive.origin, drive.destination)
    )
    start, end = view.base.lane_segments[k]
    share = region.city.veh.dist_m[trip] / region.road.route_of(drive).length_m
    j = frame["picks"]["names"].index(name)
    assert frame["picks"]["xy"][2 * j : 2 * j + 2] == pytest.approx(
        (start + share * (end - start)).tolist(), abs=0.01
    )


def test_a_selected_site_highlights_its_trucks_on_both_panels(app):
    name, _ = _loaded_truck(app)
    region = _region(app)
    drive = region.road.by_vehicle[app.session.arms[0].world.entity(name).vehicle]
    site = drive.destination
    city_view = _panel(app, "city").views[0]
    veh = region.city.veh
    theirs = [
        d
        for d in region.road.drives_now()
        if site in (d.origin, d.destination) and veh.state[d.trip] == DRIVING
    ]
    assert len(city_view.highlight(f"site:{site}").xy) == len(theirs) >= 1
    network_view = _panel(app, "network").views[0]
    on_lanes = sum(
        len(lane.on_road)
        for lane in region.network.lanes
        if site in (lane.origin, lane.destination)
    )
    assert len(network_view.highlight(f"site:{site}").xy) == on_lanes >= 1
    assert city_view.highlight("machine:0").empty


def test_region_kpis_are_charted_with_co2e_by_domain_and_their_directions(app):
    rows = {row["kpi"]: row for row in app.kpi_table()}
    for kpi in ("service_level", "order_lead_time_days"):
        assert kpi in rows
    assert rows["service_level"]["better"] == "higher"
    assert rows["order_lead_time_days"]["better"] == "lower"
    kpis = app.session.kpis()
    for domain in ("factory", "supply", "traffic", "cloud"):
        row = rows[f"co2e_{domain}_kg"]
        assert row["better"] == "lower"
        assert row["values"] == [pytest.approx(kpis[f"co2e_{domain}_kg"].value)]


def test_a_recording_highlights_a_selected_truck_as_the_page_does(app):
    name, _ = _loaded_truck(app)
    app.select(name)
    replay = Replay(app.session, selected=name)
    try:
        replay.update()
        plant, city, network = replay.views
        for drawn, panel in ((city, "city"), (network, "network")):
            shown = _panel(app, panel).frames[0]["highlight"]
            route = drawn.highlight.route()
            drawn_route = np.round(route[~np.isnan(route).any(axis=1)], 2).ravel().tolist()
            assert drawn_route == shown["segments"]
            # The truck is ringed twice: as what the selection highlights, and as the
            # selected entity itself.
            ringed = np.round(drawn.highlight.ringed(), 2).tolist()
            assert ringed == [shown["xy"], shown["xy"]]
        assert len(city.highlight.route()) > 0
        assert len(plant.highlight.ringed()) == len(plant.highlight.route()) == 0
    finally:
        replay.close()
        app.select(None)


def test_in_compare_mode_a_truck_selected_on_one_arm_is_highlighted_on_that_arm_only():
    config = ScenarioConfig(id=SMALL, horizon_s=3 * FIRST_DAY_S, tick_s=30.0)
    compare = Controller(
        AppTarget(config, "region/policy-set-v0", seed=1, compare="maintenance/predictive-v0")
    )
    second = compare.session.arms[1].run.scenario
    compare.session.advance(FIRST_DAY_S)
    name = None
    while name is None and not compare.session.done:
        compare.step(1)
        name = next(
            (
                truck_name(d.cargo.vehicle)
                for d in second.road.drives_now()
                if d.cargo is not None
                and d.cargo.units > 0
                and int(second.city.veh.state[d.trip]) == DRIVING
            ),
            None,
        )
    assert name is not None, "no loaded truck drove the second arm's city in two days"
    compare.select(name, arm=1)
    assert compare.inspection() == compare.session.inspect(name, 1)
    for panel in ("city", "network"):
        first, other = _panel(compare, panel).frames
        assert "highlight" not in first
        k = other["picks"]["names"].index(name)
        assert other["highlight"]["xy"] == other["picks"]["xy"][2 * k : 2 * k + 2]
