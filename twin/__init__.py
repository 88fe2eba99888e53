"""twin: a discrete-event, agent-based digital twin for testing AI policies against baselines.

The engine lives in :mod:`twin.core`; each domain (``twin.station``, and the factory,
traffic, supply and cloud twins as they land) builds on it.
"""

__version__ = "0.1.0"
