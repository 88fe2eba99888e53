"""The supply network as a config: sites, the lanes between them, demand, trucks, costs.

Each site orders from one ``source``; the sources make a forest rooted at suppliers.
Defaults and their sources: docs/PARAMETERS.md (section "Supply chain").
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, NoReturn

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from twin.core.config import policy_in_params
from twin.core.distributions import Deterministic, Distribution
from twin.core.scenario import ScenarioParams
from twin.core.units import SECONDS_PER_HOUR

if TYPE_CHECKING:
    pass

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

    @model_validator(mode="after")
    def _fuel_ordered(self) -> TruckSpec:
        if self.fuel_l_per_km_full < self.fuel_l_per_km_empty:
            raise ValueError("fuel_l_per_km_full must be at least fuel_l_per_km_empty")
        return self


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
