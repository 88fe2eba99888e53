"""The live parts of the page as ipyvue widgets the server updates in place.

A played run publishes a frame up to 20 times a second and its status every 0.3 s.
Re-rendering the Solara page for each cost the simulation tens of milliseconds (the
renderer walks the whole page); :class:`LiveWidgets` instead holds the widgets of one
run's view (map, status line, KPI table, charts, inspector) and :meth:`LiveWidgets.push`
sets only the traits that changed, one small message each. The templates are the Vue
files beside this module; ipyvue exposes a widget's ``vue_<name>`` methods to its
template as ``<name>`` (the map's ``select`` and ``hover``, a chart's ``resync``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipyvue
import traitlets

VUE = Path(__file__).parent / "vue"
CHART_PERIOD_S = 1.0
"""Charts get their new points at most this often; the clock and the KPI table come with
every status (0.3 s). Each chart is a message of its own: with seven charts, every status
sent nine messages, and flat out the server's threads that send them hold the
interpreter the simulation needs."""


class SceneMapWidget(ipyvue.VueTemplate):  # type: ignore[misc]
    """The map (``vue/scene_map.vue``): layout and frames as JSON text."""

    template_file = (__file__, str(VUE / "scene_map.vue"))
    panel = traitlets.Unicode("map").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    scene_json = traitlets.Unicode("{}").tag(sync=True)
    frames_json = traitlets.Unicode("[]").tag(sync=True)
    arm_labels = traitlets.List().tag(sync=True)
    selected = traitlets.Any(None, allow_none=True).tag(sync=True)
    hover_info = traitlets.Any(None, allow_none=True).tag(sync=True)

    def __init__(
        self,
        on_select: Callable[[dict[str, Any]], None],
        on_hover: Callable[[dict[str, Any]], None],
        **traits: Any,
    ) -> None:
        super().__init__(**traits)
        self._on_select, self._on_hover = on_select, on_hover

    def vue_select(self, data: dict[str, Any]) -> None:
        self._on_select(data)

    def vue_hover(self, data: dict[str, Any]) -> None:
        self._on_hover(data)


class KpiChartWidget(ipyvue.VueTemplate):  # type: ignore[misc]
    """One KPI's chart (``vue/kpi_chart.vue``): gets only the rows it has not seen."""

    template_file = (__file__, str(VUE / "kpi_chart.vue"))
    title = traitlets.Unicode("").tag(sync=True)
    unit = traitlets.Unicode("").tag(sync=True)
    better = traitlets.Unicode("").tag(sync=True)
    time_unit = traitlets.Unicode("s").tag(sync=True)
    labels = traitlets.List().tag(sync=True)
    chunk = traitlets.Dict().tag(sync=True)

    def __init__(self, on_resync: Callable[[], None], **traits: Any) -> None:
        super().__init__(**traits)
        self._on_resync = on_resync

    def vue_resync(self, data: dict[str, Any]) -> None:
        self._on_resync()


class LiveHtmlWidget(ipyvue.VueTemplate):  # type: ignore[misc]
    """Markup escaped on the server (``vue/live_html.vue``)."""

    template_file = (__file__, str(VUE / "live_html.vue"))
    html = traitlets.Unicode("").tag(sync=True)


class LiveWidgets:
    """The widgets of one run's view and what they were last sent.

    Args:
        panels: ``(name, title, layout JSON, frames JSON)`` of each map panel, in order.
        charts: ``kpi -> (unit, better, time unit, arm labels)``.
        rows: chart history as ``(kpi, start) -> rows from start`` and its length.
        on_select, on_hover: what a click and a hover on the map do.
    """

    def __init__(
        self,
        *,
        panels: list[tuple[str, str, str, str]],
        arm_labels: list[str],
        charts: dict[str, tuple[str, str, str, list[str]]],
        series: Callable[[str, int], list[list[float | None]]],
        on_select: Callable[[dict[str, Any]], None],
        on_hover: Callable[[dict[str, Any]], None],
    ) -> None:
        self.lock = threading.Lock()
        self.series = series
        self.scenes = [
            SceneMapWidget(
                on_select,
                on_hover,
                panel=name,
                title=title,
                scene_json=scene_json,
                frames_json=frames_json,
                arm_labels=arm_labels,
            )
            for name, title, scene_json, frames_json in panels
        ]
        self.scene = self.scenes[0]
        self.status = LiveHtmlWidget()
        self.table = LiveHtmlWidget()
        self.inspector = LiveHtmlWidget()
        self.charts = {
            kpi: KpiChartWidget(
                lambda kpi=kpi: self.resync(kpi),
                title=kpi,
                unit=unit,
                better=better,
                time_unit=time_unit,
                labels=labels,
                chunk={"start": 0, "rows": [], "version": 0},
            )
            for kpi, (unit, better, time_unit, labels) in charts.items()
        }
        self.sent_rows = dict.fromkeys(self.charts, 0)
        self.charts_sent_at = -math.inf
        self.frame_version = -1
        self.status_version = -1

    def push_frame(self, version: int, frames_json: list[str]) -> bool:
        """Send the frames of ``version`` (one JSON text per panel) unless they were
        sent; whether they were."""
        with self.lock:
            if version == self.frame_version:
                return False
            self.frame_version = version
            for scene, frames in zip(self.scenes, frames_json, strict=True):
                scene.frames_json = frames
            return True

    def push_status(self, version: int, html: dict[str, str], rows: int) -> bool:
        """Send the status of ``version`` (markup, and the chart rows up to ``rows``)
        unless it was sent; whether it was."""
        with self.lock:
            if version == self.status_version:
                return False
            self.status_version = version
            self.status.html = html["status"]
            self.table.html = html["table"]
            self.inspector.html = html["inspector"]
            self._push_charts(rows)
            return True

    def push_charts(self, rows: int) -> None:
        """Send the charts their points up to ``rows`` if :data:`CHART_PERIOD_S` has
        passed since they were last sent (the page's poll calls this every time)."""
        with self.lock:
            self._push_charts(rows)

    def _push_charts(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.charts_sent_at < CHART_PERIOD_S:
            return
        sent = False
        for kpi, chart in self.charts.items():
            start = min(self.sent_rows[kpi], rows)
            if start < rows:
                chart.chunk = {"start": start, "rows": self.series(kpi, start), "version": rows}
                self.sent_rows[kpi] = rows
                sent = True
        if sent:
            self.charts_sent_at = now

    def push_selection(self, selected: dict[str, Any] | None, inspector_html: str) -> None:
        with self.lock:
            for scene in self.scenes:
                scene.selected = selected
            self.inspector.html = inspector_html

    def push_hover(self, info: dict[str, Any]) -> None:
        with self.lock:
            for scene in self.scenes:
                scene.hover_info = info

    def resync(self, kpi: str) -> None:
        """A chart missed a chunk: send it everything with the next status."""
        with self.lock:
            self.sent_rows[kpi] = 0
            self.status_version = -1

    def close(self) -> None:
        widgets = (*self.scenes, self.status, self.table, self.inspector, *self.charts.values())
        for widget in widgets:
            widget.close()
