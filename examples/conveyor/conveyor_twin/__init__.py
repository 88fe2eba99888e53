"""A conveyor belt that jams more the fuller and faster it runs, and policies that set its
speed: a whole twin domain in one folder, plugged in through entry points."""

from conveyor_twin.config import BeltParams
from conveyor_twin.observation import BeltAction, BeltObservation

__all__ = ["BeltAction", "BeltObservation", "BeltParams"]
