"""The engine: time, randomness, accounting, sensors, policies, configs and runs.

Import what you need from here; each name lives in one obvious module:

- :class:`World` (``world.py``): SimPy clock, streams, ledger and probes under a Mesa model.
- :class:`Streams` (``streams.py``): named random generators, common random numbers.
- :class:`Ledger` (``ledger.py``): money, energy, fuel and derived CO2e.
- :class:`Probes` (``probes.py``): counters, tallies, time-weighted levels, sampler.
- sensors (``sensors.py``): noisy sensors and the edge/compression/latency pipeline.
- :class:`SensorTraffic` (``ports.py``): a sensor pipeline's message rate, the port by
  which one domain's sensors load another (the cloud's ingestion).
- :class:`Policy` (``policy.py``), :class:`Scenario` (``scenario.py``),
  :class:`Registry` (``registry.py``), configs (``config.py``), :func:`simulate` (``run.py``).
"""

from twin.core.config import PolicyRef, RunConfig, load_run_config
from twin.core.distributions import Deterministic, Distribution, Exponential, Gamma, Lognormal
from twin.core.errors import ConfigError, UserError
from twin.core.ledger import EmissionFactor, Ledger, PowerMeter
from twin.core.policy import BasePolicy, InvalidActionError, Policy, PolicyContext, PolicyParams
from twin.core.ports import SensorTraffic
from twin.core.probes import Counter, Level, Probes, Sampler, Tally
from twin.core.registry import Registry
from twin.core.run import RunResult, simulate
from twin.core.scenario import KPI, Scenario, ScenarioConfig, ScenarioParams
from twin.core.sensors import (
    PipelineSpec,
    ReadingBoard,
    SensorConfig,
    SensorFeed,
    SensorModel,
    SensorSpec,
)
from twin.core.streams import Draws, Streams
from twin.core.world import World

__all__ = [
    "KPI",
    "BasePolicy",
    "ConfigError",
    "Counter",
    "Deterministic",
    "Distribution",
    "Draws",
    "EmissionFactor",
    "Exponential",
    "Gamma",
    "InvalidActionError",
    "Ledger",
    "Level",
    "Lognormal",
    "PipelineSpec",
    "Policy",
    "PolicyContext",
    "PolicyParams",
    "PolicyRef",
    "PowerMeter",
    "Probes",
    "ReadingBoard",
    "Registry",
    "RunConfig",
    "RunResult",
    "Sampler",
    "Scenario",
    "ScenarioConfig",
    "ScenarioParams",
    "SensorConfig",
    "SensorFeed",
    "SensorModel",
    "SensorSpec",
    "SensorTraffic",
    "Streams",
    "Tally",
    "UserError",
    "World",
    "load_run_config",
    "simulate",
]
