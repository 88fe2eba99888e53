"""The second worked example, a traffic-signal policy (examples/signal_policy): it
installs as its own package, twin lists its policy through the entry point, and its
tests pass using the kit's fixtures, including a win over the fixed-time programme."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import install_example, run_example_tests, twin

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "signal_policy"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_example(EXAMPLE, tmp_path_factory.mktemp("site"))


def test_the_signal_example_tests_pass_with_the_kit(installed, tmp_path):
    done = run_example_tests(EXAMPLE, installed, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 passed" in done.stdout


def test_twin_lists_the_signal_policy_once_installed(installed, tmp_path):
    done = twin(installed, tmp_path, "list")
    assert done.returncode == 0, done.stderr
    assert "acme/longest-queue-v0" in done.stdout
    assert "[traffic.signals]" in done.stdout
