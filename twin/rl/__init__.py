"""Learning agents in twin: a run decided from outside (:class:`DecisionStream`), and on
it a Gymnasium environment (:class:`TwinEnv`, ``gymnasium.make("twin/<scenario>")``) and a
PettingZoo Parallel environment (:func:`parallel_env`) for every installed scenario whose
decision area has a learning interface (:mod:`twin.core.learning`).

The environments need the ``rl`` extra (gymnasium, pettingzoo); the decision stream and
:class:`AgentPolicy` (a trained network as a twin policy) need numpy alone.
"""

from typing import Any

from twin.rl.stream import DecisionStream, StreamClosed

__all__ = ["DecisionStream", "StreamClosed", "TwinEnv", "TwinParallelEnv", "parallel_env"]

try:
    from twin.rl.registration import register_environments
except ImportError:  # the `rl` extra is not installed: the decision stream still works
    pass
else:
    register_environments()


def __getattr__(name: str) -> Any:
    # The environments import gymnasium and pettingzoo: only when asked for.
    if name == "TwinEnv":
        from twin.rl.env import TwinEnv

        return TwinEnv
    if name in ("TwinParallelEnv", "parallel_env"):
        from twin.rl import parallel

        return getattr(parallel, name)
    raise AttributeError(f"module 'twin.rl' has no attribute {name!r}")
