"""The configuration schema: zones, organisations, footprints, pathways, handovers,
meetings and governance, loaded from YAML and checked before anything runs.

Every problem is reported as ``FILE:LINE: key.path: message``.  A configuration is
frozen once loaded; experiments derive new ones from plain dictionaries
(:func:`config_from_dict`).
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from sim.distributions import Distribution, as_distribution
from sim.errors import ConfigError, Problem, did_you_mean, no_space_after_colon, unknown_key
from sim.yamlio import Lines, line_of, load_yaml

Dist = Annotated[Distribution, BeforeValidator(as_distribution)]
Count = Annotated[int, Field(ge=0)] | Literal["unlimited"]
SHARE_TOLERANCE = 1e-6
DAYS_PER_YEAR = 365.0  # demand rates are a year's


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Run(Strict):
    length_days: float = Field(gt=0, description="simulated time, warm-up included")
    warmup_days: float = Field(default=0, ge=0, description="time before measurement starts")

    @model_validator(mode="after")
    def _warmup_shorter(self) -> Run:
        if self.warmup_days >= self.length_days:
            raise ValueError("warmup_days must be shorter than length_days")
        return self


class DemandChange(Strict):
    from_day: float = Field(ge=0)
    multiplier: float = Field(ge=0)


class Demand(Strict):
    per_1000_per_year: float = Field(ge=0, description="discharges modelled, per 1,000 residents a year")
    profile: list[DemandChange] = Field(default_factory=list, description="multipliers of the rate from a given day on")

    @model_validator(mode="after")
    def _sorted(self) -> Demand:
        days = [c.from_day for c in self.profile]
        if days != sorted(days):
            raise ValueError("profile must be in order of from_day")
        return self

    def multiplier_at(self, day: float) -> float:
        m = 1.0
        for change in self.profile:
            if change.from_day <= day:
                m = change.multiplier
        return m

    @property
    def max_multiplier(self) -> float:
        return max([1.0, *(c.multiplier for c in self.profile)])

    def mean_multiplier(self, length_days: float) -> float:
        """The profile's multiplier averaged over a run of ``length_days`` from day 0."""
        total, since, m = 0.0, 0.0, 1.0
        for change in self.profile:
            if change.from_day >= length_days:
                break
            total += m * (change.from_day - since)
            since, m = change.from_day, change.multiplier
        return (total + m * (length_days - since)) / length_days


class Zone(Strict):
    id: str
    name: str
    population: int = Field(ge=0)


class OrganisationType(Strict):
    label: str = ""
    footprint: Literal["single", "shares"] = Field(
        default="single",
        description="single: each zone has one organisation; shares: zones spread over several",
    )
    admits: bool = Field(default=False, description="patients are admitted to this type (acute trusts)")
    liaison_role: str | None = Field(default=None, description="the staff role that sends referrals and does rework")
    lower_tier_of: str | None = Field(
        default=None,
        description="the type these sit under in two-tier areas (district councils under a county): "
        "reorganising one of that type into unitaries makes them take on this role",
    )


class Staff(Strict):
    count: Count
    hours_per_week: float = Field(default=37.5, gt=0, le=168)

    @property
    def hours_per_day(self) -> float:
        return self.hours_per_week / 7.0


class Organisation(Strict):
    type: str
    name: str = ""
    staff: dict[str, Staff] = Field(default_factory=dict)
    capacity: dict[str, Count] = Field(default_factory=dict)
    governance: str | None = Field(default=None, description="the arrangement deciding funding here")
    also: list[str] = Field(
        default_factory=list,
        description="other types whose role this organisation fills, e.g. a trust running community services",
    )


MAX_OPTIONAL_INDEX = 31


