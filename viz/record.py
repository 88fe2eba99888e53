"""Headless replay: a session drawn every N ticks into a GIF or an MP4.

One figure per run, drawing what the page draws: each policy arm in its scenario's
panels (one domain view, or a region's plant, city and network side by side), a selected
entity emphasised as the page emphasises it, and a caption line with the clock and the
headline KPIs or, in compare mode, their running difference. Frames are
rasterised by matplotlib's Agg; a GIF is written by Pillow, an MP4 (H.264) by the ffmpeg
binary that the ``imageio-ffmpeg`` package carries, so no system ffmpeg is needed. Either
is written to a temporary file beside the target and renamed into place, so a failed or
interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from twin.core.draw import SceneArtists
from twin.core.files import staged
from twin.core.scene import Highlight, HighlightingView, View
from viz.session import Session

FORMATS = (".gif", ".mp4")
FRAME_DPI = 80
VIDEO_FPS = 10


class Replay:
    """The figure of a session, built once and updated per frame: what the page shows.

    Each arm is drawn in its scenario's panels (:meth:`Session.panels`): one panel's
    arms side by side, or, where a scenario draws several (a region's plant, city and
    network), a row of panels per arm. ``selected`` names an entity every panel
    emphasises as the page does (a truck: its route on the city, its place on the
    network), in every arm, each arm's own.
    """

    def __init__(self, session: Session, size_in: float = 6.0, selected: str | None = None) -> None:
        self.session = session
        self.selected = selected
        arms = len(session.arms)
        panels = len(session.panels(0))
        rows, columns = (1, arms) if panels == 1 else (arms, panels)
        # A bare Figure on an Agg canvas, not pyplot: no global figure registry and no
        # backend switch, so a session can draw headless in any process.
        self.figure = Figure(figsize=(size_in * columns, size_in * rows), dpi=FRAME_DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.axes = list(self.figure.subplots(rows, columns, squeeze=False).ravel())
        # Before the views: they size markers and place labels by where the axes sit.
        self.figure.subplots_adjust(
            left=0.01, right=0.99, top=1 - 0.06 / rows, bottom=0.08 / rows, wspace=0.02, hspace=0.1
        )
        self.views: list[SceneArtists] = []
        self.titles: list[str] = []
        self._background: Any = None
        self._build()

    def _build(self) -> None:
        """Draw every arm's panels on the axes, arm after arm."""
        self.views, self.titles = [], []
        drawn = [
            (arm, panel)
            for k, arm in enumerate(self.session.arms)
            for panel in self.session.panels(k)
        ]
        for ax, (arm, panel) in zip(self.axes, drawn, strict=True):
            ax.clear()
            title = f"{arm.label}: {panel.title}" if panel.title else arm.label
            ax.set_title(title, fontsize=9)
            self.titles.append(title)
            self.views.append(SceneArtists(ax, panel.view))
        self._mark_dynamic()

    def _mark_dynamic(self) -> None:
        # Animated artists are left out of a full draw: the background holds only the
        # static parts (roads, aisles, titles) and each frame blits the rest over it.
        for artist in self._dynamic():
            artist.set_animated(True)
        self._background = None

    def _dynamic(self) -> list[Any]:
        return [a for view in self.views for a in view.dynamic]

    def rebind(self) -> None:
        """Rebuild the views after :meth:`Session.reset` (the worlds are new)."""
        self._build()

    def update(self) -> None:
        """Set every dynamic artist to the worlds' current state (and the selection's)."""
        for view in self.views:
            view.update(view.frame(), self._highlight(view.view), self.selected)

    def _highlight(self, view: View) -> Highlight | None:
        if self.selected is None or not isinstance(view, HighlightingView):
            return None
        return view.highlight(self.selected)

    def render(self) -> np.ndarray:
        """Rasterise the figure; ``(height, width, 4)`` uint8 RGBA (a view of the canvas).

        The static parts are drawn once and cached; a frame restores them and draws only
        the dynamic artists on top (blitting).
        """
        canvas = self.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._dynamic():
            self.figure.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())

    def close(self) -> None:
        self.figure.clear()


def caption(session: Session) -> str:
    """Clock in the domain's own unit and headline KPIs (or their running difference in
    compare mode)."""
    clock = session.domain.clock.format(session.now_s)
    if session.compare:
        values = session.difference()
        label = f"{session.arms[1].label} - {session.arms[0].label}:"
    else:
        values = session.headline_kpis(0)
        label = ""
    shown = "  ".join(f"{name} {value:.4g}" for name, value in list(values.items())[:4])
    return f"{clock}  {label} {shown}".rstrip()


def record(
    session: Session,
    out: str | Path,
    *,
    frames: int,
    every: int = 1,
    frame_ms: int = 100,
    progress: Callable[[int], None] | None = None,
    selected: str | None = None,
) -> int:
    """Draw ``frames`` frames, ``every`` display ticks apart, into ``out`` (.gif or .mp4),
    with what ``selected`` (an entity) highlights, as the page shows a selection.

    Returns:
        the number of frames written (fewer when the run reaches its horizon).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    images = _frames(session, frames, every, progress, selected)
    if suffix == ".gif":
        drawn = list(images)
        write_gif_atomically(drawn, out, frame_ms)
        return len(drawn)
    if suffix == ".mp4":
        return write_mp4_atomically(images, out, fps=1000 / frame_ms)
    raise ValueError(f"unknown format {suffix!r}; use one of {', '.join(FORMATS)}")


def _frames(
    session: Session,
    frames: int,
    every: int,
    progress: Callable[[int], None] | None,
    selected: str | None,
) -> Iterator[Image.Image]:
    replay = Replay(session, selected=selected)
    try:
        for k in range(frames):
            if k:
                if session.done:
                    break
                session.step(every)
            replay.update()
            image = Image.fromarray(replay.render()[..., :3].copy())
            # The caption is drawn by Pillow: its bitmap font costs well under a
            # millisecond, where matplotlib lays out and rasterises every glyph anew.
            ImageDraw.Draw(image).text((6, image.height - 16), caption(session), fill="black")
            yield image
            if progress is not None:
                progress(k + 1)
    finally:
        replay.close()


def write_mp4_atomically(images: Iterator[Image.Image], out: Path, fps: float) -> int:
    """Stream frames to ffmpeg (H.264, yuv420p: plays everywhere) and rename into place."""
    import imageio_ffmpeg

    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with staged(out) as staging:
        first = next(images)
        writer = imageio_ffmpeg.write_frames(
            str(staging),
            first.size,
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            macro_block_size=2,  # our frames have even sides; never rescale them
            ffmpeg_log_level="error",
        )
        writer.send(None)  # start ffmpeg
        try:
            for image in itertools.chain([first], images):
                writer.send(image.tobytes())
                written += 1
        finally:
            writer.close()
    return written


def write_gif_atomically(images: list[Image.Image], out: Path, frame_ms: int) -> None:
    """Write the GIF beside ``out`` and rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    first, *rest = images
    with staged(out) as staging:
        first.save(
            staging,
            format="GIF",
            save_all=True,
            append_images=rest,
            duration=frame_ms,
            loop=0,
            disposal=1,
        )
