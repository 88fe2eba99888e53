"""The browser app's behaviour without a browser: play budget, pacing, pause, reset, select,
charts, the map's data."""

import json
import math
import threading
import time

import pytest

from twin.core.errors import UserError
from twin.core.scenario import ScenarioConfig
from viz.controller import (
    ANCHOR_ENV,
    FLAT_OUT_STEP_S,
    FRAME_SPACING_S,
    MAX_FPS,
    MAX_TICKS_PER_STEP,
    STATUS_PERIOD_S,
    AppTarget,
    Controller,
    FrameBudget,
    KpiHistory,
)
from viz.scene_data import frame_data
from viz.session import Session

GRID = "traffic/grid4x4-v0"
FIXED = "signals/fixed-time-v0"
# Flat out, grid4x4 runs about a simulated day per wall second on a laptop core: a play
# that watches the wall clock for seconds needs a horizon it cannot reach meanwhile.
MONTH_S = 30 * 86_400.0


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


def test_flat_out_the_map_moves_at_least_once_a_second_whatever_the_budget():
    app = controller(horizon_s=MONTH_S, tick_s=10.0)
    app.playing = True
    app.advance()  # the first tick (kernels compiled, caches filled) is not the subject
    app.budget.draw_s = 1e9  # the budget refuses every frame from now on
    frames = app.frames_published
    started = time.perf_counter()
    while time.perf_counter() - started < 3.2:
        app.advance()
    assert not app.session.done  # still flat out at the end: three seconds were watched
    assert 2 <= app.frames_published - frames <= 4


def test_time_the_simulation_loses_to_the_page_counts_against_the_frame_budget():
    # The web server's threads (and the browser, on the same cores) take the interpreter
    # and the CPU from the simulation; a thread spinning beside the play loop stands in
    # for them: what the simulation lost is charged, so frames stop.
    app = controller(horizon_s=86_400.0, tick_s=10.0)
    app.playing = True
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        for _ in range(30):
            app.advance()
    finally:
        stop.set()
        spinner.join()
    assert app.budget.draw_s > 0.1 * app.budget.simulate_s
    assert not app.budget.allows_frame()


def test_frames_are_published_at_most_about_max_fps_times_a_second():
    app = controller(tick_s=1.0, horizon_s=7200.0)
    app.playing = True
    started, before = time.perf_counter(), app.frames_published
    while time.perf_counter() - started < 0.5 and app.advance() is not None:
        pass
    elapsed = time.perf_counter() - started
    assert app.frames_published - before <= elapsed / FRAME_SPACING_S + 1


def test_play_paces_the_run_at_the_chosen_real_time_factor():
    app = controller(horizon_s=86_400.0)
    app.play(600.0)  # ten simulated minutes per wall second
    time.sleep(1.5)
    app.pause()
    # At most what the speed allows in the time played (plus one step of 600 / MAX_FPS
    # s), and well under flat out, which runs this city hours ahead in 1.5 s.
    assert 0 < app.session.now_s <= 600.0 * 1.6 + 600.0 / MAX_FPS
    assert app.status.state == "paused"


def test_the_clock_and_kpis_refresh_while_frames_are_refused():
    app = controller(horizon_s=MONTH_S, tick_s=10.0)
    app.playing = True
    app.budget.draw_s = 1e9  # the budget refuses every frame from now on
    frames = app.frames_published
    started = time.perf_counter()
    while time.perf_counter() - started < 0.9:
        app.advance()
    assert not app.session.done
    assert app.frames_published == frames  # the once-a-second frame is not due yet
    assert app.status.now_s > 0.0  # the status line still moved on
    assert len(app.history.rows) >= 3  # ... and the charts got points


def test_play_moves_the_clock_with_its_first_step_not_a_status_period_later():
    app = controller(horizon_s=86_400.0)
    app.step(1)  # the engine's first step is slow (kernels load): not the one watched
    with app.lock:  # the play thread waits: this thread takes the first step
        app.play(60.0)
        assert app.status.state == "playing"
        app.advance()  # 60 / MAX_FPS = 3 simulated seconds
        assert app.status.now_s == app.session.now_s == 63.0
    app.pause()


