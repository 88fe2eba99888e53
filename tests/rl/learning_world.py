"""The smallest world to specify the environments with: the station, with a learning
interface written here (two numbers in, admit or turn away out) so every expected value
in tests/rl is exact and independent of the station's own shipped interface."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium import spaces

from models.dispatch.nearest_idle import NearestIdle
from models.maintenance.run_to_failure import RunToFailure
from twin.core.learning import COST, LearningInterface, Reward
from twin.core.registry import Registry
from twin.core.world import World
from twin.factory.domain import DOMAIN as FACTORY
from twin.factory.observation import MaintenanceAction
from twin.factory.plant import Plant
from twin.factory.scenario import FlowLine
from twin.station.domain import DOMAIN
from twin.station.observation import StationAction, StationObservation
from twin.station.scenario import StationScenario
from twin.station.station import Station

SCENARIO = "station/mmc-v0"
QUEUE_SCALE = 10
"""Queue lengths are divided by this and capped at 1 in the test encoding."""


def rejections(world: World, model: Station, agent: str | None) -> float:
    return float(model.rejected.count)


def encode(model: Station, obs: StationObservation) -> np.ndarray:
    return np.array(
        [min(obs.queue_length / QUEUE_SCALE, 1.0), obs.busy_servers / obs.servers], np.float32
    )


def learning() -> LearningInterface[Station]:
    return LearningInterface(
        agents=lambda model: ("station",),
        observation_space=lambda model, agent: spaces.Box(0.0, 1.0, (2,), np.float32),
        encode=encode,
        action_space=lambda model, agent: spaces.Discrete(2),
        decode=lambda model, obs, index: StationAction(admit=bool(index)),
        rewards={
            "cost": COST,
            "rejections": Reward("rejections", "minus the jobs turned away", rejections, "drop"),
        },
        default_reward="rejections",
        episode_s=3_600.0,
    )


def registry(**learning_fields: Any) -> Registry:
    """A registry with the station alone, its area given the test interface."""
    area = dataclasses.replace(DOMAIN.areas[0], **{"learning": learning, **learning_fields})
    registry = Registry(discover=False)
    registry.register_domain(dataclasses.replace(DOMAIN, areas=(area,)))
    registry.register_scenario(StationScenario)
    return registry


# -- many deciders: the flow line's machines ------------------------------------------
PLANT_SCENARIO = "factory/flowline-v0"
HOURS_SCALE = 1_000.0
"""Operating hours are divided by this and capped at 1 in the test encoding."""


def machine_failures(world: World, model: Plant, agent: str | None) -> float:
    machines = model.machines if agent is None else [world.entity(agent)]
    return float(sum(machine.failures for machine in machines))


def plant_learning() -> LearningInterface[Plant]:
    return LearningInterface(
        agents=lambda model: tuple(machine.name for machine in model.machines),
        observation_space=lambda model, agent: spaces.Box(0.0, 1.0, (1,), np.float32),
        encode=lambda model, obs: np.array([min(obs.operating_h / HOURS_SCALE, 1.0)], np.float32),
        action_space=lambda model, agent: spaces.Discrete(2),
        decode=lambda model, obs, index: MaintenanceAction(maintain=bool(index)),
        rewards={
            "failures": Reward("failures", "minus the machine's failures", machine_failures, "drop")
        },
        default_reward="failures",
        episode_s=86_400.0,
    )


def plant_registry() -> Registry:
    """A registry with the factory alone, its maintenance area given the test interface."""
    maintenance = dataclasses.replace(FACTORY.area("factory.maintenance"), learning=plant_learning)
    areas = tuple(maintenance if a.name == maintenance.name else a for a in FACTORY.areas)
    registry = Registry(discover=False)
    registry.register_domain(dataclasses.replace(FACTORY, areas=areas))
    registry.register_scenario(FlowLine)
    for policy in (RunToFailure, NearestIdle):
        registry.register_policy(policy)
    return registry
