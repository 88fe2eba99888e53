"""Maintenance policies: when to stop a machine for preventive maintenance."""
