"""The scenario: one belt under a speed policy."""

from __future__ import annotations

from typing import Any

from conveyor_twin.belt import ConveyorBelt
from conveyor_twin.config import BeltParams
from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario
from twin.core.world import World


class Belt(Scenario[BeltParams]):
    """A belt fed at random; a jam stops it until cleared."""

    id = "conveyor/belt-v0"
    domain = "conveyor"
    description = "one conveyor belt that jams more the fuller and faster it runs"
    Params = BeltParams
    default_policy = "conveyor/full-speed-v0"
    headline_kpis = ("delivered_per_h", "jams", "time_in_system_mean_s")

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        ConveyorBelt(world, self.params, policy)

    def kpis(self, world: World) -> dict[str, KPI]:
        belt = world.the(ConveyorBelt)
        belt.book_power()
        span_h = (world.now_s - world.warmup_s) / 3600.0
        delivered = belt.delivered.count
        return {
            "delivered_per_h": KPI(delivered / span_h if span_h else 0.0, "items/h", "throughput"),
            "arrived": KPI(float(belt.arrived.count), "items", "arrivals at the infeed"),
            "jams": KPI(float(belt.jams.count), "jams", "jams after the warm-up"),
            "lost_items": KPI(float(belt.lost.count), "items", "turned away: infeed full"),
            "time_in_system_mean_s": KPI(
                belt.time_in_system.mean, "s", "arrival to outfeed, delivered items"
            ),
        }