def test_warming_up_leaves_the_shown_run_exactly_as_it_would_have_gone():
    warmed, cold = controller(), controller()
    warmed.warm_up()
    assert warmed.session.now_s == 0.0
    assert warmed.frame_version == cold.frame_version
    assert warmed.status_version == cold.status_version
    warmed.step(3)
    cold.step(3)
    assert warmed.kpi_table() == cold.kpi_table()
    assert warmed.frames_json == cold.frames_json


def test_the_measured_real_time_factor_is_simulated_over_wall_seconds():
    app = controller(horizon_s=86_400.0)
    app.play(300.0)
    time.sleep(1.6)
    measured = app.status.measured_rtf
    app.pause()
    assert measured == pytest.approx(300.0, rel=0.25)
    assert app.status.measured_rtf is None  # paused: nothing to measure


def test_time_reads_in_the_domains_natural_unit():
    app = controller()
    app.step(2)
    assert app.status.clock == "120 s"
    assert app.clock.unit == "s"


def test_pause_stops_the_clock_and_play_ends_at_the_horizon():
    app = controller(horizon_s=300.0)
    assert app.advance() is None  # not playing yet
    app.play(60.0)
    time.sleep(0.3)
    app.pause()
    stopped = app.session.now_s
    time.sleep(0.3)
    assert app.session.now_s == stopped
    assert app.frames[0]["now_s"] == stopped  # the picture shows where it stopped
    app.play(None)
    deadline = time.monotonic() + 60
    while app.playing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.session.done
    assert app.session.now_s == 300.0
    assert app.status.state == "done"


def test_a_reset_while_playing_stops_the_play_thread_first():
    app = controller(horizon_s=86_400.0)
    app.play(None)
    time.sleep(0.2)
    app.reset(seed=4)
    assert app.session.now_s == 0.0
    assert not app.playing
    time.sleep(0.2)
    assert app.session.now_s == 0.0


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


def test_named_arms_with_params_keep_their_names_until_their_policy_changes():
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=600.0, tick_s=60.0)
    cap = "admission/queue-cap-v0"
    target = AppTarget(
        config,
        cap,
        5,
        cap,
        {"max_queue": 2},
        compare_params={"max_queue": 8},
        policy_name="short-queue",
        compare_name="long-queue",
    )
    # The page gets its target as JSON, through the server's environment.
    app = Controller(AppTarget.from_json(json.loads(json.dumps(target.to_json()))))
    assert [arm.label for arm in app.session.arms] == ["short-queue", "long-queue"]
    assert app.history.arms == ("short-queue", "long-queue")
    assert [arm.recorder.policy.params.max_queue for arm in app.session.arms] == [2, 8]
    app.reset(seed=6)  # the same arms, on another seed
    assert [arm.label for arm in app.session.arms] == ["short-queue", "long-queue"]
    assert app.session.arms[1].recorder.policy.params.max_queue == 8
    app.reset(policy="admission/admit-all-v0")
    assert [arm.label for arm in app.session.arms] == ["admission/admit-all-v0", "long-queue"]
    app.reset(compare=cap)  # the policy the arm already runs: it stays as it was
    assert app.session.arms[1].label == "long-queue"
    app.reset(compare=None)
    app.reset(compare=cap)  # picked afresh on the page: default params, no name
    assert app.session.arms[1].label == cap
    assert app.session.arms[1].recorder.policy.params.max_queue == 10


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


def test_selecting_an_intersection_inspects_it_as_rows_with_units():
    app = controller()
    app.step(2)
    app.select("intersection:J2_1")
    info = app.inspection()
    assert info["entity"] == "intersection:J2_1"
    assert info["last_decision"] is not None
    rows = {row.key: row for row in app.inspection_rows()}
    assert rows["entity"].text == "intersection:J2_1"
    # An instant reads as the clock does (traffic's: seconds).
    assert rows["decided at"].text == f"{info['last_decision'].now_s:,.0f} s"
    assert any(key.startswith("observation.") for key in rows)
    assert any(key.startswith("action") for key in rows)
    with pytest.raises(ValueError, match="nowhere"):
        app.select("intersection:nowhere")
    assert app.selected == "intersection:J2_1"  # a bad selection leaves the old one


def test_a_hover_tooltip_is_a_few_lines_of_name_and_readings():
    app = controller()
    app.step(1)
    lines = app.tooltip("intersection:J1_1")
    assert lines[0] == "entity: intersection:J1_1"
    assert 1 < len(lines) <= 6
    assert app.tooltip("intersection:nowhere") == []


