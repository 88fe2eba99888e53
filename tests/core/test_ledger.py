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


@given(
    amounts=st.lists(st.floats(0, 1e4), min_size=1, max_size=30),
    entity_of=st.lists(st.integers(0, 4), min_size=30, max_size=30),
    priced=st.booleans(),
    profile=st.booleans(),
)
def test_booking_many_at_once_is_booking_each_in_turn(amounts, entity_of, priced, profile):
    """`use_each` is a faster `use`: every total the same to the last bit."""
    factors = {"electricity": PROFILE if profile else GRID_WORLD_2022}
    one_by_one, at_once = Ledger(factors), Ledger(factors)
    if priced:
        one_by_one.set_price("electricity", 0.3)
        at_once.set_price("electricity", 0.3)
    times = [3_600.0 * k for k in range(len(amounts))]
    entities = [f"vehicle{entity_of[k]}" for k in range(len(amounts))]
    for amount, time_s, entity in zip(amounts, times, entities, strict=True):
        one_by_one.use("electricity", amount, at_s=time_s, entity=entity, state="driving")
    at_once.use_each("electricity", amounts, at_s=times, entities=entities, state="driving")
    assert at_once.use_rows() == one_by_one.use_rows()
    assert at_once.money_rows() == one_by_one.money_rows()
    assert at_once.co2e_kg() == one_by_one.co2e_kg()
    assert at_once.energy_kwh() == one_by_one.energy_kwh()
    assert at_once.cost() == one_by_one.cost()


def test_booking_many_refuses_a_negative_amount_and_books_none():
    ledger = Ledger()
    with pytest.raises(ValueError, match=r"diesel use must be finite and >= 0, got -1\.0"):
        ledger.use_each("diesel", [2.0, -1.0], at_s=[0.0, 0.0], entities=["a", "b"])
    assert ledger.fuel_l() == 0.0


@given(
    bookings=st.lists(
        st.tuples(
            st.sampled_from(["M1", "M2", "truck1"]),
            st.sampled_from(["idle", "busy"]),
            st.floats(0, 100),
        ),
        max_size=20,
    )
)
def test_unfiltered_totals_are_the_sum_of_the_filtered_ones(bookings):
    """The running totals the KPIs read agree with the per-entity and per-state books."""
    ledger = Ledger()
    ledger.set_price("diesel", 1.7)
    for entity, state, amount in bookings:
        ledger.use("diesel", amount, at_s=0.0, entity=entity, state=state)
        ledger.draw_power(amount, 0.0, 3_600.0, entity=entity, state=state)
        ledger.charge("maintenance", amount, entity=entity)
    entities, states = ("M1", "M2", "truck1"), ("idle", "busy")
    assert ledger.fuel_l() == pytest.approx(sum(ledger.fuel_l(entity=e) for e in entities))
    assert ledger.energy_kwh() == pytest.approx(sum(ledger.energy_kwh(state=s) for s in states))
    assert ledger.co2e_kg() == pytest.approx(
        sum(ledger.co2e_kg(entity=e, state=s) for e in entities for s in states)
    )
    assert ledger.cost() == pytest.approx(sum(v for *_, v in ledger.money_rows()))
    assert ledger.cost("energy") == pytest.approx(1.7 * ledger.fuel_l())
