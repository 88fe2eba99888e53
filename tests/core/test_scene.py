"""A scene layout's pick points read as short labels people know the things by."""

from __future__ import annotations

import numpy as np
import pytest

from twin.core.scene import Highlight, SceneFrame, SceneLayout


def _layout(names, labels=()):
    return SceneLayout(
        static=(),
        layers=(),
        bounds=(0.0, 1.0, 0.0, 1.0),
        pick_xy=np.zeros((len(names), 2)),
        pick_names=names,
        pick_labels=labels,
    )


def test_a_pick_point_is_labelled_by_its_name_after_the_first_colon():
    layout = _layout(("intersection:J1_1", "lane:a:b", "station"))
    assert layout.point_labels == ("J1_1", "a:b", "station")


def test_explicit_labels_replace_the_names():
    assert _layout(("node:0", "node:1"), ("n0", "n1")).point_labels == ("n0", "n1")


def test_labels_must_be_one_per_pick_point():
    with pytest.raises(ValueError, match="2 pick points, 1 labels"):
        _layout(("node:0", "node:1"), ("n0",))


def test_a_frame_names_every_moving_pick_point_and_a_highlight_knows_when_it_is_empty():
    with pytest.raises(ValueError, match="2 pick points, 1 names"):
        SceneFrame(0.0, {}, pick_xy=np.zeros((2, 2)), pick_names=("truck:a.0",))
    assert Highlight().empty
    assert not Highlight(xy=np.zeros((1, 2))).empty
    assert not Highlight(segments=np.zeros((1, 2, 2))).empty
