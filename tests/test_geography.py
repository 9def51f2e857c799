"""Footprints, flows, partners and meetings, computed without simulating."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.geography import Geography, structure_tables
from sim.model import next_sitting

from .conftest import build, example_data
from .strategies import configs


@pytest.fixture
def geo(example):
    return Geography(example)


def test_resolve_follows_footprints(geo):
    assert geo.resolve("local_authority", "harbourside", "general_hospital") == "north_council"
    assert geo.resolve("acute_trust", "harbourside", "general_hospital") == "general_hospital"
    assert geo.governing_org("southvale") == "coast_place"


def test_daily_rate_is_demand_times_population(geo):
    assert math.isclose(geo.daily_rate("harbourside"), 21.0 * 110_000 / 1000 / 365)


def test_overlap_containment_and_misalignment(geo):
    # North Council (200k) lies wholly inside the ICB (500k)
    assert math.isclose(geo.overlap("north_council", "the_icb"), 200 / 500)
    assert math.isclose(geo.containment("north_council", "the_icb"), 1.0)
    assert math.isclose(geo.misalignment("north_council", "the_icb"), 0.0)
    # the Coast place takes Harbourside (North, 110k) and Southvale (South, 160k)
    assert math.isclose(geo.containment("coast_place", "north_council"), 110 / 270)
    assert math.isclose(geo.containment("north_council", "coast_place"), 110 / 200)
    assert math.isclose(geo.misalignment("coast_place", "north_council"), 1 - 110 / 200)
    assert geo.overlap("north_council", "south_council") == 0
    assert geo.overlap("the_icb", "the_icb") == 1


def test_partners(geo):
    assert geo.partners("the_icb", "local_authority") == ["north_council", "south_council"]
    assert geo.partners("north_council", "place") == ["coast_place", "inland_place"]
    assert geo.partners("general_hospital", "local_authority") == ["north_council", "south_council"]


def test_serving_counts_those_above_the_share(geo):
    # 1,000 of Southvale's people beside Harbourside's 110,000 are under 1%
    assert geo.serving("local_authority", {"harbourside": 110_000, "southvale": 1_000}, 0.01) == ["north_council"]
    assert geo.serving("local_authority", {"harbourside": 110_000, "southvale": 2_000}, 0.01) == [
        "north_council",
        "south_council",
    ]
    assert geo.serving("acute_trust", {"eastfield": 5}, 0.01) == ["general_hospital"]
    assert geo.serving("local_authority", {}, 0.01) == []


def test_shares_by_area_follow_where_residents_live(geo):
    area = {"harbourside": "N", "northmoor": "N", "southvale": "S", "eastfield": "S"}
    shares = geo.shares_by_area(area)
    assert shares["north_council"] == {"N": 1.0}
    assert shares["the_icb"] == pytest.approx({"N": 200 / 500, "S": 300 / 500})
    # the Coast place: Harbourside (110k) in N, Southvale (160k) in S
    assert shares["coast_place"] == pytest.approx({"N": 110 / 270, "S": 160 / 270})
    assert shares["general_hospital"] == pytest.approx({"N": 0.4, "S": 0.6})


@given(cfg=configs(), areas=st.lists(st.sampled_from("ABC"), min_size=4, max_size=4))
def test_each_organisation_serving_residents_is_shared_out_whole(cfg, areas):
    area_of = {z.id: a for z, a in zip(cfg.zones, areas, strict=False)}
    geo = Geography(cfg)
    for org, shares in geo.shares_by_area(area_of).items():
        assert set(shares) <= set(areas) and all(v >= 0 for v in shares.values())
        if sum(geo.weights[org].values()) > 0:
            assert math.isclose(sum(shares.values()), 1.0), (org, shares)
        else:
            assert shares == {}


def test_expected_flows_follow_the_pathways(geo, example):
    weekly = {z.id: geo.daily_rate(z.id) * 7 for z in example.zones}
    north = weekly["harbourside"] + weekly["northmoor"]
    # trust -> council: pathways 1 and 3 (shares 0.3 and 0.1)
    assert math.isclose(geo.expected_flows[("general_hospital", "north_council")], north * 0.4)
    # council -> ICB -> council: pathway 3 goes to the ICB and back
    assert math.isclose(geo.pair_flow("north_council", "the_icb"), north * 0.1 * 2)
    assert ("north_council", "north_council") not in geo.expected_flows


def test_failure_probability_rises_at_rare_and_misaligned_interfaces():
    data = example_data()
    cfg = build(data)
    g = Geography(cfg)
    p = cfg.handovers.failure
    busy = g.failure_probability("general_hospital", "south_council")
    assert busy == pytest.approx(
        p.base + p.unfamiliar * math.exp(-g.pair_flow("general_hospital", "south_council") / 5)
    )
    assert g.failure_probability("north_council", "north_council") == p.intra
    # with almost no flow the unfamiliarity extra is nearly all there
    data["demand"]["per_1000_per_year"] = 0.01
    rare = Geography(build(data)).failure_probability("general_hospital", "south_council")
    assert rare > busy
    assert rare == pytest.approx(p.base + p.unfamiliar, rel=0.01)


def test_meeting_series_from_policies(geo):
    keys = {s.key for s in geo.meeting_series}
    assert "discharge_meeting:general_hospital+north_council" in keys
    assert "funding_panel:the_icb+south_council" in keys
    board = next(s for s in geo.meeting_series if s.policy == "place_board" and "coast_place" in s.organisations)
    assert set(board.organisations) == {"coast_place", "north_council", "south_council", "the_icb"}
    assert board.attendee_count == 4


def test_meetings_need_regular_flow():
    data = example_data()
    data["meetings"][0]["min_flow_per_week"] = 40  # only South Council has 40+ a week with the trust
    g = Geography(build(data))
    pairs = [s.organisations for s in g.meeting_series if s.policy == "discharge_meeting"]
    assert pairs == [("general_hospital", "south_council")]


def test_structure_tables(geo):
    t = structure_tables(geo)
    assert set(t) == {"organisations", "partners", "interfaces", "coterminosity", "meetings"}
    org = t["organisations"].set_index("type")["organisations"]
    assert org["local_authority"] == 2 and org["acute_trust"] == 1
    cot = t["coterminosity"].set_index(["layer_a", "layer_b"])
    assert cot.loc[("icb", "community_health"), "coterminous_share"] == 1
    assert cot.loc[("local_authority", "place"), "coterminous_share"] == 0


def test_aligning_places_makes_them_coterminous():
    data = example_data()
    data["footprints"]["place"] = {
        "harbourside": "coast_place",
        "northmoor": "coast_place",
        "southvale": "inland_place",
        "eastfield": "inland_place",
    }
    cot = structure_tables(Geography(build(data)))["coterminosity"].set_index(["layer_a", "layer_b"])
    assert cot.loc[("local_authority", "place"), "coterminous_share"] == 1
    assert cot.loc[("local_authority", "place"), "mean_overlap"] == 1


@pytest.mark.parametrize("t", [0.0, 3.0, 100.0, 1234.5])
def test_next_sitting_is_the_first_at_or_after(t):
    every = 7.0
    s = next_sitting(t, every, 2.5)
    assert s >= t - 1e-9
    assert s - t < every + 1e-9
    assert next_sitting(s, every, 2.5) == pytest.approx(s)  # a sitting now counts
    assert (s - 2.5) / every == pytest.approx(round((s - 2.5) / every))  # on the body's cycle
