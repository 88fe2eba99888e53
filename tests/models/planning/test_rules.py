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
from twin.factory.schedule import fifo_key, list_schedule

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


def test_an_order_not_ready_yet_does_not_hold_up_one_that_is():
    later = OBS._replace(orders=(ORDERS[0]._replace(ready_s=10_000.0), ORDERS[2]))
    releases = list_schedule(later, fifo_key)
    assert [(r.order, r.release_s) for r in releases] == [(2, 0.0), (0, 10_000.0)]


def test_released_work_delays_the_first_release():
    busy = OBS._replace(stations=(STATION[0]._replace(backlog_s=3000.0),))
    assert Fifo().act(busy).releases[0].release_s == pytest.approx(1500.0)


def test_a_changeover_counts_when_the_product_changes():
    products = (*PRODUCTS, ProductPlanView("B", ("cut",), (100.0,)))
    station = (STATION[0]._replace(setup_s=600.0),)
    orders = (ORDERS[2], ORDERS[2]._replace(number=3, product="B"))
    obs = OBS._replace(orders=orders, stations=station, products=products)
    releases = list_schedule(obs, fifo_key)
    # 10 parts x 100 s + 600 s changeover, over two machines, for each order.
    assert [r.planned_done_s for r in releases] == pytest.approx([800.0, 1600.0])
