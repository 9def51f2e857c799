"""Boundary transforms over the same zones and demand."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.build import BuildSpec, build_config
from sim.model import Model
from sim.transforms import TransformError, apply, apportion
from sim.yamlio import load_yaml

from .conftest import ROOT, build, example_data


def staff_total(data, org_type, role):
    return sum(
        o["staff"][role]["count"]
        for o in data["organisations"].values()
        if o["type"] == org_type and role in o.get("staff", {})
    )


def test_split_gives_each_successor_its_zones_and_a_share_of_staff():
    data = apply(
        example_data(), {"split": {"organisation": "south_council", "into": {"sv": ["southvale"], "ef": ["eastfield"]}}}
    )
    cfg = build(data)
    assert "south_council" not in cfg.organisations
    assert cfg.footprints["local_authority"]["southvale"] == "sv"
    assert cfg.footprints["local_authority"]["eastfield"] == "ef"
    # 7 social workers over 160k and 140k residents: 3.7 and 3.3, rounded
    assert staff_total(data, "local_authority", "social_worker") == 5 + 7
    assert cfg.organisations["sv"].capacity["reablement_slots"] == round(160 * 160 / 300)
    assert cfg.zones == build(example_data()).zones  # same zones and demand
    assert (cfg.organisations["sv"].name, cfg.organisations["ef"].name) == ("sv", "ef")  # no names: their ids


def test_successors_take_the_names_given_and_others_keep_theirs():
    into = {"sv": ["southvale"], "ef": ["eastfield"]}
    data = apply(
        example_data(), {"split": {"organisation": "south_council", "into": into, "names": {"sv": "Southvale"}}}
    )
    cfg = build(data)
    assert cfg.organisations["sv"].name == "Southvale"
    assert cfg.organisations["ef"].name == "ef"
    assert cfg.organisations["north_council"].name == build(example_data()).organisations["north_council"].name


def test_merge_sums_staff_and_capacity():
    data = apply(example_data(), {"merge": {"organisations": ["north_council", "south_council"], "into": "county"}})
    cfg = build(data)
    assert set(cfg.footprints["local_authority"].values()) == {"county"}
    assert cfg.organisations["county"].staff["social_worker"].count == 12
    assert cfg.organisations["county"].capacity["care_home_beds"] == 98


def test_align_makes_one_place_per_council_keeping_governance():
    data = example_data()
    data["organisations"]["coast_place"]["governance"] = "lead_provider"
    cfg = build(apply(data, {"align": {"type": "place", "to": "local_authority"}}))
    places = cfg.orgs_of_type("place")
    assert sorted(places) == ["place_north_council", "place_south_council"]
    assert cfg.footprints["place"]["harbourside"] == "place_north_council"
    # each new place takes most of its residents from the Coast place (110k of 200k; 160k of 300k)
    assert cfg.organisations["place_south_council"].governance == "lead_provider"
    assert cfg.organisations["place_north_council"].governance == "lead_provider"


def test_align_gives_a_council_below_min_population_no_place_of_its_own():
    # North Council's 200k are below 250k: its zones join a place that keeps its own
    data = apply(example_data(), {"align": {"type": "place", "to": "local_authority", "min_population": 250_000}})
    cfg = build(data)
    assert cfg.orgs_of_type("place") == ["place_south_council"]
    assert set(cfg.footprints["place"].values()) == {"place_south_council"}
    assert cfg.organisations["place_south_council"].name == "South Council place"
    assert apply(example_data(), {"align": {"type": "place", "to": "local_authority", "min_population": 200_000}}) == (
        apply(example_data(), {"align": {"type": "place", "to": "local_authority"}})
    )  # at or above it, every council keeps its place


def two_icbs():
    """The example with its ICB split in two, each across both councils."""
    into = {"icb_a": ["harbourside", "southvale"], "icb_b": ["northmoor", "eastfield"]}
    return apply(
        example_data(),
        {"split": {"organisation": "the_icb", "into": into, "names": {"icb_a": "ICB A", "icb_b": "ICB B"}}},
    )


def test_align_within_icbs_gives_a_council_in_two_icbs_a_place_in_each():
    aligned = {"type": "place", "to": "local_authority", "within": "icb"}
    cfg = build(apply(two_icbs(), {"align": aligned}))
    assert cfg.footprints["place"] == {
        "harbourside": "place_north_council__icb_a",
        "northmoor": "place_north_council__icb_b",
        "southvale": "place_south_council__icb_a",
        "eastfield": "place_south_council__icb_b",
    }
    assert cfg.organisations["place_north_council__icb_b"].name == "North Council place (ICB B)"
    # without `within`, each place spans both ICBs
    across = build(apply(two_icbs(), {"align": {"type": "place", "to": "local_authority"}}))
    assert {across.footprints["place"][z] for z in ("harbourside", "northmoor")} == {"place_north_council"}
    # North Council's 90k in ICB B are too few: they join South Council's place in ICB B,
    # not one in ICB A, and North Council's one place keeps its plain id and name.  That
    # place in ICB B covers what the Inland place covered: it is the Inland place still.
    cfg = build(apply(two_icbs(), {"align": aligned | {"min_population": 100_000}}))
    assert cfg.footprints["place"]["northmoor"] == cfg.footprints["place"]["eastfield"] == "inland_place"
    assert cfg.organisations["inland_place"].name == "Inland place"
    assert cfg.footprints["place"]["harbourside"] == "place_north_council"
    assert cfg.organisations["place_north_council"].name == "North Council place"


def test_a_place_kept_by_aligning_is_named_after_the_council_it_serves_if_its_own_is_gone():
    """Essex split in unitaries and places aligned: a unitary taking in just what the
    county's place in one ICB covered kept it, named 'Essex place (NHS Mid and South
    Essex Integrated Care Board)'.  It is the same place (its id, and so its days), named
    after its council; a place of a council still there keeps its name."""
    aligned = {"align": {"type": "place", "to": "local_authority", "within": "icb"}}
    before = apply(two_icbs(), aligned)
    assert before["organisations"]["place_south_council__icb_a"]["name"] == "South Council place (ICB A)"
    into = {"sv_council": ["southvale"], "ef_council": ["eastfield"]}
    names = {"sv_council": "Southvale Council", "ef_council": "Eastfield Council"}
    after = apply(apply(before, {"split": {"organisation": "south_council", "into": into, "names": names}}), aligned)
    assert after["footprints"]["place"]["southvale"] == "place_south_council__icb_a"  # the same place
    assert after["organisations"]["place_south_council__icb_a"]["name"] == "Southvale Council place"
    assert after["organisations"]["place_north_council__icb_b"]["name"] == "North Council place (ICB B)"
    # an ICB renamed: the place named after the old one takes its new name
    renamed = apply(before, {"merge": {"organisations": ["icb_b"], "into": "icb_b", "name": "ICB Bee"}})
    assert apply(renamed, aligned)["organisations"]["place_north_council__icb_b"]["name"] == (
        "North Council place (ICB Bee)"
    )


def test_a_place_a_change_leaves_as_it_was_stays_the_same_place_on_the_same_days():
    # Kent split in two and places realigned: Medway's place covered Medway and still does
    kent, _ = load_yaml(ROOT / "configs" / "kent-and-medway.yaml")
    kent["run"] = {"length_days": 60, "warmup_days": 0}
    realign = {"align": {"type": "place", "to": "local_authority"}}
    after = apply(apply(kent, {"split_counties": {"target_population": 800_000}}), realign)
    assert after["footprints"]["place"]["medway"] == "medway_place"
    assert after["organisations"]["medway_place"] == kent["organisations"]["medway_place"]
    assert apply(after, realign) == after  # aligned already: nothing to change

    def medway_sittings(data):
        meetings = Model(build(data), seed=3).run().meetings
        return [(key, round(t, 9)) for key, t, *_ in meetings if "medway_place" in key]

    # its board and committee keep their days, so that the scenarios' paired
    # differences are the change's and not a redrawn weekday's
    assert medway_sittings(after) == medway_sittings(kent) != []


def test_align_keeps_the_largest_part_of_an_icb_where_none_is_big_enough():
    # ICB B's parts of both councils (90,000 and 140,000) are under 150,000: South
    # Council's, the larger, keeps a place, which North Council's part joins, as a
    # county's fragment alone in a neighbouring ICB keeps one (Oxfordshire's 7,305
    # residents in Bath and North East Somerset, Swindon and Wiltshire)
    aligned = {"type": "place", "to": "local_authority", "within": "icb", "min_population": 150_000}
    cfg = build(apply(two_icbs(), {"align": aligned}))
    assert cfg.footprints["place"]["northmoor"] == cfg.footprints["place"]["eastfield"] == "inland_place"
    # in ICB A, South Council's 160,000 keep theirs, and North Council's 110,000 join it
    assert cfg.footprints["place"]["harbourside"] == cfg.footprints["place"]["southvale"] == "coast_place"
    oxfordshire = build_config(BuildSpec(name="oxon", icbs="all", councils=["Oxfordshire"]))
    places = {z.partition("__")[2]: p for z, p in oxfordshire["footprints"]["place"].items() if "__" in z}
    assert places == {
        "bath_and_north_east_somerset_swindon_and_wiltshire": "oxfordshire_place__bath_and_north_east_somerset_swindon_and_wiltshire",
        "buckinghamshire_oxfordshire_and_berkshire_west": "oxfordshire_place__buckinghamshire_oxfordshire_and_berkshire_west",
    }  # fmt: skip


def test_align_says_when_no_council_is_big_enough():
    with pytest.raises(TransformError, match="leaves no local_authority \\(the largest has 300,000 residents\\)"):
        apply(example_data(), {"align": {"type": "place", "to": "local_authority", "min_population": 10**6}})
    with pytest.raises(TransformError, match="min_population must be zero or more"):
        apply(example_data(), {"align": {"type": "place", "to": "local_authority", "min_population": -1}})
    with pytest.raises(TransformError, match="no footprint for type 'icbs': unknown type 'icbs'; did you mean 'icb'"):
        apply(example_data(), {"align": {"type": "place", "to": "local_authority", "within": "icbs"}})


def test_reorganise_redraws_several_councils_at_once():
    data = apply(
        example_data(),
        {
            "reorganise": {
                "organisations": ["north_council", "south_council"],
                "into": {"west": ["harbourside", "southvale"], "east": ["northmoor", "eastfield"]},
            }
        },
    )
    cfg = build(data)
    assert sorted(cfg.orgs_of_type("local_authority")) == ["east", "west"]
    assert staff_total(data, "local_authority", "social_worker") in (12, 13)  # rounding of shares


def test_reorganise_by_councils_is_reorganise_by_their_zones():
    """ICBs redrawn around whole councils: each council stands for its zones."""
    by_councils = apply(
        example_data(),
        {
            "reorganise": {
                "organisations": ["the_icb"],
                "by": "local_authority",
                "into": {"north_icb": ["north_council"], "south_icb": ["south_council"]},
                "names": {"north_icb": "North ICB"},
            }
        },
    )
    by_zones = apply(
        example_data(),
        {
            "reorganise": {
                "organisations": ["the_icb"],
                "into": {"north_icb": ["harbourside", "northmoor"], "south_icb": ["southvale", "eastfield"]},
                "names": {"north_icb": "North ICB"},
            }
        },
    )
    assert by_councils == by_zones
    assert by_councils["footprints"]["icb"] == {
        "harbourside": "north_icb",
        "northmoor": "north_icb",
        "southvale": "south_icb",
        "eastfield": "south_icb",
    }
    assert by_councils["organisations"]["north_icb"]["name"] == "North ICB"
    # the continuing-healthcare nurses follow the residents (200,000 and 300,000 of 500,000)
    assert staff_total(by_councils, "icb", "chc_nurse") == staff_total(example_data(), "icb", "chc_nurse")


def test_reorganise_by_leaves_a_councils_zones_beyond_the_organisations_where_they_are():
    """A council partly beyond the ICBs redrawn keeps its other part's ICB."""
    data = example_data()
    data["organisations"]["other_icb"] = copy.deepcopy(data["organisations"]["the_icb"])
    data["footprints"]["icb"]["eastfield"] = "other_icb"
    after = apply(
        data,
        {
            "reorganise": {
                "organisations": ["the_icb"],
                "by": "local_authority",
                "into": {"north_icb": ["north_council"], "south_icb": ["south_council"]},
            }
        },
    )
    assert after["footprints"]["icb"]["southvale"] == "south_icb"
    assert after["footprints"]["icb"]["eastfield"] == "other_icb"


