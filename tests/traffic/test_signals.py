"""SignalBank asks a policy that acts together once per instant, and runs as if asked one
intersection at a time."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.traffic.support import Erratic
from twin.core.policy import ActsTogether, InvalidActionError
from twin.traffic.network import grid
from twin.traffic.signals import SignalBank

STEP_S = 0.5


class ErraticTogether(Erratic):
    """Erratic's answers, asked for all the instant's decisions in one call."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.calls: list[int] = []

    def act_together(self, observations: list[Any]) -> list[Any]:
        self.calls.append(len(observations))
        return [self.act(obs) for obs in observations]


def bank(policy: Any) -> SignalBank:
    network = grid(2, 2, 150.0, 1)
    state = np.zeros(len(network.movements), dtype=np.int8)
    holder: list[SignalBank] = []

    def observe(i: int, now_s: float) -> SimpleNamespace:
        b = holder[0]
        program = b.intersections[i].program
        assert program is not None
        return SimpleNamespace(
            phase=int(b.phase[i]), green_s=np.array([p.green_s for p in program.phases])
        )

    holder.append(SignalBank(network, state, policy, observe))
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
