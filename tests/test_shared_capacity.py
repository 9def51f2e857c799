"""Capacity that organisations commission together (``shared_capacity``): one pool of
it for all of them, and the ``share_capacity`` of the transforms that make successors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import load_config
from sim.errors import ConfigError
from sim.geography import Geography
from sim.transforms import TransformError, apply
from sim.yamlio import load_yaml

from .conftest import EXAMPLE, ROOT, build, example_data, short

JOINT = {"capacity": "care_home_beds", "organisations": ["north_council", "south_council"]}


def _beds(data: dict, north: object, south: object, hold: float | None = None) -> dict:
    data["organisations"]["north_council"]["capacity"]["care_home_beds"] = north
    data["organisations"]["south_council"]["capacity"]["care_home_beds"] = south
    if hold is not None:
        [placement] = [s for s in data["pathways"]["P3"]["steps"] if s["name"] == "placement"]
        placement["hold_days"] = hold
    return data


def _most_at_once(starts: np.ndarray, ends: np.ndarray) -> int:
    """The most intervals [start, end) that overlap at any time."""
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(len(starts)), -np.ones(len(ends))])
    order = np.lexsort((steps, times))  # at the same time, a leaving comes before an arrival
    return int(np.cumsum(steps[order]).max(initial=0))


def test_one_pool_of_the_sum_is_what_one_organisation_with_all_of_it_would_have():
    """With every resident in the north council, its 3 beds shared with the south's 4
    are 7 beds for the north's patients: the run is the same, table for table, as the
    north having 7 of its own.  (Without the joint commissioning board, whose meetings
    are the other difference: tested below.)"""
    data = short(example_data(), days=300, warmup=50)
    data["meetings"] = [m for m in data["meetings"] if m["name"] != "joint_commissioning_board"]
    for zone in data["footprints"]["local_authority"]:
        data["footprints"]["local_authority"][zone] = "north_council"
    own = sim.simulate(build(_beds(data, 7, 4)), seed=5)
    data = _beds(data, 3, 4)
    data["shared_capacity"] = [JOINT]
    shared = sim.simulate(build(data), seed=5)
    assert (own.patients["pathway"] == "P3").sum() > 50
    for name, table in own.tables.items():
        other = shared.tables[name]
        if name == "summary":  # but that the beds overloaded are named as everyone's who share them
            own_said, shared_said = table.pop("overloaded").iloc[0], other.pop("overloaded").iloc[0]
            joint = "north_council+south_council:care_home_beds"
            assert shared_said == own_said.replace("north_council:care_home_beds", joint) != own_said
        pd.testing.assert_frame_equal(other, table, obj=name)


@pytest.mark.parametrize("joint", [False, True])
def test_councils_sharing_their_beds_place_their_patients_in_either_s(joint):
    """One bed each and 20-day stays: apart, a council never has two of its patients in
    beds at once; together, one council's patients sometimes hold both beds, and the two
    councils never hold more than the two beds there are."""
    data = _beds(short(example_data(), days=500, warmup=50), 1, 1, hold=20.0)
    if joint:
        data["shared_capacity"] = [JOINT]
    p = sim.simulate(build(data), seed=2).patients
    placed = p[(p["pathway"] == "P3") & p["discharged"].notna()]
    assert placed["local_authority"].nunique() == 2 and len(placed) > 20
    starts, ends = placed["discharged"].to_numpy(), placed["discharged"].to_numpy() + 20.0
    assert _most_at_once(starts, ends) == 2
    each = [
        _most_at_once(g["discharged"].to_numpy(), g["discharged"].to_numpy() + 20.0)
        for _, g in placed.groupby("local_authority")
    ]
    assert max(each) == (2 if joint else 1), each


def test_sharing_spares_the_smaller_council_s_patients_the_wait(tmp_path):
    """A council with 2 beds beside one with 60: alone, its care-home patients wait for
    a bed; sharing, they wait about as long as the other council's."""
    data = _beds(short(example_data(), days=400, warmup=50), 2, 60)
    apart = sim.simulate(build(data), seed=8).patients
    data["shared_capacity"] = [JOINT]
    together = sim.simulate(build(data), seed=8).patients

    def north_wait(p: pd.DataFrame) -> float:
        care_home = p[(p["pathway"] == "P3") & p["discharged"].notna() & (p["local_authority"] == "north_council")]
        return float(care_home["delayed_days"].mean())

    assert north_wait(together) < north_wait(apart) - 5, (north_wait(together), north_wait(apart))
    for column in ["admitted", "zone", "trust", "pathway", "ready"]:  # the same patients
        assert apart[column].equals(together[column])


