"""Boundary transforms: from one configuration to another over the same zones and demand.

Each transform edits plain configuration data (as read from YAML) and is written in
an experiment's scenario as a one-key mapping, for example::

    transforms:
      - split: {organisation: lancashire_cc, into: {north_lancashire: [lancaster, wyre], ...}}
      - merge: {organisations: [icb_a, icb_b], into: icb_ab}
      - align: {type: place, to: local_authority}
      - reorganise: {organisations: [county, unitary_a], into: {north: [...], south: [...]}}
      - split_counties: {target_population: 500000}

``split`` and ``reorganise`` take ``names`` ({new id: name}) and ``merge`` a ``name``:
what the report shows for the new organisations (their ids otherwise).

When organisations are split, merged or realigned, their staff and capacity follow
their residents: a new organisation gets, for each staff role and capacity, the sum
over the old organisations of their number times the share of their residents it
takes on, in whole numbers that add up to the old ones' as staff who transfer do
(``apportion``), and at least 1 where any old organisation had some.  Unlimited
stays unlimited.  A place keeps the governance arrangement of the old organisation
it takes most residents from.  An organisation that also fills another type's role
(a unitary council that is also the housing authority) passes that role, in each of
its zones, to the new organisation there.

Types marked ``lower_tier_of`` another (district councils under a county) follow
local government reorganisation: ``split``, ``reorganise`` and ``split_counties``
make unitaries, so the new organisations take on the lower tier's role in their
zones, with its staff and capacity there, and the district councils go.  ``merge``
keeps them (two counties merged are still a county over their districts).
"""

from __future__ import annotations

import copy
import difflib
import inspect
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any, get_type_hints

import numpy as np
from pydantic import TypeAdapter, ValidationError

from sim.errors import did_you_mean, unknown_key

Data = dict[str, Any]


class TransformError(ValueError):
    """A transform that does not fit the configuration; the message says why."""


def _population(data: Data) -> dict[str, int]:
    return {z["id"]: int(z["population"]) for z in data["zones"]}


def _type_of(data: Data, org: str) -> str:
    if org not in data["organisations"]:
        raise TransformError(f"no organisation {org!r}{did_you_mean(org, list(data['organisations']))}")
    return str(data["organisations"][org]["type"])


def _single_footprint(data: Data, org_type: str) -> dict[str, str]:
    fp = data["footprints"].get(org_type)
    if fp is None:
        raise TransformError(
            f"no footprint for type {org_type!r}: {unknown_key('type', org_type, list(data['footprints']))}"
        )
    if data["organisation_types"][org_type].get("footprint", "single") != "single":
        raise TransformError(f"type {org_type!r} has shares footprints; transforms need one organisation per zone")
    return dict(fp)


def _scaled(total: float, any_positive: bool) -> int:
    n = round(total)
    return max(n, 1) if any_positive else n


def apportion(quotas: dict[str, float]) -> dict[str, int]:
    """Whole numbers for real ``quotas`` (the staff of a role or a capacity each successor
    takes on, by residents) that add up to their total, rounded, as the staff who transfer
    do: each the floor of its quota, and the ones left over to the largest remainders
    (Hamilton's method; ties to the first). A successor with a quota above 0 gets at least
    1, taken from the one with most while it has more than 1: splitting 10 social workers
    three ways gives 4, 3 and 3, where rounding each gave 3, 3 and 3."""
    whole = {k: math.floor(q + 1e-9) for k, q in quotas.items()}
    left = round(sum(quotas.values())) - sum(whole.values())
    by_remainder = sorted(quotas, key=lambda k: whole[k] - quotas[k])  # the largest remainder first
    for k in by_remainder[: max(left, 0)]:
        whole[k] += 1
    for k, q in quotas.items():
        if q > 0 and whole[k] == 0:
            most = max(whole, key=lambda j: whole[j])
            if whole[most] > 1:
                whole[most] -= 1
            whole[k] = 1
    return whole


def _whole_numbers(orgs: dict[str, Any]) -> None:
    """Make the new organisations' staff counts and capacities, their residents' shares of
    the old ones', whole numbers that add up to the old ones' (``apportion``)."""
    for kind in ("staff", "capacity"):
        names = dict.fromkeys(name for org in orgs.values() for name in org.get(kind, {}))
        for name in names:
            values = {o: org[kind][name] for o, org in orgs.items() if name in org.get(kind, {})}
            numbers = {o: v["count"] if kind == "staff" else v for o, v in values.items()}
            for o, n in apportion({o: float(v) for o, v in numbers.items() if v != "unlimited"}).items():
                if kind == "staff":
                    values[o]["count"] = n
                else:
                    orgs[o][kind][name] = n