@pytest.mark.parametrize(
    "into, message",
    [
        (
            {"n": ["north_councel"], "s": ["south_council"]},
            "into.n: no organisation of type 'local_authority' called 'north_councel'; did you mean 'north_council'?",
        ),
        (
            {"n": ["north_council"]},
            "the successors must take exactly the zones of 'the_icb'; not given: eastfield (in south_council), "
            "southvale (in south_council)",
        ),
        ({"n": ["north_council"], "s": ["south_council", "north_council"]}, "into.s: 'north_council' is given to 'n'"),
    ],
)
def test_reorganise_by_names_the_council_that_is_wrong(into, message):
    transform = {"reorganise": {"organisations": ["the_icb"], "by": "local_authority", "into": into}}
    with pytest.raises(TransformError, match=re.escape(message)):
        apply(example_data(), transform)


def test_reorganise_by_a_council_none_of_whose_zones_are_reorganised_is_an_error():
    data = apply(
        example_data(),
        {
            "split": {
                "organisation": "the_icb",
                "into": {"a_icb": ["harbourside", "northmoor"], "b_icb": ["southvale", "eastfield"]},
            }
        },
    )
    transform = {
        "reorganise": {
            "organisations": ["a_icb"],
            "by": "local_authority",
            "into": {"x": ["north_council", "south_council"]},
        }
    }
    with pytest.raises(
        TransformError,
        match=re.escape("into.x: 'south_council' covers none of the zones of the organisations reorganised"),
    ):
        apply(data, transform)


