"""Design points, run order and the seeds that make arms paired."""

import tomllib

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from experiments.config import GridDesign, LatinHypercubeDesign, ListDesign, parse_experiment
from experiments.design import apply_point, design_points, plan_runs, replication_seed
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
