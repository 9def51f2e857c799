"""Build configurations from real geography: England's districts, councils, ICBs and
acute trusts' catchments (``sim/data/england``), with the assumptions of
``sim/data/defaults.yaml``.

Zones are the 2023 districts; a district that lies in more than one ICB is split into
one zone per ICB by its small areas (2011 LSOAs), so Westmorland and Furness becomes
its Lancashire and South Cumbria part (Barrow, South Lakeland) and its North East and
North Cumbria part (Eden).  Authorities are the upper tier of 2023.

Routing residents to trusts needs each trust's admissions, which the data does not
give: they are estimated by non-negative least squares so that every district's
residents are admitted at the same rate, given the share of each trust's patients
that comes from each district.  Trusts taking under ``trust_catchment_min_share`` of a
zone's residents are left out and the shares renormalised.
"""

from __future__ import annotations

import copy
import difflib
import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from scipy.optimize import nnls

from sim.config import config_from_dict, problems_from_validation
from sim.errors import ConfigError, Problem, did_you_mean
from sim.transforms import pieces
from sim.yamlio import line_of, load_yaml

DATA = Path(__file__).resolve().parent / "data"
ENGLAND = DATA / "england"


@lru_cache(maxsize=1)
def trust_names() -> dict[str, str]:
    """Every acute trust's name, by its ODS code (``trust22_names.csv``: the names of
    2022, the year of the catchments, without "NHS Foundation Trust" or "NHS Trust")."""
    names = pd.read_csv(ENGLAND / "trust22_names.csv", dtype=str)
    return dict(zip(names["nhs_trust22_code"], names["name"], strict=True))


@lru_cache(maxsize=1)
def police_forces() -> dict[str, tuple[str, str]]:
    """Each 2023 council's police force, by the council's name: (id, name), the force
    named after its police area (``police_area23.csv``, the Police Act 1996's areas)."""
    areas = pd.read_csv(ENGLAND / "police_area23.csv", dtype=str)
    out = {}
    for council, area in zip(areas["utla23_name"], areas["police_area"], strict=True):
        name = area.removesuffix(" District") + " Police"
        out[council] = (slug(name), name)
    return out


@dataclass(frozen=True)
class Districts:
    """England's districts of 2023 by the id ``handover build`` gives their zones (the
    ``slug`` of the name; a district split between ICBs has a zone in each, the id then
    ``district__icb``): each one's name, and the districts it shares a boundary with."""

    names: dict[str, str]
    touching: dict[str, frozenset[str]]


@lru_cache(maxsize=1)
def england_districts() -> Districts:
    """`Districts` from ``ltla21_neighbours.csv`` (the ONS lookup of districts of 2021
    that share a boundary), each council of 2023 that merged districts (Cumberland, North
    Yorkshire, Somerset, Westmorland and Furness) touching what they touched."""
    pairs = pd.read_csv(ENGLAND / "ltla21_neighbours.csv", dtype=str)
    to23 = pd.read_csv(ENGLAND / "ltla22_to_ltla23.csv", dtype=str)  # the districts of 2022 are those of 2021
    zone = {code: slug(name) for code, name in zip(to23["ltla22_code"], to23["ltla23_name"], strict=True)}
    names = {slug(name): name for name in to23["ltla23_name"]}
    touching: dict[str, set[str]] = {z: set() for z in names}
    for a, b in zip(pairs["ltla21_code"], pairs["neighbour_code"], strict=True):
        if zone[a] != zone[b]:
            touching[zone[a]].add(zone[b])
            touching[zone[b]].add(zone[a])
    return Districts(names, {z: frozenset(n) for z, n in touching.items()})


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s


def icb_slug(name: str) -> str:
    core = re.sub(r"^NHS |( Integrated Care Board| ICB)$", "", name)
    return slug(core)


@lru_cache(maxsize=1)
def defaults() -> dict[str, Any]:
    data, _ = load_yaml(DATA / "defaults.yaml")
    return data


# -- the geography of England -----------------------------------------------------------


@dataclass(frozen=True)
class England:
    zones: pd.DataFrame  # zone, name, code, district23, authority, authority_name, icb, icb_name, population
    trust_weights: pd.DataFrame  # zone, trust, share


