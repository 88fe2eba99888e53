"""``supply.replenishment`` as learning agents see it: one agent per stocking site.

Every plant, DC and retailer reviews its stock every ``review_period_days`` and orders
from its source; each is an agent named ``site:<name>`` (what ``entity_of`` names it),
in the config's order. Suppliers never decide.

Quantities are normalised per site by two scales (:func:`site_scales`):

- ``D``, the site's **mean daily demand**: the configured base demand
  (``base_per_day``) of the retailers it serves, itself included (a plant or DC serves
  every retailer below it); for a site the network does not have (a made-up
  observation), the mean of its demand history, else one unit a day;
- ``U = D * (lead time + review period)``, the mean demand over the planned lead time
  (preparation + travel) plus the review period: the order-up-to level a base-stock
  policy would keep, at least one unit.

**Observation** (37 ``float32`` elements, every one bounded; :data:`OBSERVATION_ELEMENTS`
names them in order):

======  ======================  ===================================================
 0      ``on_hand``             units in stock / U, [0, :data:`STOCK_CLIP`]
 1      ``on_order``            units ordered, not received / U, [0, STOCK_CLIP]
 2      ``backorders``          units owed / U, [0, STOCK_CLIP]
 3      ``inventory_position``  on hand + on order - backorders / U, [-STOCK_CLIP,
                                STOCK_CLIP]
 4-17   ``demand_-13`` ..       daily demand of the last 14 days (orders received, for
        ``demand_0``            a site upstream), newest last, / D, [0,
                                :data:`DEMAND_CLIP`]; 0 before the history has the day
 18     ``demand_days``         days of history present, of 14, [0, 1]
 19     ``demand_mean``         mean of the whole history shown (91 days by default)
                                / D, [0, DEMAND_CLIP]; 0 without history
 20     ``demand_std``          its sample standard deviation / D, [0, DEMAND_CLIP]
 21     ``lead_time_mean``      observed mean order-to-receipt days /
                                :data:`LEAD_TIME_SCALE_DAYS`, [0, 4]
 22     ``lead_time_std``       its standard deviation, same scale, [0, 4]
 23     ``review_period``       days between reviews, same scale, [0, 4]
 24-26  ``is_plant``,           the site's kind, one-hot
        ``is_dc``,
        ``is_retailer``
 27     ``price_today``         today's planned shelf price / the regular price, [0, 4];
                                0 when no price is planned (upstream sites)
 28     ``price_missing``       1 when there is no price plan, else 0
 29     ``promotion_today``     1 when today is a planned promotion day, else 0
 30     ``promotion_week``      share of the next 7 days (from today) planned as
                                promotion days, [0, 1]
 31     ``critical_ratio``      shortage / (shortage + holding) cost per unit, [0, 1]
                                (0.5 when both are free): the newsvendor's service target
 32     ``lost_sales``          1 when unmet demand is lost, 0 when backordered
 33     ``perishable``          1 when stock spoils, else 0
 34     ``shelf_life``          shelf life / LEAD_TIME_SCALE_DAYS, [0, 4]; 0 when it
                                does not spoil
 35     ``weekday_sin``         sin(2 pi weekday / 7) of the review day (day 0 a Monday)
 36     ``weekday_cos``         cos(2 pi weekday / 7)
======  ======================  ===================================================

**Actions** (``Discrete(9)``): index ``k`` orders ``k * lot`` units, ``k = 0..8``, with
``lot = max(1, round(D * review_period_days / 2))``: half the site's mean demand of one
review period, so the choices run from no order to four periods' demand (capped so that
``8 * lot <= MAX_ORDER_UNITS``).

**Rewards** (each the drop of a running total since the agent's previous turn):
``"cost"`` (default, :data:`~twin.core.learning.COST`): minus all money the network
booked (holding, shortage, truck trips, ordering, obsolescence) -- the issue's
"replenishment: negative holding + shortage + transport"; ``"holding"`` and
``"shortage"``: minus that category, booked at the agent's own site (the whole
network's when the agent is ``None``); ``"site-cost"``: minus all money booked at the
agent's own site (holding, shortage, ordering, obsolescence: a beer-game stage's own
cost, for independent learners); ``"transport"``: minus the truck trips' money of the
whole network (trips are booked against the trucks, not one site).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from twin.core.learning import COST, LearningInterface, Reward
from twin.core.world import World
from twin.supply.network import Site, SupplyNetwork
from twin.supply.observation import (
    MAX_ORDER_UNITS,
    ReplenishmentAction,
    ReplenishmentObservation,
)

HISTORY_DAYS = 14
"""Days of demand shown one by one: two weeks, so a weekly pattern is seen twice."""
STOCK_CLIP = 10.0
"""Stock is shown up to ten order-up-to levels: beyond that a site is simply overstocked."""
DEMAND_CLIP = 20.0
"""A day's demand is shown up to twenty mean days (a weekly order at a daily scale is
seven; the beer game's bullwhip rarely passes three times that)."""
LEAD_TIME_SCALE_DAYS = 28.0
"""Days are shown in four-week units (the beer game's delay plus review is three weeks)."""
DAYS_CLIP = 4.0
"""Day counts are shown up to sixteen weeks."""
PRICE_CLIP = 4.0
"""Prices are shown up to four times the regular price."""
ORDER_STEPS = 8
"""Largest multiple of the lot an action orders: with half-period lots, four periods'
demand, enough to catch up after a stock-out or a demand step."""
LOT_SHARE = 0.5
"""A lot is this share of the site's mean demand over one review period."""
FALLBACK_DEMAND_PER_DAY = 1.0
"""Daily demand assumed for a site the network does not have and whose history is empty."""
KINDS = ("plant", "dc", "retailer")
"""The kinds of site that decide, in the one-hot's order."""

