"""Zones, organisations and footprints, and what follows from them without simulating:
expected flows between organisations, interfaces, partners per organisation,
footprint overlap and coterminosity, and the recurring meetings interfaces create.
"""

from __future__ import annotations

import math
import typing
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from sim.config import DAYS_PER_YEAR, JOINT, Config, DelegatedDecision, EachPartnerDecision, PanelDecision

PARTNER_MIN_SHARE = 0.01
"""An organisation counts as a partner of another when at least this share of the
other's residents (or, for a trust, its patients) falls in both footprints."""


@dataclass(frozen=True)
class MeetingSeries:
    """One recurring meeting: who sits in it, how often and for how long."""

    policy: str
    organisations: tuple[str, ...]
    attendees: tuple[tuple[str, str, int], ...]  # (organisation, role, number)
    every_days: float
    duration_hours: float
    body: str = ""  # a deciding body's sittings: the decisions' name for it, which sets its days

    @property
    def key(self) -> str:
        return f"{self.policy}:{'+'.join(self.organisations)}"

    @property
    def phase_key(self) -> str:
        """Whose days it sits on: a deciding body's sittings fall on the days it decides."""
        return self.body or self.key

    @property
    def attendee_count(self) -> int:
        return sum(n for _, _, n in self.attendees)

    @property
    def hours_per_week(self) -> float:
        return self.attendee_count * self.duration_hours * 7.0 / self.every_days


# what ``Geography.interface`` says of a pair, in its order: the columns of an interfaces
# table even where no patient crosses between organisations
INTERFACE_COLUMNS = [
    "org_a",
    "org_b",
    "type_a",
    "type_b",
    "expected_flow_per_week",
    "footprint_overlap",
    "misalignment",
    "failure_probability",
]


