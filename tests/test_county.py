"""`handover county NAME`: a first study of any two-tier county, written as files."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.build import ENGLAND, england_districts
from sim.cli import main
from sim.config import config_from_dict
from sim.county import NUMBER, CountyStudy, county_study, guess_note, study_files, two_tier_counties
from sim.experiment import load_experiment
from sim.geography import Geography, structure_tables
from sim.sweep import run_sweep
from sim.transforms import apply, group_districts, in_pieces
from sim.yamlio import load_yaml

from .conftest import ROOT


def test_the_two_tier_counties_are_englands_21_of_2023():
    counties = two_tier_counties()
    assert len(counties) == 21
    assert {"Surrey", "Norfolk", "Essex", "Kent", "Lancashire"} <= set(counties.values())
    assert "Rutland" not in counties.values() and "North Yorkshire" not in counties.values()  # unitary


def test_surrey_three_unitaries_guessed_from_hospitals_are_near_the_districts_proposal():
    study = county_study("Surrey")
    # the districts' East Surrey (May 2025) exactly; their North Surrey less Woking, and West plus it
    assert study.groups[3] == [
        ["Elmbridge", "Runnymede", "Spelthorne", "Woking"],
        ["Epsom and Ewell", "Mole Valley", "Reigate and Banstead", "Tandridge"],
        ["Guildford", "Surrey Heath", "Waverley"],
    ]
    # the decided East Surrey but for Elmbridge
    assert ["Epsom and Ewell", "Mole Valley", "Reigate and Banstead", "Tandridge"] in study.groups[2]


def test_a_county_gets_the_icb_of_april_2026():
    def icb_transforms(county):
        today = county_study(county, unitaries=[2]).experiment["scenarios"]["today"]["transforms"]
        return [t["merge"] for t in today if "merge" in t]

    assert icb_transforms("Norfolk") == [
        {
            "organisations": ["norfolk_and_waveney_icb"],
            "into": "norfolk_and_suffolk_icb",
            "name": "NHS Norfolk and Suffolk Integrated Care Board",
        }
    ]
    (hampshire,) = icb_transforms("Hampshire")  # Frimley's part joins Hampshire and the Isle of Wight
    assert hampshire["organisations"] == ["frimley_icb", "hampshire_and_isle_of_wight_icb"]
    assert hampshire["into"] == "hampshire_and_isle_of_wight_icb"
    (oxfordshire,) = icb_transforms("Oxfordshire")  # its residents in B&NES, Swindon and Wiltshire stay there
    assert oxfordshire["organisations"] == ["buckinghamshire_oxfordshire_and_berkshire_west_icb"]
    assert icb_transforms("Kent") == []  # Kent and Medway did not merge


def test_the_icbs_of_2026_are_those_of_the_icb_mergers_experiment():
    data, _ = load_yaml(ROOT / "configs" / "england.yaml")
    experiment, _ = load_yaml(ROOT / "experiments" / "icb-mergers.yaml")
    after = data
    for transform in experiment["scenarios"]["icbs_2026"]["transforms"]:
        after = apply(after, transform)
    icb22, icb26 = data["footprints"]["icb"], after["footprints"]["icb"]
    council = data["footprints"]["local_authority"]
    table = pd.read_csv(ENGLAND / "icb26_councils.csv")
    by_part = {(r.icb22, r.council): (r.icb26, r.icb26_name) for r in table.itertuples()}
    new = set(table["icb26"])
    for zone in data["zones"]:
        z = zone["id"]
        if icb26[z] in new:
            assert by_part[(icb22[z], council[z])] == (icb26[z], after["organisations"][icb26[z]]["name"]), z
        else:
            assert (icb22[z], council[z]) not in by_part and icb26[z] == icb22[z], z
    assert len(by_part) == len(table) == 49


def test_in_the_project_folder_the_next_commands_are_the_plain_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["county", "Norfolk", "--unitaries", "2", "--replications", "2"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("next:\n  handover sweep experiments/norfolk.yaml\n  handover report results/norfolk\n")


def test_the_command_writes_a_study_that_runs_and_never_overwrites(tmp_path, capsys):
    assert main(["county", "norfolk", "--root", str(tmp_path), "--replications", "2"]) == 0
    out = capsys.readouterr().out
    assert "Norfolk (2 of 3): Broadland, Norwich, South Norfolk" in out
    # with no map, Great Yarmouth and King's Lynn, at the county's two ends, were one guessed unitary
    assert "Norfolk (1 of 2): Breckland, King's Lynn and West Norfolk" in out
    assert "Each unitary is one piece: its councils share boundaries" in " ".join(out.split())
    # the commands it says to run next work as given, from here (--root elsewhere: results beside the study)
    sweep, report = (line.split()[1:] for line in out.split("next:\n")[1].splitlines())
    assert sweep == ["sweep", str(tmp_path / "experiments" / "norfolk.yaml"), "--results", str(tmp_path / "results")]
    assert report == ["report", str(tmp_path / "results" / "norfolk")]
    experiment = tmp_path / "experiments" / "norfolk.yaml"
    config = tmp_path / "configs" / "norfolk.yaml"
    assert (tmp_path / "configs" / "build" / "norfolk.yaml").exists() and config.exists()
    assert main(["validate", str(experiment)]) == 0
    text = experiment.read_text()
    # each grouping is written once and used by each of its scenarios: edit it in one place
    assert text.count("&two_unitaries\n") == 1 and text.count("*two_unitaries\n") == 2
    cells = {c.scenario: c.config for c in load_experiment(experiment).cells}  # each a valid configuration
    assert load_yaml(experiment)[0]["title"] == "Norfolk: today against two or three unitaries (the model's guess)"
    scenarios = load_yaml(experiment)[0]["scenarios"]
    assert scenarios["two_unitaries"]["transforms"][-1] == scenarios["two_unitaries_two_places"]["transforms"][2]
    joint = scenarios["two_unitaries_joint_commissioning"]["transforms"]
    assert joint[:-1] == scenarios["two_unitaries"]["transforms"]  # the same councils and places, then shared
    two = cells["two_unitaries_joint_commissioning"]
    assert two.model_dump(exclude={"shared_capacity"}) == cells["two_unitaries"].model_dump(exclude={"shared_capacity"})
    assert [(g.capacity, g.organisations) for g in two.shared_capacity] == [
        (capacity, ["norfolk_1_of_2_council", "norfolk_2_of_2_council"])
        for capacity in ("care_home_beds", "reablement_slots")
    ]

    # never overwrite: a second time is refused and changes nothing, unless --force
    config.write_text(config.read_text() + "# my note\n")
    assert main(["county", "Norfolk", "--root", str(tmp_path)]) == 2
    assert "configs/norfolk.yaml: already exists" in capsys.readouterr().err
    assert config.read_text().endswith("# my note\n")
    again = ["county", "Norfolk", "--root", str(tmp_path), "--force", "--unitaries", "2", "--replications", "2"]
    assert main(again) == 0
    assert not config.read_text().endswith("# my note\n")
    text = experiment.read_text()
    assert "three_unitaries" not in text

    # it runs: a short year of it, each scenario with the councils it names
    experiment.write_text(
        text.replace("length_days: 365", "length_days: 40").replace("warmup_days: 90", "warmup_days: 10")
    )
    report = run_sweep(experiment, tmp_path / "results", workers=1, progress=False)
    assert not report.failed
    runs = pd.read_parquet(tmp_path / "results" / "norfolk" / "runs.parquet")
    scenarios = ["today", "two_unitaries", "two_unitaries_joint_commissioning", "two_unitaries_two_places"]
    assert sorted(runs["scenario"].unique()) == scenarios
    assert len(runs) == 4 * 2


def test_the_command_says_what_is_wrong(tmp_path, capsys):
    assert main(["county", "Rutland", "--root", str(tmp_path)]) == 2
    assert "'Rutland' is a unitary council (one tier)" in capsys.readouterr().err
    assert main(["county", "Norfok", "--root", str(tmp_path)]) == 2
    assert "did you mean 'Norfolk'?" in capsys.readouterr().err
    assert main(["county", "Northamptonshire", "--root", str(tmp_path)]) == 2  # split in 2021: not 'Nottinghamshire?'
    said = capsys.readouterr().err
    assert "'North Northamptonshire' and 'West Northamptonshire' are unitary councils (one tier)" in said
    assert "did you mean" not in said
    assert main(["county", "durham", "--root", str(tmp_path)]) == 2
    assert "'County Durham' is a unitary council (one tier)" in capsys.readouterr().err
    assert main(["county", "Norfolk", "--root", str(tmp_path), "--unitaries", "6"]) == 2
    assert (
        "--unitaries: Norfolk (7 districts) can be split into 2, 3, 4 or 5 unitaries, not 6" in capsys.readouterr().err
    )
    assert main(["county", "Kent", "--root", str(tmp_path), "--with", "Medway", "Surrey"]) == 2
    assert "--with: 'Surrey' is a two-tier county" in capsys.readouterr().err
    assert main(["county", "Essex", "--root", str(tmp_path), "--with", "Southend"]) == 2
    assert "--with: 'Southend' is not one of England's unitary councils; did you mean 'Southend-on-Sea'?" in (
        capsys.readouterr().err
    )
    assert main(["county", "Kent", "--root", str(tmp_path), "--with", "Cornwall"]) == 2
    assert "--with: 'Cornwall' shares no hospital with Kent" in capsys.readouterr().err
    assert main(["county", "Kent", "--root", str(tmp_path), "--with", "Medway", "medway_council"]) == 2
    assert "--with: each council once" in capsys.readouterr().err
    too_many = ["Blackburn with Darwen", "Blackpool", "Wigan", "Bolton", "Sefton"]
    assert main(["county", "Lancashire", "--root", str(tmp_path), "--with", *too_many]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--with: ") and "have 17 councils below or beside the county; at most 16 can be" in err
    # Frimley's Hampshire part went to Hampshire and the Isle of Wight; Bracknell Forest's did not
    assert main(["county", "Hampshire", "--root", str(tmp_path), "--with", "Bracknell Forest"]) == 2
    assert "--with: Bracknell Forest and Hampshire were both in NHS Frimley Integrated Care Board" in (
        capsys.readouterr().err
    )
    assert main(["county", "Norfolk", "--root", str(tmp_path), "--replications", "1"]) == 2
    assert "--replications: at least 2" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written


def _toy(residents: list[int], shares: list[list[float]]) -> tuple[dict, list[str]]:
    """Districts d0, d1, ... with their residents and their residents' shares of trusts."""
    zones = [f"d{i}" for i in range(len(residents))]
    trusts = {z: {f"t{j}": s / sum(row) for j, s in enumerate(row)} for z, row in zip(zones, shares, strict=True)}
    data = {
        "zones": [{"id": z, "population": p} for z, p in zip(zones, residents, strict=True)],
        "organisation_types": {"acute_trust": {"admits": True, "footprint": "shares"}},
        "footprints": {"acute_trust": trusts},
    }
    return data, zones