def _problems(tmp_path, shared: str) -> list[str]:
    path = tmp_path / "cfg.yaml"
    path.write_text(EXAMPLE.read_text() + f"\nshared_capacity:\n{shared}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("shared", "message"),
    [
        (
            "  - {capacity: care_home_beds, organisations: [north_council, south_councel]}",
            "did you mean 'south_council'",
        ),
        (
            "  - {capacity: care_home_beds, organisations: [north_council, community_trust]}",
            "'community_trust' has no capacity 'care_home_beds' to share (it has intermediate_care_beds)",
        ),
        ("  - {capacity: care_home_beds, organisations: [north_council, north_council]}", "listed twice"),
        (
            "  - {capacity: care_home_beds, organisations: [north_council, south_council]}\n"
            "  - {capacity: care_home_beds, organisations: [south_council, north_council]}",
            "shares its 'care_home_beds' in shared_capacity 0 already",
        ),
        ("  - {capacity: care_home_beds, organisations: [north_council]}", "at least 2 items"),
    ],
)
def test_a_bad_group_is_named_with_its_file_line_and_key(tmp_path, shared, message):
    found = _problems(tmp_path, shared)
    assert any(m.startswith(f"{tmp_path / 'cfg.yaml'}:") and "shared_capacity" in m and message in m for m in found), (
        found
    )


# -- the transforms ------------------------------------------------------------------


SPLIT = {"organisation": "south_council", "into": {"south_west": ["southvale"], "south_east": ["eastfield"]}}


def test_successors_that_share_capacity_commission_it_together():
    data = example_data()
    assert set(data["footprints"]["local_authority"]) >= {"southvale", "eastfield"}
    out = apply(data, {"split": {**SPLIT, "share_capacity": ["care_home_beds", "reablement_slots"]}})
    assert out["shared_capacity"] == [
        {"capacity": "care_home_beds", "organisations": ["south_west", "south_east"]},
        {"capacity": "reablement_slots", "organisations": ["south_west", "south_east"]},
    ]
    orgs = out["organisations"]
    assert orgs["south_west"]["capacity"]["care_home_beds"] + orgs["south_east"]["capacity"]["care_home_beds"] in (
        58,
        59,
    )
    build(out)  # a valid configuration
    assert "shared_capacity" not in apply(data, {"split": SPLIT})


def test_groups_follow_their_organisations_through_later_transforms():
    """A group names the successors of an organisation that is split, merged or
    absorbed; groups that come to share an organisation become one; a group left with
    one organisation is just that organisation's own capacity."""
    data = example_data()
    data["shared_capacity"] = [JOINT]
    split = apply(data, {"split": SPLIT})
    assert split["shared_capacity"] == [
        {"capacity": "care_home_beds", "organisations": ["north_council", "south_west", "south_east"]}
    ]
    build(split)
    merged = apply(split, {"merge": {"organisations": ["south_west", "south_east"], "into": "south_again"}})
    assert merged["shared_capacity"] == [
        {"capacity": "care_home_beds", "organisations": ["north_council", "south_again"]}
    ]
    whole = apply(merged, {"merge": {"organisations": ["north_council", "south_again"], "into": "one_council"}})
    assert whole["shared_capacity"] == []
    build(whole)


