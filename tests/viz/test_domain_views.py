"""Every registered domain's view, opened cold in Chromium at its defaults, explains itself:
a legend entry for every colour and symbol it draws, labels on its entities, the clock in
the domain's own unit, KPIs with units, and a picture that changes as the run goes on.
Screenshots go to ``artifacts/viz/domains/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import served
from tests.viz.browser import opened
from twin.core.run import default_registry
from twin.core.scenario import ScenarioConfig
from viz.controller import AppTarget, Controller
from viz.scene_data import layout_data

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "viz" / "domains"
FRAMES = 30
STEPS = 3
pytestmark = pytest.mark.slow


def default_scenarios() -> list[tuple[str, str]]:
    """(domain, the scenario its first decision area's baseline is tried in)."""
    chosen = []
    for domain in default_registry().domains():
        area = domain.areas[0]
        config, _ = area.run_config(area.baseline)
        chosen.append((domain.name, config.id))
    return chosen


def legend_labels(layout: dict) -> set[str]:
    """Every label the layout gives a colour or a symbol."""
    labels = {part["label"] for part in layout["static"]}
    for layer in layout["layers"]:
        labels.update(layer["labels"])
    return labels - {""}


@pytest.mark.parametrize(("domain", "scenario"), default_scenarios())
def test_a_domains_view_opened_cold_explains_itself(domain, scenario):
    registry = default_registry()
    clock = registry.domain(domain).clock
    config = ScenarioConfig(
        id=scenario,
        horizon_s=(FRAMES - 1) * clock.display_tick_s,
        tick_s=clock.display_tick_s,
    )
    truth = Controller(AppTarget(config, registry.scenario(scenario).default_policy, 0))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with served([scenario, "--frames", str(FRAMES)]) as url, opened(url, height=1100) as watched:
        page = watched.tab
        legend = page.locator("[data-testid=legend] .twin-legend-entry")
        shown = {legend.nth(k).get_attribute("data-label") for k in range(legend.count())}
        assert shown == legend_labels(layout_data(truth.views[0].layout, truth.views[0].frame()))
        assert int(page.get_by_test_id("map-0").get_attribute("data-labels")) > 0
        pictures = [page.get_by_test_id("map-0").evaluate("c => c.toDataURL()")]
        for k in range(1, STEPS + 1):
            page.get_by_role("button", name="Step").click()
            page.wait_for_function(
                "t => Number(document.querySelector('[data-testid=clock]')?.dataset?.nowS) === t",
                arg=k * clock.display_tick_s,
            )
            page.wait_for_function(
                "t => Number(document.querySelector('[data-testid=map-0]')"
                "?.dataset?.frameNowS) === t",
                arg=k * clock.display_tick_s,
            )
            pictures.append(page.get_by_test_id("map-0").evaluate("c => c.toDataURL()"))
        now_s = STEPS * clock.display_tick_s
        assert page.get_by_test_id("clock").inner_text() == clock.format(now_s)
        assert len(set(pictures)) > 1, "nothing on the map changed in three display ticks"
        truth.step(STEPS)
        rows = page.locator("[data-testid=kpis] tr[data-kpi]")
        units = {
            rows.nth(k).get_attribute("data-kpi"): rows.nth(k).locator("td").nth(1).inner_text()
            for k in range(rows.count())
        }
        assert units == {row["kpi"]: row["unit"] for row in truth.kpi_table()}
        page.screenshot(path=ARTIFACTS / f"{domain}.png", full_page=True)
        assert watched.problems == []