@settings(max_examples=60, deadline=None)
@example(([300_000, 1_000, 2_000, 1_500], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], 3, 0.0))  # none is fair
# d2 and d3 share no hospital (a trust with 0.3 of both's residents) and the grouping
# most alike pairs them; joined, d3 goes with d0, with whom it shares one, and d1
@example(([200_000, 200_000, 200_000, 100_000], [[0, 1, 2], [0, 0, 1], [4, 2, 4], [0, 1, 0]], 2, 0.3))
# d1 shares no hospital with any (no trust has 0.3 of its residents), which says nothing
# of where it lies: it is free to go with d0, not left alone
@example(([200_000, 300_000, 300_000, 100_000], [[2, 4, 1, 0], [4, 4, 4, 2], [0, 4, 4, 4], [1, 4, 4, 4]], 2, 0.3))
# d0 to d2 use one hospital and d3, d4 others: most alike is d0 to d2 together (600,000
# of 1,000,000 residents, 1.8 equal shares in three); no group over 1.5 splits them
@example(([200_000, 200_000, 200_000, 200_000, 200_000], [[1, 0, 0]] * 3 + [[0, 1, 0], [0, 0, 1]], 3, 0.0, 1.5))
@given(
    st.integers(min_value=3, max_value=8).flatmap(
        lambda d: st.tuples(
            st.lists(st.integers(min_value=1_000, max_value=300_000), min_size=d, max_size=d),
            st.lists(
                st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=3, max_size=3), min_size=d, max_size=d
            ),
            st.sampled_from([2, 3, 4]),
            st.sampled_from([0.0, 0.3, 0.6]),
            st.sampled_from([math.inf, 1.5, 1.2]),
        )
    )
)
def test_balanced_grouping_is_the_best_of_every_fair_one(case):
    residents, shares, n, linked_at, *capped = case
    max_share = capped[0] if capped else math.inf
    data, zones = _toy(residents, shares)
    groups = group_districts(data, zones, n, min_share=0.5, linked_at=linked_at, max_share=max_share)
    n = min(n, len(zones))  # no more groups than districts
    assert sorted(d for g in groups for d in g) == sorted(zones) and len(groups) == n

    # every labelling tried afresh, scored on its own
    pop = np.array(residents, dtype=float)
    vec = np.array([[s / sum(row) for s in row] for row in shares])
    # districts sharing a hospital (a trust with linked_at of both); one sharing none is free
    share = [
        [i != j and bool(((vec[i] >= linked_at) & (vec[j] >= linked_at)).any()) for j in range(len(vec))]
        for i in range(len(vec))
    ]
    free = [not any(row) for row in share]

    def joined(labels):  # each group's districts reach each other through shared hospitals
        for g in set(labels):
            members = {i for i, lab in enumerate(labels) if lab == g}
            seen, todo = set(), [min(members)]
            while todo:
                i = todo.pop()
                seen.add(i)
                todo += [j for j in members - seen if share[i][j] or free[i] or free[j]]
            if seen != members:
                return False
        return True

    def score(labels):
        total = 0.0
        for g in set(labels):
            members = [i for i, lab in enumerate(labels) if lab == g]
            profile = sum(pop[i] * vec[i] for i in members)
            for i in members:
                cos = vec[i] @ profile / np.linalg.norm(vec[i]) / np.linalg.norm(profile)
                total += pop[i] * (1 - cos)
        return total

    def smallest(labels):
        return min(pop[[i for i, lab in enumerate(labels) if lab == g]].sum() for g in set(labels))

    def first_seen(labels):  # each grouping once: groups numbered in order of their first district
        return all(lab <= max(labels[:i], default=-1) + 1 for i, lab in enumerate(labels))

    def largest(labels):
        return max(pop[[i for i, lab in enumerate(labels) if lab == g]].sum() for g in set(labels))

    everything = itertools.product(range(n), repeat=len(zones))
    labellings = [labels for labels in everything if len(set(labels)) == n and first_seen(labels)]
    fair = [labels for labels in labellings if smallest(labels) >= 0.5 * pop.sum() / n]
    capped = [labels for labels in fair if largest(labels) <= max_share * pop.sum() / n]
    # first those giving no group over max_share, then any; each first joined by shared hospitals
    tiers = [[labels for labels in capped if joined(labels)], [labels for labels in fair if joined(labels)]]
    fair = next((tier for tier in (*tiers, capped, fair) if tier), []) if linked_at else (capped or fair)
    if fair and linked_at and any(joined(labels) for labels in fair):
        assert joined(tuple(next(k for k, g in enumerate(groups) if z in g) for z in zones))
    if not fair:  # then those whose smallest group is largest
        most = max(smallest(labels) for labels in labellings)
        fair = [labels for labels in labellings if smallest(labels) == most]
    chosen = tuple(next(k for k, g in enumerate(groups) if z in g) for z in zones)
    assert smallest(chosen) >= min(smallest(labels) for labels in fair)  # it is one of them
    assert score(chosen) <= min(score(labels) for labels in fair) + 1e-9  # and none is better


