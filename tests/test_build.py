"""Configurations built from England's real geography."""

from __future__ import annotations

import copy
import functools
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sim.build import ENGLAND, Area, BuildSpec, build_config, dump, england, england_districts, trust_names
from sim.cli import main
from sim.config import config_from_dict, load_config
from sim.experiment import Experiment, load_experiment
from sim.geography import Geography, structure_tables
from sim.transforms import apply, councils_in_pieces, group_districts, in_pieces, split_counties
from sim.yamlio import load_yaml

from .conftest import ROOT

LSC = ROOT / "configs" / "lancashire-south-cumbria.yaml"
LSC_SPEC = ROOT / "configs" / "build" / "lancashire-south-cumbria.yaml"


@functools.cache
def shipped_experiment(name: str) -> Experiment:
    """An experiment in experiments/, read once for all the tests that look at it."""
    return load_experiment(ROOT / "experiments" / name)


def test_england_zones_cover_the_census_population():
    e = england()
    assert e.zones["population"].sum() == pytest.approx(56_428_400, abs=200)  # rounding of split districts
    assert e.zones["icb_code"].nunique() == 42
    assert e.zones["authority"].nunique() == 153
    shares = e.trust_weights.groupby("zone")["share"].sum()
    assert ((shares - 1).abs() < 1e-9).all()


def test_a_district_in_two_icbs_is_split_by_its_small_areas():
    z = england().zones
    wf = z[z["district23"] == "Westmorland and Furness"].set_index("icb_code")["population"]
    # Barrow (67,300) and South Lakeland (103,000) in Lancashire and South Cumbria; Eden in the North East
    assert wf["E54000048"] == pytest.approx(67_300 + 103_000, abs=2_000)
    assert wf.sum() == pytest.approx(225_000, abs=5)


@pytest.mark.parametrize("spec", sorted((ROOT / "configs" / "build").glob("*.yaml")), ids=lambda p: p.name)
def test_each_committed_config_is_what_its_spec_builds(spec, tmp_path):
    out = tmp_path / spec.name
    assert main(["build", str(spec), "--out", str(out)]) == 0
    committed = ROOT / "configs" / spec.name
    assert out.read_text() == committed.read_text(), f"rebuild configs/{spec.name} from {spec.name}"


def test_a_written_configuration_puts_a_list_or_mapping_on_one_line_only_where_it_fits():
    """A list folded inside [...] is hard to edit (a planner changes the councils listed
    under a unitary's ``into``): too long for a line, it is one item a line."""
    data = {
        "footprints": {
            "local_authority": {f"zone_{i}": "a_council_with_a_long_name" for i in range(12)},
            "icb": {"a": "b"},
        },
        "zones": [{"id": f"z{i}", "name": "Name (with, a comma)", "population": 1000} for i in range(3)],
        "reorganise": {"into": {"u1": [f"district_number_{i}" for i in range(12)], "u2": ["a", "b"]}},
        "names": {"x": {f"u{i}_council": f"Unitary ({i} of 12)" for i in range(12)}},
    }
    text = dump(data, "")
    assert YAML(typ="safe").load(text) == data
    for line in text.splitlines():
        assert len(line) <= 120 and line.count("{") == line.count("}") and line.count("[") == line.count("]"), line
    assert "  icb: {a: b}" in text and "u2: [a, b]" in text and "- {id: z0, name: 'Name (with, a comma)'" in text
    assert "\n    u1_council: Unitary (1 of 12)\n" in text and "\n    - district_number_3\n" in text


@given(
    st.recursive(
        st.integers() | st.text("ab ,:()-_'", max_size=30),
        lambda inner: (
            st.lists(inner, max_size=8)
            | st.dictionaries(st.text("abcdef_", min_size=1, max_size=40), inner, max_size=8)
        ),
        max_leaves=60,
    )
)
def test_a_written_configuration_reads_back_as_it_was(value):
    data = {"top": value}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "written.yaml"
        path.write_text(dump(data, ""), encoding="utf-8")
        assert load_yaml(path)[0] == data  # as the model reads it


def test_lancashire_today_matches_the_board_paper():
    cfg = load_config(LSC)
    geo = Geography(cfg)
    councils = cfg.orgs_of_type("local_authority")
    for name in (
        "blackpool_council",
        "blackburn_with_darwen_council",
        "lancashire_council",
        "westmorland_and_furness_council",
    ):
        assert name in councils
    assert {"rxl", "rxr", "rxn", "rtx", "rvy"} <= set(cfg.orgs_of_type("acute_trust"))
    assert len(cfg.orgs_of_type("place")) == 5
    # none of the five places is coterminous with a council
    cot = structure_tables(geo)["coterminosity"].set_index(["layer_a", "layer_b"])
    assert cot.loc[("local_authority", "place"), "coterminous_share"] == 0
    # Blackpool Teaching's discharge team works with both Blackpool and Lancashire councils
    assert {"blackpool_council", "lancashire_council"} <= set(geo.partners("rxl", "local_authority"))
    # West Lancashire's residents mostly go to Southport and Ormskirk
    shares = cfg.footprints["acute_trust"]["west_lancashire"]
    assert max(shares, key=shares.get) == "rvy"
    # demand: about 10.4 complex discharges per 1,000 a year
    residents = sum(z.population for z in cfg.zones)
    assert cfg.demand.per_1000_per_year * residents / 1000 == pytest.approx(10.37 * residents / 1000)