@dataclass
class Geography:
    """A configuration's footprints resolved for fast look-up."""

    config: Config
    population: dict[str, int] = field(init=False)
    single: dict[str, dict[str, str]] = field(init=False)
    admitting_shares: dict[str, list[tuple[str, float]]] = field(init=False)

    def __post_init__(self) -> None:
        cfg = self.config
        self.population = {z.id: z.population for z in cfg.zones}
        self.single = {}
        self.admitting_shares = {}
        for t, spec in cfg.organisation_types.items():
            fp = cfg.footprints[t]
            if spec.footprint == "single":
                self.single[t] = {z: str(o) for z, o in fp.items()}
            else:
                self.admitting_shares = {
                    z: [(str(o), float(s)) for o, s in shares.items() if s > 0] for z, shares in fp.items()
                }

    # -- who serves a resident ------------------------------------------------

    def resolve(self, org_type: str, zone: str, trust: str) -> str:
        if org_type == self.config.admitting_type:
            return trust
        return self.single[org_type][zone]

    def daily_rate(self, zone: str) -> float:
        """Expected discharges a day from a zone at the base demand rate."""
        return self.config.demand.per_1000_per_year * self.population[zone] / 1000.0 / DAYS_PER_YEAR

    # -- footprints as population weights -------------------------------------

    @cached_property
    def weights(self) -> dict[str, dict[str, float]]:
        """For each organisation, the residents (trusts: patients) it serves in each zone."""
        # An organisation filling several roles in a zone serves its residents once.
        w: dict[str, dict[str, float]] = defaultdict(dict)
        for fp in self.single.values():
            for zone, org in fp.items():
                w[org][zone] = max(w[org].get(zone, 0.0), float(self.population[zone]))
        for zone, shares in self.admitting_shares.items():
            for org, s in shares:
                w[org][zone] = max(w[org].get(zone, 0.0), self.population[zone] * s)
        for org in self.config.organisations:
            w.setdefault(org, {})
        return dict(w)

    def overlap(self, a: str, b: str) -> float:
        """Population-weighted Jaccard overlap of two footprints: 1 coterminous, 0 disjoint."""
        wa, wb = self.weights[a], self.weights[b]
        zones = set(wa) | set(wb)  # summed with fsum: the same in every process, whatever the set's order
        num = math.fsum(min(wa.get(z, 0.0), wb.get(z, 0.0)) for z in zones)
        den = math.fsum(max(wa.get(z, 0.0), wb.get(z, 0.0)) for z in zones)
        return num / den if den > 0 else 0.0

    def containment(self, a: str, b: str) -> float:
        """Share of ``a``'s residents (trusts: patients) who are also ``b``'s."""
        wa, wb = self.weights[a], self.weights[b]
        total = sum(wa.values())
        return sum(min(v, wb.get(z, 0.0)) for z, v in wa.items()) / total if total > 0 else 0.0

    def misalignment(self, a: str, b: str) -> float:
        """0 when one footprint lies within the other (or they coincide), up to 1 when
        they cut across each other: a council wholly inside its ICB is aligned with it;
        a trust whose catchment takes in parts of two councils is not."""
        return 1.0 - max(self.containment(a, b), self.containment(b, a))

    def partners(self, org: str, other_type: str, min_share: float = PARTNER_MIN_SHARE) -> list[str]:
        """Organisations of ``other_type`` serving at least ``min_share`` of ``org``'s residents."""
        return [o for o in self.serving(other_type, self.weights[org], min_share) if o != org]

    def serving(self, org_type: str, residents: typing.Mapping[str, float], min_share: float) -> list[str]:
        """Organisations of ``org_type`` serving at least ``min_share`` of ``residents``
        (people by zone)."""
        total = sum(residents.values())
        if total <= 0:
            return []
        served: dict[str, float] = defaultdict(float)
        if org_type in self.single:
            for zone, value in residents.items():
                served[self.single[org_type][zone]] += value
        else:
            for zone, value in residents.items():
                for o, s in self.admitting_shares.get(zone, []):
                    served[o] += value * s
        return sorted(o for o, v in served.items() if v / total >= min_share)

    def shares_by_area(self, area_of: typing.Mapping[str, str]) -> dict[str, dict[str, float]]:
        """For each organisation, the share of the residents it serves (a trust: of its
        patients) living in each area, given each zone's area.  An organisation serving
        no residents has no shares."""
        shares: dict[str, dict[str, float]] = {}
        for org, w in self.weights.items():
            total = math.fsum(w.values())
            per: dict[str, float] = defaultdict(float)
            if total > 0:
                for zone, value in w.items():
                    per[area_of[zone]] += value / total
            shares[org] = dict(per)
        return shares

    # -- expected flows ---------------------------------------------------------

    @cached_property
    def expected_flows(self) -> dict[tuple[str, str], float]:
        """Expected inter-organisational handovers a week, by (sender, receiver)."""
        cfg = self.config
        flows: dict[tuple[str, str], float] = defaultdict(float)
        for zone, shares in self.admitting_shares.items():
            weekly = self.daily_rate(zone) * 7.0
            if weekly <= 0:
                continue
            for trust, s in shares:
                for pathway in cfg.pathways.values():
                    volume = weekly * s * pathway.share
                    if volume <= 0:
                        continue
                    # who is responsible, with what chance: a step only some patients
                    # need is skipped by the rest, who go from before it to after it
                    current = {trust: 1.0}
                    for step in pathway.steps:
                        org = self.resolve(step.by, zone, trust)
                        after: dict[str, float] = defaultdict(float)
                        for sender, chance in current.items():
                            if step.share < 1.0:
                                after[sender] += chance * (1.0 - step.share)
                            moved = chance * step.share
                            if org != sender:
                                flows[(sender, org)] += volume * moved
                            after[org] += moved
                        current = after
        return dict(flows)

    def pair_flow(self, a: str, b: str) -> float:
        """Expected handovers a week between two organisations, both directions."""
        f = self.expected_flows
        return f.get((a, b), 0.0) + f.get((b, a), 0.0)

    def trusted_assessor_covers(self, trust: str, org: str) -> bool:
        """Whether a trusted assessor covers the patients of ``trust`` whose place ``org``
        (their council) arranges, so that its provider (a care home) takes them without
        assessing them itself: ``trusted_assessors`` in the configuration."""
        ta = self.config.trusted_assessors
        if ta.cover == "regular":
            return self.pair_flow(trust, org) >= ta.min_flow_per_week
        return ta.cover == "everywhere"

    def failure_probability(self, sender: str, receiver: str) -> float:
        """Chance that a referral across this interface fails and must be reworked."""
        p = self.config.handovers.failure
        if sender == receiver:
            return p.intra
        unfamiliar = p.unfamiliar * math.exp(-self.pair_flow(sender, receiver) / p.familiar_flow_per_week)
        misaligned = p.misaligned * self.misalignment(sender, receiver)
        return min(p.maximum, p.base + unfamiliar + misaligned)

    def interface(self, a: str, b: str) -> dict[str, object]:
        """What the configuration says of the interface between two organisations."""
        orgs = self.config.organisations
        return {
            "org_a": a,
            "org_b": b,
            "type_a": orgs[a].type,
            "type_b": orgs[b].type,
            "expected_flow_per_week": self.pair_flow(a, b),
            "footprint_overlap": self.overlap(a, b),
            "misalignment": self.misalignment(a, b),
            "failure_probability": self.failure_probability(a, b),
        }

    # -- meetings ---------------------------------------------------------------

    @cached_property
    def meeting_series(self) -> list[MeetingSeries]:
        cfg = self.config
        out: list[MeetingSeries] = []
        for policy in cfg.meetings:
            if policy.between is not None:
                ta, tb = policy.between
                for a in cfg.orgs_of_type(ta):
                    for b in cfg.orgs_of_type(tb):
                        flow = self.pair_flow(a, b)
                        if a == b or flow <= 0 or flow < policy.min_flow_per_week:
                            continue
                        attendees = _seats([(a, ta), (b, tb)], policy.attendees)
                        out.append(
                            MeetingSeries(policy.name, (a, b), attendees, policy.every_days, policy.duration_hours)
                        )
            elif policy.each == JOINT:
                for orgs in self.joint_services():
                    seats = _seats([(o, cfg.organisations[o].type) for o in orgs], policy.attendees)
                    if seats:  # a board for the types it names (councils' beds, not a trust's)
                        out.append(MeetingSeries(policy.name, orgs, seats, policy.every_days, policy.duration_hours))
            else:
                assert policy.each is not None
                for host in cfg.orgs_of_type(policy.each):
                    members = self.members(host, policy.each, policy.with_types)
                    out.append(
                        MeetingSeries(
                            policy.name,
                            tuple(o for o, _ in members),
                            _seats(members, policy.attendees),
                            policy.every_days,
                            policy.duration_hours,
                        )
                    )
        return out + self.decision_sittings()

    def joint_services(self) -> list[tuple[str, ...]]:
        """Each set of organisations that commission capacity together, once: councils
        sharing their beds and their reablement run one joint service, with one board."""
        seen: dict[frozenset[str], tuple[str, ...]] = {}
        for group in self.config.shared_capacity:
            seen.setdefault(frozenset(group.organisations), tuple(group.organisations))
        return list(seen.values())

    def members(self, host: str, host_type: str, with_types: typing.Iterable[str]) -> list[tuple[str, str]]:
        """A body hosted by one organisation: the host, and the organisations of the other
        types overlapping it, each with its type."""
        members = [(host, host_type)]
        for t in with_types:
            members += [(o, t) for o in self.partners(host, t)]
        return members

    def decision_sittings(self) -> list[MeetingSeries]:
        """The sittings of the bodies that take funding decisions, for arrangements that
        say who sits in them: a place's panel (its own staff and those of the other
        types' organisations overlapping it), an escalation panel, or each partner's own
        sign-off panel.  They sit on the days :meth:`sim.model.Model.decide` uses."""
        cfg, gov = self.config, self.config.governance
        if gov is None:
            return []
        out: list[MeetingSeries] = []
        signing: dict[str, dict[str, str]] = defaultdict(dict)  # arrangement -> partner -> its type
        for place in cfg.orgs_of_type(gov.decided_by):
            name = cfg.arrangement_of(place)
            arr = gov.arrangements[name] if name is not None else None
            if isinstance(arr, EachPartnerDecision) and arr.sitting is not None:
                for zone, governing in self.single[gov.decided_by].items():
                    if governing == place:
                        for t in arr.partners:
                            for org in self.resolvable(t, zone):
                                signing[str(name)][org] = t
            elif isinstance(arr, PanelDecision | DelegatedDecision) and arr.sitting is not None:
                others = [t for t in arr.sitting.attendees if t != gov.decided_by]
                members = self.members(place, gov.decided_by, others)
                attendees = _seats(members, arr.sitting.attendees)
                body, every = deciding_body(arr, place)
                orgs = tuple(o for o, _ in members)
                out.append(MeetingSeries(str(name), orgs, attendees, every, arr.sitting.duration_hours, body))
        for name, partners in signing.items():
            each = gov.arrangements[name]
            assert isinstance(each, EachPartnerDecision) and each.sitting is not None
            hours = each.sitting.duration_hours
            for org, t in sorted(partners.items()):
                attendees = _seats([(org, t)], each.sitting.attendees)
                if attendees:
                    body, every = deciding_body(each, org)
                    out.append(MeetingSeries(name, (org,), attendees, every, hours, body))
        return out

    def resolvable(self, org_type: str, zone: str) -> list[str]:
        """The organisations of a type that a resident of the zone can be resolved to."""
        if org_type in self.single:
            return [self.single[org_type][zone]]
        return [trust for trust, _ in self.admitting_shares.get(zone, [])]

    # -- governance ---------------------------------------------------------------

    def governing_org(self, zone: str) -> str | None:
        gov = self.config.governance
        if gov is None:
            return None
        return self.single[gov.decided_by][zone]

    def decision_partners(self, arrangement: EachPartnerDecision, zone: str, trust: str) -> list[str]:
        return [self.resolve(t, zone, trust) for t in arrangement.partners]


