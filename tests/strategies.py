"""Hypothesis strategies: random but valid configurations built from the example."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from sim.config import Config

from .conftest import build, example_data

ARRANGEMENTS = ["consultative_forum", "icb_committee", "joint_committee", "individual_director", "lead_provider"]


@st.composite
def configs(draw: st.DrawFn, max_days: int = 150) -> Config:
    data: dict[str, Any] = example_data()
    n_zones = draw(st.integers(1, 4))
    zones = [f"z{i}" for i in range(n_zones)]
    data["zones"] = [{"id": z, "name": z.upper(), "population": draw(st.integers(10_000, 120_000))} for z in zones]
    n_la = draw(st.integers(1, 3))
    n_trust = draw(st.integers(1, 2))
    n_place = draw(st.integers(1, 2))
    n_comm = draw(st.integers(1, 2))
    n_icb = draw(st.integers(1, 2))
    cap = st.one_of(st.integers(1, 60), st.just("unlimited"))
    staff = st.integers(1, 6)
    orgs: dict[str, Any] = {}
    for i in range(n_trust):
        orgs[f"trust{i}"] = {"type": "acute_trust", "staff": {"discharge_coordinator": {"count": draw(staff)}}}
    for i in range(n_la):
        orgs[f"la{i}"] = {
            "type": "local_authority",
            "staff": {
                "social_worker": {"count": draw(staff), "hours_per_week": draw(st.sampled_from([20, 37.5]))},
                "reablement_worker": {"count": draw(staff)},
            },
            "capacity": {"reablement_slots": draw(cap), "care_home_beds": draw(cap)},
        }
    for i in range(n_icb):
        orgs[f"icb{i}"] = {"type": "icb", "staff": {"chc_nurse": {"count": draw(staff)}}}
    for i in range(n_place):
        orgs[f"place{i}"] = {
            "type": "place",
            "governance": draw(st.sampled_from(ARRANGEMENTS)),
            "staff": {"place_lead": {"count": 1}},
        }
    for i in range(n_comm):
        orgs[f"comm{i}"] = {
            "type": "community_health",
            "staff": {"community_nurse": {"count": draw(staff)}, "therapist": {"count": draw(staff)}},
            "capacity": {"intermediate_care_beds": draw(cap)},
        }
    data["organisations"] = orgs

    def assign(prefix: str, n: int) -> dict[str, str]:
        return {z: f"{prefix}{draw(st.integers(0, n - 1))}" for z in zones}

    trust_fp = {}
    for z in zones:
        if n_trust == 1:
            trust_fp[z] = {"trust0": 1.0}
        else:
            k = draw(st.integers(0, 10))
            trust_fp[z] = {"trust0": k / 10, "trust1": (10 - k) / 10}
    data["footprints"] = {
        "acute_trust": trust_fp,
        "local_authority": assign("la", n_la),
        "icb": assign("icb", n_icb),
        "place": assign("place", n_place),
        "community_health": assign("comm", n_comm),
    }
    days = draw(st.integers(40, max_days))
    data["run"] = {"length_days": days, "warmup_days": draw(st.integers(0, days // 3))}
    data["demand"]["per_1000_per_year"] = draw(st.floats(0.0, 40.0))
    mix = draw(st.lists(st.integers(0, 5), min_size=4, max_size=4).filter(lambda xs: sum(xs) > 0))
    for pid, w in zip(["P0", "P1", "P2", "P3"], mix, strict=True):
        data["pathways"][pid]["share"] = w / sum(mix)
    # make the shares sum to exactly 1 in floating point
    data["pathways"]["P0"]["share"] = 1.0 - sum(data["pathways"][p]["share"] for p in ["P1", "P2", "P3"])
    data["handovers"]["failure"]["base"] = draw(st.sampled_from([0.0, 0.05, 0.3]))
    # steps only some patients need: before discharge, after it, and a decision
    for pid, i in (("P1", 0), ("P2", 2), ("P3", 1)):
        data["pathways"][pid]["steps"][i]["share"] = draw(st.sampled_from([1.0, 0.5, 0.1]))
    # where the funding decision is taken: on the check, before the step that discharges
    # (as built), at that step (before its bed), or on care after discharge
    where = draw(st.sampled_from(["check", "placement", "after_discharge"]))
    if where != "check":
        del data["pathways"]["P3"]["steps"][1]["decision"]
        pathway, step = ("P3", 2) if where == "placement" else ("P2", 2)
        data["pathways"][pathway]["steps"][step]["decision"] = True
    # care homes' own assessments: for every patient, for none, or where flow is low
    data["trusted_assessors"] = {
        "cover": draw(st.sampled_from(["everywhere", "regular", "nowhere"])),
        "min_flow_per_week": draw(st.sampled_from([0.5, 2.0, 10.0])),
    }
    # councils commissioning their care-home beds together: one pool, and its board (a meeting of example.yaml)
    if n_la > 1 and draw(st.booleans()):
        data["shared_capacity"] = [{"capacity": "care_home_beds", "organisations": [f"la{i}" for i in range(n_la)]}]
    return build(data)


seeds = st.integers(0, 2**31 - 1)
