"""The worked example for users: examples/my_policy installs as its own package, twin
finds its policy through the entry point, and its tests pass using the kit's fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import install_example, run_example_tests, twin

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "my_policy"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_example(EXAMPLE, tmp_path_factory.mktemp("site"))


@pytest.mark.slow
def test_the_example_package_tests_pass_with_the_kit(installed, tmp_path):
    done = run_example_tests(EXAMPLE, installed, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout


def test_twin_lists_the_example_policy_once_installed(installed, tmp_path):
    done = twin(installed, tmp_path, "list")
    assert done.returncode == 0, done.stderr
    assert "acme/hours-or-vibration-v0" in done.stdout
    assert "[factory.maintenance]" in done.stdout
