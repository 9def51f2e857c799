"""Steps only some of a pathway's patients need (``share`` under 1)."""

from __future__ import annotations

import math

import numpy as np

import sim
from sim.geography import Geography

from .conftest import build, example_data, short


def _with_shares(**shares: float):
    """The example with the given steps (``pathway__step``) needed by these shares."""
    data = short(example_data(), days=400, warmup=50)
    for key, share in shares.items():
        pid, name = key.split("__")
        [step] = [s for s in data["pathways"][pid]["steps"] if s["name"] == name]
        step["share"] = share
    return build(data)


def test_a_share_of_the_pathway_s_patients_need_the_step_and_the_rest_go_on_without_it():
    result = sim.simulate(_with_shares(P1__follow_up=0.3), seed=3)
    p = result.patients
    p1 = p[p["pathway"] == "P1"]
    share, n = p1["follow_up_needed"].mean(), len(p1)
    assert abs(share - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n), (share, n)
    assert not p.loc[p["pathway"] != "P1", "follow_up_needed"].any()
    done = p1[p1["status"] == "complete"]
    needed, skipped = done[done["follow_up_needed"]], done[~done["follow_up_needed"]]
    assert len(needed) > 50 and len(skipped) > 50
    # those who need it end their journey at the follow-up; the others at reablement,
    # which is then their last service: its slot is held on, not waited out
    assert np.allclose(needed["journey_end"], needed["follow_up_ended"])
    assert skipped["follow_up_sent"].isna().all() and skipped["follow_up_started"].isna().all()
    assert np.allclose(skipped["journey_end"], skipped["reablement_ended"])
    assert (skipped["journey_end"] - skipped["reablement_started"]).max() < 5  # no 28-day hold
    h = result.handovers
    assert not ((h["step"] == "follow_up") & h["patient_id"].isin(skipped["patient_id"])).any()


def test_a_patient_who_needs_a_step_at_a_share_needs_it_at_any_larger_share():
    """The draw is the patient's own (common random numbers): raising the share adds
    patients and takes none away, and changes no one's arrival, pathway or stay."""
    low = sim.simulate(_with_shares(P3__chc_check=0.3), seed=5).patients
    high = sim.simulate(_with_shares(P3__chc_check=0.6), seed=5).patients
    for column in ("admitted", "zone", "trust", "pathway", "ready"):
        assert low[column].equals(high[column])
    assert (high["chc_check_needed"] | ~low["chc_check_needed"]).all()
    p3 = low["pathway"] == "P3"
    assert low.loc[p3, "chc_check_needed"].mean() < high.loc[p3, "chc_check_needed"].mean()
    # a care-home patient who skips the continuing-healthcare check waits for no decision
    skipped = low[p3 & ~low["chc_check_needed"]]
    assert (skipped["decision_wait_days"] == 0).all()
    # and the placement after it is still their last service: the journey ends when it begins
    done = skipped[skipped["status"] == "complete"]
    assert len(done) > 20
    assert np.allclose(done["journey_end"], done["placement_ended"])
    assert (done["placement_ended"] - done["placement_started"]).max() < 1e-9


def test_expected_flows_count_a_step_only_for_those_who_need_it():
    every = Geography(_with_shares()).expected_flows
    some = Geography(_with_shares(P3__chc_check=0.4)).expected_flows
    to_icb = [k for k in every if k[1] == "the_icb"]
    from_icb = [k for k in every if k[0] == "the_icb"]
    assert to_icb and from_icb
    for key in to_icb + from_icb:
        assert math.isclose(some[key], 0.4 * every[key], rel_tol=1e-12)
    # the rest go from the council's assessment to its placement: no new interface
    assert set(some) == set(every)


def test_a_step_every_patient_needs_changes_nothing():
    a = sim.simulate(_with_shares(), seed=2)
    b = sim.simulate(_with_shares(P1__follow_up=1.0), seed=2)
    assert a.patients.equals(b.patients) and a.handovers.equals(b.handovers)
    assert "follow_up_needed" not in a.patients


def test_a_partner_of_a_new_type_is_data_a_voluntary_service_after_the_follow_up():
    """The README's way to add a voluntary-sector service: a type, its organisations'
    footprints (here cutting across the councils) and a step some patients need."""
    data = short(example_data(), days=300, warmup=30)
    data["organisation_types"]["voluntary_sector"] = {"label": "Voluntary sector", "liaison_role": "coordinator"}
    for vcs in ("west_vcs", "east_vcs"):
        data["organisations"][vcs] = {"type": "voluntary_sector", "staff": {"coordinator": {"count": 2}}}
    across = {"harbourside": "west_vcs", "southvale": "west_vcs", "northmoor": "east_vcs", "eastfield": "east_vcs"}
    data["footprints"]["voluntary_sector"] = across
    data["pathways"]["P1"]["steps"].append(
        {"name": "settling_in", "by": "voluntary_sector", "staff": "coordinator", "effort_hours": 1, "share": 0.4}
    )
    result = sim.simulate(build(data), seed=4)
    p = result.patients
    p1 = p[p["pathway"] == "P1"]
    assert abs(p1["settling_in_needed"].mean() - 0.4) < 0.06
    h = result.handovers
    to_vcs = h[h["step"] == "settling_in"]
    assert len(to_vcs) > 100
    assert set(to_vcs["patient_id"]) <= set(p1.loc[p1["settling_in_needed"], "patient_id"])
    # referred by the step before it, and to the service of the patient's own zone
    assert (to_vcs["from_org"] == "community_trust").all()
    zone = p.set_index("patient_id").loc[to_vcs["patient_id"], "zone"]
    assert (to_vcs["to_org"].to_numpy() == zone.map(across).to_numpy()).all()
    workload = result.workload
    assert workload.loc[workload["organisation"].isin(["west_vcs", "east_vcs"]), "casework_hours"].sum() > 0
