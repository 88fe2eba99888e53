"""The browser app's behaviour without a browser: play budget, pause, reset, pick, charts."""

import math

import pytest

from twin.core.errors import UserError
from twin.core.scenario import ScenarioConfig
from viz.controller import AppTarget, Controller, FrameBudget, KpiHistory
from viz.session import Session

GRID = "traffic/grid4x4-v0"
FIXED = "signals/fixed-time-v0"


def controller(policy=FIXED, compare=None, horizon_s=3600.0, tick_s=60.0, seed=3):
    config = ScenarioConfig(id=GRID, horizon_s=horizon_s, tick_s=tick_s)
    return Controller(AppTarget(config, policy, seed, compare))


def test_a_frame_is_allowed_only_while_drawing_stays_within_its_share():
    budget = FrameBudget(fraction=0.2)
    assert budget.allows_frame()  # nothing spent yet
    budget.simulate_s, budget.draw_s = 1.0, 0.2
    assert budget.allows_frame()
    budget.draw_s = 0.21
    assert not budget.allows_frame()
    assert budget.slowdown == pytest.approx(0.21)


def test_playing_flat_out_keeps_drawing_within_a_fifth_of_simulating():
    app = controller()
    app.play()
    drawn = [app.advance(1) for _ in range(40)]
    assert any(drawn)
    assert app.budget.slowdown <= 0.2 + app._draw_cost_s / app.budget.simulate_s


def test_a_paced_speed_draws_every_frame_in_its_spare_time():
    app = controller()
    app.play()
    assert all(app.advance(1, pace_s=10.0) for _ in range(5))
    assert app.budget.draw_s == 0.0  # frames drawn while the loop would wait are free


def test_pause_stops_the_clock_and_play_ends_at_the_horizon():
    app = controller(horizon_s=300.0)
    assert app.advance(1) is None  # not playing yet
    app.play()
    app.advance(1)
    app.pause()
    assert app.advance(1) is None
    assert app.session.now_s == 60.0
    assert app.history.rows[-1][0] == 60.0  # the picture shows where it stopped
    app.play()
    while app.advance(1) is not None:
        pass
    assert app.session.done
    assert app.session.now_s == 300.0
    assert not app.playing


def test_the_kpi_table_shows_the_engines_values_and_the_difference():
    app = controller(compare="signals/actuated-v0", tick_s=120.0)
    app.step(4)
    truth = Session(app.config, [FIXED, "signals/actuated-v0"], 3)
    truth.step(4)
    for row in app.kpi_table():
        first, second = truth.headline_kpis(0)[row["kpi"]], truth.headline_kpis(1)[row["kpi"]]
        assert row["values"] == pytest.approx([first, second], nan_ok=True)
        if math.isfinite(first - second):
            assert row["difference"] == pytest.approx(second - first)


def test_reset_switches_policy_and_compare_mode_on_the_same_seed():
    app = controller(seed=11)
    app.step(3)
    app.reset(policy="signals/max-pressure-v0", compare="signals/sotl-v0")
    assert app.session.now_s == 0.0
    assert [arm.label for arm in app.session.arms] == ["signals/max-pressure-v0", "signals/sotl-v0"]
    assert app.session.seed == 11
    app.reset(compare=None)
    assert not app.session.compare


def test_a_bad_choice_is_one_line_and_the_running_session_stays():
    app = controller()
    app.step(2)
    running = app.session
    with pytest.raises(UserError, match=r"^parameters: scenario\.params\.grid\.rows: "):
        app.reset(params={"grid": {"rows": -1}})
    with pytest.raises(UserError, match="acts in domain"):
        app.reset(policy="maintenance/predictive-v0")
    assert app.policy == FIXED
    assert app.config.params == {}
    assert app.session is running
    assert app.session.now_s == 120.0


def test_policy_choices_are_the_registered_policies_of_the_domain():
    choices = controller().policy_choices()
    assert FIXED in choices
    assert "signals/learned-v0" in choices
    assert not [c for c in choices if not c.startswith("signals/")]


def test_a_click_on_an_intersection_selects_it_and_a_click_on_nothing_does_not():
    app = controller()
    app.step(2)
    view, ax = app.replay.views[0], app.replay.figure.axes[0]
    k = view.layout.pick_names.index("intersection:J2_1")
    x, y = ax.transData.transform(view.layout.pick_xy[k])
    _, height = app.image_size
    assert app.click(x + 3, height - y - 3) == "intersection:J2_1"
    info = app.inspection()
    assert info["entity"] == "intersection:J2_1"
    assert info["last_decision"] is not None
    assert app.click(2, 2) is None  # the corner of the image: nothing there
    assert app.selected == "intersection:J2_1"  # the selection stays


def test_history_appends_one_row_per_frame_and_charts_get_only_new_rows():
    app = controller()
    app.step(1)
    app.step(1)
    assert [row[0] for row in app.history.rows] == [0.0, 60.0, 120.0]
    assert len(app.history.series("co2e_kg", start=2)) == 1
    history = KpiHistory(("a",), ("x", "y"))
    history.append(0.0, [{"a": 1.0}, {"a": math.nan}])
    history.append(0.0, [{"a": 5.0}, {"a": 6.0}])  # the same instant again: no new point
    assert history.series("a") == [[0.0, 1.0, None]]


def test_scalar_parameters_are_the_top_level_numbers_and_switches():
    scalars = controller().scalar_params()
    assert scalars["step_s"] == 1.0
    assert scalars["per_intersection_kpis"] is False
    assert "grid" not in scalars  # nested: edited as JSON
