"""A recorded frame names what it shows: a label per pick point, a legend entry per
labelled class, the clock in the domain's own unit (asserted on the artists, not pixels)."""

from __future__ import annotations

from twin.core.scenario import ScenarioConfig
from twin.core.scene import Marks
from viz.record import Replay, caption
from viz.session import Session


def _station(capacity=None):
    params = {"capacity": capacity} if capacity else {}
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=3_600.0, tick_s=60.0, params=params)
    return Session(config, ["admission/admit-all-v0"], seed=1)


def test_a_recorded_frame_labels_every_pick_point_and_lists_every_labelled_class():
    session = _station(capacity=3)
    replay = Replay(session)
    try:
        replay.update()
        replay.render()
        (view,) = replay.views
        assert [text.get_text() for text in view.labels] == ["server 1", "server 2"]
        layout = view.layout
        expected = [
            part.label
            for part in layout.static
            if part.label and len(part.xy if isinstance(part, Marks) else part.segments)
        ] + [label for layer in layout.layers for label in layer.labels if label]
        assert expected == ["waiting place", "idle server", "busy server", "waiting job"]
        assert view.legend is not None
        assert [text.get_text() for text in view.legend.get_texts()] == expected
        # Drawn once, into the background a frame is blitted over, clear of the plane.
        assert view.legend not in view.dynamic
    finally:
        replay.close()


def test_the_caption_reads_the_clock_in_the_domains_unit():
    session = _station()
    session.step(3)
    assert caption(session).startswith("3.0 min ")
