"""``traffic/sumo-net-v0``: a city imported from SUMO files, driven by twin.

The network (with its signal programmes) comes from a SUMO ``.net.xml`` and the demand
from SUMO route/trip files, so twin runs exactly the city SUMO runs: this is the scenario
of the fidelity check (``tests/traffic/test_sumo_fidelity.py``) and of the speed
benchmark (``benchmarks/traffic_vs_sumo.py``). Paths are relative to the working
directory. Reading SUMO networks needs ``sumolib`` (``pip install 'twin[sumo]'``).

```toml
[scenario]
id = "traffic/sumo-net-v0"
horizon_s = 3600

[scenario.params]
net_file = "city.net.xml"
route_files = ["city.rou.xml"]

[policy]
id = "signals/fixed-time-v0"
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from twin.core.errors import ConfigError
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario, ScenarioParams
from twin.core.sensors import SensorConfig
from twin.core.world import World
from twin.traffic.city import City
from twin.traffic.detectors import LoopDetectorConfig
from twin.traffic.network import Network
from twin.traffic.scenario import GridCity, TrafficParams
from twin.traffic.sumo import read_net, read_routes, root_tag


class SumoNetParams(ScenarioParams):
    """Which SUMO files to import, and how to tick them."""

    net_file: str = Field(description="SUMO network (.net.xml) with its traffic lights")
    route_files: tuple[str, ...] = Field(
        min_length=1,
        description="SUMO route/trip files (.rou.xml, .trips.xml), and additional files "
        "with vType definitions, read in this order",
    )
    program_id: str | None = Field(
        default=None, description="traffic-light programme to take (default: the first)"
    )
    tick_s: float = Field(default=1.0, gt=0, le=2.0, description="kernel time step")
    detectors: SensorConfig | None = Field(
        default_factory=TrafficParams.model_fields["detectors"].default_factory,
        description="queue detectors seen by policies (as in traffic/grid4x4-v0)",
    )
    loop_detectors: LoopDetectorConfig | None = Field(
        default_factory=LoopDetectorConfig,
        description="stop-line and upstream induction loops seen by policies",
    )
    per_intersection_kpis: bool = Field(
        default=False, description="also report queue KPIs per intersection"
    )

    @field_validator("net_file")
    @classmethod
    def _is_a_sumo_net(cls, value: str) -> str:
        _check_root(value, ("net",), "SUMO network (.net.xml)")
        return value

    @field_validator("route_files")
    @classmethod
    def _are_sumo_routes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            _check_root(path, ("routes", "additional"), "SUMO route file (.rou.xml, .trips.xml)")
        return value


def _check_root(path: str, expected: tuple[str, ...], what: str) -> None:
    """The file exists and is the right kind of SUMO file (its first element only)."""
    try:
        root_tag(Path(path), expected, what)
    except ConfigError as error:
        raise ValueError(str(error)) from None


class SumoNet(Scenario[SumoNetParams]):
    """A SUMO network and its demand, imported and driven by twin's vehicle kernel."""

    id = "traffic/sumo-net-v0"
    domain = GridCity.domain
    description = "a city imported from SUMO .net.xml and route files (twin against SUMO)"
    Params = SumoNetParams
    default_policy = GridCity.default_policy
    headline_kpis = GridCity.headline_kpis

    def policy_info(self) -> dict[str, Any]:
        network = self._network()
        return {
            "intersections": sum(1 for i in network.intersections if i.program is not None),
            "tick_s": self.params.tick_s,
        }

    def _network(self) -> Network:
        if self.network is None:
            self.network = read_net(self.params.net_file, program_id=self.params.program_id)
        return self.network

    def __init__(self, params: SumoNetParams) -> None:
        super().__init__(params)
        self.network: Network | None = None

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        params = self.params
        network = self._network()
        trips = read_routes(network, *params.route_files, rng=world.streams["traffic.demand.sumo"])
        self.city = City(
            world,
            network,
            trips,
            policy,
            tick_s=params.tick_s,
            sensors=params.detectors,
            loop_detectors=params.loop_detectors,
            per_intersection_kpis=params.per_intersection_kpis,
        )

    def kpis(self, world: World) -> dict[str, KPI]:
        return self.city.kpis()
