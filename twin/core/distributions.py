"""Time distributions for configs (service, processing, repair, travel times).

Each is a pydantic model selected by ``kind`` and parameterised by its mean and
coefficient of variation where that is meaningful, because those are the two moments
queueing approximations (Kingman, Allen-Cunneen) and data sheets speak in.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.core.streams import Draws


class _Distribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    @abstractmethod
    def mean_s(self) -> float: ...

    @property
    @abstractmethod
    def scv(self) -> float:
        """Squared coefficient of variation, variance / mean**2."""

    @abstractmethod
    def draws(self, rng: np.random.Generator, block: int = 4096) -> Draws:
        """An endless iterator of values in seconds, drawn from ``rng`` in blocks."""


class Exponential(_Distribution):
    kind: Literal["exponential"] = "exponential"
    mean: float = Field(gt=0, description="mean, s")

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def scv(self) -> float:
        return 1.0

    def draws(self, rng: np.random.Generator, block: int = 4096) -> Draws:
        mean = self.mean
        return Draws(lambda n: rng.exponential(mean, n), block, source=rng)


class Deterministic(_Distribution):
    kind: Literal["deterministic"] = "deterministic"
    value: float = Field(ge=0, description="the fixed value, s")

    @property
    def mean_s(self) -> float:
        return self.value

    @property
    def scv(self) -> float:
        return 0.0

    def draws(self, rng: np.random.Generator, block: int = 4096) -> Draws:
        value = self.value
        return Draws(lambda n: np.full(n, value), block)


class Gamma(_Distribution):
    """Gamma with a given mean and coefficient of variation (cv = 1/sqrt(k) gives Erlang-k)."""

    kind: Literal["gamma"] = "gamma"
    mean: float = Field(gt=0, description="mean, s")
    cv: float = Field(gt=0, le=10, description="coefficient of variation (std / mean)")

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def scv(self) -> float:
        return self.cv**2

    def draws(self, rng: np.random.Generator, block: int = 4096) -> Draws:
        shape = 1.0 / self.cv**2
        scale = self.mean / shape
        return Draws(lambda n: rng.gamma(shape, scale, n), block, source=rng)


class Lognormal(_Distribution):
    """Lognormal with a given mean and coefficient of variation (repair times, typically)."""

    kind: Literal["lognormal"] = "lognormal"
    mean: float = Field(gt=0, description="mean, s")
    cv: float = Field(gt=0, le=10, description="coefficient of variation (std / mean)")

    @property
    def mean_s(self) -> float:
        return self.mean

    @property
    def scv(self) -> float:
        return self.cv**2

    def draws(self, rng: np.random.Generator, block: int = 4096) -> Draws:
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - sigma2 / 2
        sigma = math.sqrt(sigma2)
        return Draws(lambda n: rng.lognormal(mu, sigma, n), block, source=rng)


class Uniform(_Distribution):
    kind: Literal["uniform"] = "uniform"
    low: float = Field(ge=0, description="lower bound, s")
    high: float = Field(gt=0, description="upper bound, s")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high <= self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        return self

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2

    @property
    def scv(self) -> float:
        return ((self.high - self.low) ** 2 / 12) / self.mean_s**2

    def draws(self, rng: np.random.Generator, block: int = 4096) -> Draws:
        low, high = self.low, self.high
        return Draws(lambda n: rng.uniform(low, high, n), block, source=rng)


Distribution = Annotated[
    Exponential | Deterministic | Gamma | Lognormal | Uniform, Field(discriminator="kind")
]
"""Any time distribution, chosen in a config by ``kind = "exponential"`` etc."""
