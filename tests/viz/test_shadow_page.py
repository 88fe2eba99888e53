"""``twin viz SESSION --shadow``: a shadow session on screen, redrawn while it is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import served
from tests.viz.browser import CHROMIUM_ARGS, chromium
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.factory import live as factory_live
from twin.live.branches import LiveRun
from twin.live.emulated_plant import emulate
from twin.live.messages import encode_readings
from twin.live.recording import Recorder
from twin.live.session import run_session, write_session
from twin.live.shadow import Shadow, ShadowOptions
from viz.shadow_app import read_session

OPTIONS = ShadowOptions(
    candidates=("maintenance/run-to-failure-v0", "maintenance/condition-based-v0"),
    kpi="cost_total",
    decision_period_s=SECONDS_PER_DAY / 2,
    look_ahead_s=SECONDS_PER_DAY / 2,
    correction_period_s=SECONDS_PER_HOUR,
    replications=2,
)


def shadow_session(days: float, out: Path) -> Shadow:
    config = ScenarioConfig(
        id="factory/flowline-v0", horizon_s=days * SECONDS_PER_DAY, tick_s=600.0
    )
    plant = emulate(config, "maintenance/run-to-failure-v0", 11, {}, SECONDS_PER_HOUR)
    units = {c.name: c.unit for c in factory_live.channels(plant.plant)}
    with Recorder(out.with_name(out.name + "-plant")) as recorder:
        for batch in plant:
            recorder.record("plant/readings", encode_readings(batch, units))
    shadow = Shadow(LiveRun(config, "maintenance/run-to-failure-v0", 0), OPTIONS)
    run_session(shadow, str(out.with_name(out.name + "-plant")), out)
    return shadow


def test_a_session_reads_as_its_pictures_and_an_empty_one_as_nothing_yet(tmp_path: Path) -> None:
    assert read_session(tmp_path) is None
    shadow = shadow_session(1.0, tmp_path / "session")
    view = read_session(tmp_path / "session")
    assert view is not None
    assert len(view.recommendations) == len(shadow.recommendations) == 1
    assert view.divergence_png.startswith("data:image/png;base64,")
    assert view.branches_png.startswith("data:image/png;base64,")


def test_a_missing_session_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twin", "viz", str(tmp_path / "none"), "--shadow"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("not a directory; --shadow shows a `twin shadow` --out")


@pytest.mark.slow
def test_the_page_shows_the_session_and_follows_it_as_it_grows(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    shadow_session(1.0, tmp_path / "session")
    longer = shadow_session(2.0, tmp_path / "longer")
    with (
        served([str(tmp_path / "session"), "--shadow"]) as url,
        playwright_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.set_default_timeout(60_000)
        page.goto(url)
        decisions = page.locator("[data-testid=shadow-decisions]")
        decisions.wait_for()
        assert decisions.inner_text() == "1"
        source = page.locator("[data-testid=shadow-branches]").get_attribute("src")
        assert source.startswith("data:image/png;base64,")
        page.screenshot(path=str(tmp_path / "shadow.png"))
        # The session goes on: the page follows without a reload.
        write_session(longer, longer.summary(), tmp_path / "session", plots=False)
        page.wait_for_function(
            "n => document.querySelector('[data-testid=shadow-decisions]').innerText === n",
            arg=str(len(longer.recommendations)),
        )
        browser.close()