def test_each_county_s_unitaries_commission_together_when_every_county_is_split():
    """Kent in two beside Medway: the two new councils share Kent's beds and reablement
    (one group of each, with one board), Medway keeps its own; a mistyped capacity is an
    error even where no county would be split."""
    kent, _ = load_yaml(ROOT / "configs" / "kent-and-medway.yaml")
    split = {"target_population": 800_000, "share_capacity": ["care_home_beds", "reablement_slots"]}
    out = apply(kent, {"split_counties": split})
    unitaries = [o for o in out["organisations"] if o.startswith("kent_council__")]
    assert len(unitaries) == 2 and "medway_council" in out["organisations"]
    assert out["shared_capacity"] == [
        {"capacity": "care_home_beds", "organisations": unitaries},
        {"capacity": "reablement_slots", "organisations": unitaries},
    ]
    beds = [out["organisations"][o]["capacity"]["care_home_beds"] for o in unitaries]
    assert sum(beds) == kent["organisations"]["kent_council"]["capacity"]["care_home_beds"]
    [board] = _boards(out)
    assert board.organisations == tuple(unitaries)
    assert "shared_capacity" not in apply(kent, {"split_counties": {"target_population": 800_000}})
    with pytest.raises(TransformError, match=r"share_capacity: unknown local_authority capacity 'reablement'.*"):
        apply(kent, {"split_counties": {"target_population": 10_000_000, "share_capacity": ["reablement"]}})


def test_a_capacity_the_successors_do_not_have_is_an_error_with_a_suggestion():
    with pytest.raises(TransformError, match=r"'care_home_bed' is not a capacity .*did you mean 'care_home_beds'"):
        apply(example_data(), {"split": {**SPLIT, "share_capacity": ["care_home_bed"]}})


# -- the joint commissioning board ------------------------------------------------------

BEDS_AND_REABLEMENT = [JOINT, {"capacity": "reablement_slots", "organisations": ["south_council", "north_council"]}]


def _boards(data: dict) -> list:
    return [s for s in Geography(build(data)).meeting_series if s.policy == "joint_commissioning_board"]


def test_one_board_for_each_set_of_organisations_commissioning_together():
    """None where nothing is shared; councils sharing beds and reablement run one joint
    service, with one board that one social worker of each council sits in; a council
    sharing with two different sets sits in two boards."""
    data = example_data()
    assert _boards(data) == []
    data["shared_capacity"] = BEDS_AND_REABLEMENT
    [board] = _boards(data)
    assert board.organisations == ("north_council", "south_council")
    assert board.attendees == (("north_council", "social_worker", 1), ("south_council", "social_worker", 1))
    assert (board.every_days, board.duration_hours) == (28, 2)
    split = apply(data, {"split": SPLIT})  # both groups now [north, south's successors], in two orders
    assert [b.organisations for b in _boards(split)] == [("north_council", "south_west", "south_east")]
    data["shared_capacity"] = [JOINT]
    twice = apply(data, {"split": {**SPLIT, "share_capacity": ["reablement_slots"]}})
    assert [b.organisations for b in _boards(twice)] == [
        ("north_council", "south_west", "south_east"),
        ("south_west", "south_east"),
    ]
    [board_policy] = [m for m in twice["meetings"] if m["name"] == "joint_commissioning_board"]
    board_policy["attendees"] = {"community_health": {"community_nurse": 1}}
    assert _boards(twice) == []  # a board only where the types it names share (no empty sittings)


def test_the_board_s_sittings_are_its_members_meeting_hours():
    """Sharing with the board against sharing without it: the same patients, and each
    council's social workers spend 2 hours more in meetings for each sitting, which
    the pair's row of the interfaces table shows."""
    data = short(example_data(), days=400, warmup=50)
    data["shared_capacity"] = BEDS_AND_REABLEMENT
    with_board = sim.simulate(build(data), seed=3)
    data["meetings"] = [m for m in data["meetings"] if m["name"] != "joint_commissioning_board"]
    without = sim.simulate(build(data), seed=3)
    [row] = with_board.tables["meetings"].query("policy == 'joint_commissioning_board'").to_dict("records")
    assert row["sittings"] in (12, 13) and row["attendee_hours"] == 4 * row["sittings"]  # 350 days, every 28

    def meeting_hours(result: sim.Result) -> pd.Series:
        w = result.tables["workload"]
        return w[w["role"] == "social_worker"].set_index("organisation")["meeting_hours"]

    extra = meeting_hours(with_board) - meeting_hours(without)
    assert extra.to_dict() == {"north_council": 2.0 * row["sittings"], "south_council": 2.0 * row["sittings"]}
    assert with_board.patients["admitted"].equals(without.patients["admitted"])
    pair = with_board.tables["interfaces"].query("org_a == 'north_council' and org_b == 'south_council'")
    assert pair["meetings"].tolist() == [row["sittings"]]


