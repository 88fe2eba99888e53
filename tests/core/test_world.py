"""The world: SimPy's clock under a Mesa model, with warm-up and display ticks."""

import functools
import math

import mesa
import pytest
import simpy

from twin.core.ledger import EmissionFactor
from twin.core.run import prepare_run, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.watchdog import watching
from twin.core.world import World, callback_owner, timeout_at


def test_step_advances_the_clock_by_one_display_tick():
    world = World(seed=1, tick_s=30.0)
    world.step()
    world.step()
    assert world.now_s == 60.0
    assert world.steps == 2  # Mesa's own step counter


def test_run_resets_statistics_and_ledger_at_the_end_of_warmup():
    world = World(seed=1)
    arrivals = world.probes.counter("arrivals")
    meter = world.power_meter("M1", {"on": 3.6}, "on")

    def arrive():
        while True:
            yield world.env.timeout(1.0)
            arrivals.add()

    world.env.process(arrive())
    world.run(until_s=100.5, warmup_s=50.5)
    assert arrivals.count == 50  # arrivals at 51..100
    assert world.ledger.energy_kwh() == pytest.approx(3.6 * 50 / 3600)
    assert meter.state == "on"


def test_run_refuses_to_go_back_in_time_or_warm_up_past_the_horizon():
    world = World(seed=1)
    world.run(10.0)
    with pytest.raises(ValueError, match="back in time"):
        world.run(5.0)
    with pytest.raises(ValueError, match="warm-up"):
        World(seed=1).run(10.0, warmup_s=10.0)


def test_agents_are_mesa_agents_and_mesa_randomness_is_seeded():
    def shuffled(seed):
        world = World(seed=seed)
        for _ in range(20):
            mesa.Agent(world)
        return [agent.unique_id for agent in world.agents.shuffle()]

    assert shuffled(5) == shuffled(5)
    assert shuffled(5) != shuffled(6)


def test_a_grid_profile_charges_each_hour_its_own_intensity_through_a_meter():
    profile = EmissionFactor(
        carrier="electricity",
        unit="kWh",
        kg_co2e_per_unit=tuple(1.0 if h < 12 else 0.0 for h in range(24)),
        source="test: dirty mornings, clean afternoons",
    )
    world = World(seed=1, factors={"electricity": profile})
    world.power_meter("M1", {"on": 1.0}, "on")  # 1 kW all day
    world.run(until_s=86_400.0)
    assert world.ledger.energy_kwh() == pytest.approx(24.0)
    assert world.ledger.co2e_kg() == pytest.approx(12.0)


def test_progress_reports_every_percent_and_changes_nothing():
    def simulate_queue(progress):
        world = World(seed=3)
        level = world.probes.level("in_system")
        rng = world.streams["arrivals"]

        def arrive():
            while True:
                yield world.env.timeout(rng.exponential(1.0))
                level.add(1)
                world.env.process(leave())

        def leave():
            yield world.env.timeout(rng.exponential(0.8))
            level.add(-1)

        world.env.process(arrive())
        world.run(until_s=5_000.0, warmup_s=250.0, progress=progress)
        return level.mean()

    seen: list[float] = []
    assert simulate_queue(seen.append) == simulate_queue(None)
    assert seen[0] == pytest.approx(0.01)
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len(seen) == 100  # the warm-up stop falls on a percent mark here


def test_advancing_in_steps_is_the_same_run_as_one_run() -> None:
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=20_000.0, warmup_s=3_000.0)
    straight = simulate(config, "admission/admit-all-v0", 4)
    stepped = prepare_run(config, "admission/admit-all-v0", 4)
    for until_s in (1_000.0, 3_000.0, 3_000.0, 11_111.1, 20_000.0):
        stepped.world.advance(until_s, config.warmup_s)
    stepped.world.finish()
    assert stepped.result(wall_s=0.0).kpi_frame().equals(straight.kpi_frame())


def test_a_policy_added_while_the_world_is_watched_is_watched_from_then_on():
    class Doubles:
        id = "test/doubles"

        def act(self, obs: int) -> int:
            return 2 * obs

    world = World(0)
    early, late = Doubles(), Doubles()
    world.add_policy(early)
    world.add_policy(early)  # once only
    assert world.policies == [early]
    with watching("test/run", 5.0) as decisions:
        world.watch_policies(decisions)
        world.add_policy(late)
        assert early.act(1) + late.act(2) == 6
        assert decisions.count == 4  # two decisions, each counted in and out
        world.watch_policies(None)
    assert "act" not in vars(early)
    assert "act" not in vars(late)


def test_the_owner_of_a_callback_is_the_object_its_method_belongs_to():
    class Holder:
        def method(self, event: object) -> None:
            pass

    holder = Holder()
    assert callback_owner(holder.method) is holder
    assert callback_owner(functools.partial(holder.method)) is holder
    assert callback_owner(lambda event: None) is None

    def plain(event: object) -> None:
        pass

    assert callback_owner(functools.partial(plain, None)) is None


def test_an_event_fires_at_exactly_the_time_asked_where_no_delay_reaches_it():
    start, end = 28.300000000000132, 99.69999999999861  # where 0.1 s ticks' sums fall
    assert all(start + d != end for d in _delays_around(end - start))
    env = simpy.Environment(initial_time=start)
    fired = []
    event = timeout_at(env, end)
    event.callbacks.append(lambda _: fired.append(env.now))
    env.run()
    assert fired == [end]


def test_an_event_at_a_time_a_delay_reaches_is_simpys_timeout_and_none_goes_back():
    env = simpy.Environment(initial_time=1.0)
    assert isinstance(timeout_at(env, 3.5), simpy.events.Timeout)
    with pytest.raises(ValueError, match="before now"):
        timeout_at(env, 0.5)


def _delays_around(delay: float, ulps: int = 8) -> list[float]:
    out = [delay]
    for direction in (math.inf, -math.inf):
        d = delay
        for _ in range(ulps):
            d = math.nextafter(d, direction)
            out.append(d)
    return out
