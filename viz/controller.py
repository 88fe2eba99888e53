"""What the browser app does, without the browser: step, play, pace, pick, reset, chart.

:class:`Controller` owns a :class:`~viz.session.Session` and everything the page shows of
it: the map's layout and latest frames (:mod:`viz.scene_data`: data, not images), the
status line (clock, measured real-time factor), the KPI table and chart history, and the
selection. The Solara page (:mod:`viz.app`) only binds widgets to its methods and shows
what it publishes, so every behaviour can be tested here in plain Python, and the browser
test checks only the wiring.

Playing runs in a thread of the controller's own, not the page's: a reloaded page finds
the run where it is. The loop paces the simulation at the chosen real-time factor (or
flat out), publishes a frame at most :data:`MAX_FPS` times a second and only while doing
so costs at most :attr:`FrameBudget.fraction` of simulating (frames that fit in time the
paced loop would wait anyway are free), and refreshes the clock and KPIs at least every
:data:`STATUS_PERIOD_S`, whatever the frame rate.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from twin.core.domain import Clock
from twin.core.errors import RunFailure, UserError
from twin.core.registry import Registry
from twin.core.run import default_registry
from twin.core.scenario import ScenarioConfig
from twin.core.scene import Highlight, HighlightingView, View
from viz.inspect_format import Row, entity_rows
from viz.scene_data import frame_data, layout_data
from viz.session import Session

DRAW_FRACTION = 0.08
"""At most this share of a played run's wall time goes to the view (issue 20: a browser
attached slows the simulation by <= 10%): publishing frames, and whatever else the
simulation loses while a page watches (the web server's threads holding the interpreter,
the browser on the same cores), measured as the simulation's wall time beyond its CPU
time. Below 10% for the frame that is published on the last allowed step."""
MIN_FPS = 1.0
"""Flat out, the map moves at least this often whatever the budget: a machine busy with
other work takes time from the simulation that the budget charges to the view, and a
map that froze until pause would look like a hang."""
MAX_FPS = 20.0
"""Frames published per wall second at most: smooth to the eye, and no more data than
a browser draws."""
FRAME_SPACING_S = 0.9 / MAX_FPS
"""Frames are published at least this far apart: a paced loop's steps come 1 / MAX_FPS
apart give or take a millisecond, and a spacing of exactly that would skip every other."""
FLAT_OUT_STEP_S = 0.1
"""Flat out, a step of the play loop simulates as many display ticks as take about this
long, and a pause lands within it. Each step ends the engine's run and the kernels'
batch, and what runs between two steps (a frame, the clock, the server's threads) takes
the kernels' data out of the caches: the jammed 10x10 city played flat out in steps of
~23 ms cost +8% to +16% over one long advance, in steps of ~100 ms +1% to +4% (frames
flat out: at most ~10/s, which the frame budget rarely allows anyway)."""
MAX_TICKS_PER_STEP = 32
"""At most this many display ticks a flat-out step: a world light enough to fit more (a
quiet city at 1 s ticks) gains nothing more per step, and a sudden heavy tick after a run
of light ones (a jam forming) cannot stretch one step, and a pause, by seconds."""
STATUS_PERIOD_S = 0.3
"""The clock and KPIs refresh at least this often while playing (>= twice a second)."""
RTF_WINDOW_S = 2.0
"""The measured real-time factor is simulated over wall time across this last window."""
SPEEDS: tuple[float | None, ...] = (
    1, 2, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400, 604_800, None,
)  # fmt: skip
"""Real-time factors the speed slider offers (simulated seconds per wall second);
``None``: as fast as the engine goes."""


@dataclass(frozen=True)
class AppTarget:
    """What ``twin viz`` was asked to show: the run config, policies and seed.

    Each arm is a policy with its params and, where it has one, a name to show instead
    of the policy id (an experiment's arm: ``all-ai``).
    """

    config: ScenarioConfig
    policy: str
    seed: int = 0
    compare: str | None = None
    policy_params: dict[str, Any] | None = None
    source: str = "<command line>"
    compare_params: dict[str, Any] | None = None
    policy_name: str | None = None
    compare_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.model_dump(mode="json"),
            "policy": self.policy,
            "seed": self.seed,
            "compare": self.compare,
            "policy_params": self.policy_params,
            "source": self.source,
            "compare_params": self.compare_params,
            "policy_name": self.policy_name,
            "compare_name": self.compare_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppTarget:
        return cls(
            config=ScenarioConfig.model_validate(data["config"]),
            policy=data["policy"],
            seed=int(data["seed"]),
            compare=data.get("compare"),
            policy_params=data.get("policy_params"),
            source=data.get("source", "<command line>"),
            compare_params=data.get("compare_params"),
            policy_name=data.get("policy_name"),
            compare_name=data.get("compare_name"),
        )


ANCHOR_ENV = "TWIN_VIZ_ANCHOR"
"""Set (to anything) by ``benchmarks/viz_frame.py``: after each play the server steps a
headless copy of the run over the played interval, in its own process, and the play's
record gets the wall seconds that took: the anchor of the slow-down a watching page
causes. Another process is no anchor here: one process's speed is fixed when it starts
and differs from another's by up to 1.5x (docs/BENCHMARKS.md, issue 19's detectors)."""

HAND_OVER_WAIT_S = 0.05
"""Between two steps the play loop waits at most this long for the threads that wait
for the controller's lock to take it (a thread that never comes cannot stall the run)."""


class PlayLock:
    """The controller's lock (reentrant), which the play loop hands over between steps.

    Python's locks are not fair: flat out, the play thread released the lock and took it
    back before a waiting thread woke, so the page's poll (which reads the inspector
    under the lock), a hover or a click waited for seconds, and the jammed 10x10 city's
    clock stood still in the browser for a whole 6 s play (0-1 changes; 17-18 at x60).
    Threads count themselves while they wait; the play loop lets them in first.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiting = 0
        self._changed = threading.Condition()

    def __enter__(self) -> PlayLock:
        with self._changed:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._changed:
                self._waiting -= 1
                self._changed.notify_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def hand_over(self, timeout_s: float = HAND_OVER_WAIT_S) -> None:
        """Return once no other thread waits for the lock (or after ``timeout_s``);
        called without holding it."""
        with self._changed:
            self._changed.wait_for(lambda: self._waiting == 0, timeout=timeout_s)


@dataclass
class FrameBudget:
    """Allows a frame only while drawing has cost at most ``fraction`` of simulating."""

    fraction: float = DRAW_FRACTION
    simulate_s: float = 0.0
    draw_s: float = 0.0

    def allows_frame(self) -> bool:
        return self.draw_s <= self.fraction * self.simulate_s

    @property
    def slowdown(self) -> float:
        """Wall time drawing / wall time simulating so far."""
        return self.draw_s / self.simulate_s if self.simulate_s > 0 else 0.0


@dataclass
class KpiHistory:
    """Headline KPIs of every arm at each drawn frame; charts append what is new."""

    names: tuple[str, ...]
    arms: tuple[str, ...]
    rows: list[list[float]] = field(default_factory=list)
    """``[now_s, arm 0 kpi 0, arm 0 kpi 1, ..., arm 1 kpi 0, ...]``; NaN = not yet."""

    def append(self, now_s: float, per_arm: list[dict[str, float]]) -> None:
        if self.rows and self.rows[-1][0] == now_s:
            return  # the same instant drawn again (a click, a re-render): no new point
        row = [now_s]
        for values in per_arm:
            row.extend(values.get(name, math.nan) for name in self.names)
        self.rows.append(row)

    def series(self, kpi: str, start: int = 0) -> list[list[float | None]]:
        """``[[now_s, arm 0 value, arm 1 value], ...]`` from row ``start`` (JSON-safe)."""
        k = self.names.index(kpi)
        width = len(self.names)
        return [
            [row[0], *(_json_number(row[1 + a * width + k]) for a in range(len(self.arms)))]
            for row in self.rows[start:]
        ]


class Controller:
    """The state of the app: a session, what the page shows of it, and the selection.

    Every public method holds the controller's lock: the play loop steps in a thread of
    its own while button handlers run in the server's. What the page reads
    (:attr:`frames`, :attr:`status`, :meth:`kpi_table`) is replaced whole when published,
    so reading it needs no lock; :attr:`frame_version`, :attr:`status_version` and
    :attr:`selection_version` count what was published, so a page re-renders only what
    changed.
    """

    def __init__(
        self,
        target: AppTarget,
        registry: Registry | None = None,
        *,
        session: Session | None = None,
    ) -> None:
        """Show ``target`` from time zero, or adopt ``session`` (built from ``target``,
        e.g. already warmed up) as it stands."""
        self.target = target
        self.registry = registry if registry is not None else default_registry()
        self.lock = PlayLock()
        self.config = target.config
        self.policy = target.policy
        self.compare_policy = target.compare
        self.policy_params = target.policy_params
        self.compare_params = target.compare_params
        self.names: tuple[str | None, str | None] = (target.policy_name, target.compare_name)
        """The arms' names (an experiment's arms), kept until their policy is changed."""
        self.seed = target.seed
        self.selected: str | None = None
        self.selected_arm = 0
        self.frame_version = 0
        self.restarts = 0
        self.status_version = 0
        self.selection_version = 0
        self._budget_lock = threading.Lock()
        self.speed: float | None = None
        self.last_play: tuple[float, ...] | None = None
        """The last play: simulated seconds it started and ended at, its wall seconds, the
        CPU seconds of the play thread and of the whole server process, and with
        :data:`ANCHOR_ENV` set the headless wall seconds of the same interval (what
        ``benchmarks/viz_frame.py`` reads off the page)."""
        self._anchor: Session | None = None
        """With :data:`ANCHOR_ENV` set: the headless copy of the shown run."""
        self._pace_from: tuple[float, float] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        if session is None:
            self._start(self.seed)
        else:
            self.session = session
            self._show(self.seed)

    # -- building -----------------------------------------------------------------
    def _start(self, seed: int) -> None:
        self.session = self._chosen_session(seed)
        self._show(seed)

    def _chosen_session(self, seed: int) -> Session:
        """A new session of what is chosen now (config, policies, params, names)."""
        return self._session(
            self.config,
            self.policy,
            self.compare_policy,
            (self.policy_params, self.compare_params),
            self.names,
            seed,
        )

    def _session(
        self,
        config: ScenarioConfig,
        policy: str,
        compare: str | None,
        params: tuple[dict[str, Any] | None, dict[str, Any] | None],
        names: tuple[str | None, str | None],
        seed: int,
        source: str | None = None,
    ) -> Session:
        policies = [policy] + ([compare] if compare else [])
        return Session(
            config,
            policies,
            seed,
            list(params),
            source=source or self.target.source,
            names=list(names),
        )

    def _show(self, seed: int) -> None:
        self.seed = seed
        self.restarts += 1
        self._anchor = None
        self.panels = self._panels()
        main = self.panels[0]
        self.views, self.layout, self.layout_json = main.views, main.layout, main.layout_json
        self.history = KpiHistory(
            self.session.headline, tuple(arm.label for arm in self.session.arms)
        )
        self.budget = FrameBudget()
        self.frames_published = 0
        self.playing = False
        self._publish_cost_s = 0.0
        self._tick_wall_s = math.inf  # wall seconds one display tick took flat out, lately
        self._rtf_samples: deque[tuple[float, float]] = deque()
        self.frames: list[dict[str, Any]] = []
        self._publish_frame()
        self._refresh_status()

    def _panels(self) -> list[PanelShow]:
        """What the page draws: the scenario's panels (a region: plant, city, network),
        or its domain's one view; each with a view per arm."""
        per_arm = [self.session.panels(arm) for arm in range(len(self.session.arms))]
        shows = []
        for panels in zip(*per_arm, strict=True):
            views = [panel.view for panel in panels]
            layout = layout_data(views[0].layout, views[0].frame())
            # Sent as text: the page's renderer would otherwise walk every number of it
            # on every render, looking for widgets.
            layout_json = json.dumps(layout, separators=(",", ":"))
            shows.append(PanelShow(panels[0].name, panels[0].title, views, layout, layout_json))
        return shows

    def warm_up(self) -> None:
        """Pay the engine's first-use costs before anyone clicks: a spare session of the
        same run is built and advanced one display tick, then dropped.

        The first advance in a process loads the domain's compiled kernels (numba reads
        its cache and builds its typing tables: 1.8 s for the 4x4 city on a slow
        machine), so the first Play froze the clock that long. The spare has its own
        random streams: the shown run draws exactly what it would have drawn. A policy
        that fails here fails in the shown run too, which says so on the page."""
        with self.lock:
            config, policy, compare = self.config, self.policy, self.compare_policy
            params, names = (self.policy_params, self.compare_params), self.names
            seed = self.seed
        spare = self._session(config, policy, compare, params, names, seed)
        with contextlib.suppress(RunFailure):
            spare.advance(config.tick_s)

    @property
    def clock(self) -> Clock:
        """How the domain reads time (unit, display tick, calendar)."""
        return self.session.domain.clock

    def reset(
        self,
        seed: int | None = None,
        *,
        policy: str | None = None,
        compare: str | bool | None = False,
        params: dict[str, Any] | None = None,
        tick_s: float | None = None,
    ) -> None:
        """Start again at time zero, changing whatever is given.

        ``compare=None`` leaves compare mode, a policy id enters it, ``False`` keeps it.
        An arm whose policy changes runs it with default params and loses its name.
        Raises :class:`~twin.core.errors.UserError` (one line) when the new choice is
        invalid, and then leaves the running session as it was.
        """
        self.pause()
        with self.lock:
            config = self.config
            if params is not None:
                config = config.model_copy(update={"params": params})
            if tick_s is not None:
                if not (math.isfinite(tick_s) and tick_s > 0):
                    raise UserError(f"tick_s: {tick_s!r} is not a positive number of seconds")
                config = config.model_copy(update={"tick_s": float(tick_s)})
            chosen, policy_params = self.policy, self.policy_params
            policy_name, compare_name = self.names
            if policy is not None and policy != self.policy:
                chosen, policy_params, policy_name = policy, None, None
            compare_policy, compare_params = self.compare_policy, self.compare_params
            if compare is not False and compare != self.compare_policy:
                compare_policy, compare_params, compare_name = compare or None, None, None
            seed = self.seed if seed is None else seed
            try:
                session = self._session(
                    config,
                    chosen,
                    compare_policy,
                    (policy_params, compare_params),
                    (policy_name, compare_name),
                    seed,
                    source="parameters" if params is not None else None,
                )
            except LookupError as error:
                raise UserError(str(error)) from None
            self.config, self.policy, self.compare_policy = config, chosen, compare_policy
            self.policy_params, self.compare_params = policy_params, compare_params
            self.names = (policy_name, compare_name)
            self.session = session
            self._show(seed)
            if self.selected is not None and not self._shown(self.selected):
                self.selected = None

    # -- running ------------------------------------------------------------------
    def step(self, ticks: int = 1) -> None:
        """Advance ``ticks`` display ticks and publish (a click on *step* always draws)."""
        with self.lock:
            try:
                self.session.step(ticks)
            except RunFailure as failure:
                self._refresh_status()
                raise UserError(str(failure)) from None
            self._publish_frame()
            self._refresh_status()

    def play(self, speed: float | bool | None = False) -> None:
        """Start playing in the controller's thread, at ``speed`` (a real-time factor;
        ``None``: flat out; ``False``: the speed chosen before). Play measures its own
        budget: clicks before it do not count."""
        with self.lock:
            if speed is not False:
                self.speed = _checked_speed(speed)
            if self.session.done or self._thread is not None:
                return
            self.playing = True
            self.budget = FrameBudget()
            self._stop.clear()
            self._thread = threading.Thread(target=self._play_loop, name="twin-play", daemon=True)
            self._thread.start()
            self._refresh_status()  # the page says "playing" at once
            self._last_status_wall = -math.inf  # ... and the clock moves with the first step

    def set_speed(self, speed: float | None) -> None:
        """Change the real-time factor, playing or not."""
        with self.lock:
            self.speed = _checked_speed(speed)
            self._rtf_samples.clear()
            self._pace_from = None

    def pause(self) -> None:
        """Stop playing; once this returns, the clock stands still and the page shows it
        (a frame the budget skipped is published now)."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self.lock:
            self._thread = None
            self.playing = False
            if not self.frames or self.frames[0]["now_s"] != self.session.now_s:
                self._publish_frame()
            self._refresh_status()

    def close(self) -> None:
        """Stop the play thread (the server is shutting down)."""
        self.pause()

    def _play_loop(self) -> None:
        started_wall, started_s = time.perf_counter(), self.session.now_s
        started_cpu, started_thread = time.process_time(), time.thread_time()
        self._pace_from = (started_wall, started_s)
        while not self._stop.is_set():
            self.lock.hand_over()  # the page's poll, a hover, a click: before the next step
            if self.advance() is None:
                break
            with self.lock:
                speed, now_s = self.speed, self.session.now_s
                if speed is None:
                    continue
                wall = time.perf_counter()
                if self._pace_from is None:  # the speed changed: pace from here
                    self._pace_from = (wall, now_s)
                pace_wall, pace_s = self._pace_from
                wait_s = pace_wall + (now_s - pace_s) / speed - wall
                if wait_s < -1.0:  # fell behind (a slow world): pace from here on
                    self._pace_from = (wall, now_s)
            if wait_s > 0:
                self._stop.wait(wait_s)
        record = (
            started_s,
            self.session.now_s,
            time.perf_counter() - started_wall,
            time.thread_time() - started_thread,
            time.process_time() - started_cpu,
        )
        if os.environ.get(ANCHOR_ENV):
            record += (self._anchor_wall_s(started_s, self.session.now_s),)
        with self.lock:
            self.last_play = record
            self.playing = False
            self._refresh_status()

    def _anchor_wall_s(self, start_s: float, end_s: float) -> float:
        """Wall seconds a headless copy of the shown run takes from ``start_s`` to
        ``end_s`` (brought to ``start_s`` first, untimed). A shown run that failed
        stopped before the failing decision, and so does its copy."""
        if self._anchor is None or self._anchor.now_s > start_s:
            self._anchor = self._chosen_session(self.seed)
        self._anchor.advance(start_s - self._anchor.now_s)
        started = time.perf_counter()
        self._anchor.advance(end_s - start_s)
        return time.perf_counter() - started

    def advance(self, simulate_s: float | None = None) -> bool | None:
        """One step of the play loop: simulate, and publish if that does not slow the run.

        Args:
            simulate_s: simulated seconds to advance; by default, flat out, as many
                display ticks as take about :data:`FLAT_OUT_STEP_S`, or what the chosen
                speed covers in one frame (a smooth picture at a slow speed, however
                long the display tick).

        Returns:
            whether a frame was published; ``None`` when not playing (paused, or the run
            reached its horizon), so the loop ends.
        """
        with self.lock:
            if not self.playing:
                return None
            ticks = 0
            if simulate_s is None:
                tick_s = self.session.tick_s
                if self.speed is None:
                    ticks = self._flat_out_ticks()
                    simulate_s = ticks * tick_s
                else:
                    simulate_s = min(tick_s, self.speed / MAX_FPS)
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                self.session.advance(simulate_s)
            except RunFailure:  # the status line says why; the loop ends
                self.playing = False
                self._refresh_status()
                return None
            wall_s = time.perf_counter() - start
            self._book_simulation(wall_s, time.thread_time() - start_cpu)
            if ticks:
                self._tick_wall_s = wall_s / ticks
            done = self.session.done
            published = False
            since_frame_s = start - self._last_frame_wall
            if done:
                self._publish_frame()
                published = True
            elif since_frame_s >= FRAME_SPACING_S:
                ahead_s = self._ahead_of_pace_s()
                if ahead_s >= self._publish_cost_s:
                    self._publish_frame()  # in time the loop would wait anyway: free
                    published = True
                elif self.budget.allows_frame() or since_frame_s >= 1.0 / MIN_FPS:
                    self.charge_view(self._publish_frame())
                    published = True
            if done or time.perf_counter() - self._last_status_wall >= STATUS_PERIOD_S:
                self.charge_view(self._refresh_status())
            if done:
                # Last: whoever sees the run stopped (without the lock) sees its last
                # frame and a status that says so.
                self.playing = False
            return published

    def _flat_out_ticks(self) -> int:
        """Display ticks for the next flat-out step: about :data:`FLAT_OUT_STEP_S` of
        wall time at the last step's rate (one tick while that is unknown), ending soon
        after the clock is due, so the page's clock moves every :data:`STATUS_PERIOD_S`
        and not up to a step later (its longest gap flat out was 0.43-0.66 s)."""
        if not math.isfinite(self._tick_wall_s) or self._tick_wall_s <= 0.0:
            return 1
        ticks = int(FLAT_OUT_STEP_S / self._tick_wall_s)
        status_due_in_s = self._last_status_wall + STATUS_PERIOD_S - time.perf_counter()
        if status_due_in_s > 0.0:
            ticks = min(ticks, math.ceil(status_due_in_s / self._tick_wall_s))
        return max(1, min(MAX_TICKS_PER_STEP, ticks))

    def _book_simulation(self, wall_s: float, cpu_s: float) -> None:
        """Book a step of simulating: its CPU time is what it costs undisturbed; the wall
        time beyond that is what everything else took from it. The server's threads hold
        the interpreter while they re-render and send what was published, the browser
        competes for the cores: charging what the simulation lost, however it lost it,
        keeps the view within its budget on any machine (a page's own CPU time missed the
        browser and the web server's threads, and let the slow-down drift past it)."""
        with self._budget_lock:
            self.budget.simulate_s += cpu_s
            self.budget.draw_s += max(0.0, wall_s - cpu_s)

    def charge_view(self, seconds: float) -> None:
        """Book wall seconds the simulation's thread spent on the view (publishing a
        frame, reading the status): frames are allowed only while these and what the
        simulation lost to the page stay within the budget."""
        with self._budget_lock:
            self.budget.draw_s += seconds

    def _ahead_of_pace_s(self) -> float:
        """Wall seconds the paced loop is ahead of its schedule (-inf flat out)."""
        pace = self._pace_from
        if self.speed is None or pace is None:
            return -math.inf
        wall_0, sim_0 = pace
        return wall_0 + (self.session.now_s - sim_0) / self.speed - time.perf_counter()

    def _publish_frame(self) -> float:
        """Read every arm's view of every panel into frame data (with what the
        selection highlights); the wall seconds it took."""
        start = time.perf_counter()
        for panel in self.panels:
            panel.frames = [
                frame_data(view.frame(), self._highlight(view, arm))
                for arm, view in enumerate(panel.views)
            ]
            panel.frames_json = json.dumps(panel.frames, separators=(",", ":"))
        self.frames, self.frames_json = self.panels[0].frames, self.panels[0].frames_json
        self.panel_frames_json = [panel.frames_json for panel in self.panels]
        self.frames_published += 1
        self.frame_version += 1
        self._last_frame_wall = time.perf_counter()
        self._publish_cost_s = self._last_frame_wall - start
        return self._publish_cost_s

    def _state(self) -> str:
        session = self.session
        if session.failure is not None:
            return f"failed: {session.failure}"
        return "done" if session.done else ("playing" if self.playing else "paused")

    def _refresh_status(self) -> float:
        """Read the clock and KPIs (tens of milliseconds for a plant), append the chart
        history; the wall seconds it took."""
        start = time.perf_counter()
        self._kpi_table = self._read_kpi_table()
        self.history.append(
            self.session.now_s,
            [
                {row["kpi"]: row["values"][arm] for row in self._kpi_table}
                for arm in range(len(self.session.arms))
            ],
        )
        wall = time.perf_counter()
        samples = self._rtf_samples
        samples.append((wall, self.session.now_s))
        while len(samples) > 2 and wall - samples[0][0] > RTF_WINDOW_S:
            samples.popleft()
        self.status = Status(
            now_s=self.session.now_s,
            clock=self.clock.format(self.session.now_s),
            state=self._state(),
            measured_rtf=_rate(samples) if self.playing else None,
        )
        self.status_version += 1
        self._last_status_wall = time.perf_counter()
        return self._last_status_wall - start

    def _highlight(self, view: View, arm: int) -> Highlight | None:
        if self.selected is None or arm != self.selected_arm:
            return None
        if not isinstance(view, HighlightingView):
            return None
        return view.highlight(self.selected)

    def _shown(self, entity: str) -> bool:
        """Whether a panel shows ``entity`` now (a fixed pick point or a moving one)."""
        return any(
            entity in panel.layout["picks"]["names"]
            or any(entity in frame.get("picks", {}).get("names", ()) for frame in panel.frames)
            for panel in self.panels
        )

    # -- reading ------------------------------------------------------------------
    def kpi_table(self) -> list[dict[str, Any]]:
        """One row per headline KPI as of the latest status: unit, which way is better,
        each arm's value, and the difference."""
        return self._kpi_table

    def _read_kpi_table(self) -> list[dict[str, Any]]:
        rows = []
        per_arm = [self.session.kpis(a) for a in range(len(self.session.arms))]
        domain = self.session.domain
        scenario = self.session.arms[0].run.scenario
        for name in self.session.headline:
            values = [float(kpis[name].value) if name in kpis else math.nan for kpis in per_arm]
            unit = next((kpis[name].unit for kpis in per_arm if name in kpis), "")
            row: dict[str, Any] = {
                "kpi": name,
                "unit": unit,
                "better": scenario.better(name) or domain.better(name),
                "values": values,
            }
            if self.session.compare:
                row["difference"] = values[1] - values[0]
            rows.append(row)
        return rows

    def policy_choices(self) -> list[str]:
        """Registered policies that act in this scenario's domain."""
        domain = self.session.arms[0].run.scenario.domain
        return sorted(e.id for e in self.registry.policies() if e.cls.domain == domain)

    def params_model(self) -> Any:
        """The pydantic model of the scenario's parameters."""
        return type(self.session.arms[0].run.scenario.params)

    def resolved_params(self) -> dict[str, Any]:
        """The scenario's parameters with every default filled in (JSON types)."""
        scenario = self.session.arms[0].run.scenario
        return dict(scenario.params.model_dump(mode="json"))

    # -- inspecting ---------------------------------------------------------------
    def select(self, entity: str | None, arm: int = 0) -> None:
        """Select an entity (``None``: nothing); ValueError for an unknown one. The
        frame is published again, with what each panel highlights for it."""
        with self.lock:
            if entity is not None:
                self.session.inspect(entity, arm)
            self.selected, self.selected_arm = entity, arm
            self.selection_version += 1
            self._publish_frame()

    def inspection(self) -> dict[str, Any] | None:
        """The selected entity's truth, readings and the policy's last decision."""
        if self.selected is None:  # the page's poll asks at every status: no need to wait
            return None
        with self.lock:
            if self.selected is None:
                return None
            return self.session.inspect(self.selected, self.selected_arm)

    def inspection_rows(self) -> list[Row]:
        """The selected entity as table rows (units, rounded), or none."""
        info = self.inspection()
        if info is None:
            return []
        area = self._area()
        return entity_rows(info, area, clock=self.clock)

    def tooltip(self, entity: str, arm: int = 0, limit: int = 6) -> list[str]:
        """A few lines on ``entity`` for a hover: its name, state and key readings."""
        with self.lock:
            try:
                info = self.session.inspect(entity, arm)
            except ValueError:
                return []
        rows = entity_rows(info, None, with_decision=False, clock=self.clock)
        return [f"{row.key}: {row.text}" for row in rows[:limit]]

    def _area(self) -> Any:
        policy_domain = self.session.arms[self.selected_arm].recorder.policy.domain
        domain = self.session.domain
        return domain.area(policy_domain) if policy_domain != domain.name else None


@dataclass
class PanelShow:
    """One panel of the page: its views (one per arm), its layout and latest frames as
    the map reads them (:mod:`viz.scene_data`)."""

    name: str
    title: str
    views: list[View]
    layout: dict[str, Any]
    layout_json: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    frames_json: str = "[]"


@dataclass(frozen=True)
class Status:
    """What the status line shows, refreshed at least every :data:`STATUS_PERIOD_S`."""

    now_s: float
    clock: str
    state: str
    measured_rtf: float | None


def _rate(samples: deque[tuple[float, float]]) -> float | None:
    """Simulated seconds per wall second across the samples."""
    if len(samples) < 2:
        return None
    (wall_0, sim_0), (wall_1, sim_1) = samples[0], samples[-1]
    return (sim_1 - sim_0) / (wall_1 - wall_0) if wall_1 > wall_0 else None


def _checked_speed(speed: float | bool | None) -> float | None:
    if speed is None:
        return None
    if isinstance(speed, bool) or not (math.isfinite(speed) and speed > 0):
        raise UserError(f"speed: {speed!r} is not a positive real-time factor")
    return float(speed)


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
