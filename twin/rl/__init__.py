"""Policies decided outside the run: the basis of twin's Gymnasium and PettingZoo
environments (issue 17). :class:`DecisionStream` hands each decision of a run's policy
seat to the caller, one at a time."""

from twin.rl.stream import DecisionStream, StreamClosed

__all__ = ["DecisionStream", "StreamClosed"]
