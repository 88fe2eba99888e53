"""Admission control for queueing stations: who gets in when an arrival comes."""