@lru_cache(maxsize=1)
def england() -> England:
    pop = pd.read_csv(ENGLAND / "ltla21_population_2021.csv")
    lsoa = pd.read_csv(ENGLAND / "icb22_ltla22_lsoa11_counts.csv")
    to23 = pd.read_csv(ENGLAND / "ltla22_to_ltla23.csv")
    upper = pd.read_csv(ENGLAND / "ltla23_to_utla23.csv")
    catch = pd.read_csv(ENGLAND / "trust22_ltla21_catchment_share.csv")

    lsoa["fraction"] = lsoa["lsoa11_count"] / lsoa.groupby("ltla22_code")["lsoa11_count"].transform("sum")
    pieces = lsoa.merge(pop[["ltla21_code", "population_2021"]], left_on="ltla22_code", right_on="ltla21_code")
    pieces["population"] = pieces["population_2021"] * pieces["fraction"]
    pieces = pieces.merge(to23[["ltla22_code", "ltla23_code", "ltla23_name"]], on="ltla22_code")
    pieces = pieces.merge(upper[["ltla23_code", "utla23_code", "utla23_name"]], on="ltla23_code")
    icbs_per_district = pieces.groupby("ltla23_code")["icb22_code"].nunique()

    def zone_id(row: pd.Series) -> str:
        base = slug(row["ltla23_name"])
        return base if icbs_per_district[row["ltla23_code"]] == 1 else f"{base}__{icb_slug(row['icb22_name'])}"

    pieces["zone"] = pieces.apply(zone_id, axis=1)

    # trust admissions by NNLS: sum_t share(t, d) * A_t = population(d) for every district
    districts = pop["ltla21_code"].tolist()
    trusts = sorted(catch["nhs_trust22_code"].unique())
    m = catch.pivot_table(
        index="ltla21_code",
        columns="nhs_trust22_code",
        values="proportion_trust_came_from_ltla",
        aggfunc="sum",
        fill_value=0.0,
    ).reindex(index=districts, columns=trusts, fill_value=0.0)
    admissions, _ = nnls(m.to_numpy(), pop.set_index("ltla21_code").loc[districts, "population_2021"].to_numpy(float))
    flows = m.to_numpy() * admissions  # residents of district d admitted to trust t (relative)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = flows / flows.sum(axis=1, keepdims=True)
    district_w = pd.DataFrame(w, index=districts, columns=trusts).fillna(0.0)

    zones = (
        pieces.groupby("zone", sort=False)
        .agg(
            code=("ltla23_code", "first"),
            district23=("ltla23_name", "first"),
            authority=("utla23_name", lambda s: slug(s.iloc[0]) + "_council"),
            authority_name=("utla23_name", "first"),
            icb=("icb22_name", lambda s: icb_slug(s.iloc[0]) + "_icb"),
            icb_code=("icb22_code", "first"),
            icb_name=("icb22_name", "first"),
            population=("population", "sum"),
        )
        .reset_index()
    )
    zones["population"] = zones["population"].round().astype(int)
    zones["name"] = zones.apply(
        lambda r: (
            r["district23"]
            if icbs_per_district[r["code"]] == 1
            else f"{r['district23']} ({r['icb_name'].replace('NHS ', '').replace(' Integrated Care Board', '')} part)"
        ),
        axis=1,
    )
    rows = []
    for zone, g in pieces.groupby("zone", sort=False):
        total = g["population"].sum()
        mix = sum(district_w.loc[d].to_numpy() * p for d, p in zip(g["ltla22_code"], g["population"], strict=True))
        mix = mix / total if total > 0 else mix
        rows += [{"zone": zone, "trust": t, "share": float(s)} for t, s in zip(trusts, mix, strict=True) if s > 0]
    return England(zones, pd.DataFrame(rows))


# -- build specifications ------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Area(Strict):
    name: str = ""
    districts: list[str] = Field(min_length=1, description="2023 district names")
    governance: str | None = None
    provider: str | None = Field(default=None, description="community health: a trust's ODS code that provides it")