def redistribute(data: Data, org_type: str, new_footprint: dict[str, str], names: dict[str, str] | None = None) -> Data:
    """Replace the organisations of ``org_type`` by those of ``new_footprint`` (zone -> id)."""
    out = copy.deepcopy(data)
    pop = _population(out)
    old_fp = _single_footprint(out, org_type)
    if set(new_footprint) != set(old_fp):
        raise TransformError("the new footprint must cover the same zones as the old")
    orgs = out["organisations"]
    zones_of: dict[str, set[str]] = defaultdict(set)
    new_zones_of: dict[str, set[str]] = defaultdict(set)
    for zone, old in old_fp.items():
        zones_of[old].add(zone)
        new_zones_of[new_footprint[zone]].add(zone)
    # an organisation of another type filling this one's role (a unitary council that
    # is also the housing authority) is left as it is, if its area does not change
    fillers = {o for o in zones_of if orgs[o]["type"] != org_type}
    for oid in sorted(fillers):
        if new_zones_of.get(oid) != zones_of[oid]:
            raise TransformError(
                f"{oid!r} is a {orgs[oid]['type']} that also acts as {org_type}; "
                f"its part as {org_type} cannot be split or merged apart from it"
            )
    whole = dict(new_footprint)
    new_footprint = {z: o for z, o in new_footprint.items() if o not in fillers}
    old_fp = {z: o for z, o in old_fp.items() if o not in fillers}
    passed = _roles_passed_on(out, org_type, old_fp, new_footprint)
    old_pop: dict[str, float] = defaultdict(float)
    overlap: dict[tuple[str, str], float] = defaultdict(float)
    for zone, old in old_fp.items():
        old_pop[old] += pop[zone]
        overlap[(new_footprint[zone], old)] += pop[zone]
    new_orgs: dict[str, Any] = {}
    for new in dict.fromkeys(new_footprint.values()):
        sources = [(old, share / old_pop[old]) for (n, old), share in overlap.items() if n == new and old_pop[old] > 0]
        largest = max(sources, key=lambda s: overlap[(new, s[0])])[0] if sources else None
        staff: dict[str, Any] = {}
        capacity: dict[str, Any] = {}
        _add_shares(staff, [(orgs[old].get("staff", {}), f) for old, f in sources], staff=True, exact=True)
        _add_shares(capacity, [(orgs[old].get("capacity", {}), f) for old, f in sources], staff=False, exact=True)
        staff, capacity = dict(sorted(staff.items())), dict(sorted(capacity.items()))
        kept_name = orgs[new].get("name") if new in old_pop else None  # an organisation that stays keeps its name
        org: dict[str, Any] = {"type": org_type, "name": (names or {}).get(new) or kept_name or new, "staff": staff}
        if capacity:
            org["capacity"] = capacity
        if largest is not None and orgs[largest].get("governance"):
            org["governance"] = orgs[largest]["governance"]
        if passed.get(new):
            org["also"] = passed[new]
        if new in orgs and new not in old_fp.values():
            raise TransformError(f"{new!r} is already the id of another organisation")
        new_orgs[new] = org
    _whole_numbers(new_orgs)
    for old in set(old_fp.values()):
        del orgs[old]
    orgs.update(new_orgs)
    out["footprints"][org_type] = whole
    for also in {t for ts in passed.values() for t in ts}:
        fp = out["footprints"][also]
        for zone, o in list(fp.items()):
            if o in zones_of and o not in fillers:
                fp[zone] = new_footprint[zone]
    successors: dict[str, list[str]] = defaultdict(list)
    for new, old in overlap:
        if new not in successors[old]:
            successors[old].append(new)
    _carry_shared(out, successors)
    return out


def _carry_shared(data: Data, successors: dict[str, list[str]]) -> None:
    """Keep ``shared_capacity`` to the organisations there are after a transform: an
    organisation that is replaced is replaced in its group by those of its successors
    that have the capacity, groups of one capacity that come to share an organisation
    become one, and a group left with one organisation is just its own capacity."""
    groups = data.get("shared_capacity")
    if not groups:
        return
    orgs = data["organisations"]
    merged: list[dict[str, Any]] = []
    for group in groups:
        capacity = group["capacity"]
        members = [
            m
            for o in group["organisations"]
            for m in successors.get(o, [o])
            if m in orgs and capacity in orgs[m].get("capacity", {})
        ]
        for other in [g for g in merged if g["capacity"] == capacity and set(g["organisations"]) & set(members)]:
            merged.remove(other)
            members = other["organisations"] + members
        merged.append({**group, "organisations": list(dict.fromkeys(members))})
    data["shared_capacity"] = [g for g in merged if len(g["organisations"]) > 1]


def _share(
    data: Data, organisations: list[str], capacities: list[str], key: str = "share_capacity", who: str = "successors"
) -> Data:
    """``organisations`` commission each of ``capacities`` together (one pool of it);
    ``key`` and ``who`` say in an error where the names came from and whose they are."""
    out = copy.deepcopy(data)
    orgs = out["organisations"]
    for capacity in capacities:
        having = [o for o in organisations if capacity in orgs[o].get("capacity", {})]
        if len(having) < 2:
            known = sorted({c for o in organisations for c in orgs[o].get("capacity", {})})
            close = difflib.get_close_matches(capacity, known, n=1)
            raise TransformError(
                f"{key}: {capacity!r} is not a capacity of two or more of the {who}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + (f" (theirs: {', '.join(known)})" if known else " (they have none)")
            )
        out.setdefault("shared_capacity", []).append({"capacity": capacity, "organisations": having})
    _carry_shared(out, {})
    return out


def _roles_passed_on(data: Data, org_type: str, old_fp: dict[str, str], new_fp: dict[str, str]) -> dict[str, list[str]]:
    """The other types' roles each new organisation takes on from the old ones it
    replaces: a role an old organisation filled in a zone passes to the new one there."""
    orgs = data["organisations"]
    roles: dict[str, list[str]] = defaultdict(list)
    for old in dict.fromkeys(old_fp.values()):
        own = {z for z, o in old_fp.items() if o == old}
        for also in orgs[old].get("also", []):
            fp = data["footprints"][also]
            if not isinstance(fp, dict) or any(isinstance(v, dict) for v in fp.values()):
                raise TransformError(f"{old!r} also acts as {also!r}, which has shares footprints; redraw it by hand")
            there = {z for z, o in fp.items() if o == old}
            if not there <= own:
                raise TransformError(f"{old!r} acts as {also!r} beyond its own area as {org_type!r}; redraw it by hand")
            for zone in there:
                if also not in roles[new_fp[zone]]:
                    roles[new_fp[zone]].append(also)
    return dict(roles)


