"""City traffic: a road network, car-following vehicles, signalised junctions.

The package exports what a signal policy needs (its observation, its action and the
rule its actions obey) and stays light to import: the model is
:class:`twin.traffic.city.City`, the params are in :mod:`twin.traffic.config`, the
domain's contract is :data:`twin.traffic.domain.DOMAIN` (each loads the Numba kernels).
"""

from twin.traffic.observation import SignalAction, SignalObservation, check_signal_action

__all__ = ["SignalAction", "SignalObservation", "check_signal_action"]
