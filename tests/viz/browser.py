"""What the browser tests share: Debian's chromium, and a page that records every console
error, failed request and request beyond 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

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

KNOWN_WARNINGS = (
    # Solara's own router component (solara/widgets/vue/navigator.vue) predates
    # `module.exports`; ipyvue warns once and loads it the old way. Not twin's code.
    "Failed to evaluate Vue script and find module.exports",
)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium (.ci/run installs it)")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    return path


class Watched:
    """The page and everything it logged: console errors and warnings, failed
    requests, and requests to any host but 127.0.0.1."""

    def __init__(self, tab) -> None:
        self.tab = tab
        self.problems: list[str] = []
        tab.on("console", self._console)
        tab.on("requestfailed", self._failed)
        tab.on("response", self._response)
        tab.on("request", self._request)
        tab.on("pageerror", lambda e: self.problems.append(f"page error {e}"))

    def _console(self, message) -> None:
        if message.type == "error" or (
            message.type == "warning" and not message.text.startswith(KNOWN_WARNINGS)
        ):
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request) -> None:
        # A reload cancels the old page's "close session" beacon as the page goes away:
        # the browser aborting its own request, not a request the server failed.
        leaving = "/_solara/api/close/" in request.url and request.failure == "net::ERR_ABORTED"
        if not leaving:
            self.problems.append(f"failed request {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status} {response.url}")

    def _request(self, request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http", "ws")) and host != "127.0.0.1":
            self.problems.append(f"request left 127.0.0.1: {request.url}")


@contextlib.contextmanager
def opened(url: str, width: int = 1600, height: int = 1200) -> Iterator[Watched]:
    """``url`` in a fresh headless chromium, watched; closed however the block ends."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield open_tab(browser, url, width, height)
        finally:
            browser.close()


def open_tab(browser, url: str, width: int = 1600, height: int = 1200) -> Watched:
    """``url`` in a new tab of ``browser``, watched, once its map has drawn."""
    tab = browser.new_page(viewport={"width": width, "height": height})
    tab.set_default_timeout(60_000)
    seen = Watched(tab)
    tab.goto(url)
    tab.wait_for_selector("[data-testid=map-0][data-marks]")
    return seen
