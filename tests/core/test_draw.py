"""A drawn scene: pick point labels where they fit, none over another; a selection
emphasised as the page emphasises it."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from twin.core.draw import LABELLED_POINTS_AT_MOST, SceneArtists
from twin.core.scene import Highlight, PointLayer, SceneFrame, SceneLayout


class Dots:
    """The smallest view: fixed dots, each a pick point."""

    def __init__(self, xy, labels, bounds=(0.0, 10.0, 0.0, 10.0)) -> None:
        self.xy = np.asarray(xy, dtype=np.float64)
        self.layout = SceneLayout(
            static=(),
            layers=(PointLayer("dots", ("k",), ("dot",), size_pt=6.0),),
            bounds=bounds,
            pick_xy=self.xy,
            pick_names=tuple(f"dot:{label}" for label in labels),
        )

    def frame(self) -> SceneFrame:
        return SceneFrame(0.0, {"dots": (self.xy, np.zeros(len(self.xy), np.int64))})


def _drawn(view, **options):
    figure = Figure(figsize=(4.0, 4.0), dpi=80)
    FigureCanvasAgg(figure)
    return SceneArtists(figure.add_axes((0.0, 0.0, 1.0, 1.0)), view, **options)


def test_points_apart_are_each_labelled_below_their_marker():
    artists = _drawn(Dots([(2.0, 5.0), (8.0, 5.0)], ["a", "b"]))
    assert [text.get_text() for text in artists.labels] == ["a", "b"]
    assert [text.xy for text in artists.labels] == [(2.0, 5.0), (8.0, 5.0)]
    assert [text.xyann for text in artists.labels] == [(0.0, -5.0)] * 2  # 3 pt + 2 pt gap


def test_a_label_that_would_overlap_an_earlier_one_is_left_out():
    artists = _drawn(Dots([(5.0, 5.0), (5.1, 5.0), (5.0, 8.0)], ["first", "second", "third"]))
    assert [text.get_text() for text in artists.labels] == ["first", "third"]


def test_a_label_that_would_leave_the_panel_is_left_out():
    artists = _drawn(Dots([(0.05, 5.0), (5.0, 5.0)], ["cut-off-label", "whole"]))
    assert [text.get_text() for text in artists.labels] == ["whole"]


def test_a_view_of_too_many_points_to_name_gets_no_labels():
    many = LABELLED_POINTS_AT_MOST + 1
    xy = np.column_stack((np.linspace(0.5, 9.5, many), np.full(many, 5.0)))
    assert _drawn(Dots(xy, [str(k) for k in range(many)])).labels == []
    assert len(_drawn(Dots(xy[:-1], [str(k) for k in range(many - 1)])).labels) > 0


def test_labels_can_be_turned_off():
    assert _drawn(Dots([(5.0, 5.0)], ["a"]), labels=False).labels == []


def test_the_plane_is_drawn_clear_of_the_caption_above_and_the_legend_below():
    # A point on each edge of the bounds: neither is hidden under the text.
    view = Dots([(5.0, 0.0), (5.0, 10.0)], ["low", "high"], bounds=(0.0, 10.0, 0.0, 10.0))
    artists = _drawn(view)
    ax = artists.caption.axes
    renderer = ax.figure.canvas.get_renderer()
    (_, low), (_, high) = ax.transData.transform(view.xy)
    legend = artists.legend.get_window_extent(renderer)
    assert low > legend.y1
    caption_bottom = ax.get_window_extent().y1 - 1.4 * 9.0 * ax.figure.dpi / 72.0
    assert high < caption_bottom


def test_a_selection_draws_its_route_and_rings_its_points_and_the_selected_entity():
    artists = _drawn(Dots([(2.0, 5.0), (8.0, 5.0)], ["a", "b"]))
    route = np.array([[[1.0, 1.0], [4.0, 1.0]], [[4.0, 1.0], [4.0, 6.0]]])
    artists.update(artists.frame(), Highlight(route, np.array([[4.0, 6.0]])), "dot:b")
    np.testing.assert_array_equal(
        artists.highlight.route(),
        [[1.0, 1.0], [4.0, 1.0], [np.nan, np.nan], [4.0, 1.0], [4.0, 6.0], [np.nan, np.nan]],
    )
    # The highlighted point, then the selected entity at its pick point.
    np.testing.assert_array_equal(artists.highlight.ringed(), [[4.0, 6.0], [8.0, 5.0]])
    assert set(artists.highlight.lines) <= set(artists.dynamic)
    assert all(line.get_visible() for line in artists.highlight.lines)


def test_nothing_is_emphasised_without_a_selection_or_where_the_view_lacks_it():
    artists = _drawn(Dots([(2.0, 5.0)], ["a"]))
    artists.update(artists.frame(), Highlight(np.zeros((1, 2, 2)), np.ones((1, 2))), "dot:a")
    artists.update(artists.frame(), None, "dot:elsewhere")
    assert len(artists.highlight.route()) == 0
    assert len(artists.highlight.ringed()) == 0
    # Hidden, so that a blitted frame without a selection draws nothing more.
    assert not any(line.get_visible() for line in artists.highlight.lines)
