"""What the browser app does, without the browser: step, play, pick, reset, click, chart.

:class:`Controller` owns a :class:`~viz.session.Session` and its
:class:`~viz.record.Replay` figure. The Solara page (:mod:`viz.app`) only binds buttons
and widgets to its methods and shows what it returns, so every behaviour of the app can
be tested here in plain Python, and the browser test checks only the wiring.

Rendering is decoupled from simulating: while playing, a frame is drawn only when the
time spent drawing so far stays within :attr:`FrameBudget.fraction` of the time spent
simulating (:class:`FrameBudget`), so a watched run is never slowed by more than that
fraction, however big the world; the KPI charts are sampled at the drawn frames.
"""

from __future__ import annotations

import io
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from twin.core.errors import UserError
from twin.core.registry import Registry
from twin.core.run import default_registry
from twin.core.scenario import ScenarioConfig
from viz.record import Replay
from viz.session import Session

DRAW_FRACTION = 0.2
"""At most this share of a played run's wall time goes to drawing (issue 6: <= 20%)."""
FRAME_SIZE_IN = 7.5
"""Width of one arm's view in the browser (inches at the replay's 80 dpi: 600 px)."""
PICK_RADIUS_PX = 25.0
"""A click further than this from every machine or intersection selects nothing."""


@dataclass(frozen=True)
class AppTarget:
    """What ``twin viz`` was asked to show: the run config, policies and seed."""

    config: ScenarioConfig
    policy: str
    seed: int = 0
    compare: str | None = None
    policy_params: dict[str, Any] | None = None
    source: str = "<command line>"

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config.model_dump(mode="json"),
            "policy": self.policy,
            "seed": self.seed,
            "compare": self.compare,
            "policy_params": self.policy_params,
            "source": self.source,
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
        )


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
    """The state of one browser tab: a session, its figure, charts and selection.

    Every public method holds the controller's lock: the play loop steps in a thread of
    its own while button handlers run in the server's.
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
        self.lock = threading.RLock()
        self.config = target.config
        self.policy = target.policy
        self.compare_policy = target.compare
        self.policy_params = target.policy_params
        self.seed = target.seed
        self.ticks_per_frame = 1
        self.selected: str | None = None
        self.selected_arm = 0
        if session is None:
            self._start(self.seed)
        else:
            self.session = session
            self._show(self.seed)

    # -- building -----------------------------------------------------------------
    def _start(self, seed: int) -> None:
        self.session = self._session(
            self.config, self.policy, self.compare_policy, self.policy_params, seed
        )
        self._show(seed)

    def _session(
        self,
        config: ScenarioConfig,
        policy: str,
        compare: str | None,
        policy_params: dict[str, Any] | None,
        seed: int,
        source: str | None = None,
    ) -> Session:
        policies = [policy] + ([compare] if compare else [])
        params: list[dict[str, Any] | None] = [policy_params, None]
        return Session(config, policies, seed, params, source=source or self.target.source)

    def _show(self, seed: int) -> None:
        self.seed = seed
        self.replay = Replay(self.session, size_in=FRAME_SIZE_IN)
        self.history = KpiHistory(self.session.headline, tuple(self.session.policies))
        self.budget = FrameBudget()
        self.frames = 0
        self.playing = False
        self._draw_cost_s = 0.0
        self._png = b""
        self._draw()

    def reset(
        self,
        seed: int | None = None,
        *,
        policy: str | None = None,
        compare: str | bool | None = False,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Start again at time zero, changing whatever is given.

        ``compare=None`` leaves compare mode, a policy id enters it, ``False`` keeps it.
        Raises :class:`~twin.core.errors.UserError` (one line) when the new choice is
        invalid, and then leaves the running session as it was.
        """
        with self.lock:
            config = self.config
            if params is not None:
                config = config.model_copy(update={"params": params})
            chosen, policy_params = self.policy, self.policy_params
            if policy is not None and policy != self.policy:
                chosen, policy_params = policy, None
            compare_policy = self.compare_policy if compare is False else (compare or None)
            seed = self.seed if seed is None else seed
            try:
                session = self._session(
                    config,
                    chosen,
                    compare_policy,
                    policy_params,
                    seed,
                    source="parameters" if params is not None else None,
                )
            except LookupError as error:
                raise UserError(str(error)) from None
            self.replay.close()
            self.config, self.policy, self.compare_policy = config, chosen, compare_policy
            self.policy_params = policy_params
            self.session = session
            self._show(seed)

    # -- running ------------------------------------------------------------------
    def step(self, ticks: int = 1) -> None:
        """Advance ``ticks`` display ticks and draw (a click on *step* always draws)."""
        with self.lock:
            self.session.step(ticks)
            self._draw()

    def play(self) -> None:
        """Start playing. Play measures its own budget: clicks before it do not count."""
        with self.lock:
            self.playing = not self.session.done
            self.budget = FrameBudget()

    def pause(self) -> None:
        """Stop playing; once this returns, the clock stands still and the frame shows it
        (a frame the budget skipped is drawn now)."""
        with self.lock:
            self.playing = False
            if self.history.rows and self.history.rows[-1][0] != self.session.now_s:
                self._draw()

    def advance(self, ticks: int, pace_s: float | None = None) -> bool | None:
        """One step of the play loop: simulate, and draw if that does not slow the run.

        Args:
            ticks: display ticks to simulate.
            pace_s: wall seconds the play loop allows these ticks at a chosen speed
                (``None``: as fast as possible). A frame that fits in the time left
                over is free; any other must fit the :class:`FrameBudget`.

        Returns:
            whether a frame was drawn; ``None`` when not playing (paused, or the run
            reached its horizon), so the loop ends.
        """
        with self.lock:
            if not self.playing:
                return None
            start = time.perf_counter()
            self.session.step(ticks)
            simulated_s = time.perf_counter() - start
            self.budget.simulate_s += simulated_s
            spare_s = -math.inf if pace_s is None else pace_s - simulated_s
            if self.session.done:
                self.playing = False
            if spare_s >= self._draw_cost_s or self.session.done:
                self._draw()
                return True
            if self.budget.allows_frame():
                self.budget.draw_s += self._draw()
                return True
            return False

    def _draw(self) -> float:
        """Draw a frame and sample the KPI charts; the wall seconds it took."""
        start = time.perf_counter()
        self.replay.update()
        rgba = self.replay.render()
        image = Image.fromarray(rgba[..., :3].copy())
        buffer = io.BytesIO()
        # Fast, lossless compression: a frame is sent once and never stored.
        image.save(buffer, format="PNG", compress_level=1)
        self._png = buffer.getvalue()
        # KPIs are read once per frame (a plant's cost tens of milliseconds): the table
        # and the charts show them as of the frame.
        self._kpi_table = self._read_kpi_table()
        self.history.append(
            self.session.now_s,
            [
                {row["kpi"]: row["values"][arm] for row in self._kpi_table}
                for arm in range(len(self.session.arms))
            ],
        )
        self.frames += 1
        self._draw_cost_s = time.perf_counter() - start
        return self._draw_cost_s

    # -- reading ------------------------------------------------------------------
    @property
    def png(self) -> bytes:
        """The latest frame."""
        return self._png

    @property
    def image_size(self) -> tuple[int, int]:
        width, height = self.replay.canvas.get_width_height()
        return int(width), int(height)

    def kpi_table(self) -> list[dict[str, Any]]:
        """One row per headline KPI as of the latest frame: unit, each arm's value, and
        the difference."""
        return self._kpi_table

    def _read_kpi_table(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = []
            per_arm = [self.session.kpis(a) for a in range(len(self.session.arms))]
            for name in self.session.headline:
                values = [float(kpis[name].value) if name in kpis else math.nan for kpis in per_arm]
                unit = next((kpis[name].unit for kpis in per_arm if name in kpis), "")
                row: dict[str, Any] = {"kpi": name, "unit": unit, "values": values}
                if self.session.compare:
                    row["difference"] = values[1] - values[0]
                rows.append(row)
            return rows

    def policy_choices(self) -> list[str]:
        """Registered policies that act in this scenario's domain."""
        domain = self.session.arms[0].run.scenario.domain
        return sorted(e.id for e in self.registry.policies() if e.cls.domain == domain)

    def resolved_params(self) -> dict[str, Any]:
        """The scenario's parameters with every default filled in (JSON types)."""
        scenario = self.session.arms[0].run.scenario
        return dict(scenario.params.model_dump(mode="json"))

    def scalar_params(self) -> dict[str, bool | int | float]:
        """The scenario's top-level numbers and switches (resolved), for simple inputs;
        nested parameters are edited as JSON."""
        return {
            name: value
            for name, value in self.resolved_params().items()
            if isinstance(value, bool | int | float)
        }

    # -- inspecting ---------------------------------------------------------------
    def click(self, x_px: float, y_px: float) -> str | None:
        """Select the machine or intersection nearest a click on the frame image.

        ``x_px``, ``y_px`` are image pixels from the top left, as the browser reports
        them for the image at its natural size.
        """
        with self.lock:
            _, height = self.image_size
            display = np.array([x_px, height - y_px])  # matplotlib counts from the bottom
            for arm, (ax, view) in enumerate(
                zip(self.replay.figure.axes, self.replay.views, strict=False)
            ):
                if not ax.bbox.contains(*display):
                    continue
                entity = _nearest_entity(ax, view, display)
                if entity is not None:
                    self.selected, self.selected_arm = entity, arm
                return entity
            return None

    def select(self, entity: str, arm: int = 0) -> None:
        with self.lock:
            self.session.inspect(entity, arm)  # ValueError for an unknown entity
            self.selected, self.selected_arm = entity, arm

    def inspection(self) -> dict[str, Any] | None:
        """The selected entity's truth, readings and the policy's last decision."""
        with self.lock:
            if self.selected is None:
                return None
            return self.session.inspect(self.selected, self.selected_arm)


def _nearest_entity(ax: Any, view: Any, display: np.ndarray) -> str | None:
    layout = view.layout
    if not len(layout.pick_xy):
        return None
    on_screen = ax.transData.transform(layout.pick_xy)
    distance = np.hypot(*(on_screen - display).T)
    best = int(np.argmin(distance))
    return str(layout.pick_names[best]) if distance[best] <= PICK_RADIUS_PX else None


def _json_number(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
