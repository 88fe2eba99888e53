"""The browser app end to end: ``twin viz`` served on localhost, driven in Chromium.

Playwright drives Debian's ``chromium`` (``.ci/run`` installs it; Playwright's own
browser download cannot work offline). Every value read off the page is checked against
the engine's own for the same seed. Screenshots go to ``artifacts/viz/``.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import served
from twin.core.scenario import ScenarioConfig
from viz.controller import AppTarget, Controller
from viz.session import Session

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "viz"
SCENARIO = "traffic/grid4x4-v0"
TICK_S = 120.0
FRAMES = 60
SEED = 7
# The flags a sandboxed, offline machine needs (no GPU, no background connections).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# One app and one page serve the module's tests in order (compare mode, then parameters):
# they stay together on one xdist worker (`--dist loadscope` in the Makefile).
pytestmark = pytest.mark.slow


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium (.ci/run installs it)")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    arguments = [SCENARIO, "--tick-s", str(TICK_S), "--frames", str(FRAMES), "--seed", str(SEED)]
    with served(arguments) as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1600, "height": 1200})
        tab.set_default_timeout(60_000)
        tab.goto(server)
        tab.wait_for_selector("[data-testid=clock]")
        yield tab
        browser.close()


def engine(policies: list[str], ticks: int) -> Session:
    """The engine's own run: the same scenario, seed and ticks, without any browser."""
    config = ScenarioConfig(id=SCENARIO, horizon_s=(FRAMES - 1) * TICK_S, tick_s=TICK_S, params={})
    session = Session(config, policies, SEED)
    session.step(ticks)
    return session


def clock_s(page) -> float:
    return float(page.locator("[data-testid=clock]").get_attribute("data-now-s"))


def wait_for_clock(page, now_s: float) -> None:
    page.wait_for_function(
        "t => Number(document.querySelector('[data-testid=clock]').dataset.nowS) === t",
        arg=now_s,
    )


def shown_kpis(page, arm: int) -> dict[str, float]:
    cells = page.locator(f"[data-testid=kpis] tr[data-kpi] td[data-arm='{arm}']")
    rows = page.locator("[data-testid=kpis] tr[data-kpi]")
    return {
        rows.nth(k).get_attribute("data-kpi"): float(cells.nth(k).get_attribute("data-value"))
        for k in range(rows.count())
    }


def chart_points(page, kpi: str) -> int:
    chart = page.locator(f".twin-kpi-chart[data-kpi^='{kpi} ']")
    return int(chart.get_attribute("data-points"))


def assert_same(shown: dict[str, float], truth: dict[str, float]) -> None:
    # Equal up to rounding: the page reads KPIs at every frame, so the fuel of vehicles
    # still driving enters the ledger in parts that add up in another order.
    assert shown.keys() == truth.keys()
    for name, value in truth.items():
        same = math.isclose(shown[name], value, rel_tol=1e-12, abs_tol=1e-12)
        assert (math.isnan(value) and math.isnan(shown[name])) or same, name


def choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has_text=label).click()
    page.locator(".menuable__content__active .v-list-item", has_text=option).first.click()


def test_step_advances_the_clock_and_shows_the_engines_kpis(page):
    assert clock_s(page) == 0.0
    for k in range(1, 5):
        page.get_by_role("button", name="Step").click()
        wait_for_clock(page, k * TICK_S)
    truth = engine(["signals/fixed-time-v0"], 4)
    assert truth.now_s == clock_s(page) == 4 * TICK_S
    shown = shown_kpis(page, 0)
    assert_same(shown, truth.headline_kpis(0))
    assert math.isfinite(shown["trip_duration_mean_s"])  # trips finished: KPIs advanced
    assert chart_points(page, "co2e_kg") == 5  # the first frame and one per step
    page.screenshot(path=ARTIFACTS / "01-stepped.png", full_page=True)


def test_clicking_an_intersection_shows_its_state_and_the_policys_last_decision(page):
    target = AppTarget(
        ScenarioConfig(id=SCENARIO, horizon_s=(FRAMES - 1) * TICK_S, tick_s=TICK_S),
        "signals/fixed-time-v0",
        SEED,
    )
    layout_of = Controller(target)
    view, ax = layout_of.replay.views[0], layout_of.replay.figure.axes[0]
    k = view.layout.pick_names.index("intersection:J1_1")
    x, y = ax.transData.transform(view.layout.pick_xy[k])
    _, height = layout_of.image_size
    image = page.locator("[data-testid=frame]")
    scale = image.bounding_box()["width"] / layout_of.image_size[0]
    image.click(position={"x": x * scale, "y": (height - y) * scale})
    inspect = page.locator("[data-testid=inspect]")
    page.wait_for_selector("[data-testid=inspect][data-entity='intersection:J1_1']")
    assert "phase:" in inspect.inner_text()
    assert "policy's last action" in inspect.inner_text()
    page.screenshot(path=ARTIFACTS / "02-inspect.png", full_page=True)


