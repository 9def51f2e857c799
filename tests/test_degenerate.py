"""Degenerate configurations whose results are known exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import sim

from .conftest import build, example_data, short


def test_almost_no_demand_gives_no_patients_and_no_overflow():
    """Gaps between arrivals past any end: summed, they overflow to infinity, harmlessly."""
    data = short(example_data())
    data["demand"]["per_1000_per_year"] = 1e-307
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not numpy's "overflow encountered in accumulate"
        r = sim.simulate(build(data), seed=3)
    assert len(r.patients) == 0 and len(r.handovers) == 0


def test_no_demand_gives_no_patients_but_still_meetings():
    data = short(example_data())
    data["demand"]["per_1000_per_year"] = 0
    r = sim.simulate(build(data), seed=3)
    assert len(r.patients) == 0
    assert len(r.handovers) == 0
    s = r.summary.iloc[0]
    assert s["discharged"] == 0 and s["bed_days_lost"] == 0
    # there is no flow, so no flow-based meeting, but place boards still sit, and so
    # do the places' deciding panels (both places have a joint committee)
    assert {data["organisations"][p]["governance"] for p in ("coast_place", "inland_place")} == {"joint_committee"}
    assert set(r.meetings["policy"]) == {"place_board", "joint_committee"}
    assert (r.meetings["sittings"] > 0).all()
    assert (r.workload["casework_hours"] == 0).all()


def unlimited(data):
    for org in data["organisations"].values():
        for role in org.get("staff", {}).values():
            role["count"] = "unlimited"
        for name in org.get("capacity", {}):
            org["capacity"][name] = "unlimited"
    data["meetings"] = []
    return data


def test_unlimited_staff_and_capacity_give_no_waits():
    data = unlimited(short(example_data()))
    data["handovers"]["failure"] = {"base": 0, "intra": 0, "unfamiliar": 0, "misaligned": 0}
    cfg = build(data)
    r = sim.simulate(cfg, seed=5)
    p = r.patients
    for pid, pathway in cfg.pathways.items():
        for step in pathway.steps:
            rows = p[(p["pathway"] == pid) & p[f"{step.name}_started"].notna()]
            wait = rows[f"{step.name}_started"] - rows[f"{step.name}_accepted"]
            if step.decision or (step.first_contact_days is not None):
                continue  # decisions wait for their panel; first contact is a visit, not a queue
            assert np.allclose(wait, 0), step.name
    assert r.summary["failed_handovers"].iloc[0] == 0
    assert (r.handovers["failed"] == 0).all()


def test_one_organisation_doing_everything_has_no_inter_organisational_handovers():
    """An integrated organisation filling every role: every handover is team to team."""
    data = unlimited(short(example_data()))
    data["organisations"] = {
        "integrated": {
            "type": "acute_trust",
            "also": ["local_authority", "icb", "place", "community_health"],
            "governance": None,
            "staff": {
                "discharge_coordinator": {"count": 4},
                "social_worker": {"count": 8},
                "reablement_worker": {"count": 6},
                "chc_nurse": {"count": 3},
                "community_nurse": {"count": 5},
                "therapist": {"count": 3},
                "place_lead": {"count": 1},
            },
            "capacity": {"reablement_slots": 300, "care_home_beds": 120, "intermediate_care_beds": 90},
        }
    }
    del data["organisations"]["integrated"]["governance"]
    data["governance"]["default"] = "joint_committee"
    data["footprints"] = {
        "acute_trust": {z["id"]: {"integrated": 1.0} for z in data["zones"]},
        **{
            t: {z["id"]: "integrated" for z in data["zones"]}
            for t in ["local_authority", "icb", "place", "community_health"]
        },
    }
    r = sim.simulate(build(data), seed=2)
    assert len(r.patients) > 500
    assert (r.patients["inter_handovers"] == 0).all()
    assert (r.handovers["kind"] == "intra").all()
    assert r.patients["intra_handovers"].sum() > 0
    assert r.summary["handovers_per_discharge"].iloc[0] == 0
    assert r.summary["interfaces"].iloc[0] == 0


def test_single_organisation_of_each_type_has_no_cross_boundary_pairs():
    """With one council, one trust, one ICB: each interface is between different types only."""
    data = short(example_data())
    for z in data["footprints"]["local_authority"]:
        data["footprints"]["local_authority"][z] = "north_council"
        data["footprints"]["place"][z] = "coast_place"
    data["organisations"]["north_council"]["staff"]["social_worker"]["count"] = 12
    data["organisations"]["north_council"]["staff"]["reablement_worker"]["count"] = 7
    for name in ("south_council", "inland_place"):
        del data["organisations"][name]
    r = sim.simulate(build(data), seed=4)
    i = r.interfaces
    assert (i["type_a"] != i["type_b"]).all()
    pairs = {frozenset((a, b)) for a, b in zip(i["type_a"], i["type_b"], strict=True)}
    assert pairs == {
        frozenset(("acute_trust", "local_authority")),  # pathways 1 and 3
        frozenset(("acute_trust", "community_health")),  # pathway 2
        frozenset(("local_authority", "community_health")),  # reablement to follow-up, rehab to onward care
        frozenset(("local_authority", "icb")),  # continuing healthcare check
    }


def two_handovers_ten_days_each(days: float = 200, warmup: float = 50) -> dict:
    """Every journey: the hospital refers to the council, which discharges the patient
    home with care and refers on to the district nurse; each referral accepted 10 days
    after it is sent, with unlimited staff, nothing failing and no meetings."""
    data = unlimited(short(example_data(), days=days, warmup=warmup))
    data["demand"]["per_1000_per_year"] = 100
    data["handovers"]["failure"] = {"base": 0, "intra": 0, "unfamiliar": 0, "misaligned": 0}
    data["handovers"]["delay_days"] = 10
    data["pathways"] = {
        "P1": {
            "name": "Home with care, then the district nurse",
            "share": 1.0,
            "steps": [
                {"name": "care", "by": "local_authority", "staff": "reablement_worker", "effort_hours": 1},
                {"name": "nurse", "by": "community_health", "staff": "community_nurse", "effort_hours": 1},
            ],
        }
    }
    data["pathways"]["P1"]["steps"][0]["discharge"] = True
    return data


def test_handovers_and_gaps_still_open_at_the_end_are_not_lost_from_the_rates():
    """Every journey has two handovers between organisations (hospital to council, then
    council to the district nurse after discharge), each accepted 10 days after it is
    sent, and one gap of 10 days after discharge: so 2 handovers, 1 gap event and about
    10 gap days a discharge.  Counted by when they were sent or opened, those still open
    at the end of the run were lost: 1.87 handovers and 0.93 gap events a discharge
    (those of the last 10 of 150 measured days).  Counted by when they are completed, as discharges
    are, the rates are the journey's."""
    cfg = build(two_handovers_ten_days_each())
    referral_days = cfg.handovers.referral_effort_hours.mean_value / (37.5 / 7)  # the council's referral
    for seed in (1, 2):
        s = sim.simulate(cfg, seed=seed).summary.iloc[0]
        assert s["discharged"] > 15_000
        assert abs(s["handovers_per_discharge"] - 2) < 0.02
        assert (
            abs(s["gap_events_per_discharge"] - 1) < 0.02 and s["gaps_per_discharge"] == s["gap_events_per_discharge"]
        )
        assert abs(s["gap_days_per_discharge"] - (10 + referral_days)) < 0.2