def test_the_map_gets_the_layout_once_and_each_arms_frame_as_data():
    app = controller(compare="signals/actuated-v0")
    assert app.layout["picks"]["names"][:1] == ["intersection:J0_0"]
    assert app.layout["picks"]["labels"][:1] == ["J0_0"]
    app.step(3)
    assert [frame["now_s"] for frame in app.frames] == [180.0, 180.0]
    vehicles = app.frames[0]["points"]["vehicles"]
    assert len(vehicles["xy"]) == 2 * len(vehicles["classes"])


def test_history_appends_one_row_per_step_and_charts_get_only_new_rows():
    app = controller()
    app.step(1)
    app.step(1)
    assert [row[0] for row in app.history.rows] == [0.0, 60.0, 120.0]
    assert len(app.history.series("co2e_kg", start=2)) == 1
    history = KpiHistory(("a",), ("x", "y"))
    history.append(0.0, [{"a": 1.0}, {"a": math.nan}])
    history.append(0.0, [{"a": 5.0}, {"a": 6.0}])  # the same instant again: no new point
    assert history.series("a") == [[0.0, 1.0, None]]


def test_a_scenario_of_one_domain_is_drawn_in_one_panel_its_domains_view():
    app = controller(horizon_s=600.0)
    (panel,) = app.panels
    assert (panel.name, panel.title) == ("map", "")
    assert panel.layout is app.layout
    assert app.panel_frames_json == [app.frames_json]
    app.select("intersection:J1_1")
    assert "highlight" not in app.frames[0]  # a view that highlights nothing


def test_a_policy_that_raises_is_one_line_on_step_and_ends_play_with_the_reason():
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=4 * 3600.0, tick_s=120.0)
    target = AppTarget(config, "tests.testing.broken:MaintenanceRaises", 3, None)
    stepped = Controller(target)
    with pytest.raises(UserError, match=r"^policy 'broken/maintenance-raises-v0' failed at t = "):
        stepped.step(120)
    assert stepped.status.state.startswith("failed: policy 'broken/maintenance-raises-v0'")
    played = Controller(target)
    played.play(None)
    deadline = time.monotonic() + 60
    while played.playing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not played.playing
    assert played.status.state == stepped.status.state


def test_with_the_anchor_set_a_failed_play_still_records_itself(monkeypatch):
    monkeypatch.setenv(ANCHOR_ENV, "1")
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=4 * 3600.0, tick_s=120.0)
    played = Controller(AppTarget(config, "tests.testing.broken:MaintenanceRaises", 3, None))
    played.play(None)
    deadline = time.monotonic() + 60
    while played.last_play is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert played.status.state.startswith("failed: policy 'broken/maintenance-raises-v0'")
    assert len(played.last_play) == 6  # the copy stopped where the play did, unharmed
    assert played._anchor.now_s == played.session.now_s


def test_in_compare_mode_each_panel_of_a_region_shows_each_arms_own_world():
    config = ScenarioConfig(id="region/coupled-small-v0", horizon_s=600.0, tick_s=60.0)
    compare = "maintenance/predictive-v0"
    app = Controller(AppTarget(config, "region/policy-set-v0", 1, compare))
    app.step(2)
    assert [panel.name for panel in app.panels] == ["plant", "city", "network"]
    for panel in app.panels:
        assert [frame["now_s"] for frame in panel.frames] == [120.0, 120.0]
        # Each arm's frame is its own view's, of its own world.
        assert panel.frames == [frame_data(view.frame()) for view in panel.views]
        assert json.loads(panel.frames_json) == panel.frames
    cities = next(panel for panel in app.panels if panel.name == "city").views
    assert [city.road for city in cities] == [arm.run.scenario.road for arm in app.session.arms]
    assert app.panel_frames_json == [panel.frames_json for panel in app.panels]
    app.reset(compare=None)
    assert all(len(panel.frames) == 1 for panel in app.panels)


