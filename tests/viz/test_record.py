"""A recorded frame names what it shows: a label per pick point, a legend entry per
labelled class, the clock in the domain's own unit; and it shows what the page shows: a
region's plant, city and network side by side, a row of them per arm in compare mode
(asserted on the artists, not pixels)."""

from __future__ import annotations

from twin.core.scenario import ScenarioConfig
from twin.core.scene import Marks
from twin.region.view import RegionCityView
from viz.record import Replay, caption
from viz.session import Session


def _station(capacity=None):
    params = {"capacity": capacity} if capacity else {}
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=3_600.0, tick_s=60.0, params=params)
    return Session(config, ["admission/admit-all-v0"], seed=1)


def test_a_recorded_frame_labels_every_pick_point_and_lists_every_labelled_class():
    session = _station(capacity=3)
    replay = Replay(session)
    try:
        replay.update()
        replay.render()
        (view,) = replay.views
        assert [text.get_text() for text in view.labels] == ["server 1", "server 2"]
        layout = view.layout
        expected = [
            part.label
            for part in layout.static
            if part.label and len(part.xy if isinstance(part, Marks) else part.segments)
        ] + [label for layer in layout.layers for label in layer.labels if label]
        assert expected == ["waiting place", "idle server", "busy server", "waiting job"]
        assert view.legend is not None
        assert [text.get_text() for text in view.legend.get_texts()] == expected
        # Drawn once, into the background a frame is blitted over, clear of the plane.
        assert view.legend not in view.dynamic
    finally:
        replay.close()


def test_the_caption_reads_the_clock_in_the_domains_unit():
    session = _station()
    session.step(3)
    assert caption(session).startswith("3.0 min ")


REGION = "region/coupled-small-v0"
PANEL_TITLES = [
    "Plant: the flow line",
    "City: traffic and supply trucks",
    "Supply network: stock and trucks",
]


def _region(*policies: str) -> Session:
    config = ScenarioConfig(id=REGION, horizon_s=120.0, tick_s=60.0)
    return Session(config, list(policies or ["region/policy-set-v0"]), seed=1)


def test_a_region_is_recorded_as_its_plant_city_and_network_side_by_side():
    session = _region()
    replay = Replay(session)
    try:
        replay.update()
        height, width, _ = replay.render().shape
        assert (width, height) == (3 * 480, 480)
        assert replay.titles == [f"region/policy-set-v0: {title}" for title in PANEL_TITLES]
        lefts = [ax.get_position().x0 for ax in replay.axes]
        assert lefts == sorted(lefts)
        for view, panel in zip(replay.views, session.panels(0), strict=True):
            assert view.layout.bounds == panel.view.layout.bounds
            assert {layer.name for layer in view.layout.layers} == {
                layer.name for layer in panel.view.layout.layers
            }
        city = replay.views[1]
        assert {"supply truck, loaded", "supply site"} <= {
            text.get_text() for text in city.legend.get_texts()
        }
    finally:
        replay.close()


def test_in_compare_mode_each_arm_is_recorded_in_a_row_of_its_own_panels():
    session = _region("region/policy-set-v0", "maintenance/predictive-v0")
    replay = Replay(session)
    try:
        session.step(1)
        replay.update()
        height, width, _ = replay.render().shape
        assert (width, height) == (3 * 480, 2 * 480)
        assert replay.titles == [
            f"{policy}: {title}"
            for policy in ("region/policy-set-v0", "maintenance/predictive-v0")
            for title in PANEL_TITLES
        ]
        # Each row draws its own arm's world: the second row's city is the second arm's.
        cities = [replay.views[1].view, replay.views[4].view]
        assert all(isinstance(city, RegionCityView) for city in cities)
        assert [city.road for city in cities] == [arm.run.scenario.road for arm in session.arms]
        assert replay.axes[3].get_position().y0 < replay.axes[0].get_position().y0
    finally:
        replay.close()


def test_a_selected_site_is_ringed_where_each_arm_draws_it_as_the_page_rings_it():
    session = _region("region/policy-set-v0", "maintenance/predictive-v0")
    replay = Replay(session, selected="site:dc0")
    try:
        replay.update()
        region = session.arms[0].run.scenario
        junction = next(n for n in region.city.network.nodes if n.id == region.params.places["dc0"])
        for row in (0, 3):
            plant, city, network = replay.views[row : row + 3]
            assert city.highlight.ringed().tolist() == [[junction.x_m, junction.y_m]]
            assert len(plant.highlight.ringed()) == 0  # the plant does not draw the site
            assert len(network.highlight.ringed()) == 1  # the site, with no truck yet
            assert len(city.highlight.route()) == 0
    finally:
        replay.close()
