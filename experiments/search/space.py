"""The searched parameters: Optuna distributions, and candidates as scenario and policy params.

A parameter is a key path into the scenario's or the policy's params. A path may pass
through a list (``scenario.params.stations.1.processing.mean``) or set a key in every
element of one (``scenario.params.stations.*.degradation.drift_per_h``); a list the
config leaves at its default is taken from the scenario's params model first, so the
path sets one value and keeps the rest of the default.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from experiments.search.config import Parameter, SearchConfig
from twin.core.registry import Registry
from twin.core.scenario import ScenarioConfig


@dataclass(frozen=True)
class Candidate:
    """One point of the search as what a run needs: scenario config and policy params."""

    label: str
    values: dict[str, Any]
    scenario: ScenarioConfig
    policy_params: dict[str, Any]


def distributions(config: SearchConfig) -> dict[str, BaseDistribution]:
    """Optuna's distribution of every parameter, in the config's order."""
    return {key: distribution(parameter) for key, parameter in config.parameters.items()}


def distribution(parameter: Parameter) -> BaseDistribution:
    if parameter.choices is not None:
        return CategoricalDistribution(parameter.choices)
    assert parameter.low is not None
    assert parameter.high is not None
    if parameter.integer:
        return IntDistribution(int(parameter.low), int(parameter.high), log=parameter.log)
    return FloatDistribution(parameter.low, parameter.high, log=parameter.log)


def candidate(
    config: SearchConfig, values: dict[str, Any], label: str, registry: Registry
) -> Candidate:
    """The scenario config and policy params with ``values`` (key path -> value) set."""
    scenario_params = copy.deepcopy(config.scenario.params)
    policy_params = copy.deepcopy(config.policy.params)
    defaults: dict[str, Any] | None = None
    for key, value in values.items():
        owner, _, *path = key.split(".")
        if owner == "policy":
            set_path(policy_params, path, value)
            continue
        top = path[0]
        if top not in scenario_params and len(path) > 1:
            # The path goes into a value the config leaves at its default (a list of
            # stations, say): start from that default so its other entries stay.
            if defaults is None:
                defaults = scenario_defaults(config.scenario, registry)
            if top in defaults:
                scenario_params[top] = copy.deepcopy(defaults[top])
        set_path(scenario_params, path, value)
    scenario = config.scenario.model_copy(update={"params": scenario_params})
    return Candidate(label, dict(values), scenario, policy_params)


def baseline(config: SearchConfig, registry: Registry) -> Candidate:
    """The scenario and policy as the config writes them."""
    return candidate(config, {}, "baseline", registry)


def scenario_defaults(scenario: ScenarioConfig, registry: Registry) -> dict[str, Any]:
    """The scenario's params with every default filled in, as plain data."""
    cls = registry.scenario(scenario.id)
    params = cls.Params.model_validate(scenario.params, context={"registry": registry})
    dumped: dict[str, Any] = params.model_dump(mode="json")
    return dumped


def set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    """Set ``value`` at ``path`` in nested dicts and lists (``*``: every list element).

    Raises:
        ValueError: the path names an element that is not there.
    """
    head, *rest = path
    if isinstance(data, list):
        if head == "*":
            targets = range(len(data))
        elif head.isdigit() and int(head) < len(data):
            targets = range(int(head), int(head) + 1)
        else:
            raise ValueError(f"{head!r} is not an index of a list of {len(data)}")
        for index in targets:
            if rest:
                set_path(data[index], rest, value)
            else:
                data[index] = value
        return
    if not isinstance(data, dict):
        raise ValueError(f"{head!r} is inside a value that is neither a table nor a list")
    if head == "*":
        raise ValueError("'*' stands for every element of a list, and this is a table")
    if not rest:
        data[head] = value
        return
    if head not in data or data[head] is None:
        data[head] = {}
    set_path(data[head], rest, value)


def corners(config: SearchConfig) -> list[dict[str, Any]]:
    """The lowest and the highest value of every parameter (first and last choice):
    the candidates checked before a search starts."""
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for key, parameter in config.parameters.items():
        if parameter.choices is not None:
            low[key], high[key] = parameter.choices[0], parameter.choices[-1]
        else:
            assert parameter.low is not None
            assert parameter.high is not None
            cast = int if parameter.integer else float
            low[key], high[key] = cast(parameter.low), cast(parameter.high)
    return [low, high]
