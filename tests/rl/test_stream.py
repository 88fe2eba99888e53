"""DecisionStream: a run's decisions made outside it, one at a time, without changing the
run: answered like the policy would, every scenario gives that policy's KPIs exactly."""

from __future__ import annotations

import threading

import pytest

from twin.core.policy import BindsModel, InvalidActionError, PolicyContext
from twin.core.registry import make_policy
from twin.core.run import default_registry, simulate
from twin.core.scenario import ScenarioConfig
from twin.rl import DecisionStream
from twin.traffic.observation import SignalAction

SHORT = {"factory": 86_400.0, "traffic": 600.0, "station": 86_400.0, "supply": 20 * 86_400.0}
SHORT["cloud"] = 3 * 3_600.0
NEEDS_INPUTS = {"traffic/sumo-net-v0"}  # a SUMO network of the user's
STATION = ScenarioConfig(id="station/mmc-v0", horizon_s=3_600.0)


def scenarios() -> list[str]:
    return [e.id for e in default_registry().scenarios() if e.id not in NEEDS_INPUTS]


def short(scenario_id: str) -> ScenarioConfig:
    horizon = SHORT.get(scenario_id.split("/")[0], 3_600.0)
    if scenario_id in ("factory/plant-1000-v0", "traffic/grid10x10-v0"):
        horizon /= 8
    return ScenarioConfig(id=scenario_id, horizon_s=horizon)


def answered_by(stream: DecisionStream, policy_id: str) -> int:
    """Answer every decision as ``policy_id`` would in the run; the number of decisions."""
    policy = make_policy(default_registry().policy(policy_id), {})
    rng = stream.world.streams[f"policy.{policy.id}"]
    policy.reset(PolicyContext(stream.config.id, rng, stream.run.scenario.policy_info()))
    if isinstance(policy, BindsModel):  # as a run hands its policy the built world
        policy.bind(stream.world)
    decisions = 0
    while (obs := stream.next()) is not None:
        stream.answer(policy.act(obs))
        decisions += 1
    return decisions


@pytest.mark.parametrize("scenario_id", scenarios())
def test_answering_like_the_default_policy_gives_its_kpis_to_the_last_bit(scenario_id):
    config = short(scenario_id)
    policy_id = default_registry().scenario(scenario_id).default_policy
    inside = simulate(config, policy_id, 5)
    with DecisionStream(config, 5) as stream:
        decisions = answered_by(stream, policy_id)
        outside = stream.result()
    assert decisions > 0
    assert {k: repr(v.value) for k, v in outside.kpis.items()} == {
        k: repr(v.value) for k, v in inside.kpis.items()
    }


def test_two_agents_on_one_seed_meet_the_same_arrivals():
    from twin.station.observation import ADMIT, REJECT

    arrivals: dict[str, list[float]] = {}
    for name, action in (("admit", ADMIT), ("reject", REJECT)):
        with DecisionStream(STATION, 3) as stream:
            seen = []
            while (obs := stream.next()) is not None:
                seen.append(obs.now_s)
                stream.answer(action)
        arrivals[name] = seen
    assert len(arrivals["admit"]) > 50
    assert arrivals["admit"] == arrivals["reject"]


def test_closing_mid_run_unwinds_the_run_and_leaves_no_thread():
    before = threading.active_count()
    stream = DecisionStream(STATION, 0)
    assert stream.next() is not None
    stream.close()
    stream.close()  # idempotent
    assert threading.active_count() == before
    assert stream.next() is None


def test_closing_before_the_first_decision_leaves_no_thread():
    before = threading.active_count()
    DecisionStream(STATION, 0).close()
    assert threading.active_count() == before


def test_an_action_the_domain_refuses_is_raised_from_next_naming_the_seat():
    with DecisionStream(STATION, 0) as stream:
        stream.next()
        stream.answer("admit, please")
        with pytest.raises(InvalidActionError, match="rl/external-v0"):
            stream.next()


def test_turns_are_kept():
    with DecisionStream(STATION, 0) as stream:
        with pytest.raises(RuntimeError, match="call next\\(\\) first"):
            stream.answer(None)
        stream.next()
        with pytest.raises(RuntimeError, match="answer\\(\\) the last observation"):
            stream.next()
        with pytest.raises(RuntimeError, match="has not reached its horizon"):
            stream.result()


def test_a_turn_hands_out_every_signal_due_at_the_instant_and_wants_all_answers() -> None:
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=600.0)
    with DecisionStream(config, 0) as stream:
        while (turn := stream.next_turn()) is not None and len(turn) == 1:
            stream.answer(SignalAction(turn[0].phase, 5.0))
        assert turn is not None
        assert len({obs.now_s for obs in turn}) == 1
        stream.answer(SignalAction(turn[0].phase, 5.0))
        with pytest.raises(RuntimeError, match="answer\\(\\) the last observation"):
            stream.next_turn()


def _grid_kpis(answer_in_one: bool) -> dict[str, float]:
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=600.0)
    with DecisionStream(config, 0) as stream:
        while (turn := stream.next_turn()) is not None:
            actions = [SignalAction((o.phase + 1) % len(o.green_s), 10.0) for o in turn]
            if answer_in_one:
                stream.answer_turn(actions)
            else:
                for action in actions:
                    stream.answer(action)
        return {name: kpi.value for name, kpi in stream.result().kpis.items()}


def test_a_turn_answered_in_one_call_runs_as_answered_one_by_one() -> None:
    assert _grid_kpis(answer_in_one=True) == _grid_kpis(answer_in_one=False)


def test_answer_turn_wants_one_action_per_observation_waiting() -> None:
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=600.0)
    with DecisionStream(config, 0) as stream:
        turn = stream.next_turn()
        assert turn is not None
        n = len(turn)
        with pytest.raises(RuntimeError, match=f"{n + 1} actions for the {n} observations"):
            stream.answer_turn([SignalAction(0, 5.0)] * (n + 1))
        stream.answer(SignalAction(turn[0].phase, 5.0))
        with pytest.raises(RuntimeError, match=f"{n} actions for the {n - 1} observations"):
            stream.answer_turn([SignalAction(0, 5.0)] * n)
