"""The release rules: one list schedule, three orders of preference."""

from __future__ import annotations

import pytest

from models.planning.rules import Edd, Fifo, Spt
from twin.factory.observation import (
    OpenOrder,
    PlanningObservation,
    ProductPlanView,
    StationPlanView,
    check_planning_action,
)

STATION = (StationPlanView("cut", 2, 2, 1.0, 0.0, 0.0),)
PRODUCTS = (ProductPlanView("A", ("cut",), (100.0,)),)
# Three orders all ready at 0 on one station of two machines (one server of rate 2):
# order 0 is the oldest, order 1 due first, order 2 the shortest.
ORDERS = (
    OpenOrder(0, "A", 40, 0.0, 9000.0),
    OpenOrder(1, "A", 20, 0.0, 2500.0),
    OpenOrder(2, "A", 10, 0.0, 5000.0),
)
OBS = PlanningObservation(0.0, 86_400.0, ORDERS, STATION, PRODUCTS)


@pytest.mark.parametrize(
    ("policy", "sequence"), [(Fifo(), [0, 1, 2]), (Edd(), [1, 2, 0]), (Spt(), [2, 1, 0])]
)
def test_each_rule_releases_in_its_order_one_order_after_another(policy, sequence):
    action = policy.act(OBS)
    releases = check_planning_action(action, OBS, policy.id)
    assert [r.order for r in releases] == sequence
    # An order is released when the station has done the one before: work / rate.
    work = {0: 2000.0, 1: 1000.0, 2: 500.0}
    start = 0.0
    for release in releases:
        assert release.release_s == pytest.approx(start)
        start += work[release.order]
        assert release.planned_done_s == pytest.approx(start)
    assert not action.fallback


def test_planned_tardiness_is_what_the_schedule_expects():
    # FIFO: order 1 finishes at 3000 s, 500 s past its due date; the others are early.
    assert Fifo().act(OBS).planned_tardiness_s == pytest.approx(500.0)
    assert Edd().act(OBS).planned_tardiness_s == 0.0
