"""SignalBank asks a policy that acts together once per instant, and runs as if asked one
intersection at a time."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.traffic.support import Erratic
from twin.core.policy import ActsTogether, InvalidActionError
from twin.traffic import signals
from twin.traffic.network import Network, grid
from twin.traffic.observation import SignalAction, SignalActions
from twin.traffic.signals import SignalBank
from twin.traffic.sumo_scenario import with_adaptive_greens

STEP_S = 0.5


class ErraticTogether(Erratic):
    """Erratic's answers, asked for all the instant's decisions in one call."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.calls: list[int] = []

    def act_together(self, observations: list[Any]) -> list[Any]:
        self.calls.append(len(observations))
        return [self.act(obs) for obs in observations]


def bank(policy: Any, network: Network | None = None, grid_s: float | None = None) -> SignalBank:
    network = network or grid(2, 2, 150.0, 1)
    state = np.zeros(len(network.movements), dtype=np.int8)
    holder: list[SignalBank] = []

    def observe(i: int, now_s: float) -> SimpleNamespace:
        b = holder[0]
        program = b.intersections[i].program
        assert program is not None
        return SimpleNamespace(
            phase=int(b.phase[i]), green_s=np.array([p.green_s for p in program.phases])
        )

    holder.append(SignalBank(network, state, policy, observe, grid_s))
    return holder[0]


def shown(b: SignalBank, until_s: float) -> list[bytes]:
    rows = []
    for k in range(int(until_s / STEP_S) + 1):
        b.update(k * STEP_S)
        rows.append(b.mov_state.tobytes())
    return rows


def test_a_policy_acting_together_is_asked_once_for_all_intersections_due_at_an_instant() -> None:
    together = ErraticTogether(seed=4)
    assert isinstance(together, ActsTogether)
    b = bank(together)
    b.update(0.0)
    b.update(b.next_due_s)  # the four identical programmes end their first green together
    assert together.calls == [4]
    assert b.decisions == 4


def test_acting_together_shows_what_acting_one_at_a_time_shows() -> None:
    together = ErraticTogether(seed=4)
    one_by_one = bank(Erratic(seed=4))
    batched = bank(together)
    assert shown(batched, 1_800.0) == shown(one_by_one, 1_800.0)
    assert batched.decisions == one_by_one.decisions > 100
    assert max(together.calls) > 1
    assert min(together.calls) == 1


class AnswersOneTooFew(ErraticTogether):
    def act_together(self, observations: list[Any]) -> list[Any]:
        return super().act_together(observations)[1:]


def test_fewer_answers_than_decisions_is_an_invalid_action_naming_the_policy() -> None:
    b = bank(AnswersOneTooFew(seed=4))
    b.update(0.0)
    with pytest.raises(InvalidActionError, match=r"test/erratic.*3 answers to the 4 decisions"):
        b.update(b.next_due_s)


class ErraticInOne(ErraticTogether):
    """ErraticTogether's answers as one SignalActions (what a learning agent hands in)."""

    def act_together(self, observations: list[Any]) -> SignalActions:
        answers = super().act_together(observations)
        return SignalActions(
            np.array([a.phase for a in answers], dtype=np.int64),
            np.array([a.duration_s for a in answers], dtype=np.float64),
        )


@pytest.mark.parametrize("grid_s", [None, 5.0])
def test_answers_in_one_signal_actions_show_what_the_same_answers_one_by_one_show(
    grid_s: float | None,
) -> None:
    # Greens free between 5 s and 50 s: Erratic's 0.5-20 s answers hold, clamp and change.
    network = with_adaptive_greens(grid(2, 2, 150.0, 1), 5.0, 50.0)
    one_by_one = bank(ErraticTogether(seed=4), network, grid_s)
    in_one = bank(ErraticInOne(seed=4), network, grid_s)
    assert shown(in_one, 1_800.0) == shown(one_by_one, 1_800.0)
    assert (in_one.decisions, in_one.clamped) == (one_by_one.decisions, one_by_one.clamped)
    assert np.array_equal(in_one.next_event_s, one_by_one.next_event_s)


class AnswersAPhaseTooFar(ErraticInOne):
    def act_together(self, observations: list[Any]) -> SignalActions:
        answers = super().act_together(observations)
        answers.phase[-1] = len(observations[-1].green_s)
        return answers


def test_a_phase_out_of_range_in_signal_actions_is_an_invalid_action_naming_it() -> None:
    b = bank(AnswersAPhaseTooFar(seed=4))
    b.update(0.0)
    before = b.next_event_s.copy()
    with pytest.raises(InvalidActionError, match=r"test/erratic.*phase must be an int in \[0, 2\)"):
        b.update(b.next_due_s)
    assert np.array_equal(b.next_event_s, before)  # no answer of the instant was applied