def _meeting_problems(tmp_path, meeting: str, shared: str = "", types: str = "") -> list[str]:
    text = EXAMPLE.read_text().replace("\nmeetings:\n", f"\nmeetings:\n{meeting}\n", 1)
    text = text.replace("\norganisation_types:\n", f"\norganisation_types:\n{types}", 1)
    path = tmp_path / "cfg.yaml"
    path.write_text(text + (f"\nshared_capacity:\n{shared}" if shared else ""))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("meeting", "shared", "types", "message"),
    [
        (
            "  - {name: jb, each: shared_capacity, with: [icb], every_days: 28, duration_hours: 2,"
            " attendees: {local_authority: {social_worker: 1}}}",
            "",
            "",
            "'with' does not go with each: shared_capacity",
        ),
        (
            "  - {name: jb, each: shared_capacity, every_days: 28, duration_hours: 2,"
            " attendees: {local_authorty: {social_worker: 1}}}",
            "",
            "",
            "did you mean 'local_authority'",
        ),
        (
            "  - {name: jb, each: shared_capacity, every_days: 28, duration_hours: 2,"
            " attendees: {local_authority: {commissioner: 1}}}",
            "  - {capacity: care_home_beds, organisations: [north_council, south_council]}",
            "",
            "organisation 'north_council' has no staff role 'commissioner'",
        ),
        (
            "",
            "",
            "  shared_capacity: {label: Shared}\n",
            "names a meeting's members (each: shared_capacity), not a type",
        ),
    ],
)
def test_a_bad_board_is_named_with_its_file_line_and_key(tmp_path, meeting, shared, types, message):
    found = _meeting_problems(tmp_path, meeting, shared, types)
    assert any(m.startswith(f"{tmp_path / 'cfg.yaml'}:") and message in m for m in found), found


def test_a_board_s_roles_are_asked_only_of_the_organisations_sharing(tmp_path):
    """A role only the sharing councils have is no error while no one shares."""
    path = tmp_path / "cfg.yaml"
    path.write_text(
        EXAMPLE.read_text().replace(
            "\nmeetings:\n",
            "\nmeetings:\n  - {name: jb, each: shared_capacity, every_days: 28, duration_hours: 2,"
            " attendees: {local_authority: {commissioner: 1}}}\n",
            1,
        )
    )
    load_config(path)


def test_share_has_every_council_of_an_area_commission_together():
    """``share``: every organisation of the type in one pool of each capacity named, and
    groups already there joined rather than repeated; names checked with a suggestion."""
    data = example_data()
    out = apply(data, {"share": {"capacity": ["care_home_beds", "reablement_slots"]}})
    assert out["shared_capacity"] == [
        {"capacity": "care_home_beds", "organisations": ["north_council", "south_council"]},
        {"capacity": "reablement_slots", "organisations": ["north_council", "south_council"]},
    ]
    build(out)
    split = apply(data, {"split": {**SPLIT, "share_capacity": ["care_home_beds"]}})
    again = apply(split, {"share": {"capacity": ["care_home_beds"]}})
    assert [(g["capacity"], sorted(g["organisations"])) for g in again["shared_capacity"]] == [
        ("care_home_beds", ["north_council", "south_east", "south_west"])
    ]
    with pytest.raises(TransformError, match=r"^share: capacity: 'care_home_bed' .*did you mean 'care_home_beds'"):
        apply(data, {"share": {"capacity": ["care_home_bed"]}})
    with pytest.raises(TransformError, match=r"'care_home_beds' is not a capacity of two or more of the organisations"):
        apply(data, {"share": {"capacity": ["care_home_beds"], "type": "icb"}})