def test_lancashire_aligned_to_its_councils_has_the_board_papers_four_places():
    exp = shipped_experiment("lancashire-south-cumbria.yaml")
    cfg = next(c.config for c in exp.cells if c.scenario == "places_aligned")
    place = cfg.footprints["place"]
    assert sorted(cfg.orgs_of_type("place")) == [
        "place_blackburn_with_darwen_council",
        "place_blackpool_council",
        "place_lancashire_council",
        "place_westmorland_and_furness_council",
    ]
    # Millom (Cumberland, 8,204) and Bentham (North Yorkshire, 5,334) join South Cumbria's
    # place, whose residents use the same hospitals (Morecambe Bay's); neither has a place of its own
    for fragment in ("cumberland__lancashire_and_south_cumbria", "north_yorkshire__lancashire_and_south_cumbria"):
        assert place[fragment] == "place_westmorland_and_furness_council"
    assert place["lancaster"] == "place_lancashire_council"
    for scenario in ("delivery_units", "two_unitaries", "three_unitaries"):
        cfg = next(c.config for c in exp.cells if c.scenario == scenario)
        assert not {"place_cumberland_council", "place_north_yorkshire_council"} & set(cfg.orgs_of_type("place"))


def test_a_councils_small_part_draws_on_the_whole_councils_places(monkeypatch):
    """Millom and Bentham: Cumberland's and North Yorkshire's places are unlimited (the
    whole councils'), with staff scaled as any council's; Westmorland and Furness, a
    larger part, and the whole councils keep places scaled to their residents, and so
    do the City of London and the Isles of Scilly, whole councils however small."""
    import sim.build as build_module

    cfg = load_config(LSC)
    for council in ("cumberland_council", "north_yorkshire_council"):
        assert cfg.organisations[council].capacity == {"reablement_slots": "unlimited", "care_home_beds": "unlimited"}
        assert cfg.organisations[council].staff["social_worker"].count == 1
    for council in ("westmorland_and_furness_council", "blackpool_council", "lancashire_council"):
        assert all(isinstance(n, int) for n in cfg.organisations[council].capacity.values())
    london = build_module.build_config(BuildSpec(name="london", icbs=["North East London"]))
    assert london["organisations"]["city_of_london_council"]["capacity"] == {"reablement_slots": 5, "care_home_beds": 2}
    scaled = {**build_module.defaults(), "small_part_capacity": "scaled"}
    monkeypatch.setattr(build_module, "defaults", lambda: scaled)
    lsc = build_module.build_config(build_module.load_spec(LSC_SPEC))
    assert lsc["organisations"]["cumberland_council"]["capacity"] == {"reablement_slots": 5, "care_home_beds": 2}