class BuildSpec(Strict):
    name: str
    description: str = ""
    icbs: list[str] | str = Field(description="ICB codes (E54...) or names, or 'all'")
    councils: list[str] | None = Field(
        default=None,
        min_length=1,
        description="only these councils' zones in those ICBs (2023 upper tier, by name or id); default: all",
    )
    places: dict[str, Area] | None = Field(
        default=None, description="default: one place per council in each ICB, small parts joining a neighbour"
    )
    community_health: dict[str, Area] | None = Field(default=None, description="default: one provider per ICB")
    governance: str | None = Field(default=None, description="the arrangement of every place without its own")
    police: bool = Field(
        default=False,
        description="the police forces of these councils' areas, and each council's Safeguarding Adults Board",
    )


def _named(key: str, what: str) -> str:
    """The name of a spec's area given without one, as the report shows it: its key in
    words, followed by what it is ("north_east" a place: "North east place")."""
    words = key.replace("_", " ").split()
    for tail in (what.split(), what.split()[:1]):  # "south_place", "north_community"
        if [w.lower() for w in words[-len(tail) :]] == tail and len(words) >= len(tail):
            words = words[: -len(tail)]
            break
    said = " ".join([*words, what])
    return said[:1].upper() + said[1:]


def _resolve_icbs(spec: BuildSpec, zones: pd.DataFrame) -> list[str]:
    if spec.icbs == "all":
        return sorted(zones["icb_code"].unique())
    wanted = [spec.icbs] if isinstance(spec.icbs, str) else spec.icbs
    known = dict(zip(zones["icb_code"], zones["icb_name"], strict=False))
    by_name = {v.lower(): k for k, v in known.items()} | {icb_slug(v): k for k, v in known.items()}
    out = []
    for w in wanted:
        code = w if w in known else by_name.get(w.lower()) or by_name.get(slug(w))
        if code is None:
            short = sorted(re.sub(r"^NHS | Integrated Care Board$", "", name) for name in known.values())
            # 'Kent and Medwy': 'Kent and Medway'; 'Cornwall': 'Cornwall and the Isles of Scilly'
            raise ValueError(f"icbs: unknown ICB {w!r}{did_you_mean(w, short)}")
        out.append(code)
    return out


def _resolve_councils(spec: BuildSpec, zones: pd.DataFrame) -> list[str]:
    """The ids of ``spec.councils`` (names such as "Surrey", or ids such as ``surrey_council``),
    each of which must have zones among ``zones``."""
    everywhere = england().zones
    ids = dict(zip(everywhere["authority_name"].str.lower(), everywhere["authority"], strict=True))
    ids |= {a: a for a in everywhere["authority"]}
    here = set(zones["authority"])
    out = []
    for c in spec.councils or []:
        council = ids.get(c.lower()) or ids.get(slug(c))
        if council is None:
            district = everywhere[everywhere["district23"].str.lower() == c.lower()]
            if not district.empty:  # 'Woking': a district council, whose county is the upper tier
                raise ValueError(
                    f"councils: {c!r} is a district; councils here are the upper tier (2023): did you mean "
                    + " or ".join(repr(a) for a in sorted(set(district["authority_name"])))
                    + "?"
                )
            raise ValueError(
                f"councils: unknown council {c!r}{did_you_mean(c, sorted(set(everywhere['authority_name'])))}"
            )
        if council not in here:
            icbs = sorted(set(everywhere.loc[everywhere["authority"] == council, "icb_name"]))
            raise ValueError(f"councils: {c!r} has no residents in these ICBs; it is in " + ", ".join(icbs))
        if council in out:
            raise ValueError(f"councils: {c!r} is given twice")
        out.append(council)
    return out


def _check_areas(spec: BuildSpec, arrangements: list[str]) -> None:
    """Each governance arrangement the spec names is one of ``arrangements``, and each
    area has only what its kind uses: a place a governance arrangement, a community
    health area a provider (an error names where, as ``places.east.governance``)."""
    for where, arrangement in [("governance", spec.governance)] + [
        (f"places.{k}.governance", a.governance) for k, a in (spec.places or {}).items()
    ]:
        if arrangement is not None and arrangement not in arrangements:
            close = difflib.get_close_matches(arrangement, arrangements, n=1)
            raise ValueError(
                f"{where}: unknown arrangement {arrangement!r}"
                + (f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(arrangements)}")
            )
    for k, a in (spec.places or {}).items():
        if a.provider is not None:
            raise ValueError(f"places.{k}.provider: a place has no provider; provider is for community_health areas")
    for k, a in (spec.community_health or {}).items():
        if a.governance is not None:
            raise ValueError(
                f"community_health.{k}.governance: a community health provider has no governance arrangement;"
                " governance is for places"
            )


