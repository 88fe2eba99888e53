"""The edge/cloud cluster behind the sensors: requests, nodes, load balancer, autoscaler."""

from twin.cloud.observation import ScalingAction, ScalingObservation, check_scaling_action

__all__ = ["ScalingAction", "ScalingObservation", "check_scaling_action"]