def test_switching_the_policy_restarts_on_the_same_seed(page):
    choose(page, "Policy", "signals/actuated-v0")
    page.wait_for_selector("[data-testid=policies]:has-text('signals/actuated-v0')")
    assert clock_s(page) == 0.0
    for k in range(1, 4):
        page.get_by_role("button", name="Step").click()
        wait_for_clock(page, k * TICK_S)
    assert_same(shown_kpis(page, 0), engine(["signals/actuated-v0"], 3).headline_kpis(0))
    page.screenshot(path=ARTIFACTS / "03-actuated.png", full_page=True)


def test_compare_mode_runs_two_policies_in_lock_step_with_their_difference(page):
    choose(page, "Compare with", "signals/max-pressure-v0")
    page.wait_for_selector("[data-testid=policies]:has-text('signals/max-pressure-v0')")
    for k in range(1, 5):
        page.get_by_role("button", name="Step").click()
        wait_for_clock(page, k * TICK_S)
    truth = engine(["signals/actuated-v0", "signals/max-pressure-v0"], 4)
    assert_same(shown_kpis(page, 0), truth.headline_kpis(0))
    assert_same(shown_kpis(page, 1), truth.headline_kpis(1))
    assert_same(shown_kpis(page, 2), truth.difference())
    assert chart_points(page, "time_loss_mean_s") == 5  # started again with compare mode
    page.screenshot(path=ARTIFACTS / "04-compare.png", full_page=True)


def test_play_at_a_chosen_speed_runs_on_until_paused(page):
    # Two display ticks per second: the run (55 more ticks to its horizon) is still
    # playing when Pause is clicked, however slow the machine. Flat out it could end
    # first, and the button would say Play again.
    page.get_by_role("button", name="2", exact=True).click()
    before = clock_s(page)
    started = time.monotonic()
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "t => Number(document.querySelector('[data-testid=clock]').dataset.nowS) > t + 600",
        arg=before,
    )
    page.get_by_role("button", name="Pause").click()
    page.wait_for_selector("[data-testid=state]:has-text('paused')")
    paused_at = clock_s(page)
    # Paced: at most 2 ticks of 120 s per wall second (and one tick of slack).
    assert paused_at - before <= (2 * (time.monotonic() - started) + 1) * TICK_S
    time.sleep(1.0)
    assert clock_s(page) == paused_at > before
    page.screenshot(path=ARTIFACTS / "05-played.png", full_page=True)


def test_a_parameter_input_writes_the_overrides_and_apply_restarts_with_them(page):
    page.get_by_text("Parameters", exact=True).click()
    field = page.get_by_label("step_s")
    field.fill("0.5")
    field.press("Enter")
    area = page.locator("textarea")
    page.wait_for_function("() => document.querySelector('textarea').value.includes('step_s')")
    assert '"step_s": 0.5' in area.input_value()
    page.get_by_role("button", name="Apply parameters").click()
    wait_for_clock(page, 0.0)
    page.get_by_role("button", name="Step").click()
    wait_for_clock(page, TICK_S)
    config = ScenarioConfig(
        id=SCENARIO,
        horizon_s=(FRAMES - 1) * TICK_S,
        tick_s=TICK_S,
        params={"step_s": 0.5},
    )
    truth = Session(config, ["signals/actuated-v0", "signals/max-pressure-v0"], SEED)
    truth.step(1)
    assert_same(shown_kpis(page, 0), truth.headline_kpis(0))
    # ... and not the run with the default 1 s kernel step.
    default = engine(["signals/actuated-v0", "signals/max-pressure-v0"], 1)
    assert shown_kpis(page, 0)["network_co2_kg"] != default.headline_kpis(0)["network_co2_kg"]
    page.screenshot(path=ARTIFACTS / "06-parameter.png", full_page=True)


def test_a_bad_parameter_is_one_line_and_the_run_goes_on(page):
    before = clock_s(page)
    area = page.locator("textarea")
    area.fill('{"grid": {"rows": -1}}')
    area.blur()
    page.get_by_role("button", name="Apply parameters").click()
    error = page.locator(".v-alert", has_text="grid.rows")
    error.wait_for()
    assert error.inner_text().strip().startswith("parameters: scenario.params.grid.rows")
    assert "\n" not in error.inner_text().strip()
    assert clock_s(page) == before
    page.screenshot(path=ARTIFACTS / "07-bad-parameter.png", full_page=True)
