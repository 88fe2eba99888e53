"""``traffic.signals`` as a learning agent sees it: sumo-rl's observation, actions and
rewards on twin's grids (twin/traffic/learning.py)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.rl.episode import EnvConfigError
from twin.rl.parallel import TwinParallelEnv
from twin.traffic.city import City
from twin.traffic.domain import SIGNALS
from twin.traffic.kernels import DRIVING
from twin.traffic.learning import DECISION_STEP_S, MIN_GAP_M, REWARDS, signal_learning
from twin.traffic.observation import SignalAction
from twin.traffic.sumo_tools import generate_grid

LEARNING = signal_learning()
GRID = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=600.0, tick_s=60.0)
IDS = [f"J{r}_{c}" for r in range(4) for c in range(4)]
"""twin's 4x4 grid: junction ``J<row>_<col>``, two green phases, four one-lane approaches
(12 movements: three turns per approach lane)."""


def build(config=GRID, seed=1, run_s=0.0):
    prepared = prepare_run(config, "signals/fixed-time-v0", seed)
    if run_s:
        prepared.world.run(run_s)
    world = prepared.world
    return world, world.the(City)


@pytest.fixture(scope="module")
def empty():
    """The grid before any vehicle has entered."""
    return build()


@pytest.fixture(scope="module")
def busy():
    """The grid after ten minutes of fixed-time control."""
    return build(run_s=600.0)


def observations(city, now_s):
    return [city.observe(i, now_s) for i in range(len(city.signalised))]


def in_space(city, observation):
    space = LEARNING.observation_space(city, SIGNALS.entity_of(observation))
    vector = LEARNING.encode(city, observation)
    return vector.dtype == np.float32 and space.contains(vector)


def test_the_area_points_at_this_interface():
    assert SIGNALS.learning is not None
    assert SIGNALS.learning().rewards is REWARDS


def test_agents_are_the_signalised_intersections_named_as_the_area_names_them(empty):
    _world, city = empty
    agents = LEARNING.agents(city)
    assert agents == tuple(f"intersection:{i}" for i in IDS)
    assert [SIGNALS.entity_of(o) for o in observations(city, 0.0)] == list(agents)


def test_spaces_are_sumo_rls_phases_flag_density_and_queue(empty):
    _world, city = empty
    for agent in LEARNING.agents(city):
        box = LEARNING.observation_space(city, agent)
        # 2 green phases + min-green flag + 4 lanes x (density, queue)
        assert box.shape == (11,)
        assert box.dtype == np.float32
        assert np.all(box.low == 0.0)
        assert np.all(box.high == 1.0)
        assert LEARNING.action_space(city, agent).n == 2


def test_an_empty_network_encodes_phase_zero_before_min_green_and_nothing_on_the_lanes(empty):
    _world, city = empty
    for observation in observations(city, 0.0):
        vector = LEARNING.encode(city, observation)
        expected = np.zeros(11, dtype=np.float32)
        expected[0] = 1.0  # green phase 0 of 2, min-green flag 0 (0 s of 5 s)
        np.testing.assert_array_equal(vector, expected)


def test_one_hot_flag_density_and_queue_on_a_hand_made_observation(empty):
    _world, city = empty
    observation = city.observe(0, 0.0)
    lane_m = city.arrays.lane_length_m[
        city.arrays.mov_from_lane[list(city.signalised[0].movements)]
    ]
    # Movements 3k..3k+2 leave from approach lane k: lane k reads movement 3k's values.
    vehicles = np.array([2.0, 2, 2, 100, 100, 100, 0, 0, 0, 7, 7, 7])
    queue = np.array([1.0, 1, 1, 100, 100, 100, 0, 0, 0, 7, 7, 7])
    hand = observation._replace(phase=1, phase_elapsed_s=5.0, vehicles=vehicles, queue=queue)
    vector = LEARNING.encode(city, hand)
    footprint = MIN_GAP_M + 5.0  # sumo-rl's MIN_GAP + the passenger car's length
    lane = lane_m[[0, 3, 6, 9]]
    density = np.minimum(np.array([2.0, 100, 0, 7]) * footprint / lane, 1.0)
    queued = np.minimum(np.array([1.0, 100, 0, 7]) * footprint / lane, 1.0)
    expected = np.concatenate(([0.0, 1.0], [1.0], density, queued)).astype(np.float32)
    np.testing.assert_allclose(vector, expected, rtol=1e-6)
    assert vector[4] == 1.0  # 100 vehicles overfill the lane: capped
    # Just before min green the flag is 0.
    assert LEARNING.encode(city, hand._replace(phase_elapsed_s=4.9))[2] == 0.0


def test_a_nan_count_reads_empty_and_an_infinite_one_full(empty):
    _world, city = empty
    observation = city.observe(0, 0.0)
    bad = np.repeat([np.nan, np.inf, -np.inf, 1e300], 3)
    vector = LEARNING.encode(city, observation._replace(vehicles=bad, queue=bad))
    np.testing.assert_array_equal(vector[3:], [0.0, 1.0, 0.0, 1.0] * 2)


def test_a_busy_network_encodes_what_the_lanes_hold(busy):
    world, city = busy
    now = float(world.env.now)
    for i, observation in enumerate(observations(city, now)):
        vector = LEARNING.encode(city, observation)
        assert in_space(city, observation)
        from_lane = city.arrays.mov_from_lane[list(city.signalised[i].movements)]
        lanes = list(dict.fromkeys(from_lane.tolist()))  # link-index order of first use
        scale = (MIN_GAP_M + 5.0) / city.arrays.lane_length_m[lanes]
        np.testing.assert_allclose(
            vector[3:7], np.minimum(city.lanes.count[lanes] * scale, 1.0), rtol=1e-6
        )
        np.testing.assert_allclose(
            vector[7:], np.minimum(city.lanes.halting[lanes] * scale, 1.0), rtol=1e-6
        )
    assert any(LEARNING.encode(city, o)[3:].sum() > 0 for o in observations(city, now))


def test_every_edge_case_encodes_inside_its_space(empty):
    _world, city = empty
    for observation in SIGNALS.edge_cases():
        assert in_space(city, observation)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observation=SIGNALS.observations())
def test_generated_observations_encode_inside_the_space_and_every_index_is_accepted(
    empty, observation
):
    _world, city = empty
    # Generated observations name junctions of several networks; ours has J0_0 and J3_2.
    if observation.intersection_id not in IDS:
        observation = observation._replace(intersection_id="J0_0")
    assert in_space(city, observation)
    for index in range(LEARNING.action_space(city, SIGNALS.entity_of(observation)).n):
        action = LEARNING.decode(city, observation, index)
        SIGNALS.check_action(action, observation, "rl/test")


def test_index_k_shows_green_phase_k_for_the_next_five_seconds(empty):
    _world, city = empty
    two_phases = [o for o in SIGNALS.edge_cases() if len(o.green_s) == 2]
    for observation in [*observations(city, 0.0), *two_phases]:
        for k in range(LEARNING.action_space(city, SIGNALS.entity_of(observation)).n):
            action = LEARNING.decode(city, observation, k)
            assert action == SignalAction(k, DECISION_STEP_S)
            assert SIGNALS.check_action(action, observation, "rl/test") == (k, 5.0)


def test_an_index_past_a_hand_made_observations_phases_holds_the_current_phase(empty):
    _world, city = empty
    single = SIGNALS.edge_cases()[2]  # a one-phase programme at J0_0, which has two
    assert len(single.green_s) == 1
    assert LEARNING.decode(city, single, 1) == SignalAction(single.phase, DECISION_STEP_S)


def test_an_intersection_the_city_lacks_is_named_in_the_error(empty):
    _world, city = empty
    observation = city.observe(0, 0.0)._replace(intersection_id="cluster_12_7")
    with pytest.raises(KeyError, match="intersection:cluster_12_7"):
        LEARNING.encode(city, observation)
    with pytest.raises(KeyError, match="intersection:nowhere"):
        LEARNING.observation_space(city, "intersection:nowhere")


def test_rewards_are_sumo_rls_four_with_diff_waiting_time_by_default():
    assert set(REWARDS) == {"diff-waiting-time", "queue", "pressure", "average-speed"}
    assert LEARNING.reward(None).name == "diff-waiting-time"
    waiting = REWARDS["diff-waiting-time"]
    assert (waiting.kind, waiting.scale) == ("drop", 0.01)
    assert waiting.value(before=300.0, now=200.0) == 1.0  # 100 s less waiting: +1
    assert {REWARDS[n].kind for n in ("queue", "pressure", "average-speed")} == {"level"}
    with pytest.raises(KeyError, match="average-speed"):
        LEARNING.reward("cost")


def test_an_empty_network_has_no_queue_no_pressure_no_waiting_and_full_speed(empty):
    world, city = empty
    expected = {"diff-waiting-time": 0.0, "queue": 0.0, "pressure": 0.0, "average-speed": 1.0}
    for name, value in expected.items():
        measure = REWARDS[name].measure
        assert [measure(world, city, a) for a in LEARNING.agents(city)] == [value] * 16
        assert measure(world, city, None) == 16 * value


def _driving_on(city, lanes):
    veh = city.veh
    return np.flatnonzero((veh.state == DRIVING) & np.isin(veh.lane, lanes))


def test_rewards_after_ten_minutes_read_the_vehicles_on_each_junctions_lanes(busy):
    world, city = busy
    veh, arrays = city.veh, city.arrays
    agents = LEARNING.agents(city)
    measures = {name: [r.measure(world, city, a) for a in agents] for name, r in REWARDS.items()}
    for name, values in measures.items():
        assert all(math.isfinite(v) for v in values)
        # The whole city's measure is the sum of the junctions' (incoming lanes are disjoint).
        assert REWARDS[name].measure(world, city, None) == pytest.approx(sum(values))
    for k, inter in enumerate(city.signalised):
        movements = list(inter.movements)
        incoming = np.unique(arrays.mov_from_lane[movements])
        outgoing = np.unique(
            [
                lane
                for e in arrays.mov_to_edge[movements]
                for lane in range(
                    arrays.edge_lane_start[e], arrays.edge_lane_start[e] + arrays.edge_lanes[e]
                )
            ]
        )
        on = _driving_on(city, incoming)
        assert measures["queue"][k] == -np.sum(veh.speed[on] <= 0.1)
        assert measures["diff-waiting-time"][k] == pytest.approx(veh.waiting_s[on].sum())
        assert measures["pressure"][k] == len(_driving_on(city, outgoing)) - len(on)
        allowed = np.minimum(
            arrays.lane_speed_mps[veh.lane[on]] * veh.speed_factor[on], city.vt.vmax[veh.vtype[on]]
        )
        speed = np.mean(veh.speed[on] / allowed) if len(on) else 1.0
        assert measures["average-speed"][k] == pytest.approx(speed)
    assert sum(measures["diff-waiting-time"]) > 0  # someone waited at a red light
    assert sum(measures["queue"]) < 0
    assert all(0.0 <= s <= 1.0 for s in measures["average-speed"])


def test_the_waiting_read_once_per_instant_follows_the_city_as_it_moves_on():
    world, city = build(run_s=300.0)
    agent = LEARNING.agents(city)[5]
    incoming = np.unique(city.arrays.mov_from_lane[list(city.signalised[5].movements)])
    waiting = REWARDS["diff-waiting-time"]
    for until_s in (300.0, 360.0, 420.0):
        world.run(until_s)
        exact = float(city.veh.waiting_s[_driving_on(city, incoming)].sum())
        assert waiting.measure(world, city, agent) == exact
        assert waiting.measure(world, city, agent) == exact  # read again at the instant


def test_measures_read_the_world_and_change_nothing(busy):
    world, city = busy
    before = (city.veh.speed.copy(), city.veh.waiting_s.copy(), world.env.now)
    for reward in REWARDS.values():
        reward.measure(world, city, None)
        reward.measure(world, city, LEARNING.agents(city)[5])
    after = (city.veh.speed, city.veh.waiting_s, world.env.now)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2] == after[2]


def test_a_mixed_fleet_counts_each_lanes_mean_vehicle_length_as_sumo_does():
    config = ScenarioConfig(
        id="traffic/grid4x4-v0",
        horizon_s=300.0,
        params={
            "grid": {"rows": 1, "cols": 1, "lanes": 2},
            "demand": {"rates_per_s": [0.6]},
            "vehicle_types": [{"id": "car"}, {"id": "truck", "length_m": 12.0}],
        },
    )
    world, city = build(config, run_s=300.0)
    observation = city.observe(0, float(world.env.now))
    vector = LEARNING.encode(city, observation)
    assert in_space(city, observation)
    phases = len(observation.green_s)
    movements = list(city.signalised[0].movements)
    lanes = list(dict.fromkeys(city.arrays.mov_from_lane[movements].tolist()))
    assert len(vector) == phases + 1 + 2 * len(lanes)
    veh = city.veh
    for j, lane in enumerate(lanes):
        on = _driving_on(city, [lane])
        length = city.vt.length[veh.vtype[on]]
        mean = length.mean() if len(on) else 0.0
        capacity = city.arrays.lane_length_m[lane] / (MIN_GAP_M + mean)
        assert vector[phases + 1 + j] == pytest.approx(min(len(on) / capacity, 1.0), rel=1e-6)
    assert len({int(t) for t in veh.vtype[_driving_on(city, lanes)]}) == 2  # both types seen


# -- many agents at one instant --------------------------------------------------------------

MIXED_GRID = ScenarioConfig(
    id="traffic/grid4x4-v0",
    horizon_s=300.0,
    params={
        "grid": {"rows": 2, "cols": 3, "lanes": 2},
        "demand": {"rates_per_s": [0.5]},
        "vehicle_types": [{"id": "car"}, {"id": "truck", "length_m": 12.0}],
    },
)


@pytest.mark.parametrize("config", [GRID, MIXED_GRID], ids=["one-length", "mixed-fleet"])
def test_a_turn_encoded_at_once_is_each_observation_encoded_alone(config):
    world, city = build(config, run_s=300.0)
    now = float(world.env.now)
    every = observations(city, now)
    # All of them, some in another order, one alone, none.
    for chosen in (every, every[::-2], every[3:4], []):
        together = LEARNING.encode_all(city, chosen)
        assert len(together) == len(chosen)
        for observation, vector in zip(chosen, together, strict=True):
            assert vector.dtype == np.float32
            np.testing.assert_array_equal(vector, LEARNING.encode(city, observation))
    # A hand-made observation with fewer movements than its intersection: as alone too.
    short = every[2]._replace(queue=every[2].queue[:3], vehicles=every[2].vehicles[:3])
    together = LEARNING.encode_all(city, [every[1], short])
    np.testing.assert_array_equal(together[1], LEARNING.encode(city, short))
    np.testing.assert_array_equal(together[0], LEARNING.encode(city, every[1]))
    # NaN and infinite counts, a phase outside the programme: as alone.
    n = len(every[4].queue)
    odd = every[4]._replace(
        vehicles=np.full(n, np.nan), queue=np.full(n, np.inf), phase=len(every[4].green_s)
    )
    pair = [odd, every[0]]
    for observation, vector in zip(pair, LEARNING.encode_all(city, pair), strict=True):
        np.testing.assert_array_equal(vector, LEARNING.encode(city, observation))


def _same_observation(a, b):
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        else:
            assert x == y


@pytest.mark.parametrize("config", [GRID, MIXED_GRID], ids=["one-length", "mixed-fleet"])
def test_a_citys_turn_is_its_observations_encoded_and_decoded_as_each_alone(config):
    world, city = build(config, run_s=300.0)
    now = float(world.env.now)
    n = len(city.signalised)
    # All of them (read in one gather), some in another order, one alone (read alone).
    for chosen in (np.arange(n), np.arange(n)[::-2].copy(), np.array([n - 1])):
        turn = city.observe_turn(chosen, now)
        alone = [city.observe(int(i), now) for i in chosen]
        assert len(turn) == len(chosen)
        assert list(turn.entities) == [SIGNALS.entity_of(o) for o in alone]
        for observation, expected in zip(turn, alone, strict=True):
            _same_observation(observation, expected)
        for vector, expected in zip(LEARNING.encode_all(city, turn), alone, strict=True):
            np.testing.assert_array_equal(vector, LEARNING.encode(city, expected))
        # Every index of each action space, and one past it (the current phase holds).
        for index in range(max(len(o.green_s) for o in alone) + 1):
            decoded = LEARNING.decode_all(city, turn, [index] * len(turn))
            assert list(decoded) == [LEARNING.decode(city, o, index) for o in alone]


def test_a_turns_observations_keep_the_instant_after_the_lights_move_on(busy):
    world, city = busy
    now = float(world.env.now)
    turn = city.observe_turn(np.arange(len(city.signalised)), now)
    phase_then, started = city.signals.phase.copy(), city.signals.green_start_s.copy()
    city.signals.phase[:] = (city.signals.phase + 1) % 2
    city.signals.green_start_s[:] = now
    try:
        assert [o.phase for o in turn] == phase_then.tolist()
        assert [o.phase_elapsed_s for o in turn] == (now - started).tolist()
    finally:
        city.signals.phase[:], city.signals.green_start_s[:] = phase_then, started


@pytest.mark.parametrize("config", [GRID, MIXED_GRID], ids=["one-length", "mixed-fleet"])
def test_every_reward_measures_many_agents_at_once_as_each_alone(config):
    world, city = build(config, run_s=240.0)
    agents = LEARNING.agents(city)
    for until_s in (240.0, 300.0):
        world.run(until_s)
        for name, reward in REWARDS.items():
            assert reward.measure_each is not None, name
            chosen = [agents[-1], *agents[:-1:2]]
            alone = [reward.measure(world, city, a) for a in chosen]
            assert reward.measures(world, city, chosen) == alone, name
    assert any(REWARDS["diff-waiting-time"].measures(world, city, agents))  # someone waited
    with pytest.raises(KeyError, match="intersection:nowhere"):
        REWARDS["queue"].measures(world, city, ["intersection:nowhere"])


@pytest.mark.slow
@pytest.mark.parametrize("network", ["grid4x4", "arterial4x4"])
def test_on_resco_networks_the_spaces_lanes_and_out_lanes_are_sumo_rls(network, monkeypatch):
    """sumo-rl's own TrafficSignal (on SUMO) and twin's interface (on twin's import of the
    same files) give every agent the same phases, incoming lanes in the same order and the
    same outgoing lanes, and SUMO's lane counts encoded by twin are sumo-rl's vector."""
    from twin.traffic.sumo_tools import resco_configs, sumo_home

    pytest.importorskip("sumo")  # eclipse-sumo, then sumo-rl (which needs SUMO_HOME set)
    monkeypatch.setenv("SUMO_HOME", str(sumo_home()))
    pytest.importorskip("sumo_rl")
    import sumolib
    from sumo_rl.environment.env import SumoEnvironment

    sumocfg = resco_configs()[network]
    config = ScenarioConfig(
        id="traffic/sumo-net-v0", horizon_s=60.0, params={"sumocfg": str(sumocfg)}
    )
    _world, city = build(config)
    net_file = next(sumocfg.parent.glob("*.net.xml"))
    route_file = next(sumocfg.parent.glob("*.rou.xml"))
    env = SumoEnvironment(
        net_file=str(net_file), route_file=str(route_file), num_seconds=400, sumo_warnings=False
    )
    try:
        env.reset()
        for _ in range(40):  # 200 s of SUMO under sumo-rl, every agent holding phase 0
            env.step({ts: 0 for ts in env.ts_ids})
        signals, sumo = env.traffic_signals, env.sumo
        net = sumolib.net.readNet(str(net_file))
        lane_id = {}  # twin's lane number -> SUMO's lane id (twin keeps the car lanes)
        for e, edge in enumerate(city.network.edges):
            car_lanes = [x for x in net.getEdge(edge.id).getLanes() if x.allows("passenger")]
            for k in range(edge.lanes):
                lane_id[city.network.lane(e, k)] = car_lanes[k].getID()
        agents = LEARNING.agents(city)
        assert sorted(agents) == sorted(f"intersection:{ts}" for ts in signals)
        seen = 0
        for k, agent in enumerate(agents):
            ts = signals[agent.removeprefix("intersection:")]
            box = LEARNING.observation_space(city, agent)
            assert box.shape == ts.observation_space.shape
            assert LEARNING.action_space(city, agent) == ts.action_space
            movements = list(city.signalised[k].movements)
            from_lane = [lane_id[int(x)] for x in city.arrays.mov_from_lane[movements]]
            assert list(dict.fromkeys(from_lane)) == ts.lanes
            # SUMO's lane counts in twin's observation encode as sumo-rl's observation.
            sumo_counts = city.observe(k, 0.0)._replace(
                phase=ts.green_phase,
                vehicles=np.array([sumo.lane.getLastStepVehicleNumber(x) for x in from_lane]),
                queue=np.array([sumo.lane.getLastStepHaltingNumber(x) for x in from_lane]),
            )
            ours, theirs = LEARNING.encode(city, sumo_counts), ts.compute_observation()
            phases = ts.num_green_phases
            np.testing.assert_array_equal(ours[:phases], theirs[:phases])
            np.testing.assert_allclose(ours[phases + 1 :], theirs[phases + 1 :], rtol=1e-5)
            seen += int(np.count_nonzero(theirs[phases + 1 :]))
            outgoing = {
                lane_id[int(x)] for m in city.signalised[k].movements for x in _targets(city, m)
            }
            assert outgoing == set(ts.out_lanes)
        assert seen > 0  # some lanes held vehicles
    finally:
        env.close()


def _targets(city, m):
    arrays = city.arrays
    if arrays.mov_to_lane[m] >= 0:
        return [arrays.mov_to_lane[m]]
    start = arrays.edge_lane_start[arrays.mov_to_edge[m]]
    return range(start, start + arrays.edge_lanes[arrays.mov_to_edge[m]])


def test_an_agent_deciding_through_the_interface_drives_the_grid():
    """Ten minutes of the grid decided from outside (twin.rl.DecisionStream): every
    observation is one of the agents', encodes inside its space, and a phase asked for
    once the min-green flag is 1 is the phase the intersection shows at its next turn."""
    from twin.rl.stream import DecisionStream

    config = GRID.model_copy(update={"horizon_s": 600.0})
    with DecisionStream(config, seed=3) as stream:
        city = stream.world.the(City)
        agents = set(LEARNING.agents(city))
        switch_to: dict[str, int] = {}  # agent -> the phase it last asked to switch to
        switches = 0
        while (observation := stream.next()) is not None:
            agent = SIGNALS.entity_of(observation)
            assert agent in agents
            vector = LEARNING.encode(city, observation)
            assert LEARNING.observation_space(city, agent).contains(vector)
            if agent in switch_to:
                # A switch asked after min green is obeyed: yellow, then that phase.
                assert observation.phase == switch_to.pop(agent)
                switches += 1
            choice = 1 - observation.phase  # always ask for the other phase
            if vector[2] == 1.0:
                switch_to[agent] = choice
            stream.answer(LEARNING.decode(city, observation, choice))
        result = stream.result()
    assert switches > 16
    assert math.isfinite(result.kpis["trips_completed"].value)


@pytest.mark.parametrize(
    ("signals", "says"),
    [
        (True, "adaptive_green_s = [5, 50]"),
        (False, "no decider of 'traffic.signals': the network has no traffic lights"),
    ],
)
def test_a_city_whose_lights_are_never_asked_is_refused_when_the_environment_is_made(
    tmp_path, signals, says
):
    """A user's SUMO network: netgenerate's guessed lights run static programmes (each
    phase's min green = max green), so no controller would ever be asked and an episode
    would have no decision; the environment says so, and what to pass, when it is made.
    With the phases given room, every light is an agent."""
    net = generate_grid(tmp_path / "grid.net.xml", columns=2, rows=2, signals=signals)
    routes = tmp_path / "none.rou.xml"
    routes.write_text("<routes/>\n")
    params = {"net_file": str(net), "route_files": [str(routes)]}
    with pytest.raises(EnvConfigError) as refused:
        TwinParallelEnv("traffic/sumo-net-v0", params=params, horizon_s=60.0)
    assert "\n" not in str(refused.value)
    assert says in str(refused.value)
    if signals:
        env = TwinParallelEnv(
            "traffic/sumo-net-v0", params={**params, "adaptive_green_s": [5, 50]}, horizon_s=60.0
        )
        assert len(env.possible_agents) == 4
        env.close()
