"""The supply network as a config: sites, the lanes between them, demand, trucks, costs.

Each site orders from one ``source``; the sources make a forest rooted at suppliers.
Defaults and their sources: docs/PARAMETERS.md (section "Supply chain").
"""

from __future__ import annotations

import math
from typing import Any, Literal, NoReturn

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from twin.core.config import policy_in_params
from twin.core.distributions import Deterministic, Distribution, Gamma
from twin.core.scenario import ScenarioParams
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_WEEK

SiteKind = Literal["supplier", "plant", "dc", "retailer"]

_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemandSpec(_Spec):
    """Daily customer demand at a retailer.

    The mean on day ``t`` is ``base * (1 + trend * t / 365) * weekly[t % 7]
    * (1 + yearly_amplitude * cos(2 pi (t - yearly_peak_day) / 365)) * price effect
    * promotion lift``, with the price effect ``(price_t / price) ** price_elasticity``;
    the day's demand is Poisson or negative-binomial around that mean.
    """

    base_per_day: float = Field(default=20.0, gt=0, le=1e7, description="units per day")
    trend_per_year: float = Field(
        default=0.0, ge=-0.9, le=10.0, description="relative growth of the base per year"
    )
    weekly: list[float] = Field(
        default_factory=lambda: [1.0] * 7,
        min_length=7,
        max_length=7,
        description="relative demand Monday..Sunday (day 0 is a Monday); rescaled to mean 1",
    )
    yearly_amplitude: float = Field(default=0.0, ge=0, lt=1)
    yearly_peak_day: float = Field(default=350.0, ge=0, lt=365)
    price: float = Field(default=1.0, gt=0, description="regular shelf price, currency")
    price_elasticity: float = Field(default=-2.5, ge=-10, le=0)
    promotion_probability: float = Field(
        default=0.0, ge=0, le=1, description="chance that a week is a promotion week"
    )
    promotion_discount: float = Field(
        default=0.2, ge=0, lt=1, description="price cut in promotions"
    )
    promotion_lift: float = Field(
        default=1.0, ge=1, le=10, description="display/feature lift on top of the price effect"
    )
    promotion_notice_days: int = Field(
        default=28, ge=0, le=365, description="how far ahead the promotion calendar is known"
    )
    noise: Literal["poisson", "negative_binomial"] = "poisson"
    dispersion: float = Field(
        default=10.0, gt=0, description="negative binomial k: variance = mean + mean^2 / k"
    )
    step_day: float | None = Field(
        default=None, ge=0, description="day from which the base is multiplied by step_factor"
    )
    step_factor: float = Field(default=1.0, gt=0, le=100)

    @field_validator("weekly")
    @classmethod
    def _positive_weekly(cls, weekly: list[float]) -> list[float]:
        if any(not math.isfinite(w) or w <= 0 for w in weekly):
            raise ValueError("weekly factors must be finite and > 0")
        return weekly


class SiteSpec(_Spec):
    """One site of the network, and the lane from its source to it."""

    name: str = Field(min_length=1, max_length=40, pattern=_NAME)
    kind: SiteKind
    source: str | None = Field(
        default=None, description="the site this one orders from; none for a supplier"
    )
    distance_km: float = Field(default=50.0, ge=0, le=20_000, description="road km from source")
    location_km: tuple[FiniteFloat, FiniteFloat] | None = Field(
        default=None,
        description="map position (x, y) in km; sites with one are a stop-to-stop leg apart "
        "of road_circuity x the straight line (multi-stop truck routes)",
    )
    lead_time: Distribution = Field(
        default_factory=lambda: Deterministic(value=0.0),
        description="time the source takes to prepare this site's shipments before loading, s",
    )
    review_period_days: int = Field(default=1, ge=1, le=365)
    initial_on_hand: int = Field(default=0, ge=0, le=10**9)
    holding_cost_per_unit_day: float = Field(default=0.01, ge=0)
    order_cost: float = Field(default=0.0, ge=0, description="fixed cost of placing an order")
    shortage_cost_per_unit: float = Field(
        default=0.0,
        ge=0,
        description="lost sales: per unit lost; backorders: per unit backordered per day",
    )
    lost_sales: bool = Field(default=False, description="unmet demand is lost, not backordered")
    shelf_life_days: int | None = Field(
        default=None, ge=1, le=3650, description="stock is scrapped this many days after receipt"
    )
    obsolescence_cost_per_unit: float = Field(default=0.0, ge=0)
    capacity_units_per_day: float | None = Field(
        default=None, gt=0, description="plant production capacity (plants only)"
    )
    trucks: int = Field(default=5, ge=0, le=100_000, description="fleet based at this site")
    demand: DemandSpec | None = Field(default=None, description="customer demand (retailers)")


