"""The oldest versions ``pyproject.toml`` allows, as pip constraints (``make test-oldest``).

Every dependency, and every test extra, is pinned there with a lower bound only
(``name>=version``); this prints ``name==version`` for each, so that the tests can be
run against exactly those versions and the lower bounds stay true.  Extras are left
out of a constraint (pip allows none there): ``dask[distributed]>=2024.1`` becomes
``dask==2024.1``, and ``distributed``, which is released with dask and needs its own
version of it, follows.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
LOWER_BOUND = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(?:\[[^\]]*\])?>=(?P<version>[0-9][0-9A-Za-z.]*)$")


def requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The project's dependencies and its test extras, as written."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["test"]]


def oldest(reqs: list[str]) -> list[str]:
    """``name==version`` for each requirement, once each; a requirement that is not a
    lone lower bound is an error, since the oldest version it allows is not written."""
    pins: dict[str, str] = {}
    for req in reqs:
        found = LOWER_BOUND.match(req.replace(" ", ""))
        if not found:
            raise ValueError(f"{PYPROJECT.name}: {req!r}: give each dependency a lower bound only, as 'name>=1.2'")
        name = found["name"].lower()
        if pins.get(name, found["version"]) != found["version"]:
            raise ValueError(f"{PYPROJECT.name}: {name} has two lower bounds, {pins[name]} and {found['version']}")
        pins[name] = found["version"]
    return [f"{name}=={version}" for name, version in pins.items()]


if __name__ == "__main__":
    try:
        print("\n".join(oldest(requirements())))
    except ValueError as exc:
        sys.exit(str(exc))
