"""An emulated real factory for the shadow twin: a factory twin run with hidden parameters.

The shadow cannot be tried on a real plant in a test, so a second twin plays the plant:
built from the same scenario with parameters the shadow does not know (``hidden``: e.g.
machines that wear 1.3 times faster) and its own seed, it yields only what a real
plant's sensors would send, every ``period_s`` of its simulated time. Its truth (wear,
remaining life) stays readable for scoring, and :meth:`EmulatedPlant.apply` carries out a
recommended maintenance the way the plant's maintenance policy would. No MQTT here: the
caller publishes the readings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from twin.core.errors import UserError
from twin.core.live import Reading
from twin.core.run import PreparedRun, prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.world import World
from twin.factory import live as factory_live
from twin.factory.kernels import SENSOR_CHANNELS
from twin.factory.observation import DOWN_STATES
from twin.factory.plant import Plant

CHANNELS = len(SENSOR_CHANNELS)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in: tables merge key by key, recursively; a list
    of tables given for a list of tables of the same length merges element by element
    (so ``{"stations": [{"degradation": {...}}, ...]}`` changes only those keys); any
    other value replaces."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merge(old, value)
        elif (
            isinstance(old, list)
            and isinstance(value, list)
            and len(old) == len(value)
            and all(
                isinstance(o, Mapping) and isinstance(v, Mapping)
                for o, v in zip(old, value, strict=True)
            )
        ):
            out[key] = [merge(o, v) for o, v in zip(old, value, strict=True)]
        else:
            out[key] = value
    return out


def hidden_config(config: ScenarioConfig, hidden: Mapping[str, Any]) -> ScenarioConfig:
    """``config`` with ``hidden`` merged into its params, over the scenario's defaults (so
    ``hidden`` may name keys the config leaves at their defaults)."""
    from twin.core.run import build_scenario, default_registry

    registry = default_registry()
    defaults = build_scenario(config, registry, "<emulated plant>").params.model_dump()
    params = merge(defaults, merge(config.params, hidden))
    merged = config.model_copy(update={"params": params})
    build_scenario(merged, registry, "<hidden parameters>")  # validated by the scenario's Params
    return merged


class EmulatedPlant(Iterator[list[Reading]]):
    """A factory twin playing the real plant; iterate for each period's readings.

    Attributes:
        run: the emulated plant's run (its world, scenario and policy).
        plant: its :class:`~twin.factory.plant.Plant` (the truth: never sent).
        period_s: simulated seconds per batch of readings.
    """

    def __init__(
        self,
        config: ScenarioConfig,
        policy: str,
        seed: int,
        hidden: Mapping[str, Any],
        period_s: float,
    ) -> None:
        if not period_s > 0 or math.isinf(period_s):
            raise UserError(f"period_s must be a finite number > 0, got {period_s}")
        self.config = hidden_config(config, hidden)
        self.run: PreparedRun = prepare_run(self.config, policy, seed, source="<emulated plant>")
        plant = self.run.world.the(Plant)
        self.plant = plant
        self.period_s = period_s
        self._names = [
            factory_live.channel_name(c // CHANNELS, SENSOR_CHANNELS[c % CHANNELS])
            for c in range(plant.board.channels)
        ]
        self._delivered: list[Reading] = []
        plant.board.subscribe(self._on_delivery)

    @property
    def world(self) -> World:
        return self.run.world

    @property
    def now_s(self) -> float:
        return self.run.world.now_s

    def _on_delivery(self, now_s: float, channels: Any) -> None:
        board = self.plant.board
        for c in channels.tolist():
            self._delivered.append(
                Reading(self._names[c], float(board.measured_at_s[c]), float(board.values[c]))
            )

    def __next__(self) -> list[Reading]:
        """Run one period and return the readings delivered in it, in delivery order
        (measurement times ascending); stops at the config's horizon."""
        world = self.run.world
        horizon_s = self.config.horizon_s
        if world.now_s >= horizon_s:
            raise StopIteration
        world.env.run(until=min(world.now_s + self.period_s, horizon_s))
        readings, self._delivered = self._delivered, []
        return readings

    def truth(self) -> dict[str, float]:
        """True wear and RUL of every machine now (``machine:<i>/health``, ``/rul_s``)."""
        return factory_live.truth(self.plant)

    def apply(self, decisions: Mapping[str, Any]) -> list[str]:
        """Carry out decisions: ``{"maintain": ["machine:3", ...]}`` asks each machine for
        preventive maintenance, as the plant does when its policy answers MAINTAIN (the
        machine stops after its current part and waits for a technician). A machine that
        is down or already waiting for maintenance is left alone. Returns the machines
        asked."""
        unknown = set(decisions) - {"maintain"}
        if unknown:
            raise UserError(
                f"unknown decisions {sorted(unknown)}; the emulated plant takes 'maintain'"
            )
        maintain: Iterable[str] = decisions.get("maintain", [])
        asked = []
        for name in maintain:
            machine = self.plant.machines[self._index(name)]
            if machine.state not in DOWN_STATES and not machine.pm_requested:
                machine.interrupt_for("maintenance")
                asked.append(name)
        return asked

    def _index(self, name: str) -> int:
        prefix, _, number = str(name).partition(":")
        count = len(self.plant.machines)
        if prefix != "machine" or not number.isdigit() or int(number) >= count:
            raise UserError(
                f"unknown machine {name!r}; the plant has machine:0 to machine:{count - 1}"
            )
        return int(number)


def emulate(
    config: ScenarioConfig,
    policy: str,
    seed: int,
    hidden: Mapping[str, Any],
    period_s: float,
) -> EmulatedPlant:
    """The factory of ``config`` with ``hidden`` parameter overrides, run under maintenance
    policy ``policy`` with ``seed``, as an iterator of each period's sensor readings."""
    return EmulatedPlant(config, policy, seed, hidden, period_s)
