"""Experiments that search: ``twin optimize`` and ``twin calibrate``.

Both ask Optuna for candidate parameter values, evaluate every candidate on the same
replications (common random numbers) through the batch runner's executors, and keep
the study in an SQLite database in the results directory, so an interrupted search
resumes where it stopped and gives the result an uninterrupted one would have.

Where to look:

- ``config``: the TOML of an optimisation or a calibration (pydantic, strict).
- ``space``: the searched parameters: key paths into the scenario or policy params.
- ``evaluate``: candidates x replications as runs on an executor.
- ``study``: the ask/evaluate/tell loop, its storage, seeding and resume.
- ``optimize``, ``calibrate``: the two searches, their results and files.
- ``observe``: synthetic observed data for a calibration (``python -m``).
- ``report``: their HTML/markdown reports and figures.
"""
