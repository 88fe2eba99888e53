"""The browser app (Solara): the page of the one run ``twin viz`` serves.

Started by ``twin viz`` (:mod:`viz.cli`), which hands the run over in the environment
variable :data:`TARGET_ENV`. The server holds one :class:`~viz.controller.Controller`
(:func:`shared_controller`), so a reloaded page, or a second tab, reattaches to the run
where it is. The page only binds widgets to the controller and polls what it publishes;
what the app does is in :mod:`viz.controller`. ``data-testid`` attributes are the hooks of
the browser test (``tests/viz/test_browser.py``).
"""

from __future__ import annotations

import html
import json
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara

from twin.core.errors import UserError
from viz.controller import SPEEDS, AppTarget, Controller
from viz.inspect_format import format_value
from viz.params_form import ParameterForm
from viz.widgets import LiveWidgets

TARGET_ENV = "TWIN_VIZ_TARGET"
"""JSON of the :class:`AppTarget` the server shows (set by ``twin viz``)."""
POLL_S = 0.05
"""How often a page looks for what the controller published (frames at most 20/s)."""
VUE = Path(__file__).parent / "vue"
NONE = "(none)"
PAGE_CSS = VUE / "page.css"

_controller: Controller | None = None
_controller_lock = threading.Lock()


def shared_controller() -> Controller:
    """The server's one controller, built on first use from :data:`TARGET_ENV`."""
    global _controller
    with _controller_lock:
        if _controller is None:
            raw = os.environ.get(TARGET_ENV)
            if raw is None:
                raise RuntimeError(f"start the app with `twin viz` (it sets {TARGET_ENV})")
            _controller = Controller(AppTarget.from_json(json.loads(raw)))
        return _controller


def _prepare() -> None:
    """Build the run and pay the engine's first-use costs (:meth:`Controller.warm_up`)
    while the server starts and the first page loads, not when Play is first clicked."""
    shared_controller().warm_up()


if TARGET_ENV in os.environ:  # imported by the server `twin viz` started
    threading.Thread(target=_prepare, name="twin-warm-up", daemon=True).start()


def speed_label(speed: float | None) -> str:
    """A real-time factor as people say it: ``x60 (1 min per s)``, ``as fast as it goes``."""
    if speed is None:
        return "max (as fast as it goes)"
    for unit, seconds in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0)):
        if speed >= seconds:
            return f"x{speed:,.0f} ({speed / seconds:g} {unit} per s)"
    return f"x{speed:g}"


def default_speed(controller: Controller) -> float | None:
    """Two display ticks per wall second, the nearest speed the slider offers."""
    wanted = 2.0 * controller.session.tick_s
    offered = [s for s in SPEEDS if s is not None]
    return min(offered, key=lambda s: abs(math.log(s / wanted)))


