"""The emulated plant: a factory twin with hidden parameters that sends only readings."""

import math

import numpy as np
import pytest

from twin.core.errors import UserError
from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.factory import live
from twin.factory.plant import Plant
from twin.live.emulated_plant import emulate, merge

CONFIG = ScenarioConfig(id="factory/flowline-v0", horizon_s=86_400.0)
RUN_TO_FAILURE = "maintenance/run-to-failure-v0"
FASTER_WEAR = {"stations": [{"degradation": {"drift_per_h": 1.3 / 500}}] * 5}


def readings_of(seed: int, hidden: dict, period_s: float = 3600.0) -> list[list]:
    return list(emulate(CONFIG, RUN_TO_FAILURE, seed, hidden, period_s))


def test_it_yields_each_period_the_readings_of_known_channels_only():
    plant = emulate(CONFIG, RUN_TO_FAILURE, 1, {}, 3600.0)
    known = {c.name for c in live.channels(plant.plant)}
    batches = list(plant)
    assert len(batches) == 24  # one a simulated hour until the horizon
    assert plant.now_s == 86_400.0
    for hour, batch in enumerate(batches, start=1):
        assert batch
        assert {r.channel for r in batch} <= known
        times = [r.at_s for r in batch]
        assert times == sorted(times)
        assert times[-1] <= hour * 3600.0
        assert all(math.isfinite(r.value) for r in batch)
    # 24 channels sampled every 600 s, less the 1 % dropouts.
    total = sum(len(batch) for batch in batches)
    assert 0.97 * 24 * 144 < total <= 24 * 145


def test_the_same_seed_gives_the_same_readings_and_another_seed_others():
    first = readings_of(1, {})
    assert first == readings_of(1, {})
    assert first != readings_of(2, {})


def test_hidden_parameters_change_the_readings_and_the_truth():
    plant = emulate(CONFIG, RUN_TO_FAILURE, 1, {}, 86_400.0)
    faster = emulate(CONFIG, RUN_TO_FAILURE, 1, FASTER_WEAR, 86_400.0)
    assert next(plant) != next(faster)
    wear = [plant.truth()[f"machine:{i}/health"] for i in range(6)]
    faster_wear = [faster.truth()[f"machine:{i}/health"] for i in range(6)]
    assert sum(faster_wear) > sum(wear)
    assert faster.plant.params.stations[2].degradation.drift_per_h == 1.3 / 500
    assert faster.plant.params.stations[2].degradation.volatility == 0.3  # merged, kept


def test_the_truth_holds_wear_and_rul_of_every_machine_and_no_reading_does():
    plant = emulate(CONFIG, RUN_TO_FAILURE, 1, {}, 3600.0)
    channels = {r.channel for r in next(plant)}
    assert not any("health" in c or "rul" in c for c in channels)
    assert set(plant.truth()) == {
        f"machine:{i}/{quantity}" for i in range(6) for quantity in ("health", "rul_s")
    }


def test_a_maintenance_decision_is_carried_out_in_the_emulated_plant():
    two_days = CONFIG.model_copy(update={"horizon_s": 2 * 86_400.0})
    plant = emulate(two_days, RUN_TO_FAILURE, 1, {}, 600.0)
    for _ in range(144):
        next(plant)
    before = plant.truth()["machine:1/health"]
    assert before > 0.03
    assert plant.apply({"maintain": ["machine:1"]}) == ["machine:1"]
    assert plant.apply({"maintain": ["machine:1"]}) == []  # already asked
    machine = plant.plant.machines[1]
    next(plant)
    assert machine.state == "maintenance"
    while machine.last_maintenance_s == 0.0 and plant.now_s < 2 * 86_400.0:
        next(plant)
    # Seen within one 600 s period of being renewed: in a technician's hands about an hour.
    assert plant.plant.preventive_actions.count == 1
    assert 86_400.0 < machine.last_maintenance_s < 86_400.0 + 2 * 3600.0
    assert plant.truth()["machine:1/health"] < 0.01 < before


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: emulate(CONFIG, RUN_TO_FAILURE, 1, {"ambient": 30}, 60.0), "ambient"),
        (lambda: emulate(CONFIG, RUN_TO_FAILURE, 1, {}, 0.0), "period_s"),
        (
            lambda: emulate(CONFIG, RUN_TO_FAILURE, 1, {}, 60.0).apply({"maintain": ["m:1"]}),
            "unknown machine 'm:1'",
        ),
        (
            lambda: emulate(CONFIG, RUN_TO_FAILURE, 1, {}, 60.0).apply({"repair": []}),
            "unknown decisions",
        ),
    ],
)
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(UserError, match=message):
        call()


def test_merge_merges_tables_and_same_length_lists_of_tables_and_replaces_the_rest():
    base = {"a": {"x": 1, "y": 2}, "s": [{"p": 1, "q": 2}, {"p": 3}], "l": [1, 2], "k": 1}
    override = {"a": {"y": 5}, "s": [{"q": 9}, {}], "l": [7], "k": {"z": 1}}
    assert merge(base, override) == {
        "a": {"x": 1, "y": 5},
        "s": [{"p": 1, "q": 9}, {"p": 3}],
        "l": [7],
        "k": {"z": 1},
    }
    assert base["a"] == {"x": 1, "y": 2}  # not changed in place


def test_a_twin_corrected_from_the_plants_readings_keeps_track_of_its_wear():
    """The shadow loop without MQTT: readings of a plant that wears 1.3x faster feed the
    twin's estimator, and every hour its correction goes into the running twin."""
    config = CONFIG.model_copy(update={"horizon_s": 3 * 86_400.0})
    plant = emulate(config, RUN_TO_FAILURE, 11, FASTER_WEAR, 3600.0)
    corrected, alone = (prepare_run(config, RUN_TO_FAILURE, 1) for _ in range(2))
    twin = corrected.world.the(Plant)
    estimator = live.estimator(twin, {})
    for batch in plant:
        for reading in batch:
            estimator.ingest(reading)
        corrected.world.run(plant.now_s)
        alone.world.run(plant.now_s)
        live.correct(twin, estimator.correction(plant.now_s))
    truth = np.array([plant.truth()[f"machine:{i}/health"] for i in range(6)])
    # Measured: 0.019 corrected, 0.083 left alone.
    error = np.abs(twin.health - truth).mean()
    assert error < 0.04
    assert np.abs(alone.world.the(Plant).health - truth).mean() > 2 * error