class ProductSpec(_Spec):
    """The one product (SKU) the network moves: handling units and weight."""

    units_per_pallet: int = Field(default=40, ge=1, le=100_000)
    kg_per_unit: float = Field(default=12.0, gt=0, le=1e5)

    @property
    def kg_per_pallet(self) -> float:
        return self.units_per_pallet * self.kg_per_unit


class TruckSpec(_Spec):
    """A truck type: capacity, speed, cost, handling times and fuel use."""

    capacity_pallets: int = Field(default=33, ge=1, le=1000)
    capacity_kg: float = Field(default=24_000.0, gt=0)
    speed_kmh: float = Field(default=60.0, gt=0, le=200)
    fixed_cost_per_trip: float = Field(default=60.0, ge=0)
    cost_per_km: float = Field(default=1.3, ge=0)
    dock_time_s: float = Field(default=900.0, ge=0, description="per stop, loading or unloading")
    handling_s_per_pallet: float = Field(default=60.0, ge=0)
    fuel_l_per_km_empty: float = Field(default=0.24, ge=0)
    fuel_l_per_km_full: float = Field(default=0.33, ge=0)
    travel_time_cv: float = Field(
        default=0.0,
        ge=0,
        le=2,
        description="variability of each leg's driving time (lognormal around distance / speed; "
        "0: every leg as planned)",
    )

    @model_validator(mode="after")
    def _fuel_ordered(self) -> TruckSpec:
        if self.fuel_l_per_km_full < self.fuel_l_per_km_empty:
            raise ValueError("fuel_l_per_km_full must be at least fuel_l_per_km_empty")
        return self


ROAD_CIRCUITY = 1.3
"""Road distance over straight-line distance (see docs/PARAMETERS.md)."""


