"""The learned signal controller: model file, decisions, training command, registration."""

from __future__ import annotations

import json
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from models.signals.learned import (
    FEATURES,
    MAX_PRESSURE_WEIGHTS,
    Learned,
    LearnedParams,
    ModelFileError,
    SignalModel,
    default_model_path,
)
from models.signals.max_pressure import MaxPressure
from models.signals.train import EXPERIMENT_SEED, experiment_seeds, main
from twin.core.errors import UserError
from twin.core.run import default_registry, simulate
from twin.core.scenario import ScenarioConfig
from twin.core.streams import replication_seed
from twin.testing import check_policy
from twin.traffic.kit import signal_edge_cases, signal_observations
from twin.traffic.observation import SignalAction, check_signal_action

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "traffic_signals.toml"


def write_model(path: Path, changes: dict[str, object]) -> Path:
    data = {**SignalModel(np.array(MAX_PRESSURE_WEIGHTS)).to_dict(), **changes}
    path.write_text(json.dumps(data))
    return path


# -- the shipped model ------------------------------------------------------------------


def test_the_shipped_model_loads_and_answers_valid_actions():
    policy = Learned()
    assert policy.model.weights.shape == (len(FEATURES),)
    for obs in signal_edge_cases():
        action = policy.act(obs)
        assert isinstance(action, SignalAction)
        check_signal_action(action, obs, policy.id)


def test_the_shipped_model_records_how_it_was_trained_on_seeds_the_experiment_never_uses():
    meta = SignalModel.load(default_model_path()).metadata
    assert meta["command"].startswith("python -m models.signals.train train")
    training = meta["training"]
    assert training["scenario"] == "traffic/grid4x4-v0"
    used = set(training["seeds"]) | set(training["holdout_seeds"])
    assert not set(training["seeds"]) & set(training["holdout_seeds"])
    assert not used & experiment_seeds()
    assert set(meta["holdout"]["mean_kpis"]) >= {"learned", "fixed-time", "max-pressure"}


def test_the_guarded_seeds_are_the_experiments():
    config = tomllib.loads(EXPERIMENT.read_text())
    assert config["seed"] == EXPERIMENT_SEED
    count = config["replications"]["count"]
    assert {replication_seed(EXPERIMENT_SEED, r) for r in range(count)} <= experiment_seeds()
    assert "signals/learned-v0" in {arm["policy"] for arm in config["arms"]}


def test_it_is_registered_and_passes_the_policy_kit():
    assert "signals/learned-v0" in {entry.id for entry in default_registry().policies()}
    assert check_policy("signals/learned-v0", max_examples=25).ok


# -- model files --------------------------------------------------------------------------


def test_a_users_model_file_is_used_and_round_trips(tmp_path):
    path = tmp_path / "mine.json"
    SignalModel(np.array(MAX_PRESSURE_WEIGHTS), metadata={"by": "me"}).save(path)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically
    policy = Learned(LearnedParams(model_path=str(path)))
    assert policy.model.weights.tolist() == list(MAX_PRESSURE_WEIGHTS)
    assert policy.model.metadata["by"] == "me"
    assert len(policy.model.metadata["sha256"]) == 64
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=300.0)
    result = simulate(config, "signals/learned-v0", 1, policy_params={"model_path": str(path)})
    assert result.kpis["trips_completed"].value > 0


@given(obs=signal_observations())
@settings(max_examples=60, deadline=None)
def test_with_max_pressure_weights_it_chooses_what_max_pressure_chooses(obs):
    obs = obs._replace(phase_elapsed_s=max(obs.phase_elapsed_s, obs.min_green_s))
    learned = Learned(model=SignalModel(np.array(MAX_PRESSURE_WEIGHTS)))
    assert learned.act(obs).phase == MaxPressure().act(obs).phase


def test_the_phase_shown_keeps_green_while_vehicles_arrive_under_a_large_arrival_weight():
    jammed = signal_edge_cases()[1]._replace(phase=0, phase_elapsed_s=20.0)
    weights = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 100.0]
    policy = Learned(model=SignalModel(np.array(weights)))
    assert policy.act(jammed._replace(gap_s=np.zeros(4))).phase == 0
    assert policy.act(jammed._replace(gap_s=np.full(4, np.inf))).phase == 0  # tie keeps it
    busier = jammed._replace(gap_s=np.full(4, np.inf), queue=np.array([0.0, 0.0, 5.0, 5.0]))
    assert policy.act(busier).phase == 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"weights": [1.0, 2.0]}, "weights must have 9 values"),
        ({"weights": [[1.0] * 9]}, "weights must be a list of numbers"),
        ({"weights": ["1"] * 9}, "weights must be a list of numbers"),
        ({"feature_names": ["queue"] * 9}, "retrain it"),
        ({"format": "pickle"}, "not a twin.signals.linear-phase-score model"),
        ({"format_version": 2}, "format_version 2 is not supported"),
    ],
)
def test_a_model_of_the_wrong_schema_or_shape_is_one_clear_error(tmp_path, change, problem):
    path = write_model(tmp_path / "bad.json", change)
    with pytest.raises(ModelFileError, match=problem) as caught:
        Learned(LearnedParams(model_path=str(path)))
    assert isinstance(caught.value, UserError)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "model file not found"), ("{not json", "not a JSON model file"), ("[1]", "object")],
)
def test_a_missing_or_corrupt_file_is_one_clear_error(tmp_path, content, problem):
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ModelFileError, match=problem):
        SignalModel.load(path)


class _Trap:
    """Unpickling this would create a file: the proof that loading ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(_Trap(str(marker))))
    with pytest.raises(ModelFileError, match="not a JSON model file"):
        Learned(LearnedParams(model_path=str(path)))
    assert not marker.exists()


def test_a_bad_model_path_in_a_run_is_a_user_error_before_the_run(tmp_path):
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=300.0)
    with pytest.raises(UserError, match="model file not found"):
        simulate(config, "signals/learned-v0", 1, policy_params={"model_path": "nope.json"})


# -- the training command -------------------------------------------------------------------

TINY = [
    "--generations", "1", "--population", "2", "--elite", "1", "--seeds", "1",
    "--holdout-seeds", "2", "--horizon-s", "240", "--warmup-s", "60", "--jobs", "1",
]  # fmt: skip


def test_training_for_a_tiny_budget_writes_a_model_no_worse_than_its_start(tmp_path, capsys):
    out = tmp_path / "tiny.json"
    assert main(["train", "--out", str(out), *TINY]) == 0
    log = capsys.readouterr().out
    assert "generation 0/1" in log
    assert "hold-out" in log
    model = SignalModel.load(out)
    meta = model.metadata
    # The kept weights are the best evaluated mean, and the start is the first mean.
    assert meta["training_objective_s"] <= meta["history"][0]["mean_objective"]
    assert meta["training"]["seeds"] == [1]
    Learned(LearnedParams(model_path=str(out)))  # deployable
    # Same command, same optimiser seed: the same weights.
    again = tmp_path / "again.json"
    assert main(["train", "--out", str(again), *TINY]) == 0
    assert SignalModel.load(again).weights.tolist() == model.weights.tolist()


def test_training_refuses_the_experiments_seeds(tmp_path, capsys):
    seed = str(replication_seed(EXPERIMENT_SEED, 0))
    out = tmp_path / "m.json"
    assert main(["train", "--out", str(out), *TINY, "--seeds", seed]) == 2
    err = capsys.readouterr().err.strip()
    assert "replication seeds of experiments/traffic_signals.toml" in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_evaluate_reports_a_missing_model_in_one_line(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "model file not found" in err
    assert len(err.splitlines()) == 1