class Recording:
    """Asks for ``phase_of(phase)`` for 5 s at every decision and notes when it was asked."""

    id = "test/recording"
    domain = "traffic.signals"

    def __init__(self, bank_of: list[SignalBank], switch: bool) -> None:
        self.bank_of = bank_of
        self.switch = switch
        self.asked_s: list[float] = []

    def reset(self, context: Any) -> None:
        pass

    def act(self, obs: Any) -> SignalAction:
        self.asked_s.append(obs.now_s)
        phases = len(obs.green_s)
        return SignalAction((obs.phase + 1) % phases if self.switch else obs.phase, 5.0)


def one_intersection(
    *, switch: bool, decision_grid_s: float | None, **timing: float
) -> tuple[SignalBank, Recording]:
    network = grid(1, 1, 150.0, 1, **timing)
    state = np.zeros(len(network.movements), dtype=np.int8)
    holder: list[SignalBank] = []
    policy = Recording(holder, switch)

    def observe(i: int, now_s: float) -> SimpleNamespace:
        b = holder[0]
        program = b.intersections[i].program
        assert program is not None
        return SimpleNamespace(
            phase=int(b.phase[i]),
            green_s=np.array([p.green_s for p in program.phases]),
            now_s=now_s,
        )

    holder.append(SignalBank(network, state, policy, observe, decision_grid_s))  # type: ignore[arg-type]
    return holder[0], policy


def run_to(b: SignalBank, until_s: float) -> None:
    for k in range(int(until_s) + 1):
        b.update(float(k))


def test_on_a_decision_grid_a_changes_yellow_counts_into_the_seconds_asked_for() -> None:
    timing = {"green_s": 10.0, "yellow_s": 2.0, "min_green_s": 1.0}
    on_grid, asked = one_intersection(switch=True, decision_grid_s=5.0, **timing)
    run_to(on_grid, 40.0)
    # sumo-rl's delta_time: 2 s of yellow and 3 s of green between decisions.
    assert asked.asked_s == [10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]
    free, asked_free = one_intersection(switch=True, decision_grid_s=None, **timing)
    run_to(free, 40.0)
    assert asked_free.asked_s == [10.0, 17.0, 24.0, 31.0, 38.0]


def test_on_a_decision_grid_a_change_before_min_green_waits_for_the_next_instant_after_it() -> None:
    b, asked = one_intersection(
        switch=True, decision_grid_s=5.0, green_s=10.0, yellow_s=2.0, min_green_s=5.0
    )
    run_to(b, 40.0)
    # Green from 12 s; min green holds it to 17 s, the grid to 20 s (sumo-rl asks at 15 s
    # and ignores the change, since 3 s < yellow + min green).
    assert asked.asked_s == [10.0, 20.0, 30.0, 40.0]
    assert b.clamped == 0


def test_on_a_decision_grid_max_green_ends_a_phase_off_the_grid_and_the_next_ask_is_on_it() -> None:
    b, asked = one_intersection(
        switch=False,
        decision_grid_s=5.0,
        green_s=8.0,
        yellow_s=3.0,
        min_green_s=5.0,
        max_green_s=12.0,
    )
    run_to(b, 60.0)
    assert b.forced > 0
    assert asked.asked_s
    assert all(t % 5.0 == 0.0 for t in asked.asked_s)
    # Asked at 10 s (8 s of green, rounded up), forced at 12 s, yellow to 15 s, the next
    # phase's 8 s to 23 s, asked at 25 s, forced at 27 s, yellow to 30 s, asked at 40 s.
    assert asked.asked_s[:3] == [10.0, 25.0, 40.0]


def test_a_bank_on_a_network_another_bank_checked_does_not_check_it_again(monkeypatch):
    checked: list[str] = []
    real = signals.check_program

    def counting(inter: Any, program: Any) -> None:
        checked.append(inter.id)
        real(inter, program)

    monkeypatch.setattr(signals, "check_program", counting)
    network = grid(2, 2, 150.0, 1)
    for _ in range(2):
        state = np.zeros(len(network.movements), dtype=np.int8)
        SignalBank(network, state, Erratic(1), lambda i, now_s: None)  # type: ignore[arg-type]
    assert len(checked) == 4  # the first bank's four lights
    SignalBank(grid(2, 2, 150.0, 1), state, Erratic(1), lambda i, now_s: None)  # type: ignore[arg-type]
    assert len(checked) == 8  # an equal network, but another one: checked


def test_a_bank_on_a_network_another_bank_ran_shows_its_changes_without_working_them_out(
    monkeypatch,
) -> None:
    worked_out: list[int] = []
    real = signals.all_red_state

    def counting(*args: Any) -> Any:
        worked_out.append(1)
        return real(*args)

    monkeypatch.setattr(signals, "all_red_state", counting)
    network = grid(2, 2, 150.0, 1)
    first = shown(bank(Erratic(seed=3), network), 300.0)
    assert worked_out  # yellows and all-reds were shown
    before = len(worked_out)
    # A learning environment's next episode: another bank on the very same network.
    assert shown(bank(Erratic(seed=3), network), 300.0) == first
    assert len(worked_out) == before