class Step(Strict):
    name: str
    by: str = Field(description="the organisation type responsible for this step")
    staff: str | None = None
    effort_hours: Dist | None = None
    decision: bool = Field(
        default=False,
        description="a funding decision under governance, taken on the step's work (after it) when that is done in "
        "hospital before the discharging step; at or after that step, before its bed and its work",
    )
    capacity: str | None = None
    hold_days: Dist | None = Field(default=None, description="how long the service (and its slot) lasts")
    discharge: bool = Field(default=False, description="the patient leaves hospital when this step starts")
    first_contact_days: Dist | None = Field(
        default=None, description="after discharge: time to the service's first visit"
    )
    share: float = Field(
        default=1.0, gt=0, le=1, description="the share of the pathway's patients who need this step (the rest skip it)"
    )
    provider_assessment_days: Dist | None = Field(
        default=None,
        description="at the discharging step, once a place is found: the provider's own assessment before it "
        "takes the patient (a care home's visit), the place held meanwhile; not needed where a trusted "
        "assessor covers the patient (trusted_assessors)",
    )

    @model_validator(mode="after")
    def _staff_and_effort(self) -> Step:
        if (self.staff is None) != (self.effort_hours is None):
            raise ValueError("staff and effort_hours go together: give both or neither")
        return self

    @property
    def optional(self) -> bool:
        return self.share < 1.0


class Pathway(Strict):
    name: str = ""
    share: float = Field(ge=0, le=1)
    steps: list[Step] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_discharge(self) -> Pathway:
        if sum(s.discharge for s in self.steps) > 1:
            raise ValueError("at most one step may have discharge: true")
        if any(s.discharge and s.optional for s in self.steps):
            raise ValueError("the discharge step is every patient's: it cannot have a share under 1")
        for s in self.steps:
            if s.provider_assessment_days is not None and not (s.discharge and s.capacity):
                raise ValueError(
                    f"step {s.name!r}: provider_assessment_days goes with the step that discharges the patient "
                    "(discharge: true) and a capacity, the place the provider holds while it assesses"
                )
        if any(s.optional for s in self.steps[MAX_OPTIONAL_INDEX:]):  # each patient's needs are bits of an int32
            raise ValueError(f"a step only some patients need must be among the first {MAX_OPTIONAL_INDEX} steps")
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError("step names must be unique within a pathway")
        return self

    @property
    def discharge_index(self) -> int:
        """Index of the step at whose start the patient leaves hospital (len(steps): after all)."""
        for i, step in enumerate(self.steps):
            if step.discharge:
                return i
        return len(self.steps)


class Patients(Strict):
    length_of_stay_days: Dist


class Failure(Strict):
    base: float = Field(default=0.05, ge=0, le=1, description="chance an inter-organisational referral fails")
    intra: float = Field(default=0.02, ge=0, le=1, description="chance a team-to-team referral fails")
    unfamiliar: float = Field(default=0.15, ge=0, le=1, description="extra chance at an interface with no flow")
    familiar_flow_per_week: float = Field(
        default=5.0, gt=0, description="weekly flow at which the unfamiliarity extra falls to 1/e"
    )
    misaligned: float = Field(
        default=0.10,
        ge=0,
        le=1,
        description="extra chance between footprints that cut across each other (misalignment 1)",
    )
    maximum: float = Field(default=0.9, gt=0, lt=1)


class Rework(Strict):
    effort_hours: Dist
    delay_days: Dist


class Handovers(Strict):
    delay_days: Dist = Field(description="inter-organisational: referral sent to accepted")
    intra_delay_days: Dist = Field(description="team to team within one organisation")
    referral_effort_hours: Dist = Field(description="sender's staff time to make a referral")
    failure: Failure = Field(default_factory=Failure)
    rework: Rework
    gap_event_threshold_days: float = Field(default=1.0, ge=0)


JOINT = "shared_capacity"  # Meeting.each: one meeting per set of organisations sharing capacity


