"""The station as a modeller uses it: sensors, policies, accounting and bad actions."""

import math
from typing import ClassVar

import pytest

from twin.core.errors import ConfigError
from twin.core.policy import BasePolicy, InvalidActionError
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.station import ADMIT, StationAction, StationObservation

BASE = {"arrival_rate_per_s": 0.9, "servers": 1, "service": {"kind": "exponential", "mean": 1.0}}


def config(horizon_s=5_000.0, warmup_s=0.0, **params) -> ScenarioConfig:
    return ScenarioConfig(
        id="station/mmc-v0", params={**BASE, **params}, horizon_s=horizon_s, warmup_s=warmup_s
    )


class Recorder(BasePolicy[StationObservation, StationAction]):
    """Admits everything and keeps what it saw."""

    id: ClassVar[str] = "test/recorder-v0"
    domain: ClassVar[str] = "station"

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self.seen: list[StationObservation] = []

    def act(self, obs: StationObservation) -> StationAction:
        self.seen.append(obs)
        return ADMIT


def test_the_policy_sees_the_station_as_each_arrival_finds_it():
    policy = Recorder()
    result = simulate(config(servers=2), policy, seed=1)
    assert len(policy.seen) == result.kpis["arrived"].value
    assert all(obs.servers == 2 and 0 <= obs.busy_servers <= 2 for obs in policy.seen)
    assert all(obs.queue_length == 0 or obs.busy_servers == 2 for obs in policy.seen)
    times = [obs.now_s for obs in policy.seen]
    assert times == sorted(times)
    assert all(math.isnan(obs.sensed_queue_length) for obs in policy.seen)


def test_sensed_queue_length_arrives_through_the_pipeline_late_and_sparse():
    policy = Recorder()
    sensor = {
        "sensor": {"period_s": 30.0},
        "pipeline": {"latency_mean_s": 5.0, "deadband": 0.5},
    }
    simulate(config(queue_sensor=sensor), policy, seed=2)
    sensed = [obs.sensed_queue_length for obs in policy.seen]
    assert math.isnan(sensed[0])  # nothing delivered before the first reading lands
    assert all(value == int(value) for value in sensed if not math.isnan(value))
    # A reading taken every 30 s lags the true queue, so they often differ.
    differing = sum(
        1
        for obs in policy.seen
        if not math.isnan(obs.sensed_queue_length) and obs.sensed_queue_length != obs.queue_length
    )
    assert differing > 0.2 * len(policy.seen)


def test_a_policy_on_stale_readings_admits_more_than_one_on_true_ones():
    cfg = config(
        horizon_s=20_000.0,
        queue_sensor={"sensor": {"period_s": 60.0}, "pipeline": {"latency_mean_s": 20.0}},
    )
    true = simulate(cfg, "admission/queue-cap-v0", seed=3, policy_params={"max_queue": 2})
    sensed = simulate(
        cfg, "admission/queue-cap-v0", seed=3, policy_params={"max_queue": 2, "use_sensor": True}
    )
    assert true.kpis["arrived"].value == sensed.kpis["arrived"].value  # same arrivals
    assert true.kpis["rejected"].value != sensed.kpis["rejected"].value
    assert sensed.kpis["queue_length_mean"].value > true.kpis["queue_length_mean"].value


def test_energy_and_lost_production_are_booked():
    result = simulate(
        config(
            horizon_s=36_000.0,
            server_busy_power_kw=2.0,
            server_idle_power_kw=0.5,
            electricity_price_per_kwh=0.1,
            capacity=3,
            rejection_cost=4.0,
        ),
        "admission/admit-all-v0",
        seed=4,
    )
    k = {name: kpi.value for name, kpi in result.kpis.items()}
    hours = 10.0
    expected_kwh = hours * (2.0 * k["utilisation"] + 0.5 * (1 - k["utilisation"]))
    assert k["energy_kwh"] == pytest.approx(expected_kwh, rel=1e-9)
    assert k["cost_energy"] == pytest.approx(0.1 * expected_kwh, rel=1e-9)
    assert k["cost_lost_production"] == pytest.approx(4.0 * k["rejected"])
    assert k["co2e_kg"] == pytest.approx(0.436 * expected_kwh, rel=1e-9)
    assert result.manifest["emission_factor_sources"]["electricity"].startswith("Ember")


def test_warmup_is_excluded_from_every_statistic():
    whole = simulate(
        config(horizon_s=10_000.0, server_busy_power_kw=1.0), "admission/admit-all-v0", 5
    )
    late = simulate(
        config(horizon_s=10_000.0, warmup_s=9_000.0, server_busy_power_kw=1.0),
        "admission/admit-all-v0",
        5,
    )
    assert late.kpis["arrived"].value < 0.2 * whole.kpis["arrived"].value
    assert late.kpis["energy_kwh"].value <= 1000 / 3600 + 1e-9


class Shouting(BasePolicy[StationObservation, StationAction]):
    id: ClassVar[str] = "test/shouting-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs: StationObservation) -> StationAction:
        return "yes please"  # type: ignore[return-value]


def test_an_invalid_action_is_an_error_naming_the_policy_and_the_action():
    with pytest.raises(
        InvalidActionError, match=r"'test/shouting-v0' returned invalid action 'yes please'"
    ):
        simulate(config(), Shouting(), seed=1)


class OtherDomain(Shouting):
    id: ClassVar[str] = "test/other-v0"
    domain: ClassVar[str] = "traffic"


def test_a_policy_from_another_domain_is_refused():
    with pytest.raises(ConfigError, match="acts in domain 'traffic'"):
        simulate(config(), OtherDomain(), seed=1)


def test_capacity_below_servers_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r"scenario.params: Value error, capacity \(1\) must be >= servers \(2\)"
    ):
        simulate(config(servers=2, capacity=1), "admission/admit-all-v0", seed=1)