OBSERVATION_ELEMENTS: tuple[str, ...] = (
    "on_hand", "on_order", "backorders", "inventory_position",
    *(f"demand_{k - HISTORY_DAYS + 1}" for k in range(HISTORY_DAYS)),
    "demand_days", "demand_mean", "demand_std",
    "lead_time_mean", "lead_time_std", "review_period",
    "is_plant", "is_dc", "is_retailer",
    "price_today", "price_missing", "promotion_today", "promotion_week",
    "critical_ratio", "lost_sales", "perishable", "shelf_life",
    "weekday_sin", "weekday_cos",
)  # fmt: skip
"""The name of each element of the encoded observation, in order."""

_INDEX = {name: k for k, name in enumerate(OBSERVATION_ELEMENTS)}
_HISTORY = slice(4, 4 + HISTORY_DAYS)
_LOW = np.zeros(len(OBSERVATION_ELEMENTS), dtype=np.float32)
_HIGH = np.ones(len(OBSERVATION_ELEMENTS), dtype=np.float32)
_HIGH[0:4] = STOCK_CLIP
_LOW[_INDEX["inventory_position"]] = -STOCK_CLIP
_HIGH[_HISTORY] = DEMAND_CLIP
_HIGH[[_INDEX["demand_mean"], _INDEX["demand_std"]]] = DEMAND_CLIP
for _name in ("lead_time_mean", "lead_time_std", "review_period", "shelf_life"):
    _HIGH[_INDEX[_name]] = DAYS_CLIP
_HIGH[_INDEX["price_today"]] = PRICE_CLIP
_LOW[[_INDEX["weekday_sin"], _INDEX["weekday_cos"]]] = -1.0


def agents(network: SupplyNetwork) -> tuple[str, ...]:
    """Every stocking site (plant, DC, retailer) as ``site:<name>``, in config order."""
    return tuple(site.name for site in network.stocked)


def observation_space(network: SupplyNetwork, agent: str) -> spaces.Box:
    """37 bounded elements (the module's table), the same for every site."""
    return spaces.Box(_LOW.copy(), _HIGH.copy(), shape=_LOW.shape, dtype=np.float32)


def site_named(network: SupplyNetwork, name: str) -> Site | None:
    """The stocking site called ``name`` (config name), or ``None``."""
    for site in network.stocked:
        if site.site_name == name:
            return site
    return None


def served_demand_per_day(network: SupplyNetwork, site: Site) -> float:
    """Configured base daily demand of the retailers ``site`` serves (itself included)."""
    total = 0.0
    for retailer in network.retailers:
        current: Site | None = retailer
        while current is not None and not current.is_supplier:
            if current is site:
                assert retailer.spec.demand is not None
                total += retailer.spec.demand.base_per_day
                break
            current = current.source
    return total