@pytest.mark.parametrize(
    "transform, message",
    [
        ({"split": {"organisation": "south_council", "into": {"a": ["southvale"]}}}, "not given: eastfield"),
        (
            {
                "split": {
                    "organisation": "south_council",
                    "into": {"a": ["southvale", "harbourside"], "b": ["eastfield"]},
                }
            },
            "not among them: harbourside",
        ),
        ({"split": {"organisation": "nobody", "into": {}}}, "no organisation 'nobody'"),
        ({"merge": {"organisations": ["north_council", "the_icb"], "into": "x"}}, "only organisations of one type"),
        ({"align": {"type": "acute_trust", "to": "local_authority"}}, "shares footprints"),
        ({"shuffle": {}}, "unknown transform 'shuffle'"),
        (
            {
                "split": {
                    "organisation": "south_council",
                    "into": {"a": ["southvale"], "b": ["eastfield"]},
                    "names": {"a": "A", "c": "C"},
                }
            },
            "names are given for 'c', which is not a successor; the successors are 'a', 'b'",
        ),
        (
            {"split": {"organisation": "south_council"}},
            r"split: missing 'into' \(allowed: organisation, into, names, share_capacity\)",
        ),
        (
            {"split": {"organisation": "south_council", "into": {"a": ["southvale"]}, "name": {"a": "A"}}},
            r"split: unknown argument 'name'; did you mean 'names'\? \(allowed: organisation, into, names, share_capacity\)",
        ),
        ({"align": {"type": "place", "onto": "local_authority"}}, "align: unknown argument 'onto'; did you mean 'to'"),
        (
            {"split": {"organisation": "south_council", "into": ["southvale", "eastfield"]}},
            "split: into: input should be a mapping",
        ),
        (
            {"split": {"organisation": "south_council", "into": {"a": "southvale", "b": ["eastfield"]}}},
            "split: into.a: input should be a valid list",  # not the letters of 'southvale'
        ),
        ({"split_counties": {"target_population": "500000"}}, "split_counties: target_population: input should be"),
        (
            {"split": {"organisation": "south_council", "into": {"north_council": ["southvale"], "b": ["eastfield"]}}},
            "^split: .*already the id of another organisation",
        ),
        ({"merge": {"organisations": ["north_council", "south_council"], "into": ""}}, "^merge: into: give the merged"),
        (
            {"split": {"organisation": "south_council", "into": {"a": ["southvale", "eastfield"], "b": ["eastfield"]}}},
            "^split: a zone is given to more than one successor: 'eastfield' to 'a' and 'b'$",
        ),
    ],
)
def test_transforms_that_do_not_fit_say_why(transform, message):
    with pytest.raises(TransformError, match=message):
        apply(example_data(), transform)