class SupplyParams(ScenarioParams):
    """A supply network: sites, its product, its trucks, and how loads are dispatched."""

    sites: list[SiteSpec] = Field(min_length=2)
    product: ProductSpec = Field(default_factory=ProductSpec)
    truck: TruckSpec = Field(default_factory=TruckSpec)
    transport_policy: str = Field(
        default="transport/ship-now-v0", description="policy deciding when loads leave"
    )
    transport_policy_params: dict[str, object] = Field(default_factory=dict)
    transport_review_s: float = Field(
        default=4 * SECONDS_PER_HOUR,
        gt=0,
        description="how often waiting loads are reconsidered",
    )
    history_days: int = Field(
        default=91, ge=7, le=3650, description="days of demand history a policy is shown"
    )
    road_circuity: float = Field(
        default=ROAD_CIRCUITY,
        ge=1.0,
        le=5.0,
        description="road km over straight-line km between two sites with a location_km",
    )
    delivery_slack_s: float = Field(
        default=SECONDS_PER_DAY,
        ge=0,
        description="an order is due this long after its planned lead time (lateness KPIs)",
    )

    @field_validator("transport_policy")
    @classmethod
    def _a_transport_policy(cls, reference: str, info: ValidationInfo) -> str:
        # Checked here, not only when the run is built, so that a wrong id is reported
        # against this key like every other mistake in the config. The run itself
        # resolves the id again in its own registry (``world.registry``).
        _transport_policy_class(reference, info)
        return reference

    @model_validator(mode="after")
    def _transport_params_fit(self, info: ValidationInfo) -> SupplyParams:
        from twin.core.registry import make_policy

        try:
            policy_cls = _transport_policy_class(self.transport_policy, info)
        except ValueError as error:  # the default id, unknown to the registry in use
            _refuse(("transport_policy",), str(error), self.transport_policy)
        try:
            make_policy(policy_cls, dict(self.transport_policy_params))
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ("transport_policy_params", *first["loc"])
            _refuse(where, first["msg"], first.get("input"))
        except ValueError as error:  # a policy without parameters was given some
            _refuse(("transport_policy_params",), str(error), self.transport_policy_params)
        return self

    @model_validator(mode="after")
    def _a_valid_network(self) -> SupplyParams:
        names = [site.name for site in self.sites]
        for index, name in enumerate(names):
            if name in names[:index]:
                _refuse(("sites", index, "name"), f"site name {name!r} is used twice", name)
        by_name = {site.name: site for site in self.sites}
        for index, site in enumerate(self.sites):
            problem = _site_problem(site, by_name)
            if problem is not None:
                key, text = problem
                _refuse(("sites", index, key), text, getattr(site, key))
        for index, site in enumerate(self.sites):
            seen = [site.name]
            current = site
            while current.source is not None:
                current = by_name[current.source]
                if current.name in seen:
                    cycle = " -> ".join([*seen[seen.index(current.name) :], current.name])
                    _refuse(
                        ("sites", index, "source"),
                        f"the network has a cycle: {cycle}; sources must form a tree",
                        site.source,
                    )
                seen.append(current.name)
        if not any(site.kind == "retailer" for site in self.sites):
            kinds = sorted({site.kind for site in self.sites})
            _refuse(("sites",), "the network needs at least one retailer", kinds)
        if self.truck.capacity_kg < self.product.kg_per_pallet:
            _refuse(
                ("truck", "capacity_kg"),
                f"truck capacity_kg {self.truck.capacity_kg:g} is less than one pallet "
                f"({self.product.kg_per_pallet:g} kg = {self.product.units_per_pallet} units "
                f"x {self.product.kg_per_unit:g} kg)",
                self.truck.capacity_kg,
            )
        return self


def _transport_policy_class(reference: str, info: ValidationInfo) -> type[object]:
    return policy_in_params(reference, info, "supply.transport")


def _refuse(loc: tuple[str | int, ...], message: str, value: object) -> NoReturn:
    """Fail validation at ``loc`` (not at the model's root, whose input is the whole
    network), so the error names the key and shows only the value at fault."""
    raise ValidationError.from_exception_data(
        "SupplyParams",
        [
            InitErrorDetails(
                type=PydanticCustomError("supply_network", message), loc=loc, input=value
            )
        ],
    )


def _site_problem(site: SiteSpec, by_name: dict[str, SiteSpec]) -> tuple[str, str] | None:
    """The key of ``site`` at fault and what is wrong, or None."""
    where = f"{site.kind} {site.name!r}"
    if site.kind == "supplier":
        if site.source is not None:
            return "source", f"{where} has a source; suppliers are where the network starts"
        if site.demand is not None:
            return "demand", f"{where} has demand; only retailers face customers"
        return None
    if site.source is None:
        return "source", f"{where} has no supplier: set its source to an upstream site"
    source = by_name.get(site.source)
    if source is None:
        known = ", ".join(sorted(by_name))
        return "source", f"{where} orders from unknown site {site.source!r}; sites: {known}"
    if source.kind == "retailer":
        return "source", f"{where} orders from retailer {source.name!r}; retailers only sell"
    if site.kind == "plant":
        if site.capacity_units_per_day is None:
            return "capacity_units_per_day", f"{where} needs capacity_units_per_day"
        if source.kind != "supplier":
            return "source", f"{where} must source raw material from a supplier"
    elif site.capacity_units_per_day is not None:
        return "capacity_units_per_day", f"{where} has a capacity; only plants produce"
    if site.kind == "retailer":
        if site.demand is None:
            return "demand", f"{where} needs a demand table"
    elif site.demand is not None:
        return "demand", f"{where} has demand; only retailers face customers"
    if source.trucks == 0:
        return "source", f"{where} is served by {source.name!r}, which has no trucks"
    return None


