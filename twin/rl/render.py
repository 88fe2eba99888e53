"""``render_mode="rgb_array"``: the domain's view of the world, drawn off-screen."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twin.core.draw import SceneArtists
from twin.core.scene import View

FRAME_SIZE_IN = (6.4, 4.8)
"""Figure size of a rendered frame (matplotlib's default: 640 x 480 pixels at 100 dpi)."""
FRAME_DPI = 100


class SceneRenderer:
    """Draws one world's view into RGB arrays; static parts once, the frame per call."""

    def __init__(self, view: View) -> None:
        # A bare Figure on the Agg canvas: no pyplot state, safe in worker processes.
        self.figure = Figure(figsize=FRAME_SIZE_IN, dpi=FRAME_DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        ax = self.figure.add_axes((0.0, 0.0, 1.0, 1.0))
        self.artists = SceneArtists(ax, view)

    def draw(self) -> npt.NDArray[np.uint8]:
        """The world now, ``(height, width, 3)`` uint8."""
        self.artists.update(self.artists.frame())
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.figure.clear()
