"""Session: the clock, reset with a seed, compare mode in lock-step, inspection."""

import math

import numpy as np
import pytest

from twin.core.errors import RunFailure
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from viz.session import RecordingPolicy, Session, arm_labels

FLOWLINE = "factory/flowline-v0"
CBM = "maintenance/condition-based-v0"


def config(scenario_id=FLOWLINE, horizon_s=4 * 3600.0, tick_s=120.0, **extra):
    return ScenarioConfig(id=scenario_id, horizon_s=horizon_s, tick_s=tick_s, **extra)


def test_step_advances_the_clock_by_the_tick():
    run = Session(config(), [CBM], seed=3)
    assert run.now_s == 0.0
    run.step()
    assert run.now_s == 120.0
    run.step(4)
    assert run.now_s == 600.0


def test_steps_stop_at_the_horizon():
    run = Session(config(horizon_s=300.0), [CBM], seed=3)
    run.step(10)
    assert run.now_s == 300.0
    assert run.done


def test_reset_with_a_seed_reproduces_kpis():
    run = Session(config(), [CBM], seed=5)
    run.step(30)
    first = run.headline_kpis()
    run.reset(6)
    run.step(30)
    other = run.headline_kpis()
    run.reset(5)
    assert run.now_s == 0.0
    run.step(30)
    assert run.headline_kpis() == first
    assert other != first


def test_a_watched_run_ends_with_the_kpis_of_simulate():
    # The warm-up ends between two display ticks: the session stops there to end it.
    c = config(horizon_s=3600.0, warmup_s=650.0)
    run = Session(c, [CBM], seed=2)
    run.step(1000)
    assert run.done
    assert run.arms[0].world.warmup_s == 650.0
    expected = simulate(c, CBM, 2).kpis
    got = run.kpis()
    for name in run.headline:
        assert got[name].value == pytest.approx(expected[name].value, rel=1e-9), name


def test_a_region_watched_ends_with_the_kpis_of_simulate():
    # The region's cloud runs on a side clock: every display tick and the warm-up bring it
    # to the world's time, so the viewer's run is the batch run.
    c = config("region/coupled-small-v0", horizon_s=6 * 3600.0, tick_s=600.0, warmup_s=3_650.0)
    run = Session(c, ["region/policy-set-v0"], seed=2)
    run.step(1000)
    assert run.done
    expected = simulate(c, "region/policy-set-v0", 2).kpis
    got = run.kpis()
    assert {k: v.value for k, v in got.items()} == pytest.approx(
        {k: v.value for k, v in expected.items()}, nan_ok=True, rel=0, abs=0
    )


def test_identical_policies_in_compare_mode_differ_by_zero():
    run = Session(config(), [CBM, CBM], seed=4)
    run.step(20)
    assert run.compare
    assert [arm.world.now_s for arm in run.arms] == [2400.0, 2400.0]
    assert set(run.difference().values()) == {0.0}


def test_compare_mode_runs_both_arms_in_lock_step_on_one_seed():
    run = Session(config(), [CBM, "maintenance/run-to-failure-v0"], seed=4)
    for _ in range(5):
        run.step(3)
        assert run.arms[0].world.now_s == run.arms[1].world.now_s == run.now_s
    assert run.arms[0].world.seed == run.arms[1].world.seed == 4
    difference = run.difference()
    base, other = run.headline_kpis(0), run.headline_kpis(1)
    for name, value in difference.items():
        assert value == pytest.approx(other[name] - base[name]) or math.isnan(value)


def test_inspecting_a_machine_shows_its_readings_and_the_policys_last_decision():
    run = Session(config(), [CBM], seed=1)
    run.step(20)
    recorder = run.arms[0].recorder
    assert isinstance(recorder, RecordingPolicy)
    assert recorder.decisions > 0
    entity = next(iter(recorder.last))
    info = run.inspect(entity)
    plant = run.arms[0].run.scenario.plant
    index = int(entity.split(":")[1])
    assert info["state"] == plant.machines[index].state
    assert info["health"] == plant.health[index]
    decision = info["last_decision"]
    assert decision.observation.machine == index
    assert decision.action is not None
    assert len(info["readings"]) == 4


def test_inspecting_an_intersection():
    run = Session(
        config("traffic/grid4x4-v0", horizon_s=600.0, tick_s=60.0),
        ["signals/max-pressure-v0"],
        seed=1,
    )
    run.step(5)
    info = run.inspect("intersection:J1_1")
    city = run.arms[0].run.scenario.city
    assert info["movement_state"] == city.mov_state[city.signals.movements[5]].tolist()
    assert info["last_decision"].observation.intersection_id == "J1_1"
    with pytest.raises(
        ValueError, match="no entity 'intersection:nowhere'; this world has city, intersection:J0_0"
    ):
        run.inspect("intersection:nowhere")


