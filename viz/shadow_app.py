"""The shadow page (``twin viz SESSION --shadow``): a ``twin shadow`` session on screen,
redrawn every few seconds while the session writes it.

It shows the twin against the measurements (each channel's divergence as a share of its
alarm threshold), the estimates, and the what-if branches' forecasts at every decision
epoch, from the session's files alone (:mod:`twin.live.session`); it never talks to the
broker or the twin. ``data-testid`` attributes are the browser test's hooks.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import solara

from twin.live.plots import branches_figure, divergence_figure

SESSION_ENV = "TWIN_VIZ_SHADOW"
"""The session directory the page shows (set by ``twin viz --shadow``)."""
REFRESH_S = 2.0


@dataclass(frozen=True)
class SessionView:
    """What a session's files say now."""

    summary: dict[str, Any]
    recommendations: list[dict[str, Any]]
    divergence_png: str
    branches_png: str


def read_session(directory: Path) -> SessionView | None:
    """The session in ``directory`` as pictures; None until its first decision is written."""
    try:
        summary = json.loads((directory / "summary.json").read_text())
        recommendations = json.loads((directory / "recommendations.json").read_text())
        channels = json.loads((directory / "channels.json").read_text())
        divergence = pd.read_parquet(directory / "divergence.parquet")
        estimates = pd.read_parquet(directory / "estimates.parquet")
    except FileNotFoundError:
        return None
    alarms = {name: float(spec["alarm"]) for name, spec in channels.items()}
    title = str(summary.get("scenario", ""))
    return SessionView(
        summary,
        recommendations,
        _png(divergence_figure(divergence, alarms, estimates, recommendations, title)),
        _png(branches_figure(recommendations)),
    )


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@solara.component
def Page() -> None:
    directory = Path(os.environ.get(SESSION_ENV, "."))
    view = solara.use_reactive(read_session(directory))

    def refresh(cancel: threading.Event) -> None:
        while not cancel.wait(REFRESH_S):
            view.value = read_session(directory)

    solara.use_thread(refresh, dependencies=[], intrusive_cancel=False)
    solara.Title("twin shadow")
    current = view.value
    if current is None:
        solara.Markdown(f"Waiting for the first decision of the session in `{directory}` ...")
        return
    summary = current.summary
    text = {key: html.escape(str(summary.get(key, ""))) for key in ("scenario", "policy_now")}
    messages = summary.get("messages", {})
    rejected = sum(v for k, v in messages.items() if k != "accepted")
    alarms = sum(summary.get("alarms", {}).values())
    last = current.recommendations[-1] if current.recommendations else {}
    with solara.Column():
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<b>{text['scenario']}</b>: twin at "
                f"<span data-testid='shadow-now' data-now-s='{summary.get('now_s', 0)}'>"
                f"{float(summary.get('now_s', 0)) / 3600.0:.1f} h</span>; readings accepted "
                f"{messages.get('accepted', 0)}, rejected {rejected}; alarms "
                f"<span data-testid='shadow-alarms'>{alarms}</span>; policy now "
                f"<span data-testid='shadow-policy'>{text['policy_now']}</span>; "
                f"decisions <span data-testid='shadow-decisions'>"
                f"{len(current.recommendations)}</span>"
                + (
                    f"; last recommended {html.escape(str(last['policy']))} at "
                    f"{float(last['t']) / 3600.0:.1f} h"
                    if last
                    else ""
                )
            ),
        )
        solara.HTML(
            tag="img",
            attributes={
                "src": current.divergence_png,
                "data-testid": "shadow-divergence",
                "width": "900",
            },
        )
        solara.HTML(
            tag="img",
            attributes={
                "src": current.branches_png,
                "data-testid": "shadow-branches",
                "width": "900",
            },
        )
