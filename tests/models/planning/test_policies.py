"""Every planning policy passes the policy kit: valid plans for every edge case and
generated order book, observations left untouched, reproducible, and a run twice the same."""

from __future__ import annotations

import pytest

from twin.testing import check_policy


@pytest.mark.parametrize(
    "policy_id", ["planning/mip-v0", "planning/fifo-v0", "planning/edd-v0", "planning/spt-v0"]
)
def test_the_policy_kit_passes(policy_id: str) -> None:
    check_policy(policy_id, max_examples=15)
