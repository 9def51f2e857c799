"""The lower bounds of ``pyproject.toml``, which ``make test-oldest`` tests against."""

import pytest

from .oldest import oldest, requirements


def test_every_dependency_has_a_lower_bound_to_test_against():
    pins = oldest(requirements())
    core = {"simpy", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "pydantic", "ruamel.yaml", "hypothesis"}
    assert core <= {pin.split("==")[0] for pin in pins}
    assert "dask==2024.1" in pins  # its extra left out: pip takes none in a constraint
    assert len(pins) == len(set(pins))


@pytest.mark.parametrize("req", ["numpy", "numpy<2", "numpy>=1.26,<3", "numpy==1.26", "numpy>1.26"])
def test_a_dependency_without_a_lone_lower_bound_is_an_error(req):
    with pytest.raises(ValueError, match="lower bound only"):
        oldest([req])


def test_two_lower_bounds_of_one_library_are_an_error():
    with pytest.raises(ValueError, match=r"two lower bounds, 2024\.1 and 2024\.6"):
        oldest(["dask[distributed]>=2024.1", "Dask>=2024.6"])
