"""Shared fixtures: the example configuration and small configurations built in code."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from sim.config import Config, config_from_dict
from sim.yamlio import load_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "configs" / "example.yaml"

settings.register_profile(
    "default", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, max_examples=25)
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


def mmc_data(
    servers: int = 3, arrival_rate: float = 2.4, mean_service_days: float = 1.0, days: float = 2000, warmup: float = 200
) -> dict[str, Any]:
    """A configuration that reduces to an M/M/c queue: patients are ready on arrival
    and wait for one of ``servers`` staff, whose work takes an exponential time."""
    population = 100_000
    return {
        "name": "mmc",
        "run": {"length_days": days, "warmup_days": warmup},
        "demand": {"per_1000_per_year": arrival_rate * 365 * 1000 / population},
        "zones": [{"id": "z", "name": "Z", "population": population}],
        "organisation_types": {
            "acute_trust": {"footprint": "shares", "admits": True, "liaison_role": "server"},
        },
        "organisations": {
            "trust": {"type": "acute_trust", "staff": {"server": {"count": servers, "hours_per_week": 168}}},
        },
        "footprints": {"acute_trust": {"z": {"trust": 1.0}}},
        "patients": {"length_of_stay_days": 0},
        "pathways": {
            "P": {
                "share": 1.0,
                "steps": [
                    {
                        "name": "service",
                        "by": "acute_trust",
                        "staff": "server",
                        "effort_hours": {"dist": "exponential", "mean": 24 * mean_service_days},
                    },
                ],
            }
        },
        "handovers": {
            "delay_days": 0,
            "intra_delay_days": 0,
            "referral_effort_hours": 0,
            "rework": {"effort_hours": 0, "delay_days": 0},
        },
    }