def test_a_guessed_unitary_joins_councils_that_share_a_boundary_and_an_island_by_its_hospitals():
    """Hart and Rushmoor (Frimley Park's) join neither New Forest nor the Isle of Wight;
    the Isle of Wight, touching no council, goes with those whose hospitals its residents
    share (Southampton's), and no council is left for the guess to place anyhow."""
    (north,) = [g for g in county_study("Hampshire", unitaries=[3]).groups[3] if "Hart" in g]
    assert "Rushmoor" in north and not {"New Forest", "Eastleigh"} & set(north)
    wider = county_study("Hampshire", unitaries=[4, 5], neighbours=["Portsmouth", "Southampton", "Isle of Wight"])
    for groups in wider.groups.values():
        (island,) = [g for g in groups if "Isle of Wight" in g]
        assert {"Eastleigh"} <= set(island) <= {"Isle of Wight", "Eastleigh", "New Forest", "Southampton"}
        assert ["East Hampshire", "Hart", "Rushmoor"] in groups
    assert wider.alone == () and wider.apart == () and county_study("Essex", unitaries=[2]).alone == ()


def _one_piece(study: CountyStudy) -> None:
    """Each of the study's guessed unitaries is one piece on England's map."""
    named = {v: k for k, v in england_districts().names.items()}
    for n, groups in study.groups.items():
        for group in groups:
            assert len(in_pieces([named[d] for d in group])) == 1, (study.name, n, group)
    assert study.mapped and study.apart == ()


