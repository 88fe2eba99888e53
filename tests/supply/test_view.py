"""The supply network's view draws exactly the engine's state."""

from __future__ import annotations

import numpy as np

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.scene import SegmentLayer
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.supply.config import regional_sites
from twin.supply.network import SupplyNetwork
from twin.supply.view import STOCK_LEVELS, SupplyView


def test_a_supply_network_colours_sites_by_stock_and_draws_trucks_on_their_lanes():
    config = ScenarioConfig(id="supply/regional-v0", horizon_s=60 * SECONDS_PER_DAY)
    run = prepare_run(config, "replenishment/base-stock-v0", seed=2)
    run.world.run(90 * 3 * SECONDS_PER_HOUR)
    network = run.world.the(SupplyNetwork)
    view = SupplyView(network)
    frame = view.frame()
    stocked = [site for site in network.sites if not site.is_supplier]
    sites_xy, classes = frame.points["sites"]
    assert len(sites_xy) == len(classes) == len(stocked)
    np.testing.assert_array_equal(sites_xy, view.site_xy[view.stocked])
    for k, site in zip(classes, stocked, strict=True):
        ratio = site.on_hand / max(site.initial, 1)
        expected = (
            0
            if site.on_hand <= 0
            else 1
            if ratio < 0.25
            else 2
            if ratio < 0.5
            else 4
            if ratio > 2
            else 3
        )
        assert k == expected
    assert classes.min() >= 0
    assert classes.max() < len(STOCK_LEVELS)
    truck_xy, loaded = frame.points["trucks"]
    on_road = [full for lane in network.lanes for _, _, full in lane.on_road.values()]
    assert len(on_road) > 0
    assert len(truck_xy) == len(on_road)
    np.testing.assert_array_equal(loaded, np.array(on_road, dtype=np.int64))
    assert frame.caption.startswith(f"{len(on_road)} trucks on the road, ")
    # Every truck is on the segment of its lane.
    a, b = view.lane_segments[:, 0], view.lane_segments[:, 1]
    for xy in truck_xy:
        t = np.clip(
            np.einsum("ij,ij->i", xy - a, b - a) / np.einsum("ij,ij->i", b - a, b - a), 0, 1
        )
        assert np.min(np.hypot(*(a + t[:, None] * (b - a) - xy).T)) < 1e-9
    # A click on a site where it is drawn or on a lane's midpoint selects that entity.
    layout = view.layout
    sites = len(network.sites)
    assert layout.pick_names == (
        *(site.name for site in network.sites),
        *(lane.name for lane in network.lanes),
    )
    np.testing.assert_array_equal(layout.pick_xy[:sites], view.site_xy)
    np.testing.assert_array_equal(layout.pick_xy[sites:], view.lane_segments.mean(axis=1))
    for name in layout.pick_names:
        run.world.entity(name)
    # Sites are labelled by their names; lanes, named by the sites they join, are not.
    assert layout.point_labels == (
        *(site.site_name for site in network.sites),
        *("" for _ in network.lanes),
    )
    (supplier_marks,) = [m for m in layout.static if getattr(m, "label", "") == "supplier"]
    assert len(supplier_marks.xy) == sum(site.is_supplier for site in network.sites)
    for layer in layout.layers:
        # Class 0 of a segment layer is not drawn, so it has no legend entry.
        drawn = layer.labels[1:] if isinstance(layer, SegmentLayer) else layer.labels
        assert all(drawn)


def _regional(dcs, retailers_per_dc):
    sites = [site.model_dump() for site in regional_sites(dcs, retailers_per_dc)]
    config = ScenarioConfig(
        id="supply/regional-v0", horizon_s=30 * SECONDS_PER_DAY, params={"sites": sites}
    )
    run = prepare_run(config, "replenishment/base-stock-v0", seed=1)
    return run.world, SupplyView(run.world.the(SupplyNetwork))


def test_fifty_retailers_are_fifty_markers_apart_inside_the_bounds():
    _, view = _regional(dcs=1, retailers_per_dc=50)
    retailers = view.site_xy[[site.is_retailer for site in view.network.sites]]
    assert len(retailers) == 50
    (sites,) = [layer for layer in view.layout.layers if layer.name == "sites"]
    gaps = np.hypot(*(retailers[:, None] - retailers[None]).transpose(2, 0, 1))
    assert gaps[~np.eye(50, dtype=bool)].min() >= sites.size_m
    x_min, x_max, y_min, y_max = view.layout.bounds
    half = sites.size_m / 2
    assert (view.site_xy - half >= (x_min, y_min)).all()
    assert (view.site_xy + half <= (x_max, y_max)).all()


def test_a_small_echelon_is_one_column_and_a_large_one_a_grid():
    _, view = _regional(dcs=3, retailers_per_dc=17)
    network = view.network
    kinds = [site.spec.kind for site in network.sites]
    columns = {
        kind: len({x for x, k in zip(view.site_xy[:, 0], kinds, strict=True) if k == kind})
        for kind in set(kinds)
    }
    # 51 retailers in rows of at most ten: 10 rows of 6 columns; the rest one column each.
    assert columns == {"supplier": 1, "plant": 1, "dc": 1, "retailer": 6}


def test_a_lane_is_drawn_when_its_destination_received_since_the_last_frame():
    world, view = _regional(dcs=1, retailers_per_dc=4)
    network = view.network
    received = [0] * len(network.lanes)
    retailer_lanes = np.array(
        [network.sites[lane.destination_index].is_retailer for lane in network.lanes]
    )
    delivered = []
    for day in range(1, 8):
        world.run(day * SECONDS_PER_DAY)
        frame = view.frame()
        now = [network.sites[lane.destination_index].received for lane in network.lanes]
        expected = [int(b > a) for a, b in zip(received, now, strict=True)]
        np.testing.assert_array_equal(frame.segments["deliveries"], expected)
        # Asked twice at one instant, a frame shows the same lanes.
        np.testing.assert_array_equal(view.frame().segments["deliveries"], expected)
        received = now
        delivered.append(frame.segments["deliveries"])
    # Trucks go and come back within the day, so a daily frame rarely catches one;
    # but every retailer's lane shows a delivery within the week, and some lane does
    # every day once the first orders arrive.
    assert np.any(delivered, axis=0)[retailer_lanes].all()
    assert all(d.any() for d in delivered[4:])


def test_sites_placed_on_a_map_are_drawn_there_at_its_scale():
    _, schematic = _regional(dcs=1, retailers_per_dc=2)
    network = schematic.network
    placed = np.array([(100.0 * k, -50.0 * k) for k in range(len(network.sites))])
    view = SupplyView(network, site_xy=placed, cell_m=40.0)
    assert (view.site_xy == placed).all()
    assert view.layout.equal_aspect  # metres of a real plane, not a schematic
    assert not schematic.layout.equal_aspect
    sizes = {layer.name: layer.size_m for layer in view.layout.layers if layer.name != "deliveries"}
    plain = {
        layer.name: layer.size_m for layer in schematic.layout.layers if layer.name != "deliveries"
    }
    assert sizes == {name: 40.0 * size for name, size in plain.items()}
    lane = network.lanes[0]
    index = {site.site_name: k for k, site in enumerate(network.sites)}
    assert (view.lane_segments[0] == placed[[index[lane.origin], index[lane.destination]]]).all()
    last = len(network.sites) - 1
    assert view.layout.bounds == (-40.0, 100.0 * last + 40.0, -50.0 * last - 40.0, 40.0)