def site_scales(network: SupplyNetwork, obs: ReplenishmentObservation) -> tuple[float, float]:
    """``(D, U)``: the site's mean daily demand and its demand over lead time plus
    review (the module's docstring), both > 0."""
    site = site_named(network, obs.site)
    if site is not None:
        daily = served_demand_per_day(network, site)
        lead_days = site.planned_lead_time_days
    else:
        history = obs.demand_history
        daily = sum(history) / len(history) if history else 0.0
        lead_days = obs.lead_time_mean_days
    if not daily > 0.0:
        daily = FALLBACK_DEMAND_PER_DAY
    return daily, max(daily * (lead_days + obs.review_period_days), 1.0)


def _regular_price(network: SupplyNetwork, obs: ReplenishmentObservation) -> float:
    site = site_named(network, obs.site)
    if site is not None and site.spec.demand is not None:
        return site.spec.demand.price
    prices = obs.price_history or obs.price_plan
    return sum(prices) / len(prices) if prices else 1.0


def _clip(x: float, low: float, high: float) -> float:
    """``x`` clipped into ``[low, high]`` (NaN to 0)."""
    if x != x:  # NaN
        return 0.0
    return min(max(x, low), high)


def encode(network: SupplyNetwork, obs: ReplenishmentObservation) -> npt.NDArray[np.float32]:
    """The observation as the module's 37 elements."""
    daily, level = site_scales(network, obs)
    v = np.zeros(len(OBSERVATION_ELEMENTS), dtype=np.float64)
    v[0] = _clip(obs.on_hand / level, 0.0, STOCK_CLIP)
    v[1] = _clip(obs.on_order / level, 0.0, STOCK_CLIP)
    v[2] = _clip(obs.backorders / level, 0.0, STOCK_CLIP)
    v[3] = _clip(obs.inventory_position / level, -STOCK_CLIP, STOCK_CLIP)
    history = obs.demand_history
    recent = history[-HISTORY_DAYS:]
    first = _HISTORY.start + HISTORY_DAYS - len(recent)
    for k, units in enumerate(recent):
        v[first + k] = _clip(units / daily, 0.0, DEMAND_CLIP)
    v[_INDEX["demand_days"]] = len(recent) / HISTORY_DAYS
    if history:
        values = np.asarray(history, dtype=np.float64)
        v[_INDEX["demand_mean"]] = _clip(float(values.mean()) / daily, 0.0, DEMAND_CLIP)
        if values.size > 1:
            std = float(values.std(ddof=1))
            v[_INDEX["demand_std"]] = _clip(std / daily, 0.0, DEMAND_CLIP)
    days = LEAD_TIME_SCALE_DAYS
    v[_INDEX["lead_time_mean"]] = _clip(obs.lead_time_mean_days / days, 0.0, DAYS_CLIP)
    v[_INDEX["lead_time_std"]] = _clip(obs.lead_time_std_days / days, 0.0, DAYS_CLIP)
    v[_INDEX["review_period"]] = _clip(obs.review_period_days / days, 0.0, DAYS_CLIP)
    if obs.kind in KINDS:
        v[_INDEX["is_plant"] + KINDS.index(obs.kind)] = 1.0
    if obs.price_plan:
        regular = _regular_price(network, obs)
        ratio = obs.price_plan[0] / regular if regular > 0 else 1.0
        v[_INDEX["price_today"]] = _clip(ratio, 0.0, PRICE_CLIP)
    else:
        v[_INDEX["price_missing"]] = 1.0
    plan = obs.promotion_plan
    v[_INDEX["promotion_today"]] = 1.0 if plan and plan[0] else 0.0
    v[_INDEX["promotion_week"]] = sum(1 for day in plan[:7] if day) / 7
    holding, shortage = obs.holding_cost_per_unit_day, obs.shortage_cost_per_unit
    both = holding + shortage
    v[_INDEX["critical_ratio"]] = _clip(shortage / both, 0.0, 1.0) if both > 0 else 0.5
    v[_INDEX["lost_sales"]] = 1.0 if obs.lost_sales else 0.0
    if math.isfinite(obs.shelf_life_days):
        v[_INDEX["perishable"]] = 1.0
        v[_INDEX["shelf_life"]] = _clip(obs.shelf_life_days / days, 0.0, DAYS_CLIP)
    angle = 2.0 * math.pi * (obs.day % 7) / 7
    v[_INDEX["weekday_sin"]] = math.sin(angle)
    v[_INDEX["weekday_cos"]] = math.cos(angle)
    return np.clip(v, _LOW, _HIGH).astype(np.float32)


