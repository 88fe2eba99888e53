"""The reference pages in docs/domains are what `twin docs` writes from the domains'
contracts today: a changed observation, KPI or invariant shows up as a stale page."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from twin.core.policy import InvalidActionError
from twin.core.run import default_registry
from twin.reference import Epochs, refusal_reasons, write_pages
from twin.testing import check_policy

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_committed_domain_pages_are_up_to_date(tmp_path):
    registry = default_registry()
    own = {d.name for d in registry.domains() if d.model.__module__.startswith("twin.")}
    written = write_pages(tmp_path, registry)
    for path in written:
        if path.stem in own or (path.stem == "README" and own == {*registry_names(registry)}):
            committed = ROOT / "docs" / "domains" / path.name
            assert committed.exists(), f"{committed} is missing: run `twin docs`"
            assert committed.read_text() == path.read_text(), f"{committed} is stale: `twin docs`"


def test_every_registered_area_declares_its_decision_epochs_in_one_sentence():
    registry = default_registry()
    areas = [area for domain in registry.domains() for area in domain.areas]
    assert areas
    for area in areas:
        assert area.epochs.startswith(("Event-driven", "Periodic")), area.name
        assert area.epochs.endswith("."), area.name
        assert "\n" not in area.epochs, area.name
    # The page shows the declared sentence first, under the section's heading.
    station = next(area for area in areas if area.name == "station")
    page = (ROOT / "docs" / "domains" / "station.md").read_text()
    section = page.split("### When a decision is made: `station`\n\n", 1)[1]
    assert section.startswith(station.epochs + "\n\nThe observation: ")


def registry_names(registry) -> list[str]:
    return [d.name for d in registry.domains()]


def minimal_policy(page: Path, area: str, language: str = "python") -> str:
    """The ``language`` block under the page's "A minimal policy" heading of ``area``."""
    text = page.read_text()
    section = text.split(f"### A minimal policy: `{area}`", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("\n```", 1)[0]


@pytest.mark.parametrize(
    ("page", "area"),
    [
        ("traffic.md", "traffic.signals"),
        ("supply.md", "supply.replenishment"),
        ("supply.md", "supply.transport"),
    ],
)
def test_the_minimal_policy_on_the_page_passes_check_policy_as_written(
    page, area, tmp_path, monkeypatch
):
    # A newcomer copies the block into a file of their own: it must import, and the
    # policy must pass the checks a third-party policy's CI runs.
    module_name = "my_" + area.replace(".", "_")
    (tmp_path / f"{module_name}.py").write_text(
        minimal_policy(ROOT / "docs" / "domains" / page, area)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(module_name)
    [policy_class] = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and c.__module__ == module_name and hasattr(c, "act")
    ]
    report = check_policy(policy_class(), max_examples=20)
    assert report.ok
    assert policy_class.domain == area


LIMIT = 7


def _check_size(action, observation, policy_id):
    if not isinstance(action, int):
        raise InvalidActionError(policy_id, action, "expected an int")
    return _check_range(action, observation, policy_id)


def _check_range(action, observation, policy_id):
    top = min(LIMIT, observation.room)
    if not 0 <= action <= top:
        raise InvalidActionError(policy_id, action, f"size {action} outside [0, {top}], {LIMIT}")
    return action


def test_the_refusal_reasons_are_read_from_the_check_and_the_checks_it_calls():
    assert refusal_reasons(_check_size) == [
        "expected an int",
        "size `action` outside [0, `min(LIMIT, observation.room)`], 7",
    ]


def test_the_decision_count_reads_in_seconds_then_the_unit_people_read():
    epochs = Epochs(
        "supply/x-v0", 5_184_000.0, "p/base-v0", 1234, 2, "site", (60.0, 86_400.0, 172_800.0)
    )
    assert str(epochs) == (
        "Running `supply/x-v0` for 5,184,000 s = 60 d under `p/base-v0`, 2 sites were "
        "asked 1,234 times: each again after 86,400 s = 1 d (median; from 60 s = 1 min to "
        "172,800 s = 2 d)."
    )


@pytest.mark.parametrize(
    ("page", "area"),
    [("traffic.md", "traffic.signals"), ("supply.md", "supply.transport")],
)
def test_the_command_on_the_page_runs_the_saved_minimal_policy(page, area, tmp_path):
    # Saved under the name the command gives, in the folder it runs from.
    command = minimal_policy(ROOT / "docs" / "domains" / page, area, "bash")
    prefix = "PYTHONPATH=. twin run "
    assert command.startswith(prefix)
    module_name = re.search(r"(my_\w+):", command).group(1)
    code = minimal_policy(ROOT / "docs" / "domains" / page, area)
    # As the page says: the copy gets its own id.
    code = re.sub(r'(id: ClassVar\[str\] = )"[^"]+"', r'\1"newcomer/copy-v0"', code)
    (tmp_path / f"{module_name}.py").write_text(code)
    arguments = shlex.split(command.removeprefix(prefix))
    done = subprocess.run(
        [sys.executable, "-m", "twin", "run", *arguments, "--out", "out"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([".", *sys.path])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "kpis.parquet").exists()
    # The run's policy is the copy (by its id), or the scenario names the copy's module.
    manifest = (tmp_path / "out" / "manifest.json").read_text()
    assert '"newcomer/copy-v0"' in manifest or f'"{module_name}:' in manifest


PAGES = sorted((ROOT / "docs" / "domains").glob("*.md"))


def areas_on(page: Path) -> list[str]:
    return re.findall(r"^### A minimal policy: `([\w.]+)`$", page.read_text(), re.M)


@pytest.mark.parametrize(
    ("page", "area"), [(page, area) for page in PAGES for area in areas_on(page)]
)
def test_the_minimal_policy_needs_twin_alone_and_imports_it_by_its_public_path(page, area):
    # A newcomer has twin, not the shipped models: helpers are copied in.
    code = minimal_policy(page, area)
    imported = re.findall(r"^(?:from|import) ([\w.]+)", code, re.M)
    assert not [m for m in imported if m.split(".")[0] == "models"], imported
    assert "twin.core.policy" not in imported  # `from twin.core import BasePolicy`


def comparison(page: Path, area: str, language: str) -> str:
    section = page.read_text().split(f"### Comparing with the baseline: `{area}`", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("\n```", 1)[0]


@pytest.mark.parametrize(
    ("page", "area"), [(page, area) for page in PAGES for area in areas_on(page)]
)
def test_the_comparison_on_the_page_is_a_valid_config_naming_the_saved_policy(
    page, area, tmp_path, monkeypatch, capsys
):
    from tests.support import twin_in_process

    commands = comparison(page, area, "bash")
    module_name = re.search(r"(my_\w+):", minimal_policy(page, area, "bash")).group(1)
    (tmp_path / f"{module_name}.py").write_text(minimal_policy(page, area))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    experiment = re.search(r"twin run (compare_\w+\.toml)", commands)
    if experiment:
        name = experiment.group(1)
        (tmp_path / name).write_text(comparison(page, area, "toml"))
        done = twin_in_process(capsys, "validate", name)
        assert done.returncode == 0, done.stderr
    else:  # two runs on one seed: each a valid command line
        lines = commands.splitlines()
        assert len(lines) == 2
        assert all(line.startswith("PYTHONPATH=. twin run ") for line in lines)
        assert {re.search(r"--seed (\d+)", line).group(1) for line in lines} == {"1"}
