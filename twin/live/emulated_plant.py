"""An emulated real factory for the shadow twin: a factory twin run with hidden parameters.

The shadow cannot be tried on a real plant in a test, so a second twin plays the plant:
built from the same scenario with parameters the shadow does not know (``hidden``: e.g.
machines that wear 1.3 times faster) and its own seed, it yields only what a real
plant's sensors would send, every ``period_s`` of its simulated time. Its truth (wear,
remaining life) stays readable for scoring, and :meth:`EmulatedPlant.apply` carries out a
recommended maintenance the way the plant's maintenance policy would.

As a command, it is the real factory of the live demo, over MQTT::

    python -m twin.live.emulated_plant mqtt://127.0.0.1:1883/plant --days 8 --wear-factor 1.3

publishes each period's readings on ``plant/readings``, follows the recommendations on
``plant/recommendation`` (waiting for the shadow's decision at each decision epoch, so
the loop is closed in simulated time), and prints its own KPIs at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from twin.core.arguments import EXIT_USER_ERROR, OneLineParser, positive, seed
from twin.core.errors import UserError
from twin.core.live import Reading
from twin.core.run import PreparedRun, prepare_run
from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from twin.core.world import World
from twin.factory import live as factory_live
from twin.factory.kernels import SENSOR_CHANNELS
from twin.factory.observation import DOWN_STATES
from twin.factory.plant import Plant
from twin.live.messages import encode_readings, readings_topic
from twin.live.mqtt import MqttClient, parse_source
from twin.live.reality import await_recommendation

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
        self._planned: list[tuple[float, str]] = []
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
        end_s = min(world.now_s + self.period_s, horizon_s)
        while self._planned and self._planned[0][0] < end_s:
            at_s, machine = self._planned.pop(0)
            if at_s > world.now_s:
                world.run_to(at_s)
            self.apply({"maintain": [machine]})
        world.run_to(end_s)
        readings, self._delivered = self._delivered, []
        return readings

    def follow(self, recommendation: Mapping[str, Any]) -> int:
        """Carry out a live twin's recommendation: each decision to maintain a machine
        (``{"entity": "machine:3", "t": ..., "action": {"maintain": true}}``) at its time
        (now, if that has passed), replacing the plan of the previous recommendation.
        Returns how many maintenance requests are planned."""
        planned = []
        for decision in recommendation.get("decisions", []):
            action = decision.get("action") or {}
            if isinstance(action, Mapping) and action.get("maintain") is True:
                at_s = max(float(decision.get("t", self.now_s)), self.now_s)
                planned.append((at_s, str(decision["entity"])))
        self._planned = sorted(planned)
        return len(planned)

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m twin.live.emulated_plant", description=__doc__)
    parser.add_argument("broker", help="mqtt://127.0.0.1:<port>/<prefix>")
    parser.add_argument("--days", type=positive, default=8.0, help="simulated days")
    parser.add_argument("--seed", type=seed, default=11, help="the plant's own seed")
    parser.add_argument("--wear-factor", type=positive, default=1.3, help="hidden wear x")
    parser.add_argument("--policy", default="maintenance/run-to-failure-v0")
    parser.add_argument("--period-s", type=positive, default=3600.0)
    parser.add_argument("--decision-period-s", type=positive, default=86_400.0)
    parser.add_argument("--wait-s", type=positive, default=120.0, help="for a recommendation")
    parser.add_argument("--open-loop", action="store_true", help="never follow recommendations")
    args = parser.parse_args(argv)
    try:
        return _serve(args)
    except UserError as error:
        print(f"emulated plant: {error}", file=sys.stderr)
        return EXIT_USER_ERROR


def _serve(args: argparse.Namespace) -> int:
    where = parse_source(args.broker)
    config = ScenarioConfig(
        id="factory/flowline-v0", horizon_s=args.days * SECONDS_PER_DAY, tick_s=600.0
    )
    drift = args.wear_factor / 500.0  # the flow line's default drift is 1/500 per hour
    hidden = {"stations": [{"degradation": {"drift_per_h": drift}}] * 5}
    plant = emulate(config, args.policy, args.seed, hidden, args.period_s)
    units = {channel.name: channel.unit for channel in factory_live.channels(plant.plant)}
    followed = 0
    with MqttClient(where.host, where.port, f"emulated-plant-{os.getpid()}") as client:
        if not client.subscribe(f"{where.topic}/recommendation", timeout_s=10.0):
            raise UserError(f"{args.broker}: no MQTT broker answered")
        next_epoch_s = args.decision_period_s
        for batch in plant:
            if batch and not client.publish(
                readings_topic(where.topic), encode_readings(batch, units)
            ):
                print("emulated plant: a batch could not be published", file=sys.stderr)
            # The shadow decides when a reading measured after its epoch arrives, so the
            # decision is awaited after the first period past the epoch (one period late).
            crossed = plant.now_s >= next_epoch_s + args.period_s
            if args.open_loop or not crossed or plant.now_s >= config.horizon_s:
                continue
            recommendation = await_recommendation(client, next_epoch_s, args.wait_s)
            if recommendation is not None:
                plant.follow(recommendation)
                followed += 1
            next_epoch_s += args.decision_period_s
    plant.run.world.finish()
    result = plant.run.result(wall_s=0.0)
    print(
        json.dumps(
            {
                "followed": followed,
                "cost_total": result.kpis["cost_total"].value,
                "throughput_per_h": result.kpis["throughput_per_h"].value,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
