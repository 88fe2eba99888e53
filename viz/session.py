"""An interactive run: step, reset with a seed, two policies in lock-step, inspection.

:class:`Session` is the model a user interface binds to (the browser app, the GIF
recorder): it owns one or two runs built by :func:`twin.core.run.prepare_run` on the
same seed, so both policy arms see the same arrivals, failures and demand (common
random numbers), and it never draws anything itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.core.policy import Policy, PolicyContext
from twin.core.registry import Registry
from twin.core.run import (
    PreparedRun,
    default_registry,
    ledger_kpis,
    prepare_run,
    resolve_policy,
)
from twin.core.scenario import KPI, ScenarioConfig
from viz.views import domain_of

EXTRA_KPIS = ("cost_total", "co2e_kg")
"""Every report leads with the scenario's headline KPIs plus cost and emissions."""


class PolicyWrapper:
    """A policy wrapping another: same id, domain and params; every method forwarded
    explicitly (no ``__getattr__``), so a subclass overrides exactly one of them."""

    def __init__(self, policy: Policy[Any, Any]) -> None:
        self.policy = policy
        self.id = policy.id
        self.domain = policy.domain
        self.params = getattr(policy, "params", None)

    def reset(self, context: PolicyContext) -> None:
        self.policy.reset(context)

    def act(self, obs: Any) -> Any:
        return self.policy.act(obs)


@dataclass(frozen=True)
class Decision:
    """One call of a policy: what it saw and what it answered."""

    now_s: float
    observation: Any
    action: Any


class RecordingPolicy(PolicyWrapper):
    """Keeps the latest observation and action per entity (machine, intersection)."""

    def __init__(self, policy: Policy[Any, Any]) -> None:
        super().__init__(policy)
        self.last: dict[str, Decision] = {}
        self.decisions = 0

    def act(self, obs: Any) -> Any:
        action = self.policy.act(obs)
        self.decisions += 1
        self.last[entity_key(obs)] = Decision(float(getattr(obs, "now_s", math.nan)), obs, action)
        return action


def entity_key(obs: Any) -> str:
    """``intersection:<id>``, ``machine:<index>``, or ``policy`` for other observations."""
    if hasattr(obs, "intersection_id"):
        return f"intersection:{obs.intersection_id}"
    if hasattr(obs, "machine"):
        return f"machine:{obs.machine}"
    if hasattr(obs, "busy_servers"):
        return "station"
    if hasattr(obs, "inventory_position"):
        return f"site:{obs.site}"
    if hasattr(obs, "destination") and hasattr(obs, "origin"):
        return f"lane:{obs.origin}->{obs.destination}"
    if hasattr(obs, "ready_nodes") or hasattr(obs, "nodes_ready"):
        return "cluster"
    return "policy"


@dataclass
class Arm:
    """One policy's run in a session."""

    policy_ref: str
    run: PreparedRun
    recorder: RecordingPolicy
    warmed_up: bool = False

    @property
    def world(self) -> Any:
        return self.run.world

    @property
    def label(self) -> str:
        return self.recorder.id


@dataclass
class Session:
    """One run, or two policies on the same seed in lock-step (compare mode).

    Args:
        config: scenario, params, horizon, warm-up and display tick (``tick_s``).
        policies: one policy id (a run) or two (compare mode: first is the baseline).
        seed: root seed of both arms.
        policy_params: parameters of each policy, by position (``None``: defaults).
        source: where the config came from, for error messages.
    """

    config: ScenarioConfig
    policies: list[str]
    seed: int = 0
    policy_params: list[dict[str, Any] | None] = field(default_factory=list)
    source: str = "<session>"
    arms: list[Arm] = field(init=False, default_factory=list)
    _registry: Registry = field(init=False, repr=False, default_factory=default_registry)

    def __post_init__(self) -> None:
        if not 1 <= len(self.policies) <= 2:
            raise ValueError(f"a session runs one or two policies, got {len(self.policies)}")
        self.reset(self.seed)

    # -- control ------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Build every arm afresh (on ``seed`` if given): the clock returns to zero."""
        if seed is not None:
            self.seed = seed
        self.arms = []
        for k, ref in enumerate(self.policies):
            params = self.policy_params[k] if k < len(self.policy_params) else None
            policy = resolve_policy(ref, params or {}, self._registry, self.source)
            # The recorder has the policy's id, so prepare_run gives it the same named
            # stream: a watched run draws exactly the random numbers of an unwatched one.
            recorder = RecordingPolicy(policy)
            run = prepare_run(
                self.config, recorder, self.seed, registry=self._registry, source=self.source
            )
            self.arms.append(Arm(ref, run, recorder))
        domain_of(self.arms[0].run.scenario)  # LookupError now, not at the first frame

    def step(self, n: int = 1) -> None:
        """Advance every arm by ``n`` display ticks, arm by arm, tick by tick."""
        for _ in range(n):
            if self.done:
                return
            for arm in self.arms:
                _step(arm, self.config)

    @property
    def now_s(self) -> float:
        return self.arms[0].world.now_s

    @property
    def tick_s(self) -> float:
        return self.config.tick_s

    @property
    def done(self) -> bool:
        """The horizon is reached: stepping further does nothing."""
        return self.now_s >= self.config.horizon_s - 1e-9

    @property
    def compare(self) -> bool:
        return len(self.arms) == 2

    # -- reading ------------------------------------------------------------------
    @property
    def headline(self) -> tuple[str, ...]:
        scenario = self.arms[0].run.scenario
        names = tuple(scenario.headline_kpis)
        return names + tuple(k for k in EXTRA_KPIS if k not in names)

    def kpis(self, arm: int = 0) -> dict[str, KPI]:
        """All KPIs of an arm so far (energy of states in progress booked up to now)."""
        run = self.arms[arm].run
        if run.world.now_s <= run.world.warmup_s:
            return {}  # no time measured yet: rates and means are undefined
        run.world.flush()
        return {**run.scenario.kpis(run.world), **ledger_kpis(run.world)}

    def headline_kpis(self, arm: int = 0) -> dict[str, float]:
        kpis = self.kpis(arm)
        return {
            name: float(kpis[name].value) if name in kpis else math.nan for name in self.headline
        }

    def difference(self) -> dict[str, float]:
        """Second arm minus first, per headline KPI (compare mode only)."""
        if not self.compare:
            raise ValueError("difference() needs two policies (compare mode)")
        base, other = self.headline_kpis(0), self.headline_kpis(1)
        return {name: other[name] - base[name] for name in base if name in other}

    def inspect(self, entity: str, arm: int = 0) -> dict[str, Any]:
        """What is known of ``machine:<index>`` or ``intersection:<id>``: the truth the
        engine holds, the latest sensor readings, and the policy's last decision."""
        kind, _, name = entity.partition(":")
        selected = self.arms[arm]
        scenario = selected.run.scenario
        if kind == "machine":
            info = _inspect_machine(scenario.plant, int(name))
        elif kind == "intersection":
            info = _inspect_intersection(scenario.city, name)
        elif kind == "station" and hasattr(scenario, "station"):
            info = _inspect_station(scenario.station)
        elif kind == "site" and hasattr(scenario, "network"):
            info = _inspect_site(scenario.network, name)
        elif kind == "cluster" and hasattr(scenario, "cluster"):
            info = _inspect_cluster(scenario.cluster)
        else:
            raise ValueError(
                f"unknown entity {entity!r}; use machine:<index>, intersection:<id>, "
                "station, site:<name> or cluster"
            )
        decision = selected.recorder.last.get(entity)
        info["last_decision"] = decision
        return info