def _check_area_ids(
    spec: BuildSpec, footprints: dict[str, dict[str, Any]], names: dict[str, str], org_types: dict[str, Any]
) -> None:
    """Each area of the spec that is an organisation has an id of its own: a place keyed
    as a community area, a council or a trust would silently become one organisation.
    ``names`` are the other organisations' (councils', ICBs', districts')."""
    ids: dict[str, set[str]] = {
        t: {o for v in fp.values() for o in (v if isinstance(v, dict) else [v])} for t, fp in footprints.items()
    }
    areas = {
        "place": ("places", "place", spec.places or {}),
        "community_health": ("community_health", "community services", spec.community_health or {}),
    }
    for own, (what, _, mine) in areas.items():
        for key, area in mine.items():
            if area.provider:  # the area is that trust, not an organisation of its own
                continue
            for t, there in ids.items():
                if t == own or key not in there:
                    continue
                label = org_types.get(t, {}).get("label", t)
                label = ("an " if label[:1].lower() in "aeiou" else "a ") + label[:1].lower() + label[1:]
                if t in areas:
                    theirs, kind, other = areas[t][0], areas[t][1], areas[t][2][key]
                    whose = f"{other.name or _named(key, kind)} ({theirs}.{key})"
                else:
                    whose = names.get(key) or trust_names().get(key.upper(), key)
                raise ValueError(
                    f"{what}.{key}: {key!r} is already the id of {whose}, {label};"
                    " each organisation needs an id of its own: give this area another key"
                )


def _areas_to_zones(areas: dict[str, Area], zones: pd.DataFrame, what: str) -> dict[str, str]:
    """zone -> area id, from areas listed by district name; every zone in exactly one."""
    by_district: dict[str, list[str]] = {}
    for z, d in zip(zones["zone"], zones["district23"], strict=True):
        by_district.setdefault(d.lower(), []).append(z)
    out: dict[str, str] = {}
    for area_id, area in areas.items():
        for d in area.districts:
            found = by_district.get(d.lower())
            if not found:
                raise ValueError(
                    f"{what}.{area_id}.districts: no district {d!r} in these ICBs"
                    + did_you_mean(d, sorted(set(zones["district23"])))
                )
            for z in found:
                if z in out:
                    raise ValueError(f"{what}.{area_id}.districts: district {d!r} is also in {out[z]!r}")
                out[z] = area_id
    missing = sorted(set(zones["zone"]) - set(out))
    if missing:
        names = sorted({d for z, d in zip(zones["zone"], zones["district23"], strict=True) if z in missing})
        raise ValueError(f"{what}: districts in no area: {', '.join(names)}")
    return out


def _count(per_100k: float, residents: float, minimum: int) -> int:
    """Rounded up, so that no organisation is pushed past the sizing target by rounding."""
    return max(minimum, math.ceil(per_100k * residents / 100_000 - 1e-9))


