"""A run whose policy decisions are made outside it, one at a time.

A domain calls its policy from inside a SimPy process, at its own decision epochs; an
agent that learns (Gymnasium's ``step``, PettingZoo's) wants to be called the other way
round. :class:`DecisionStream` turns the run inside out: the world runs in a thread of
its own and stops at every decision, handing the observation to the caller and waiting
for the action. The two threads strictly take turns, so the run draws exactly the random
numbers, in the same order, as the same run with the policy inside it: an agent answering
like a policy gets that policy's KPIs to the last bit.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from twin.core.policy import PolicyContext
from twin.core.registry import Registry
from twin.core.run import PreparedRun, RunResult, default_registry, prepare_run
from twin.core.scenario import ScenarioConfig

SEAT_ID = "rl/external-v0"
"""The policy id of the seat an outside agent fills (its named stream is never drawn)."""


CLOSE_POLL_S = 0.05
"""How often :meth:`DecisionStream.close` looks whether the run's thread has stopped."""


class StreamClosed(Exception):
    """Raised inside the world's thread when the stream is closed mid-run, to unwind it."""


@dataclass(frozen=True)
class _Finished:
    pass


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_CLOSE = object()


class _Seat:
    """The run's policy: hands each observation out and returns the action handed in."""

    id: ClassVar[str] = SEAT_ID

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.outbox: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.inbox: queue.Queue[Any] = queue.Queue(maxsize=1)

    def reset(self, context: PolicyContext) -> None:
        pass

    def act(self, obs: Any) -> Any:
        self.outbox.put(obs)
        action = self.inbox.get()
        if action is _CLOSE:
            raise StreamClosed(SEAT_ID)
        return action


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

    The world runs in a daemon thread that is stopped by :meth:`close` (or when the run
    ends); use the stream as a context manager to be sure.
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
        self._seat = _Seat(scenario_cls.domain)
        self.run: PreparedRun = prepare_run(
            config, self._seat, seed, registry=registry, replication=replication
        )
        self._started = time.perf_counter()
        self._done = False
        self._awaiting_answer = False
        self._thread = threading.Thread(
            target=self._simulate, name=f"twin {config.id} seed {seed}", daemon=True
        )
        self._thread.start()

    @property
    def world(self) -> Any:
        """The run's world (its clock, ledger, probes and entities), read between turns."""
        return self.run.world

    def next(self) -> Any | None:
        """The next observation to answer, or ``None`` when the run has reached its
        horizon. Raises what the run raised (an invalid action, a broken model)."""
        if self._done:
            return None
        if self._awaiting_answer:
            raise RuntimeError("answer() the last observation before asking for the next")
        message = self._seat.outbox.get()
        if isinstance(message, _Finished):
            self._finish()
            return None
        if isinstance(message, _Failed):
            self._finish()
            raise message.error
        self._awaiting_answer = True
        return message

    def answer(self, action: Any) -> None:
        """The action for the observation :meth:`next` returned; the run goes on to the
        next decision (the domain checks the action as it would any policy's)."""
        if not self._awaiting_answer:
            raise RuntimeError("no observation is waiting for an answer; call next() first")
        self._awaiting_answer = False
        self._seat.inbox.put(action)

    def result(self) -> RunResult:
        """KPIs, time series and manifest of the finished run."""
        if not self._done:
            raise RuntimeError("the run has not reached its horizon; next() until None")
        return self.run.result(wall_s=time.perf_counter() - self._started)

    def close(self) -> None:
        """Stop the run's thread (at its next decision, or at once while it waits for
        one); idempotent."""
        self._awaiting_answer = False
        while self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._seat.inbox.put(_CLOSE, timeout=CLOSE_POLL_S)
            with contextlib.suppress(queue.Empty):
                self._seat.outbox.get_nowait()  # an observation nobody will answer
            self._thread.join(timeout=CLOSE_POLL_S)
        self._done = True

    def __enter__(self) -> DecisionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _simulate(self) -> None:
        config = self.config
        try:
            self.run.world.run(config.horizon_s, config.warmup_s)
        except StreamClosed:
            return
        except BaseException as error:  # handed to the caller's thread, raised there
            self._seat.outbox.put(_Failed(error))
            return
        self._seat.outbox.put(_Finished())

    def _finish(self) -> None:
        self._thread.join()
        self._done = True
