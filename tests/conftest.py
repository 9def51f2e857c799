"""Shared fixtures: the example configuration and small configurations built in code."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from sim.config import Config, config_from_dict
from sim.queues import mmc_data  # noqa: F401  (re-exported for the tests)
from sim.yamlio import load_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "configs" / "example.yaml"

settings.register_profile(
    "default", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, max_examples=25)
# a longer search for rare failures, by hand: pytest tests --hypothesis-profile=deep
settings.register_profile("deep", parent=settings.get_profile("default"), max_examples=1000)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def example_data() -> dict[str, Any]:
    """The example configuration as plain data, to be edited by a test."""
    data, _ = load_yaml(EXAMPLE)
    return copy.deepcopy(data)


def build(data: dict[str, Any]) -> Config:
    return config_from_dict(data, "<test>")


def set_key(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.fixture
def example() -> Config:
    return build(example_data())


def short(data: dict[str, Any], days: float = 150, warmup: float = 30) -> dict[str, Any]:
    data["run"] = {"length_days": days, "warmup_days": warmup}
    return data
