"""The edge/cloud cluster behind the sensors: requests, nodes, load balancer, autoscaler."""

from twin.cloud.cluster import Cluster, NodeSlot
from twin.cloud.config import BurstParams, CloudParams, NodeSpec, RequestClass, Workload
from twin.cloud.domain import DOMAIN
from twin.cloud.observation import ScalingAction, ScalingObservation, check_scaling_action

__all__ = [
    "DOMAIN",
    "BurstParams",
    "CloudParams",
    "Cluster",
    "NodeSlot",
    "NodeSpec",
    "RequestClass",
    "ScalingAction",
    "ScalingObservation",
    "Workload",
    "check_scaling_action",
]
