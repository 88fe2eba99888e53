"""The browser app (Solara): one :class:`~viz.controller.Controller` per browser tab.

Started by ``twin viz`` (:mod:`viz.cli`), which hands the run over in the environment
variable :data:`TARGET_ENV`. The page only binds widgets to the controller; what the app
does is in :mod:`viz.controller`. ``data-testid`` attributes are the hooks of the browser
test (``tests/viz/test_browser.py``).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara

from twin.core.errors import UserError
from viz.controller import AppTarget, Controller

TARGET_ENV = "TWIN_VIZ_TARGET"
"""JSON of the :class:`AppTarget` the server shows (set by ``twin viz``)."""
SPEEDS = ("2", "10", "50", "max")
"""Display ticks per wall second while playing; ``max``: as fast as the engine goes."""
VUE = Path(__file__).parent / "vue"
NONE = "(none)"


@solara.component_vue(str(VUE / "frame_image.vue"))
def FrameImage(src: str, event_pick: Callable[[dict[str, float]], None]) -> None:
    pass


@solara.component_vue(str(VUE / "kpi_chart.vue"))
def KpiCanvas(
    title: str,
    labels: list[str],
    chunk: dict[str, Any],
    event_resync: Callable[[dict[str, int]], None],
) -> None:
    pass


@solara.component
def KpiChart(controller: Controller, kpi: str, unit: str, version: int) -> None:
    """A live chart of one KPI that sends the browser only the points it has not seen."""
    sent = solara.use_ref((0, 0))  # (id of the history, rows sent)
    resyncs = solara.use_reactive(0)
    history = controller.history
    seen_history, seen_rows = sent.current
    start = seen_rows if seen_history == id(history) and seen_rows <= len(history.rows) else 0
    rows = history.series(kpi, start)
    sent.current = (id(history), len(history.rows))

    def resync(_: dict[str, int]) -> None:
        sent.current = (0, 0)
        resyncs.value += 1

    KpiCanvas(
        title=f"{kpi} ({unit})" if unit else kpi,
        labels=list(history.arms) if len(history.arms) > 1 else [],
        chunk={"start": start, "rows": rows, "version": version},
        event_resync=resync,
    )


@solara.component
def Page() -> None:
    controller = solara.use_memo(_new_controller, dependencies=[])
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("max")
    seed = solara.use_reactive(controller.seed)
    error = solara.use_reactive("")
    params_text = solara.use_reactive(json.dumps(controller.config.params, indent=1))

    def redraw() -> None:
        version.value += 1

    def guarded(action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
                error.value = ""
            except (UserError, ValueError) as failure:
                error.value = str(failure).splitlines()[0]
            redraw()

        return run

    def play_loop(cancel: threading.Event) -> None:
        if not playing.value:
            return
        controller.play()
        while not cancel.is_set():
            started = time.perf_counter()
            pace_s = None if speed.value == "max" else 1.0 / float(speed.value)
            drawn = controller.advance(1, pace_s=pace_s)
            if drawn is None:
                break
            if drawn:
                redraw()
            if pace_s is not None:
                cancel.wait(max(0.0, pace_s - (time.perf_counter() - started)))
        playing.value = False
        redraw()

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)

    def toggle_play() -> None:
        if playing.value:
            controller.pause()  # returns once the clock stands still
        playing.value = not playing.value

    def step() -> None:
        controller.step(controller.ticks_per_frame)

    def reset() -> None:
        controller.pause()
        controller.reset(seed.value)

    def apply_params() -> None:
        try:
            params = json.loads(params_text.value or "{}")
        except json.JSONDecodeError as bad:
            raise UserError(f"parameters: not JSON ({bad.msg} at line {bad.lineno})") from None
        if not isinstance(params, dict):
            raise UserError("parameters: expected a JSON object of scenario parameters")
        controller.pause()
        controller.reset(seed.value, params=params)

    def choose_policy(policy: str) -> None:
        controller.pause()
        controller.reset(seed.value, policy=policy)

    def choose_compare(policy: str) -> None:
        controller.pause()
        controller.reset(seed.value, compare=None if policy == NONE else policy)

    def pick(point: dict[str, float]) -> None:
        controller.click(float(point["x"]), float(point["y"]))

    choices = controller.policy_choices()
    with solara.Columns([1, 3]):
        with solara.Column():
            solara.Markdown(f"**{controller.config.id}**")
            with solara.Row():
                solara.Button("Step", on_click=guarded(step), disabled=playing.value)
                solara.Button(
                    "Pause" if playing.value else "Play",
                    on_click=toggle_play,
                    color="primary",
                )
                solara.Button("Reset", on_click=guarded(reset))
            solara.Text("Speed (display ticks per second)")
            solara.ToggleButtonsSingle(value=speed, values=list(SPEEDS))
            solara.InputInt("Seed", value=seed)
            solara.Select(
                "Policy",
                values=choices,
                value=controller.policy,
                on_value=lambda p: guarded(lambda: choose_policy(p))(),
            )
            solara.Select(
                "Compare with",
                values=[NONE, *choices],
                value=controller.compare_policy or NONE,
                on_value=lambda p: guarded(lambda: choose_compare(p))(),
            )
            with solara.Details("Parameters", expand=False):
                for name, value in controller.scalar_params().items():
                    ParameterInput(name, value, params_text)
            solara.InputTextArea("Scenario parameters (JSON overrides)", value=params_text)
            solara.Button("Apply parameters", on_click=guarded(apply_params))
            with solara.Details("All parameters (defaults filled in)"):
                solara.Preformatted(json.dumps(controller.resolved_params(), indent=1))
            if error.value:
                solara.Error(error.value)
        with solara.Column():
            solara.HTML(tag="div", unsafe_innerHTML=_status_html(controller, playing.value))
            FrameImage(src=_data_url(controller.png), event_pick=guarded_pick(pick, redraw))
            solara.HTML(tag="div", unsafe_innerHTML=_kpi_table_html(controller))
            with solara.Row(style={"flex-wrap": "wrap"}):
                for row in controller.kpi_table():
                    with solara.Column(style={"width": "360px"}):
                        KpiChart(controller, row["kpi"], row["unit"], version.value)
            solara.HTML(tag="div", unsafe_innerHTML=_inspection_html(controller))


@solara.component
def ParameterInput(name: str, value: bool | int | float, overrides: Any) -> None:
    """One top-level scenario parameter; a change is written into the JSON overrides,
    which *Apply parameters* then validates and applies."""
    current = _overrides(overrides.value).get(name, value)

    def write(new: Any) -> None:
        if new is None:
            return
        edited = _overrides(overrides.value)
        edited[name] = new
        overrides.value = json.dumps(edited, indent=1)

    if isinstance(value, bool):
        solara.Checkbox(label=name, value=bool(current), on_value=write)
    elif isinstance(value, int):
        solara.InputInt(name, value=int(current), on_value=write)
    else:
        solara.InputFloat(name, value=float(current), on_value=write)


def _overrides(text: str) -> dict[str, Any]:
    """The JSON overrides as a dict; empty while the text is not a JSON object."""
    try:
        parsed = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def guarded_pick(
    pick: Callable[[dict[str, float]], None], redraw: Callable[[], None]
) -> Callable[[dict[str, float]], None]:
    def run(point: dict[str, float]) -> None:
        pick(point)
        redraw()

    return run


def _new_controller() -> Controller:
    raw = os.environ.get(TARGET_ENV)
    if raw is None:
        raise RuntimeError(f"start the app with `twin viz` (it sets {TARGET_ENV})")
    return Controller(AppTarget.from_json(json.loads(raw)))


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _status_html(controller: Controller, playing: bool) -> str:
    session = controller.session
    arms = " vs ".join(html.escape(arm.label) for arm in session.arms)
    state = "done" if session.done else ("playing" if playing else "paused")
    return (
        f'<div style="font-family: monospace">'
        f'<span data-testid="clock" data-now-s="{session.now_s!r}">'
        f"t = {session.now_s:,.0f} s ({session.now_s / 3600:.3f} h)</span>"
        f' &middot; <span data-testid="state">{state}</span>'
        f' &middot; seed <span data-testid="seed">{controller.seed}</span>'
        f' &middot; <span data-testid="policies">{arms}</span>'
        f" &middot; frames {controller.frames}, drawing {controller.budget.slowdown:.0%}"
        " of simulating</div>"
    )


def _kpi_table_html(controller: Controller) -> str:
    session = controller.session
    heads = "".join(f"<th>{html.escape(arm.label)}</th>" for arm in session.arms)
    if session.compare:
        heads += "<th>difference</th>"
    body = []
    for row in controller.kpi_table():
        values = list(row["values"]) + ([row["difference"]] if "difference" in row else [])
        cells = "".join(
            f'<td data-arm="{k}" data-value="{value!r}" style="text-align:right">'
            f"{_number(value)}</td>"
            for k, value in enumerate(values)
        )
        body.append(
            f'<tr data-kpi="{html.escape(row["kpi"])}"><td>{html.escape(row["kpi"])}</td>'
            f"<td>{html.escape(row['unit'])}</td>{cells}</tr>"
        )
    return (
        '<table data-testid="kpis" style="font-family: monospace; font-size: 13px">'
        f"<tr><th>KPI</th><th>unit</th>{heads}</tr>{''.join(body)}</table>"
    )


def _inspection_html(controller: Controller) -> str:
    info = controller.inspection()
    if info is None:
        return (
            '<div data-testid="inspect">Click something in the view (a machine, an '
            "intersection, a site) to inspect it.</div>"
        )
    decision = info.pop("last_decision", None)
    lines = [f"{key}: {_short(value)}" for key, value in info.items()]
    if decision is None:
        lines.append("policy: no decision for it yet")
    else:
        lines.append(f"policy's last observation (t = {decision.now_s:g} s):")
        lines.append(f"  {_short(decision.observation, 600)}")
        lines.append(f"policy's last action: {_short(decision.action)}")
    return (
        f'<pre data-testid="inspect" data-entity="{html.escape(str(info["entity"]))}">'
        + html.escape("\n".join(lines))
        + "</pre>"
    )


def _number(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.6g}"


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