# -- the params of the registered scenarios -----------------------------------------

HOLDING_RATE_PER_YEAR = 0.25
"""Carrying cost as a share of unit value per year (see docs/PARAMETERS.md)."""
RETAIL_WEEK = [0.85, 0.85, 0.9, 0.95, 1.15, 1.4, 0.9]
"""Monday..Sunday sales shape of a grocery-like store (see docs/PARAMETERS.md)."""


def holding_per_day(unit_value: float) -> float:
    return unit_value * HOLDING_RATE_PER_YEAR / 365.0


def _single_echelon_sites() -> list[SiteSpec]:
    return [
        SiteSpec(name="supplier", kind="supplier", trucks=5),
        SiteSpec(
            name="store",
            kind="retailer",
            source="supplier",
            distance_km=40.0,
            lead_time=Deterministic(value=2 * SECONDS_PER_DAY),
            initial_on_hand=60,
            holding_cost_per_unit_day=holding_per_day(20.0),
            shortage_cost_per_unit=0.5,
            trucks=0,
            demand=DemandSpec(base_per_day=20.0),
        ),
    ]


class SingleEchelonParams(SupplyParams):
    sites: list[SiteSpec] = Field(default_factory=_single_echelon_sites, min_length=2)


def _beer_game_sites() -> list[SiteSpec]:
    # Sterman (1989): four stages ordering weekly, two weeks' delay between stages,
    # 4 cases/week of demand stepping to 8 in week 5, 0.5 per case-week holding and
    # 1.0 per case-week backlog at every stage. Customer demand is Poisson around it.
    stage: dict[str, Any] = {
        "review_period_days": 7,
        "lead_time": Deterministic(value=2 * SECONDS_PER_WEEK),
        "distance_km": 0.0,
        "initial_on_hand": 12,
        "holding_cost_per_unit_day": 0.5 / 7,
        "shortage_cost_per_unit": 1.0 / 7,
        "trucks": 4,
    }
    return [
        SiteSpec(name="brewery-supply", kind="supplier", trucks=4),
        SiteSpec(
            name="factory",
            kind="plant",
            source="brewery-supply",
            capacity_units_per_day=1000.0,
            **stage,
        ),
        SiteSpec(name="distributor", kind="dc", source="factory", **stage),
        SiteSpec(name="wholesaler", kind="dc", source="distributor", **stage),
        SiteSpec(
            name="retailer",
            kind="retailer",
            source="wholesaler",
            demand=DemandSpec(base_per_day=4 / 7, step_day=28.0, step_factor=2.0),
            **{**stage, "trucks": 0},
        ),
    ]


class BeerGameParams(SupplyParams):
    sites: list[SiteSpec] = Field(default_factory=_beer_game_sites, min_length=2)


REGIONAL_DCS = 5
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
"""Bearing step between a DC's retailers (Vogel's sunflower: even spread over a disc)."""
REGIONAL_RETAILERS_PER_DC = 10


