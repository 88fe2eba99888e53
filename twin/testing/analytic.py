"""Test functions with known sensitivity indices, wrapped as scenarios.

A sensitivity or optimisation experiment is only trusted once it recovers answers known
in closed form. ``Ishigami`` is the standard test of Sobol' estimators (Ishigami and
Homma 1990; indices in Sobol' and Levitan 1999): a scenario whose one KPI ``y`` is the
function of its three parameters, plus optional Gaussian noise from a named stream, so
replications behave as they do in a simulation.

These scenarios live here, next to the other checks, and are used by reference
(``twin.testing.analytic:Ishigami``), not as entry points: a registered scenario must
belong to a registered domain with its kit, invariants and learning interface, which a
closed-form function has none of. A ``package.module:Class`` reference resolves in any
worker that can import twin, so these run on every executor.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import Field

from twin.core.policy import BasePolicy, Policy
from twin.core.scenario import KPI, Scenario, ScenarioParams
from twin.core.world import World

ANALYTIC = "analytic"
"""The area of the closed-form scenarios and their one policy (not a registered domain)."""


class NoDecisions(BasePolicy[None, None]):
    """The policy of a scenario that asks for no decisions; it is never called."""

    id: ClassVar[str] = "analytic/no-decisions-v0"
    domain: ClassVar[str] = ANALYTIC

    def act(self, obs: None) -> None:
        raise RuntimeError("a closed-form scenario asks for no decisions")


class IshigamiParams(ScenarioParams):
    x1: float = Field(default=0.0, ge=-math.pi, le=math.pi, description="input 1")
    x2: float = Field(default=0.0, ge=-math.pi, le=math.pi, description="input 2")
    x3: float = Field(default=0.0, ge=-math.pi, le=math.pi, description="input 3")
    a: float = Field(default=7.0, description="weight of sin(x2)^2 (7 in the literature)")
    b: float = Field(default=0.1, description="weight of x3^4 sin(x1) (0.1 in the literature)")
    noise_sd: float = Field(default=0.0, ge=0, description="sd of the noise added to y")


def ishigami(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """``sin(x1) + a sin(x2)^2 + b x3^4 sin(x1)``."""
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> dict[str, tuple[float, float]]:
    """Exact (first-order, total) Sobol' indices of x1, x2, x3 uniform on [-pi, pi]."""
    pi4 = math.pi**4
    v1 = 0.5 * (1 + b * pi4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * pi4**2 / 225
    variance = v1 + v2 + v13
    return {
        "x1": (v1 / variance, (v1 + v13) / variance),
        "x2": (v2 / variance, v2 / variance),
        "x3": (0.0, v13 / variance),
    }


class Ishigami(Scenario[IshigamiParams]):
    """``y = ishigami(x1, x2, x3)`` (+ noise): a run that only reads its parameters."""

    id: ClassVar[str] = "analytic/ishigami-v0"
    domain: ClassVar[str] = ANALYTIC
    description: ClassVar[str] = "the Ishigami function, a sensitivity-analysis test case"
    Params = IshigamiParams
    default_policy: ClassVar[str] = "twin.testing.analytic:NoDecisions"
    headline_kpis: ClassVar[tuple[str, ...]] = ("y",)

    def build(self, world: World, policy: Policy[Any, Any]) -> None:
        """Nothing to build: the output is a function of the parameters."""

    def kpis(self, world: World) -> dict[str, KPI]:
        p = self.params
        y = ishigami(p.x1, p.x2, p.x3, p.a, p.b)
        if p.noise_sd > 0:
            y += p.noise_sd * float(world.streams["analytic.noise"].standard_normal())
        return {"y": KPI(y, "1", "the Ishigami function of x1, x2, x3, with noise")}
