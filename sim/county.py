"""A first study of any two-tier county, written as files a planner can read and edit.

``handover county Norfolk`` writes three files:

- ``configs/build/norfolk.yaml``: the build spec, the county's residents only;
- ``configs/norfolk.yaml``: the configuration built from it (as ``handover build``);
- ``experiments/norfolk.yaml``: today against the county split into two or three
  unitaries (or any of two to five), each with places as today or a place for each
  council, or with places as today and the unitaries commissioning the discharge-to-assess
  beds and reablement together.

``--with Southend-on-Sea Thurrock`` regroups unitary councils beside the county with
it, as many proposals of 2025 did: ``essex-southend-on-sea-thurrock`` files.

Today is the county council over its districts (the housing authorities) in the ICB
of April 2026 (``sim/data/england/icb26_councils.csv``), with one place for the
county in each ICB, as Surrey's study has.  The unitaries group the districts (and
unitaries beside) by the hospitals their residents use (``group_districts`` with
``min_share``, ``max_share`` and ``linked_at``), which is the model's guess, not any
council's proposal: of the groupings in which no unitary has under half an equal share
of the residents, nor (where any grouping allows it) over one and a half, the one whose
councils' hospitals are most alike, of those (where there are any) in which two
councils that share no hospital go together only through others that do.  The
experiment lists each unitary's councils so that a planner can change them to a real
proposal.
"""

from __future__ import annotations

import difflib
import re
import shlex
import textwrap
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml.comments import CommentedMap

from sim.build import ENGLAND, BuildSpec, build_config, build_header, dump, england, slug
from sim.transforms import (
    MAX_FAIR_DISTRICTS,
    MAX_SHARE,
    MIN_SHARE,
    SHARED_HOSPITAL,
    _district,
    district_hospitals,
    district_links,
    group_districts,
    in_pieces,
    sharing,
    touching,
)

NUMBER = {2: "two", 3: "three", 4: "four", 5: "five"}  # the numbers of unitaries a study can compare
# MIN_SHARE, MAX_SHARE, SHARED_HOSPITAL: a unitary given with a county must share a hospital
# with one of its districts, and a guessed unitary joins councils that share none only
# through others that do
PLACES = {"align": {"type": "place", "to": "local_authority", "within": "icb", "min_population": 20000}}
# the new councils keeping the county's discharge-to-assess beds and reablement as one service
SHARE = {"share": {"capacity": ["care_home_beds", "reablement_slots"]}}


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


def _find(name: str, councils: dict[str, str]) -> str | None:
    """The id of the council of ``councils`` (id -> name) called ``name``, or with that id
    (with or without ``_council``), whatever the case; None if there is none."""
    by_name = {n.lower(): a for a, n in councils.items()} | {a: a for a in councils}
    return by_name.get(name.strip().lower()) or by_name.get(slug(name)) or by_name.get(f"{slug(name)}_council")


@lru_cache(maxsize=1)
def _unitaries() -> dict[str, str]:
    """England's one-tier councils of 2023, id -> name."""
    zones = england().zones
    names = dict(zip(zones["authority"], zones["authority_name"], strict=False))
    return {a: n for a, n in names.items() if a not in two_tier_counties()}