def regional_sites(
    dcs: int = REGIONAL_DCS, retailers_per_dc: int = REGIONAL_RETAILERS_PER_DC
) -> list[SiteSpec]:
    """A supplier, a plant, ``dcs`` distribution centres and their retailers.

    DCs sit on a ring 150 km around the plant, each DC's retailers 8-60 km from it
    (spread evenly over the disc's area, at golden-angle bearings so that they also
    spread around it: their map positions set the stop-to-stop legs of multi-stop
    routes); retailers differ in size (30-90 units a day) and all
    share a grocery-like week, a winter peak, growth and price promotions. Starting
    stock is about two weeks of each site's demand, so the warm-up is short.
    """
    unit_value = 20.0
    holding = holding_per_day(unit_value)
    sites: list[SiteSpec] = []
    retailer_means = [
        30.0 + 60.0 * ((k * 7) % retailers_per_dc) / max(retailers_per_dc - 1, 1)
        for k in range(retailers_per_dc)
    ]
    total_per_dc = sum(retailer_means)
    total = total_per_dc * dcs
    sites.append(SiteSpec(name="supplier", kind="supplier", trucks=max(4, dcs)))
    sites.append(
        SiteSpec(
            name="plant",
            kind="plant",
            source="supplier",
            distance_km=120.0,
            lead_time=Gamma(mean=3 * SECONDS_PER_DAY, cv=0.3),
            review_period_days=7,
            initial_on_hand=round(total * 14),
            holding_cost_per_unit_day=holding * 0.5,
            order_cost=200.0,
            capacity_units_per_day=round(total * 1.3),
            trucks=max(4, 2 * dcs),
        )
    )
    for d in range(dcs):
        angle = 2 * math.pi * d / dcs
        dc_x, dc_y = 150.0 * math.cos(angle), 150.0 * math.sin(angle)
        dc = f"dc{d:02d}"
        sites.append(
            SiteSpec(
                name=dc,
                kind="dc",
                source="plant",
                distance_km=round(ROAD_CIRCUITY * math.hypot(dc_x, dc_y), 1),
                location_km=(round(dc_x, 1), round(dc_y, 1)),
                lead_time=Gamma(mean=0.5 * SECONDS_PER_DAY, cv=0.5),
                review_period_days=2,
                initial_on_hand=round(total_per_dc * 10),
                holding_cost_per_unit_day=holding * 0.8,
                order_cost=100.0,
                trucks=retailers_per_dc,
            )
        )
        for r in range(retailers_per_dc):
            radius = 8.0 + 52.0 * math.sqrt((r + 0.5) / retailers_per_dc)
            bearing = GOLDEN_ANGLE * r
            sites.append(
                SiteSpec(
                    name=f"r{d:02d}-{r:02d}",
                    kind="retailer",
                    source=dc,
                    distance_km=round(ROAD_CIRCUITY * radius, 1),
                    location_km=(
                        round(dc_x + radius * math.cos(bearing), 1),
                        round(dc_y + radius * math.sin(bearing), 1),
                    ),
                    lead_time=Gamma(mean=0.25 * SECONDS_PER_DAY, cv=0.5),
                    review_period_days=1,
                    initial_on_hand=round(retailer_means[r] * 5),
                    holding_cost_per_unit_day=holding,
                    order_cost=10.0,
                    shortage_cost_per_unit=2.0,
                    lost_sales=True,
                    trucks=0,
                    demand=DemandSpec(
                        base_per_day=retailer_means[r],
                        trend_per_year=0.03,
                        weekly=RETAIL_WEEK,
                        yearly_amplitude=0.15,
                        yearly_peak_day=350.0,
                        price=unit_value * 1.5,
                        price_elasticity=-2.5,
                        promotion_probability=0.1,
                        promotion_discount=0.2,
                        promotion_lift=1.3,
                        noise="negative_binomial",
                        dispersion=20.0,
                    ),
                )
            )
    return sites


class RegionalParams(SupplyParams):
    sites: list[SiteSpec] = Field(default_factory=regional_sites, min_length=2)


class RegionalTransportParams(RegionalParams):
    """The regional network with the transport policy as the run's policy (the arm of an
    experiment), and the replenishment policy that places the orders named here."""

    replenishment_policy: str = Field(
        default="replenishment/base-stock-v0", description="policy placing the sites' orders"
    )
    replenishment_policy_params: dict[str, object] = Field(default_factory=dict)

    @field_validator("replenishment_policy")
    @classmethod
    def _a_replenishment_policy(cls, reference: str, info: ValidationInfo) -> str:
        policy_in_params(reference, info, "supply.replenishment")
        return reference

    @model_validator(mode="after")
    def _transport_is_the_run_policy(self) -> RegionalTransportParams:
        if "transport_policy" in self.model_fields_set or self.transport_policy_params:
            key = (
                "transport_policy"
                if "transport_policy" in self.model_fields_set
                else ("transport_policy_params")
            )
            _refuse(
                (key,),
                "in this scenario the transport policy is the run's policy (an experiment's "
                "arm); set replenishment_policy for the orders",
                getattr(self, key),
            )
        return self