@given(
    groups=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    merge_first=st.booleans(),
)
def test_any_regrouping_of_councils_keeps_zones_patients_and_staff(groups, merge_first):
    """Redraw the example's councils into up to four successors, any way at all."""
    import sim

    zones = ["harbourside", "northmoor", "southvale", "eastfield"]
    data = example_data()
    data["run"] = {"length_days": 40, "warmup_days": 0}
    if merge_first:
        data = apply(data, {"merge": {"organisations": ["north_council", "south_council"], "into": "county"}})
    olds = sorted(set(data["footprints"]["local_authority"].values()))
    into: dict[str, list[str]] = {}
    for zone, g in zip(zones, groups, strict=True):
        into.setdefault(f"successor_{g}", []).append(zone)
    after = apply(data, {"reorganise": {"organisations": olds, "into": into}})
    cfg = build(after)  # valid
    assert sorted(cfg.orgs_of_type("local_authority")) == sorted(into)
    # the staff transfer with their residents, and the beds and places with theirs: each
    # role and capacity adds up to what it did, but where there are more successors than
    # staff (each has at least one of a role its residents had)
    for kind in ("staff", "capacity"):
        names = {n for o in data["organisations"].values() if o["type"] == "local_authority" for n in o.get(kind, {})}
        for name in names:
            before, after_total = (
                sum(
                    o[kind][name]["count"] if kind == "staff" else o[kind][name]
                    for o in d["organisations"].values()
                    if o["type"] == "local_authority" and name in o.get(kind, {})
                )
                for d in (data, after)
            )
            assert after_total == max(before, len(into)), (kind, name)
    a = sim.simulate(build(data), seed=1).patients
    b = sim.simulate(cfg, seed=1).patients
    assert a[["zone", "trust", "pathway", "admitted"]].equals(b[["zone", "trust", "pathway", "admitted"]])


