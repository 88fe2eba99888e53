"""Replenishment policies: how much each site orders at its review."""
