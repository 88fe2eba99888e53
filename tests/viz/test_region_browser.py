"""The region's run view in Chromium: three panels side by side, each with both policies
in compare mode, and a truck clicked on the city panel is inspected (its order, from the
engine's own run of the same seed) and highlighted on the city and the network. The page
logs no error and asks nothing of any host but 127.0.0.1. Screenshots go to
``artifacts/viz/region/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import served
from tests.viz.browser import opened
from twin.core.scenario import ScenarioConfig
from twin.region.view import truck_name
from twin.traffic.kernels import DRIVING
from viz.inspect_format import duration
from viz.session import Session

SMALL = "region/coupled-small-v0"
SEED = 1
SCAN_S = 10.0
FIRST_DAY_S = 86_400.0
"""Retailers' first orders are trucked from the DC after the first day."""
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "viz" / "region"
pytestmark = pytest.mark.slow


def first_loaded_drive() -> tuple[float, str, dict]:
    """The first instant (on a 10 s grid, past its first 10 s) a loaded truck drives in
    the city, that truck's entity and its inspection, from the engine alone."""
    config = ScenarioConfig(id=SMALL, horizon_s=3 * FIRST_DAY_S, tick_s=SCAN_S)
    session = Session(config, ["region/policy-set-v0"], SEED)
    session.advance(FIRST_DAY_S)
    region = session.arms[0].run.scenario
    while not session.done:
        session.step(1)
        for drive in region.road.drives_now():
            loaded = drive.cargo is not None and drive.cargo.units > 0
            driving = int(region.city.veh.state[drive.trip]) == DRIVING
            if loaded and driving and session.now_s - drive.requested_s > SCAN_S:
                name = truck_name(drive.cargo.vehicle)
                return session.now_s, name, session.inspect(name)
    pytest.fail("no loaded truck drove through the city in three days")


def panel(page, name: str):
    return page.locator(f"[data-testid=map][data-panel={name}]")


def test_the_region_shows_three_panels_and_a_clicked_truck_shows_its_order():
    now_s, truck, truth = first_loaded_drive()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    arguments = [SMALL, "--seed", str(SEED), "--tick-s", f"{now_s:g}", "--frames", "3"]
    with served(arguments) as url, opened(url, height=1400) as watched:
        page = watched.tab
        maps = page.locator("[data-testid=map]")
        assert [maps.nth(k).get_attribute("data-panel") for k in range(maps.count())] == [
            "plant",
            "city",
            "network",
        ]
        titles = page.get_by_test_id("panel-title").all_inner_texts()
        assert titles == [
            "Plant: the flow line",
            "City: traffic and supply trucks",
            "Supply network: stock and trucks",
        ]
        city = panel(page, "city")
        legend = city.locator(".twin-legend-entry")
        labels = {legend.nth(k).get_attribute("data-label") for k in range(legend.count())}
        assert {"supply truck, loaded", "supply site", "lanes"} <= labels

        page.get_by_role("button", name="Step").click()
        canvas = city.get_by_test_id("map-0")
        page.wait_for_function(
            "t => Number(document.querySelector('[data-panel=city] [data-testid=map-0]')"
            "?.dataset?.frameNowS) === t",
            arg=now_s,
        )
        assert truck in canvas.get_attribute("data-moving-picks").split()
        x, y = canvas.evaluate("(c, name) => c.twinPickOnScreen(name)", truck)
        box = canvas.bounding_box()
        page.mouse.click(box["x"] + x, box["y"] + y)

        page.wait_for_selector(f"[data-testid=inspect][data-entity='{truck}']")
        inspect = page.get_by_test_id("inspect")

        def shown(key: str) -> str:
            return inspect.locator(f"tr[data-key='{key}'] td.value").inner_text()

        order = truth["order"]
        assert shown("order.from") == order["from"]
        assert shown("order.to") == order["to"]
        assert shown("order.units") == f"{order['units']:,}"
        assert shown("state") == truth["state"]
        late = inspect.locator("tr[data-key='delay.late_by_s'] td.unit").inner_text()
        assert late == duration(truth["delay"]["late_by_s"])[1]
        assert shown("order.dispatched_at_s") == f"{order['dispatched_at_s'] / 3_600:,.2f} h"
        # The route is highlighted on the city, the truck on the network.
        for name in ("city", "network"):
            page.wait_for_function(
                f"() => Number(document.querySelector('[data-panel={name}] "
                "[data-testid=map-0]')?.dataset?.highlighted) > 0"
            )
        page.screenshot(path=ARTIFACTS / "region-truck.png", full_page=True)
        assert watched.problems == []


def test_in_compare_mode_each_panel_draws_both_policies_worlds():
    compare = "maintenance/predictive-v0"
    arguments = [SMALL, "--seed", str(SEED), "--tick-s", "60", "--frames", "3"]
    with served([*arguments, "--compare", compare]) as url, opened(url) as watched:
        page = watched.tab
        policies = page.get_by_test_id("policies")
        assert policies.inner_text() == f"region/policy-set-v0 vs {compare}"
        page.get_by_role("button", name="Step").click()
        for name in ("plant", "city", "network"):
            for arm, policy in enumerate(("region/policy-set-v0", compare)):
                page.wait_for_function(
                    f"() => Number(document.querySelector('[data-panel={name}] "
                    f"[data-testid=map-{arm}]')?.dataset?.frameNowS) === 60"
                )
                caption = panel(page, name).locator(".twin-map-caption").nth(arm)
                assert caption.inner_text().startswith(f"{policy}: ")
        page.screenshot(path=ARTIFACTS / "region-compare.png", full_page=True)
        assert watched.problems == []


def test_two_arms_of_an_experiment_are_watched_side_by_side_by_their_names():
    experiment = str(Path(__file__).resolve().parents[2] / "experiments" / "region.toml")
    arguments = [experiment, "--arm", "all-ai", "--compare", "baseline", "--tick-s", "60"]
    with served(arguments) as url, opened(url) as watched:
        page = watched.tab
        assert page.get_by_test_id("policies").inner_text() == "all-ai vs baseline"
        page.get_by_role("button", name="Step").click()
        for name in ("plant", "city", "network"):
            for arm, label in enumerate(("all-ai", "baseline")):
                page.wait_for_function(
                    f"() => Number(document.querySelector('[data-panel={name}] "
                    f"[data-testid=map-{arm}]')?.dataset?.frameNowS) === 60"
                )
                caption = panel(page, name).locator(".twin-map-caption").nth(arm)
                assert caption.inner_text().startswith(f"{label}: ")
        page.screenshot(path=ARTIFACTS / "region-compare-arms.png", full_page=True)
        assert watched.problems == []
