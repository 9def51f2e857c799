"""The five place governance arrangements route funding decisions differently."""

from __future__ import annotations

import numpy as np
import pytest

import sim

from .conftest import build, example_data, short

ARRANGEMENTS = ["lead_provider", "individual_director", "joint_committee", "icb_committee", "consultative_forum"]


@pytest.fixture(scope="module")
def waits():
    out = {}
    for name in ARRANGEMENTS:
        data = short(example_data(), days=400, warmup=60)
        for org in ("coast_place", "inland_place"):
            data["organisations"][org]["governance"] = name
        r = sim.simulate(build(data), seed=21)
        p = r.patients
        p3 = p[(p["pathway"] == "P3") & p["chc_check_ended"].notna()]
        out[name] = (p3["decision_wait_days"].mean(), r.summary["delayed_days_per_discharge"].iloc[0])
    return out


def test_decision_waits_match_each_arrangement(waits):
    # lead provider: decides at once (exponential, mean 1 day)
    assert waits["lead_provider"][0] == pytest.approx(1.0, rel=0.15)
    # individual director: 80% within the limit (mean 0.5 day), 20% escalated to a 4-weekly panel
    assert waits["individual_director"][0] == pytest.approx(0.8 * 0.5 + 0.2 * 14, rel=0.25)
    # joint committee: weekly sitting, papers in a day before: about 1 + 3.5 days
    assert waits["joint_committee"][0] == pytest.approx(4.5, rel=0.15)
    # ICB committee: fortnightly, two days' lead: about 2 + 7 days
    assert waits["icb_committee"][0] == pytest.approx(9.0, rel=0.15)
    # consultative forum: both the council's and the ICB's own weekly sign-off: 1 + E[max] > 1 + 3.5
    assert waits["consultative_forum"][0] > waits["joint_committee"][0]


def test_longer_decisions_mean_more_delayed_days(waits):
    assert waits["icb_committee"][1] > waits["lead_provider"][1]


def _decisions_and_sittings(name: str, seed: int = 5):
    """Each measured decision's day, and the days each deciding body sat, under one
    arrangement in both places of the example."""
    from sim.metrics import build_tables
    from sim.model import Model

    data = short(example_data(), days=300, warmup=30)
    for org in ("coast_place", "inland_place"):
        data["organisations"][org]["governance"] = name
    rec = Model(build(data), seed=seed).run()
    p = build_tables(rec)["patients"]
    decided = p[p["chc_check_accepted"].notna() & p["chc_check_started"].notna()]
    days = decided["chc_check_accepted"] + decided["decision_wait_days"]
    days = days[(days >= rec.warmup) & (days < rec.end)]
    sittings = {}
    for series in rec.geography.meeting_series:
        if series.policy == name:
            sittings[series.phase_key] = [d for k, d, _, _ in rec.meetings if k == series.key]
    return decided.loc[days.index].assign(decided=days), sittings


@pytest.mark.parametrize("name", ["joint_committee", "icb_committee"])
def test_a_panel_decides_on_the_days_it_sits(name):
    decided, sittings = _decisions_and_sittings(name)
    assert set(sittings) == {"panel:coast_place", "panel:inland_place"}
    assert len(decided) > 20
    for place, day in zip(decided["place"], decided["decided"], strict=True):
        assert np.isclose(sittings[f"panel:{place}"], day, atol=1e-6).any(), (place, day)


def test_each_partner_signs_off_on_a_day_its_own_panel_sits():
    decided, sittings = _decisions_and_sittings("consultative_forum")
    # each council's and the ICB's own panel, shared by the places
    assert set(sittings) == {"sign-off:north_council", "sign-off:south_council", "sign-off:the_icb"}
    every_day = np.concatenate([np.asarray(d) for d in sittings.values()])
    assert len(decided) > 20
    for day in decided["decided"]:
        assert np.isclose(every_day, day, atol=1e-6).any(), day


def test_a_director_decides_most_cases_alone_and_escalates_the_rest_to_a_sitting():
    decided, sittings = _decisions_and_sittings("individual_director")
    assert set(sittings) == {"escalation:coast_place", "escalation:inland_place"}
    on_a_sitting = [
        np.isclose(sittings[f"escalation:{place}"], day, atol=1e-6).any()
        for place, day in zip(decided["place"], decided["decided"], strict=True)
    ]
    # a fifth go above the delegated limit
    assert 0.1 < np.mean(on_a_sitting) < 0.3


def test_who_must_sit_is_what_the_arrangements_cost_in_meetings():
    hours, sittings = {}, {}
    for name in ARRANGEMENTS:
        data = short(example_data(), days=200, warmup=30)
        for org in ("coast_place", "inland_place"):
            data["organisations"][org]["governance"] = name
        r = sim.simulate(build(data), seed=4)
        deciding = r.meetings[r.meetings["policy"] == name]
        hours[name] = r.summary["meeting_hours_per_week"].iloc[0]
        sittings[name] = deciding["attendee_hours_per_week"].sum()
    # a lead provider decides in its own casework: no sitting
    assert sittings["lead_provider"] == 0
    # weekly panels of the place lead, both councils and the ICB (4 members, 2 hours) in
    # each of two places: 16 hours a week; fortnightly without the councils: 4
    assert sittings["joint_committee"] == pytest.approx(16, rel=0.05)
    assert sittings["icb_committee"] == pytest.approx(4, rel=0.1)
    # three organisations' own weekly hour-long sign-offs, one member each: 3
    assert sittings["consultative_forum"] == pytest.approx(3, rel=0.05)
    # a 4-weekly escalation panel in each place: 4 members, 2 hours: 4
    assert sittings["individual_director"] == pytest.approx(4, rel=0.15)
    # the rest of the meetings do not depend on the arrangement
    others = {name: hours[name] - sittings[name] for name in ARRANGEMENTS}
    assert max(others.values()) == pytest.approx(min(others.values()), rel=1e-9)
