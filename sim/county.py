"""A first study of any two-tier county, written as files a planner can read and edit.

``handover county Norfolk`` writes three files:

- ``configs/build/norfolk.yaml``: the build spec, the county's residents only;
- ``configs/norfolk.yaml``: the configuration built from it (as ``handover build``);
- ``experiments/norfolk.yaml``: today against the county split into two or three
  unitaries, each with one place for the county as today or a place for each council.

Today is the county council over its districts (the housing authorities) in the ICB
of April 2026 (``sim/data/england/icb26_councils.csv``), with one place for the
county in each ICB, as Surrey's study has.  The unitaries group the districts by the
hospitals their residents use (``group_districts`` with ``min_share``), which is the
model's guess, not any council's proposal: of the groupings in which no
unitary has under half an equal share of the residents, the one whose districts'
hospitals are most alike.  The experiment lists each unitary's district councils so
that a planner can change them to a real proposal.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml.comments import CommentedMap

from sim.build import ENGLAND, BuildSpec, build_config, build_header, dump, england, slug
from sim.transforms import _district, group_districts

NUMBER = {2: "two", 3: "three"}
# no unitary the guess draws has under half an equal share of the county's residents
MIN_SHARE = 0.5
PLACES = {"align": {"type": "place", "to": "local_authority", "within": "icb", "min_population": 20000}}


@lru_cache(maxsize=1)
def two_tier_counties() -> dict[str, str]:
    """England's two-tier counties of 2023 (councils over two or more districts), id -> name."""
    zones = england().zones
    districts = zones.groupby("authority")["district23"].nunique()
    names = dict(zip(zones["authority"], zones["authority_name"], strict=False))
    return {a: names[a] for a in sorted(districts[districts > 1].index)}


@lru_cache(maxsize=1)
def icbs_2026() -> dict[tuple[str, str], tuple[str, str]]:
    """(2022 ICB id, council id) -> (2026 ICB id, name) for the councils of the seven
    ICBs of April 2026; every other council stayed in its 2022 ICB."""
    rows = pd.read_csv(ENGLAND / "icb26_councils.csv", dtype=str)
    return {(r.icb22, r.council): (r.icb26, r.icb26_name) for r in rows.itertuples()}


