"""The city's own detector feeds, whose SimPy events the batched kernel may run past.

The city runs the kernel for as many ticks as nothing else in the simulation can see it
(:meth:`twin.traffic.city.City.run`). Its own queue and loop detector feeds sample every
few seconds and deliver their readings a fraction of a second later; stopping the
kernel at each of those events cost the scenarios with detectors (the default) most of
their speed on small cities, and they need not stop it:

- a *sample* reads the detector state at its time: the kernel copies that state when a
  batch passes the time (:class:`twin.traffic.kernels.Snapshots`) and the feed's signal
  reads the copy (:meth:`OwnFeeds.queue_halting`,
  :meth:`twin.traffic.detectors.LoopSignal.at_times`);
- a *delivery* only writes a reading board, which policies read at their decisions, and
  decisions stop the kernel anyway (unless someone subscribed to the board: then a
  delivery may read the city, and the kernel stops at the feed's samples and deliveries).

Nor need each sample and delivery be an event of its own. Until the city wakes again,
or someone else's event is due, nothing else runs and the city stands still: a feed
takes every sample due before then when the first is due (each reads the kernel's copy
for its time, or the city as it stands, which is the state at that time), and a reading
that arrives before then is delivered as it is sent, stamped with its arrival time
(:meth:`OwnFeeds.unread_until`). A feed that samples at the very instant the city wakes
(a 5 s queue detector under a 5 s decision grid: every decision instant) sends a reading
that arrives after the city's decisions there, when it has run on: the reading is held
(:meth:`OwnFeeds.hold`) and written, stamped with its arrival, once the city has run on
(:meth:`OwnFeeds.settle`), instead of being scheduled; on RESCO's grid4x4 under a
learning agent that leaves 1,843 SimPy events of 2,915 an hour. An hour of RESCO's
ingolstadt1 had 2,159 feed events (1,080 samples, 1,079 deliveries); it has 302. The
samples a feed takes together are measured, booked and delivered in one pass of compiled
code (:meth:`twin.core.sensors.SensorFeed.sample_at`). A feed whose readings also wait
for a backend (a region's cloud) samples on time: the backend's delay is read then.

Every other event of the simulation (signal changes, the sampler, the warm-up end, the
horizon, a user's induction-loop intervals, other processes) still stops the kernel.
When the city wakes at an instant where one of its own events is still queued, it lets
it go first (:meth:`OwnFeeds.scan`), as it went first when the kernel stopped
at every event. So every reading, counter and KPI is what it was, bit for bit
(``tests/traffic/test_batching.py`` holds batched runs to tick-by-tick ones).

Seeing what is queued needs SimPy's event queue (``Environment._queue``, not public):
without it, with a long queue (other domains' many events: scanning would cost more than
it saves) or with a feed sampling faster than the kernel ticks, the city stops at every
event as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numba
import numpy as np

from twin.core.sensors import SensorFeed
from twin.core.world import callback_owner
from twin.traffic.detectors import Clock
from twin.traffic.kernels import FloatArray, IntArray, Lanes, Snapshots, copied_rows, snapshots

SNAPSHOT_ROWS = 16
"""Samples of each kind (queue, loops) a batch may run past; it stops before the next."""
MAX_SCANNED_EVENTS = 64
"""A longer event queue is not scanned: the kernel stops at every event."""

Kind = Literal["queue", "loop"]


class OwnFeeds:
    """The city's detector feeds and the kernel's copies of what they sample.

    Args:
        env: the SimPy environment.
        step_s: the kernel's tick.
        n_edge_lanes: lanes the detectors cover (the first lanes).
    """

    def __init__(self, env: Any, step_s: float, n_edge_lanes: int) -> None:
        self.env = env
        self.step_s = step_s
        self.clock = Clock(env)
        """What the feeds' signals read as now when sampled on time."""
        self.snaps: Snapshots = snapshots(n_edge_lanes, 0)
        self._n = n_edge_lanes
        self._feeds: list[SensorFeed] = []
        self._owners: dict[object, tuple[SensorFeed, Kind, bool]] = {}
        self._queue_times: list[float] = []
        self._loop_times: list[float] = []
        self._heads: list[tuple[float, SensorFeed, Kind]] = []
        self._stop_s = math.inf
        self._scanned: int | None = None
        self.runs_ahead = False
        """Whether the kernel may run past these feeds' events at all: each samples no
        faster than the kernel ticks (a faster one would see two samples between ticks,
        and the order of same-time events would need more care than it is worth)."""
        self.passable: Callable[[Any], bool] | None = None
        """Which events of the rest of the world the kernel may run past too: a scenario
        that knows they can neither read nor change the city sets it (a region: its
        plant's and its cloud's events). ``None``: the kernel stops at every event that
        is not one of its own feeds'."""

    @property
    def feeds(self) -> tuple[SensorFeed, ...]:
        """The city's own detector feeds, in the order they were added."""
        return tuple(self._feeds)

    def add(self, feed: SensorFeed, kind: Kind) -> None:
        """Follow ``feed`` (its samples and deliveries) as one of the city's own."""
        if not self._feeds:
            self.snaps = snapshots(self._n, SNAPSHOT_ROWS)
        if not callable(getattr(feed.signal, "at_times", None)):
            raise TypeError(f"feed {feed.name!r}: the city's own feeds read times ahead (at_times)")
        self._feeds.append(feed)
        feed.sample_ahead = self._sample_ahead
        # A sample is the feed's process resuming; a delivery is a callback of the feed.
        # Keyed by the objects (hashed by identity), not their ids, so the table stays
        # right in a copied world (a fork): a copy rebuilds it with the copies as keys.
        self._owners[feed.process] = (feed, kind, True)
        self._owners[feed] = (feed, kind, False)
        self.runs_ahead = all(f.model.spec.period_s >= self.step_s for f in self._feeds)

    def _owner(self, event: Any) -> tuple[SensorFeed, Kind, bool] | None:
        """(feed, kind, is a sample) of one of our events, or None (someone else's)."""
        callbacks = event.callbacks
        if not callbacks or len(callbacks) != 1:
            return None
        # A delivery is a partial of a feed's method, a sample a process's bound method.
        target = callback_owner(callbacks[0])
        try:
            owner = self._owners.get(target)
        except TypeError:  # a method of an unhashable object: not one of ours
            return None
        if owner is None:
            return None
        if owner[0].board._subscribers:
            # Someone acts on its deliveries (made by a delivery event, or by the sample
            # itself when there is no latency) and may read the city then.
            return None
        return owner

    def _scannable(self) -> list[tuple[float, int, int, Any]] | None:
        """SimPy's queued events, if the kernel may run past ours at all."""
        queue: list[tuple[float, int, int, Any]] | None = getattr(self.env, "_queue", None)
        if queue is None or len(queue) > MAX_SCANNED_EVENTS or not self.runs_ahead:
            return None
        return queue

    def scan(self, now_s: float) -> bool:
        """Look at what is queued; whether one of our events is still due at ``now_s``.

        If so, it goes first: the city wakes there after running past others, and it
        went first when the kernel stopped at each, so the city yields and comes back
        after it. Otherwise remembers the next event of someone else and our feeds'
        next samples, for :meth:`plan`.
        """
        self._heads.clear()
        self._stop_s = math.inf
        queue = self._scannable()
        self._scanned = None if queue is None else len(queue)
        if queue is None:
            return False
        for at_s, _priority, _eid, event in queue:
            if self.passable is not None and self.passable(event):
                continue  # never one of ours: the scenario vouches it cannot touch the city
            owner = self._owner(event)
            if owner is None:
                self._stop_s = min(self._stop_s, at_s)
            elif at_s <= now_s:
                self.hold(now_s)
                return True
            elif owner[2]:
                self._heads.append((at_s, owner[0], owner[1]))
        return False

    def plan(self, now_s: float, until_s: float, run_ahead: bool = True) -> float:
        """The time of the next event the kernel must stop at, the kernel running no
        tick at or after ``until_s`` anyway (the next signal event).

        With ``run_ahead`` (after :meth:`scan` at ``now_s``), our own events are passed
        over: the times of the samples the batch may pass are set in :attr:`snaps`, at
        most :data:`SNAPSHOT_ROWS` of each kind (the batch stops before the next). The
        copies of the previous batch are forgotten: its samples were all taken before
        ``now_s``.
        """
        env = self.env
        snaps = self.snaps
        if self._queue_times or self._loop_times:
            snaps.queue_s[:] = math.inf
            snaps.loop_s[:] = math.inf
            self._queue_times.clear()
            self._loop_times.clear()
        snaps.taken[:] = 0
        queue = getattr(env, "_queue", None)
        if not run_ahead or self._scanned is None or queue is None:
            return float(env.peek())
        if len(queue) != self._scanned:  # the signal decisions scheduled something
            self.scan(now_s)
        stop = self._stop_s
        horizon = min(stop, until_s)
        for at_s, feed, kind in self._heads:
            times = self._queue_times if kind == "queue" else self._loop_times
            period_s = feed.model.spec.period_s
            for _ in range(SNAPSHOT_ROWS + 1):
                if at_s >= horizon:
                    break
                times.append(at_s)
                at_s = at_s + period_s  # SimPy's own arithmetic: now + period
        for times, due in ((self._queue_times, snaps.queue_s), (self._loop_times, snaps.loop_s)):
            if not times:
                continue
            if len(times) > 1:
                times[:] = sorted(set(times))
            if len(times) > SNAPSHOT_ROWS:
                stop = min(stop, times[SNAPSHOT_ROWS])
                del times[SNAPSHOT_ROWS:]
            due[: len(times)] = times
        return stop

    def unread_until(self, until_s: float) -> None:
        """Nothing but our own events runs before ``until_s`` (the city's next wake-up,
        or an event of someone else found by :meth:`scan`, whichever is first; the
        caller made sure nothing else was scheduled since), and the city stands still
        until then. So a feed takes every sample due before then when the first of them
        is due (the kernel's copies, or the city as it stands, are the state at each
        sample's time: :func:`twin.traffic.kernels.copied_rows`), and a reading that
        arrives before then is delivered as it is sent: no one can read a board in
        between. It saves a SimPy event per sample and per reading and changes no
        value: each sample draws from its feed's own streams in the same order, and the
        board is stamped with the arrival time the event would have had; a feed with a
        delivery still waiting for its event keeps sending by events (first in, first
        out)."""
        for feed in self._feeds:
            # A subscriber acts on a delivery when it is made: it must be made on time.
            feed.unread_until_s = -math.inf if feed.board._subscribers else until_s

    def hold(self, now_s: float) -> None:
        """The city yields to a feed's event due at ``now_s`` and decides after it: a
        reading that feed sends then arrives after the decision, when the city has run
        on, so it is held until :meth:`settle` rather than given an event of its own
        (a board with a subscriber gets its readings on time)."""
        for feed in self._feeds:
            if not feed.board._subscribers:
                feed.hold_at_s = now_s

    def settle(self) -> None:
        """After the city ran on: deliver the held readings that arrive before the
        feeds' :attr:`~twin.core.sensors.SensorFeed.unread_until_s` (set just before
        by :meth:`unread_until`, else in the past), stamped with their arrival, and
        schedule the others."""
        for feed in self._feeds:
            feed.settle_held(feed.unread_until_s)

    def _sample_ahead(self, feed: SensorFeed, at_s: float) -> bool:
        """Whether ``feed``'s sample due at ``at_s`` may be taken now: nothing can tell."""
        # A backend's delay is read when the sample is taken, as of the clock's now.
        return at_s < feed.unread_until_s and feed.backend_delay is None

    def queue_halting(self, lanes: Lanes, times: Sequence[float]) -> FloatArray:
        """Halting vehicles of every edge lane at each of ``times`` (samples' views),
        ``(len(times), n)``: the kernel's copy for that time, or the lanes as they stand
        (the kernel has not passed it, so that is the state then)."""
        snaps = self.snaps
        rows = np.empty((len(times), self._n))
        queue_rows(
            snaps.queue_s, int(snaps.taken[0]), np.asarray(times, dtype=np.float64),
            snaps.queue_halting, lanes.halting, rows,
        )  # fmt: skip
        return rows


@numba.njit(cache=True)
def queue_rows(
    due_s: FloatArray,
    taken: int,
    times: FloatArray,
    copies: IntArray,
    halting: IntArray,
    out: FloatArray,
) -> None:
    """Row ``r`` of ``out``: the halting counts copied for ``times[r]`` (a row of
    ``copies``), or ``halting`` as it stands (:func:`copied_rows`)."""
    rows = np.empty(times.shape[0], dtype=np.int64)
    copied_rows(due_s, taken, times, rows)
    for r in range(times.shape[0]):
        source = halting if rows[r] < 0 else copies[rows[r]]
        for lane in range(out.shape[1]):
            out[r, lane] = source[lane]
