"""The inspector's numbers as people read them."""

import math
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from twin.core.domain import Clock, Quantity
from viz.inspect_format import Row, duration, entity_rows, format_value


def test_numbers_are_rounded_to_four_digits_and_separated_in_thousands():
    assert format_value(0.123456) == "0.1235"
    assert format_value(12_345.678) == "12,346"
    assert format_value(3.0) == "3"
    assert format_value(-0.0) == "0"
    assert format_value(math.nan) == "-"
    assert format_value(True) == "yes"
    assert format_value(np.int64(1200)) == "1,200"


def test_long_arrays_show_their_first_values_and_length():
    assert format_value(np.arange(12.0)) == "[0, 1, 2, 3, 4, ... (12 values)]"
    assert format_value([1.5, 2.25]) == "[1.5, 2.25]"


class Seen(NamedTuple):
    now_s: float
    queue_veh: int


def test_a_decision_is_shown_field_by_field_with_the_contracts_units():
    class Decision(NamedTuple):
        now_s: float
        observation: Seen
        action: int

    info = {"entity": "x:1", "wait_s": 2.5, "last_decision": Decision(60.0, Seen(60.0, 3), 1)}

    area = SimpleNamespace(observation_fields={"queue_veh": Quantity(unit="veh")}, action_fields={})
    rows = entity_rows(info, area)  # type: ignore[arg-type]
    assert rows == [
        Row("entity", "x:1", ""),
        Row("wait_s", "2.5", "s"),
        Row("decided at", "60", "s"),
        Row("observation.now_s", "60", "s"),
        Row("observation.queue_veh", "3", "veh"),
        Row("action", "1", ""),
    ]


def test_a_duration_reads_in_the_unit_that_suits_its_size():
    assert duration(91.0) == ("91", "s")
    assert duration(119.5) == ("119.5", "s")
    assert duration(605.0) == ("10.08", "min")
    assert duration(5_400.0) == ("90", "min")
    assert duration(89_438.0) == ("24.84", "h")
    assert duration(3 * 86_400.0) == ("3", "d")
    assert duration(-900.0) == ("-15", "min")  # early: a negative delay


def test_an_instant_reads_as_the_clock_and_a_duration_in_its_own_unit():
    class Decision(NamedTuple):
        now_s: float
        observation: Seen
        action: int

    info = {
        "entity": "truck:dc0.1",
        "order": {"dispatched_at_s": 89_438.0, "units": 120},
        "delay": {"driving_s": 605.0, "late_by_s": 42.0},
        "last_decision": Decision(90_000.0, Seen(90_000.0, 3), 1),
    }
    rows = entity_rows(info, None, clock=Clock("h", 600.0))
    assert rows == [
        Row("entity", "truck:dc0.1"),
        Row("order.dispatched_at_s", "24.84 h"),
        Row("order.units", "120"),
        Row("delay.driving_s", "10.08", "min"),
        Row("delay.late_by_s", "42", "s"),
        Row("decided at", "25.00 h"),
        Row("observation.now_s", "25.00 h"),
        Row("observation.queue_veh", "3"),
        Row("action", "1"),
    ]
    on_days = Clock("d", 86_400.0)
    days = entity_rows({"dispatched_at_s": 89_438.0}, None, with_decision=False, clock=on_days)
    assert days == [Row("dispatched_at_s", "day 1 00:50")]