def reorganise(
    data: Data,
    organisations: list[str],
    into: dict[str, list[str]],
    names: dict[str, str] | None = None,
    by: str | None = None,
    share_capacity: list[str] | None = None,
) -> Data:
    """Replace organisations of one type by successors, each taking the zones listed:
    their zones must be exactly the old organisations' zones (a county and its
    neighbouring unitaries redrawn as new unitaries, say).  With ``by`` (a type), the
    lists name organisations of that type instead, each standing for its zones among
    the old organisations' (ICBs redrawn around whole councils).  ``share_capacity``
    names capacities the successors commission together (``shared_capacity``: one
    pool, as the old organisation had), such as the county's discharge-to-assess
    beds kept as one service by the new unitaries."""
    types = {_type_of(data, o) for o in organisations}
    if len(types) != 1:
        raise TransformError(f"only organisations of one type can be reorganised together, not {sorted(types)}")
    org_type = types.pop()
    strays = sorted(set(names or {}) - set(into))
    if strays:
        raise TransformError(
            f"names are given for {', '.join(map(repr, strays))}, "
            f"{'which is not a successor' if len(strays) == 1 else 'which are not successors'}; "
            f"the successors are {', '.join(map(repr, into))}"
        )
    clash = [n for n in into if n in data["organisations"] and n not in organisations]
    if clash:
        raise TransformError(f"{clash[0]!r} is already the id of another organisation; name the successor otherwise")
    fp = _single_footprint(data, org_type)
    own = {z for z, o in fp.items() if o in organisations}
    by_fp = _single_footprint(data, by) if by is not None else {}
    if by is not None:
        into = _zones_by(by, by_fp, own, into)
    listed = [z for zones in into.values() for z in zones]
    if len(listed) != len(set(listed)):
        twice = sorted({z for z in listed if listed.count(z) > 1})
        takers = {z: [new for new, zones in into.items() if z in zones] for z in twice}
        raise TransformError(
            "a zone is given to more than one successor: "
            + "; ".join(f"{z!r} to {' and '.join(map(repr, takers[z]))}" for z in twice)
        )
    if set(listed) != own:
        missing, extra = sorted(own - set(listed)), sorted(set(listed) - own)
        if by is not None:  # name the zones left out by the organisations they are in
            missing = [f"{z} (in {by_fp[z]})" for z in missing]
        raise TransformError(
            f"the successors must take exactly the zones of {', '.join(map(repr, organisations))}"
            + (f"; not given: {', '.join(missing)}" if missing else "")
            + (f"; not among them: {', '.join(extra)}" if extra else "")
        )
    new_fp = dict(fp)
    for new, zones in into.items():
        for z in zones:
            new_fp[z] = new
    out = absorb_lower_tiers(redistribute(data, org_type, new_fp, names), org_type, set(listed))
    return _share(out, list(into), share_capacity) if share_capacity else out


def _zones_by(by: str, by_fp: dict[str, str], own: set[str], into: dict[str, list[str]]) -> dict[str, list[str]]:
    """``into`` with each organisation of type ``by`` replaced by its zones in ``own``."""
    of_type = sorted(set(by_fp.values()))
    zones: dict[str, list[str]] = {}
    given: dict[str, str] = {}
    for new, orgs in into.items():
        zones[new] = []
        for org in orgs:
            if org in given:
                raise TransformError(f"into.{new}: {org!r} is given to {given[org]!r} as well")
            given[org] = new
            if org not in of_type:
                close = difflib.get_close_matches(org, of_type, n=1)
                raise TransformError(
                    f"into.{new}: no organisation of type {by!r} called {org!r}"
                    + (f"; did you mean {close[0]!r}?" if close else "")
                )
            theirs = [z for z in by_fp if by_fp[z] == org and z in own]
            if not theirs:
                raise TransformError(f"into.{new}: {org!r} covers none of the zones of the organisations reorganised")
            zones[new] += theirs
    return zones


