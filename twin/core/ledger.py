"""One ledger per run: money by category, energy and fuel by entity and state, CO2e.

Emissions are derived, never entered: every kWh or litre is multiplied by the emission
factor of its carrier at the time it was used, and every factor names its source.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from twin.core.clock import Clock
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

COST_CATEGORIES = (
    "maintenance",
    "lost_production",
    "energy",
    "labour",
    "holding",
    "shortage",
    "transport",
    "compute",
    "material",
    "other",
)


def ledger_kpi_is_cost(name: str) -> bool:
    """Whether ``name`` is one of the ledger's KPIs (money, energy, fuel, emissions), all
    of which are better lower."""
    return (
        name in ("cost_total", "energy_kwh", "fuel_l", "co2e_kg")
        or name in {f"cost_{category}" for category in COST_CATEGORIES}
        or (name.startswith("co2e_") and name.endswith("_kg"))
    )


"""Top-level money categories. A domain adds detail with ``item`` (e.g. ``"parts"``)."""


@dataclass(frozen=True)
class EmissionFactor:
    """kg CO2e per unit of an energy carrier, constant or by hour of day.

    Args:
        carrier: what is burned or drawn, e.g. ``"electricity"``, ``"diesel"``.
        unit: ``"kWh"`` for electricity, ``"L"`` for liquid fuels.
        kg_co2e_per_unit: one value (constant) or 24 values, one per hour of day
            (a grid-intensity profile; hour 0 is 00:00-01:00 of simulated time).
        source: where the figure comes from (paper, standard, data set and year).
    """

    carrier: str
    unit: str
    kg_co2e_per_unit: float | tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        if self.unit not in ("kWh", "L"):
            raise ValueError(f"emission factor unit must be 'kWh' or 'L', got {self.unit!r}")
        if not self.source.strip():
            raise ValueError(f"emission factor for {self.carrier!r} needs a source")
        values = self.hourly()
        if len(values) != 24 and not isinstance(self.kg_co2e_per_unit, float | int):
            raise ValueError(f"a grid-intensity profile has 24 hourly values, got {len(values)}")
        if any(v < 0 or not math.isfinite(v) for v in values):
            raise ValueError(f"emission factor for {self.carrier!r} must be finite and >= 0")

    @property
    def varies_by_hour(self) -> bool:
        return isinstance(self.kg_co2e_per_unit, Sequence)

    def hourly(self) -> tuple[float, ...]:
        value = self.kg_co2e_per_unit
        if isinstance(value, Sequence):
            return tuple(float(v) for v in value)
        return (float(value),) * 24

    def at(self, time_s: float) -> float:
        """The factor in force at simulated time ``time_s``."""
        value = self.kg_co2e_per_unit
        if not isinstance(value, Sequence):
            return float(value)
        return float(value[int((time_s % SECONDS_PER_DAY) // SECONDS_PER_HOUR)])

    def integrate(self, rate_per_s: float, start_s: float, end_s: float) -> float:
        """kg CO2e of using ``rate_per_s`` units per second from ``start_s`` to ``end_s``."""
        value = self.kg_co2e_per_unit
        if not isinstance(value, Sequence):
            return rate_per_s * (end_s - start_s) * float(value)
        total = 0.0
        t = start_s
        while t < end_s:
            hour_end = (math.floor(t / SECONDS_PER_HOUR) + 1) * SECONDS_PER_HOUR
            segment_end = min(hour_end, end_s)
            total += rate_per_s * (segment_end - t) * self.at(t)
            t = segment_end
        return total


GRID_WORLD_2022 = EmissionFactor(
    carrier="electricity",
    unit="kWh",
    kg_co2e_per_unit=0.436,
    source=(
        "Ember, Global Electricity Review 2023: world carbon intensity of electricity "
        "generation in 2022, 436 gCO2e/kWh (lifecycle)"
    ),
)
DIESEL_COMBUSTION = EmissionFactor(
    carrier="diesel",
    unit="L",
    kg_co2e_per_unit=2.689,
    source=(
        "US EPA Greenhouse Gas Equivalencies Calculator: 10.180e-3 t CO2 per US gallon "
        "of diesel (combustion), = 2.689 kg/L"
    ),
)


@dataclass
class _Totals:
    money: defaultdict[tuple[str, str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    use: defaultdict[tuple[str, str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    co2e_kg: defaultdict[tuple[str, str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    # Running totals beside the keyed ones: the KPIs read them unfiltered, and a live view
    # reads KPIs several times a second from a ledger keyed by thousands of vehicles.
    money_by_category: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    use_by_carrier: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    co2e_kg_by_carrier: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


class Ledger:
    """Money, energy, fuel and emissions of one run.

    Args:
        factors: emission factor per carrier name; electricity and diesel are required to
            record energy and fuel (defaults: :data:`GRID_WORLD_2022`, :data:`DIESEL_COMBUSTION`).
        currency: the unit of money reported in KPIs.
    """

    def __init__(
        self,
        factors: Mapping[str, EmissionFactor] | None = None,
        currency: str = "EUR",
    ) -> None:
        self.factors: dict[str, EmissionFactor] = (
            dict(factors)
            if factors is not None
            else {"electricity": GRID_WORLD_2022, "diesel": DIESEL_COMBUSTION}
        )
        for name, factor in self.factors.items():
            if factor.carrier != name:
                raise ValueError(f"factor keyed {name!r} is for carrier {factor.carrier!r}")
        self.currency = currency
        self._prices: dict[str, float] = {}
        self._totals = _Totals()

    def set_price(self, carrier: str, price_per_unit: float) -> None:
        """Also book money (category ``"energy"``) for every unit of ``carrier`` used."""
        self.factor(carrier)
        if price_per_unit < 0 or not math.isfinite(price_per_unit):
            raise ValueError(f"price of {carrier} must be finite and >= 0, got {price_per_unit}")
        self._prices[carrier] = price_per_unit

    # -- recording ------------------------------------------------------------------
    def charge(self, category: str, amount: float, *, entity: str = "", item: str = "") -> None:
        """Book ``amount`` of money under ``category`` (one of :data:`COST_CATEGORIES`)."""
        if category not in COST_CATEGORIES:
            raise ValueError(f"unknown cost category {category!r}; allowed: {COST_CATEGORIES}")
        if not math.isfinite(amount):
            raise ValueError(f"cost must be finite, got {amount} for {category}/{item}")
        self._totals.money[(category, item, entity)] += amount
        self._totals.money_by_category[category] += amount

    def use(
        self, carrier: str, amount: float, *, at_s: float, entity: str = "", state: str = ""
    ) -> None:
        """Book ``amount`` units (kWh or L) of ``carrier`` used at one instant."""
        factor = self.factor(carrier)
        if amount < 0 or not math.isfinite(amount):
            raise ValueError(f"{carrier} use must be finite and >= 0, got {amount}")
        self._book_use(carrier, entity, state, amount, amount * factor.at(at_s))

    def use_each(
        self,
        carrier: str,
        amounts: Sequence[float],
        *,
        at_s: Sequence[float],
        entities: Sequence[str],
        state: str = "",
    ) -> None:
        """:meth:`use` for many entities in one call, booked in order with the same totals
        to the last bit: a city books thousands of vehicles' fuel at every KPI read."""
        factor = self.factor(carrier)
        for amount in amounts:
            if amount < 0 or not math.isfinite(amount):
                raise ValueError(f"{carrier} use must be finite and >= 0, got {amount}")
        if self._prices.get(carrier) or factor.varies_by_hour:
            for amount, time_s, entity in zip(amounts, at_s, entities, strict=True):
                self._book_use(carrier, entity, state, amount, amount * factor.at(time_s))
            return
        # A constant factor and no price: the same additions as _book_use's, inlined.
        kg_per_unit = factor.at(0.0)
        totals = self._totals
        use, co2e_kg = totals.use, totals.co2e_kg
        use_total = totals.use_by_carrier[carrier]
        kg_total = totals.co2e_kg_by_carrier[carrier]
        for amount, entity in zip(amounts, entities, strict=True):
            key = (carrier, entity, state)
            kg = amount * kg_per_unit
            use[key] += amount
            co2e_kg[key] += kg
            use_total += amount
            kg_total += kg
        totals.use_by_carrier[carrier] = use_total
        totals.co2e_kg_by_carrier[carrier] = kg_total

    def draw_power(
        self, power_kw: float, start_s: float, end_s: float, *, entity: str = "", state: str = ""
    ) -> None:
        """Book electricity drawn at a constant ``power_kw`` over ``[start_s, end_s]``.

        CO2e integrates the grid-intensity profile over the interval, so a machine that
        runs across the evening peak is charged the peak's carbon.
        """
        if end_s < start_s:
            raise ValueError(f"interval ends before it starts: {start_s} .. {end_s}")
        if power_kw < 0 or not math.isfinite(power_kw):
            raise ValueError(f"power must be finite and >= 0, got {power_kw}")
        if power_kw == 0.0 or end_s == start_s:
            return
        factor = self.factor("electricity")
        kwh = power_kw * (end_s - start_s) / SECONDS_PER_HOUR
        kg = factor.integrate(power_kw / SECONDS_PER_HOUR, start_s, end_s)
        self._book_use("electricity", entity, state, kwh, kg)

    def reset(self) -> None:
        """Forget everything booked so far (used at the end of the warm-up)."""
        self._totals = _Totals()

    # -- reading --------------------------------------------------------------------
    def cost(self, category: str | None = None) -> float:
        """Total money, or the money of one category."""
        by_category = self._totals.money_by_category
        if category is not None:
            return by_category.get(category, 0.0)
        return sum(by_category.values())

    def energy_kwh(self, entity: str | None = None, state: str | None = None) -> float:
        return self._sum_use("electricity", entity, state)

    def fuel_l(self, entity: str | None = None, state: str | None = None) -> float:
        return sum(
            self._sum_use(carrier, entity, state)
            for carrier, factor in self.factors.items()
            if factor.unit == "L"
        )

    def co2e_kg(
        self, entity: str | None = None, state: str | None = None, carrier: str | None = None
    ) -> float:
        if entity is None and state is None:
            by_carrier = self._totals.co2e_kg_by_carrier
            return by_carrier.get(carrier, 0.0) if carrier else sum(by_carrier.values())
        return sum(
            kg
            for (car, ent, st), kg in self._totals.co2e_kg.items()
            if (entity is None or ent == entity)
            and (state is None or st == state)
            and (carrier is None or car == carrier)
        )

    def money_rows(self) -> list[tuple[str, str, str, float]]:
        """``(category, item, entity, amount)`` rows, sorted, for reports."""
        return sorted((c, i, e, v) for (c, i, e), v in self._totals.money.items())

    def use_rows(self) -> list[tuple[str, str, str, float, float]]:
        """``(carrier, entity, state, amount, kg_co2e)`` rows, sorted, for reports."""
        return sorted(
            (carrier, ent, st, amount, self._totals.co2e_kg[(carrier, ent, st)])
            for (carrier, ent, st), amount in self._totals.use.items()
        )

    def sources(self) -> dict[str, str]:
        """The source of every emission factor in use, by carrier."""
        return {name: factor.source for name, factor in self.factors.items()}

    def factor(self, carrier: str) -> EmissionFactor:
        """The emission factor of ``carrier``."""
        try:
            return self.factors[carrier]
        except KeyError:
            raise ValueError(
                f"no emission factor for carrier {carrier!r}; known: {sorted(self.factors)}"
            ) from None

    def _book_use(self, carrier: str, entity: str, state: str, amount: float, kg: float) -> None:
        totals = self._totals
        key = (carrier, entity, state)
        totals.use[key] += amount
        totals.co2e_kg[key] += kg
        totals.use_by_carrier[carrier] += amount
        totals.co2e_kg_by_carrier[carrier] += kg
        price = self._prices.get(carrier)
        if price:
            money = amount * price
            totals.money[("energy", carrier, entity)] += money
            totals.money_by_category["energy"] += money

    def _sum_use(self, carrier: str, entity: str | None, state: str | None) -> float:
        if entity is None and state is None:
            return self._totals.use_by_carrier.get(carrier, 0.0)
        return sum(
            amount
            for (car, ent, st), amount in self._totals.use.items()
            if car == carrier
            and (entity is None or ent == entity)
            and (state is None or st == state)
        )


