import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.config import Dist

adapter = TypeAdapter(Dist)
U = (np.arange(200_000) + 0.5) / 200_000  # a fine grid of uniforms: moments by quadrature


@pytest.mark.parametrize(
    "spec, mean, sd",
    [
        ({"dist": "exponential", "mean": 2.0}, 2.0, 2.0),
        ({"dist": "lognormal", "mean": 7.0, "sd": 4.0}, 7.0, 4.0),
        ({"dist": "gamma", "mean": 3.0, "sd": 1.5}, 3.0, 1.5),
        ({"dist": "uniform", "low": 1.0, "high": 3.0}, 2.0, 2.0 / 12**0.5),
        ({"dist": "triangular", "low": 0.0, "mode": 1.0, "high": 2.0}, 1.0, (1 / 6) ** 0.5),
        (4.5, 4.5, 0.0),
    ],
)
def test_inversion_gives_the_stated_mean_and_sd(spec, mean, sd):
    d = adapter.validate_python(spec)
    xs = np.array([d.ppf(u) for u in U])
    assert xs.mean() == pytest.approx(mean, rel=0.01)
    assert xs.std() == pytest.approx(sd, rel=0.03, abs=1e-9)
    assert d.mean_value == pytest.approx(mean)
    assert (xs >= 0).all()


def test_ppf_is_monotone_and_finite_at_the_ends():
    d = adapter.validate_python({"dist": "lognormal", "mean": 1, "sd": 2})
    values = [d.ppf(u) for u in (0.0, 1e-9, 0.5, 1 - 1e-9, 1.0)]
    assert values == sorted(values)
    assert all(np.isfinite(values))


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "lognormal", "mean": 1},
        {"dist": "lognormal", "mean": -1, "sd": 1},
        {"dist": "weibull", "mean": 1},
        {"dist": "uniform", "low": 3, "high": 1},
        {"dist": "exponential", "mean": 1, "sd": 2},
        -1,
    ],
)
def test_bad_distributions_are_rejected(spec):
    with pytest.raises(ValidationError):
        adapter.validate_python(spec)


def test_lognormal_ppf_is_the_textbook_inverse_exactly():
    # ppf calls CPython's C inverse normal directly; the values must stay those of
    # exp(mu + sigma * z) with z from statistics.NormalDist, bit for bit, so that a
    # seed gives the same patients as it always has.
    import math
    from statistics import NormalDist

    from scipy import stats

    d = adapter.validate_python({"dist": "lognormal", "mean": 7.0, "sd": 4.0})
    mu, sigma = d._mu_sigma
    z = NormalDist().inv_cdf
    us = [1e-12 * (1 + 1e-9), 1e-6, 0.001, 0.25, 0.5, 0.75, 0.999, 1 - 1e-6, *U[::997].tolist()]
    assert [d.ppf(u) for u in us] == [math.exp(mu + sigma * z(u)) for u in us]
    assert [d.ppf(u) for u in us] == pytest.approx(stats.lognorm.ppf(us, s=sigma, scale=np.exp(mu)), rel=1e-9)
