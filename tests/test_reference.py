"""The reference pages in docs/domains are what `twin docs` writes from the domains'
contracts today: a changed observation, KPI or invariant shows up as a stale page."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.core.run import default_registry
from twin.reference import write_pages

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


def registry_names(registry) -> list[str]:
    return [d.name for d in registry.domains()]