def absorb_lower_tiers(data: Data, org_type: str, area: set[str]) -> Data:
    """The unitaries of ``org_type`` in ``area`` take on the role of each type that is
    the lower tier under it (district councils' housing under a county), with that
    tier's staff and capacity in each zone by residents; a lower-tier organisation left
    with no zones goes, and one keeping some keeps the share of its staff for them."""
    lower = [t for t, spec in data["organisation_types"].items() if spec.get("lower_tier_of") == org_type]
    if not lower:
        return data
    out = copy.deepcopy(data)
    pop = _population(out)
    orgs = out["organisations"]
    upper = _single_footprint(out, org_type)
    for tier in lower:
        fp = _single_footprint(out, tier)
        residents: dict[str, float] = defaultdict(float)
        for zone, o in fp.items():
            residents[o] += pop[zone]
        taken: dict[tuple[str, str], float] = defaultdict(float)  # (unitary, district) -> residents
        for zone in sorted(area):
            district, unitary = fp[zone], upper[zone]
            if district == unitary:
                continue
            if orgs[district]["type"] != tier:
                raise TransformError(
                    f"{district!r} is a {orgs[district]['type']} acting as {tier!r} in {zone!r}; "
                    f"only {tier} organisations can pass to the unitaries"
                )
            taken[(unitary, district)] += pop[zone]
            fp[zone] = unitary
        out["footprints"][tier] = fp
        gained: dict[str, list[tuple[dict[str, Any], float]]] = defaultdict(list)
        left: dict[str, float] = {}
        for (unitary, district), n in taken.items():
            f = n / residents[district] if residents[district] > 0 else 1.0
            gained[unitary].append((orgs[district], f))
            left[district] = left.get(district, 1.0) - f
        for unitary, parts in gained.items():
            org = orgs[unitary]
            if tier not in org.setdefault("also", []):
                org["also"].append(tier)
            for kind in ("staff", "capacity"):
                _add_shares(org.setdefault(kind, {}), [(p.get(kind, {}), f) for p, f in parts], kind == "staff")
            if not org["capacity"]:
                del org["capacity"]
        gone: dict[str, list[str]] = defaultdict(list)
        for district, rest in left.items():
            if district not in fp.values():
                del orgs[district]
                gone[district] = [u for u, d in taken if d == district]
            else:
                for kind in ("staff", "capacity"):
                    kept = orgs[district].get(kind, {})
                    scaled: dict[str, Any] = {}
                    _add_shares(scaled, [(kept, max(rest, 0.0))], kind == "staff")
                    kept.update(scaled)
        _carry_shared(out, gone)
    return out


def _add_shares(
    into: dict[str, Any], parts: list[tuple[dict[str, Any], float]], staff: bool, exact: bool = False
) -> None:
    """Add to ``into`` each staff role (``staff``) or capacity of ``parts``' mappings
    times its share: summed and, unless ``exact`` (``apportion`` makes them whole
    numbers together), rounded, at least 1 where any had some; unlimited stays
    unlimited; a role keeps the hours a week of the first that has it."""
    names = dict.fromkeys(k for mapping, _ in parts for k in mapping)
    for name in names:
        values = [(mapping[name], f) for mapping, f in parts if name in mapping]
        counts = [v["count"] if staff else v for v, _ in values]
        current = into.get(name)
        current_count = (current["count"] if staff else current) if current is not None else 0
        if "unlimited" in counts or current_count == "unlimited":
            total: Any = "unlimited"
        else:
            added = sum(c * f for c, (_, f) in zip(counts, values, strict=True))
            total = current_count + added
            if not exact:
                total = _scaled(total, current_count > 0 or any(c > 0 for c in counts))
        if staff:
            hours = (current or values[0][0]).get("hours_per_week", 37.5)
            into[name] = {"count": total, "hours_per_week": hours}
        else:
            into[name] = total


def split(
    data: Data,
    organisation: str,
    into: dict[str, list[str]],
    names: dict[str, str] | None = None,
    share_capacity: list[str] | None = None,
) -> Data:
    """Split one organisation into successors, each taking the zones listed (and
    commissioning the capacities ``share_capacity`` names together)."""
    return reorganise(data, [organisation], into, names, share_capacity=share_capacity)


def merge(data: Data, organisations: list[str], into: str, name: str | None = None) -> Data:
    """Merge organisations of one type into one (one alone is renamed: an ICB that took a new name)."""
    if not into:
        raise TransformError("into: give the merged organisation an id")
    types = {_type_of(data, o) for o in organisations}
    if len(types) != 1:
        raise TransformError(f"only organisations of one type can merge, not {sorted(types)}")
    org_type = types.pop()
    if into in data["organisations"] and into not in organisations:
        raise TransformError(f"into: {into!r} is another organisation; to merge it too, list it in organisations")
    fp = _single_footprint(data, org_type)
    new_fp = {z: (into if o in organisations else o) for z, o in fp.items()}
    return redistribute(data, org_type, new_fp, {into: name} if name else None)


def share(data: Data, capacity: list[str], type: str = "local_authority") -> Data:
    """Every organisation of ``type`` commissions each of ``capacity`` together: one pool
    of it for them all, as ``shared_capacity``.  Meant for a configuration of one area
    (a county study's councils, after a reorganisation), not all England."""
    if not capacity:
        raise TransformError("capacity: name at least one (care_home_beds, reablement_slots, ...)")
    _single_footprint(data, type)
    members = [o for o, org in data["organisations"].items() if org["type"] == type]
    return _share(data, members, capacity, key="capacity", who=f"organisations of type {type!r}")


