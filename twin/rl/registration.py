"""Every installed scenario as a Gymnasium id: ``twin/<scenario id with - for />``.

Gymnasium 1.x no longer reads plug-in entry points, so twin registers its environments
when :mod:`twin.rl` is imported, or when Gymnasium is asked for
``"twin.rl:twin/<name>"`` (Gymnasium imports the module before the ``:``). Only the
scenario ids are read from the ``twin.scenarios`` entry points here, so registering
imports no domain; making an environment whose scenario has no learning interface
fails then, with one line saying so.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import gymnasium
from gymnasium.envs.registration import ENV_ID_RE

from twin.core.registry import SCENARIO_GROUP
from twin.rl.episode import env_id


def make_env(scenario: str, **kwargs: Any) -> gymnasium.Env[Any, Any]:
    """Gymnasium's entry point for every twin id (imports the environment lazily)."""
    from twin.rl.env import TwinEnv

    return TwinEnv(scenario, **kwargs)


def register_environments() -> list[str]:
    """Register a Gymnasium id for every installed scenario; the ids registered."""
    registered = []
    for point in entry_points(group=SCENARIO_GROUP):
        name = env_id(point.name)
        if not ENV_ID_RE.fullmatch(name) or name in gymnasium.registry:
            continue
        gymnasium.register(
            id=name,
            entry_point=make_env,
            kwargs={"scenario": point.name},
            disable_env_checker=False,
        )
        registered.append(name)
    return registered
