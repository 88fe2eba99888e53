"""The pytest plugin (entry point ``pytest11``: ``twin``): the checkers as fixtures.

Loaded by pytest wherever twin is installed. It imports nothing heavy until a test asks
for a fixture, so it costs other test suites nothing.

Options: ``--twin-max-examples N`` (generated examples per property; raise it in a
nightly job) and ``--twin-replications N`` (paired replications of ``assert_not_worse``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twin", "twin policy and scenario checks")
    group.addoption(
        "--twin-max-examples",
        type=int,
        default=None,
        help="generated examples per property in check_policy / check_scenario",
    )
    group.addoption(
        "--twin-replications",
        type=int,
        default=None,
        help="paired replications per scenario in assert_not_worse",
    )


def _with_option(
    function: Callable[..., Any], request: pytest.FixtureRequest, option: str, keyword: str
) -> Callable[..., Any]:
    value = request.config.getoption(option)
    return functools.partial(function, **{keyword: value}) if value is not None else function


@pytest.fixture
def check_policy(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """:func:`twin.testing.check_policy`, honouring ``--twin-max-examples``."""
    from twin.testing import check_policy as function

    return _with_option(function, request, "--twin-max-examples", "max_examples")


@pytest.fixture
def check_scenario(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """:func:`twin.testing.check_scenario`, honouring ``--twin-max-examples``."""
    from twin.testing import check_scenario as function

    return _with_option(function, request, "--twin-max-examples", "max_examples")


@pytest.fixture
def assert_not_worse(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """:func:`twin.testing.assert_not_worse`, honouring ``--twin-replications``."""
    from twin.testing import assert_not_worse as function

    return _with_option(function, request, "--twin-replications", "replications")