def resolve_county(name: str) -> str:
    """The id of the two-tier county called ``name`` (or with that id); a clear error otherwise."""
    counties = two_tier_counties()
    by_name = {v.lower(): k for k, v in counties.items()} | {k: k for k in counties}
    council = by_name.get(name.strip().lower()) or by_name.get(slug(name)) or by_name.get(f"{slug(name)}_council")
    if council is not None:
        return council
    everywhere = england().zones
    unitaries = set(everywhere["authority_name"].str.lower()) | set(everywhere["authority"])
    listed = ", ".join(counties.values())
    if name.strip().lower() in unitaries or slug(name) in unitaries or f"{slug(name)}_council" in unitaries:
        one_tier = f"{name!r} is a unitary council (one tier): there are no districts to regroup."
        raise ValueError(f"{one_tier} The two-tier counties (2023): {listed}")
    close = difflib.get_close_matches(name, list(counties.values()), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise ValueError(f"{name!r} is not one of England's two-tier counties{hint} They are (2023): {listed}")


@dataclass(frozen=True)
class CountyStudy:
    name: str  # the county's name, "Norfolk"
    slug: str  # its files' name, "norfolk"
    spec: dict[str, Any]
    config: dict[str, Any]
    experiment: dict[str, Any]
    groups: dict[int, list[list[str]]]  # for each number of unitaries, the districts' names in each


def _today_icbs(data: dict[str, Any], council: str) -> list[dict[str, Any]]:
    """Transforms giving the county the ICBs of April 2026 (one merge for each new ICB
    that took some of its residents; a renamed ICB is a merge of one)."""
    new = icbs_2026()
    orgs = data["organisations"]
    into: dict[tuple[str, str], list[str]] = {}
    for icb in sorted(o for o, v in orgs.items() if v["type"] == "icb"):
        target = new.get((icb, council))
        if target is not None:
            into.setdefault(target, []).append(icb)
    return [
        {"merge": {"organisations": olds, "into": new_id, "name": new_name}}
        for (new_id, new_name), olds in sorted(into.items())
        if olds != [new_id] or orgs[new_id].get("name") != new_name
    ]


def county_study(
    county: str, unitaries: Sequence[int] = (2, 3), replications: int = 10, seed: int = 2027
) -> CountyStudy:
    """The spec, configuration and experiment of a first study of ``county``."""
    council = resolve_county(county)
    name = two_tier_counties()[council]
    file = slug(name).replace("_", "-")
    if replications < 2:
        raise ValueError("replications: at least 2, for confidence intervals")
    spec = BuildSpec(
        name=slug(name),
        description=f"{name} County Council and its districts, only {name}'s residents, with the acute trusts "
        "that serve them; a place for the county in each ICB.",
        icbs="all",
        councils=[name],
    )
    data = build_config(spec)
    zones = [z for z, o in data["footprints"]["local_authority"].items() if o == council]
    districts = sorted({_district(z) for z in zones})
    for n in unitaries:
        if not 2 <= n <= min(len(districts), max(NUMBER)):
            can = " or ".join(str(k) for k in NUMBER if k <= len(districts))
            raise ValueError(
                f"unitaries: {name} ({len(districts)} districts) can be split into {can} unitaries, not {n}"
            )
    if len(set(unitaries)) != len(unitaries):
        raise ValueError("unitaries: each number once")
    housing = data["footprints"]["housing"]
    names = {o: v.get("name") or o for o, v in data["organisations"].items()}
    district_name = {_district(z): names[housing[z]].removesuffix(" (district)") for z in zones}
    icbs = _today_icbs(data, council)

    scenarios: dict[str, Any] = {
        "today": {
            "baseline": True,
            "description": f"{name} County Council over {len(districts)} districts (housing), "
            "in today's ICB, with one place for the county",
            "transforms": [*deepcopy(icbs), deepcopy(PLACES)],
        }
    }
    groups: dict[int, list[list[str]]] = {}
    for n in sorted(unitaries):
        grouped = group_districts(data, zones, n, MIN_SHARE)
        groups[n] = [[district_name[d] for d in group] for group in grouped]
        ids = [f"{slug(name)}_{k}_of_{n}_council" for k in range(1, len(grouped) + 1)]
        reorganise = CommentedMap(
            reorganise={
                "organisations": [council],
                "by": "housing",
                "into": {
                    i: sorted({housing[z] for z in zones if _district(z) in group})
                    for i, group in zip(ids, grouped, strict=True)
                },
                "names": {i: f"{name} ({k} of {n})" for k, i in enumerate(ids, 1)},
            }
        )
        reorganise.yaml_set_anchor(f"{NUMBER[n]}_unitaries", always_dump=True)
        listed = "; ".join(f"{name} ({k} of {n}): {', '.join(g)}" for k, g in enumerate(groups[n], 1))
        scenarios[f"{NUMBER[n]}_unitaries"] = {
            "description": f"{listed}; taking in the districts' housing; one place for the county as before",
            "transforms": [*deepcopy(icbs), deepcopy(PLACES), reorganise],
        }
        scenarios[f"{NUMBER[n]}_unitaries_{NUMBER[n]}_places"] = {
            "description": f"{NUMBER[n]} unitaries, with a place for each",
            "transforms": [*deepcopy(icbs), reorganise, deepcopy(PLACES)],
        }
    options = " or ".join(NUMBER[n] for n in sorted(unitaries))
    experiment = {
        "name": file,
        "description": f"{name} County Council and its districts against {options} unitaries "
        "(districts grouped by the hospitals their residents use), one place for the county or one for each council",
        "base": f"../configs/{file}.yaml",
        "seed": seed,
        "run": {"length_days": 365, "warmup_days": 90},
        "replications": replications,
        "scenarios": scenarios,
    }
    return CountyStudy(name, file, spec.model_dump(exclude_defaults=True), data, experiment, groups)


SPEC_HEADER = """\
# {name}: the county council and its districts, only {name}'s residents (written by
# `handover county {name}`).  Build it with
#   handover build configs/build/{file}.yaml --out configs/{file}.yaml
"""

EXPERIMENT_HEADER = """\
# {name}: the county council and its {districts} districts against {options} unitaries
# (written by `handover county {name}`).
#
# The unitaries are the model's guess, not a proposal: districts whose residents use
# the same hospitals are put together, none with under half an equal share of the
# residents (group_districts in sim/transforms.py):
{groups}
# To study a real proposal, change the district councils listed under `into` (each
# unitary's, every district once); the scenario with a place for each council uses the
# same list.  Today is the county over its districts in today's ICB (those of April 2026),
# with one place for the county.  Only {name}'s residents are modelled
# (configs/build/{file}.yaml): a hospital beyond the county has the staff for the
# residents of {name} it serves.
#   handover sweep experiments/{file}.yaml
#   handover report results/{file}
"""


def study_files(study: CountyStudy, root: str | Path = ".") -> dict[Path, str]:
    """Each file of the study, by path under ``root``, and its text."""
    root = Path(root)
    spec_path = root / "configs" / "build" / f"{study.slug}.yaml"
    groups = "\n".join(
        f"#   {NUMBER[n]}: " + "; ".join(", ".join(g) for g in grouped) for n, grouped in study.groups.items()
    )
    fields = {
        "name": study.name,
        "file": study.slug,
        "districts": len({d for grouped in study.groups.values() for g in grouped for d in g}),
        "options": " or ".join(NUMBER[n] for n in study.groups),
        "groups": groups,
    }
    return {
        spec_path: dump(study.spec, SPEC_HEADER.format(**fields)),
        root / "configs" / f"{study.slug}.yaml": dump(
            study.config, build_header(study.config, f"configs/build/{study.slug}.yaml")
        ),
        root / "experiments" / f"{study.slug}.yaml": dump(study.experiment, EXPERIMENT_HEADER.format(**fields)),
    }