def _step(arm: Arm, config: ScenarioConfig) -> None:
    world = arm.world
    target = min(world.now_s + config.tick_s, config.horizon_s)
    if not arm.warmed_up and config.warmup_s > 0 and world.now_s < config.warmup_s <= target:
        world.env.run(until=config.warmup_s)
        world.end_warmup()
        arm.warmed_up = True
    if target > world.now_s:
        world.env.run(until=target)


def _inspect_machine(plant: Any, index: int) -> dict[str, Any]:
    if not 0 <= index < len(plant.machines):
        raise ValueError(f"no machine {index}; the plant has {len(plant.machines)}")
    info: dict[str, Any] = plant.machines[index].inspect()
    return info


def _inspect_station(station: Any) -> dict[str, Any]:
    now = station.env.now
    board = station.sensor_board
    return {
        "entity": "station",
        "queue_length": len(station.jobs.items),
        "busy_servers": station.params.servers - station.free_servers,
        "servers": station.params.servers,
        "capacity": station.params.capacity,
        "sensed_queue_length": float(board.values[0]) if board is not None else None,
        "arrived": int(station.arrived.value(now)),
        "completed": int(station.completed.value(now)),
        "rejected": int(station.rejected.value(now)),
    }


def _inspect_site(network: Any, name: str) -> dict[str, Any]:
    sites = {site.name: site for site in network.sites}
    if name not in sites:
        raise ValueError(f"no site {name!r}; e.g. {', '.join(list(sites)[:5])}")
    site = sites[name]
    return {
        "entity": f"site:{name}",
        "kind": site.kind,
        "echelon": site.echelon,
        "source": site.source.name if site.source is not None else None,
        "on_hand": site.on_hand,
        "on_order": site.on_order,
        "backorders": site.backorders,
        "inventory_position": site.inventory_position,
        "demand_today": site.demand_today,
        "short_today": site.short_today,
        "received": site.received,
        "shipped": site.shipped,
    }


def _inspect_cluster(cluster: Any) -> dict[str, Any]:
    now = float(cluster.env.now)
    states = [node.state for node in cluster.nodes if node is not None]
    return {
        "entity": "cluster",
        "nodes": {state: states.count(state) for state in sorted(set(states))},
        "busy_workers": int((cluster.free > now).sum()),
        "workers_per_node": int(cluster.workers),
        "requests_arrived": int(cluster.arrived_total),
        "deferred": int(cluster.backlog.size),
        "recent_rates_per_s": [round(r, 3) for r in list(cluster.rate_history)[-4:]],
    }


def _inspect_intersection(city: Any, inter_id: str) -> dict[str, Any]:
    bank = city.signals
    ids = [i.id for i in bank.intersections]
    if inter_id not in ids:
        raise ValueError(f"no signalised intersection {inter_id!r}; e.g. {', '.join(ids[:5])}")
    i = ids.index(inter_id)
    movements = bank.movements[i]
    lanes = city.arrays.mov_from_lane[movements]
    sensed = city.board.values[lanes] if city.board is not None else np.full(len(lanes), np.nan)
    return {
        "entity": f"intersection:{inter_id}",
        "phase": int(bank.phase[i]),
        "stage": int(bank.stage[i]),
        "movement_state": city.mov_state[movements].tolist(),
        "queue_veh": city.lanes.halting[lanes].tolist(),
        "vehicles": city.lanes.count[lanes].tolist(),
        "sensed_queue_veh": sensed.tolist(),
    }
