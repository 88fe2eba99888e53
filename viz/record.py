"""Headless replay: a session drawn every N ticks into a GIF (matplotlib Agg + Pillow).

One figure per run: one domain view per policy arm side by side, a title line with the
clock and, in compare mode, the running difference of the headline KPIs. The GIF is
written to a temporary file beside the target and renamed into place, so a failed or
interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from twin.core.files import current_umask
from viz.draw import DomainView, view_for
from viz.session import Session

VIDEO_SUFFIXES = (".mp4", ".webm", ".mkv", ".mov")
FRAME_DPI = 80


class Replay:
    """The figure of a session: one view per arm, built once, updated per frame."""

    def __init__(self, session: Session, size_in: float = 6.0) -> None:
        self.session = session
        arms = len(session.arms)
        # A bare Figure on an Agg canvas, not pyplot: no global figure registry and no
        # backend switch, so a session can draw headless in any process.
        self.figure = Figure(figsize=(size_in * arms, size_in), dpi=FRAME_DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        axes = self.figure.subplots(1, arms, squeeze=False)[0]
        self.views: list[DomainView] = []
        for ax, arm in zip(axes, session.arms, strict=True):
            ax.set_title(arm.label, fontsize=9)
            self.views.append(view_for(ax, arm.run.scenario))
        self.caption = self.figure.text(0.01, 0.01, "", fontsize=8, family="monospace")
        self.figure.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.08, wspace=0.02)

    def rebind(self) -> None:
        """Rebuild the views after :meth:`Session.reset` (the worlds are new)."""
        for ax, arm, k in zip(
            self.figure.axes, self.session.arms, range(len(self.views)), strict=False
        ):
            ax.clear()
            ax.set_title(arm.label, fontsize=9)
            self.views[k] = view_for(ax, arm.run.scenario)

    def update(self, *, with_kpis: bool = True) -> None:
        """Set every dynamic artist to the worlds' current state."""
        for view in self.views:
            view.update(view.frame())
        if with_kpis:
            self.caption.set_text(caption(self.session))

    def render(self) -> np.ndarray:
        """Rasterise the figure; ``(height, width, 4)`` uint8 RGBA."""
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())

    def close(self) -> None:
        self.figure.clear()


def caption(session: Session) -> str:
    """Clock and headline KPIs (or their running difference in compare mode)."""
    clock = f"t = {session.now_s / 3600:7.3f} h"
    if session.compare:
        values = session.difference()
        label = f"{session.arms[1].label} - {session.arms[0].label}:"
    else:
        values = session.headline_kpis(0)
        label = ""
    shown = "  ".join(f"{name} {value:.4g}" for name, value in list(values.items())[:4])
    return f"{clock}  {label} {shown}".rstrip()


def record_gif(
    session: Session,
    out: str | Path,
    *,
    frames: int,
    every: int = 1,
    frame_ms: int = 100,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Draw ``frames`` frames, ``every`` display ticks apart, into the GIF ``out``.

    Returns:
        the number of frames written (fewer when the run reaches its horizon).
    """
    out = Path(out)
    replay = Replay(session)
    images: list[Image.Image] = []
    try:
        for k in range(frames):
            if k:
                if session.done:
                    break
                session.step(every)
            replay.update()
            rgba = replay.render()
            images.append(Image.fromarray(rgba[..., :3].copy()))
            if progress is not None:
                progress(k + 1)
    finally:
        replay.close()
    write_gif_atomically(images, out, frame_ms)
    return len(images)


def write_gif_atomically(images: list[Image.Image], out: Path, frame_ms: int) -> None:
    """Write to a temporary file beside ``out`` and rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".gif", dir=out.parent)
    os.close(handle)
    try:
        first, *rest = images
        first.save(
            temporary,
            format="GIF",
            save_all=True,
            append_images=rest,
            duration=frame_ms,
            loop=0,
            disposal=1,
        )
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None
