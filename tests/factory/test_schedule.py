"""The list schedule: a station as one server, orders one after another, released when
they may start and their first station is free."""

from __future__ import annotations

import pytest

from twin.factory.observation import (
    OpenOrder,
    PlanningObservation,
    ProductPlanView,
    StationPlanView,
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


def test_an_order_not_ready_yet_does_not_hold_up_one_that_is():
    later = OBS._replace(orders=(ORDERS[0]._replace(ready_s=10_000.0), ORDERS[2]))
    releases = list_schedule(later, fifo_key)
    assert [(r.order, r.release_s) for r in releases] == [(2, 0.0), (0, 10_000.0)]


def test_released_work_delays_the_first_release():
    busy = OBS._replace(stations=(STATION[0]._replace(backlog_s=3000.0),))
    assert list_schedule(busy, fifo_key)[0].release_s == pytest.approx(1500.0)


def test_a_changeover_counts_when_the_product_changes():
    products = (*PRODUCTS, ProductPlanView("B", ("cut",), (100.0,)))
    station = (STATION[0]._replace(setup_s=600.0),)
    orders = (ORDERS[2], ORDERS[2]._replace(number=3, product="B"))
    obs = OBS._replace(orders=orders, stations=station, products=products)
    releases = list_schedule(obs, fifo_key)
    # 10 parts x 100 s + 600 s changeover, over two machines, for each order.
    assert [r.planned_done_s for r in releases] == pytest.approx([800.0, 1600.0])