def test_a_replay_follows_a_reset_session():
    from viz.record import Replay

    run = Session(config("traffic/grid4x4-v0", horizon_s=600.0, tick_s=60.0), ["signals/sotl-v0"])
    replay = Replay(run)
    run.step(3)
    replay.update()
    first = replay.render().copy()
    run.reset(0)
    replay.rebind()
    run.step(3)
    replay.update()
    np.testing.assert_array_equal(replay.render(), first)
    replay.close()


@pytest.mark.parametrize(
    ("scenario_id", "policy", "tick_s"),
    [
        (FLOWLINE, CBM, 600.0),
        ("factory/jobshop-agv-v0", "maintenance/fixed-interval-v0", 600.0),
        ("traffic/grid4x4-v0", "signals/actuated-v0", 60.0),
        ("supply/beer-game-v0", "replenishment/forecast-v0", 86_400.0),
        ("cloud/burst-v0", "scaling/hpa-v0", 300.0),
    ],
)
def test_reading_kpis_at_every_tick_does_not_change_the_run(scenario_id, policy, tick_s):
    # The view reads KPIs at every frame; a reading that booked something for good (as
    # the city once did with the fuel of vehicles still driving) would change the end.
    watched = Session(config(scenario_id, horizon_s=40 * tick_s, tick_s=tick_s), [policy], 4)
    unwatched = Session(config(scenario_id, horizon_s=40 * tick_s, tick_s=tick_s), [policy], 4)
    while not watched.done:
        watched.step()
        watched.kpis()
    unwatched.step(40)
    assert {k: v.value for k, v in watched.kpis().items()} == pytest.approx(
        {k: v.value for k, v in unwatched.kpis().items()}, rel=1e-12, nan_ok=True
    )


def test_a_cluster_drawn_and_read_off_its_sync_period_ends_as_an_unwatched_one():
    # The cluster serves each 15 s window lazily; drawing or reading it mid-window
    # serves the window so far. Its arrivals are drawn when the window starts, and its
    # levels stay sampled at the epochs, so looking changes nothing.
    from viz.record import Replay

    c = config("cloud/burst-v0", horizon_s=40 * 7.0, tick_s=7.0, warmup_s=24.5)
    watched = Session(c, ["scaling/carbon-aware-v0"], 4)
    unwatched = Session(c, ["scaling/carbon-aware-v0"], 4)
    replay = Replay(watched)
    while not watched.done:
        watched.step()
        replay.update()
        watched.kpis()
    unwatched.step(40)
    assert {k: v.value for k, v in watched.kpis().items()} == pytest.approx(
        {k: v.value for k, v in unwatched.kpis().items()}, rel=1e-12, nan_ok=True
    )


def test_a_trained_network_is_watched_in_compare_mode_as_it_runs_unwatched():
    # A network reads the world it was built for: the session hands it on.
    c = config(horizon_s=4 * 3600.0)
    run = Session(c, ["maintenance/ppo-v0", "maintenance/run-to-failure-v0"], seed=3)
    run.step(1000)
    assert run.done
    expected = simulate(c, "maintenance/ppo-v0", 3).kpis
    got = run.kpis(0)
    for name in run.headline:
        assert got[name].value == pytest.approx(expected[name].value, rel=1e-9), name


def test_a_policy_that_raises_stops_the_session_with_one_line():
    run = Session(config(), ["tests.testing.broken:MaintenanceRaises"], seed=3)
    with pytest.raises(RunFailure) as raised:
        run.step(120)
    assert raised.value.policy == "broken/maintenance-raises-v0"
    assert raised.value.problem == "KeyError: 'machine_health'"
    assert run.failure is raised.value
    assert run.done
    stopped = run.now_s
    run.step()
    assert run.now_s == stopped


def test_an_arm_is_labelled_by_its_name_else_its_policy_marked_when_given_params():
    ids, given = ["a/x-v0", "a/x-v0"], [{"k": 1}, None]
    assert arm_labels(ids, given, ["fast", None]) == ["fast", "a/x-v0"]
    assert arm_labels(ids, given, [None, None]) == ["a/x-v0 (params)", "a/x-v0"]
    assert arm_labels(ids, [{}, None], [None, None]) == ["a/x-v0", "a/x-v0"]  # no params
    assert arm_labels(ids, [{"k": 1}, {"k": 2}], [None, None]) == [
        "a/x-v0 (params) #1",
        "a/x-v0 (params) #2",
    ]
    assert arm_labels(ids, [{"k": 1}, {"k": 1}], [None, None]) == ["a/x-v0 (params)"] * 2