@pytest.mark.parametrize("county", sorted(two_tier_counties().values()))
def test_every_county_s_guessed_unitaries_are_each_one_piece(county):
    """With England's map of neighbouring districts, every two-tier county in two to five
    (as many as its districts allow) is guessed as unitaries each one piece.  With
    hospitals alone standing in for the map, Norfolk's two put Great Yarmouth with King's
    Lynn and West Norfolk, at the county's two ends; Leicestershire's three, Melton with
    North West Leicestershire; Essex's two, Epping Forest and Harlow with Colchester and
    Tendring; Lancashire's four, Lancaster with West Lancashire."""
    most = min(max(NUMBER), county_study(county, unitaries=[2]).districts)
    _one_piece(county_study(county, unitaries=list(range(2, most + 1))))


def test_a_county_with_the_unitaries_beside_it_is_guessed_in_one_piece_each():
    for county, beside in [("Essex", ["Southend-on-Sea", "Thurrock"]), ("Kent", ["Medway"])]:
        _one_piece(county_study(county, unitaries=[2, 3, 4, 5], neighbours=beside))


def test_a_unitary_no_grouping_keeps_whole_is_named_with_its_pieces():
    """Where no grouping giving every unitary its share has each in one piece, the
    command says which is not and what its pieces are, so that a planner changes it."""
    study = replace(
        county_study("Leicestershire", unitaries=[3]),
        apart=(("Leicestershire (3 of 3)", (("Melton",), ("North West Leicestershire",))),),
    )
    note = guess_note(study)
    assert note.startswith("Leicestershire (3 of 3) is in 2 pieces (Melton; North West Leicestershire): no grouping")
    assert "change the councils listed for it" in note


