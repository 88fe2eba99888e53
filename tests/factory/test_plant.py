"""The plant: conservation, states, crew capacity, and behaviour known from theory."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.maintenance.fixed_interval import FixedInterval, FixedIntervalParams
from models.maintenance.run_to_failure import RunToFailure
from twin.core.distributions import Deterministic, Exponential, Gamma
from twin.core.errors import ConfigError
from twin.core.policy import BasePolicy, InvalidActionError, PolicyContext
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.core.world import World
from twin.factory.config import (
    CrewSpec,
    DegradationSpec,
    FlowLineParams,
    PlantParams,
    ProductSpec,
    StationSpec,
)
from twin.factory.kernels import first_passage_mean_reflected_s
from twin.factory.observation import MACHINE_STATES, MaintenanceObservation
from twin.factory.scenario import FlowLine


def run_plant(params: PlantParams, policy: Any, seed: int, horizon_s: float, warmup_s: float = 0.0):
    scenario = FlowLine(params)
    world = World(seed)
    policy.reset(PolicyContext("factory/flowline-v0", world.streams["policy.test"]))
    scenario.build(world, policy)
    world.run(horizon_s, warmup_s)
    return scenario.plant, world


def line(stations: list[StationSpec], interarrival_s: float = 90.0, **extra: Any) -> PlantParams:
    return PlantParams(
        products=[
            ProductSpec(
                name="p",
                route=[s.name for s in stations],
                interarrival=Exponential(mean=interarrival_s),
            )
        ],
        stations=stations,
        **extra,
    )


def test_parts_are_conserved_and_every_machine_is_in_exactly_one_state():
    plant, world = run_plant(FlowLineParams(), RunToFailure(), seed=1, horizon_s=30 * 86_400)
    assert plant.released.count == plant.finished.count + plant.scrapped.count + plant.wip.level
    assert plant.failures.count > 0
    for machine in plant.machines:
        assert machine.state in MACHINE_STATES
        assert sum(machine.meter.time_in_state_s.values()) == pytest.approx(world.now_s)
    assert plant.crew.busy.maximum <= plant.params.crew.technicians


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.lists(st.tuples(st.integers(1, 2), st.integers(0, 3)), min_size=1, max_size=3),
    technicians=st.integers(1, 2),
    seed=st.integers(0, 10_000),
)
def test_invariants_hold_on_generated_lines(shape, technicians, seed):
    stations = [
        StationSpec(
            name=f"s{i}",
            machines=machines,
            buffer=places,
            processing=Gamma(mean=50.0 * machines, cv=0.5),
            degradation=DegradationSpec(drift_per_h=1 / 20),  # many failures in a short run
        )
        for i, (machines, places) in enumerate(shape)
    ]
    params = line(stations, interarrival_s=60.0, crew=CrewSpec(technicians=technicians))
    plant, world = run_plant(
        params, FixedInterval(FixedIntervalParams(interval_h=10)), seed, 3 * 86_400
    )
    assert plant.released.count == plant.finished.count + plant.scrapped.count + plant.wip.level
    assert plant.crew.busy.maximum <= technicians
    assert all(buffer.held <= buffer.capacity for buffer in plant.buffers)
    for machine in plant.machines:
        assert sum(machine.meter.time_in_state_s.values()) == pytest.approx(world.now_s)
    assert (plant.health >= 0).all()


def test_availability_of_a_saturated_machine_is_mtbf_over_mtbf_plus_mttr():
    # Alternating renewal process: long-run availability = E[up] / (E[up] + E[down])
    # whatever the distributions; the machine never starves (arrivals = capacity).
    mtbf_h, lead_h, repair_h = 20.0, 1.0, 2.0
    station = StationSpec(
        name="m",
        processing=Deterministic(value=600.0),
        buffer=1_000_000,
        # Stress 1 at full load: operating temperature equals the rated one, no wear heating.
        degradation=DegradationSpec(
            drift_per_h=1 / mtbf_h, volatility=0.5, temp_ref_c=42.0, temp_rise_wear_c=0.0
        ),
    )
    params = line(
        [station],
        degradation_step_s=60.0,
        crew=CrewSpec(
            technicians=1,
            repair=Exponential(mean=repair_h * 3600),
            spare_part_lead=Exponential(mean=lead_h * 3600),
        ),
    ).model_copy(
        update={
            "products": [
                ProductSpec(name="p", route=["m"], interarrival=Deterministic(value=300.0))
            ]
        }
    )
    plant, _ = run_plant(params, RunToFailure(), seed=3, horizon_s=4_000 * 3600.0)
    kpis = plant.kpis()
    drift = 1 / mtbf_h / 3600
    life_h = first_passage_mean_reflected_s(drift, 0.5 * drift**0.5, dt_s=60.0) / 3600
    theory = life_h / (life_h + lead_h + repair_h)
    assert kpis["unplanned_failures"].value > 120
    assert kpis["mtbf_h"].value == pytest.approx(life_h, rel=0.08)
    assert kpis["mttr_h"].value == pytest.approx(lead_h + repair_h, rel=0.15)
    assert kpis["availability"].value == pytest.approx(theory, abs=0.015)


def blocked_share(buffer_places: int) -> float:
    stations = [
        StationSpec(name="a", processing=Exponential(mean=60.0), buffer=100),
        StationSpec(name="b", processing=Exponential(mean=60.0), buffer=buffer_places),
    ]
    plant, world = run_plant(
        line(stations, interarrival_s=70.0), RunToFailure(), seed=5, horizon_s=200_000
    )
    first = plant.machines[0].meter.time_in_state_s
    return first["blocked"] / world.now_s


def test_smaller_buffers_block_the_upstream_machine_more():
    shares = [blocked_share(places) for places in (0, 2, 10)]
    assert shares[0] > shares[1] > shares[2]
    assert shares[0] > 0.1


def test_littles_law_holds_for_wip():
    plant, world = run_plant(
        FlowLineParams(), RunToFailure(), seed=7, horizon_s=60 * 86_400, warmup_s=2 * 86_400
    )
    span = world.now_s - world.warmup_s
    exits_per_s = (plant.finished.count + plant.scrapped.count) / span
    assert plant.wip.mean() == pytest.approx(exits_per_s * plant.lead_time.mean, rel=0.05)


def test_maintaining_often_prevents_failures_on_the_same_random_numbers():
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=60 * 86_400, warmup_s=86_400)
    rtf = simulate(config, "maintenance/run-to-failure-v0", seed=11).kpis
    fixed = simulate(
        config, "maintenance/fixed-interval-v0", seed=11, policy_params={"interval_h": 100}
    ).kpis
    assert rtf["preventive_actions"].value == 0
    assert fixed["preventive_actions"].value > 0
    assert fixed["unplanned_failures"].value < 0.5 * rtf["unplanned_failures"].value


def test_condition_based_maintenance_acts_on_vibration():
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=60 * 86_400)
    kpis = simulate(config, "maintenance/condition-based-v0", seed=11).kpis
    assert kpis["preventive_actions"].value > 0


class Nonsense(BasePolicy[MaintenanceObservation, Any]):
    id = "test/nonsense-v0"
    domain = "factory.maintenance"

    def act(self, obs: MaintenanceObservation) -> Any:
        return {"maintain": "maybe"}


def test_an_invalid_maintenance_action_names_the_policy():
    config = ScenarioConfig(id="factory/flowline-v0", horizon_s=86_400)
    with pytest.raises(InvalidActionError, match="'test/nonsense-v0' returned invalid action"):
        simulate(config, Nonsense(), seed=1)


def test_a_route_to_an_unknown_station_is_a_config_error():
    config = ScenarioConfig(
        id="factory/flowline-v0",
        horizon_s=86_400,
        params={"products": [{"name": "p", "route": ["saw", "lathe"]}]},
    )
    with pytest.raises(ConfigError, match="routes to unknown station 'lathe'; stations: saw, mill"):
        simulate(config, "maintenance/run-to-failure-v0", seed=1)


def test_a_negative_buffer_is_a_config_error():
    config = ScenarioConfig(
        id="factory/flowline-v0",
        horizon_s=86_400,
        params={
            "stations": [{"name": "saw", "buffer": -1}],
            "products": [{"name": "p", "route": ["saw"]}],
        },
    )
    with pytest.raises(
        ConfigError,
        match=r"scenario.params.stations.0.buffer: Input should be greater than or equal to 0",
    ):
        simulate(config, "maintenance/run-to-failure-v0", seed=1)


def test_the_job_shop_carries_every_part_by_agv_and_conserves_parts():
    from twin.factory.config import JobShopParams
    from twin.factory.scenario import JobShop

    scenario = JobShop(JobShopParams())
    world = World(seed=2)
    policy = RunToFailure()
    policy.reset(PolicyContext("factory/jobshop-agv-v0", world.streams["policy.test"]))
    scenario.build(world, policy)
    world.run(3 * 86_400)
    plant = scenario.plant
    fleet = plant.fleet
    assert fleet is not None
    assert plant.released.count == plant.finished.count + plant.scrapped.count + plant.wip.level
    # Good parts travel route length + 1 legs (in, between stations, out); scrap fewer.
    assert fleet.delivered_total >= plant.finished.count * 4
    assert all(buffer.held + buffer.reserved <= buffer.capacity for buffer in plant.buffers)
    kpis = plant.kpis()
    assert 0 < kpis["agv_utilisation"].value < 1
    assert 0 < kpis["agv_empty_travel_share"].value < 1
    assert kpis["agv_charging_kwh"].value > 0


def test_a_station_at_an_unknown_node_is_a_config_error():
    config = ScenarioConfig(
        id="factory/jobshop-agv-v0",
        horizon_s=86_400,
        params={"sink_node": "loading-dock"},
    )
    with pytest.raises(ConfigError, match="sink_node is at unknown node 'loading-dock'"):
        simulate(config, "maintenance/run-to-failure-v0", seed=1)


def test_agv_served_stations_need_a_buffer_place():
    from twin.factory.config import _jobshop_stations

    stations = [s.model_dump() for s in _jobshop_stations()]
    stations[0]["buffer"] = 0
    config = ScenarioConfig(
        id="factory/jobshop-agv-v0", horizon_s=86_400, params={"stations": stations}
    )
    with pytest.raises(
        ConfigError, match="station 'lathe' is served by AGVs and needs buffer >= 1"
    ):
        simulate(config, "maintenance/run-to-failure-v0", seed=1)