@pytest.mark.parametrize(
    ("quotas", "whole"),
    [
        ([10 / 3, 10 / 3, 10 / 3], [4, 3, 3]),  # rounding each gave 3, 3 and 3: a social worker lost
        ([2.5, 2.5, 2.5, 2.5], [3, 3, 2, 2]),  # rounding half to even gave 2 each
        ([93.6, 93.6, 136.8], [94, 93, 137]),
        ([0.2, 0.3, 4.5], [1, 1, 3]),  # at least one each, from the one with most
        ([0.3, 0.3, 0.4], [1, 1, 1]),  # fewer than the successors: one each all the same
        ([0.0, 2.0], [0, 2]),  # none where its residents had none
    ],
)
def test_staff_and_capacity_are_shared_out_in_whole_numbers_that_add_up(quotas, whole):
    assert list(apportion({f"o{k}": q for k, q in enumerate(quotas)}).values()) == whole


def two_tier_data():
    """The example with housing: North Council a county over two district councils,
    South Council a unitary that is its own housing authority; half of those going
    home with support need the housing authority after their assessment."""
    data = example_data()
    data["organisation_types"]["housing"] = {
        "label": "Housing authority",
        "liaison_role": "housing_officer",
        "lower_tier_of": "local_authority",
    }
    officer = {"count": 1, "hours_per_week": 37.5}
    for district in ("harbourside_dc", "northmoor_dc"):
        data["organisations"][district] = {"type": "housing", "staff": {"housing_officer": dict(officer)}}
    data["organisations"]["south_council"]["also"] = ["housing"]
    data["organisations"]["south_council"]["staff"]["housing_officer"] = {"count": 2, "hours_per_week": 37.5}
    data["footprints"]["housing"] = {
        "harbourside": "harbourside_dc",
        "northmoor": "northmoor_dc",
        "southvale": "south_council",
        "eastfield": "south_council",
    }
    steps = data["pathways"]["P1"]["steps"]
    steps.insert(
        1,
        {
            "name": "housing",
            "by": "housing",
            "staff": "housing_officer",
            "share": 0.5,
            "effort_hours": {"dist": "lognormal", "mean": 3, "sd": 1.5},
        },
    )
    return data


