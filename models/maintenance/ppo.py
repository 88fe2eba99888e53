"""A maintenance agent trained with PPO in the twin (``maintenance/ppo-v0``).

Its network decides, for each machine after each part, whether to stop it for preventive
maintenance, from the maintenance area's learning interface (state, sensors over their
ranges, wear counters, crew): see ``twin/factory/learning.py``. It was trained on
``factory/flowline-v0`` with the priced downtime and electricity of
``experiments/factory_maintenance.toml``; the exact command, seeds and library versions
are in the model file's header (``load_network(path).training``) and in ``docs/RL.md``.
It runs with numpy alone, and only on the flow line (its input names the line's machines).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from twin.rl.agent_policy import AgentPolicy


class MaintenancePPO(AgentPolicy):
    """PPO-trained maintenance agent (shared network over the flow line's machines)."""

    id: ClassVar[str] = "maintenance/ppo-v0"
    domain: ClassVar[str] = "factory.maintenance"
    description: ClassVar[str] = "PPO-trained network over the machine's state, sensors and wear"
    shipped_model: ClassVar[Path | None] = (
        Path(__file__).resolve().parent / "data" / "ppo-flowline-v0.npz"
    )
