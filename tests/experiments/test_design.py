"""Design points, run order and the seeds that make arms paired."""

import tomllib

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from experiments.config import (
    FastDesign,
    GridDesign,
    LatinHypercubeDesign,
    ListDesign,
    MorrisDesign,
    SobolDesign,
    parse_experiment,
)
from experiments.design import (
    apply_point,
    design_points,
    plan_runs,
    replication_seed,
    sensitivity_sample,
)
from tests.experiments.support import station_experiment


def test_a_grid_is_the_full_factorial_in_row_major_order():
    grid = GridDesign(kind="grid", factors={"params.servers": [1, 2], "horizon_s": [10, 20, 30]})
    points = design_points(grid, seed=0)
    assert len(points) == 6
    assert points[0] == {"params.servers": 1, "horizon_s": 10}
    assert points[-1] == {"params.servers": 2, "horizon_s": 30}


@given(samples=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_a_latin_hypercube_hits_every_stratum_of_every_factor_once(samples, seed):
    lhs = LatinHypercubeDesign(
        kind="lhs",
        samples=samples,
        factors={"params.a": {"low": 0.0, "high": 10.0}, "params.b": {"low": -1.0, "high": 1.0}},
    )
    points = design_points(lhs, seed)
    assert points == design_points(lhs, seed)  # reproducible from the experiment seed
    for key, (low, high) in {"params.a": (0.0, 10.0), "params.b": (-1.0, 1.0)}.items():
        values = np.array([point[key] for point in points])
        strata = np.floor((values - low) / (high - low) * samples).astype(int)
        assert sorted(strata) == list(range(samples))


def test_integer_factors_give_each_whole_number_an_equal_share():
    lhs = LatinHypercubeDesign(
        kind="lhs", samples=5, factors={"params.servers": {"low": 1, "high": 5, "integer": True}}
    )
    values = [point["params.servers"] for point in design_points(lhs, 1)]
    assert sorted(values) == [1, 2, 3, 4, 5]
    assert all(isinstance(v, int) for v in values)


def test_no_design_is_one_point_and_a_list_is_taken_as_given():
    assert design_points(None, 0) == [{}]
    listed = ListDesign(kind="list", points=[{"params.servers": 3}, {"horizon_s": 5.0}])
    assert design_points(listed, 0) == [{"params.servers": 3}, {"horizon_s": 5.0}]


def config_of(tmp_path, **kwargs):
    path = station_experiment(tmp_path, **kwargs)
    return parse_experiment(tomllib.loads(path.read_text()), str(path))


def test_a_point_sets_nested_parameters_and_keeps_the_others(tmp_path):
    entry = config_of(tmp_path).scenarios[0]
    config = apply_point(entry, {"params.service.mean": 50.0, "horizon_s": 9_000.0})
    assert config.params["service"] == {"kind": "exponential", "mean": 50.0}
    assert config.params["servers"] == 2
    assert config.horizon_s == 9_000.0


def test_every_arm_of_a_replication_shares_its_seed_and_replications_differ(tmp_path):
    config = config_of(tmp_path)
    specs = plan_runs(config, [{}], {(0, 0): 3})
    assert [spec.run_id for spec in specs[:2]] == ["s0-p0-r0000-admit-all", "s0-p0-r0000-cap-3"]
    seeds = {(spec.replication, spec.arm): spec.seed for spec in specs}
    assert seeds[(1, "admit-all")] == seeds[(1, "cap-3")] == replication_seed(11, 1)
    assert len({seeds[(r, "admit-all")] for r in range(3)}) == 3


def test_more_replications_never_renumber_finished_runs(tmp_path):
    config = config_of(tmp_path)
    two_points = [{"params.servers": 2}, {"params.servers": 3}]
    few = plan_runs(config, two_points, {(0, 0): 2, (0, 1): 2})
    more = plan_runs(config, two_points, {(0, 0): 5, (0, 1): 3})
    order_of = {spec.run_id: spec.order for spec in more}
    assert all(order_of[spec.run_id] == spec.order for spec in few)
    assert [spec.order for spec in more] == sorted(spec.order for spec in more)


SENSITIVITY_FACTORS = {
    "params.arrival_rate_per_s": {"low": 0.01, "high": 0.02},
    "params.servers": {"low": 1, "high": 3, "integer": True},
    "horizon_s": {"low": 3_600.0, "high": 7_200.0},
}


def test_a_sobol_design_has_n_times_d_plus_two_points_inside_the_ranges():
    design = SobolDesign(kind="sobol", samples=16, factors=SENSITIVITY_FACTORS)
    points = design_points(design, seed=4)
    assert len(points) == 16 * (3 + 2)
    assert points == design_points(design, seed=4)  # reproducible from the experiment seed
    assert points != design_points(design, seed=5)
    rates = [point["params.arrival_rate_per_s"] for point in points]
    assert min(rates) >= 0.01
    assert max(rates) <= 0.02
    assert {point["params.servers"] for point in points} == {1, 2, 3}
    assert all(isinstance(point["params.servers"], int) for point in points)
    second_order = design.model_copy(update={"second_order": True})
    assert len(design_points(second_order, seed=4)) == 16 * (2 * 3 + 2)


def test_morris_and_fast_designs_have_the_documented_number_of_points():
    morris = MorrisDesign(kind="morris", trajectories=5, factors=SENSITIVITY_FACTORS)
    assert len(design_points(morris, seed=1)) == 5 * (3 + 1)
    fast = FastDesign(kind="fast", samples=70, factors=SENSITIVITY_FACTORS)
    assert len(design_points(fast, seed=1)) == 70 * 3


def test_a_morris_trajectory_moves_one_factor_at_a_time_on_the_grid():
    design = MorrisDesign(kind="morris", trajectories=3, levels=4, factors=SENSITIVITY_FACTORS)
    unit = sensitivity_sample(design, seed=2)
    assert set(np.round(unit.ravel() * 3, 9)) <= {0.0, 1.0, 2.0, 3.0}
    for trajectory in unit.reshape(3, 4, 3):
        steps = np.diff(trajectory, axis=0)
        assert ((steps != 0).sum(axis=1) == 1).all()


def test_sensitivity_points_keep_their_run_ids_when_replications_are_added(tmp_path):
    config = config_of(tmp_path)
    design = SobolDesign(kind="sobol", samples=4, factors=SENSITIVITY_FACTORS)
    config = config.model_copy(update={"design": design})
    points = design_points(design, config.seed)
    two = plan_runs(config, points, dict.fromkeys(((0, p) for p in range(len(points))), 2))
    three = plan_runs(config, points, dict.fromkeys(((0, p) for p in range(len(points))), 3))
    orders = {spec.run_id: spec.order for spec in three}
    assert all(orders[spec.run_id] == spec.order for spec in two)
    assert two[-1].run_id == f"s0-p{len(points) - 1}-r0001-cap-3"
