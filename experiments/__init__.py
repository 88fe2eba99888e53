"""Batch experiments: paired replications of policy arms, statistics and reports."""