def align(
    data: Data,
    type: str,
    to: str,
    prefix: str | None = None,
    min_population: int = 0,
    within: str | None = None,
) -> Data:
    """Realign the organisations of ``type`` to the footprints of ``to`` (one each).

    ``within`` names a type the new organisations must nest in, as places nest in
    ICBs: a council in two ICBs then gets a place in each (Essex one in each of its
    three), named after both.

    An organisation of ``to`` (or its part in one of ``within``) with fewer than
    ``min_population`` residents in the configuration gets none of its own: a council
    of which only a fragment lies in the area (8,204 of Cumberland's residents in
    Lancashire and South Cumbria, say) joins a neighbour, as places do.  With no map of
    which zones neighbour which, each of its zones joins the new organisation (in the
    same one of ``within``) whose residents' hospitals are most like its own (cosine of
    the admitting trusts' shares, as ``split_counties`` groups districts; the larger on
    a tie).

    A new organisation whose area is just that of one there already (a place that
    already matched its council) is that organisation still: it keeps its id and name,
    unless that name is of the form this gives a council's part in an ICB ("Essex place
    (NHS Mid and South Essex Integrated Care Board)") and names a council or ICB that is
    gone (Essex split into unitaries): it then takes the name of the one it now serves
    ("Essex (2 of 3) place")."""
    _single_footprint(data, type)
    target = _single_footprint(data, to)
    piece_of = pieces(data, to, within, min_population)
    tag = prefix if prefix is not None else f"{type}_"
    label = type.replace("_", " ")
    orgs = data["organisations"]
    kept = list(dict.fromkeys(piece_of.values()))
    parts: dict[str, int] = defaultdict(int)
    for o, _ in kept:
        parts[o] += 1
    ids, names = {}, {}
    for o, w in kept:
        name = orgs[o].get("name") or o
        if parts[o] > 1:
            ids[(o, w)] = f"{tag}{o}__{w}"
            names[ids[(o, w)]] = f"{name} {label} ({orgs[w].get('name') or w})"
        else:
            ids[(o, w)] = f"{tag}{o}"
            names[ids[(o, w)]] = f"{name} {label}"
    new_fp = {z: ids[piece_of[z]] for z in target}
    # a new organisation covering just what one of today's covers is that organisation
    # still: it keeps its id and name (and so the days its meetings sit on), and
    # aligning what is aligned already changes nothing
    today = {frozenset(zs): oid for oid, zs in _zones_of(_single_footprint(data, type)).items()}
    new_zones = _zones_of(new_fp)
    same = {new: today[frozenset(zs)] for new, zs in new_zones.items() if frozenset(zs) in today}
    same = {new: old for new, old in same.items() if old not in new_zones}
    named = {v.get("name") or o for o, v in orgs.items()}
    for new, old in same.items():  # named as this names, after a council or ICB that is gone
        said = re.fullmatch(rf"(.*) {re.escape(label)} \((.*)\)", orgs[old].get("name") or old)
        if said and not {said.group(1), said.group(2)} <= named:
            names[old] = names[new]
    return redistribute(data, type, {z: same.get(o, o) for z, o in new_fp.items()}, names)


def _zones_of(footprint: dict[str, str]) -> dict[str, set[str]]:
    """Each organisation's zones in a footprint (zone -> organisation)."""
    out: dict[str, set[str]] = defaultdict(set)
    for zone, org in footprint.items():
        out[org].add(zone)
    return out


def pieces(data: Data, to: str, within: str | None, min_population: int) -> dict[str, tuple[str, str]]:
    """Each zone's piece: its organisation of ``to`` and of ``within`` ("" without).
    A zone whose piece has fewer than ``min_population`` residents takes instead the
    piece, in the same organisation of ``within``, whose residents' hospitals are most
    like its own (the larger on a tie); in an organisation of ``within`` where none
    has ``min_population``, its largest piece is kept for the others to join.  See
    ``align``."""
    target = _single_footprint(data, to)
    outer = _single_footprint(data, within) if within is not None else dict.fromkeys(target, "")
    if min_population < 0:
        raise TransformError("min_population must be zero or more")
    pop = _population(data)
    residents: dict[tuple[str, str], int] = defaultdict(int)  # (organisation of `to`, of `within`) -> residents
    for zone, o in target.items():
        residents[(o, outer[zone])] += pop[zone]
    kept = {piece for piece, n in residents.items() if n >= min_population}
    for w in sorted(set(outer.values()) - {w for _, w in kept}):
        if kept:  # none in `w` is big enough (one county's part of an ICB): its largest is kept for the rest
            kept.add(max((n, piece) for piece, n in residents.items() if piece[1] == w)[1])
    if not kept:
        largest = max(residents.values())
        where = f" (or its part in one {within})" if within else ""
        raise TransformError(
            f"min_population {min_population:,} leaves no {to}{where} (the largest has {largest:,} residents)"
        )
    piece_of = {z: (o, outer[z]) for z, o in target.items() if (o, outer[z]) in kept}
    left = sorted(set(target) - set(piece_of))
    if left:
        hospitals = _hospitals(data)
        # piece -> trust -> its residents admitted there
        use: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        size: dict[tuple[str, str], int] = defaultdict(int)
        for zone, piece in piece_of.items():
            size[piece] += pop[zone]
            for trust, share in hospitals[zone].items():
                use[piece][trust] += share * pop[zone]
        for zone in left:
            o, w = target[zone], outer[zone]
            candidates = sorted(p for p in kept if p[1] == w)
            piece_of[zone] = max(candidates, key=lambda p: (_cosine(hospitals[zone], use[p]), size[p]))
    return {z: piece_of[z] for z in target}


