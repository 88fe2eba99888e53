"""A scenario no view can draw, for the viz tests' bad-input cases."""

from typing import Any

from twin.core.policy import Policy
from twin.core.scenario import KPI, Scenario, ScenarioParams
from twin.core.world import World


class Viewless(Scenario[ScenarioParams]):
    """Builds nothing a view knows: a world with no plant, city or station."""

    id = "tests/viewless-v0"
    domain = "station"
    default_policy = "admission/admit-all-v0"

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        pass

    def kpis(self, world: World) -> dict[str, KPI]:
        return {}