class PowerMeter:
    """Books one entity's electricity by state: call :meth:`switch` on every state change.

    A state change only adds the elapsed time to the state left (one addition, which
    matters at millions of changes); :meth:`flush` books the energy of the time not yet
    booked. The world flushes
    at the end of a run and, when a grid-intensity profile is in force, at every hour
    boundary, so each hour's energy is charged that hour's carbon.
    """

    __slots__ = (
        "_booked_s",
        "_clock",
        "_ledger",
        "_power_kw",
        "_since_s",
        "entity",
        "state",
        "time_in_state_s",
    )

    def __init__(
        self,
        ledger: Ledger,
        clock: Clock,
        entity: str,
        power_kw: Mapping[str, float],
        state: str,
    ) -> None:
        _check_power(entity, power_kw)
        if state not in power_kw:
            raise ValueError(f"state {state!r} of {entity} has no power; known: {sorted(power_kw)}")
        self._ledger = ledger
        self._clock = clock
        self._power_kw = dict(power_kw)
        self.entity = entity
        self.state = state
        self._since_s = float(clock.now)
        self._booked_s = dict.fromkeys(power_kw, 0.0)
        self.time_in_state_s = dict.fromkeys(power_kw, 0.0)
        """Seconds spent in each state since the start (or the end of the warm-up)."""

    def switch(self, state: str) -> None:
        if state not in self._power_kw:
            raise ValueError(
                f"state {state!r} of {self.entity} has no power; known: {sorted(self._power_kw)}"
            )
        now = self._clock.now
        elapsed = now - self._since_s
        self.time_in_state_s[self.state] += elapsed
        self._since_s = now
        self.state = state

    def flush(self) -> None:
        """Book every state's energy up to now."""
        self.switch(self.state)
        now = float(self._clock.now)
        for state, total_s in self.time_in_state_s.items():
            seconds = total_s - self._booked_s[state]
            if seconds:
                kwh = self._power_kw[state] * seconds / SECONDS_PER_HOUR
                self._ledger.use("electricity", kwh, at_s=now, entity=self.entity, state=state)
                self._booked_s[state] = total_s

    def restart(self) -> None:
        """Drop unbooked time (the warm-up ended and the ledger was reset)."""
        self._since_s = float(self._clock.now)
        for state in self._power_kw:
            self._booked_s[state] = 0.0
            self.time_in_state_s[state] = 0.0