def _hospitals(data: Data) -> dict[str, dict[str, float]]:
    """Each zone's residents' shares of the admitting trusts."""
    admitting = next((t for t, spec in data["organisation_types"].items() if spec.get("admits")), None)
    if admitting is None:
        raise TransformError("no organisation type admits patients, so no hospitals to compare zones by")
    return {z: dict(shares) for z, shares in data["footprints"][admitting].items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _district(zone: str) -> str:
    """The district a zone belongs to (zones of one district split by ICB share it)."""
    return zone.split("__", 1)[0]


# the exact fair grouping takes about 3 ** districts steps: 0.4 s for 14, 4 s for 16
# (up to twice that with links, when no grouping joined by them gives every group its share)
MAX_FAIR_DISTRICTS = 16
# a fair guess at a county's unitaries (``handover county``, and ``split_counties`` where its
# clustering leaves one in pieces): none has under half an equal share of the county's
# residents, nor (where any grouping allows it) over one and a half, the "about 500,000"
# each of seed 000; and two districts share a hospital when a trust admits at least
# SHARED_HOSPITAL of the residents of both
MIN_SHARE, MAX_SHARE = 0.5, 1.5
SHARED_HOSPITAL = 0.05


def _joined(count: int, links: Sequence[int]) -> list[bool]:
    """For each set of ``count`` districts (as bits), whether its districts are joined by
    ``links`` (each district's linked ones, as bits), directly or through others of the set."""
    sets = np.arange(1 << count, dtype=np.int64)
    reach = sets & -sets  # each set's first district, then every one it reaches within the set
    linked = np.array(links, dtype=np.int64)
    while True:
        grown = reach.copy()
        for d in range(count):
            grown |= np.where(reach >> d & 1, linked[d], 0)
        grown &= sets
        if np.array_equal(grown, reach):
            return (reach == sets).tolist()
        reach = grown


def _fair_grouping(
    residents: list[int],
    shares: np.ndarray,
    groups: int,
    min_share: float,
    links: Sequence[int] | None = None,
    max_share: float = math.inf,
) -> list[list[int]]:
    """The districts (by index) in each group of the best grouping into ``groups`` in
    which every group has at least ``min_share`` of an equal share of the residents (or,
    if there is none, of those whose smallest group is largest): the one whose
    districts' hospitals are most like their group's, the sum over districts of
    residents times one minus the cosine of the district's and its group's shares.
    With ``links`` (each district's linked ones, as bits), of the groupings giving every
    group its share those whose groups are each joined by links come first; with
    ``max_share``, before them those in which no group has more than ``max_share`` of
    an equal share too.

    Exact, by dynamic programming over sets of districts, since a group's part of that
    sum depends only on its members: the best grouping of a set into j groups is the
    best, over every group holding the set's first district, of that group and the best
    grouping of the rest into j - 1.  Groups come in the order of their first district."""
    count = len(residents)
    members = (np.arange(1 << count)[:, None] >> np.arange(count)) & 1  # set (as bits) x district
    people = np.array(residents, dtype=np.int64)
    pop = (members @ people).tolist()
    profile = members @ (people[:, None] * shares)  # each set's residents at each trust
    profile /= np.maximum(np.linalg.norm(profile, axis=1, keepdims=True), 1e-300)
    unit = shares / np.linalg.norm(shares, axis=1, keepdims=True)
    cost = (members * people * (1 - profile @ unit.T)).sum(axis=1).tolist()

    everyone = (1 << count) - 1
    anyhow = [True] * (everyone + 1)
    joined = _joined(count, links) if links is not None else anyhow

    def first_groups(rest: int, j: int, allowed: list[bool] = anyhow) -> Iterator[int]:
        """Every group of ``rest`` (that is ``allowed``) holding its first district and
        leaving j - 1 to share the rest."""
        first = rest & -rest
        others = sub = rest ^ first
        while sub:
            group = (others ^ sub) | first
            if (rest ^ group).bit_count() >= j - 1 and allowed[group]:
                yield group
            sub = (sub - 1) & others

    @cache
    def largest_smallest(rest: int, j: int) -> int:
        if j == 1:
            return pop[rest]
        return max(min(pop[g], largest_smallest(rest ^ g, j - 1)) for g in first_groups(rest, j))

    def cheapest(floor: float, allowed: list[bool], ceiling: float = math.inf) -> tuple[float, tuple[int, ...]] | None:
        @cache
        def best(rest: int, j: int) -> tuple[float, tuple[int, ...]] | None:
            if not j * floor <= pop[rest] <= j * ceiling:
                return None
            if j == 1:
                return (cost[rest], (rest,)) if allowed[rest] else None
            options = [
                (cost[g] + tail[0], (g, *tail[1]))
                for g in first_groups(rest, j, allowed)
                if floor <= pop[g] <= ceiling and (tail := best(rest ^ g, j - 1)) is not None
            ]
            return min(options, default=None)

        return best(everyone, groups)

    equal = sum(residents) / groups
    floor, ceiling = min_share * equal, max_share * equal
    found = (
        (cheapest(floor, joined, ceiling) if max_share < math.inf else None)  # each its share, none too large
        or cheapest(floor, joined)  # joined by links, if any such is fair
        or (cheapest(floor, anyhow, ceiling) if links is not None and max_share < math.inf else None)
        or (cheapest(floor, anyhow) if links is not None else None)
        or cheapest(largest_smallest(everyone, groups), anyhow)
    )
    assert found  # every group of the last has the largest smallest group's residents or more
    return [[d for d in range(count) if group >> d & 1] for group in found[1]]


def district_hospitals(data: Data, zones: list[str]) -> tuple[list[str], list[int], np.ndarray]:
    """The districts of ``zones`` (sorted), their residents, and their residents' shares
    of the admitting trusts (a row for each district, a column for each trust)."""
    pop = _population(data)
    trust_fp = _hospitals(data)
    trusts = sorted({t for z in zones for t in trust_fp[z]})
    districts = sorted({_district(z) for z in zones})
    residents, vectors = [], []
    for d in districts:
        parts = [z for z in zones if _district(z) == d]
        residents.append(sum(pop[z] for z in parts))
        weight = residents[-1] or 1
        vectors.append([sum(trust_fp[z].get(t, 0.0) * pop[z] for z in parts) / weight for t in trusts])
    return districts, residents, np.array(vectors).reshape(len(districts), len(trusts))


def sharing(vectors: np.ndarray, linked_at: float) -> np.ndarray:
    """Whether each two districts share a hospital: a trust admitting at least
    ``linked_at`` of the residents of both (never a district with itself)."""
    uses = (vectors >= linked_at).astype(int)
    shared = (uses @ uses.T) > 0
    np.fill_diagonal(shared, False)
    return shared


def touching(districts: Sequence[str]) -> np.ndarray | None:
    """Whether each two of ``districts`` share a boundary (never a district with
    itself), where every one is among England's districts of 2023 as ``handover build``
    names their zones (``england_districts``); None where any is not (a configuration of
    made-up places, or its own districts)."""
    from sim.build import england_districts  # sim.build imports this module

    known = england_districts().touching
    if not all(d in known for d in districts):
        return None
    return np.array([[b in known[a] for b in districts] for a in districts], dtype=bool).reshape(
        len(districts), len(districts)
    )


def in_pieces(districts: Sequence[str]) -> list[list[str]] | None:
    """The pieces ``districts`` make on England's map (``touching``), each sorted, in
    the order of their first district: one where they are joined through boundaries
    they share; None where any is not one of England's.  An island, touching no
    district at all (the Isle of Wight, the Isles of Scilly), is no piece of its own:
    it goes with the first."""
    from sim.build import england_districts

    names = sorted(set(districts))
    touch = touching(names)
    if touch is None:
        return None
    islands = [d for d in names if not england_districts().touching[d]]
    left, out = {i for i, d in enumerate(names) if d not in islands}, []
    while left:
        reach, edge = set(), [min(left)]
        while edge:
            i = edge.pop()
            if i not in reach:
                reach.add(i)
                edge += np.flatnonzero(touch[i]).tolist()
        out.append([names[i] for i in sorted(reach)])
        left -= reach
    return [sorted(out[0] + islands), *out[1:]] if out else [islands]


def councils_in_pieces(data: Data, org_type: str = "local_authority") -> list[tuple[str, list[list[str]]]]:
    """Each organisation of ``org_type`` (a council) whose districts are in more than one
    piece on England's map (``in_pieces``): its name, and the names of the districts of
    each piece.  None (an empty list) where the configuration has no such type, or districts that are not
    England's."""
    from sim.build import england_districts

    fp = data.get("footprints", {}).get(org_type)
    if not fp or data.get("organisation_types", {}).get(org_type, {}).get("footprint", "single") != "single":
        return []
    districts: dict[str, list[str]] = defaultdict(list)
    for zone, o in fp.items():
        districts[o].append(_district(zone))
    names = england_districts().names
    out = []
    for o, ds in districts.items():
        found = in_pieces(ds)
        if found is not None and len(found) > 1:
            name = data["organisations"].get(o, {}).get("name") or o
            out.append((name, [[names[d] for d in piece] for piece in found]))
    return out


def district_links(districts: Sequence[str], vectors: np.ndarray, linked_at: float) -> tuple[np.ndarray, list[int]]:
    """Which of ``districts`` a grouping may join directly, and those (by index) nothing
    places, free to go anywhere.  Where England's map has them all, those sharing a
    boundary; a district touching none of the others (the Isle of Wight with Hampshire)
    is joined with those it shares a hospital with (a trust admitting ``linked_at`` of
    the residents of both).  With no map, those sharing a hospital.  A district that
    nothing joins to any other says nothing of where it lies, so it is joined to every one."""
    shared = sharing(vectors, linked_at)
    touch = touching(districts)
    if touch is not None:
        island = np.asarray(~touch.any(axis=1))
        shared = touch | ((island[:, None] | island[None, :]) & shared)
    alone: np.ndarray = shared.sum(axis=1) == 0
    shared |= alone[:, None] | alone[None, :]
    np.fill_diagonal(shared, False)
    return shared, np.flatnonzero(alone).tolist()


def _links(joined: np.ndarray) -> list[int]:
    """Each district's joined ones (a row of ``joined``), as bits."""
    return [sum(1 << j for j in np.flatnonzero(row).tolist()) for row in joined]


def group_districts(
    data: Data, zones: list[str], n: int, min_share: float = 0.0, linked_at: float = 0.0, max_share: float = math.inf
) -> list[list[str]]:
    """The districts of ``zones`` in ``n`` groups (fewer if there are fewer districts),
    each sorted, keeping districts whose residents use the same hospitals together
    (cosine of the admitting trusts' shares, weighted by residents).

    With ``min_share`` 0: average-linkage clustering, in the clustering's order (as
    ``split_counties`` groups, where each group is one piece), which may leave a group
    in pieces on England's map.
    Above 0: of every way to group them in which each group has at least
    ``min_share`` of an equal share of the residents (or, if there is none, of
    those whose smallest group is largest), the one whose residents' hospitals are most
    like their group's (the sum over districts of residents times one minus the cosine
    of the district's and its group's shares), in the order of their first district;
    exact, and under half a second for 14 districts, but it grows as 3 to the power of
    the districts, so at most 16 (``MAX_FAIR_DISTRICTS``).  With ``linked_at`` above 0
    too, each group is one piece, unless no grouping giving every group its share
    allows it: its districts joined through those sharing a boundary, where England's
    map has them all, else through those sharing a hospital (a trust admitting
    ``linked_at`` of the residents of both), which keeps apart districts at opposite
    ends of a county (``district_links``).  With ``max_share``, of those, the groupings in
    which no group has more than ``max_share`` of an equal share come first (a county
    in three is not one large unitary and two small ones)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    districts, residents, vectors = district_hospitals(data, zones)
    if min(n, len(districts)) < 2:
        return [districts]
    if min_share > 0:
        if len(districts) > MAX_FAIR_DISTRICTS:
            raise TransformError(
                f"{len(districts)} districts are too many to group exactly (at most {MAX_FAIR_DISTRICTS})"
            )
        links = _links(district_links(districts, vectors, linked_at)[0]) if linked_at > 0 else None
        grouped = _fair_grouping(residents, vectors, min(n, len(districts)), min_share, links, max_share)
        return [[districts[i] for i in group] for group in grouped]
    labels = fcluster(
        linkage(vectors, method="average", metric="cosine"), t=min(n, len(districts)), criterion="maxclust"
    )
    groups: dict[int, list[str]] = {}
    for d, label in zip(districts, labels, strict=True):
        groups.setdefault(int(label), []).append(d)
    return [groups[label] for label in sorted(groups)]


def split_counties(
    data: Data,
    target_population: float = 500_000,
    type: str = "local_authority",
    share_capacity: list[str] | None = None,
) -> Data:
    """Split every council covering two or more districts into unitaries of about
    ``target_population``: round(population / target) of them, at least one.  Each
    takes on the role of any lower tier under it (district councils' housing).  The
    unitaries of each county commission the capacities ``share_capacity`` names
    together (one pool of each for the county, as before the split).

    Districts are grouped by how alike their residents' hospitals are (average-linkage
    clustering of the trusts' shares), which keeps districts served by the same
    hospitals together.  Where that leaves a unitary in pieces on England's map (it
    made Hampshire's second of three East Hampshire and Havant with Fareham and
    Gosport, Portsmouth between them), the county is grouped as ``handover county``
    guesses it: each unitary one piece, none under half an equal share of the residents
    (``group_districts`` with ``min_share``)."""
    if target_population <= 0:
        raise TransformError("target_population must be positive")
    fp = _single_footprint(data, type)
    pop = _population(data)
    known = sorted({c for o in set(fp.values()) for c in data["organisations"][o].get("capacity", {})})
    for capacity in share_capacity or []:
        if capacity not in known:  # say so even where no county is split
            raise TransformError(f"split_counties: share_capacity: {unknown_key(f'{type} capacity', capacity, known)}")
    out = data
    for council in sorted(set(fp.values())):
        zones = [z for z, o in fp.items() if o == council]
        districts = sorted({_district(z) for z in zones})
        total = sum(pop[z] for z in zones)
        n = max(1, round(total / target_population))
        if len(districts) < 2:
            continue
        if n < 2:  # the county becomes one unitary
            out = absorb_lower_tiers(out, type, set(zones))
            continue
        groups = group_districts(data, zones, n)
        if len(districts) <= MAX_FAIR_DISTRICTS and any(len(in_pieces(g) or [g]) > 1 for g in groups):
            groups = group_districts(data, zones, n, MIN_SHARE, SHARED_HOSPITAL, MAX_SHARE)
        into = {f"{council}__{k}": [z for z in zones if _district(z) in group] for k, group in enumerate(groups, 1)}
        if len(into) > 1:
            name = out["organisations"][council].get("name") or council
            names = {new: f"{name} ({k} of {len(into)})" for k, new in enumerate(sorted(into), 1)}
            out = reorganise(out, [council], into, names, share_capacity=share_capacity)
    return out


TRANSFORMS: dict[str, Callable[..., Data]] = {
    "split": split,
    "merge": merge,
    "align": align,
    "reorganise": reorganise,
    "split_counties": split_counties,
    "share": share,
}


def apply(data: Data, transform: dict[str, Any]) -> Data:
    """Apply one transform written as ``{name: {arguments}}``; its errors start with its name."""
    if not isinstance(transform, dict) or len(transform) != 1:
        raise TransformError(f"a transform is one of {sorted(TRANSFORMS)} with its arguments, e.g. {{split: {{...}}}}")
    ((name, args),) = transform.items()
    if name not in TRANSFORMS:
        raise TransformError(f"unknown transform {name!r}; known: {', '.join(sorted(TRANSFORMS))}")
    if not isinstance(args, dict):
        raise TransformError(f"the arguments of {name!r} must be a mapping")
    params = list(inspect.signature(TRANSFORMS[name]).parameters.values())[1:]  # after the data
    allowed = [p.name for p in params]
    for arg in args:
        if arg not in allowed:
            raise TransformError(f"{name}: {unknown_key('argument', str(arg), allowed)}")
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in args]
    if missing:
        raise TransformError(f"{name}: missing {', '.join(map(repr, missing))} (allowed: {', '.join(allowed)})")
    hints = get_type_hints(TRANSFORMS[name])
    for arg, value in args.items():  # each argument of the type the transform's signature gives
        try:
            TypeAdapter(hints[arg]).validate_python(value, strict=True)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in (arg, *error["loc"]))
            message = error["msg"].replace("a valid dictionary", "a mapping")
            raise TransformError(f"{name}: {where}: {message[0].lower()}{message[1:]}") from None
    try:
        return TRANSFORMS[name](data, **args)
    except TransformError as exc:
        raise TransformError(f"{name}: {exc}") from None