def test_no_guessed_unitary_is_over_one_and_a_half_equal_shares_where_any_grouping_allows():
    """Essex with Southend-on-Sea and Thurrock in three was one unitary of 1.2 million
    residents and two of a third of a million (1.93, 0.55 and 0.52 equal shares): every
    council whose residents use the Mid and South Essex hospitals together.  Suffolk's five
    districts in five can only be one each, East Suffolk 1.62 equal shares."""
    for county, beside, n in [("Essex", ["Southend-on-Sea", "Thurrock"], 3), ("Norfolk", [], 3), ("Suffolk", [], 5)]:
        study = county_study(county, unitaries=[n], neighbours=beside)
        housing, pop = study.config["footprints"]["housing"], {z["id"]: z["population"] for z in study.config["zones"]}
        names = {o: v["name"].removesuffix(" (district)") for o, v in study.config["organisations"].items()}
        residents = [sum(p for z, p in pop.items() if names[housing[z]] in group) for group in study.groups[n]]
        assert sum(residents) == sum(pop.values())
        shares = [r / (sum(residents) / n) for r in residents]
        if county == "Suffolk":
            assert all(len(group) == 1 for group in study.groups[n]) and max(shares) > 1.5
        else:
            assert min(shares) >= 0.5 and max(shares) <= 1.5, (county, shares)


def test_a_council_sharing_no_hospital_is_placed_by_the_councils_it_touches(tmp_path, capsys):
    """West Lancashire's residents go mostly to Southport and Ormskirk, which no other
    Lancashire council's use, and High Peak's to Stockport's and Sheffield's: with
    hospitals alone they could go anywhere, and were named as guesses to check.  The map
    places them with councils they touch."""
    lancashire = county_study("Lancashire", unitaries=[2, 3, 4])
    assert lancashire.alone == () and county_study("Derbyshire", unitaries=[2]).alone == ()
    for groups in lancashire.groups.values():
        (west,) = [g for g in groups if "West Lancashire" in g]
        assert {"Chorley", "South Ribble", "Fylde"} & set(west), west  # those it touches in the county
    assert main(["county", "Lancashire", "--unitaries", "4", "--root", str(tmp_path)]) == 0
    assert "no trust admits" not in capsys.readouterr().out