@solara.component
def Page() -> None:
    controller = shared_controller()
    error = solara.use_reactive("")
    generation = solara.use_reactive(0)  # one per restart: the form starts afresh
    seed = solara.use_reactive(controller.seed)
    tick = solara.use_reactive(controller.session.tick_s)
    overrides = solara.use_reactive(dict(controller.config.params))

    def guarded(action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            _guarded(action, error)()
            if not error.value:
                generation.value += 1

        return run

    def reset() -> None:
        controller.reset(seed.value, tick_s=float(tick.value))

    def apply_params(params: dict[str, Any]) -> None:
        guarded(lambda: controller.reset(seed.value, params=params))()

    choices = controller.policy_choices()
    solara.Title(f"twin: {controller.config.id}")
    solara.Style(PAGE_CSS)
    with solara.Row(classes=["twin-page"], style={"align-items": "flex-start", "gap": "12px"}):
        with solara.Column(style={"width": "340px", "flex": "none"}):
            solara.HTML(tag="h3", unsafe_innerHTML=html.escape(controller.config.id))
            solara.InputInt("Seed", value=seed)
            solara.InputFloat("Display tick tick_s (s)", value=tick)
            solara.Button("Reset", on_click=guarded(reset))
            solara.Select(
                "Policy",
                values=choices,
                value=controller.policy,
                on_value=lambda p: guarded(lambda: controller.reset(seed.value, policy=p))(),
            )
            solara.Select(
                "Compare with",
                values=[NONE, *choices],
                value=controller.compare_policy or NONE,
                on_value=lambda p: guarded(
                    lambda: controller.reset(seed.value, compare=None if p == NONE else p)
                )(),
            )
            if error.value:
                solara.Error(error.value)
            solara.HTML(tag="b", unsafe_innerHTML="Scenario parameters")
            ParameterForm(
                controller.params_model(),
                overrides,
                apply_params,
                controller.resolved_params(),
            ).key(f"parameters-{generation.value}")
        LiveView(controller, error)


@solara.component
def LiveView(controller: Controller, error: Any) -> None:
    """Everything that changes while the run plays.

    It renders only when a restart builds new widgets; in between, a poll pushes what
    the controller published (frames, status, KPI table, chart points, inspector) into
    the widgets of :class:`~viz.widgets.LiveWidgets`, whatever the frame rate, and Play
    and Pause render only the :func:`Transport` buttons (a render of this view held the
    poll, and with it the clock, while the page's structure was walked again). What a
    push costs the simulation is booked against the controller's frame budget
    (:meth:`~viz.controller.Controller.advance`).
    """
    restarts = solara.use_reactive(controller.restarts)
    restarts.value  # noqa: B018  (reading it subscribes the view to restarts)
    playing = solara.use_reactive(controller.playing)  # read by Transport alone

    def select(picked: dict[str, Any]) -> None:
        try:
            controller.select(str(picked["name"]), int(picked["arm"]))
        except ValueError as failure:
            error.value = str(failure).splitlines()[0]
            return
        live.push_selection(
            {"arm": controller.selected_arm, "name": controller.selected},
            _inspection_html(controller),
        )

    def hover(picked: dict[str, Any]) -> None:
        arm, name = int(picked["arm"]), str(picked["name"])
        live.push_hover({"arm": arm, "name": name, "lines": controller.tooltip(name, arm)})

    def build() -> LiveWidgets:
        history = controller.history
        labels = list(history.arms) if len(history.arms) > 1 else []
        return LiveWidgets(
            panels=[
                (panel.name, panel.title, panel.layout_json, panel.frames_json)
                for panel in controller.panels
            ],
            arm_labels=[arm.label for arm in controller.session.arms],
            charts={
                row["kpi"]: (row["unit"], row["better"] or "", controller.clock.unit, labels)
                for row in controller.kpi_table()
            },
            series=lambda kpi, start: controller.history.series(kpi, start),
            on_select=select,
            on_hover=hover,
        )

    live = solara.use_memo(build, dependencies=[controller.restarts])
    solara.use_effect(lambda: live.close, [live])

    def poll(cancel: threading.Event) -> None:
        while not cancel.wait(POLL_S):
            if controller.restarts != restarts.value:
                restarts.value = controller.restarts  # renders the view here; pushes resume after
                continue
            if controller.playing != playing.value:  # the run ended, or another tab played
                playing.value = controller.playing  # renders the buttons only
            # What pushing costs the simulation (the interpreter it holds, the browser's
            # drawing) is booked where it shows: as the simulation's lost wall time.
            live.push_frame(controller.frame_version, controller.panel_frames_json)
            status_version = controller.status_version
            if status_version != live.status_version:
                html = {
                    "status": _status_html(controller, controller.status),
                    "table": _kpi_table_html(controller),
                    "inspector": _inspection_html(controller),
                }
                live.push_status(status_version, html, len(controller.history.rows))
            else:
                live.push_charts(len(controller.history.rows))  # points held back

    solara.use_thread(poll, dependencies=[controller, live], intrusive_cancel=False)

    with solara.Row(style={"flex": "1", "min-width": "0", "align-items": "flex-start"}):
        with solara.Column(style={"flex": "1", "min-width": "0"}):
            Transport(controller, error, playing)
            # Panels side by side while each gets 360 px, wrapping on a narrow page.
            panels = solara.Row(
                children=[
                    solara.Column(children=[scene], style={"flex": "1 1 360px", "min-width": "0"})
                    for scene in live.scenes
                ],
                style={"flex-wrap": "wrap", "align-items": "flex-start"},
            )
            solara.Column(children=[live.status, panels, live.table], gap="4px")
            solara.Row(
                children=[
                    solara.Column(children=[chart], style={"width": "340px"})
                    for chart in live.charts.values()
                ],
                style={"flex-wrap": "wrap"},
            )
        solara.Column(children=[live.inspector], style={"width": "360px", "flex": "none"})


@solara.component
def Transport(controller: Controller, error: Any, playing: Any) -> None:
    """Step, Play/Pause and the speed: the only part of the page that Play, Pause and a
    new speed render (``playing`` is read here alone)."""
    speed = solara.use_reactive(default_speed(controller))

    def toggle_play() -> None:
        if controller.playing:
            controller.pause()
        else:
            controller.play(speed.value)
        playing.value = controller.playing  # the button answers the click at once

    def choose_speed(index: int) -> None:
        speed.value = SPEEDS[index]
        controller.set_speed(speed.value)

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Button(
            "Step",
            on_click=_guarded(lambda: controller.step(1), error),
            disabled=playing.value,
        )
        solara.Button(
            "Pause" if playing.value else "Play",
            on_click=_guarded(toggle_play, error),
            color="primary",
        )
        with solara.v.Html(tag="div", style_="width: 320px", attributes={"data-testid": "speed"}):
            solara.SliderInt(
                f"Speed {speed_label(speed.value)}",
                value=SPEEDS.index(speed.value),
                min=0,
                max=len(SPEEDS) - 1,
                on_value=choose_speed,
            )


def _guarded(action: Callable[[], None], error: Any) -> Callable[[], None]:
    """``action`` with a bad choice shown as one line instead of raised."""

    def run() -> None:
        try:
            action()
            error.value = ""
        except (UserError, ValueError) as failure:
            error.value = str(failure).splitlines()[0]

    return run


def _status_html(controller: Controller, status: Any) -> str:
    session = controller.session
    arms = " vs ".join(html.escape(arm.label) for arm in session.arms)
    rtf = status.measured_rtf
    measured = "" if rtf is None else f" &middot; running at x{rtf:,.1f} real time"
    rtf_value = "" if rtf is None else repr(rtf)
    played = "" if controller.last_play is None else " ".join(map(repr, controller.last_play))
    return (
        f'<div class="twin-status">'
        f'<span data-testid="clock" data-now-s="{status.now_s!r}">'
        f"{html.escape(status.clock)}</span>"
        f' &middot; <span data-testid="state" data-played="{played}">'
        f"{html.escape(status.state)}</span>"
        f' &middot; seed <span data-testid="seed">{controller.seed}</span>'
        f' &middot; <span data-testid="policies">{arms}</span>'
        f'<span data-testid="rtf" data-rtf="{rtf_value}">{measured}</span>'
        f" &middot; {controller.frames_published} frames, publishing "
        f"{controller.budget.slowdown:.0%} of simulating</div>"
    )


def _kpi_table_html(controller: Controller) -> str:
    session = controller.session
    heads = "".join(f"<th>{html.escape(arm.label)}</th>" for arm in session.arms)
    if session.compare:
        heads += "<th>difference</th>"
    body = []
    for row in controller.kpi_table():
        values = list(row["values"]) + ([row["difference"]] if "difference" in row else [])
        verdict = _verdict(row) if "difference" in row else ""
        cells = "".join(
            f'<td data-arm="{k}" data-value="{value!r}"'
            + (f' class="{verdict}" data-verdict="{verdict}"' if k == 2 and verdict else "")
            + f">{_number(value)}"
            + (f" {verdict}" if k == 2 and verdict in ("better", "worse") else "")
            + "</td>"
            for k, value in enumerate(values)
        )
        body.append(
            f'<tr data-kpi="{html.escape(row["kpi"])}"><td>{html.escape(row["kpi"])}</td>'
            f"<td>{html.escape(row['unit'])}</td>{cells}</tr>"
        )
    return (
        '<table data-testid="kpis" class="twin-kpis">'
        f"<tr><th>KPI</th><th>unit</th>{heads}</tr>{''.join(body)}</table>"
    )


def _verdict(row: dict[str, Any]) -> str:
    """``better``, ``worse`` or ``same`` for the second arm, by the KPI's direction."""
    difference, better = row["difference"], row["better"]
    if better is None or not math.isfinite(difference):
        return ""
    if difference == 0:
        return "same"
    return "better" if (difference < 0) == (better == "lower") else "worse"


def _inspection_html(controller: Controller) -> str:
    rows = controller.inspection_rows()
    if not rows:
        return (
            '<div data-testid="inspect"><b>Inspector</b><br>Click something on the map '
            "(a machine, an intersection, a site) to inspect it here.</div>"
        )
    cells = "".join(
        f'<tr data-key="{html.escape(row.key)}"><td class="key">{html.escape(row.key)}</td>'
        f'<td class="value">{html.escape(row.text)}</td>'
        f'<td class="unit">{html.escape(row.unit)}</td></tr>'
        for row in rows
    )
    entity = html.escape(str(controller.selected))
    return (
        f'<div data-testid="inspect" data-entity="{entity}"><b>{entity}</b>'
        f'<table class="twin-inspect">{cells}</table></div>'
    )


def _number(value: float) -> str:
    return format_value(float(value))
