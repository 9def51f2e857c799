"""Invariants of the model over generated configurations and seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given

import sim
from sim.geography import Geography, structure_tables
from sim.metrics import GAP_PARTS, delay_parts, gap_parts

from .strategies import configs, seeds

EPS = 1e-9


def needed_steps(cfg, row) -> list:
    """The steps of the patient's pathway that they need."""
    return [st for st in cfg.pathways[row.pathway].steps if not st.optional or getattr(row, f"{st.name}_needed")]


def expected_changes(cfg, geo, row) -> list[int]:
    """For each step the patient needs: 1 where responsibility changes organisation."""
    current = row.trust
    changes = []
    for step in needed_steps(cfg, row):
        org = geo.resolve(step.by, row.zone, row.trust)
        changes.append(int(org != current))
        current = org
    return changes


def step_time(row, step: str, what: str) -> float:
    """A step's time, NaN where no patient of the run reached that step."""
    return float(getattr(row, f"{step}_{what}", math.nan))


@given(cfg=configs(), seed=seeds)
def test_invariants(cfg, seed):
    result = sim.simulate(cfg, seed=seed)
    p, h, w, m, s = (result.patients, result.handovers, result.workload, result.meetings, result.summary)
    geo = Geography(cfg)
    end = cfg.run.length_days

    # conservation: admitted = discharged + still in hospital; complete + open journeys = admitted
    discharged = p["discharged"].notna()
    assert len(p) == int(discharged.sum()) + int((p["status"] == "in_hospital").sum())
    assert set(p["status"]) <= {"complete", "after_discharge", "in_hospital"}
    assert (p.loc[p["status"] == "complete", "journey_end"].notna()).all()

    # every change of responsible organisation is one inter-organisational handover
    for row in p.itertuples():
        changes = expected_changes(cfg, geo, row)
        done = sum(1 for st in needed_steps(cfg, row) if not math.isnan(step_time(row, st.name, "ended")))
        if row.status == "complete":
            assert row.inter_handovers == sum(changes)
        else:  # the step under way may or may not have had its handover yet
            assert sum(changes[:done]) <= row.inter_handovers <= sum(changes[: done + 1])
    per_patient = h.groupby("patient_id").size()
    totals = p.set_index("patient_id")["inter_handovers"] + p.set_index("patient_id")["intra_handovers"]
    assert (totals[totals > 0] == per_patient.reindex(totals[totals > 0].index).fillna(0)).all()
    assert (h["accepted"] >= h["sent"] - EPS).all()
    assert (h["accepted"] < end).all()
    assert (h["failed"] >= 0).all()

    # a step a patient does not need is never started
    for row in p.itertuples():
        for st in cfg.pathways[row.pathway].steps:
            if st.optional and not getattr(row, f"{st.name}_needed"):
                assert all(math.isnan(step_time(row, st.name, what)) for what in ("sent", "started", "ended"))

    # each patient's timestamps are in order
    for row in p.itertuples():
        times = [row.admitted, row.ready]
        for st in cfg.pathways[row.pathway].steps:
            times += [step_time(row, st.name, what) for what in ("sent", "accepted", "started", "ended")]
        times.append(row.journey_end)
        known = [t for t in times if not math.isnan(t)]
        assert all(b >= a - EPS for a, b in itertools.pairwise(known)), (row, times)
        if not math.isnan(row.discharged):
            assert row.ready - EPS <= row.discharged
            assert math.isnan(row.journey_end) or row.discharged <= row.journey_end + EPS
        assert all(t < end for t in known)  # nothing after the end of the run is recorded

    # a discharged patient's delayed days are the sum of their parts, none negative
    parts = delay_parts(p, cfg.pathways)
    assert np.allclose(parts[discharged].sum(axis=1), p.loc[discharged, "delayed_days"], rtol=0, atol=1e-9)
    assert (parts[discharged] >= -EPS).all().all() and parts[~discharged].isna().all().all()

    # a discharged patient's gap days in care are the sum of their parts, and of those before
    # each service starts, none negative: once the journey is whole (on its way, a gap is
    # logged once its service has done its work, and the step's times once it ends)
    gaps = gap_parts(p, cfg.pathways)
    whole = discharged & p["journey_end"].notna()
    for columns in (list(GAP_PARTS), [c for c in gaps if c.startswith("before:")]):
        assert np.allclose(gaps.loc[whole, columns].sum(axis=1), p.loc[whole, "gap_days"], rtol=0, atol=1e-9)
        assert (gaps.loc[discharged, columns].sum(axis=1) <= p.loc[discharged, "gap_days"] + 1e-9).all()
    assert (gaps[discharged] >= -EPS).all().all() and gaps[~discharged].isna().all().all()

    # a care home visits, before it takes the patient, exactly the discharged patients
    # no trusted assessor covers; the visit is part of their wait
    for row in p.itertuples():
        visits = [
            st
            for st in needed_steps(cfg, row)
            if st.provider_assessment_days is not None
            and not geo.trusted_assessor_covers(row.trust, geo.resolve(st.by, row.zone, row.trust))
        ]
        assert row.provider_assessment_days >= 0
        if not visits:
            assert row.provider_assessment_days == 0, row
        elif not math.isnan(row.discharged):
            (st,) = visits
            assert row.provider_assessment_days > 0, row
            accepted = step_time(row, st.name, "accepted")
            assert row.discharged - accepted >= row.provider_assessment_days - EPS, row

    # gaps and delays are non-negative and no longer than the time in the system
    in_system = np.where(p["journey_end"].notna(), p["journey_end"], end) - p["admitted"]
    assert (p["gap_days"] >= 0).all() and (p["gap_days"] <= in_system + EPS).all()
    delayed = p["delayed_days"].fillna(0)
    assert (delayed >= -EPS).all() and (delayed <= in_system + EPS).all()
    assert (p["gap_events"] <= p["gaps"]).all()

    # what each interface costs: the sender's referrals and rework of the handovers across
    # it accepted in the measured period, and its meetings; a handover within one
    # organisation has no referral to write
    weeks = (end - cfg.run.warmup_days) / 7
    across = h[(h["kind"] == "inter") & (h["accepted"] >= cfg.run.warmup_days)]
    itf = result.interfaces
    assert (h.loc[h["kind"] == "intra", "referral_hours"] == 0).all() and (h["rework_hours"] >= 0).all()
    assert (h.loc[h["failed"] == 0, "rework_hours"] == 0).all()
    for col in ("referral_hours", "rework_hours"):
        assert math.isclose(itf[f"{col}_per_week"].sum() * weeks, across[col].sum(), rel_tol=1e-9, abs_tol=1e-9)
    parts = itf[["referral_hours_per_week", "rework_hours_per_week", "meeting_hours_per_week"]].sum(axis=1)
    assert np.allclose(itf["staff_hours_per_week"], parts, rtol=1e-12, atol=1e-12)
    crossing = itf[itf["expected_flow_per_week"] > 0]  # interfaces: pairs that exchange patients, once each
    assert s["interfaces"].iloc[0] == len(crossing) == len(structure_tables(geo)["interfaces"])
    assert math.isclose(s["interface_hours_per_week"].iloc[0], crossing["staff_hours_per_week"].sum(), abs_tol=1e-9)
    pairs = m[m["organisations"].str.count(r"\+") == 1]
    assert math.isclose(itf["meeting_hours_per_week"].sum() * weeks, pairs["attendee_hours"].sum(), abs_tol=1e-9)

    # staff are never busier than they are available
    finite = w[np.isfinite(w["available_hours"])]
    assert (finite["busy_hours"] <= finite["available_hours"] + 1e-6).all()

    # meeting hours = meetings x duration x attendees, and that is what staff spent in them
    assert np.allclose(m["attendee_hours"], m["sittings"] * m["duration_hours"] * m["attendees"])
    assert math.isclose(w["meeting_hours"].sum(), m["attendee_hours"].sum(), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(
        s["meeting_hours_per_week"].iloc[0], m["attendee_hours"].sum() / weeks, rel_tol=1e-9, abs_tol=1e-9
    )
