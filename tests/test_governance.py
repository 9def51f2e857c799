"""The five place governance arrangements route funding decisions differently."""

from __future__ import annotations

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
