"""A signal agent trained with PPO in the twin on RESCO's grid4x4 (``signals/ppo-v0``).

One network deciding for each of the sixteen intersections of RESCO's grid4x4
(sumo-rl's copy) from that intersection's own vector, sumo-rl's observation (phase
one-hot, min-green flag, lane density and queue: ``twin/traffic/learning.py``), choosing
the next green phase every 5 s. It was trained on sumo-rl's ``diff-waiting-time`` reward
for one interior intersection while fixed-time control ran the others, with the static
programme's phases free between 5 s and 50 s of green (``adaptive_green_s``). The exact
command, seeds and library versions are in the model file's header
(``load_network(path).training``) and in ``docs/RL.md``. It runs with numpy alone, on any
network whose intersections read vectors of its width (it was checked only on grid4x4).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from twin.rl.agent_policy import AgentPolicy


class SignalsPPO(AgentPolicy):
    """PPO-trained signal agent for RESCO grid4x4 (one network, sixteen intersections)."""

    id: ClassVar[str] = "signals/ppo-v0"
    domain: ClassVar[str] = "traffic.signals"
    description: ClassVar[str] = "PPO-trained network on sumo-rl's observation, RESCO grid4x4"
    shipped_model: ClassVar[Path | None] = (
        Path(__file__).resolve().parent / "data" / "ppo-resco-grid4x4-v0.npz"
    )
