"""The decision watchdog: a policy that does not answer within a limit ends its run.

A policy stuck in one decision (``while True: pass``, a solver without a limit) would
otherwise hang ``twin run``, a batch worker or a checker without a word. Decisions
cost nanoseconds and are made millions of times, so a decision starts no timer: the
watched call only counts itself in and out (:meth:`Decisions.wrap`), and one daemon
thread per process looks at every watched thread's count every :data:`POLL_S` seconds.
A count that is odd (inside a decision) and unchanged for the limit is a decision
that has not answered: the watchdog raises :class:`DecisionInterrupted` into the deciding
thread (``PyThreadState_SetAsyncExc``, which works in any thread: a batch's worker
processes, Dask's worker threads), and :func:`watching` turns it into one
:class:`DecisionTimeout` line.

Python delivers such an exception only between bytecodes: a policy stuck inside C code
(a numpy call, ``time.sleep``, a solver's native loop) gets it only when that code
returns. For such a policy the watchdog prints one line to stderr
(:data:`STUCK_IN_C_GRACE_S` after the limit) saying that the policy has not answered
and the run is still waiting; Ctrl-C stops it.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from twin.core.errors import RunFailure, one_line

DEFAULT_DECISION_TIMEOUT_S = 60.0
"""Wall seconds one decision may take (``--decision-timeout-s``): see docs/PARAMETERS.md."""

POLL_S = 0.5
"""How often the watchdog looks (at most; a shorter limit is looked at five times as often)."""

STUCK_IN_C_GRACE_S = 2.0
"""How long after interrupting a decision the watchdog waits for it to end before it
says that the policy is stuck where it cannot be interrupted."""

REFIRE_S = 5.0
"""How long an interrupted decision has to unwind before it is interrupted again."""

IDLE_EXIT_S = 30.0
"""The watchdog thread ends after this long with nothing to watch (a new watch starts it)."""


class DecisionInterrupted(BaseException):
    """Raised into a thread whose decision took too long.

    A ``BaseException``, like ``KeyboardInterrupt``, so that a policy's own
    ``except Exception`` does not swallow it. Raised by type, without arguments.
    """


class DecisionTimeout(RunFailure):
    """A policy did not answer one decision within the limit: the run failed (exit 3)."""

    def __init__(
        self, policy: str, now_s: float, observation: str, timeout_s: float, details: str = ""
    ) -> None:
        RunFailure.__init__(
            self, policy, now_s, observation, f"did not answer within {timeout_s:g} s", details
        )
        self.args = (policy, now_s, observation, timeout_s, details)  # see ConfigError
        self.timeout_s = timeout_s


class Decisions:
    """The decisions one thread makes under watch.

    ``count`` goes up by one as a decision starts and again as it ends, so it is odd
    exactly while the policy is deciding; the watchdog alone reads the clock.
    """

    __slots__ = (
        "blamed",
        "closed",
        "count",
        "deciding",
        "fired",
        "fired_at",
        "now_s",
        "observation",
        "policy",
        "seen_at",
        "seen_count",
        "thread_id",
        "timeout_s",
        "warned",
        "wrapped",
    )

    def __init__(self, policy: str, timeout_s: float, now_s: Callable[[], float]) -> None:
        self.count = 0
        self.observation: Any = None
        self.thread_id = threading.get_ident()
        self.policy = policy
        self.timeout_s = timeout_s
        self.now_s = now_s
        self.seen_count = -1
        self.seen_at = 0.0
        self.fired_at: float | None = None
        self.fired = 0
        self.warned = False
        self.closed = False
        self.deciding: Any = policy
        """The policy deciding now (or last; its id, or itself: a policy switch changes
        its id), the innermost of nested decisions."""
        self.blamed: tuple[Any, Any, BaseException] | None = None
        """The policy, observation and exception of the last decision that raised."""
        self.wrapped: list[tuple[Any, str, Any]] = []

    def wrap(self, act: Callable[[Any], Any], policy: Any = None) -> Callable[[Any], Any]:
        """``act`` (of ``policy``: an id, or an object with one; the watched policy's id
        if None), counted in and out and its observation kept (the hot path: a decision
        pays two increments and two attribute stores).

        A policy may ask another (a policy set asks its maintenance member): a decision
        inside a decision of the same thread is not counted again, so the outer one's
        clock runs on, but a failure or a timeout inside it names the inner policy.
        """
        name = self.policy if policy is None else policy

        def watched(observation: Any) -> Any:
            if self.count % 2:
                return self._within(act, name, observation)
            self.deciding = name
            self.observation = observation
            self.count += 1
            try:
                return act(observation)
            except BaseException as error:
                self._blame(name, observation, error)
                raise
            finally:
                self.count += 1

        return watched

    def _within(self, act: Callable[[Any], Any], name: Any, observation: Any) -> Any:
        outer = self.deciding, self.observation
        self.deciding, self.observation = name, observation
        try:
            return act(observation)
        except BaseException as error:
            self._blame(name, observation, error)
            raise
        finally:
            self.deciding, self.observation = outer

    def _blame(self, name: Any, observation: Any, error: BaseException) -> None:
        # The innermost decision sees the exception first; the ones around it let it pass.
        if self.blamed is None or self.blamed[2] is not error:
            self.blamed = (name, observation, error)

    def blame(self, error: BaseException) -> tuple[str, Any]:
        """The policy whose decision raised ``error`` and what it was deciding on; if
        no decision raised it, the policy that decided last and its observation (the
        domain refused what it answered, most often)."""
        blamed = self.blamed
        # SimPy re-raises a process's exception as a copy whose cause is the original.
        if blamed is not None and blamed[2] in (error, error.__cause__):
            return _id_of(blamed[0]), blamed[1]
        return _id_of(self.deciding), self.observation

    def ask(self, act: Callable[[Any], Any], observation: Any) -> Any:
        """One watched decision, for callers that ask a policy directly (checkers)."""
        return self.wrap(act)(observation)

    def watch(self, policy: Any) -> None:
        """Watch every decision of ``policy`` (an object with ``id`` and ``act``) until
        :meth:`release`: ``act`` (and ``act_together``, for a policy that answers an
        instant's decisions at once) is wrapped on the instance, so callers that look it
        up at each decision (every domain does) see the wrapper. A frozen or slotted
        policy cannot be wrapped and is not watched."""
        if any(watched is policy for watched, _, _ in self.wrapped):
            return
        for name in ("act", "act_together"):
            method = getattr(policy, name, None)
            if method is None:
                continue
            own = vars(policy).get(name, _NOT_SET) if hasattr(policy, "__dict__") else _NOT_SET
            try:
                setattr(policy, name, self.wrap(method, policy))
            except (AttributeError, TypeError):
                return
            self.wrapped.append((policy, name, own))

    def release(self) -> None:
        """Give every watched policy its own methods back (or the wrappers found before)."""
        for policy, name, before in reversed(self.wrapped):
            if before is _NOT_SET:
                delattr(policy, name)
            else:
                setattr(policy, name, before)
        self.wrapped.clear()

    def timeout(self, interrupted: BaseException) -> DecisionTimeout:
        """The one-line failure for a decision the watchdog interrupted."""
        policy, seen = self.blame(interrupted)
        return DecisionTimeout(
            policy,
            self.now_s(),
            "none yet" if seen is None else one_line(repr(seen), 200),
            self.timeout_s,
            "".join(traceback.format_exception(interrupted)),
        )


_NOT_SET = object()


def _id_of(policy: Any) -> str:
    return policy if isinstance(policy, str) else str(getattr(policy, "id", policy))


@contextlib.contextmanager
def watching(
    policy: str,
    timeout_s: float | None,
    now_s: Callable[[], float] = lambda: math.nan,
) -> Iterator[Decisions]:
    """Watch the decisions this thread makes through the yielded :class:`Decisions`
    (its ``wrap`` or ``ask``) in the block; one that takes longer than ``timeout_s``
    wall seconds ends the block with :class:`DecisionTimeout`.

    Args:
        policy: the policy's id, for the message.
        timeout_s: the limit per decision; None watches nothing (counts only).
        now_s: the simulated time, for the message.
    """
    decisions = Decisions(policy, math.inf if timeout_s is None else timeout_s, now_s)
    dog = _watchdog() if timeout_s is not None else None
    if dog is not None:
        dog.add(decisions)
    try:
        yield decisions
    except DecisionInterrupted as interrupted:
        raise decisions.timeout(interrupted) from None
    finally:
        if dog is not None:
            dog.remove(decisions)


class _Watchdog:
    """One thread per process that looks at every watched thread's decisions."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.watched: list[Decisions] = []
        self.thread: threading.Thread | None = None

    def add(self, decisions: Decisions) -> None:
        with self.lock:
            self.watched.append(decisions)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._watch, name="twin-decision-watchdog", daemon=True
                )
                self.thread.start()

    def remove(self, decisions: Decisions) -> None:
        with self.lock:
            decisions.closed = True
            self.watched.remove(decisions)

    def _watch(self) -> None:
        idle_since = time.monotonic()
        while True:
            with self.lock:
                watched = list(self.watched)
            poll_s = min([POLL_S] + [d.timeout_s / 5 for d in watched])
            time.sleep(poll_s)
            now = time.monotonic()
            if watched:
                idle_since = now
            elif now - idle_since > IDLE_EXIT_S:
                with self.lock:
                    if not self.watched:
                        self.thread = None
                        return
            for decisions in watched:
                self._look(decisions, now)

    def _look(self, decisions: Decisions, now: float) -> None:
        count = decisions.count
        if count % 2 == 0 or count != decisions.seen_count:
            decisions.seen_count = count
            decisions.seen_at = now
            decisions.fired_at = None
            decisions.fired = 0
            decisions.warned = False
            return
        stuck_s = now - decisions.seen_at
        # Again every REFIRE_S while it is stuck (a policy may swallow even this), never
        # sooner: a second exception must not hit the unwinding of the first, outside
        # the decision, in a process the machine is starving of CPU.
        if stuck_s >= decisions.timeout_s + REFIRE_S * decisions.fired:
            with self.lock:
                if decisions.closed or decisions.count != count:
                    return
                _raise_in(decisions.thread_id, DecisionInterrupted)
                decisions.fired += 1
                if decisions.fired_at is None:
                    decisions.fired_at = now
        fired_at = decisions.fired_at
        if fired_at is not None and not decisions.warned and now - fired_at >= STUCK_IN_C_GRACE_S:
            decisions.warned = True
            deciding = _id_of(decisions.deciding)
            print(
                f"twin: policy {deciding!r} has not answered for {stuck_s:.0f} s at "
                f"t = {decisions.now_s():g} s and cannot be interrupted (it is inside C code: "
                "numpy, a sleep, a native solver; or it swallows the interruption); "
                "still waiting, Ctrl-C stops it",
                file=sys.stderr,
                flush=True,
            )


def _raise_in(thread_id: int, exception: type[BaseException]) -> None:
    """Raise ``exception`` in the thread at its next bytecode.

    Never called with NULL to take one back: on CPython 3.11 that leaves the
    interpreter's eval breaker set for good, and everything after runs many times slower.
    """
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception)
    )


_watchdogs: dict[int, _Watchdog] = {}


def _watchdog() -> _Watchdog:
    """This process's watchdog: a forked child (a process pool's worker, a live twin's
    fork) inherits the parent's object but not its thread, so it gets its own."""
    pid = os.getpid()
    dog = _watchdogs.get(pid)
    if dog is None:
        _watchdogs.clear()
        dog = _watchdogs[pid] = _Watchdog()
    return dog