class Meeting(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    name: str
    between: tuple[str, str] | None = Field(
        default=None, description="one meeting per pair of organisations of these types with regular flow"
    )
    each: str | None = Field(
        default=None,
        description="one meeting per organisation of this type; or shared_capacity: one per set of "
        "organisations that commission capacity together (their joint commissioning board)",
    )
    with_types: list[str] = Field(
        default_factory=list, alias="with", description="types whose overlapping organisations attend"
    )
    min_flow_per_week: float = Field(default=0.0, ge=0)
    every_days: float = Field(gt=0)
    duration_hours: float = Field(gt=0)
    attendees: dict[str, dict[str, Annotated[int, Field(ge=1)]]]

    @model_validator(mode="after")
    def _one_form(self) -> Meeting:
        if (self.between is None) == (self.each is None):
            raise ValueError("give exactly one of between (a pair of types) or each (one type)")
        if self.between is not None and self.with_types:
            raise ValueError("'with' goes with each, not between")
        if self.each == JOINT and self.with_types:
            raise ValueError(
                "'with' does not go with each: shared_capacity (its members are the organisations sharing)"
            )
        return self


class TrustedAssessors(Strict):
    """Who the providers' own assessments (a step's ``provider_assessment_days``) are
    waived for: care homes accept the assessment of a trusted assessor working for the
    hospital and the council instead of sending their own."""

    cover: Literal["everywhere", "regular", "nowhere"] = Field(
        default="everywhere",
        description="everywhere: every patient; regular: patients of a hospital and council with a regular "
        "flow between them (min_flow_per_week); nowhere: no patient",
    )
    min_flow_per_week: float = Field(
        default=2.0, ge=0, description="regular: expected handovers a week between the hospital and the council"
    )


class SharedCapacity(Strict):
    """Capacity that organisations commission together: their capacity of this name is
    one pool, of the sum of their sizes, which each of them places its patients in (new
    unitaries keeping the county's discharge-to-assess beds as one service, say).  Each
    organisation still does the step with its own staff."""

    capacity: str = Field(description="the capacity's name, as the organisations and the steps give it")
    organisations: list[str] = Field(min_length=2, description="the organisations whose capacity is one pool")


class Sitting(Strict):
    """Who sits when a deciding body sits, and for how long: a sitting is a meeting,
    taking its attendees from casework like any other."""

    duration_hours: float = Field(gt=0)
    attendees: dict[str, dict[str, Annotated[int, Field(ge=1)]]] = Field(
        min_length=1, description="by organisation type, then role: how many of each organisation's staff sit"
    )


class PanelDecision(Strict):
    kind: Literal["panel"]
    every_days: float = Field(gt=0)
    lead_time_days: float = Field(default=0, ge=0, description="papers must be in this long before a sitting")
    sitting: Sitting | None = Field(
        default=None,
        description="the place's panel: its own staff and those of the other types' organisations overlapping it",
    )


class EachPartnerDecision(Strict):
    kind: Literal["each_partner"]
    partners: list[str] = Field(min_length=1, description="types whose own panels must each sign off")
    every_days: float = Field(gt=0)
    lead_time_days: float = Field(default=0, ge=0)
    sitting: Sitting | None = Field(
        default=None, description="each partner's own sign-off panel, sat by that organisation's staff"
    )


class Decider(Strict):
    """Who takes a decision alone, outside any sitting, and the time each one costs: it
    is casework of that role at the patient's organisation of that type, waiting for
    them when they are busy, and the decision is made when it is done."""

    type: str = Field(description="the organisation type whose staff decide (e.g. place)")
    role: str
    effort_hours: float = Field(gt=0, description="staff hours for each decision")


class DelegatedDecision(Strict):
    kind: Literal["delegated"]
    within_limit_days: Dist = Field(description="within the limit: until the decider takes the case up")
    share_above_limit: float = Field(ge=0, le=1)
    escalation_every_days: float = Field(gt=0)
    lead_time_days: float = Field(default=0, ge=0)
    sitting: Sitting | None = Field(default=None, description="the panel that decides what is above the limit")
    decider: Decider | None = Field(default=None, description="who decides within the limit (default: not counted)")


class ImmediateDecision(Strict):
    kind: Literal["immediate"]
    days: Dist = Field(description="until the decider takes the case up")
    decider: Decider | None = Field(default=None, description="who decides (default: not counted)")


Arrangement = Annotated[
    PanelDecision | EachPartnerDecision | DelegatedDecision | ImmediateDecision,
    Field(discriminator="kind"),
]


class Governance(Strict):
    decided_by: str = Field(description="the organisation type whose arrangement decides (places)")
    default: str | None = None
    arrangements: dict[str, Arrangement]


class Config(Strict):
    name: str
    description: str = ""
    run: Run
    demand: Demand
    zones: list[Zone] = Field(min_length=1)
    organisation_types: dict[str, OrganisationType]
    organisations: dict[str, Organisation]
    footprints: dict[str, dict[str, Any]]
    patients: Patients
    pathways: dict[str, Pathway] = Field(min_length=1)
    handovers: Handovers
    meetings: list[Meeting] = Field(default_factory=list)
    governance: Governance | None = None
    trusted_assessors: TrustedAssessors = Field(default_factory=TrustedAssessors)
    shared_capacity: list[SharedCapacity] = Field(
        default_factory=list, description="capacity that organisations commission together, as one pool"
    )
    fte_hours_per_week: float = Field(default=37.5, gt=0)

    _source: str = PrivateAttr(default="<memory>")

    @property
    def source(self) -> str:
        return self._source

    def __repr__(self) -> str:
        return (
            f"Config(name={self.name!r}, source={self._source!r}, zones={len(self.zones)}, "
            f"organisations={len(self.organisations)}, pathways={list(self.pathways)})"
        )

    def zone_ids(self) -> list[str]:
        return [z.id for z in self.zones]

    @property
    def expected_patients(self) -> float:
        """The complex discharges a run models on average, warm-up included: the residents
        at the demand's rate (and its profile) for the run's length."""
        residents = sum(z.population for z in self.zones)
        length = self.run.length_days
        rate = self.demand.per_1000_per_year / 1000.0 / DAYS_PER_YEAR
        return residents * rate * self.demand.mean_multiplier(length) * length

    def orgs_of_type(self, org_type: str) -> list[str]:
        """Organisations of a type, and those filling that type's role (``also``)."""
        return [oid for oid, org in self.organisations.items() if org.type == org_type or org_type in org.also]

    @property
    def admitting_type(self) -> str:
        return next(t for t, spec in self.organisation_types.items() if spec.admits)

    def arrangement_of(self, org_id: str) -> str | None:
        org = self.organisations[org_id]
        if self.governance is None:
            return None
        return org.governance or self.governance.default


# ---------------------------------------------------------------------------
# Reference checks: what the schema alone cannot see


def _check_references(cfg: Config) -> list[tuple[tuple[str | int, ...], str]]:
    problems: list[tuple[tuple[str | int, ...], str]] = []

    def bad(path: tuple[str | int, ...], message: str) -> None:
        problems.append((path, message))

    zone_ids = cfg.zone_ids()
    seen: set[str] = set()
    for i, z in enumerate(cfg.zones):
        if z.id in seen:
            bad(("zones", i, "id"), f"zone id {z.id!r} is used twice")
        seen.add(z.id)

    admitting = [t for t, spec in cfg.organisation_types.items() if spec.admits]
    if len(admitting) != 1:
        bad(("organisation_types",), f"exactly one type must have admits: true, found {len(admitting)}")
    if JOINT in cfg.organisation_types:
        bad(("organisation_types", JOINT), f"{JOINT!r} names a meeting's members (each: {JOINT}), not a type")
    for t, spec in cfg.organisation_types.items():
        if spec.footprint == "shares" and not spec.admits:
            bad(("organisation_types", t, "footprint"), "only the admitting type may have shares footprints")

    for oid, org in cfg.organisations.items():
        if org.type not in cfg.organisation_types:
            bad(("organisations", oid, "type"), _unknown("organisation type", org.type, cfg.organisation_types))
        for j, t in enumerate(org.also):
            if t not in cfg.organisation_types:
                bad(("organisations", oid, "also", j), _unknown("organisation type", t, cfg.organisation_types))

    for t, spec in cfg.organisation_types.items():
        path = ("footprints", t)
        if t not in cfg.footprints:
            theirs = [o for o, org in cfg.organisations.items() if org.type == t]
            example = theirs[0] if len(theirs) == 1 else "ORGANISATION"
            if spec.footprint == "shares":
                what, example = "organisations and their shares", f"{{{example}: 1.0}}"
            else:
                what = "organisation"
            given = ", ".join(f"{z.id}: {example}" for z in cfg.zones[:2]) + (", ..." if len(cfg.zones) > 2 else "")
            bad(
                ("footprints",),
                f"no footprint for organisation type {t!r}: add '{t}:' under footprints, with each zone's "
                f"{what} of that type ({given})",
            )
            continue
        fp = cfg.footprints[t]
        if not isinstance(fp, dict):
            bad(path, "expected a mapping of zone -> organisation")
            continue
        members = set(cfg.orgs_of_type(t))
        for zone, value in fp.items():
            zpath = (*path, zone)
            if zone not in seen:
                bad(zpath, _unknown("zone", zone, zone_ids))
                continue
            if spec.footprint == "single":
                if not isinstance(value, str):
                    bad(zpath, f"expected one organisation of type {t!r} for this zone")
                elif value not in members:
                    bad(zpath, _unknown(f"organisation of type {t!r}", value, members))
            else:
                if not isinstance(value, dict) or not value:
                    bad(zpath, "expected shares across organisations, e.g. {trust_a: 0.7, trust_b: 0.3}")
                    continue
                for oid, share in value.items():
                    if oid not in members:
                        bad((*zpath, oid), _unknown(f"organisation of type {t!r}", oid, members))
                    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share < math.inf:
                        bad((*zpath, oid), "a share must be a number of at least 0")
                total = sum(s for s in value.values() if isinstance(s, (int, float)) and 0 <= s < math.inf)
                if abs(total - 1.0) > SHARE_TOLERANCE:
                    bad(zpath, f"shares must sum to 1, they sum to {total:.6g}")
        missing = [z for z in zone_ids if z not in fp]
        if missing:
            bad(path, f"zones not covered: {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))
    for t in cfg.footprints:
        if t not in cfg.organisation_types:
            bad(("footprints", t), _unknown("organisation type", t, cfg.organisation_types))
    for t, spec in cfg.organisation_types.items():
        upper = spec.lower_tier_of
        if upper is None:
            continue
        tpath = ("organisation_types", t, "lower_tier_of")
        if upper not in cfg.organisation_types:
            bad(tpath, _unknown("organisation type", upper, cfg.organisation_types))
        elif upper == t:
            bad(tpath, "a type cannot be the lower tier of itself")
        elif "shares" in (spec.footprint, cfg.organisation_types[upper].footprint):
            bad(tpath, "both tiers need one organisation per zone (footprint: single)")

    total_share = sum(p.share for p in cfg.pathways.values())
    if abs(total_share - 1.0) > SHARE_TOLERANCE:
        bad(("pathways",), f"pathway shares must sum to 1, they sum to {total_share:.6g}")
    decision_used = False
    for pid, pathway in cfg.pathways.items():
        for i, step in enumerate(pathway.steps):
            spath: tuple[str | int, ...] = ("pathways", pid, "steps", i)
            if step.by not in cfg.organisation_types:
                bad((*spath, "by"), _unknown("organisation type", step.by, cfg.organisation_types))
                continue
            decision_used |= step.decision
            liaison = cfg.organisation_types[step.by].liaison_role
            if liaison is None:
                bad((*spath, "by"), f"type {step.by!r} has no liaison_role, so it cannot take referrals")
            for oid in cfg.orgs_of_type(step.by):
                org = cfg.organisations[oid]
                if liaison and liaison not in org.staff:
                    bad(("organisations", oid, "staff"), f"needs the liaison role {liaison!r} of its type")
                if step.staff and step.staff not in org.staff:
                    bad((*spath, "staff"), _no_role(oid, step.staff, org.staff))
                if step.capacity and step.capacity not in org.capacity:
                    bad((*spath, "capacity"), _no_role(oid, step.capacity, org.capacity, "capacity"))
            if step.first_contact_days is not None and i < pathway.discharge_index:
                bad((*spath, "first_contact_days"), "only steps from the discharge step on have a first contact")
    admit = admitting[0] if len(admitting) == 1 else None
    if admit:
        liaison = cfg.organisation_types[admit].liaison_role
        for oid in cfg.orgs_of_type(admit):
            if liaison is None:
                bad(("organisation_types", admit, "liaison_role"), "the admitting type needs a liaison_role")
                break
            if liaison not in cfg.organisations[oid].staff:
                bad(("organisations", oid, "staff"), f"needs the liaison role {liaison!r} of its type")

    meeting_names: set[str] = set()
    for i, meeting in enumerate(cfg.meetings):
        mpath: tuple[str | int, ...] = ("meetings", i)
        if meeting.name in meeting_names:
            bad((*mpath, "name"), f"meeting name {meeting.name!r} is used twice")
        elif cfg.governance is not None and meeting.name in cfg.governance.arrangements:
            bad((*mpath, "name"), f"{meeting.name!r} is also a governance arrangement, whose sittings are meetings")
        meeting_names.add(meeting.name)
        if meeting.each == JOINT:  # its members are whichever organisations share capacity
            sharing_orgs = sorted({o for g in cfg.shared_capacity for o in g.organisations if o in cfg.organisations})
            for t, roles in meeting.attendees.items():
                if t not in cfg.organisation_types:
                    bad((*mpath, "attendees", t), _unknown("organisation type", t, cfg.organisation_types))
                    continue
                orgs = [o for o in sharing_orgs if cfg.organisations[o].type == t]
                _check_attendees(cfg, (*mpath, "attendees", t), t, roles, bad, orgs)
            continue
        named = list(meeting.between or ()) + ([meeting.each] if meeting.each else []) + meeting.with_types
        for t in named:
            if t not in cfg.organisation_types:
                bad(mpath, _unknown("organisation type", t, cfg.organisation_types))
        for t, roles in meeting.attendees.items():
            if t not in named:
                bad((*mpath, "attendees", t), f"type {t!r} is not one of the meeting's types {named}")
                continue
            _check_attendees(cfg, (*mpath, "attendees", t), t, roles, bad)

    gov = cfg.governance
    if decision_used and gov is None:
        bad(("governance",), "a pathway step has decision: true, so a governance section is needed")
    if gov is not None:
        if gov.decided_by not in cfg.organisation_types:
            bad(("governance", "decided_by"), _unknown("organisation type", gov.decided_by, cfg.organisation_types))
        if gov.default is not None and gov.default not in gov.arrangements:
            bad(("governance", "default"), _unknown("arrangement", gov.default, gov.arrangements))
        for name, arr in gov.arrangements.items():
            if isinstance(arr, EachPartnerDecision):
                for t in arr.partners:
                    if t not in cfg.organisation_types:
                        bad(
                            ("governance", "arrangements", name, "partners"),
                            _unknown("organisation type", t, cfg.organisation_types),
                        )
            decider = getattr(arr, "decider", None)
            if decider is not None:
                dpath = ("governance", "arrangements", name, "decider")
                if decider.type not in cfg.organisation_types:
                    bad((*dpath, "type"), _unknown("organisation type", decider.type, cfg.organisation_types))
                else:
                    for oid in cfg.orgs_of_type(decider.type):
                        if decider.role not in cfg.organisations[oid].staff:
                            bad((*dpath, "role"), _no_role(oid, decider.role, cfg.organisations[oid].staff))
            sitting = getattr(arr, "sitting", None)
            if sitting is None:
                continue
            for t, roles in sitting.attendees.items():
                spath = ("governance", "arrangements", name, "sitting", "attendees", t)
                if isinstance(arr, EachPartnerDecision) and t not in arr.partners:
                    bad(spath, f"type {t!r} is not one of the partners {arr.partners}, whose own panels sign off")
                elif t not in cfg.organisation_types:
                    bad(spath, _unknown("organisation type", t, cfg.organisation_types))
                else:
                    _check_attendees(cfg, spath, t, roles, bad)
        for oid in cfg.orgs_of_type(gov.decided_by):
            chosen = cfg.organisations[oid].governance or gov.default
            if chosen is None:
                bad(("organisations", oid), "needs a governance arrangement (or set governance.default)")
            elif chosen not in gov.arrangements:
                bad(("organisations", oid, "governance"), _unknown("arrangement", chosen, gov.arrangements))
    sharing: dict[tuple[str, str], int] = {}  # (organisation, capacity) -> the group it is in
    for i, group in enumerate(cfg.shared_capacity):
        gpath: tuple[str | int, ...] = ("shared_capacity", i)
        for j, oid in enumerate(group.organisations):
            opath = (*gpath, "organisations", j)
            if oid not in cfg.organisations:
                bad(opath, _unknown("organisation", oid, cfg.organisations))
            elif group.capacity not in cfg.organisations[oid].capacity:
                has = list(cfg.organisations[oid].capacity)
                bad(
                    opath,
                    f"{oid!r} has no capacity {group.capacity!r} to share"
                    + (f" (it has {', '.join(has)})" if has else " (it has none)"),
                )
            elif (oid, group.capacity) in sharing:
                k = sharing[(oid, group.capacity)]
                bad(
                    opath,
                    f"{oid!r} shares its {group.capacity!r} in shared_capacity {k} already"
                    if k != i
                    else f"{oid!r} is listed twice",
                )
            else:
                sharing[(oid, group.capacity)] = i
    for oid, org in cfg.organisations.items():
        if org.governance is not None and (gov is None or org.type != gov.decided_by):
            bad(("organisations", oid, "governance"), "only organisations of the governance.decided_by type have one")
    return problems


def _check_attendees(
    cfg: Config,
    path: tuple[str | int, ...],
    org_type: str,
    roles: dict[str, int],
    bad: typing.Callable[[tuple[str | int, ...], str], None],
    organisations: typing.Iterable[str] | None = None,
) -> None:
    """Every organisation of the type (or those of ``organisations``) has the roles asked
    for, and enough of them."""
    for oid in cfg.orgs_of_type(org_type) if organisations is None else organisations:
        staff = cfg.organisations[oid].staff
        for role, n in roles.items():
            if role not in staff:
                bad((*path, role), _no_role(oid, role, staff))
            elif staff[role].count != "unlimited" and n > staff[role].count:  # type: ignore[operator]
                bad((*path, role), f"needs {n} but {oid!r} has {staff[role].count}")


def _no_role(oid: str, name: str, has: typing.Iterable[str], what: str = "staff role") -> str:
    """'organisation 'x' has no staff role 'y'; did you mean 'z'?' (or what it has)."""
    has = sorted(has)
    close = difflib.get_close_matches(name, has, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else (f" (it has {', '.join(has)})" if has else " (it has none)")
    return f"organisation {oid!r} has no {what} {name!r}{hint}"


def _unknown(what: str, name: object, known: typing.Iterable[str]) -> str:
    return f"unknown {what} {name!r}{did_you_mean(str(name), list(known))}"


# ---------------------------------------------------------------------------
# Turning pydantic's errors into FILE:LINE: key.path: message


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes and containers an annotation may hold."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def _allowed_keys(root: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The keys a model at ``path`` accepts (best effort, for 'did you mean')."""
    current: list[Any] = [root]
    for part in path:
        nxt: list[Any] = []
        for ann in current:
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                for fname, field in ann.model_fields.items():
                    if part in (fname, field.alias):
                        nxt.extend(_unwrap(field.annotation))
            else:
                origin = typing.get_origin(ann)
                args = typing.get_args(ann)
                if origin is dict and args:
                    nxt.extend(_unwrap(args[1]))
                elif origin in (list, tuple) and args and isinstance(part, int):
                    nxt.extend(_unwrap(args[0]))
        current = nxt
    keys: list[str] = []
    for ann in current:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(field.alias or fname for fname, field in ann.model_fields.items())
    return sorted(set(keys))


def problems_from_validation(
    exc: ValidationError, source: str, lines: Lines, root: type[BaseModel], prefix: tuple[str | int, ...] = ()
) -> list[Problem]:
    """pydantic's errors as FILE:LINE: key.path: message; ``prefix`` places the data in its file."""
    problems: list[Problem] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    # A value that fits none of a union's types (a count that is neither a number nor
    # 'unlimited') gets an error from each: say it once, with every type it could be.
    expected: dict[tuple[str | int, ...], list[str]] = {}
    errors = []
    for err in exc.errors():
        loc = err["loc"]
        path: tuple[str | int, ...] = ()
        for j, part in enumerate(loc):
            candidate = (*path, part)
            if (*prefix, *candidate) in lines or (j == len(loc) - 1 and err["type"] == "missing"):
                path = candidate
        errors.append((path, err))
        if err["msg"].startswith("Input should be "):
            expected.setdefault(path, []).append(err["msg"][len("Input should be ") :].split(",")[0])

    # A mapping given where a union takes a number or a mapping of settings (replications:
    # a count, or how to choose it) fits the mapping's type: the number's complaint is noise
    # beside what is wrong inside the mapping.
    def wrong_type_for_mapping(err: Any) -> bool:
        return isinstance(err.get("input"), dict) and err["msg"].startswith("Input should be ")

    inside = {path[:k] for path, err in errors if not wrong_type_for_mapping(err) for k in range(len(path) + 1)}
    errors = [(path, err) for path, err in errors if not (wrong_type_for_mapping(err) and path in inside)]
    # 'length_days:100' is an unknown key that says what is wrong with it; 'length_days'
    # missing beside it would be said twice
    run_in = {
        (*path[:-1], str(path[-1]).partition(":")[0])
        for path, err in errors
        if err["type"] == "extra_forbidden" and path and no_space_after_colon(str(path[-1]))
    }
    errors = [(path, err) for path, err in errors if not (err["type"] == "missing" and path in run_in)]
    for path, err in errors:
        message = err["msg"]
        given = err.get("input")

        def mapping(path: tuple[str | int, ...] = path) -> str:  # for pydantic's "a valid dictionary ..."
            keys = ", ".join(_allowed_keys(root, path))
            return f"a mapping (keys: {keys})" if keys else "a mapping"

        if len(expected.get(path, ())) > 1 and message.startswith("Input should be "):
            kinds = [mapping() if k.startswith("a valid dictionary") else k for k in expected[path]]
            message = "Input should be " + " or ".join(dict.fromkeys(kinds))
            if isinstance(given, str | int | float | bool):
                message += f", not {given!r}"
        elif message.startswith("Input should be a valid dictionary"):
            message = f"Input should be {mapping()}" + (
                f", not {given!r}" if isinstance(given, str | int | float) else ""
            )
            if isinstance(given, str):
                message += no_space_after_colon(given)
        if err["type"] == "extra_forbidden":
            message = unknown_key("key", str(path[-1]) if path else "", _allowed_keys(root, path[:-1]))
        elif err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] == "union_tag_invalid":  # {dist: lognorm}: which kinds there are
            ctx = err.get("ctx", {})
            tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
            message = unknown_key(str(ctx.get("discriminator", "kind")).strip("'"), str(ctx.get("tag")), tags)
        elif err["type"] == "union_tag_not_found":  # {mean: 9, sd: 8}: of what kind?
            path = (*path, str(err.get("ctx", {}).get("discriminator", "kind")).strip("'"))
            message = "required key is missing: it says which kind this is"
        elif err["type"] == "too_short":  # pydantic: "List should have at least 1 item after validation, not 0"
            ctx = err.get("ctx", {})
            n, actual = ctx.get("min_length", 1), ctx.get("actual_length", 0)
            empty = "an empty mapping" if ctx.get("field_type") == "Dictionary" else "an empty list"
            message = f"give at least {n} item{'s' if n != 1 else ''}, not " + (empty if actual == 0 else str(actual))
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if (path, message) in seen:
            continue
        seen.add((path, message))
        full = (*prefix, *path)
        problems.append(Problem(source, line_of(lines, full) or None, full, message))
    return problems


def config_from_dict(
    data: dict[str, Any],
    source: str = "<memory>",
    lines: Lines | None = None,
    prefix: tuple[str | int, ...] = (),
) -> Config:
    """Validate plain data (as read from YAML) into a frozen Config, or raise ConfigError.

    ``prefix`` says where the data sits in its file, when it is part of a larger one."""
    lines = lines if lines else _key_paths(data, prefix)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, source, lines, Config, prefix)) from None
    refs = _check_references(cfg)
    if refs:
        raise ConfigError([Problem(source, line_of(lines, (*prefix, *p)) or None, (*prefix, *p), m) for p, m in refs])
    cfg._source = source
    return cfg


def _key_paths(data: Any, prefix: tuple[str | int, ...] = ()) -> Lines:
    """Every key path in plain data, with no line (for data that did not come from a file)."""
    out: Lines = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out[(*prefix, k)] = 0
            out.update(_key_paths(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out[(*prefix, i)] = 0
            out.update(_key_paths(v, (*prefix, i)))
    return out


def load_config(path: str | Path) -> Config:
    """Load and check a configuration file; raise ConfigError listing every problem."""
    data, lines = load_yaml(path, "model configuration")
    return config_from_dict(data, str(path), lines)


def is_unlimited(count: object) -> bool:
    return count == "unlimited" or (isinstance(count, float) and math.isinf(count))
