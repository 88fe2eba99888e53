"""The supply network's view draws exactly the engine's state."""

from __future__ import annotations

import numpy as np

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
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
    for xy, k, site in zip(sites_xy, classes, stocked, strict=True):
        assert tuple(xy) == site.pos
        assert (k == 0) == (site.on_hand <= 0)
        ratio = site.on_hand / max(site.initial, 1)
        expected = 0 if site.on_hand <= 0 else 1 if ratio < 0.5 else 3 if ratio > 2 else 2
        assert k == expected
    assert classes.min() >= 0
    assert classes.max() < len(STOCK_LEVELS)
    truck_xy, loaded = frame.points["trucks"]
    on_road = [full for lane in network.lanes for _, _, full in lane.on_road.values()]
    assert len(on_road) > 0
    assert len(truck_xy) == len(on_road)
    np.testing.assert_array_equal(loaded, np.array(on_road, dtype=np.int64))
    assert frame.caption == f"day {network.day}: {len(on_road)} trucks on the road"
    # Every truck is on the segment of its lane.
    a, b = view.lane_segments[:, 0], view.lane_segments[:, 1]
    for xy in truck_xy:
        t = np.clip(
            np.einsum("ij,ij->i", xy - a, b - a) / np.einsum("ij,ij->i", b - a, b - a), 0, 1
        )
        assert np.min(np.hypot(*(a + t[:, None] * (b - a) - xy).T)) < 1e-9
    # A click on a site or a lane's midpoint selects that entity.
    layout = view.layout
    for xy, name in zip(layout.pick_xy, layout.pick_names, strict=True):
        entity = run.world.entity(name)
        assert entity.pos == (xy[0], xy[1])
    assert len(layout.pick_names) == len(network.sites) + len(network.lanes)
    (supplier_marks,) = [m for m in layout.static if getattr(m, "label", "") == "supplier"]
    assert len(supplier_marks.xy) == sum(site.is_supplier for site in network.sites)
    for layer in layout.layers:
        assert all(layer.labels)