def build_config(spec: BuildSpec) -> dict[str, Any]:
    """Configuration data for the ICBs of ``spec`` (raises ValueError on a bad spec)."""
    d = copy.deepcopy(defaults())
    _check_areas(spec, sorted(d["governance"]["arrangements"]))
    geo = england()
    icbs = _resolve_icbs(spec, geo.zones)
    zones = geo.zones[geo.zones["icb_code"].isin(icbs)].reset_index(drop=True)
    if spec.councils is not None:
        zones = zones[zones["authority"].isin(_resolve_councils(spec, zones))].reset_index(drop=True)
    pop = dict(zip(zones["zone"], zones["population"], strict=True))
    tw = geo.trust_weights[geo.trust_weights["zone"].isin(pop)]
    min_share = d["trust_catchment_min_share"]

    trust_fp: dict[str, dict[str, float]] = {}
    for zone, g in tw.groupby("zone", sort=False):
        kept = g[g["share"] >= min_share]
        if kept.empty:
            kept = g.nlargest(1, "share")
        shares = {t.lower(): float(s / kept["share"].sum()) for t, s in zip(kept["trust"], kept["share"], strict=True)}
        rounded = {t: round(s, 6) for t, s in sorted(shares.items(), key=lambda x: -x[1])}
        top = next(iter(rounded))
        rounded[top] = round(rounded[top] + 1.0 - sum(rounded.values()), 6)
        trust_fp[zone] = rounded

    footprints: dict[str, dict[str, Any]] = {
        "acute_trust": {z: trust_fp[z] for z in zones["zone"]},
        "local_authority": dict(zip(zones["zone"], zones["authority"], strict=True)),
        "icb": dict(zip(zones["zone"], zones["icb"], strict=True)),
    }
    names = {
        **dict(zip(zones["authority"], zones["authority_name"], strict=False)),
        **dict(zip(zones["icb"], zones["icb_name"], strict=False)),
    }
    others = dict(names)  # the councils' and ICBs' names, before any area's
    if spec.places:
        footprints["place"] = _areas_to_zones(spec.places, zones, "places")
        names.update({k: a.name or _named(k, "place") for k, a in spec.places.items()})
    else:
        # one for each council in each ICB, a council's small part in an ICB joining a neighbour
        where = {
            "zones": [{"id": z, "population": pop[z]} for z in zones["zone"]],
            "footprints": footprints,
            "organisation_types": d["organisation_types"],
        }
        piece_of = pieces(where, "local_authority", "icb", d["place_min_population"])
        parts = Counter(a for a, _ in set(piece_of.values()))
        place = {
            (a, i): f"{a.removesuffix('_council')}_place" + (f"__{i.removesuffix('_icb')}" if parts[a] > 1 else "")
            for a, i in piece_of.values()
        }
        footprints["place"] = {z: place[piece_of[z]] for z in zones["zone"]}
        names.update(
            {p: f"{names[a]} place" + (f" ({names[i]})" if parts[a] > 1 else "") for (a, i), p in place.items()}
        )
    providers: dict[str, str] = {}
    admitting = sorted({t.upper() for fp in trust_fp.values() for t in fp})
    for k, a in (spec.community_health or {}).items():
        if a.provider and a.provider.upper() not in admitting:
            close = difflib.get_close_matches(a.provider.upper(), admitting, n=1)
            raise ValueError(
                f"community_health.{k}.provider: {a.provider!r} is not a trust admitting these residents"
                + (f" (did you mean {close[0]!r}, {trust_names().get(close[0], 'a trust')}?)" if close else "")
                + "; a provider is one of those trusts, which then provides the area's community services too: "
                "for any other provider, give the area a name instead"
            )
    if spec.community_health:
        footprints["community_health"] = _areas_to_zones(spec.community_health, zones, "community_health")
        for k, a in spec.community_health.items():
            names[k] = a.name or _named(k, "community services")
            if a.provider:
                providers[k] = a.provider.lower()
    else:
        footprints["community_health"] = {
            z: i.removesuffix("_icb") + "_community" for z, i in zip(zones["zone"], zones["icb"], strict=True)
        }
        names.update(
            {
                c: f"{names[i]} community services"
                for c, i in zip(footprints["community_health"].values(), zones["icb"], strict=True)
            }
        )
    # community services provided by a trust are that trust filling the role
    footprints["community_health"] = {z: providers.get(c, c) for z, c in footprints["community_health"].items()}
    if "housing" in d["organisation_types"]:
        # the district council in a two-tier area (a council over two or more districts
        # in all England), the unitary council itself elsewhere
        two_tier = geo.zones.groupby("authority")["district23"].nunique() >= 2
        footprints["housing"] = {
            z: f"{slug(district)}_district" if two_tier[a] else a
            for z, district, a in zip(zones["zone"], zones["district23"], zones["authority"], strict=True)
        }
        districts = {
            f"{slug(d)}_district": f"{d} (district)"
            for d, a in zip(zones["district23"], zones["authority"], strict=True)
            if two_tier[a]
        }
        names.update(districts)
        others.update(districts)

    org_types, meetings = d["organisation_types"], d["meetings"]
    if spec.police:
        force = {council: police_forces()[council] for council in set(zones["authority_name"])}
        footprints["police"] = {
            z: force[council][0] for z, council in zip(zones["zone"], zones["authority_name"], strict=True)
        }
        names.update(dict(force.values()))
        others.update(dict(force.values()))
        org_types = {**org_types, "police": d["police"]["organisation_type"]}
        d["staff_per_100k"]["police"] = d["police"]["staff_per_100k"]
        meetings = [*meetings, d["police"]["meeting"]]
    _check_area_ids(spec, footprints, others, org_types)

    residents: dict[str, float] = {}
    for t, fp in footprints.items():
        for z, v in fp.items():
            if isinstance(v, dict):
                for o, s in v.items():
                    residents[o] = residents.get(o, 0.0) + pop[z] * s
            else:
                residents.setdefault(f"{t}:{v}", 0.0)
                residents[f"{t}:{v}"] += pop[z]
    minimum = d["staff_minimum"]
    hours = d["hours_per_week"]
    orgs: dict[str, Any] = {}
    council_residents = geo.zones.groupby("authority")["population"].sum()  # all of each council's
    if d["small_part_capacity"] not in ("unlimited", "scaled"):
        raise ValueError(f"small_part_capacity is 'unlimited' or 'scaled', not {d['small_part_capacity']!r}")

    def staff_for(org_type: str, served: float) -> dict[str, Any]:
        out = {}
        for role, per in d["staff_per_100k"].get(org_type, {}).items():
            n = 1 if org_type == "place" else _count(per, served, minimum)
            out[role] = {"count": n, "hours_per_week": hours}
        return out

    def capacity_for(org_type: str, served: float) -> dict[str, int]:
        return {c: _count(per, served, 1) for c, per in d["capacity_per_100k"].get(org_type, {}).items()}

    for trust in sorted({t for fp in trust_fp.values() for t in fp}):
        code = trust.upper()
        orgs[trust] = {
            "type": "acute_trust",
            "name": trust_names().get(code, f"Trust {code}"),
            "staff": staff_for("acute_trust", residents[trust]),
        }
    for t in ("local_authority", "icb", "place", "community_health", "housing", "police"):
        for org in dict.fromkeys(footprints.get(t, {}).values()):
            served = residents[f"{t}:{org}"]
            if org in orgs:  # a trust that also provides community services
                orgs[org].setdefault("also", []).append(t)
                orgs[org]["staff"].update(staff_for(t, served))
                orgs[org].setdefault("capacity", {}).update(capacity_for(t, served))
                continue
            entry: dict[str, Any] = {"type": t, "name": names.get(org, org), "staff": staff_for(t, served)}
            cap: dict[str, Any] = capacity_for(t, served)
            if t == "local_authority" and served < min(d["place_min_population"], council_residents[org]):
                # a council's small part, the rest of it beyond the area: its places are the whole council's
                cap = dict.fromkeys(cap, "unlimited") if d["small_part_capacity"] == "unlimited" else cap
            if cap:
                entry["capacity"] = cap
            area = (spec.places or {}).get(org) if t == "place" else None
            if area is not None and area.governance:
                entry["governance"] = area.governance
            orgs[org] = entry

    pathways = {
        pid: {"name": p["name"], "share": d["pathway_mix"][pid], "steps": p["steps"]}
        for pid, p in d["pathways"].items()
    }
    data: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description or f"Built from England's geography for {len(icbs)} ICB(s)",
        "run": d["run"],
        "demand": {"per_1000_per_year": d["demand"]["complex_per_1000_per_year"]},
        "zones": [
            {"id": z, "name": n, "population": int(p)}
            for z, n, p in zip(zones["zone"], zones["name"], zones["population"], strict=True)
        ],
        "organisation_types": org_types,
        "organisations": orgs,
        "footprints": footprints,
        "patients": d["patients"],
        "pathways": pathways,
        "handovers": d["handovers"],
        "meetings": meetings,
        "governance": {**d["governance"], "default": spec.governance or d["governance"]["default"]},
        "trusted_assessors": d["trusted_assessors"],
    }
    config_from_dict(data, f"build {spec.name}")  # a built configuration is always valid
    return data


