"""The world of one run: SimPy owns time, Mesa holds the agents and the picture."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import mesa
import simpy

from twin.core.ledger import EmissionFactor, Ledger, PoolPowerMeter, PowerMeter
from twin.core.probes import Level, Probes, Sampler
from twin.core.streams import Streams
from twin.core.units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    from twin.core.entity import Entity
    from twin.core.policy import Policy
    from twin.core.registry import Registry
    from twin.core.side_clock import SideClock
    from twin.core.watchdog import Decisions

AgentT = TypeVar("AgentT")


def callback_owner(callback: object) -> object | None:
    """The object a SimPy event's callback is a method of (a process's ``_resume``, a
    ``functools.partial`` of a method), or None (a plain function, a lambda).

    Asked for queued events in hot loops: a partial is recognised by type, because
    looking for ``func`` on a bound method would raise and catch an AttributeError.
    """
    if type(callback) is partial:
        callback = callback.func
    return getattr(callback, "__self__", None)


def timeout_at(env: simpy.Environment, at_s: float) -> simpy.events.Event:
    """An event that fires at exactly ``at_s`` (not before ``env.now``).

    SimPy fires a timeout at ``now + delay``, and no delay gives some times back: where
    ``now`` lies half an ulp of ``at_s`` off ``at_s``'s grid, every sum rounds to an
    even last digit (twin's traffic city, waking where a batch of 0.1 s ticks ended,
    meets this). Where ``now + (at_s - now)`` is exact this is SimPy's own timeout;
    otherwise the event goes into SimPy's queue at ``at_s`` itself, as
    ``Environment.schedule`` puts events there (``_queue``, ``_eid``: not public).
    """
    now = env.now
    if at_s < now:
        raise ValueError(f"cannot fire at {at_s!r} s, before now ({now!r} s)")
    delay = at_s - now
    if now + delay == at_s:
        return env.timeout(delay)
    event = simpy.events.Event(env)
    event._ok = True
    event._value = None
    heapq.heappush(env._queue, (at_s, simpy.events.NORMAL, next(env._eid), event))
    return event


class World(mesa.Model):  # type: ignore[misc]  # mesa ships no type hints
    """A ``mesa.Model`` that owns the SimPy clock, the named streams, the ledger and probes.

    Args:
        seed: root seed of every random stream in the run.
        tick_s: simulated seconds one :meth:`step` advances (one display tick).
        sample_period_s: period of the probe sampler's time series; ``None`` disables it.
        factors: emission factors by carrier (the ledger's defaults when ``None``).
        replication: spawn-key prefix, so replication ``i`` of every policy arm shares
            its random numbers (common random numbers) while replications differ.
        registry: where the run's scenarios look up their second policies (an AGV
            dispatcher, a transport rule); the installed entry points when ``None``.
    """

    def __init__(
        self,
        seed: int,
        *,
        tick_s: float = 60.0,
        sample_period_s: float | None = None,
        factors: Mapping[str, EmissionFactor] | None = None,
        replication: tuple[int, ...] = (),
        registry: Registry | None = None,
    ) -> None:
        if tick_s <= 0:
            raise ValueError(f"tick_s must be > 0, got {tick_s}")
        streams = Streams(seed, replication)
        # Mesa's own shuffles (AgentSet.shuffle_do) draw from a named stream too.
        super().__init__(rng=streams["mesa"])
        self.streams = streams
        self.seed = seed
        self.tick_s = tick_s
        self._registry = registry
        self.env = simpy.Environment()
        self.ledger = Ledger(factors)
        self.probes = Probes(self.env)
        self.sampler = Sampler(self.env, self.probes, sample_period_s) if sample_period_s else None
        self.warmup_s = 0.0
        self._stop_s = -math.inf
        """Where the running ``env.run`` stops (none known: parts on side clocks wait)."""
        self._side_clocks: list[SideClock] = []
        self._meters: list[PowerMeter | PoolPowerMeter] = []
        self._warmup_hooks: list[Callable[[], None]] = []
        self.policies: list[Policy[Any, Any]] = []
        """Every policy deciding in this world (see :meth:`add_policy`)."""
        self._decisions: Decisions | None = None
        if self.ledger.factor("electricity").varies_by_hour:
            self.env.process(self._flush_hourly())

    def add_policy(self, policy: Policy[Any, Any]) -> None:
        """Count ``policy`` among those deciding in this world: the run's own and every
        one a scenario resolves for an area of its own (a flow line's maintenance rule,
        an AGV dispatcher, a transport planner). A watched run watches them all: a
        dispatcher stuck in a loop ends the run as the run's own policy would."""
        if any(known is policy for known in self.policies):
            return
        self.policies.append(policy)
        if self._decisions is not None:
            self._decisions.watch(policy)

    def watch_policies(self, decisions: Decisions | None) -> None:
        """Watch every policy of the world, and every one added later, with
        ``decisions`` (:mod:`twin.core.watchdog`); ``None`` stops watching."""
        if self._decisions is not None:
            self._decisions.release()
        self._decisions = decisions
        if decisions is not None:
            for policy in self.policies:
                decisions.watch(policy)

    @property
    def now_s(self) -> float:
        """The simulated clock, in seconds."""
        return float(self.env.now)

    @property
    def registry(self) -> Registry:
        """The run's registry of scenarios, policies and domains."""
        if self._registry is None:
            from twin.core.run import default_registry  # run builds worlds: import late

            self._registry = default_registry()
        return self._registry

    def entity(self, name: str) -> Entity:
        """The entity (agent) called ``name``.

        Raises:
            KeyError: no entity has that name; the message lists a few that do.
        """
        from twin.core.entity import Entity

        entities = self.agents.select(agent_type=Entity)
        found = entities.select(lambda agent: agent.name == name, at_most=1)
        if len(found) == 0:
            known = sorted(str(agent.name) for agent in entities)
            shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
            raise KeyError(f"no entity {name!r}; this world has {shown or 'none'}")
        entity: Entity = next(iter(found))
        return entity

    def the(self, agent_type: type[AgentT]) -> AgentT:
        """The one agent of ``agent_type`` (a domain's plant, city or network).

        Raises:
            LookupError: there is none, or more than one.
        """
        found = list(self.agents.select(agent_type=agent_type))
        if len(found) != 1:
            raise LookupError(
                f"expected one {agent_type.__name__} in the world, found {len(found)}"
            )
        agent: AgentT = found[0]
        return agent

    def entities(self) -> list[Any]:
        """Every entity, in the order they were created."""
        from twin.core.entity import Entity

        return sorted(self.agents.select(agent_type=Entity), key=lambda agent: agent.unique_id)

    def step(self) -> None:
        """Advance the clock by one display tick (what Mesa's views and batch tools call)."""
        self.run_to(self.env.now + self.tick_s)

    def run(
        self,
        until_s: float,
        warmup_s: float = 0.0,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        """Run to ``until_s``; statistics and the ledger restart at ``warmup_s``.

        Energy of states still in progress is booked at the end, so the ledger is
        complete when ``run`` returns. ``progress(fraction)`` is called at every
        hundredth of the horizon; running in such slices processes exactly the same
        events in the same order, so results do not depend on it.
        """
        if not 0.0 <= warmup_s < until_s:
            raise ValueError(f"warm-up must be in [0, {until_s}) s, got {warmup_s}")
        self.advance(until_s, warmup_s, progress)
        self.finish()

    def advance(
        self,
        until_s: float,
        warmup_s: float = 0.0,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        """Process every event before ``until_s`` and stop there, mid-run: a live twin
        advances in steps, changing policy or correcting state between them. Stopping
        does not change which events happen or their order, so ``advance(t)`` then
        ``advance(T)`` is the same run as ``advance(T)``. The warm-up ends when
        ``warmup_s`` is crossed; nothing is booked for states in progress (:meth:`finish`).
        """
        start_s = self.now_s
        if until_s < start_s:
            raise ValueError(f"cannot run back in time: now {start_s} s, until {until_s} s")
        if warmup_s < 0.0:
            raise ValueError(f"warm-up must be >= 0 s, got {warmup_s}")
        stops = {until_s}
        if start_s < warmup_s <= until_s:
            stops.add(warmup_s)
        if progress is not None and until_s > start_s:
            stops.update(start_s + (until_s - start_s) * k / 100 for k in range(1, 100))
        for stop_s in sorted(stops):
            if stop_s > self.env.now:  # SimPy refuses to run to the present
                self.run_to(stop_s)
            if stop_s == warmup_s:
                self.end_warmup()
            if progress is not None and until_s > start_s:
                progress((stop_s - start_s) / (until_s - start_s))

    def run_to(self, stop_s: float) -> None:
        """Process every event before ``stop_s`` (SimPy's ``env.run(until=stop_s)``) and
        bring every side clock there too: how to stop a world mid-run (a viewer's tick,
        an emulator's period) without :meth:`advance`'s warm-up and progress."""
        self._stop_s = stop_s
        try:
            self.env.run(until=stop_s)
        finally:
            self._stop_s = -math.inf
        for side in self._side_clocks:
            side.to_stop(stop_s)

    def add_side_clock(self, side: SideClock) -> None:
        """Keep ``side`` (a part on a clock of its own, :mod:`twin.core.side_clock`)
        within what this world may look at next, and bring it to every stop."""
        self._side_clocks.append(side)
        if self.sampler is not None:
            self.sampler.before_sample.append(side.through)

    def side_clock_limit(self, now_s: float) -> tuple[float, bool]:
        """How far a side clock may run from ``now_s``: (time, whether events at that
        time may be processed). Never past the running stop, whose events the world
        itself has not processed, nor past the sampler's next sample, which must see
        the side as of its time; with no stop known (the environment run directly),
        not past ``now_s``."""
        if self._stop_s <= now_s:
            return now_s, True
        if self.sampler is not None and self.sampler.next_s < self._stop_s:
            return max(self.sampler.next_s, now_s), True
        return self._stop_s, False

    def finish(self) -> None:
        """End the run: book the energy of states in progress and take the last sample."""
        self.flush()
        if self.sampler is not None:
            self.sampler.sample_once_at_end()

    def end_warmup(self) -> None:
        """Forget statistics and money collected so far; the state of the system stays."""
        self.warmup_s = self.now_s
        self.probes.reset()
        self.ledger.reset()
        for meter in self._meters:
            meter.restart()
        for hook in self._warmup_hooks:
            hook()

    def at_warmup_end(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` when the warm-up ends, to reset statistics kept outside probes."""
        self._warmup_hooks.append(hook)

    def flush(self) -> None:
        """Book the energy of every state in progress up to now."""
        for meter in self._meters:
            meter.flush()

    def power_meter(self, entity: str, power_kw: Mapping[str, float], state: str) -> PowerMeter:
        """A meter that books ``entity``'s electricity by state into this world's ledger."""
        meter = PowerMeter(self.ledger, self.env, entity, power_kw, state)
        self._meters.append(meter)
        return meter

    def pool_power_meter(
        self, entity: str, busy: Level, units: int, busy_kw: float, idle_kw: float
    ) -> PoolPowerMeter:
        """A meter for ``units`` identical units whose busy count is the level ``busy``."""
        meter = PoolPowerMeter(self.ledger, self.env, busy, entity, units, busy_kw, idle_kw)
        self._meters.append(meter)
        return meter

    def _flush_hourly(self) -> simpy.events.ProcessGenerator:
        """Book energy at every hour boundary, so each hour gets its grid intensity."""
        while True:
            next_hour_s = (self.env.now // SECONDS_PER_HOUR + 1) * SECONDS_PER_HOUR
            yield self.env.timeout(next_hour_s - self.env.now)
            self.flush()
