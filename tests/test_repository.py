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