def deciding_body(arrangement: PanelDecision | EachPartnerDecision | DelegatedDecision, org: str) -> tuple[str, float]:
    """The body that decides under an arrangement, by the organisation it sits for (a
    place; a partner signing off), and how often it sits: the one name by which its
    decisions and its sittings find the same days."""
    if isinstance(arrangement, PanelDecision):
        return f"panel:{org}", arrangement.every_days
    if isinstance(arrangement, EachPartnerDecision):
        return f"sign-off:{org}", arrangement.every_days
    return f"escalation:{org}", arrangement.escalation_every_days


def _seats(members: list[tuple[str, str]], by_type: dict[str, dict[str, int]]) -> tuple[tuple[str, str, int], ...]:
    """Who sits, as (organisation, role, number), from members with their types and
    the roles each type sends."""
    return tuple((org, role, n) for org, t in members for role, n in by_type.get(t, {}).items())


# ---------------------------------------------------------------------------
# Structure: what a configuration implies, computed without simulating


def structure_tables(geo: Geography) -> dict[str, pd.DataFrame]:
    """Organisations by type, partners per organisation, interfaces and coterminosity."""
    cfg = geo.config
    types = list(cfg.organisation_types)
    organisations = pd.DataFrame(
        [
            {"type": t, "organisations": len(cfg.orgs_of_type(t)), "label": cfg.organisation_types[t].label}
            for t in types
        ]
    )
    partner_rows = []
    for a in types:
        for b in types:
            if a == b:
                continue
            counts = [len(geo.partners(o, b)) for o in cfg.orgs_of_type(a)]
            if not counts:
                continue
            partner_rows.append(
                {
                    "per": a,
                    "partner_type": b,
                    "mean": sum(counts) / len(counts),
                    "min": min(counts),
                    "max": max(counts),
                    "organisations": len(counts),
                }
            )
    partners = pd.DataFrame(partner_rows)
    pairs = sorted({tuple(sorted(k)) for k, v in geo.expected_flows.items() if v > 0})
    interfaces = pd.DataFrame(
        [geo.interface(a, b) for a, b in pairs],
        columns=INTERFACE_COLUMNS,
    )
    total_pop = sum(geo.population.values())
    zone_sets: dict[str, dict[str, set[str]]] = {t: defaultdict(set) for t in geo.single}
    for t, fp in geo.single.items():
        for zone, org in fp.items():
            zone_sets[t][org].add(zone)
    cot_rows = []
    single_types = list(geo.single)
    for i, a in enumerate(single_types):
        for b in single_types[i + 1 :]:
            same = 0.0
            overlap = 0.0
            for zone, pop in geo.population.items():
                x, y = geo.single[a][zone], geo.single[b][zone]
                if zone_sets[a][x] == zone_sets[b][y]:
                    same += pop
                ax = sum(geo.population[z] for z in zone_sets[a][x])
                by = sum(geo.population[z] for z in zone_sets[b][y])
                both = sum(geo.population[z] for z in zone_sets[a][x] & zone_sets[b][y])
                overlap += pop * both / (ax + by - both) if ax + by - both > 0 else 0.0
            cot_rows.append(
                {
                    "layer_a": a,
                    "layer_b": b,
                    "coterminous_share": same / total_pop if total_pop else math.nan,
                    "mean_overlap": overlap / total_pop if total_pop else math.nan,
                }
            )
    coterminosity = pd.DataFrame(cot_rows, columns=["layer_a", "layer_b", "coterminous_share", "mean_overlap"])
    meetings = pd.DataFrame(
        [
            {
                "meeting": s.key,
                "policy": s.policy,
                "attendees": s.attendee_count,
                "every_days": s.every_days,
                "attendee_hours_per_week": s.hours_per_week,
            }
            for s in geo.meeting_series
        ],
        columns=["meeting", "policy", "attendees", "every_days", "attendee_hours_per_week"],
    )
    return {
        "organisations": organisations,
        "partners": partners,
        "interfaces": interfaces,
        "coterminosity": coterminosity,
        "meetings": meetings,
    }