class PoolPowerMeter:
    """Books the electricity of a pool of identical units from a level of busy units.

    For a station of ``units`` servers whose busy count is already a time-weighted
    level, the busy and idle unit-seconds are that level's integral and its complement:
    no bookkeeping at all on the hot path.
    """

    __slots__ = (
        "_busy_kw",
        "_clock",
        "_idle_kw",
        "_integral",
        "_ledger",
        "_level",
        "_since_s",
        "entity",
        "units",
    )

    def __init__(
        self,
        ledger: Ledger,
        clock: Clock,
        level: Integrable,
        entity: str,
        units: int,
        busy_kw: float,
        idle_kw: float,
    ) -> None:
        _check_power(entity, {"busy": busy_kw, "idle": idle_kw})
        self._ledger = ledger
        self._clock = clock
        self._level = level
        self._busy_kw = busy_kw
        self._idle_kw = idle_kw
        self.entity = entity
        self.units = units
        self._since_s: float = float(clock.now)
        self._integral: float = level.integral(self._since_s)

    def flush(self) -> None:
        now = float(self._clock.now)
        integral = self._level.integral(now)
        busy_unit_s = integral - self._integral
        idle_unit_s = self.units * (now - self._since_s) - busy_unit_s
        for state, kw, unit_s in (
            ("busy", self._busy_kw, busy_unit_s),
            ("idle", self._idle_kw, idle_unit_s),
        ):
            if kw and unit_s > 0:
                self._ledger.use(
                    "electricity",
                    kw * unit_s / SECONDS_PER_HOUR,
                    at_s=now,
                    entity=self.entity,
                    state=state,
                )
        self._integral = integral
        self._since_s = now

    def restart(self) -> None:
        """Count from now on (the warm-up ended and the ledger was reset)."""
        self._since_s = float(self._clock.now)
        self._integral = self._level.integral(self._since_s)


class Integrable(Protocol):
    """A time-weighted level, such as :class:`twin.core.probes.Level`."""

    def integral(self, now_s: float | None = None) -> float: ...


def _check_power(entity: str, power_kw: Mapping[str, float]) -> None:
    for name, kw in power_kw.items():
        if kw < 0 or not math.isfinite(kw):
            raise ValueError(f"power of {entity} in state {name!r} must be >= 0, got {kw}")
