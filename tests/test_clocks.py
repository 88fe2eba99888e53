"""Each domain's clock reads as its people read time, and starts its view at a tick
that shows something change."""

from __future__ import annotations

import pytest

from twin.core.run import default_registry

# 1 day, 2 h, 30 min and 15 s after the start of a run: day 1 of a supply chain is a Tuesday.
NOW_S = 86_400.0 + 2 * 3_600.0 + 30 * 60.0 + 15.0

EXPECTED = {
    "traffic": ("95,415 s", 60.0),
    "factory": ("26.50 h", 600.0),
    "supply": ("day 1 (Tuesday) 02:30", 86_400.0),
    "cloud": ("26.50 h", 60.0),
    "station": ("1,590.2 min", 60.0),
}


def test_every_registered_domain_has_an_expected_clock():
    assert {domain.name for domain in default_registry().domains()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_domain_clock_formats_time_in_its_natural_unit(name):
    clock = default_registry().domain(name).clock
    assert (clock.format(NOW_S), clock.display_tick_s) == EXPECTED[name]