def load_spec(path: str | Path) -> BuildSpec:
    data, lines = load_yaml(path, "build specification")
    try:
        return BuildSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, str(path), lines, BuildSpec)) from None


def build_from_file(path: str | Path) -> dict[str, Any]:
    spec = load_spec(path)
    try:
        return build_config(spec)
    except ValueError as exc:
        _, lines = load_yaml(path)
        key, _, rest = str(exc).partition(": ")  # 'places.east.districts: no district ...'
        where = tuple(key.split("."))
        if where[0] not in BuildSpec.model_fields or not rest:
            where, rest = (), str(exc)
        raise ConfigError([Problem(str(path), line_of(lines, where), where, rest)]) from None


HEADER = """\
# Built by `handover build {spec}` from England's geography (sim/data/england: ONS and
# OHID data, Open Government Licence v3.0) with the assumptions of sim/data/defaults.yaml,
# where each number has its source.  Edit the spec or the defaults and rebuild rather
# than editing this file by hand.
#
# Zones: 2023 districts, split by ICB where a district lies in two.  Demand: {rate} complex
# discharges per 1,000 residents a year (about 585,000 a year for England).  Staff and
# capacity: scaled by residents served and rounded up, sized for ~70% busy staff;
# not workforce statistics.
"""


def dump(data: dict[str, Any], header: str) -> str:
    """The configuration as YAML under a comment header, compact where lists of small
    mappings would sprawl: a list of plain values, or a mapping of them two levels down,
    is written on one line where that line fits in the width, and one item a line where
    it would not (a line folded inside ``{...}`` or ``[...]`` is hard to edit).  A
    mapping given an anchor (``CommentedMap.yaml_set_anchor``) is written once, under
    its anchor, and as an alias wherever else it appears."""
    width = 120
    anchored: dict[int, CommentedMap] = {}

    def compact(node: Any, depth: int = 0, indent: int = 0, lead: int = 0) -> Any:
        """``indent``: the column of the node's lines if written as a block; ``lead``:
        the characters before it on its first line if written on one line."""
        if id(node) in anchored:
            return anchored[id(node)]
        if isinstance(node, dict):
            m = CommentedMap(
                (k, compact(v, depth + 1, indent + (0 if isinstance(v, list) else 2), indent + len(str(k)) + 2))
                for k, v in node.items()
            )
            if (
                all(not isinstance(v, (dict, list)) for v in node.values())
                and depth >= 2
                and lead + _flow_length(node) <= width
            ):
                m.fa.set_flow_style()
            if isinstance(node, CommentedMap) and node.anchor.value:
                m.yaml_set_anchor(node.anchor.value, always_dump=True)
                anchored[id(node)] = m
            return m
        if isinstance(node, list):
            seq = CommentedSeq(compact(v, depth + 1, indent + 2, indent + 2) for v in node)
            if all(not isinstance(v, (dict, list)) for v in node) and lead + _flow_length(node) <= width:
                seq.fa.set_flow_style()
            return seq
        if isinstance(node, float) and math.isfinite(node):
            return round(node, 6)
        return node

    yaml = YAML()
    yaml.width = width
    buf = io.StringIO()
    yaml.dump(compact(data), buf)
    return header + buf.getvalue()


