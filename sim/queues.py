"""Textbook queues the model reduces to, for validation and benchmarking."""

from __future__ import annotations

import math
from typing import Any


def erlang_c_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    a = arrival_rate / service_rate
    if a >= servers:
        return math.inf
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers * service_rate - arrival_rate)


def mmc_data(
    servers: int = 3,
    arrival_rate: float = 2.4,
    mean_service_days: float = 1.0,
    days: float = 2000,
    warmup: float = 200,
) -> dict[str, Any]:
    """Configuration data that reduces the model to an M/M/c queue: patients are ready
    on arrival and wait for one of ``servers`` staff, whose work takes an exponential
    time; staff work 168 hours a week, so an hour of effort is an hour of the clock."""
    population = 100_000
    return {
        "name": f"m-m-{servers}",
        "description": "The model reduced to an M/M/c queue.",
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
