"""A run whose policy decisions are made outside it, one at a time or an instant at a time.

A domain calls its policy from inside a SimPy process, at its own decision epochs; an
agent that learns (Gymnasium's ``step``, PettingZoo's) wants to be called the other way
round. :class:`DecisionStream` turns the run inside out: the world runs in a greenlet
(a coroutine with its own stack, from the ``greenlet`` package) and, at every decision,
switches back to the caller with the observation; the caller's answer switches back in.
Nothing runs concurrently, so the run draws exactly the random numbers, in the same
order, as the same run with the policy inside it: an agent answering like a policy gets
that policy's KPIs to the last bit. A switch costs about a microsecond, where handing
each decision between two threads cost about 90 (``benchmarks/rl_env_speed.py``).

Where a domain lets several deciders fall due at one instant (a grid of signals), the seat
answers them together (:class:`~twin.core.policy.ActsTogether`): one switch hands out
all their observations, :meth:`DecisionStream.next_turn` gives them to the caller at
once (a PettingZoo step for all of them) and :meth:`DecisionStream.next` one by one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from greenlet import GreenletExit, getcurrent, greenlet

from twin.core.policy import PolicyContext
from twin.core.registry import Registry
from twin.core.run import PreparedRun, RunResult, default_registry, prepare_run
from twin.core.scenario import ScenarioConfig

SEAT_ID = "rl/external-v0"
"""The policy id of the seat an outside agent fills (its named stream is never drawn)."""


class StreamClosed(GreenletExit):
    """Raised inside the run when the stream is closed mid-run, to unwind it."""


@dataclass(frozen=True)
class _Together:
    observations: Sequence[Any]


@dataclass(frozen=True)
class _Finished:
    pass


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class Seat:
    """The run's policy: hands each observation to the caller and returns its answer."""

    id: ClassVar[str] = SEAT_ID

    def __init__(self, domain: str) -> None:
        self.domain = domain

    def reset(self, context: PolicyContext) -> None:
        pass

    def act(self, obs: Any) -> Any:
        # Back to whoever asked for the next decision; resumed with the answer.
        return getcurrent().parent.switch(obs)

    def act_together(self, observations: Sequence[Any]) -> Sequence[Any]:
        # Resumed with the answers, in the order of the observations.
        answers: Sequence[Any] = getcurrent().parent.switch(_Together(observations))
        return answers


class DecisionStream:
    """One run of ``config`` on ``seed`` whose policy is the caller.

    Usage::

        stream = DecisionStream(config, seed=7)
        while (obs := stream.next()) is not None:
            stream.answer(my_agent(obs))
        result = stream.result()

    Args:
        config: the scenario, its params and horizon (as :func:`twin.core.run.simulate`).
        seed: root seed; the same seed gives the same world (common random numbers).
        registry: where ids are looked up (the installed entry points by default).
        replication: spawn-key prefix (replication ``i`` of a batch).

    :meth:`close` (or leaving the ``with`` block) unwinds a run that has not reached
    its horizon. A stream is driven from the thread that made it.
    """

    def __init__(
        self,
        config: ScenarioConfig,
        seed: int,
        *,
        registry: Registry | None = None,
        replication: tuple[int, ...] = (),
    ) -> None:
        registry = registry if registry is not None else default_registry()
        scenario_cls = registry.scenario(config.id)
        self.config = config
        self._seat = Seat(scenario_cls.domain)
        self.run: PreparedRun = prepare_run(
            config, self._seat, seed, registry=registry, replication=replication
        )
        self._started = time.perf_counter()
        self._done = False
        self._turn: Sequence[Any] = []  # the observations due at this instant
        self._together = False  # the run asked for them together (answers as one list)
        self._handed = 0  # how many of them the caller has been given
        self._answers: list[Any] | Sequence[Any] = []
        self._run = greenlet(self._simulate)

    @property
    def world(self) -> Any:
        """The run's world (its clock, ledger, probes and entities), read between turns."""
        return self.run.world

    def next(self) -> Any | None:
        """The next observation to answer, or ``None`` when the run has reached its
        horizon. Raises what the run raised (an invalid action, a broken model)."""
        turn = self.next_turn(1)
        return None if turn is None else turn[0]

    def next_turn(self, most: int | None = None) -> Sequence[Any] | None:
        """The observations due at this instant that the caller has not had yet (at most
        ``most``), or ``None`` when the run has reached its horizon. Several come only
        from a run that asks for them together; answer each, in order, before asking
        again. Raises what the run raised."""
        if self._done:
            return None
        if len(self._answers) < self._handed:
            raise RuntimeError("answer() the last observation before asking for the next")
        if self._handed == len(self._turn) and not self._resume():
            return None
        end = len(self._turn) if most is None else min(len(self._turn), self._handed + most)
        if self._handed == 0 and end == len(self._turn):
            given = self._turn  # the whole turn as the run gave it: a domain's batch stays one
        else:
            given = self._turn[self._handed : end]
        self._handed = end
        return given

    def answer(self, action: Any) -> None:
        """The action for the oldest observation given and not answered yet; the run goes
        on when every observation of the instant is answered and more are asked for (the
        domain checks each action as it would any policy's)."""
        if len(self._answers) >= self._handed:
            raise RuntimeError("no observation is waiting for an answer; call next() first")
        assert isinstance(self._answers, list)  # a whole turn's answers leave none waiting
        self._answers.append(action)

    def answer_turn(self, actions: Sequence[Any]) -> None:
        """The actions of every observation given and not answered yet, in order. Given
        for a whole turn the run asked for together, the run receives ``actions`` as it
        is (a domain's batch of actions, which it may apply at once)."""
        waiting = self._handed - len(self._answers)
        if len(actions) != waiting:
            raise RuntimeError(
                f"{len(actions)} actions for the {waiting} observations waiting for one"
            )
        if self._together and not self._answers and self._handed == len(self._turn):
            self._answers = actions
        else:
            for action in actions:
                self.answer(action)

    def _resume(self) -> bool:
        """Hand the run the answers of the last instant and wait for its next decisions;
        ``False`` at the horizon."""
        if not self._run:  # not started yet
            message = self._switch_in(None, start=True)
        elif self._together:
            message = self._switch_in(self._answers)
        else:
            message = self._switch_in(self._answers[0])
        self._answers = []
        self._handed = 0
        if isinstance(message, _Finished):
            self._done = True
            self._turn = []
            return False
        if isinstance(message, _Failed):
            self._done = True
            self._turn = []
            raise message.error
        self._together = isinstance(message, _Together)
        self._turn = message.observations if isinstance(message, _Together) else [message]
        return True

    def _switch_in(self, reply: Any, *, start: bool = False) -> Any:
        self._run.parent = getcurrent()
        return self._run.switch() if start else self._run.switch(reply)

    def result(self) -> RunResult:
        """KPIs, time series and manifest of the finished run."""
        if not self._done:
            raise RuntimeError("the run has not reached its horizon; next() until None")
        return self.run.result(wall_s=time.perf_counter() - self._started)

    def close(self) -> None:
        """Unwind the run if it is between decisions; idempotent."""
        self._turn, self._answers, self._handed = [], [], 0
        if self._run and not self._run.dead:
            self._run.parent = getcurrent()
            self._run.throw(StreamClosed(SEAT_ID))
        self._done = True

    def __enter__(self) -> DecisionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _simulate(self) -> _Finished | _Failed:
        config = self.config
        try:
            self.run.world.run(config.horizon_s, config.warmup_s)
        except StreamClosed:
            raise
        except BaseException as error:  # handed to the caller, raised there
            return _Failed(error)
        return _Finished()