def _flow_length(node: dict[str, Any] | list[Any]) -> int:
    """About how long ``node`` is written on one line, as ``{k: v, ...}`` or ``[v, ...]``
    (a string counted with quotes where it has a character a flow collection would
    need them for), or too long for any line where ruamel.yaml would write it so that
    it does not read back (a string starting with ':' or '?')."""

    def scalar(v: Any) -> int:
        if isinstance(v, str) and v.startswith((":", "?")):
            return 1 << 30
        if isinstance(v, float) and math.isfinite(v):
            v = round(v, 6)
        text = "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        quoted = isinstance(v, str) and (not v or v != v.strip() or any(c in v for c in ",:#'\"[]{}&*!|>%@`"))
        return len(text) + (2 if quoted else 0)

    if isinstance(node, dict):
        items = [len(str(k)) + 2 + scalar(v) for k, v in node.items()]
    else:
        items = [scalar(v) for v in node]
    return 2 + sum(items) + 2 * max(len(items) - 1, 0)


def shown_path(path: str | Path) -> str:
    """A path relative to the working folder where it lies inside it, as written otherwise."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def build_header(data: dict[str, Any], spec_path: str | Path) -> str:
    return HEADER.format(spec=shown_path(spec_path), rate=data["demand"]["per_1000_per_year"])
