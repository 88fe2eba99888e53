"""Make-to-order production: the order book, releases, changeovers, scrap made again,
and a plan that comes true when nothing disturbs it."""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import pytest

from twin.core.policy import BasePolicy, InvalidActionError
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.factory.config import deterministic_orders_params
from twin.factory.domain import DOMAIN
from twin.factory.observation import (
    OpenOrder,
    PlanningAction,
    PlanningObservation,
    Release,
    check_planning_action,
)
from twin.factory.plant import Plant

DAY = 86_400.0


def _plant(policy: Any, horizon_s: float, **params: Any) -> Plant:
    config = ScenarioConfig(id="factory/orders-small-v0", horizon_s=horizon_s, params=params)
    run = prepare_run(config, policy, seed=3)
    run.world.run(horizon_s)
    plant: Plant = DOMAIN.model_of(run.world)
    return plant


class ReleaseAllNow(BasePolicy[PlanningObservation, PlanningAction]):
    """Every open order that is ready, now, by number."""

    id: ClassVar[str] = "test/release-all-now-v0"
    domain: ClassVar[str] = "factory.planning"

    def act(self, obs: PlanningObservation) -> PlanningAction:
        ready = [o for o in obs.orders if o.ready_s <= obs.now_s]
        return PlanningAction(tuple(Release(o.number, obs.now_s) for o in ready))


def test_the_book_holds_the_orders_released_within_its_horizon_by_release_date() -> None:
    plant = _plant("planning/fifo-v0", 1.0)
    assert plant.order_book is not None
    orders = plant.order_book.orders
    assert orders
    assert [o.number for o in orders] == list(range(len(orders)))
    assert [o.ready_s for o in orders] == sorted(o.ready_s for o in orders)
    assert all(0 < o.ready_s < DAY and 2 <= o.quantity <= 8 for o in orders)
    assert all(4 * 3600 <= o.due_s - o.ready_s <= 12 * 3600 for o in orders)
    again = _plant("planning/edd-v0", 1.0).order_book
    assert again is not None
    assert [(o.ready_s, o.quantity, o.due_s) for o in again.orders] == [
        (o.ready_s, o.quantity, o.due_s) for o in orders
    ]


def test_a_changeover_is_made_each_time_a_machine_changes_product() -> None:
    # Two days (a second epoch releases the rest of the book) with every machine setting
    # up for the product of its first part, and again at every change.
    params = deterministic_orders_params()
    plant = _plant(ReleaseAllNow(), 2 * DAY, **params)
    book = plant.order_book
    assert book is not None
    assert all(not math.isnan(o.done_s) for o in book.orders)
    products = [o.product for o in sorted(book.orders, key=lambda o: o.number)]
    changes = 1 + sum(1 for a, b in itertools.pairwise(products) if a != b)
    assert plant.setups == 2 * changes  # both stations see the same sequence
    assert plant.setup_total_s == changes * (900.0 + 300.0)
    assert plant.kpis()["setup_h"].value == pytest.approx(changes * 1200.0 / 3600.0)


def test_a_scrapped_part_of_an_order_is_made_again() -> None:
    stations = deterministic_orders_params()["stations"]
    scrappy = [{**s, "defect_rate_new": 0.3, "defect_rate_worn": 0.3} for s in stations]
    plant = _plant("planning/edd-v0", 2 * DAY, stations=scrappy)
    book = plant.order_book
    assert book is not None
    assert plant.scrapped.count > 0
    assert all(o.good == o.quantity for o in book.orders if not math.isnan(o.done_s))
    assert plant.finished.count == sum(o.good for o in book.orders)
    assert DOMAIN.check_world(plant.world) == []


def test_without_disturbances_the_mip_plan_comes_true_within_its_gap() -> None:
    plant = _plant("planning/mip-v0", 2 * DAY, **deterministic_orders_params())
    book = plant.order_book
    assert book is not None
    assert book.fallbacks == 0
    for order in book.orders:
        assert order.done_s <= order.planned_done_s + 1e-6, order
    kpis = plant.kpis()
    assert kpis["orders_done"].value == kpis["orders"].value
    planned = kpis["planned_tardiness_h"].value
    gap = kpis["planning_mip_gap"].value
    assert kpis["tardiness_h"].value <= planned * (1 + gap) + 1e-9
    assert kpis["plan_gap_h"].value <= 1e-9


def test_an_unfinished_order_counts_its_tardiness_so_far() -> None:
    plant = _plant(ReleaseAllNow(), 2 * DAY, **deterministic_orders_params())
    book = plant.order_book
    assert book is not None
    order = book.orders[0]
    order.done_s = math.nan
    assert order.tardiness_s(order.due_s + 100.0) == 100.0
    assert order.tardiness_s(order.due_s - 100.0) == 0.0


OBS = PlanningObservation(
    1000.0, DAY, (OpenOrder(4, "A", 3, 2000.0, 9000.0), OpenOrder(7, "B", 2, 0.0, 5000.0)), (), ()
)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("release", "expected PlanningAction"),
        (PlanningAction([Release(4, 2000.0)]), "must be a tuple"),  # type: ignore[arg-type]
        (PlanningAction(((4, 2000.0),)), "is not a Release"),  # type: ignore[arg-type]
        (PlanningAction((Release(5, 2000.0),)), "order 5 is not open (open: 4, 7)"),
        (PlanningAction((Release(7, 1000.0), Release(7, 1500.0))), "released twice"),
        (PlanningAction((Release(4, 1500.0),)), "before now (1000.0 s) or its release date"),
        (PlanningAction((Release(7, 500.0),)), "before now"),
        (PlanningAction((Release(7, math.inf),)), "finite"),
        (PlanningAction(mip_gap=-1.0), "mip_gap must be"),
    ],
)
def test_the_checker_names_what_is_wrong(action: object, reason: str) -> None:
    with pytest.raises(InvalidActionError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_planning_action(action, OBS, "p")


def test_the_checker_passes_a_valid_plan_on() -> None:
    action = PlanningAction((Release(7, 1000.0, 3000.0), Release(4, 2000.0)))
    assert check_planning_action(action, OBS, "p") == list(action.releases)
