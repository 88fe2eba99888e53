"""The decision watchdog: a policy stuck in one decision ends its run with one line, in
any thread, and a policy that answers never notices it."""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import numpy as np
import pytest

from tests.testing.broken import NeverAnswers
from twin.core.policy import BasePolicy
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import DecisionTimeout, watching
from twin.station import ADMIT, StationAction, StationObservation

CONFIG = ScenarioConfig(id="station/mmc-v0", horizon_s=1000.0)


def test_a_policy_looping_forever_ends_the_run_with_a_decision_timeout():
    with pytest.raises(DecisionTimeout) as raised:
        simulate(CONFIG, NeverAnswers(), 1, decision_timeout_s=0.2)
    error = raised.value
    assert error.policy == "broken/never-answers-v0"
    assert error.timeout_s == 0.2
    assert error.now_s > 0  # the first arrival's decision
    assert error.observation.startswith(f"StationObservation(now_s={error.now_s!r}")
    assert str(error).startswith(
        f"policy 'broken/never-answers-v0' failed at t = {error.now_s:g} s: "
        "did not answer within 0.2 s; last observation: StationObservation("
    )
    assert "while True" in error.details  # the traceback shows where it was stuck


def test_a_run_in_another_thread_is_interrupted_too():
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            simulate(CONFIG, NeverAnswers(), 1, decision_timeout_s=0.2)
        except DecisionTimeout as error:
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert [type(error) for error in outcome] == [DecisionTimeout]


class SlowButAnswers(BasePolicy[StationObservation, StationAction]):
    """Takes 0.1 s per decision: slow, but within any limit above that."""

    id: ClassVar[str] = "test/slow-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        time.sleep(0.1)
        return ADMIT


def test_decisions_within_the_limit_are_never_interrupted_however_many():
    # Many slow decisions in a row add up to far more than the limit: only one counts.
    config = ScenarioConfig(
        id="station/mmc-v0", horizon_s=600.0, params={"arrival_rate_per_s": 0.02}
    )
    fast = simulate(config, "admission/admit-all-v0", 3)
    slow = simulate(config, SlowButAnswers(), 3, decision_timeout_s=0.5)
    assert slow.kpis["arrived"].value >= 8  # 0.8 s of decisions in all
    np.testing.assert_equal(
        {name: kpi.value for name, kpi in slow.kpis.items()},
        {name: kpi.value for name, kpi in fast.kpis.items()},
    )


def test_a_policy_stuck_in_c_code_is_reported_on_stderr_and_ends_when_it_returns(capsys):
    with pytest.raises(DecisionTimeout), watching("test/sleeps", 0.1) as decisions:
        decisions.ask(
            lambda _: time.sleep(4.0), "an observation"
        )  # grace 2 s: margin for a loaded CI
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("twin: policy 'test/sleeps' has not answered for ")
    assert "cannot be interrupted (it is inside C code" in err


def test_the_observation_is_kept_for_the_message_and_nothing_is_pending_after():
    with watching("test/fast", 0.1) as decisions:
        assert decisions.ask(lambda obs: obs * 2, 21) == 42
    assert decisions.observation == 21
    assert decisions.count == 2  # in and out: not deciding
    time.sleep(0.3)  # a late interruption would land here, outside the block


class Member:
    """A policy another policy asks (as a policy set asks its maintenance member)."""

    id = "test/member"

    def act(self, obs: int) -> int:
        if obs < 0:
            raise ValueError("negative")
        while obs == 0:
            pass
        return obs


class AsksMember:
    id = "test/outer"

    def __init__(self, member: Member) -> None:
        self.member = member

    def act(self, obs: int) -> int:
        return self.member.act(obs) + 1


def test_a_failure_inside_a_nested_decision_names_the_inner_policy():
    member = Member()
    outer = AsksMember(member)
    with watching(outer.id, 5.0) as decisions:
        decisions.watch(outer)
        decisions.watch(member)
        assert outer.act(1) == 2
        assert decisions.count == 2  # the member's answer is counted within the outer one
        with pytest.raises(ValueError, match="negative") as raised:
            outer.act(-1)
        assert decisions.blame(raised.value) == ("test/member", -1)
        decisions.release()
    assert "act" not in vars(outer)
    assert "act" not in vars(member)


def test_a_nested_decision_that_never_answers_times_out_naming_the_inner_policy():
    member = Member()
    outer = AsksMember(member)
    decisions = watching(outer.id, 0.2)
    with pytest.raises(DecisionTimeout) as raised, decisions as watched:  # noqa: PT012
        watched.watch(outer)
        watched.watch(member)
        outer.act(0)
    watched.release()
    assert raised.value.policy == "test/member"
    assert raised.value.observation == "0"


def test_a_failure_between_decisions_names_the_policy_that_decided_last():
    member = Member()
    with watching("test/run-policy", 5.0) as decisions:
        decisions.watch(member)
        member.act(7)
        decisions.release()
    assert decisions.blame(RuntimeError("the domain refused the answer")) == ("test/member", 7)


def test_releasing_restores_a_wrapper_that_was_there_before():
    member = Member()
    before = member.act
    member.act = before  # type: ignore[method-assign]  # an instance attribute, as a recorder's
    with watching(member.id, 5.0) as decisions:
        decisions.watch(member)
        assert member.act is not before
        decisions.release()
    assert vars(member)["act"] is before


class AnswersTogether:
    id = "test/together"

    def act(self, obs: int) -> int:
        return obs

    def act_together(self, observations: list[int]) -> list[int]:
        give_up = time.monotonic() + 2.0  # unwatched, the test fails instead of hanging
        while 0 in observations and time.monotonic() < give_up:
            pass
        return list(observations)


def test_a_policy_answering_an_instant_at_once_is_watched_there_too():
    policy = AnswersTogether()
    decisions = watching(policy.id, 0.2)
    with pytest.raises(DecisionTimeout) as raised, decisions as watched:  # noqa: PT012
        watched.watch(policy)
        assert policy.act_together([1, 2]) == [1, 2]
        policy.act_together([3, 0])
    watched.release()
    assert raised.value.policy == "test/together"
    assert raised.value.observation == "[3, 0]"
    assert "act" not in vars(policy)
    assert "act_together" not in vars(policy)
