"""House rules that CI enforces: lint, format, types on twin.core, import directions."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = BIN / name
    command = str(executable) if executable.exists() else shutil.which(name)
    assert command, f"{name} is not installed; it is part of the 'dev' extra"
    return subprocess.run([command, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint_is_clean():
    done = tool("ruff", "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_applied():
    done = tool("ruff", "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_mypy_is_clean_on_core():
    done = tool("mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_imports_run_one_way_only():
    done = tool("lint-imports", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_domain_importing_a_model_would_be_caught(tmp_path):
    # The contract is only worth having if it can fail: add a forbidden import to a copy.
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "results"))
    bad = copy / "twin" / "station" / "bad_import.py"
    bad.write_text("import models.admission.admit_all\n")
    env_path = f"{copy}"
    done = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": env_path, "PATH": str(BIN)},
    )
    assert done.returncode != 0
    assert "twin.station.bad_import -> models.admission.admit_all" in done.stdout


GENERIC = (
    "twin/testing",
    "twin/rl",
    "twin/live/branches.py",
    "twin/live/snapshot.py",
    "twin/live/shadow.py",
    "twin/live/session.py",
    "twin/live/messages.py",
    "twin/live/mqtt.py",
    "twin/live/recording.py",
    "twin/live/broker.py",
    "twin/core/live.py",
    "twin/reference.py",
    "twin/cli.py",
    "viz",
    "experiments",
)
"""What must work for any registered domain, and so may name none of them. In twin/live
only the realities a shadow is shown on (a SUMO city, an emulated plant) name one."""


def domain_names() -> list[str]:
    from twin.core.registry import Registry

    return [domain.name for domain in Registry().domains()]


def named_domains(path: Path, names: list[str], root: Path = ROOT) -> list[str]:
    """Lines of ``path`` that name a domain: a word, an import, a scenario id."""
    import re

    word = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE)
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if word.search(line)
    ]


def test_twins_own_domains_are_all_registered():
    assert set(domain_names()) >= {"station", "factory", "traffic", "supply", "cloud"}


def test_no_generic_module_names_a_domain():
    names = domain_names()
    found = []
    for part in GENERIC:
        root = ROOT / part
        files = (
            [root] if root.is_file() else sorted(root.rglob("*.py")) + sorted(root.rglob("*.vue"))
        )
        for path in files:
            found += named_domains(path, names)
    assert not found, "generic code names a domain:\n" + "\n".join(found)


def test_the_domain_check_would_catch_a_named_domain(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text('if scenario.domain == "factory.maintenance":\n    pass  # factoryish\n')
    assert named_domains(sneaky, ["factory"], tmp_path) == [
        'sneaky.py:1: if scenario.domain == "factory.maintenance":'
    ]
