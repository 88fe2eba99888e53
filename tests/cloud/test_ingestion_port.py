"""A scenario wires the factory's sensors into the cloud's ingestion class through the
core port: twin.cloud never imports twin.factory, this test holds both."""

from __future__ import annotations

import pytest

from twin.core.ports import SensorTraffic
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.factory.config import Plant1000Params
from twin.factory.kernels import SENSOR_CHANNELS


def test_the_1000_machine_plant_sets_the_ingestion_rate():
    plant = Plant1000Params()
    machines = sum(station.machines for station in plant.stations)
    traffic = SensorTraffic(channels=machines * len(SENSOR_CHANNELS), sensor=plant.sensors)
    # 1,000 machines x 4 sensors, one sample an hour, 1% lost: 1.1 messages/s.
    assert traffic.messages_per_s == pytest.approx(4000 / 3600 * 0.99)
    hours = 24
    config = ScenarioConfig(
        id="cloud/diurnal-v0",
        horizon_s=hours * 3600.0,
        params={"ingestion_from": traffic.model_dump(mode="json")},
    )
    result = simulate(config, "scaling/hpa-v0", seed=2)
    arrivals = result.kpis["requests_ingestion"].value
    expected = traffic.messages_per_s * hours * 3600.0
    assert abs(arrivals - expected) < 4 * expected**0.5  # Poisson: 4 standard deviations


def test_ingestion_from_needs_an_ingestion_class():
    from twin.cloud.config import CloudParams, RequestClass
    from twin.core.distributions import Exponential
    from twin.core.sensors import SensorConfig, SensorSpec

    traffic = SensorTraffic(channels=10, sensor=SensorConfig(sensor=SensorSpec(period_s=1.0)))
    only = RequestClass(name="inference", rate_per_s=1.0, service=Exponential(mean=0.1), slo_s=1)
    with pytest.raises(ValueError, match="needs a request class named 'ingestion'"):
        CloudParams(classes=[only], ingestion_from=traffic)