def test_flat_out_another_thread_gets_the_lock_between_two_steps():
    # The page's poll reads the inspector, a hover its tooltip, under the controller's
    # lock: flat out, the play thread released it and took it back before they woke.
    app = controller(horizon_s=MONTH_S, tick_s=10.0)
    app.step(1)  # kernels loaded
    app.play(None)
    try:
        waits = []
        for _ in range(20):
            started = time.perf_counter()
            app.tooltip("intersection:J1_1")
            waits.append(time.perf_counter() - started)
        assert app.playing
    finally:
        app.pause()
    # A step is ~0.1 s of simulating (a grid4x4 tick takes milliseconds).
    assert max(waits) < 10 * FLAT_OUT_STEP_S, waits


def test_flat_out_a_step_takes_as_many_ticks_as_fit_in_about_a_tenth_of_a_second():
    app = controller(horizon_s=86_400.0, tick_s=10.0)
    app.playing = True
    app.advance()  # the first step is one tick: the world's rate is not known yet
    assert app.session.now_s == 10.0
    app._tick_wall_s = FLAT_OUT_STEP_S / 4.5  # four ticks fit, not five
    app.advance()
    assert app.session.now_s == 10.0 + 4 * 10.0
    app._tick_wall_s = 10.0  # a tick slower than a step: one at a time
    app.advance()
    assert app.session.now_s == 50.0 + 10.0
    app._tick_wall_s = 1e-9  # a very light world: capped, so a pause still lands soon
    app.advance()
    assert app.session.now_s == 60.0 + MAX_TICKS_PER_STEP * 10.0


def test_with_the_anchor_set_a_play_records_the_same_interval_stepped_headless(monkeypatch):
    monkeypatch.setenv(ANCHOR_ENV, "1")
    app = controller(horizon_s=MONTH_S, tick_s=10.0)
    app.step(2)
    for _ in range(2):  # the second play continues the same headless copy
        app.play(None)
        time.sleep(0.3)
        app.pause()
        start_s, end_s, wall_s, *_, anchor_s = app.last_play
        assert end_s > start_s
        assert wall_s > 0
        assert anchor_s > 0
    played = app.session.arms[0].run.scenario.city
    headless = app._anchor.arms[0].run.scenario.city
    assert app._anchor.now_s == app.session.now_s
    assert headless.veh.state.tolist() == played.veh.state.tolist()
    assert headless.veh.pos.tolist() == played.veh.pos.tolist()


def test_without_the_anchor_a_play_records_five_figures(monkeypatch):
    monkeypatch.delenv(ANCHOR_ENV, raising=False)
    app = controller(horizon_s=86_400.0, tick_s=10.0)
    app.play(None)
    time.sleep(0.1)
    app.pause()
    assert len(app.last_play) == 5
    assert app._anchor is None


def test_flat_out_a_step_ends_when_the_clock_is_due():
    app = controller(horizon_s=86_400.0, tick_s=10.0)
    app.playing = True
    app.advance()
    app._tick_wall_s = FLAT_OUT_STEP_S / 4.5  # four ticks fit in a step ...
    app._last_status_wall = time.perf_counter() - STATUS_PERIOD_S + 2.5 * app._tick_wall_s
    app.advance()  # ... but the clock is due within three (fewer if this line came late)
    assert 10.0 + 1 * 10.0 <= app.session.now_s <= 10.0 + 3 * 10.0


def test_flat_out_steps_of_several_ticks_end_where_single_ticks_do():
    """Taking the ticks in bigger steps changes how fast the run goes, not the run."""
    chunked, single = (
        controller(horizon_s=3_600.0, tick_s=10.0),
        controller(horizon_s=3_600.0, tick_s=10.0),
    )
    chunked.playing = single.playing = True
    while chunked.advance() is not None:
        chunked._tick_wall_s = FLAT_OUT_STEP_S / 7.5  # seven ticks a step
    while single.advance() is not None:
        single._tick_wall_s = math.inf
    assert chunked.session.now_s == single.session.now_s == 3_600.0
    chunked_city = chunked.session.arms[0].run.scenario.city
    single_city = single.session.arms[0].run.scenario.city
    assert chunked_city.veh.fuel_mg.tolist() == single_city.veh.fuel_mg.tolist()
    assert chunked_city.veh.state.tolist() == single_city.veh.state.tolist()
    # The ledger books fuel when KPIs are read (the status line, at other instants in the
    # two runs), so sums of the same fuel may round differently in the last digit.
    assert chunked.session.headline_kpis() == pytest.approx(
        single.session.headline_kpis(), rel=1e-12
    )