def icbs_of_each_place(place: dict[str, str], icb: dict[str, str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for zone, p in place.items():
        out.setdefault(p, set()).add(icb[zone])
    return out


def test_englands_places_keep_to_one_icb_each_and_fold_in_small_fragments():
    data, _ = load_yaml(ROOT / "configs" / "england.yaml")
    cfg = config_from_dict(data)
    place, icb = cfg.footprints["place"], cfg.footprints["icb"]
    icbs_of = icbs_of_each_place(place, icb)
    assert max(len(v) for v in icbs_of.values()) == 1
    assert len(icbs_of) == 158  # 153 councils, 11 of them in two or three ICBs, 8 fragments joined
    essex = sorted(p for p in icbs_of if p.startswith("essex_place__"))
    assert [cfg.organisations[p].name for p in essex] == [
        "Essex place (NHS Hertfordshire and West Essex Integrated Care Board)",
        "Essex place (NHS Mid and South Essex Integrated Care Board)",
        "Essex place (NHS Suffolk and North East Essex Integrated Care Board)",
    ]
    # fragments under 20,000 join the place whose residents use the same hospitals, in their own ICB
    assert place["isles_of_scilly"] == "cornwall_place"
    assert place["city_of_london"] == "tower_hamlets_place"
    assert place["buckinghamshire__bedfordshire_luton_and_milton_keynes"] == "milton_keynes_place"
    assert place["buckinghamshire__buckinghamshire_oxfordshire_and_berkshire_west"] == "buckinghamshire_place"
    # the same places as `align` within ICBs makes of them, under other ids
    aligned = {"type": "place", "to": "local_authority", "within": "icb", "min_population": 20_000}
    again = apply(data, {"align": aligned})["footprints"]["place"]
    assert {frozenset(z for z in place if place[z] == p) for p in icbs_of} == {
        frozenset(z for z in again if again[z] == p) for p in set(again.values())
    }
    # without `within`, 11 places would each span two or three ICBs
    across = apply(data, {"align": {"type": "place", "to": "local_authority"}})["footprints"]["place"]
    assert sum(len(v) > 1 for v in icbs_of_each_place(across, icb).values()) == 11


def test_a_build_can_keep_only_some_councils():
    """Surrey lies in two ICBs (Surrey Heartlands, and Frimley for Surrey Heath, Farnham, Ash
    and part of Runnymede): its build has all its residents and nobody else's."""
    cfg = load_config(ROOT / "configs" / "surrey.yaml")
    zones = england().zones
    surrey = zones[zones["authority"] == "surrey_council"]
    assert {z.id for z in cfg.zones} == set(surrey["zone"])
    assert sum(z.population for z in cfg.zones) == surrey["population"].sum() == pytest.approx(1_203_600, abs=10)
    assert cfg.orgs_of_type("local_authority") == ["surrey_council"]
    assert sorted(cfg.orgs_of_type("icb")) == ["frimley_icb", "surrey_heartlands_icb"]
    assert len(cfg.orgs_of_type("housing")) == 11
    assert sorted(cfg.orgs_of_type("place")) == ["surrey_place__frimley", "surrey_place__surrey_heartlands"]
    # a trust has the staff for the residents it serves here: Frimley Park's for Surrey's only
    whole = load_config(ROOT / "configs" / "england.yaml")
    assert cfg.organisations["rdu"].staff["discharge_coordinator"].count < (
        whole.organisations["rdu"].staff["discharge_coordinator"].count / 2
    )
    # the same organisations as the same ICBs' whole build, less those with no Surrey residents
    both = build_config(BuildSpec(name="x", icbs=["E54000052", "E54000034"]))
    assert set(cfg.organisations) < set(both["organisations"])
    assert {z: both["footprints"]["acute_trust"][z] for z in cfg.footprints["acute_trust"]} == {
        z: dict(fp) for z, fp in cfg.footprints["acute_trust"].items()
    }


@pytest.mark.parametrize(
    ("councils", "message"),
    [
        (["Surray"], "councils: unknown council 'Surray'; did you mean 'Surrey'?"),
        (["Kent"], "councils: 'Kent' has no residents in these ICBs; it is in NHS Kent and Medway"),
        (["Surrey", "surrey_council"], "councils: 'surrey_council' is given twice"),
    ],
)
def test_councils_a_build_cannot_keep_are_named(councils, message):
    with pytest.raises(ValueError, match=message):
        build_config(BuildSpec(name="x", icbs=["E54000052"], councils=councils))


def test_england_has_about_585000_complex_discharges():
    data = build_config(BuildSpec(name="england", icbs="all"))
    cfg = config_from_dict(data)
    residents = sum(z.population for z in cfg.zones)
    assert cfg.demand.per_1000_per_year * residents / 1000 == pytest.approx(585_000, rel=0.01)
    assert len(cfg.orgs_of_type("icb")) == 42
    assert len(cfg.orgs_of_type("local_authority")) == 153


def test_every_acute_trust_has_its_name_and_the_name_fits_its_catchment():
    names = trust_names()
    catchment = pd.read_csv(ENGLAND / "trust22_ltla21_catchment_share.csv")
    population = pd.read_csv(ENGLAND / "ltla21_population_2021.csv")
    assert set(names) == set(catchment["nhs_trust22_code"])
    assert len(set(names.values())) == len(names)
    # each name against the district its trust draws most of its patients from
    top = catchment.merge(population, on="ltla21_code").sort_values("proportion_trust_came_from_ltla")
    main_district = top.groupby("nhs_trust22_code")["ltla21_name"].last()
    for code, district, name in [
        ("RXN", "Preston", "Lancashire Teaching Hospitals"),
        ("RXF", "Wakefield", "Mid Yorkshire Hospitals"),
        ("RBT", "Cheshire East", "Mid Cheshire Hospitals"),
        ("RVV", "Canterbury", "East Kent Hospitals University"),
        ("RWF", "Maidstone", "Maidstone and Tunbridge Wells"),
        ("RTD", "Newcastle upon Tyne", "The Newcastle upon Tyne Hospitals"),
        ("REM", "Liverpool", "Liverpool University Hospitals"),
    ]:
        assert (main_district[code], names[code]) == (district, name), code
    for path in (LSC, ROOT / "configs" / "kent-and-medway.yaml"):
        cfg = load_config(path)
        named = [cfg.organisations[oid].name for oid in cfg.orgs_of_type("acute_trust")]
        assert named and not [n for n in named if n.startswith("Trust ")], path


NORTH_DEVON = ["North Devon", "Torridge", "Mid Devon", "East Devon", "Exeter", "West Devon"]
SOUTH_DEVON = ["Plymouth", "Torbay", "South Hams", "Teignbridge"]
N, S = (f"[{', '.join(d)}]" for d in (NORTH_DEVON, SOUTH_DEVON))  # as a spec gives them


def test_a_spec_s_areas_without_a_name_are_named_by_their_key_in_words():
    """The report names organisations by name: an area given without one is its key in
    words, a place "... place" and a community area "... community services", as the
    build names those it draws itself."""
    north, south = NORTH_DEVON, SOUTH_DEVON
    data = build_config(
        BuildSpec(
            name="x",
            icbs=["Devon"],
            places={"north_east_west": Area(districts=north), "south_place": Area(districts=south)},
            community_health={
                "north_community": Area(districts=north),
                "south_community": Area(districts=south, name="Livewell"),
            },
        )
    )
    orgs = data["organisations"]
    assert orgs["north_east_west"]["name"] == "North east west place"
    assert orgs["south_place"]["name"] == "South place"
    assert orgs["north_community"]["name"] == "North community services"
    assert orgs["south_community"]["name"] == "Livewell"


def test_bad_build_specs_are_reported(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\nicbs: [E54000048]\nplaces:\n  a: {districts: [Prestn]}\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    err = capsys.readouterr().err
    assert "no district 'Prestn'" in err and "did you mean 'Preston'" in err
    spec.write_text("name: x\nicbs: [Cornwall, Devon]\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    assert "icbs: unknown ICB 'Cornwall'; did you mean 'Cornwall and the Isles of Scilly'?" in capsys.readouterr().err
    spec.write_text("name: x\nicbs: [Lancashire and South Cumbra]\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    assert (
        f"{spec}:2: icbs: unknown ICB 'Lancashire and South Cumbra'; did you mean 'Lancashire and South Cumbria'?"
        in (capsys.readouterr().err)
    )
    spec.write_text("name: x\nicbs: [E54000048]\nplaces:\n  a: {districts: [Preston]}\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    assert "districts in no area" in capsys.readouterr().err
    spec.write_text("name: x\nicbs: all\ncouncils: [Surray]\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    assert "s.yaml:3: councils: unknown council 'Surray'; did you mean 'Surrey'?" in capsys.readouterr().err
    spec.write_text("name: x\nicbz: all\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    assert "unknown key 'icbz'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "councils: [Woking]",
            "3: councils: 'Woking' is a district; councils here are the upper tier (2023): did you mean 'Surrey'?",
        ),
        (
            "governance: joint_comittee",
            "3: governance: unknown arrangement 'joint_comittee'; did you mean 'joint_committee'?",
        ),
        (
            "places:\n  a:\n    districts: [Preston]\n    governance: bogus",
            "6: places.a.governance: unknown arrangement 'bogus'; known: consultative_forum, icb_committee,",
        ),
        (
            "places:\n  a:\n    districts: [Preston]\n    provider: RXN",
            "6: places.a.provider: a place has no provider; provider is for community_health areas",
        ),
        (
            "community_health:\n  a:\n    districts: [Preston]\n    governance: lead_provider",
            "6: community_health.a.governance: a community health provider has no governance arrangement;",
        ),
        (
            "places:\n  a: {districts: [Preston]}\n  b: {districts: [Prestn]}",
            "5: places.b.districts: no district 'Prestn' in these ICBs; did you mean 'Preston'?",
        ),
        (
            "places:\n  a: {districts: [Preston]}\n  b: {districts: [Preston]}",
            "5: places.b.districts: district 'Preston' is also in 'a'",
        ),
        ("councils: []", "3: councils: give at least 1 item, not an empty list"),
        # the start of a name: spelling alone found nothing ('Cornwall') or another council
        ("councils: [Bristol]", "3: councils: unknown council 'Bristol'; did you mean 'Bristol, City of'?"),
        (
            "places:\n  a: {districts: [Kings Lynn]}",
            "4: places.a.districts: no district 'Kings Lynn' in these ICBs; known: Breckland, Broadland, East Suffolk, "
            "Great Yarmouth, King's Lynn and West Norfolk, North Norfolk, Norwich, South Norfolk",
        ),
        (  # a provider none of the residents' hospitals is: it was made an organisation called 'rxm'
            "community_health:\n  a:\n    districts: [Preston]\n    provider: RXM",
            "6: community_health.a.provider: 'RXM' is not a trust admitting these residents (did you mean 'RXR', "
            "East Lancashire Hospitals?); a provider is one of those trusts,",
        ),
        # an area keyed as another organisation: they were made one organisation, both roles in it
        (
            f"places:\n  north: {{districts: {N}}}\n  south: {{districts: {S}}}\n"
            f"community_health:\n  north: {{districts: {N}}}\n  south: {{districts: {S}}}",
            "4: places.north: 'north' is already the id of North community services (community_health.north), a "
            "community health provider; each organisation needs an id of its own: give this area another key",
        ),
        (
            f"places:\n  devon_council: {{districts: {N}}}\n  exeter_district: {{districts: {S}}}",
            "4: places.devon_council: 'devon_council' is already the id of Devon, a local authority",
        ),
        (
            f"places:\n  north: {{districts: {N}}}\n  exeter_district: {{districts: {S}}}",
            "5: places.exeter_district: 'exeter_district' is already the id of Exeter (district), a housing authority;",
        ),
        (
            f"community_health:\n  ra9: {{districts: {N}}}\n  south: {{districts: {S}}}",
            "4: community_health.ra9: 'ra9' is already the id of Torbay and South Devon, an acute trust;",
        ),
    ],
)
def test_a_build_spec_problem_is_named_where_it_is(text, problem, tmp_path, capsys):
    """Not silently ignored (a place's provider), nor found only in the configuration
    built from it, but at the spec's own line."""
    spec = tmp_path / "s.yaml"
    icbs = "all" if "Woking" in text or "Bristol" in text else "[Devon]" if "Torbay" in text else "[E54000048]"
    icbs = "[Norfolk and Waveney]" if "Lynn" in text else icbs
    spec.write_text(f"name: x\nicbs: {icbs}\n{text}\n")
    assert main(["build", str(spec), "--out", str(tmp_path / "o.yaml")]) == 2
    assert f"{spec}:{problem}" in capsys.readouterr().err
    assert not (tmp_path / "o.yaml").exists()


def test_build_never_overwrites_silently(tmp_path, capsys):
    out = tmp_path / "o.yaml"
    out.write_text("keep me")
    assert main(["build", str(LSC_SPEC), "--out", str(out)]) == 2
    assert out.read_text() == "keep me"


def test_staff_follow_residents_and_round_up():
    cfg = load_config(LSC)
    lcc = cfg.organisations["lancashire_council"]
    residents = sum(z.population for z in cfg.zones if cfg.footprints["local_authority"][z.id] == "lancashire_council")
    assert lcc.staff["social_worker"].count == math.ceil(3.0 * residents / 100_000)


def test_transform_command_writes_a_new_valid_configuration(tmp_path, capsys):
    out = tmp_path / "aligned.yaml"
    assert (
        main(["transform", str(LSC), "--align", "place:local_authority", "--out", str(out), "--name", "lsc-aligned"])
        == 0
    )
    cfg = load_config(out)
    assert cfg.name == "lsc-aligned"
    cot = structure_tables(Geography(cfg))["coterminosity"].set_index(["layer_a", "layer_b"])
    assert cot.loc[("local_authority", "place"), "coterminous_share"] == 1
    split = tmp_path / "split.yaml"
    assert main(["transform", str(LSC), "--split-counties", "500000", "--out", str(split)]) == 0
    split_cfg = load_config(split)
    assert split_cfg.name == "split"  # the file's: transforms in turn made 'lsc-transformed-transformed'
    councils = split_cfg.orgs_of_type("local_authority")
    assert "lancashire_council" not in councils and len([c for c in councils if c.startswith("lancashire")]) == 2
    successors = sorted(c for c in councils if c.startswith("lancashire"))
    assert [split_cfg.organisations[c].name for c in successors] == ["Lancashire (1 of 2)", "Lancashire (2 of 2)"]
    # what it is, in the words of a YAML file, where a report will read it: not only what it came from
    assert split_cfg.description.startswith(load_config(LSC).description)
    assert split_cfg.description.endswith(
        " Boundaries changed by handover transform: split_counties: {target_population: 500000}."
    )
    assert "\n# split_counties: {target_population: 500000}.\n" in split.read_text()
    assert (
        main(
            [
                "transform",
                str(LSC),
                "--merge",
                "blackpool_council,lancashire_and_south_cumbria_icb:x",
                "--out",
                str(tmp_path / "m.yaml"),
            ]
        )
        == 2
    )
    assert "only organisations of one type" in capsys.readouterr().err
    assert main(["transform", str(LSC), "--align", "place:local_authority", "--out", str(out)]) == 2  # no overwrite


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--merge", "blackpool_council,lancashire_council"],
            "argument --merge: 'blackpool_council,lancashire_council': give A,B:INTO",
        ),
        (
            ["--merge", "blackpool_council,lancashire_council:"],
            "argument --merge: 'blackpool_council,lancashire_council:'",
        ),
        (
            ["--merge", "blackpool_council,lancashire_council:cumberland_council"],
            "merge: into: 'cumberland_council' is another organisation; to merge it too, list it",
        ),
        # an organisation named by some of its id's words: it was a list of the first 12 of 43
        (
            ["--apply", "{split: {organisation: lancashire_icb, into: {}}}"],
            "split: no organisation 'lancashire_icb'; did you mean 'lancashire_and_south_cumbria_icb'?",
        ),
        (
            ["--apply", "{split: {organisation: nobody, into: {}}}"],
            "split: no organisation 'nobody'; known: blackburn_with_darwen_council, blackpool_council, ",
        ),
        (["--align", "place"], "argument --align: 'place': give TYPE:TO, e.g. place:local_authority"),
        # then the YAML parser's own words, which differ between versions of ruamel.yaml
        (["--apply", "{split: {"], "argument --apply: '{split: {' is not valid YAML: "),
        (["--apply", "hello"], "argument --apply: 'hello': give one transform and its arguments"),
        # YAML reads 'split:1' as one key (ruamel.yaml 0.18.13, the oldest allowed, finds it
        # not YAML at all): either way, say why
        (
            ["--apply", "{split:1}"],
            (
                "'{split:1}': no transform is named 'split:1'; YAML needs a space after a colon: 'split: 1'",
                "'{split:1}' is not valid YAML: found unexpected ':'; YAML needs a space after each colon",
            ),
        ),
        (["--apply", "{align:{type:place}}"], "YAML needs a space after each colon, e.g. '{align: {type: place}}'"),
        # 0 is a size, not 'no --split-counties'
        (["--split-counties", "0"], "argument --split-counties: 0: give a number of residents more than 0"),
        (["--split-counties", "many"], "argument --split-counties: 'many' is not a number of residents"),
        (["--apply", "{share: {capacity: [beds]}}"], "share: capacity: 'beds' is not a capacity of two or more"),
    ],
)
def test_transform_command_says_what_is_wrong_with_its_arguments(tmp_path, capsys, args, message):
    out = tmp_path / "new.yaml"
    try:
        code = main(["transform", str(LSC), *args, "--out", str(out)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert any(m in err for m in (message if isinstance(message, tuple) else (message,))), err
    assert not out.exists()


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")), ids=lambda p: p.name)
def test_every_experiment_shipped_is_valid(path):
    assert shipped_experiment(path.name).cells


def test_englands_reorganisation_experiment_differs_only_in_the_reorganisation():
    exp = shipped_experiment("england-reorganisation.yaml")
    cfgs = {c.scenario: c.config for c in exp.cells}
    counts = {s: (len(c.orgs_of_type("local_authority")), len(c.orgs_of_type("place"))) for s, c in cfgs.items()}
    assert counts == {
        "today": (153, 158),
        "counties_split": (170, 158),
        "counties_split_places_aligned": (170, 173),
        "counties_split_joint_commissioning": (170, 158),
        "counties_split_places_aligned_joint_commissioning": (170, 173),
    }
    assert cfgs["today"].footprints["place"] == cfgs["counties_split"].footprints["place"]
    joint, split = cfgs["counties_split_joint_commissioning"], cfgs["counties_split"]
    assert joint.model_dump(exclude={"shared_capacity"}) == split.model_dump(exclude={"shared_capacity"})
    both = cfgs["counties_split_places_aligned_joint_commissioning"]
    aligned = cfgs["counties_split_places_aligned"]
    assert both.model_dump(exclude={"shared_capacity"}) == aligned.model_dump(exclude={"shared_capacity"})
    assert both.shared_capacity == joint.shared_capacity  # realigning places moves no council's pool
    groups = {frozenset(g.organisations) for g in joint.shared_capacity}
    assert len(groups) == 14 and len(joint.shared_capacity) == 28  # beds and reablement of each split county
    assert all(len({o.split("__")[0] for o in g}) == 1 for g in groups)  # each a county's unitaries
    assert all(c.zones == cfgs["today"].zones for c in cfgs.values())  # same residents and demand


def test_the_icbs_of_april_2026_take_whole_councils_and_change_nothing_else():
    exp = shipped_experiment("icb-mergers.yaml")
    cfgs = {c.scenario: c.config for c in exp.cells}
    before, after, aligned = cfgs["icbs_2022"], cfgs["icbs_2026"], cfgs["icbs_2026_places_aligned"]
    counts = {s: (len(c.orgs_of_type("icb")), len(c.orgs_of_type("place"))) for s, c in cfgs.items()}
    assert counts == {"icbs_2022": (42, 158), "icbs_2026": (36, 158), "icbs_2026_places_aligned": (36, 153)}
    new = set(after.orgs_of_type("icb")) - set(before.orgs_of_type("icb"))
    assert len(new) == 6  # and Hampshire and the Isle of Wight, which keeps its id
    icb, council = after.footprints["icb"], after.footprints["local_authority"]
    redrawn = new | {"hampshire_and_isle_of_wight_icb"}
    for org in redrawn:  # each takes whole councils: a council works with one of them
        councils = {council[z] for z in icb if icb[z] == org}
        assert {icb[z] for z in icb if council[z] in councils and icb[z] in redrawn} == {org}, org
    # a fragment beyond the thirteen ICBs stays where it was (7,305 of Oxfordshire's residents)
    assert icb["vale_of_white_horse__bath_and_north_east_somerset_swindon_and_wiltshire"] == (
        "bath_and_north_east_somerset_swindon_and_wiltshire_icb"
    )
    assert {council[z] for z in icb if icb[z] == "essex_icb"} == {
        "essex_council",
        "southend_on_sea_council",
        "thurrock_council",
    }
    # the ICBs outside the seven, and every other organisation and footprint, are as they were
    assert {z: o for z, o in icb.items() if o not in redrawn} == {
        z: o for z, o in before.footprints["icb"].items() if z in icb and icb[z] not in redrawn
    }
    for org_type in ("acute_trust", "local_authority", "community_health", "housing"):
        assert after.footprints[org_type] == before.footprints[org_type]
    assert after.footprints["place"] == before.footprints["place"]
    assert aligned.footprints["icb"] == icb
    nurses = [sum(c.organisations[i].staff["chc_nurse"].count for i in c.orgs_of_type("icb")) for c in cfgs.values()]
    assert nurses[1] - nurses[0] in range(-3, 4)  # each new ICB's share, rounded
    assert all(c.zones == before.zones for c in cfgs.values())


def test_surreys_unitaries_take_the_districts_decided_or_proposed_and_change_nothing_else():
    exp = shipped_experiment("surrey.yaml")
    cfgs = {c.scenario: c.config for c in exp.cells}
    today = cfgs["today"]

    def councils(cfg):
        """Each council's districts (zones named as the district, or its part in an ICB)."""
        out: dict[str, set[str]] = {}
        for z, c in cfg.footprints["local_authority"].items():
            out.setdefault(cfg.organisations[c].name, set()).add(z.split("__")[0])
        return out

    east2 = {"elmbridge", "epsom_and_ewell", "mole_valley", "reigate_and_banstead", "tandridge"}
    west2 = {"guildford", "runnymede", "spelthorne", "surrey_heath", "waverley", "woking"}
    assert councils(today) == {"Surrey": east2 | west2}
    for s in ("two_unitaries", "two_unitaries_two_places"):
        assert councils(cfgs[s]) == {"East Surrey": east2, "West Surrey": west2}
    for s in ("three_unitaries", "three_unitaries_three_places"):
        assert councils(cfgs[s]) == {
            "East Surrey": east2 - {"elmbridge"},
            "North Surrey": {"elmbridge", "runnymede", "spelthorne"},
            "West Surrey": west2 - {"runnymede", "spelthorne"},
        }
    # the county's one committee sitting twice a week: today's configuration but for that
    twice = cfgs.pop("today_sitting_twice_a_week")
    assert twice.governance.arrangements["joint_committee"].every_days == 3.5
    assert today.governance.arrangements["joint_committee"].every_days == 7
    as_today = twice.model_dump()
    as_today["governance"]["arrangements"]["joint_committee"]["every_days"] = 7
    assert as_today == today.model_dump()
    places = {s: len(c.orgs_of_type("place")) for s, c in cfgs.items()}
    assert places == {
        "today": 1,
        "two_unitaries": 1,
        "two_unitaries_two_places": 2,
        "three_unitaries": 1,
        "three_unitaries_three_places": 3,
        "two_unitaries_joint_commissioning": 1,
        "three_unitaries_joint_commissioning": 1,
    }
    for s, cfg in cfgs.items():
        assert cfg.orgs_of_type("icb") == ["surrey_and_sussex_icb"], s  # one ICB since April 2026
        assert cfg.zones == today.zones
        for org_type in ("acute_trust", "community_health"):
            assert cfg.footprints[org_type] == today.footprints[org_type], (s, org_type)
        if s != "today":  # the unitaries are the housing authorities, with the districts' officers
            assert cfg.footprints["housing"] == cfg.footprints["local_authority"]
            assert not [o for o in cfg.organisations.values() if o.type == "housing"]  # the districts are gone
        for role in ("social_worker", "housing_officer"):
            n = sum(o.staff[role].count for o in cfg.organisations.values() if role in o.staff)
            assert n - sum(o.staff[role].count for o in today.organisations.values() if role in o.staff) in range(
                0, 3
            ), (s, role)  # each successor's share, rounded up


def test_housing_is_the_district_council_in_two_tiers_and_the_council_itself_in_unitaries():
    from sim.yamlio import load_yaml

    data, _ = load_yaml(ROOT / "configs" / "england.yaml")
    cfg = config_from_dict(data)
    housing, council = cfg.footprints["housing"], cfg.footprints["local_authority"]
    districts = [o for o in cfg.organisations.values() if o.type == "housing"]
    assert len(districts) == 164  # England's district councils in 2023
    # Lancashire's 12 districts each their own housing authority; Blackpool its own
    lsc = load_config(LSC)
    assert (
        len(
            {
                lsc.footprints["housing"][z]
                for z, c in lsc.footprints["local_authority"].items()
                if c == "lancashire_council"
            }
        )
        == 12
    )
    assert lsc.footprints["housing"]["blackpool"] == "blackpool_council"
    assert "housing" in lsc.organisations["blackpool_council"].also
    assert lsc.organisations["preston_district"].name == "Preston (district)"
    # every zone's housing authority is its council (a unitary) or a district inside its council
    for zone, h in housing.items():
        if h != council[zone]:
            assert cfg.organisations[h].type == "housing"
            assert {council[z] for z in housing if housing[z] == h} == {council[zone]}
    # splitting the counties ends every district council
    from sim.transforms import apply

    split = config_from_dict(apply(data, {"split_counties": {"target_population": 500_000}}))
    assert {split.organisations[o].type for o in split.orgs_of_type("housing")} == {"local_authority"}
    assert split.footprints["housing"] == split.footprints["local_authority"]


def test_police_areas_are_whole_councils_as_the_police_act_draws_them():
    areas = pd.read_csv(ENGLAND / "police_area23.csv")
    councils = pd.read_csv(ENGLAND / "ltla23_to_utla23.csv")[["utla23_code", "utla23_name"]].drop_duplicates()
    assert sorted(areas["utla23_code"]) == sorted(councils["utla23_code"])  # each council once
    assert areas.merge(councils).shape[0] == 153  # with the names of the councils' file
    assert areas["police_area"].nunique() == 39  # 37 outside London, the metropolitan district, the City
    of = dict(zip(areas["utla23_name"], areas["police_area"], strict=True))
    london = areas[areas["utla23_code"].str.startswith("E09")]
    assert {of[c] for c in london["utla23_name"] if c != "City of London"} == {"Metropolitan Police District"}

    def area(name: str) -> set[str]:
        return {c for c, a in of.items() if a == name}

    # Schedule 1's words: "the non-metropolitan districts of Cheshire East, Cheshire West and
    # Chester, Halton and Warrington"; Humberside takes the Lincolnshires north of the Humber
    assert area("Cheshire") == {"Cheshire East", "Cheshire West and Chester", "Halton", "Warrington"}
    assert area("Lincolnshire") == {"Lincolnshire"}
    assert {"North Lincolnshire", "North East Lincolnshire"} <= area("Humberside")
    assert len(area("Thames Valley")) == 9 and "Oxfordshire" in area("Thames Valley")


def test_neighbouring_districts_are_every_district_s_and_each_pair_once():
    pairs = pd.read_csv(ENGLAND / "ltla21_neighbours.csv")
    districts = pd.read_csv(ENGLAND / "ltla21_population_2021.csv")
    name = dict(zip(districts["ltla21_code"], districts["ltla21_name"], strict=True))
    assert (pairs["ltla21_code"] < pairs["neighbour_code"]).all() and not pairs.duplicated().any()  # each pair once
    assert set(pairs["ltla21_code"]) | set(pairs["neighbour_code"]) == set(name) - {"E06000046", "E06000053"}
    assert [name[c] for c in pairs["ltla21_code"]] == pairs["ltla21_name"].tolist()
    assert [name[c] for c in pairs["neighbour_code"]] == pairs["neighbour_name"].tolist()
    touching = england_districts().touching
    assert touching["norwich"] == {"broadland", "south_norfolk"}  # inside the ring of its two neighbours
    assert touching["eastbourne"] == {"wealden"} and touching["hastings"] == {"rother"}
    assert (
        "north_west_leicestershire" not in touching["melton"] and "gravesham" in touching["thurrock"]
    )  # by the Thames
    assert touching["isle_of_wight"] == touching["isles_of_scilly"] == frozenset()
    # the councils of 2023 that merged districts touch what their districts touched
    assert touching["cumberland"] == {"northumberland", "westmorland_and_furness"}  # and Scotland, not England
    assert {"county_durham", "lancaster", "north_yorkshire"} <= touching["westmorland_and_furness"]
    assert all(d in touching[n] for d, ns in touching.items() for n in ns)  # from both ends


def test_every_council_of_england_is_one_piece_and_split_counties_regroups_a_county_it_would_leave_in_pieces():
    """The 153 councils of 2023 are each one piece on the map of neighbouring districts.
    Split by the hospitals their districts use alone, Hampshire's second of three would be
    East Hampshire and Havant with Fareham and Gosport, Portsmouth between them; so
    ``split_counties`` groups Hampshire as ``handover county`` guesses it, each unitary
    one piece, and leaves every other county as the clustering draws it."""
    data, _ = load_yaml(ROOT / "configs" / "england.yaml")
    assert councils_in_pieces(data) == []
    assert len(set(data["footprints"]["local_authority"].values())) == 153
    zones = [z for z, o in data["footprints"]["local_authority"].items() if o == "hampshire_council"]
    assert [["east_hampshire", "havant"], ["fareham", "gosport"]] in [
        in_pieces(g) for g in group_districts(data, zones, 3)
    ]
    for target in (300_000, 500_000, 800_000):
        assert councils_in_pieces(split_counties(data, target)) == [], target
    fp = split_counties(data, 500_000)["footprints"]["local_authority"]
    hampshire = {
        n: sorted({z.split("__")[0] for z, o in fp.items() if o == f"hampshire_council__{n}"}) for n in (1, 2, 3)
    }
    assert hampshire == {
        1: ["basingstoke_and_deane", "hart", "rushmoor"],
        2: ["east_hampshire", "fareham", "gosport", "havant", "winchester"],
        3: ["eastleigh", "new_forest", "test_valley"],
    }
    kent = [z for z, o in data["footprints"]["local_authority"].items() if o == "kent_council"]
    clustered = group_districts(data, kent, 3)  # each one piece: kept as the clustering draws them
    assert [sorted({z.split("__")[0] for z, o in fp.items() if o == f"kent_council__{k}"}) for k in (1, 2, 3)] == [
        sorted(g) for g in clustered
    ]
    assert not any("pieces" in n for n in shipped_experiment("england-reorganisation.yaml").notes())


def test_police_forces_sit_on_each_councils_safeguarding_adults_board():
    from sim.build import load_spec
    from sim.transforms import apply

    without = build_config(load_spec(LSC_SPEC))
    data = build_config(load_spec(LSC_SPEC).model_copy(update={"police": True}))
    cfg = config_from_dict(data)
    assert "police" not in without["organisation_types"]  # only when a spec asks for them
    assert cfg.organisations["lancashire_police"].name == "Lancashire Police"
    council, police = cfg.footprints["local_authority"], cfg.footprints["police"]
    force = {c: {police[z] for z in police if council[z] == c} for c in set(council.values())}
    assert force["blackpool_council"] == force["lancashire_council"] == {"lancashire_police"}
    assert force["westmorland_and_furness_council"] == {"cumbria_police"}

    def boards(c):
        m = structure_tables(Geography(c))["meetings"]
        return m.loc[m["policy"] == "safeguarding_adults_board", "meeting"].str.partition(":")[2].str.split("+")

    # one board for each council, with its ICB and its police force
    assert sorted(b[0] for b in boards(cfg)) == sorted(cfg.orgs_of_type("local_authority"))
    assert all(len(b) == 3 and b[1] == "lancashire_and_south_cumbria_icb" for b in boards(cfg))
    assert {b[0]: b[2] for b in boards(cfg)}["blackpool_council"] == "lancashire_police"
    # less the forces and the boards, it is the same build
    forces = set(cfg.orgs_of_type("police"))
    assert forces == {"lancashire_police", "cumbria_police", "north_yorkshire_police"}
    less_police = {
        **data,
        "organisation_types": {k: v for k, v in data["organisation_types"].items() if k != "police"},
        "footprints": {k: v for k, v in data["footprints"].items() if k != "police"},
        "organisations": {k: v for k, v in data["organisations"].items() if k not in forces},
        "meetings": [m for m in data["meetings"] if m["name"] != "safeguarding_adults_board"],
    }
    assert less_police == without
    # Lancashire split in two: the force keeps its area and sits on one more board
    split = config_from_dict(apply(data, {"split_counties": {"target_population": 700_000}}))
    assert split.footprints["police"] == police
    on = [b for b in boards(split) if b[2] == "lancashire_police"]
    assert len(on) == 4, on  # Blackpool, Blackburn with Darwen and two of Lancashire


def test_the_ccn_study_counts_councils_per_icb_and_per_police_force():
    from sim.studies import ccn_structure

    comparison, per_icb, per_force = ccn_structure()
    # results/findings/ccn.md quotes these
    assert comparison["this_model"].tolist() == [21, 48, 2.57, 65, 3.29, 13]
    assert len(per_icb) == 21
    assert len(per_force) == 20  # Sussex Police has two counties
    assert (per_force["councils_today"].sum(), per_force["councils_after"].sum()) == (50, 67)
    assert int((per_force["councils_after"] > per_force["councils_today"]).sum()) == 14
    surrey = per_force.set_index("police").loc["surrey_police"]
    assert (surrey["councils_today"], surrey["councils_after"], surrey["icbs"]) == (1, 2, 2)


def test_the_trusted_assessors_study_has_surrey_s_boundaries_and_differs_only_in_who_is_covered():
    ta = {c.scenario: c.config_data for c in shipped_experiment("trusted-assessors.yaml").cells}
    surrey = {c.scenario: c.config_data for c in shipped_experiment("surrey.yaml").cells}
    assert ta["today_nowhere"]["trusted_assessors"]["cover"] == "nowhere"
    for scenario in ("today", "two_unitaries", "three_unitaries"):
        for variant, cover in ((scenario, "regular"), (f"{scenario}_everywhere", "everywhere")):
            data = copy.deepcopy(ta[variant])
            assert data["trusted_assessors"]["cover"] == cover
            data["trusted_assessors"]["cover"] = "everywhere"
            assert data == surrey[scenario], variant


def test_surrey_s_joint_commissioning_is_the_split_with_the_county_s_beds_and_reablement_as_one_pool():
    surrey = {c.scenario: c.config_data for c in shipped_experiment("surrey.yaml").cells}
    for scenario, councils in (("two_unitaries", 2), ("three_unitaries", 3)):
        data = copy.deepcopy(surrey[f"{scenario}_joint_commissioning"])
        groups = data.pop("shared_capacity")
        assert [g["capacity"] for g in groups] == ["care_home_beds", "reablement_slots"]
        for group in groups:
            assert len(group["organisations"]) == councils
            assert sorted(group["organisations"]) == sorted(set(data["footprints"]["local_authority"].values()))
        assert data == surrey[scenario], scenario
