"""The worked example for users: examples/my_policy installs as its own package, twin
finds its policy through the entry point, and its tests pass using the kit's fixtures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import install_example

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "my_policy"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_example(EXAMPLE, tmp_path_factory.mktemp("site"))


@pytest.mark.slow
def test_the_example_package_tests_pass_with_the_kit(installed, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        cwd=tmp_path,
        env=installed,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout


def test_twin_lists_the_example_policy_once_installed(installed, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "twin", "list"],
        cwd=tmp_path,
        env=installed,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "acme/hours-or-vibration-v0" in done.stdout
    assert "[factory.maintenance]" in done.stdout