def test_a_county_with_the_unitaries_beside_it_in_four_or_five(tmp_path):
    study = county_study(
        "Essex", unitaries=[4, 5], replications=2, neighbours=["Southend-on-Sea", "thurrock"], police=True
    )
    assert study.slug == "essex-southend-on-sea-thurrock"
    assert study.command == "handover county Essex --with Southend-on-Sea Thurrock --police"
    assert study.spec["councils"] == ["Essex", "Southend-on-Sea", "Thurrock"]
    title = "Essex, with Southend-on-Sea and Thurrock: today against four or five unitaries (the model's guess)"
    assert study.experiment["title"] == title  # the report's heading names every council in the study
    people = {z["id"]: z["population"] for z in study.config["zones"]}
    housing = study.config["footprints"]["housing"]
    names = {o: v["name"] for o, v in study.config["organisations"].items()}
    residents: dict[str, int] = {}
    for zone, council in housing.items():
        name = names[council].removesuffix(" (district)")
        residents[name] = residents.get(name, 0) + people[zone]
    assert len(residents) == 14  # 12 districts and 2 unitaries
    for n, groups in study.groups.items():
        assert len(groups) == n and sorted(c for g in groups for c in g) == sorted(residents)
        assert min(sum(residents[c] for c in g) for g in groups) >= 0.5 * sum(residents.values()) / n
    assert any("Southend-on-Sea" in g and "Rochford" in g for g in study.groups[5])

    for path, text in study_files(study, tmp_path).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    cells = {c.scenario: c.config_data for c in load_experiment(tmp_path / "experiments" / f"{study.slug}.yaml").cells}

    def councils_and_places(scenario):
        orgs = cells[scenario]["organisations"]
        return sorted(o for o, v in orgs.items() if v["type"] == "local_authority"), sum(
            v["type"] == "place" for v in orgs.values()
        )

    today = ["essex_council", "southend_on_sea_council", "thurrock_council"]
    assert councils_and_places("today") == (today, 3)  # a place for each council in the one ICB of 2026
    assert councils_and_places("five_unitaries") == ([f"essex_{k}_of_5_council" for k in range(1, 6)], 3)
    assert councils_and_places("five_unitaries_five_places") == ([f"essex_{k}_of_5_council" for k in range(1, 6)], 5)
    assert all(sum(v["type"] == "icb" for v in c["organisations"].values()) == 1 for c in cells.values())
    # each council's place is named after it, in every study: Essex (3 of 4) took in just Colchester and
    # Tendring, the county's place in the Suffolk and North East Essex ICB of 2022, and kept its name
    for n in (4, 5):
        orgs = cells[f"{NUMBER[n]}_unitaries_{NUMBER[n]}_places"]["organisations"]
        assert sorted(v["name"] for v in orgs.values() if v["type"] == "place") == [
            f"Essex ({k} of {n}) place" for k in range(1, n + 1)
        ]

    def boards(scenario):  # the Safeguarding Adults Boards: council, ICB, police force
        meetings = structure_tables(Geography(config_from_dict(cells[scenario])))["meetings"]
        on = meetings.loc[meetings["policy"] == "safeguarding_adults_board", "meeting"]
        return sorted(tuple(m.partition(":")[2].split("+")) for m in on)

    assert boards("today") == [(c, "essex_icb", "essex_police") for c in today]  # Essex Police's area is all three
    assert boards("five_unitaries") == [(f"essex_{k}_of_5_council", "essex_icb", "essex_police") for k in range(1, 6)]


def test_study_files_name_the_county_and_its_districts():
    study = county_study("Warwickshire", unitaries=[2])
    files = {path.as_posix(): text for path, text in study_files(study, "x").items()}
    assert set(files) == {
        "x/configs/build/warwickshire.yaml",
        "x/configs/warwickshire.yaml",
        "x/experiments/warwickshire.yaml",
    }
    header = files["x/experiments/warwickshire.yaml"].split("\nname:")[0]
    assert all(len(line) <= 88 for line in header.splitlines())
    flat = " ".join(line.removeprefix("#").strip() for line in header.splitlines())
    assert "Warwickshire: the county council and its 5 districts, against two unitaries" in flat
    assert "(written by `handover county Warwickshire`)" in flat
    assert "two: North Warwickshire, Nuneaton and Bedworth, Rugby; Stratford-on-Avon, Warwick" in flat
