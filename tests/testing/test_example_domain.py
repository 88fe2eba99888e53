"""A third-party domain plugs in through entry points alone: examples/conveyor, installed
as its own package, gets twin's policy and scenario checkers, `twin viz` (browser and
--record), `twin list` and a reference page without a line of twin knowing it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import install_example, run_example_tests, served, twin

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "conveyor"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_example(EXAMPLE, tmp_path_factory.mktemp("site"))


def test_twin_lists_the_domain_its_scenario_and_its_policies(installed, tmp_path):
    done = twin(installed, tmp_path, "list")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^  conveyor +\[conveyor\] a conveyor belt", done.stdout, re.M)
    assert "conveyor/belt-v0" in done.stdout
    assert "conveyor/slow-when-crowded-v0" in done.stdout
    assert "BROKEN" not in done.stdout


@pytest.mark.slow
def test_the_example_passes_its_own_tests_with_twins_kit(installed, tmp_path):
    done = run_example_tests(EXAMPLE, installed, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout


def test_twin_viz_records_the_domain_side_by_side(installed, tmp_path):
    out = tmp_path / "belt.gif"
    done = twin(
        installed,
        tmp_path,
        *("viz", "conveyor/belt-v0", "--compare", "conveyor/slow-when-crowded-v0"),
        *("--record", str(out), "--frames", "6", "--tick-s", "60"),
    )
    assert done.returncode == 0, done.stderr
    from PIL import Image

    with Image.open(out) as gif:
        assert gif.n_frames == 6


def test_twin_docs_writes_the_domains_reference_page(installed, tmp_path):
    done = twin(installed, tmp_path, "docs", "--out", str(tmp_path / "pages"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "pages" / "conveyor.md").read_text()
    assert "| `speed` | `float` | 1 | 0.2 .. 1 | current share of top speed |" in page
    assert "| `jams` | jams | lower | jams after the warm-up |" in page
    assert "items are conserved: arrived = delivered + lost + on belt + waiting" in page
    assert 'id: ClassVar[str] = "conveyor/full-speed-v0"' in page
    assert "[conveyor](conveyor.md)" in (tmp_path / "pages" / "README.md").read_text()


def _belt_xy(installed: dict[str, str]) -> tuple[float, float]:
    """Where the belt's pick point is in the domain's plane (computed where the example
    is installed)."""
    script = (
        "from twin.core.scenario import ScenarioConfig\n"
        "from viz.controller import AppTarget, Controller\n"
        "config = ScenarioConfig(id='conveyor/belt-v0', horizon_s=29 * 60.0, tick_s=60.0)\n"
        "c = Controller(AppTarget(config, 'conveyor/full-speed-v0', 0))\n"
        "x, y = c.layout['picks']['xy'][:2]\n"
        "print(x, y)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=installed, capture_output=True, text=True, check=True
    )
    x, y = (float(v) for v in done.stdout.split())
    return x, y


@pytest.mark.slow
def test_the_browser_app_draws_the_domain_and_inspects_its_belt(installed, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium (.ci/run installs it)")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    arguments = ["conveyor/belt-v0", "--tick-s", "60", "--frames", "30"]
    with served(arguments, env=installed) as url, playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.wait_for_selector("[data-testid=clock]")
        for _ in range(3):
            page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=clock]')?.dataset?.nowS) === 180"
        )
        rows = page.locator("[data-testid=kpis] tr[data-kpi]")
        shown = {rows.nth(k).get_attribute("data-kpi") for k in range(rows.count())}
        assert {"delivered_per_h", "jams", "time_in_system_mean_s"} <= shown
        canvas = page.locator("[data-testid=map-0]")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=map-0]')?.dataset?.frameNowS === '180'"
        )
        assert int(canvas.get_attribute("data-marks")) > 0
        assert page.locator("[data-testid=legend] .twin-legend-entry").count() > 0
        # A click on the belt selects it: where that is on screen comes from the layout
        # the app drew.
        x, y = _belt_xy(installed)
        sx, sy = page.evaluate(
            "([x, y]) => document.querySelector('[data-testid=map-0]').twinToScreen(x, y)",
            [x, y],
        )
        canvas.click(position={"x": sx, "y": sy})
        page.wait_for_selector("[data-testid=inspect][data-entity='belt']")
        inspect = page.locator("[data-testid=inspect]")
        assert inspect.locator("tr[data-key='items_on_belt']").count() == 1
        assert inspect.locator("tr[data-key='decided at']").count() == 1
        page.screenshot(path=tmp_path / "conveyor.png", full_page=True)
        browser.close()