def test_the_report_s_distributions_take_only_journeys_whole_by_the_end():
    """Of the patients discharged in the window, those discharged in its last 10 days
    had their handover to the district nurse still on its way at the end, and counted
    one handover, not two: the report's distributions showed them.  `whole_journeys`
    keeps those discharged before the first still on their way."""
    from sim.metrics import whole_journeys

    p = sim.simulate(build(two_handovers_ten_days_each()), seed=4).patients
    left = p[(p["discharged"] >= 50) & (p["discharged"] < 200)]
    assert (left["inter_handovers"] == 1).mean() > 0.05  # the last 10 of 150 days', cut short
    whole, until = whole_journeys(p, 50, 200)
    assert 189 < until < 191  # discharged then, referred on 10 days before the end, less the council's hour
    assert (whole["inter_handovers"] == 2).all() and len(whole) == (left["discharged"] < until).sum()
    assert (whole["gap_events"] == 1).all()


def test_whole_journeys_are_those_discharged_before_the_first_still_going_but_half_the_window_at_least():
    from sim.metrics import whole_journeys

    nan = float("nan")
    p = pd.DataFrame({"discharged": [5, 20, 40, 60, 70, 80, nan], "journey_end": [9, 30, 45, nan, 75, nan, nan]})
    whole, until = whole_journeys(p, 10, 100)
    assert until == 60 and whole["discharged"].tolist() == [20, 40]  # 70 ended, but after 60: a shorter one
    p.loc[1, "journey_end"] = nan  # someone still waiting from day 20: no earlier than halfway, day 55
    whole, until = whole_journeys(p, 10, 100)
    assert until == 55 and whole["discharged"].tolist() == [20, 40]
    whole, until = whole_journeys(p.assign(journey_end=1.0), 10, 100)
    assert until == 100 and len(whole) == 5  # every journey ended: all discharged in the window
