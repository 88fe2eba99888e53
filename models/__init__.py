"""Plug-in policies, baselines and AI, one folder per decision area.

Each policy is registered by versioned id through the ``twin.policies`` entry-point
group in ``pyproject.toml``, exactly as a third-party package would register its own.
"""
