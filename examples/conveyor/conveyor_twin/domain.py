"""The conveyor domain's contract: what twin's checkers, views and reference pages read."""

from __future__ import annotations

import itertools

from conveyor_twin.belt import ConveyorBelt
from conveyor_twin.observation import BeltAction, BeltObservation, check_belt_action
from conveyor_twin.view import BeltView
from twin.core.domain import DecisionArea, Deferred, Domain, Quantity, ScenarioChecks
from twin.core.world import World

_observations = Deferred("conveyor_twin.kit:observations")


_edge_cases = Deferred("conveyor_twin.kit:edge_cases")


_run_config = Deferred("conveyor_twin.kit:run_config")


_params = Deferred("conveyor_twin.kit:params")


def _belt_of(observation: BeltObservation) -> str:
    return "belt"


def invariants(belt: ConveyorBelt, world: World) -> list[str]:
    problems = []
    positions = list(belt.positions)
    if len(positions) > belt.places:
        problems.append(f"{len(positions)} items on a belt of {belt.places} places")
    if any(not 0.0 <= x < belt.params.length_m for x in positions):
        problems.append(f"an item off the belt: {positions}")
    gaps = [a - b for a, b in itertools.pairwise(positions)]  # oldest (furthest) first
    if any(gap < belt.params.item_pitch_m - 1e-9 for gap in gaps):
        problems.append(f"items closer than the pitch: gaps {gaps}")
    if len(belt.waiting) > belt.params.infeed_places:
        problems.append(f"{len(belt.waiting)} waiting of {belt.params.infeed_places} places")
    if world.warmup_s == 0.0:
        inside = len(positions) + len(belt.waiting)
        accounted = belt.delivered.count + belt.lost.count + inside
        if belt.arrived.count != accounted:
            problems.append(f"items not conserved: {belt.arrived.count} arrived, {accounted} seen")
    return problems


BELT_SPEED = DecisionArea(
    name="conveyor",
    observation=BeltObservation,
    action=BeltAction,
    check_action=check_belt_action,
    entity_of=_belt_of,
    edge_cases=_edge_cases,
    observations=_observations,
    run_config=_run_config,
    observation_fields={
        "now_s": Quantity("s", 0.0, description="simulated time"),
        "items_on_belt": Quantity("items", 0, description="items riding the belt"),
        "belt_places": Quantity("items", 1, description="most items the belt holds"),
        "waiting": Quantity("items", 0, description="items queued at the infeed"),
        "speed": Quantity("1", 0.2, 1.0, description="current share of top speed"),
        "jammed": Quantity(description="a jam stops the belt"),
        "jams": Quantity("jams", 0, description="jams so far"),
    },
    action_fields={"speed": Quantity("1", 0.2, 1.0, description="share of top speed")},
    baseline="conveyor/full-speed-v0",
    description="the belt's speed, chosen every decision period",
    epochs=(
        "Periodic: at the start of the run and then every `decision_period_s` (scenario params)."
    ),
)

DOMAIN = Domain(
    name="conveyor",
    description="a conveyor belt that jams more the fuller and faster it runs",
    model=ConveyorBelt,
    areas=(BELT_SPEED,),
    invariants=invariants,
    invariant_rules=(
        "no more items on the belt than it has places",
        "every item on the belt, at least one pitch apart",
        "the infeed holds at most its places",
        "items are conserved: arrived = delivered + lost + on belt + waiting",
    ),
    view=BeltView,
    scenario_checks={
        "conveyor/belt-v0": ScenarioChecks(params=_params, horizon_s=3_600.0, check_period_s=60.0)
    },
    kpis={
        "delivered_per_h": "higher",
        "jams": "lower",
        "lost_items": "lower",
        "time_in_system_mean_s": "lower",
    },
)
