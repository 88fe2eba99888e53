"""Autoscaling of the cloud cluster: how many nodes to run, and when to run deferrable work."""