def resolve_county(name: str) -> str:
    """The id of the two-tier county called ``name`` (or with that id); a clear error otherwise."""
    counties = two_tier_counties()
    council = _find(name, counties)
    if council is not None:
        return council
    all_counties = ", ".join(counties.values())
    if _find(name, _unitaries()) is not None:
        one_tier = f"{name!r} is a unitary council (one tier): there are no districts to regroup."
        raise ValueError(f"{one_tier} The two-tier counties (2023): {all_counties}")
    wanted = name.strip()
    word = re.compile(rf"\b{re.escape(wanted)}\b", re.IGNORECASE)
    named = [repr(n) for n in _unitaries().values() if wanted and word.search(n)]  # 'Cheshire East', ...
    if named:  # a county of old, now unitaries (Cheshire, Northamptonshire), or a unitary's short name (Durham)
        these = (
            f"{', '.join(named[:-1])} and {named[-1]} are unitary councils"
            if named[1:]
            else f"{named[0]} is a unitary council"
        )
        hint = f": {these} (one tier), with no districts to regroup."
    else:
        close = difflib.get_close_matches(name, list(counties.values()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
    raise ValueError(
        f"{name!r} is not one of England's two-tier counties{hint} The two-tier counties (2023): {all_counties}"
    )


def resolve_unitary(name: str) -> str:
    """The id of the unitary council called ``name`` (or with that id); a clear error otherwise."""
    unitaries = _unitaries()
    council = _find(name, unitaries)
    if council is not None:
        return council
    if _find(name, two_tier_counties()) is not None:
        raise ValueError(f"with: {name!r} is a two-tier county; a study regroups one county and unitaries beside it")
    close = difflib.get_close_matches(name, sorted(unitaries.values()), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"with: {name!r} is not one of England's unitary councils{hint}")


@dataclass(frozen=True)
class CountyStudy:
    name: str  # the county's name, "Norfolk"
    slug: str  # its files' name, "norfolk"
    spec: dict[str, Any]
    config: dict[str, Any]
    experiment: dict[str, Any]
    groups: dict[int, list[list[str]]]  # for each number of unitaries, the districts' names in each
    neighbours: list[str]  # the unitary councils regrouped with the county, by name
    districts: int  # the county's districts
    police: bool = False  # with the police forces and each council's Safeguarding Adults Board
    # councils nothing places (sharing no boundary nor, with no map, a hospital with any other,
    # SHARED_HOSPITAL): their place in the guess is weak
    alone: tuple[str, ...] = ()
    mapped: bool = False  # England's map has every council: each guessed unitary is one piece where it can be
    # the guessed unitaries in pieces (where no grouping giving each its share has them whole): name, pieces
    apart: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = ()

    @property
    def command(self) -> str:
        """The command that writes this study."""
        words = ["handover", "county", self.name] + (["--with", *self.neighbours] if self.neighbours else [])
        return shlex.join(words + (["--police"] if self.police else []))


def _today_icbs(data: dict[str, Any], councils: list[str]) -> list[dict[str, Any]]:
    """Transforms giving the councils the ICBs of April 2026 (one merge for each new ICB
    that took some of their residents; a renamed ICB is a merge of one)."""
    new = icbs_2026()
    orgs = data["organisations"]
    councils_in: dict[str, set[str]] = {}
    for zone, icb in data["footprints"]["icb"].items():
        councils_in.setdefault(icb, set()).add(data["footprints"]["local_authority"][zone])
    into: dict[tuple[str, str], list[str]] = {}
    for icb in sorted(councils_in):
        targets = {new.get((icb, c)) for c in councils_in[icb] if c in councils}
        if len(targets) > 1:
            parted = " and ".join(sorted(orgs[c].get("name") or c for c in councils_in[icb]))
            raise ValueError(
                f"with: {parted} were both in {orgs[icb].get('name') or icb}, whose parts went to different "
                "ICBs in April 2026; study them apart"
            )
        target = targets.pop() if targets else None
        if target is not None:
            into.setdefault(target, []).append(icb)
    return [
        {"merge": {"organisations": olds, "into": new_id, "name": new_name}}
        for (new_id, new_name), olds in sorted(into.items())
        if olds != [new_id] or orgs[new_id].get("name") != new_name
    ]


def county_study(
    county: str,
    unitaries: Sequence[int] = (2, 3),
    replications: int = 10,
    seed: int = 2027,
    neighbours: Sequence[str] = (),
    police: bool = False,
) -> CountyStudy:
    """The spec, configuration and experiment of a first study of ``county``, regrouped
    with the unitary councils ``neighbours`` if any (Southend-on-Sea and Thurrock with
    Essex, say, as many proposals of 2025 did); with ``police``, the police forces too, each
    sitting on every council's Safeguarding Adults Board (a split gives a force more)."""
    council = resolve_county(county)
    name = two_tier_counties()[council]
    beside = [resolve_unitary(u) for u in neighbours]
    if len(set(beside)) != len(beside):
        raise ValueError("with: each council once")
    if replications < 2:
        raise ValueError("replications: at least 2, for confidence intervals")
    beside_names = [_unitaries()[u] for u in beside]
    file = "-".join(slug(n).replace("_", "-") for n in [name, *beside_names])
    spec = BuildSpec(
        name=file.replace("-", "_"),
        description=f"{name} County Council and its districts{with_councils(beside_names)}, only their residents, with "
        "the acute trusts that serve them; a place for each council in each ICB"
        + ("; the police forces, each on every council's Safeguarding Adults Board." if police else "."),
        icbs="all",
        councils=[name, *beside_names],
        police=police,
    )
    data = build_config(spec)
    councils = [council, *beside]
    zones = [z for z, o in data["footprints"]["local_authority"].items() if o in councils]
    districts, _, shares = district_hospitals(data, zones)  # the districts and unitaries, and their hospitals
    if len(districts) > MAX_FAIR_DISTRICTS:
        raise ValueError(
            f"with: {name} and {listed(beside_names)} have {len(districts)} councils below or beside the county; "
            f"at most {MAX_FAIR_DISTRICTS} can be grouped exactly"
        )
    council_of = {_district(z): data["footprints"]["local_authority"][z] for z in zones}
    shared = sharing(shares, SHARED_HOSPITAL)
    in_county = [i for i, d in enumerate(districts) if council_of[d] == council]
    for u, u_name in zip(beside, beside_names, strict=True):
        if not shared[[i for i, d in enumerate(districts) if council_of[d] == u]][:, in_county].any():
            raise ValueError(
                f"with: {u_name!r} shares no hospital with {name} (no trust admits a twentieth of the residents "
                f"of both); a study regroups a county with unitaries beside it"
            )
    for n in unitaries:
        if not 2 <= n <= min(len(districts), max(NUMBER)):
            can = listed([str(k) for k in NUMBER if k <= len(districts)], "or")
            councils_below = f"{len(districts)} {'councils' if beside else 'districts'}"
            raise ValueError(
                f"unitaries: {name}{with_councils(beside_names)} ({councils_below}) can be split into {can} "
                f"unitaries, not {n}"
            )
    if len(set(unitaries)) != len(unitaries):
        raise ValueError("unitaries: each number once")
    housing = data["footprints"]["housing"]
    names = {o: v.get("name") or o for o, v in data["organisations"].items()}
    district_name = {_district(z): names[housing[z]].removesuffix(" (district)") for z in zones}
    icbs = _today_icbs(data, councils)
    county_districts = len(in_county)

    scenarios: dict[str, Any] = {
        "today": {
            "baseline": True,
            "description": f"{name} County Council over {county_districts} districts (housing)"
            f"{with_councils(beside_names)}, in today's ICB, with one place for the county"
            + (" and one for each unitary" if beside else ""),
            "transforms": [*deepcopy(icbs), deepcopy(PLACES)],
        }
    }
    alone = tuple(district_name[districts[i]] for i in district_links(districts, shares, SHARED_HOSPITAL)[1])
    mapped = touching(districts) is not None
    groups: dict[int, list[list[str]]] = {}
    apart: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    for n in sorted(unitaries):
        grouped = group_districts(data, zones, n, MIN_SHARE, linked_at=SHARED_HOSPITAL, max_share=MAX_SHARE)
        groups[n] = [[district_name[d] for d in group] for group in grouped]
        for k, group in enumerate(grouped, 1):
            if len(found := in_pieces(group) or [group]) > 1:
                apart.append((f"{name} ({k} of {n})", tuple(tuple(district_name[d] for d in p) for p in found)))
        ids = [f"{slug(name)}_{k}_of_{n}_council" for k in range(1, len(grouped) + 1)]
        reorganise = CommentedMap(
            reorganise={
                "organisations": councils,
                "by": "housing",
                "into": {
                    i: sorted({housing[z] for z in zones if _district(z) in group})
                    for i, group in zip(ids, grouped, strict=True)
                },
                "names": {i: f"{name} ({k} of {n})" for k, i in enumerate(ids, 1)},
            }
        )
        reorganise.yaml_set_anchor(f"{NUMBER[n]}_unitaries", always_dump=True)
        members = "; ".join(f"{name} ({k} of {n}): {', '.join(g)}" for k, g in enumerate(groups[n], 1))
        scenarios[f"{NUMBER[n]}_unitaries"] = {
            "description": f"{members}; taking in the districts' housing; places as before",
            "transforms": [*deepcopy(icbs), deepcopy(PLACES), reorganise],
        }
        scenarios[f"{NUMBER[n]}_unitaries_{NUMBER[n]}_places"] = {
            "description": f"{NUMBER[n]} unitaries, with a place for each",
            # today's places first: a unitary taking in just what a place of the ICBs of 2022
            # covered would otherwise keep that place's name ("Essex place (NHS Suffolk and
            # North East Essex ...)"), as aligning keeps a place that matches already
            "transforms": [*deepcopy(icbs), deepcopy(PLACES), reorganise, deepcopy(PLACES)],
        }
        pools = (
            f"one pool of each for the whole area, where today {listed([name, *beside_names])} each have their own"
            if beside
            else "one pool of each, as today"
        )
        scenarios[f"{NUMBER[n]}_unitaries_joint_commissioning"] = {
            "description": f"{NUMBER[n]} unitaries, places as before, commissioning the discharge-to-assess beds "
            f"and reablement together ({pools}, run by a joint board)",
            "transforms": [*deepcopy(icbs), deepcopy(PLACES), reorganise, deepcopy(SHARE)],
        }
    options = unitaries_in_words(unitaries)
    experiment = {
        "name": file,
        "title": f"{name}{with_councils(beside_names)}: today against {options} unitaries (the model's guess)",
        "description": f"{name} County Council and its districts{with_councils(beside_names)}{',' if beside else ''} "
        f"against {options} unitaries "
        + (
            "(the model's guess: neighbouring districts grouped by the hospitals their residents use), "
            if mapped
            else "(the model's guess: districts grouped by the hospitals their residents use, with no map of which "
            "touch), "
        )
        + "places as before or one for each council, "
        "or the unitaries commissioning beds and reablement together",
        "base": f"../configs/{file}.yaml",
        "seed": seed,
        "run": {"length_days": 365, "warmup_days": 90},
        "replications": replications,
        "scenarios": scenarios,
    }
    return CountyStudy(
        name,
        file,
        spec.model_dump(exclude_defaults=True),
        data,
        experiment,
        groups,
        beside_names,
        county_districts,
        police,
        alone,
        mapped,
        tuple(apart),
    )


def listed(items: Sequence[str], last: str = "and") -> str:
    """ "a, b and c" (or with ``last`` "or": "a, b or c")."""
    return f" {last} ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def with_councils(names: Sequence[str]) -> str:
    """ ", with Southend-on-Sea and Thurrock" (nothing if none)."""
    return f", with {listed(names)}" if names else ""


def unitaries_in_words(unitaries: Sequence[int]) -> str:
    """ "two, three or four"."""
    return listed([NUMBER[n] for n in sorted(unitaries)], "or")


def guess_note(study: CountyStudy) -> str:
    """What a planner should know of the guessed unitaries before reading the results:
    that each is one piece of neighbouring councils, or which are not, and the councils
    nothing places."""
    if not study.mapped:
        text = (
            "There is no map of which councils touch, so a guessed unitary may join councils that do not: "
            "check that each is one piece before reading the results."
        )
    elif study.apart:
        text = (
            "; ".join(
                f"{unitary} is in {len(found)} pieces ({'; '.join(', '.join(p) for p in found)})"
                for unitary, found in study.apart
            )
            + ": no grouping that gives every unitary its share has each in one piece, so change the councils "
            "listed for it before reading the results."
        )
    else:
        text = "Each unitary is one piece: its councils share boundaries (the ONS map of neighbouring districts)."
    if study.alone:
        one = len(study.alone) == 1
        its, it = ("its", "it belongs") if one else ("their", "they belong")
        touches = f"{'touches' if one else 'touch'} no other council and " if study.mapped else ""
        text += (
            f" {listed(study.alone)} {touches}no trust admits a twentieth of both {its} residents and another "
            f"council's, so nothing says where {it}: check {'its unitary' if one else 'their unitaries'}."
        )
    return text


def _comment(*paragraphs: str, indent: str = "") -> str:
    """Paragraphs as YAML comment lines of at most 88 characters, each indented by
    ``indent`` and its later lines by two more (a paragraph that starts with a space
    is one line, as it is)."""
    lines = []
    for paragraph in paragraphs:
        if paragraph.startswith(" ") or not paragraph:
            lines.append(f"# {paragraph}".rstrip())
        else:
            first, later = f"# {indent}", f"# {indent}  " if indent else "# "
            lines += textwrap.wrap(paragraph, 88, initial_indent=first, subsequent_indent=later)
    return "\n".join(lines) + "\n"


def study_files(study: CountyStudy, root: str | Path = ".") -> dict[Path, str]:
    """Each file of the study, by path under ``root``, and its text."""
    root = Path(root)
    spec_path = root / "configs" / "build" / f"{study.slug}.yaml"
    area = f"{study.name}: the county council and its {study.districts} districts{with_councils(study.neighbours)}"
    spec_header = _comment(
        f"{area}, only their residents (written by `{study.command}`).  Build it with",
        f"  handover build configs/build/{study.slug}.yaml --out configs/{study.slug}.yaml",
    )
    unitaries, places = (", and each unitary,", " and one for each unitary") if study.neighbours else ("", "")
    experiment_header = (
        _comment(
            f"{area}, against {unitaries_in_words(list(study.groups))} unitaries (written by `{study.command}`).",
            "",
            "The unitaries are the model's guess, not a proposal: councils whose residents use the same hospitals "
            "are put together, none with under half an equal share of the residents (nor, where any grouping allows "
            "it, over one and a half), and "
            + (
                "(where any grouping allows it) each one piece of councils joined by boundaries they share"
                if study.mapped
                else "two that share no hospital only through others that do"
            )
            + " (group_districts in sim/transforms.py).  "
            + guess_note(study),
        )
        + "".join(
            _comment(f"{NUMBER[n]}: " + "; ".join(", ".join(g) for g in grouped), indent="  ")
            for n, grouped in study.groups.items()
        )
        + _comment(
            "To study a real proposal, change the councils listed under `into` (each unitary's, every council once); "
            "the scenarios with a place for each council and with beds and reablement commissioned together "
            "use the same list.  Today is the county over its "
            f"districts{unitaries} in today's ICB (those of April 2026), with one place for the county{places}.  Only "
            f"their residents are modelled (configs/build/{study.slug}.yaml): a hospital beyond them has the staff "
            "for the residents it serves."
            + (
                "  The police forces take no step in a discharge; each sits on every council's Safeguarding "
                "Adults Board, so a split adds to their meeting hours."
                if study.police
                else ""
            ),
            f"  handover sweep experiments/{study.slug}.yaml",
            f"  handover report results/{study.slug}",
        )
    )
    return {
        spec_path: dump(study.spec, spec_header),
        root / "configs" / f"{study.slug}.yaml": dump(
            study.config, build_header(study.config, f"configs/build/{study.slug}.yaml")
        ),
        root / "experiments" / f"{study.slug}.yaml": dump(study.experiment, experiment_header),
    }
