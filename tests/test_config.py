"""Configuration loading: every kind of bad input gets FILE:LINE: key.path: message."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest

from sim.cli import main
from sim.config import load_config
from sim.errors import ConfigError
from sim.yamlio import load_yaml

from .conftest import EXAMPLE, ROOT

TEXT = EXAMPLE.read_text()


def write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def reported_at(found, path, text, needle, message):
    """One of the problems found is ``message``, at the line of ``path`` holding ``needle``."""
    prefix = f"{path}:{line_of(text, needle)}:"
    return any(m.startswith(prefix) and message in m for m in found)


def test_example_is_valid():
    cfg = load_config(EXAMPLE)
    assert cfg.name == "example"
    assert len(cfg.zones) == 4
    assert cfg.admitting_type == "acute_trust"
    assert cfg.source == str(EXAMPLE)


def test_unknown_key_names_file_line_and_suggests(tmp_path):
    text = TEXT.replace("  warmup_days: 60", "  warmup_dayz: 60")
    path = write(tmp_path, text)
    [msg] = problems(path)
    assert msg.startswith(f"{path}:{line_of(text, 'warmup_dayz')}: run.warmup_dayz: unknown key")
    assert "did you mean 'warmup_days'" in msg


@pytest.mark.parametrize(
    "text, hint",
    [
        ("baseline:true", "; YAML needs a space after a colon: 'baseline: true'"),
        ("run.warmup_days:120", "; YAML needs a space after a colon: 'run.warmup_days: 120'"),
        ("length_days: 365", ""),  # spaced: not this mistake
        ("12:30", ""),  # a time
        ("https://example.org/x.yaml", ""),
        ("north_council", ""),
    ],
)
def test_a_key_run_into_its_value_is_told_from_a_time_or_an_address(text, hint):
    from sim.errors import no_space_after_colon

    assert no_space_after_colon(text) == hint


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        # every word of the id given is in one known: before spelling, which finds 'cornwall_place'
        ("cornwall_icb", "; did you mean 'cornwall_and_the_isles_of_scilly_icb'?"),
        ("kent", "; did you mean 'kent_council' or 'kent_place'?"),
        ("cornwal_place", "; did you mean 'cornwall_place'?"),  # a slip: spelling
        # those starting with it, before the six holding it
        ("devon", "; did you mean 'devon_council' or 'devon_icb'?"),
        ("nobody", "; known: a0, a1, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, ... (20 in all)"),
    ],
)
def test_an_unknown_name_is_told_what_it_may_have_meant(name, hint):
    from sim.errors import did_you_mean

    known = ["cornwall_and_the_isles_of_scilly_icb", "cornwall_place", "kent_council", "kent_place", "devon_council"]
    known += ["devon_icb", *(f"{d}_devon_district" for d in ("east", "mid", "north", "west"))]
    assert did_you_mean(name, [f"a{i}" for i in range(20)] if name == "nobody" else known) == hint


def test_unknown_key_deep_inside_a_list(tmp_path):
    text = TEXT.replace(
        "      first_contact_days: {dist: exponential, mean: 0.5}",
        "      first_contact_day: {dist: exponential, mean: 0.5}",
    )
    path = write(tmp_path, text)
    [msg] = problems(path)
    assert f":{line_of(text, 'first_contact_day:')}: pathways.P1.steps[1].first_contact_day: unknown key" in msg


def test_wrong_type_value(tmp_path):
    text = TEXT.replace("social_worker: {count: 5,", "social_worker: {count: five,")
    path = write(tmp_path, text)
    msgs = problems(path)
    assert any(
        f":{line_of(text, 'count: five')}: organisations.north_council.staff.social_worker.count" in m for m in msgs
    )


def test_missing_required_key(tmp_path):
    text = TEXT.replace("  length_days: 365\n", "")
    msgs = problems(write(tmp_path, text))
    assert any("run.length_days: required key is missing" in m for m in msgs)


def test_reference_to_missing_organisation(tmp_path):
    text = TEXT.replace("    southvale: south_council\n", "    southvale: south_councel\n")
    path = write(tmp_path, text)
    [msg] = problems(path)
    assert f":{line_of(text, 'south_councel')}: footprints.local_authority.southvale:" in msg
    assert "did you mean 'south_council'" in msg


def test_shares_must_sum_to_one(tmp_path):
    text = TEXT.replace("southvale: {general_hospital: 1.0}", "southvale: {general_hospital: 0.8}")
    [msg] = problems(write(tmp_path, text))
    assert "footprints.acute_trust.southvale: shares must sum to 1, they sum to 0.8" in msg


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        ("warmup_days: 60", "warmup_days: .nan", "run.warmup_days", "Input should be a finite number"),
        (
            "length_of_stay_days: {dist: lognormal, mean: 9, sd: 8}",
            "length_of_stay_days: {dist: lognormal, mean: 9, sd: .inf}",
            "patients.length_of_stay_days.sd",
            "Input should be a finite number",
        ),
        (
            "southvale: {general_hospital: 1.0}",
            "southvale: {general_hospital: .nan}",
            "footprints.acute_trust.southvale.general_hospital",
            "a share must be a number of at least 0",
        ),
    ],
)
def test_a_number_that_is_not_finite_is_refused(tmp_path, old, new, key, message):
    """An infinite spread of effort was taken, and the run stopped part-way with a
    traceback from the event calendar (cannot convert float NaN to integer)."""
    assert old in TEXT
    path = write(tmp_path, TEXT.replace(old, new))
    found = problems(path)
    assert f"{path}:{line_of(TEXT, old)}: {key}: {message}" in found


def test_every_zone_must_be_covered(tmp_path):
    text = TEXT.replace("    eastfield: south_council\n", "")
    [msg] = problems(write(tmp_path, text))
    assert "footprints.local_authority: zones not covered: eastfield" in msg


def test_a_type_without_a_footprint_says_how_to_give_one(tmp_path):
    """A voluntary-sector type added to a copy of the example, its footprint forgotten."""
    text = TEXT.replace(
        "  place:            {label: Place-based partnership}\n",
        "  place:            {label: Place-based partnership}\n  voluntary: {label: Voluntary sector}\n",
    ).replace("organisations:\n", "organisations:\n  home_from_hospital: {type: voluntary}\n", 1)
    [msg] = problems(write(tmp_path, text))
    assert msg.endswith(
        "footprints: no footprint for organisation type 'voluntary': add 'voluntary:' under footprints, with each "
        "zone's organisation of that type (harbourside: home_from_hospital, northmoor: home_from_hospital, ...)"
    )
    shares = TEXT.replace(
        "  acute_trust:\n    harbourside: {general_hospital: 1.0}\n",
        "  trusts:\n    harbourside: {general_hospital: 1.0}\n",
    )
    assert any(
        "no footprint for organisation type 'acute_trust': add 'acute_trust:' under footprints, with each zone's "
        "organisations and their shares of that type (harbourside: {general_hospital: 1.0}, " in m
        for m in problems(write(tmp_path, shares))
    )


def test_pathway_shares_and_missing_staff(tmp_path):
    text = TEXT.replace("    share: 0.5\n", "    share: 0.6\n").replace(
        "staff: therapist, effort_hours", "staff: physio, effort_hours"
    )
    msgs = problems(write(tmp_path, text))
    assert any("pathways: pathway shares must sum to 1" in m for m in msgs)
    assert any(
        "pathways.P2.steps[0].staff: organisation 'community_trust' has no staff role 'physio' "
        "(it has community_nurse, therapist)" in m
        for m in msgs
    )


def test_meeting_needs_more_staff_than_exist(tmp_path):
    text = TEXT.replace(
        "attendees: {acute_trust: {discharge_coordinator: 1}", "attendees: {acute_trust: {discharge_coordinator: 9}"
    )
    [msg] = problems(write(tmp_path, text))
    assert "meetings[0].attendees.acute_trust.discharge_coordinator: needs 9 but 'general_hospital' has 4" in msg


def test_unknown_governance_arrangement(tmp_path):
    text = TEXT.replace(
        "    governance: joint_committee\n    staff:\n      place_lead: {count: 1, hours_per_week: 37.5}\n  inland",
        "    governance: joint_comittee\n    staff:\n      place_lead: {count: 1, hours_per_week: 37.5}\n  inland",
    )
    [msg] = problems(write(tmp_path, text))
    assert "organisations.coast_place.governance: unknown arrangement 'joint_comittee'" in msg
    assert "did you mean 'joint_committee'" in msg


def test_a_deciding_body_s_sitting_names_its_file_line_and_what_is_wrong(tmp_path):
    # a role the councils do not have, in the joint committee's sitting
    text = TEXT.replace(
        "      sitting:\n        duration_hours: 2\n        attendees: {place: {place_lead: 1}, local_authority: {social_worker: 1}",
        "      sitting:\n        duration_hours: 2\n        attendees: {place: {place_lead: 1}, local_authority: {social_wroker: 1}",
        1,
    )
    # a consultative forum's sign-off sat by a type that is not one of its partners
    text = text.replace(
        "attendees: {local_authority: {social_worker: 1}, icb: {chc_nurse: 1}}}",
        "attendees: {place: {place_lead: 1}, icb: {chc_nurse: 1}}}",
    )
    found = problems(path := write(tmp_path, text))
    assert reported_at(
        found,
        path,
        text,
        "social_wroker",
        "governance.arrangements.joint_committee.sitting.attendees.local_authority.social_wroker: "
        "organisation 'north_council' has no staff role 'social_wroker'; did you mean 'social_worker'?",
    ), found
    assert any(
        "governance.arrangements.consultative_forum.sitting.attendees.place: type 'place' is not one of the "
        "partners ['local_authority', 'icb']" in m
        for m in found
    ), found


def test_one_deciding_alone_is_a_type_and_role_that_exist_and_takes_some_time(tmp_path):
    text = TEXT.replace(
        "decider: {type: place, role: place_lead, effort_hours: 0.5}   # within",
        "decider: {type: plaec, role: place_lead, effort_hours: 0.5}   # within",
    ).replace(
        "      days: {dist: exponential, mean: 1}\n      decider: {type: place, role: place_lead",
        "      days: {dist: exponential, mean: 1}\n      decider: {type: place, role: director",
    )
    found = problems(path := write(tmp_path, text))
    assert reported_at(
        found,
        path,
        text,
        "type: plaec",
        "governance.arrangements.individual_director.decider.type: unknown organisation type 'plaec'; "
        "did you mean 'place'?",
    ), found
    assert any(
        "governance.arrangements.lead_provider.decider.role: organisation 'coast_place' has no staff role 'director'"
        in m
        for m in found
    ), found
    text = TEXT.replace(
        "role: place_lead, effort_hours: 0.5}   # within", "role: place_lead, effort_hours: 0}   # within"
    )
    [msg] = problems(write(tmp_path, text))
    assert "governance.arrangements.individual_director.decider.effort_hours" in msg and "greater than 0" in msg


def test_a_meeting_name_is_not_reused(tmp_path):
    text = TEXT.replace("  - name: place_board\n", "  - name: joint_committee\n").replace(
        "  - name: funding_panel\n", "  - name: discharge_meeting\n"
    )
    found = problems(write(tmp_path, text))
    assert any("meetings[1].name: meeting name 'discharge_meeting' is used twice" in m for m in found), found
    assert any(
        "meetings[2].name: 'joint_committee' is also a governance arrangement, whose sittings are meetings" in m
        for m in found
    ), found


def test_a_sitting_needs_a_length_and_someone_to_sit(tmp_path):
    text = TEXT.replace(
        "sitting: {duration_hours: 2, attendees: {place: {place_lead: 1}, icb: {chc_nurse: 1}}}",
        "sitting: {duration_hours: 0, attendees: {}}",
    )
    found = problems(write(tmp_path, text))
    assert any("governance.arrangements.icb_committee.sitting.duration_hours" in m for m in found), found
    assert any("governance.arrangements.icb_committee.sitting.attendees" in m for m in found), found


def test_warmup_must_be_shorter_than_run(tmp_path):
    text = TEXT.replace("warmup_days: 60", "warmup_days: 400")
    [msg] = problems(write(tmp_path, text))
    assert "run: warmup_days must be shorter than length_days" in msg


@pytest.mark.parametrize(
    "text, expected",
    [
        ("name: x\nrun: [unclosed\n", r":\d+: \(top level\): invalid YAML"),
        ("name: a\nname: b\n", r":2: \(top level\): invalid YAML: .*duplicate key"),
        ("", r":1: \(top level\): the file is empty"),
        ("# only a comment\n", r":1: \(top level\): the file is empty"),
        ("- a\n- b\n", r":1: \(top level\): expected a mapping of keys at the top level, found a list"),
        ("just a string\n", r":1: \(top level\): expected a mapping"),
        ("name: x\nzones: {a: 1}\n", r":2: zones: Input should be a valid list"),
        (  # a scenario copied with its anchor: legal YAML, but the *alias after it would take the copy
            "name: &n x\ndescription: &n y\nrun: *n\n",
            r":2: \(top level\): the anchor &n is defined again \(first at line 1\): each \*n would mean the "
            r"nearest one above it, .*give this one a name of its own \(&n_2, say\)$",
        ),
    ],
)
def test_bad_yaml_is_reported_plainly(tmp_path, text, expected):
    path = write(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said as a problem, not printed as a Python warning
        msgs = problems(path)
    assert any(re.search(re.escape(str(path)) + expected, m) for m in msgs), msgs


def test_missing_file(tmp_path):
    [msg] = problems(tmp_path / "nope.yaml")
    assert msg == f"{tmp_path / 'nope.yaml'}: (top level): no such file"
    [msg] = problems(tmp_path)  # there is something there, but not a file
    assert msg == f"{tmp_path}: (top level): a folder, not a file: give the YAML file itself"


def test_unsafe_yaml_tags_are_not_executed(tmp_path):
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo hacked']\n")
    msgs = problems(path)
    assert msgs  # refused or rejected, never run


def test_validate_command_exit_codes(tmp_path, capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = write(tmp_path, TEXT.replace("warmup_days: 60", "warmup_days: sixty"))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:{line_of(TEXT, 'warmup_days')}: run.warmup_days:" in err
    assert "Traceback" not in err


def test_validate_as_a_process_has_no_traceback(tmp_path):
    bad = write(tmp_path, "- not\n- a mapping\n")
    proc = subprocess.run([sys.executable, "-m", "sim", "validate", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr


def test_a_value_that_fits_none_of_a_keys_types_is_one_problem_naming_them_all(tmp_path):
    text = TEXT.replace("social_worker: {count: 5,", "social_worker: {count: eight,")
    assert text != TEXT
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:{line_of(text, 'count: eight')}: organisations.north_council.staff.social_worker.count: "
        "Input should be a valid integer or 'unlimited', not 'eight'"
    ]


@pytest.mark.parametrize("given, shown", [("nine", "'nine'"), ("[9]", "[9]"), ("true", "true"), ("", "nothing")])
def test_a_distribution_that_is_neither_a_number_nor_a_mapping_says_what_it_should_be(tmp_path, given, shown):
    old = "length_of_stay_days: {dist: lognormal, mean: 9, sd: 8}"
    assert old in TEXT
    text = TEXT.replace(old, f"length_of_stay_days: {given}")
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:{line_of(text, 'length_of_stay_days')}: patients.length_of_stay_days: should be a number (a fixed "
        f"value) or a distribution, as {{dist: lognormal, mean: 7, sd: 4}}, not {shown}"
    ]


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        (
            "social_worker: {count: 5, hours_per_week: 37.5}",
            "social_worker: 5",
            "organisations.north_council.staff.social_worker",
            "Input should be a mapping (keys: count, hours_per_week), not 5",
        ),
        (
            "run:\n  length_days: 365\n  warmup_days: 60\n",
            "run: 365\n",
            "run",
            "Input should be a mapping (keys: length_days, warmup_days), not 365",
        ),
        # a key run into its value ('count:5', no space after the colon) is one word to YAML:
        # in a flow mapping an unknown key, whose own key is then not also said to be missing
        (
            "social_worker: {count: 5,",
            "social_worker: {count:5,",
            "organisations.north_council.staff.social_worker.count:5",
            "unknown key 'count:5'; YAML needs a space after a colon: 'count: 5'",
        ),
        # on a line of its own, a string where a mapping should be
        (
            "run:\n  length_days: 365\n  warmup_days: 60\n",
            "run:\n  length_days:365\n",
            "run",
            "Input should be a mapping (keys: length_days, warmup_days), not 'length_days:365'; "
            "YAML needs a space after a colon: 'length_days: 365'",
        ),
    ],
)
def test_a_value_where_a_mapping_belongs_names_its_keys(tmp_path, old, new, key, message):
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:{line_of(text, new.splitlines()[0])}: {key}: {message}"]


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        (
            "length_of_stay_days: {dist: lognormal,",
            "length_of_stay_days: {dist: lognorm,",
            "patients.length_of_stay_days",
            "unknown dist 'lognorm'; did you mean 'lognormal'? "
            "(allowed: fixed, exponential, lognormal, gamma, uniform, triangular)",
        ),
        (
            "length_of_stay_days: {dist: lognormal,",
            "length_of_stay_days: {",
            "patients.length_of_stay_days.dist",
            "required key is missing: it says which kind this is",
        ),
        (
            "kind: each_partner",
            "kind: each_partners",
            "governance.arrangements.consultative_forum",
            "unknown kind 'each_partners'; did you mean 'each_partner'? (allowed: panel, each_partner, delegated, "
            "immediate)",
        ),
    ],
)
def test_a_value_of_an_unknown_kind_names_the_kinds_there_are(tmp_path, old, new, key, message):
    assert old in TEXT
    text = TEXT.replace(old, new, 1)
    path = write(tmp_path, text)
    (found,) = problems(path)
    assert found.startswith(f"{path}:") and found.endswith(f": {key}: {message}"), found


def test_a_step_some_patients_need_has_a_share_and_is_not_the_discharge(tmp_path):
    text = TEXT.replace("        discharge: true\n", "        discharge: true\n        share: 0.5\n", 1)
    found = problems(path := write(tmp_path, text))
    assert any(m.startswith(f"{path}:") and "pathways.P1: the discharge step is every patient's" in m for m in found), (
        found
    )
    text = TEXT.replace("{name: chc_check, by: icb,", "{name: chc_check, share: 0, by: icb,")
    [msg] = problems(path := write(tmp_path, text))
    assert msg.startswith(f"{path}:{line_of(text, 'chc_check, share: 0')}:") and "P3.steps[1].share" in msg, msg
    assert "greater than 0" in msg


def test_a_lower_tier_names_a_type_with_one_organisation_per_zone(tmp_path):
    text = TEXT.replace(
        "  place:            {label: Place-based partnership}",
        "  place:            {label: Place-based partnership, lower_tier_of: local_authorty}",
    )
    found = problems(path := write(tmp_path, text))
    assert reported_at(
        found,
        path,
        text,
        "lower_tier_of",
        "organisation_types.place.lower_tier_of: unknown organisation type 'local_authorty'; "
        "did you mean 'local_authority'?",
    ), found
    text = TEXT.replace(
        "  place:            {label: Place-based partnership}",
        "  place:            {label: Place-based partnership, lower_tier_of: acute_trust}",
    )
    assert "one organisation per zone" in problems(write(tmp_path, text))[0]


def test_a_mapping_merged_in_with_an_anchor_is_read_and_placed_on_the_line_it_is_merged_into(tmp_path):
    path = tmp_path / "merged.yaml"
    path.write_text("a: &x\n  p: 1\n  q: [1, 2]\nb:\n  <<: *x\n  r: 3\n")
    data, lines = load_yaml(path)
    assert data["b"] == {"p": 1, "q": [1, 2], "r": 3}
    assert (lines[("b", "r")], lines[("b", "p")], lines[("a", "p")]) == (6, 4, 2)
