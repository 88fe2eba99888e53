"""One name per quantity: a traffic run's fuel is the ledger's ``fuel_l`` alone, and its
two CO2 figures say how they differ."""

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.traffic.domain import DOMAIN
from twin.traffic.scenario import GridCity


def test_a_traffic_run_has_one_fuel_total_and_two_co2_figures_that_name_their_difference():
    config = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=600.0, warmup_s=60.0)
    kpis = simulate(config, "signals/fixed-time-v0", 1).kpis
    fuel = [name for name, kpi in kpis.items() if kpi.unit == "L" and "trips" not in name]
    assert fuel == ["fuel_l"]  # finished trips' trips_fuel_l is SUMO's tripinfo family
    assert kpis["fuel_l"].value > 0
    assert "tailpipe" in kpis["network_co2_kg"].description
    assert "co2e_kg" in kpis["network_co2_kg"].description
    assert "network_fuel_l" not in DOMAIN.kpis


def test_the_headline_shows_one_co2_figure():
    co2 = [kpi for kpi in GridCity.headline_kpis if "co2" in kpi]
    assert co2 == ["network_co2_kg"]