def action_space(network: SupplyNetwork, agent: str) -> spaces.Discrete:
    """Order 0, 1, .., 8 lots (the module's docstring)."""
    return spaces.Discrete(ORDER_STEPS + 1)


def lot_units(network: SupplyNetwork, obs: ReplenishmentObservation) -> int:
    """Units of one lot: half the site's mean demand over a review period, at least 1."""
    daily, _ = site_scales(network, obs)
    lot = max(1, round(LOT_SHARE * daily * obs.review_period_days))
    return min(lot, MAX_ORDER_UNITS // ORDER_STEPS)


def decode(
    network: SupplyNetwork, obs: ReplenishmentObservation, index: int
) -> ReplenishmentAction:
    """Order ``index * lot_units`` units."""
    index = int(index)
    if not 0 <= index <= ORDER_STEPS:
        raise ValueError(f"supply.replenishment action index {index} outside [0, {ORDER_STEPS}]")
    return ReplenishmentAction(order_units=index * lot_units(network, obs))


def _booked(world: World, category: str, agent: str | None) -> float:
    """Money booked under ``category``, at the agent's site (all sites for ``None``)."""
    if agent is None:
        return world.ledger.cost(category)
    site = agent.removeprefix("site:")
    return sum(
        amount
        for cat, _, entity, amount in world.ledger.money_rows()
        if cat == category and entity == site
    )


def holding_cost(world: World, network: SupplyNetwork, agent: str | None) -> float:
    """Holding money booked (at the agent's site, or all)."""
    return _booked(world, "holding", agent)


def shortage_cost(world: World, network: SupplyNetwork, agent: str | None) -> float:
    """Shortage money booked: lost sales and backorder-days (at the agent's site, or all)."""
    return _booked(world, "shortage", agent)


def site_cost(world: World, network: SupplyNetwork, agent: str | None) -> float:
    """Money booked under the agent's site's name (holding, shortage, ordering,
    obsolescence); under every stocking site's name for ``None``."""
    names = (
        {site.site_name for site in network.stocked}
        if agent is None
        else {agent.removeprefix("site:")}
    )
    return sum(amount for _, _, entity, amount in world.ledger.money_rows() if entity in names)


def transport_cost(world: World, network: SupplyNetwork, agent: str | None) -> float:
    """Truck trip money booked by the whole network."""
    return world.ledger.cost("transport")


HOLDING = Reward(
    name="holding",
    description="minus the holding cost booked since the previous turn (units in stock "
    "at each day's close x holding_cost_per_unit_day), at the agent's site; the whole "
    "network's without an agent",
    measure=holding_cost,
    kind="drop",
)
SHORTAGE = Reward(
    name="shortage",
    description="minus the shortage cost booked since the previous turn (units lost x "
    "shortage_cost_per_unit, or units backordered at each day's close x the same), at "
    "the agent's site; the whole network's without an agent",
    measure=shortage_cost,
    kind="drop",
)
SITE_COST = Reward(
    name="site-cost",
    description="minus the money booked at the agent's site since the previous turn "
    "(holding, shortage, ordering, obsolescence: the per-stage cost of the beer game, "
    "Sterman 1989); every site's without an agent; truck trips are left out",
    measure=site_cost,
    kind="drop",
)
TRANSPORT = Reward(
    name="transport",
    description="minus the truck trip cost booked since the previous turn (fixed cost "
    "per trip + cost per km, there and back), whole network",
    measure=transport_cost,
    kind="drop",
)


EPISODE_S = 182 * 86_400.0
"""Half a year of daily reviews: the beer game's classic run is 36 to 52 weeks (Sterman
1989), and half a year holds a season of the regional network's demand."""


def replenishment_learning() -> LearningInterface[SupplyNetwork]:
    """``supply.replenishment`` for :mod:`twin.rl` (the module's docstring)."""
    return LearningInterface(
        agents=agents,
        observation_space=observation_space,
        encode=encode,
        action_space=action_space,
        decode=decode,
        rewards={
            "cost": COST,
            "site-cost": SITE_COST,
            "holding": HOLDING,
            "shortage": SHORTAGE,
            "transport": TRANSPORT,
        },
        default_reward="cost",
        episode_s=EPISODE_S,
        description="37 bounded elements per site (stock, orders, backorders and position "
        "over demand across lead time + review, two weeks of demand, lead times, prices, "
        "promotions, costs); 9 choices: order 0..8 lots of half a review period's demand",
    )
