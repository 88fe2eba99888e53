"""The planning decision as a learning agent sees it: a bounded vector of the order book
and the plant, a choice of release rule, and tardiness as the reward."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.planning.rules import Edd, Fifo, Spt
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.factory.domain import DOMAIN
from twin.factory.kit import planning_edge_cases
from twin.factory.planning_learning import (
    TARDINESS,
    planning_learning,
)
from twin.factory.plant import Plant


def _plant(horizon_s: float, **params: Any) -> Plant:
    config = ScenarioConfig(id="factory/orders-small-v0", horizon_s=horizon_s, params=params)
    run = prepare_run(config, "planning/edd-v0", seed=5)
    run.world.run(horizon_s)
    plant: Plant = DOMAIN.model_of(run.world)
    return plant


def test_every_edge_case_encodes_inside_the_space() -> None:
    learning = planning_learning()
    plant = _plant(3600.0)
    space = learning.observation_space(plant, "plant")
    for case in planning_edge_cases():
        vector = learning.encode(plant, case)
        assert vector.dtype == np.float32
        assert space.contains(vector), (case, vector)


def test_the_vector_reads_the_order_book() -> None:
    learning = planning_learning()
    plant = _plant(3600.0)
    late, _, flood = planning_edge_cases()[1:4]
    # The one open order is past due (and so due before the next epoch).
    vector = learning.encode(plant, late)
    assert vector[3] == 1.0
    assert vector[4] == 1.0
    assert learning.encode(plant, flood)[1] == 2.0  # far beyond a day's capacity: clipped


def test_each_choice_is_the_plan_of_its_rule() -> None:
    learning = planning_learning()
    plant = _plant(3600.0)
    case = planning_edge_cases()[-1]
    assert learning.agents(plant) == ("plant",)
    assert learning.action_space(plant, "plant").n == 3
    for index, rule in enumerate((Fifo(), Edd(), Spt())):
        assert learning.decode(plant, case, index) == rule.act(case)


def test_the_reward_is_the_tardiness_the_orders_accumulated() -> None:
    # Orders due 10 to 30 minutes after release: most finish late.
    due_soon = {"kind": "uniform", "low": 600.0, "high": 1800.0}
    streams = [{"product": name, "due_after": due_soon} for name in ("A", "B")]
    plant = _plant(2 * 86_400.0, orders={"streams": streams, "horizon_s": 86_400.0})
    book = plant.order_book
    assert book is not None
    now = plant.world.now_s
    expected = sum(order.tardiness_s(now) for order in book.orders) / 3600.0
    assert expected > 0
    assert TARDINESS.measure(plant.world, plant, None) == expected
    assert TARDINESS.value(before=2.0, now=5.0) == -3.0