def test_a_county_made_unitary_takes_on_its_districts_housing():
    import sim

    data = two_tier_data()
    after = apply(
        data, {"split": {"organisation": "north_council", "into": {"harbour": ["harbourside"], "moor": ["northmoor"]}}}
    )
    cfg = build(after)
    assert sorted(cfg.orgs_of_type("housing")) == ["harbour", "moor", "south_council"]  # the districts are gone
    assert cfg.footprints["housing"] == cfg.footprints["local_authority"]
    assert cfg.organisations["harbour"].staff["housing_officer"].count == 1
    assert cfg.organisations["harbour"].also == ["housing"]
    # a referral from the social worker to housing, and from housing to reablement, is
    # now a handover within one council, as it was already in the unitary
    before = sim.simulate(build(data), seed=4)
    unitary = sim.simulate(cfg, seed=4)
    hb, hu = before.handovers, unitary.handovers
    into_housing = {"housing", "reablement"}
    north = before.patients.loc[before.patients["zone"].isin(["harbourside", "northmoor"]), "patient_id"]
    assert (
        hb[hb["step"].isin(into_housing) & hb["patient_id"].isin(north) & hb["from_org"].ne(hb["to_org"])]["kind"].eq(
            "inter"
        )
    ).sum() > 10
    north_u = hu[hu["step"].isin(into_housing) & hu["patient_id"].isin(north)]
    assert (north_u["kind"] == "intra").all() and len(north_u) > 10
    # the same patients need housing in both
    assert before.patients["housing_needed"].equals(unitary.patients["housing_needed"])


def test_merging_counties_keeps_their_districts_and_merging_unitaries_their_housing():
    data = two_tier_data()
    data["organisations"]["north_council"]["also"] = []
    county = build(apply(data, {"merge": {"organisations": ["north_council", "south_council"], "into": "big_county"}}))
    assert county.footprints["housing"]["harbourside"] == "harbourside_dc"  # the county's district stays
    assert county.footprints["housing"]["southvale"] == "big_county"  # the unitary's housing passes on
    data = two_tier_data()
    split = apply(
        data, {"split": {"organisation": "south_council", "into": {"sv": ["southvale"], "ef": ["eastfield"]}}}
    )
    cfg = build(split)
    assert (cfg.footprints["housing"]["southvale"], cfg.footprints["housing"]["eastfield"]) == ("sv", "ef")
    assert cfg.organisations["sv"].staff["housing_officer"].count == 1  # 2 officers over 160k and 140k
    back = build(apply(split, {"merge": {"organisations": ["sv", "ef"], "into": "south"}}))
    assert back.organisations["south"].also == ["housing"]
    assert back.organisations["south"].staff["housing_officer"].count == 2
    assert back.footprints["housing"]["harbourside"] == "harbourside_dc"


def test_split_counties_makes_a_small_county_one_unitary_over_its_districts():
    data = two_tier_data()
    data["organisations"]["south_council"].pop("also")
    data["organisations"]["south_council"]["staff"].pop("housing_officer")
    for zone in ("southvale", "eastfield"):
        data["organisations"][f"{zone}_dc"] = {"type": "housing", "staff": {"housing_officer": {"count": 1}}}
        data["footprints"]["housing"][zone] = f"{zone}_dc"
    after = build(apply(data, {"split_counties": {"target_population": 10_000_000}}))
    assert after.footprints["housing"] == after.footprints["local_authority"]
    assert after.organisations["north_council"].staff["housing_officer"].count == 2
    assert not [o for o in after.organisations if o.endswith("_dc")]
    # without a lower tier, a county too small to split is left as it was
    plain = example_data()
    assert apply(plain, {"split_counties": {"target_population": 10_000_000}}) == plain


def test_a_council_acting_as_housing_cannot_be_redrawn_as_housing_alone():
    with pytest.raises(TransformError, match="'south_council' is a local_authority that also acts as housing"):
        apply(two_tier_data(), {"align": {"type": "housing", "to": "icb"}})
