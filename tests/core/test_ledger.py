"""The ledger: money by category, energy and fuel by entity and state, derived CO2e."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.core.ledger import GRID_WORLD_2022, EmissionFactor, Ledger, PoolPowerMeter, PowerMeter
from twin.core.probes import Level

PROFILE = EmissionFactor(
    carrier="electricity",
    unit="kWh",
    kg_co2e_per_unit=tuple(0.1 * (h + 1) for h in range(24)),
    source="test profile",
)


def test_money_is_summed_by_category_item_and_entity():
    ledger = Ledger()
    ledger.charge("maintenance", 100.0, entity="M1", item="parts")
    ledger.charge("maintenance", 40.0, entity="M1", item="labour")
    ledger.charge("energy", 5.0)
    assert ledger.cost("maintenance") == 140.0
    assert ledger.cost() == 145.0
    assert ("maintenance", "parts", "M1", 100.0) in ledger.money_rows()


def test_unknown_cost_category_is_refused():
    with pytest.raises(ValueError, match="unknown cost category 'maintenance_cost'"):
        Ledger().charge("maintenance_cost", 1.0)


def test_constant_power_books_kwh_and_co2e():
    ledger = Ledger()
    ledger.draw_power(2.0, 0.0, 7200.0, entity="M1", state="busy")
    assert ledger.energy_kwh() == pytest.approx(4.0)
    assert ledger.energy_kwh(state="idle") == 0.0
    assert ledger.co2e_kg() == pytest.approx(4.0 * GRID_WORLD_2022.hourly()[0])


def test_grid_profile_charges_each_hour_its_own_intensity():
    ledger = Ledger({"electricity": PROFILE})
    # 1 kW from 00:30 to 02:30 across three hourly intensities 0.1, 0.2, 0.3.
    ledger.draw_power(1.0, 1800.0, 9000.0)
    assert ledger.co2e_kg() == pytest.approx(0.5 * 0.1 + 1.0 * 0.2 + 0.5 * 0.3)
    # The profile repeats daily.
    assert PROFILE.at(86_400 + 3_600 * 5 + 1) == pytest.approx(0.6)


@given(
    start=st.floats(0, 200_000),
    lengths=st.lists(st.floats(0, 20_000), min_size=1, max_size=6),
    power=st.floats(0, 100),
)
def test_splitting_an_interval_does_not_change_emissions(start, lengths, power):
    whole, parts = Ledger({"electricity": PROFILE}), Ledger({"electricity": PROFILE})
    end = start + sum(lengths)
    whole.draw_power(power, start, end)
    t = start
    for length in lengths:
        parts.draw_power(power, t, t + length)
        t += length
    assert parts.co2e_kg() == pytest.approx(whole.co2e_kg(), rel=1e-9, abs=1e-9)
    assert parts.energy_kwh() == pytest.approx(whole.energy_kwh(), rel=1e-9, abs=1e-9)


def test_fuel_is_booked_in_litres_with_its_factor():
    ledger = Ledger()
    ledger.use("diesel", 10.0, at_s=0.0, entity="truck1", state="driving")
    assert ledger.fuel_l() == 10.0
    assert ledger.co2e_kg(entity="truck1") == pytest.approx(26.89)


def test_a_price_turns_energy_into_money():
    ledger = Ledger()
    ledger.set_price("electricity", 0.2)
    ledger.draw_power(3.0, 0.0, 3600.0, entity="M1")
    assert ledger.cost("energy") == pytest.approx(0.6)


def test_every_factor_needs_a_source_and_sane_values():
    with pytest.raises(ValueError, match="needs a source"):
        EmissionFactor("electricity", "kWh", 0.4, source=" ")
    with pytest.raises(ValueError, match="24 hourly values"):
        EmissionFactor("electricity", "kWh", (0.4, 0.5), source="x")
    with pytest.raises(ValueError, match=">= 0"):
        EmissionFactor("electricity", "kWh", -0.1, source="x")
    with pytest.raises(ValueError, match="no emission factor for carrier 'hydrogen'"):
        Ledger().use("hydrogen", 1.0, at_s=0.0)


def test_negative_or_backwards_use_is_refused():
    ledger = Ledger()
    with pytest.raises(ValueError, match="power must be finite and >= 0"):
        ledger.draw_power(-1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="ends before it starts"):
        ledger.draw_power(1.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="cost must be finite"):
        ledger.charge("energy", math.nan)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0


def test_power_meter_books_each_state_for_its_duration():
    clock = FakeClock()
    ledger = Ledger()
    meter = PowerMeter(ledger, clock, "M1", {"idle": 1.0, "busy": 4.0}, "idle")
    clock.now = 3600.0
    meter.switch("busy")
    clock.now = 5400.0
    meter.flush()
    assert ledger.energy_kwh(entity="M1", state="idle") == pytest.approx(1.0)
    assert ledger.energy_kwh(entity="M1", state="busy") == pytest.approx(2.0)
    assert meter.time_in_state_s == {"idle": 3600.0, "busy": 1800.0}
    with pytest.raises(ValueError, match="state 'broken' of M1 has no power"):
        meter.switch("broken")


def test_pool_meter_books_busy_and_idle_unit_seconds_from_a_level():
    clock = FakeClock()
    ledger = Ledger()
    busy = Level("busy", clock)
    meter = PoolPowerMeter(ledger, clock, busy, "station", 3, busy_kw=2.0, idle_kw=0.5)
    clock.now = 1800.0
    busy.set(2)  # 0 busy for half an hour, then 2 of 3 busy for an hour
    clock.now = 5400.0
    meter.flush()
    assert ledger.energy_kwh(state="busy") == pytest.approx(2 * 1.0 * 2.0)
    assert ledger.energy_kwh(state="idle") == pytest.approx((3 * 0.5 + 1 * 1.0) * 0.5)


def test_reset_forgets_everything_booked():
    ledger = Ledger()
    ledger.charge("energy", 3.0)
    ledger.draw_power(1.0, 0.0, 10.0)
    ledger.reset()
    assert ledger.cost() == 0.0
    assert ledger.energy_kwh() == 0.0
