"""The five place governance arrangements route funding decisions differently."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
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


# Half an hour of the place lead's time (37.5 hours a week) for a decision taken alone.
ALONE_DAYS = 0.5 / (37.5 / 7)


def test_decision_waits_match_each_arrangement(waits):
    # lead provider: takes a case up in about a day (exponential, mean 1), then decides
    assert waits["lead_provider"][0] == pytest.approx(1.0 + ALONE_DAYS, rel=0.15)
    # individual director: 80% within the limit (mean 0.5 day, then deciding), 20% escalated to a 4-weekly panel
    assert waits["individual_director"][0] == pytest.approx(0.8 * (0.5 + ALONE_DAYS) + 0.2 * 14, rel=0.25)
    # joint committee: weekly sitting, papers in a day before: about 1 + 3.5 days
    assert waits["joint_committee"][0] == pytest.approx(4.5, rel=0.15)
    # ICB committee: fortnightly, two days' lead: about 2 + 7 days
    assert waits["icb_committee"][0] == pytest.approx(9.0, rel=0.15)
    # consultative forum: both the council's and the ICB's own weekly sign-off: 1 + E[max] > 1 + 3.5
    assert waits["consultative_forum"][0] > waits["joint_committee"][0]


def test_longer_decisions_mean_more_delayed_days(waits):
    assert waits["icb_committee"][1] > waits["lead_provider"][1]


class Decisions(NamedTuple):
    decided: pd.DataFrame  # decided in the measured window: the day ("decided"), and whether at a sitting
    unfinished: pd.DataFrame  # decided, but their step had not ended (its times unknown) by the end
    sittings: dict[str, list[float]]  # each deciding body's sitting days, in the window
    leads: pd.DataFrame  # the places' leads' workload
    window: tuple[float, float]


def _decisions(name: str, lead_hours_per_week: float = 37.5, days: float = 300, seed: int = 5) -> Decisions:
    """Each decision under one arrangement in both places of the example, their leads
    working these hours, and the days each deciding body sat."""
    from sim.metrics import build_tables
    from sim.model import Model

    data = short(example_data(), days=days, warmup=30)
    for org in ("coast_place", "inland_place"):
        data["organisations"][org]["governance"] = name
        data["organisations"][org]["staff"]["place_lead"]["hours_per_week"] = lead_hours_per_week
    rec = Model(build(data), seed=seed).run()
    tables = build_tables(rec)
    p = tables["patients"]
    # a step's times are recorded when it ends; the check's decision, taken on its work,
    # ends it (it holds nothing after)
    made = p[p["decision_wait_days"] > 0]
    unfinished = made[made["chc_check_ended"].isna()]
    decided = made[made["chc_check_ended"].notna()]
    decided = decided.assign(decided=decided["chc_check_ended"])
    decided = decided[decided["decided"] >= rec.warmup]
    sittings = {}
    for series in rec.geography.meeting_series:
        if series.policy == name:
            sittings[series.phase_key] = [d for k, d, _, _ in rec.meetings if k == series.key]
    by_place = {key.split(":")[1]: days for key, days in sittings.items()}
    decided = decided.assign(
        at_a_sitting=[
            bool(np.isclose(by_place.get(place, []), day, atol=1e-6).any())
            for place, day in zip(decided["place"], decided["decided"], strict=True)
        ]
    )
    workload = tables["workload"]
    leads = workload[workload["role"] == "place_lead"].set_index("organisation")
    return Decisions(decided, unfinished, sittings, leads, (rec.warmup, rec.end))


@pytest.mark.parametrize("name", ["joint_committee", "icb_committee"])
def test_a_panel_decides_on_the_days_it_sits(name):
    decided, _, sittings, _, _ = _decisions(name)
    assert set(sittings) == {"panel:coast_place", "panel:inland_place"}
    assert len(decided) > 20
    for place, day in zip(decided["place"], decided["decided"], strict=True):
        assert np.isclose(sittings[f"panel:{place}"], day, atol=1e-6).any(), (place, day)


def test_the_panel_decides_on_the_check_the_nurse_has_done_and_the_placement_follows():
    # DESIGN.md's care-home pathway: assessment, continuing-healthcare check (ICB),
    # funding decision, placement.  The check's work comes before the decision's wait,
    # not after it (a week's decisions must not make a week's checks at once).
    decided = _decisions("joint_committee").decided
    assert len(decided) > 20
    asked = decided["chc_check_ended"] - decided["decision_wait_days"]  # the decision asked for
    work = asked - decided["chc_check_started"]
    assert (work > 0).all() and work.median() == pytest.approx(3 / (37.5 / 7), rel=0.3)  # 3 hours of the nurse's
    placed = decided.dropna(subset=["placement_sent"])
    assert len(placed) > 20 and (placed["placement_sent"] >= placed["chc_check_ended"]).all()


def test_each_partner_signs_off_on_a_day_its_own_panel_sits():
    decided, _, sittings, _, _ = _decisions("consultative_forum")
    # each council's and the ICB's own panel, shared by the places
    assert set(sittings) == {"sign-off:north_council", "sign-off:south_council", "sign-off:the_icb"}
    every_day = np.concatenate([np.asarray(d) for d in sittings.values()])
    assert len(decided) > 20
    for day in decided["decided"]:
        assert np.isclose(every_day, day, atol=1e-6).any(), day


def test_a_director_decides_most_cases_alone_and_escalates_the_rest_to_a_sitting():
    decided, _, sittings, _, _ = _decisions("individual_director")
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


@pytest.mark.parametrize("name", ["lead_provider", "individual_director"])
def test_one_person_deciding_alone_spends_half_an_hour_of_their_casework_on_each_case(name):
    decided, unfinished, _, leads, (warmup, end) = _decisions(name)
    alone = decided[~decided["at_a_sitting"]]  # a director's cases above the limit go to a sitting
    # every case taken alone costs at least the lead's half hour, however soon it is
    # taken up (without it, a tenth of waits of a day on average would be shorter)
    assert (alone["decision_wait_days"] >= ALONE_DAYS - 1e-9).all()
    started = alone["decided"] - ALONE_DAYS
    for place in ("coast_place", "inland_place"):
        here = started[alone["place"] == place]
        counted = ((here >= warmup) & (here < end)).sum()
        assert counted > 30
        # a decision's hours count when the lead starts on it; the patients' table does
        # not have when the last few (decided, or being decided, as the run ends) began
        late = (unfinished["place"] == place).sum()
        assert late <= 5
        assert 0 <= leads.loc[place, "casework_hours"] / 0.5 - counted <= late + 1


def test_a_committee_s_members_decide_only_at_its_sittings():
    decided, _, _, leads, _ = _decisions("joint_committee", days=150)
    assert decided["at_a_sitting"].all()
    assert (leads["casework_hours"] == 0).all()
    assert (leads["meeting_hours"] > 0).all()


def test_a_busy_lead_makes_cases_wait_as_a_single_server_queue_would():
    # Leads working 10 hours a week take 0.35 days over each case: each place's cases
    # reach its lead about as a Poisson stream, so the wait is the take-up (mean 1 day),
    # the work, and an M/D/1 queue's wait (Pollaczek-Khinchine), a little more for the
    # board sittings that take the lead away.
    decided, _, _, _, (warmup, end) = _decisions("lead_provider", lead_hours_per_week=10.0, days=1500, seed=2)
    service = 0.5 / (10.0 / 7)
    measured = decided[decided["cohort"] == "measured"]
    for _, g in measured.groupby("place"):
        rate = len(g) / (end - warmup)
        rho = rate * service
        assert 0.35 < rho < 0.65
        queue = rate * service**2 / (2 * (1 - rho))
        wait = g["decision_wait_days"].mean()
        assert wait == pytest.approx(1.0 + service + queue, rel=0.1)
        assert wait - 1.0 - service > 0.5 * queue  # the lead's queue is there
