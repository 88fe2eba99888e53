"""The domain contract: registration, entities found through Mesa's agents, spaces derived
from observation types, which way a KPI is better."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pytest
from gymnasium import spaces

from twin.core.domain import DecisionArea, Domain, Quantity
from twin.core.entity import Entity
from twin.core.registry import Registry, UnknownIdError
from twin.core.scene import SceneFrame, SceneLayout
from twin.core.spaces import space_of
from twin.core.world import World


class Lamp(Entity):
    """The smallest model: one lamp."""

    def __init__(self, world: World) -> None:
        super().__init__(world, "lamp", pos=(1.0, 2.0))
        self.on = False

    def inspect(self) -> dict[str, object]:
        return {"entity": self.name, "on": self.on}


class LampObservation(NamedTuple):
    now_s: float
    colour: str
    bulbs: int
    watts: npt.NDArray[np.float64]
    spare: int | None
    pairs: tuple[tuple[int, float], ...]


class LampAction(NamedTuple):
    on: bool


class LampView:
    def __init__(self, lamp: Lamp) -> None:
        self.layout = SceneLayout(static=(), layers=(), bounds=(0.0, 1.0, 0.0, 1.0))

    def frame(self) -> SceneFrame:
        return SceneFrame(now_s=0.0, points={})


def _no_check(action: object, observation: object, policy_id: str) -> object:
    return action


AREA = DecisionArea(
    name="lamp.switching",
    observation=LampObservation,
    action=LampAction,
    check_action=_no_check,
    entity_of=lambda obs: "lamp",
    edge_cases=list,
    observations=list,
    run_config=lambda ref: (None, None),  # type: ignore[arg-type,return-value]
    observation_fields={
        "now_s": Quantity("s", 0.0),
        "colour": Quantity(choices=("red", "green")),
        "bulbs": Quantity("", 0, 3),
        "watts": Quantity("W", 0.0, 100.0),
    },
)
LAMPS = Domain(
    name="lamps",
    description="a lamp",
    model=Lamp,
    areas=(AREA,),
    invariants=lambda lamp, world: [] if isinstance(lamp.on, bool) else ["not a switch"],
    view=LampView,
    kpis={"light_h": "higher", "cost_total": "higher"},
)


def test_a_registered_domain_is_found_by_its_name_or_by_any_of_its_decision_areas():
    registry = Registry(discover=False)
    registry.register_domain(LAMPS)
    assert registry.domain("lamps") is LAMPS
    assert registry.domain("lamp.switching") is LAMPS
    assert registry.domains() == [LAMPS]
    with pytest.raises(UnknownIdError, match="no registered domain owns 'kettle'"):
        registry.domain("kettle")


def test_a_domain_name_is_registered_once():
    registry = Registry(discover=False)
    registry.register_domain(LAMPS)
    twin = Domain(**{**LAMPS.__dict__})
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_domain(twin)


def test_entities_are_mesa_agents_found_by_name_and_the_model_by_type():
    world = World(seed=0)
    lamp = Lamp(world)
    assert world.entity("lamp") is lamp
    assert world.the(Lamp) is lamp
    assert lamp in world.agents
    assert LAMPS.model_of(world) is lamp
    assert LAMPS.check_world(world) == []
    assert world.entity("lamp").inspect() == {"entity": "lamp", "on": False}
    with pytest.raises(KeyError, match="no entity 'kettle'; this world has lamp"):
        world.entity("kettle")


def test_the_model_must_be_unique():
    world = World(seed=0)
    Lamp(world)
    Lamp(world)
    with pytest.raises(LookupError, match="expected one Lamp in the world, found 2"):
        world.the(Lamp)


def test_entity_ids_are_the_same_on_every_build():
    ids = []
    for _ in range(2):
        world = World(seed=0)
        ids.append([Lamp(world).unique_id for _ in range(3)])
    assert ids[0] == ids[1] == [1, 2, 3]


def test_spaces_follow_the_field_types_and_quantities():
    space = space_of(LampObservation, AREA.observation_fields)
    assert space["now_s"] == spaces.Box(0.0, math.inf, shape=(), dtype=np.float64)
    assert space["colour"] == spaces.Discrete(2)
    assert space["bulbs"] == spaces.Discrete(4, start=0)
    assert isinstance(space["watts"], spaces.Sequence)
    assert space["watts"].feature_space == spaces.Box(0.0, 100.0, shape=(), dtype=np.float64)
    assert space["spare"].dtype == np.int64  # int | None: the space of int, unbounded
    assert space["pairs"] == spaces.Sequence(
        spaces.Tuple(
            (
                spaces.Box(*_int64_range(), shape=(), dtype=np.int64),
                spaces.Box(-math.inf, math.inf, shape=(), dtype=np.float64),
            )
        )
    )
    assert AREA.action_space() == spaces.Dict({"on": spaces.Discrete(2)})


def test_the_domain_says_which_way_a_kpi_is_better_and_the_ledger_covers_money():
    assert LAMPS.better("light_h") == "higher"
    assert LAMPS.better("cost_total") == "higher"  # the domain's word wins
    assert LAMPS.better("co2e_kg") == "lower"
    assert LAMPS.better("cost_energy") == "lower"
    assert LAMPS.better("bulbs") is None


def _int64_range() -> tuple[int, int]:
    info = np.iinfo(np.int64)
    return int(info.min), int(info.max)


def test_a_deferred_function_is_imported_only_when_called():
    import sys

    from twin.core.domain import Deferred

    sys.modules.pop("colorsys", None)
    hls = Deferred("colorsys:rgb_to_hls")
    assert "colorsys" not in sys.modules
    assert hls(1.0, 0.0, 0.0) == (0.0, 0.5, 1.0)
    assert "colorsys" in sys.modules
