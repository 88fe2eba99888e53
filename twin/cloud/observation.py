"""What a scaling policy sees at each sync period, and what it may answer."""

from __future__ import annotations

from typing import NamedTuple

from twin.core.domain import Quantity
from twin.core.policy import InvalidActionError

MOST_NODES = 1000
"""The config's upper bound on ``max_nodes`` (:class:`~twin.cloud.config.CloudParams`)."""
MOST_WAITING = 100_000
"""The config's upper bound on a node's ``queue_capacity``."""


class ScalingObservation(NamedTuple):
    """The cluster at a decision epoch (every ``sync_period_s``).

    A tuple of numbers and tuples, so a policy cannot change what the cluster sees.

    Attributes:
        now_s: simulated time of the decision.
        sync_period_s: time between decisions (the metric window).
        min_nodes: fewest nodes the cluster may run.
        max_nodes: most nodes the cluster may run.
        current_nodes: nodes ready or starting (not draining): the current scale.
        ready_nodes: nodes accepting requests.
        starting_nodes: nodes launched but still in their cold start.
        workers_per_node: requests a node serves at once.
        cold_start_s: launch-to-ready delay of a new node.
        utilisation: busy share of the ready nodes' workers over the last window (the
            CPU metric); NaN when no node was ready during the window.
        queue_lengths: requests waiting at each ready node now.
        arrival_rates_per_s: arrivals per second of each past window, oldest first
            (deferred batch work counted when released, not when it arrived).
        hour_of_day: simulated hour of day, [0, 24).
        carbon_intensity: grid kg CO2e per kWh now.
        carbon_forecast: kg CO2e per kWh for this hour and the 23 after it.
        deferred: batch work held back, oldest first: ``(requests, deadline_s)`` per
            hour of arrival (the deadline of its oldest request); the cluster releases
            it by itself ``deadline_guard_s`` before the deadline.
    """

    now_s: float
    sync_period_s: float
    min_nodes: int
    max_nodes: int
    current_nodes: int
    ready_nodes: int
    starting_nodes: int
    workers_per_node: int
    cold_start_s: float
    utilisation: float
    queue_lengths: tuple[int, ...]
    arrival_rates_per_s: tuple[float, ...]
    hour_of_day: float
    carbon_intensity: float
    carbon_forecast: tuple[float, ...]
    deferred: tuple[tuple[int, float], ...]

    @property
    def deferred_requests(self) -> int:
        """All deferred requests, over every window."""
        return sum(count for count, _ in self.deferred)


class ScalingAction(NamedTuple):
    """The node count to run, and how much deferred batch work to release now.

    Attributes:
        desired_nodes: nodes to run (ready plus starting); the cluster launches or
            drains nodes to reach it.
        release_deferred: deferred requests to release now, oldest first; ``None``
            releases all of them (a policy that does not defer).
    """

    desired_nodes: int
    release_deferred: int | None = None


def check_scaling_action(
    action: object, obs: ScalingObservation | None, policy_id: str
) -> ScalingAction:
    """``action`` if the cluster can carry it out; :class:`InvalidActionError` if not."""
    if type(action) is not ScalingAction:
        raise InvalidActionError(policy_id, action, "expected ScalingAction(desired_nodes, ...)")
    desired = action.desired_nodes
    if type(desired) is not int:
        raise InvalidActionError(policy_id, action, "desired_nodes must be an int")
    if obs is not None and not obs.min_nodes <= desired <= obs.max_nodes:
        raise InvalidActionError(
            policy_id,
            action,
            f"desired_nodes {desired} outside [min_nodes, max_nodes] = "
            f"[{obs.min_nodes}, {obs.max_nodes}]",
        )
    release = action.release_deferred
    if release is not None and (type(release) is not int or release < 0):
        raise InvalidActionError(policy_id, action, "release_deferred must be None or an int >= 0")
    return action


SCALING_OBSERVATION_FIELDS: dict[str, Quantity] = {
    "now_s": Quantity("s", 0.0, description="simulated time of the decision"),
    "sync_period_s": Quantity("s", 0.0, description="time between decisions (metric window)"),
    "min_nodes": Quantity("", 1, MOST_NODES, description="fewest nodes the cluster may run"),
    "max_nodes": Quantity("", 1, MOST_NODES, description="most nodes the cluster may run"),
    "current_nodes": Quantity("", 0, MOST_NODES, description="nodes ready or starting"),
    "ready_nodes": Quantity("", 0, MOST_NODES, description="nodes accepting requests"),
    "starting_nodes": Quantity("", 0, MOST_NODES, description="nodes in their cold start"),
    "workers_per_node": Quantity("", 1, 256, description="requests a node serves at once"),
    "cold_start_s": Quantity("s", 0.0, description="launch-to-ready delay of a new node"),
    "utilisation": Quantity(
        "", 0.0, 1.0, missing=True,
        description="busy share of ready workers over the last window; NaN if none was ready",
    ),
    "queue_lengths": Quantity(
        "", 0, MOST_WAITING, description="requests waiting at each ready node now"
    ),
    "arrival_rates_per_s": Quantity(
        "1/s", 0.0, description="arrivals per second of each past window, oldest first"
    ),
    "hour_of_day": Quantity("h", 0.0, 24.0, description="simulated hour of day"),
    "carbon_intensity": Quantity("kg CO2e/kWh", 0.0, description="grid intensity now"),
    "carbon_forecast": Quantity(
        "kg CO2e/kWh", 0.0, description="grid intensity of this hour and the 23 after it"
    ),
    "deferred": Quantity(
        "", 0.0,
        description="batch work held back, oldest first: (requests, deadline_s) per hour",
    ),
}  # fmt: skip
"""What each field of :class:`ScalingObservation` means (units and ranges)."""

SCALING_ACTION_FIELDS: dict[str, Quantity] = {
    "desired_nodes": Quantity(
        "", 1, MOST_NODES, description="nodes to run, within [min_nodes, max_nodes]"
    ),
    "release_deferred": Quantity(
        "", 0, missing=True,
        description="deferred requests to release now, oldest first; None: all of them",
    ),
}  # fmt: skip
"""What each field of :class:`ScalingAction` means."""
