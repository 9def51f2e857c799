"""Distributions as data.

A distribution is written in YAML as a mapping, ``{dist: lognormal, mean: 7, sd: 4}``,
or as a bare number for a fixed value.  Every distribution is sampled by inversion:
``ppf(u)`` maps one uniform number in (0, 1) to a value.  Sampling by inversion is
what lets the model give each patient its own block of uniform numbers and so keep
common random numbers across scenarios (see :mod:`sim.rng`).
"""

from __future__ import annotations

import math
from functools import cached_property
from statistics import NormalDist
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

try:
    # What NormalDist.inv_cdf calls once it has checked its argument, which ppf has
    # already kept inside (0, 1): CPython's C version, with mu and sigma applied in
    # C.  The same values (mu + sigma * z), at half the cost.
    from statistics import _normal_dist_inv_cdf as _inv_cdf  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other Pythons

    def _inv_cdf(p: float, mu: float, sigma: float) -> float:
        return NormalDist(mu, sigma).inv_cdf(p)


_U_MIN = 1e-12  # keeps ppf away from the infinite tails at u == 0 or 1


_U_MAX = 1.0 - _U_MIN


def _clip(u: float) -> float:
    return u if _U_MIN < u < _U_MAX else (_U_MIN if u <= _U_MIN else _U_MAX)


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def ppf(self, u: float) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def mean_value(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0)

    def ppf(self, u: float) -> float:
        return self.value

    @property
    def mean_value(self) -> float:
        return self.value


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean: float = Field(gt=0)

    def ppf(self, u: float) -> float:
        return -self.mean * math.log1p(-(u if _U_MIN < u < _U_MAX else _clip(u)))

    @property
    def mean_value(self) -> float:
        return self.mean


class Lognormal(_Dist):
    """Lognormal given by the mean and standard deviation of the value itself."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    @cached_property
    def _mu_sigma(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def ppf(self, u: float) -> float:
        mu, sigma = self._mu_sigma
        return math.exp(_inv_cdf(u if _U_MIN < u < _U_MAX else _clip(u), mu, sigma))

    @property
    def mean_value(self) -> float:
        return self.mean


class Gamma(_Dist):
    """Gamma given by its mean and standard deviation."""

    dist: Literal["gamma"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    def ppf(self, u: float) -> float:
        shape = (self.mean / self.sd) ** 2
        scale = self.sd**2 / self.mean
        from scipy import special  # here: it takes a quarter of a second to import

        return float(special.gammaincinv(shape, _clip(u))) * scale

    @property
    def mean_value(self) -> float:
        return self.mean


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self

    def ppf(self, u: float) -> float:
        return self.low + (self.high - self.low) * u

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self

    def ppf(self, u: float) -> float:
        a, c, b = self.low, self.mode, self.high
        cut = (c - a) / (b - a)
        if u < cut:
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1 - u) * (b - a) * (b - c))

    @property
    def mean_value(self) -> float:
        return (self.low + self.mode + self.high) / 3


Distribution = Annotated[
    Fixed | Exponential | Lognormal | Gamma | Uniform | Triangular,
    Field(discriminator="dist"),
]
"""A distribution written as a mapping with a ``dist`` key."""


def as_distribution(value: object) -> object:
    """Let a bare number stand for a fixed value (used as a pydantic before-validator)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    if isinstance(value, dict | BaseModel):
        return value
    shown = "nothing" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    raise ValueError(
        f"should be a number (a fixed value) or a distribution, as {{dist: lognormal, mean: 7, sd: 4}}, not {shown}"
    )
