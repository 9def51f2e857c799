"""One simulation run: SimPy processes for patients, staff, capacity and meetings.

A run is a pure function of (configuration, seed, replication).  It builds its own
``simpy.Environment``, touches no global state and returns a :class:`Recorder` from
which :mod:`sim.metrics` builds the tables.

How time is kept
    The clock is in days.  Staff time is a fluid share of the calendar: a role working
    37.5 hours a week gives 37.5 / 7 = 5.36 working hours per calendar day, so a task of
    h hours of effort holds one member of staff for h / 5.36 days.  Meetings hold their
    attendees the same way, so they take staff away from casework.

How random numbers are kept in step (common random numbers)
    Arrivals come from one stream per zone.  Every patient then gets a row of uniform
    numbers from their zone's patient stream, with a fixed slot for each draw (trust,
    pathway, length of stay, and for each step its effort, delays, failures, decision
    and service time).  A patient's draws therefore do not depend on which
    organisations serve them, so changing boundaries leaves every patient's arrival,
    length of stay and pathway, and the rest of their draws, where they were.
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import simpy

from sim.config import (
    Config,
    DelegatedDecision,
    EachPartnerDecision,
    ImmediateDecision,
    PanelDecision,
    Pathway,
    Step,
    is_unlimited,
)
from sim.geography import Geography, MeetingSeries
from sim.rng import stream

# Slots in each patient's row of uniform numbers.
U_TRUST, U_PATHWAY, U_LOS = 0, 1, 2
PATIENT_SLOTS = 3
S_REFERRAL, S_DELAY, S_FAILURES, S_DECISION_A, S_DECISION_B, S_EFFORT, S_FIRST_CONTACT, S_HOLD = range(8)
S_REWORK = 8  # then (rework effort, rework delay, resend delay) for each of the first REWORK_SLOTS failures
REWORK_SLOTS = 2
STEP_SLOTS = S_REWORK + 3 * REWORK_SLOTS
UNIFORM_BLOCK = 256  # patients' rows drawn at a time per zone

PRIORITY_MEETING = 0  # meetings are served before casework waiting for the same staff
PRIORITY_CASEWORK = 1

CASEWORK, REWORK, MEETING = "casework", "rework", "meetings"
EventLoop = Generator[simpy.Event, Any, Any]
R = TypeVar("R", simpy.Resource, simpy.PriorityResource)


@dataclass
class StaffPool:
    """The staff of one role in one organisation; measures its own busy time."""

    org: str
    role: str
    count: float  # math.inf when unlimited
    hours_per_day: float
    resource: simpy.PriorityResource | None
    hours: dict[str, float] = field(default_factory=lambda: {CASEWORK: 0.0, REWORK: 0.0, MEETING: 0.0})
    busy_days_in_window: float = 0.0
    tasks: int = 0


@dataclass
class Slots:
    """A finite capacity (reablement slots, intermediate-care beds, care-home beds)."""

    org: str
    name: str
    count: float
    resource: simpy.Resource | None


@dataclass(slots=True)
class PatientRecord:
    id: int
    zone: str
    trust: str
    pathway: str
    admitted: float
    ready: float = math.nan
    discharged: float = math.nan
    journey_end: float = math.nan
    inter_handovers: int = 0
    intra_handovers: int = 0
    failed_handovers: int = 0
    gaps: int = 0
    gap_events: int = 0
    gap_days: float = 0.0
    decision_wait_days: float = 0.0
    # 4 per step: sent, accepted, started, ended; an array of doubles is a third the size of a list
    step_times: array = field(default_factory=lambda: array("d"))


@dataclass
class Recorder:
    """Everything a run records, as flat rows; :mod:`sim.metrics` builds tables from it."""

    config: Config
    geography: Geography
    seed: int
    replication: int
    patients: list[PatientRecord] = field(default_factory=list)
    handovers: list[tuple[Any, ...]] = field(default_factory=list)
    gaps: list[tuple[int, float, float]] = field(default_factory=list)  # patient, start, days
    meetings: list[tuple[str, float, int, float]] = field(default_factory=list)  # series, day, attendees, hours
    staff: dict[tuple[str, str], StaffPool] = field(default_factory=dict)
    slots: dict[tuple[str, str], Slots] = field(default_factory=dict)
    awaiting_series: list[tuple[float, int]] = field(default_factory=list)  # (day, patients awaiting discharge)
    awaiting_integral_days: float = 0.0  # patient-days awaiting discharge inside the window
    became_ready_in_window: int = 0

    @property
    def warmup(self) -> float:
        return self.config.run.warmup_days

    @property
    def end(self) -> float:
        return self.config.run.length_days


HANDOVER_COLUMNS = (
    "patient_id",
    "step",
    "kind",
    "from_org",
    "to_org",
    "sent",
    "accepted",
    "failed",
    "rework_hours",
    "in_hospital",
)


def _window_overlap(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


class Model:
    """Builds the processes of one run and runs them."""

    def __init__(self, config: Config, seed: int = 0, replication: int = 0):
        self.cfg = config
        self.geo = Geography(config)
        self.seed = seed
        self.replication = replication
        self.env = simpy.Environment()
        self.rec = Recorder(config, self.geo, seed, replication)
        self.max_steps = max((len(p.steps) for p in config.pathways.values()), default=0)
        self.row_width = PATIENT_SLOTS + STEP_SLOTS * self.max_steps
        self.pathway_ids = list(config.pathways)
        self.pathway_cdf = list(itertools.accumulate(config.pathways[p].share for p in self.pathway_ids))
        self.trust_cdf = {
            z: (tuple(o for o, _ in shares), list(itertools.accumulate(s for _, s in shares)))
            for z, shares in self.geo.admitting_shares.items()
        }
        self.admitting_liaison = config.organisation_types[config.admitting_type].liaison_role
        self.liaison = {t: spec.liaison_role for t, spec in config.organisation_types.items()}
        self._failure_p: dict[tuple[str, str], float] = {}
        self._phases: dict[str, float] = {}
        self._uniforms: dict[str, _UniformBlocks] = {}
        self._rework_overflow = stream(seed, replication, "rework-overflow")
        self._awaiting = 0
        self._awaiting_since = 0.0
        self._build_resources()

    # -- resources ------------------------------------------------------------------

    def _build_resources(self) -> None:
        for oid, org in self.cfg.organisations.items():
            for role, staff in org.staff.items():
                n_staff, team = self._finite(staff.count, simpy.PriorityResource)
                self.rec.staff[(oid, role)] = StaffPool(oid, role, n_staff, staff.hours_per_day, team)
            for name, cap in org.capacity.items():
                n_slots, slots = self._finite(cap, simpy.Resource)
                self.rec.slots[(oid, name)] = Slots(oid, name, n_slots, slots)

    def _finite(self, count: int | str, kind: type[R]) -> tuple[float, R | None]:
        """A resource of ``count`` units, or None when unlimited (nobody ever waits).
        Zero units is a resource whose one unit is taken for good: everybody waits."""
        if is_unlimited(count):
            return math.inf, None
        n = int(count)
        resource = kind(self.env, capacity=max(1, n))
        if n == 0:
            resource.request()  # granted at once and never released
        return float(n), resource

    def work(
        self, org: str, role: str, hours: float, category: str | None, priority: int = PRIORITY_CASEWORK
    ) -> EventLoop:
        """Queue for one member of staff, then hold them for ``hours`` of effort.

        The hours count towards ``category`` when the work starts inside the window
        (meetings pass None: their hours are counted when the meeting sits).  Busy
        time is measured separately, clipped to the window.  Returns the start day."""
        pool = self.rec.staff[(org, role)]
        days = hours / pool.hours_per_day
        if pool.resource is None:
            self._account(pool, category, hours, self.env.now, days)
            start = self.env.now
            yield self.env.timeout(days)
            return start
        with pool.resource.request(priority=priority) as req:
            yield req
            start = self.env.now
            self._account(pool, category, hours, start, days)
            yield self.env.timeout(days)
        return start

    def _account(self, pool: StaffPool, category: str | None, hours: float, start: float, days: float) -> None:
        if category is not None and self.rec.warmup <= start < self.rec.end:
            pool.hours[category] += hours
            pool.tasks += 1
        pool.busy_days_in_window += _window_overlap(start, start + days, self.rec.warmup, self.rec.end)

    # -- random numbers ---------------------------------------------------------------

    def uniforms(self, zone: str, index: int) -> np.ndarray:
        """The row of uniform numbers of the ``index``-th patient from ``zone``."""
        blocks = self._uniforms.get(zone)
        if blocks is None:
            blocks = self._uniforms[zone] = _UniformBlocks(
                stream(self.seed, self.replication, f"patients:{zone}"), self.row_width
            )
        return blocks.row(index)

    def arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrival days and zone indices of every patient in the run, in time order."""
        demand = self.cfg.demand
        end = self.cfg.run.length_days
        peak = demand.max_multiplier
        times, zones = [], []
        for zi, zone in enumerate(self.cfg.zone_ids()):
            rate = self.geo.daily_rate(zone) * peak
            if rate <= 0:
                continue
            gen = stream(self.seed, self.replication, f"arrivals:{zone}")
            t, chunks = 0.0, []
            while t < end:
                n = int(rate * (end - t) * 1.1) + 16
                gaps = gen.exponential(1.0 / rate, n)
                keep = gen.random(n)
                ts = t + np.cumsum(gaps)
                if demand.profile:
                    mult = np.array([demand.multiplier_at(x) for x in ts])
                    accept = keep < mult / peak
                else:
                    accept = np.ones(n, dtype=bool)
                chunks.append(ts[accept & (ts < end)])
                t = float(ts[-1])
            zt = np.concatenate(chunks) if chunks else np.empty(0)
            times.append(zt)
            zones.append(np.full(len(zt), zi, dtype=np.int64))
        if not times:
            return np.empty(0), np.empty(0, dtype=np.int64)
        all_t = np.concatenate(times)
        all_z = np.concatenate(zones)
        order = np.lexsort((all_z, all_t))
        return all_t[order], all_z[order]

    # -- processes ------------------------------------------------------------------------

    def source(self, times: np.ndarray, zone_idx: np.ndarray) -> EventLoop:
        zone_ids = self.cfg.zone_ids()
        per_zone = [0] * len(zone_ids)
        for pid, (t, zi) in enumerate(zip(times.tolist(), zone_idx.tolist(), strict=False)):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            zone = zone_ids[zi]
            u = self.uniforms(zone, per_zone[zi])
            per_zone[zi] += 1
            self.env.process(self.patient(pid, zone, u))

    def _set_awaiting(self, delta: int) -> None:
        now = self.env.now
        self.rec.awaiting_integral_days += self._awaiting * _window_overlap(
            self._awaiting_since, now, self.rec.warmup, self.rec.end
        )
        self._awaiting += delta
        self._awaiting_since = now

    def sampler(self) -> EventLoop:
        """Daily count of patients awaiting discharge (for the report's time series)."""
        while True:
            self.rec.awaiting_series.append((self.env.now, self._awaiting))
            yield self.env.timeout(1.0)

    def patient(self, pid: int, zone: str, u: np.ndarray) -> EventLoop:
        env, cfg = self.env, self.cfg
        orgs, cdf = self.trust_cdf[zone]
        trust = orgs[_pick(cdf, float(u[U_TRUST]))]
        pathway_id = self.pathway_ids[_pick(self.pathway_cdf, float(u[U_PATHWAY]))]
        pathway = cfg.pathways[pathway_id]
        rec = PatientRecord(pid, zone, trust, pathway_id, env.now)
        self.rec.patients.append(rec)
        yield env.timeout(cfg.patients.length_of_stay_days.ppf(float(u[U_LOS])))
        rec.ready = env.now
        if self.rec.warmup <= env.now < self.rec.end:
            self.rec.became_ready_in_window += 1
        self._set_awaiting(+1)
        yield from self.journey(rec, pathway, u)
        rec.journey_end = env.now

    def discharge(self, rec: PatientRecord) -> None:
        rec.discharged = self.env.now
        self._set_awaiting(-1)

    def journey(self, rec: PatientRecord, pathway: Pathway, u: np.ndarray) -> EventLoop:
        env = self.env
        responsible = rec.trust
        liaison = self.admitting_liaison  # the role that refers on the sender's side
        role = liaison
        in_hospital = True
        care_ended = math.nan  # after discharge: when the last service's care ended
        discharge_at = pathway.discharge_index
        last = len(pathway.steps) - 1
        for i, step in enumerate(pathway.steps):
            base = PATIENT_SLOTS + i * STEP_SLOTS
            org = self.geo.resolve(step.by, rec.zone, rec.trust)
            sent = env.now
            if org != responsible:
                yield from self.handover(rec, step, responsible, liaison, org, u, base, in_hospital, inter=True)
            elif step.staff is not None and step.staff != role:
                yield from self.handover(rec, step, responsible, liaison, org, u, base, in_hospital, inter=False)
            accepted = env.now
            responsible = org
            liaison = self.liaison[step.by]
            role = step.staff or liaison or role
            if step.decision:
                waited = yield from self.decide(rec, u, base)
                rec.decision_wait_days += waited
            slot_req = None
            slots = None
            if step.capacity is not None:
                slots = self.rec.slots[(org, step.capacity)]
                if slots.resource is not None:
                    slot_req = slots.resource.request()
                    yield slot_req
            if i == discharge_at:
                self.discharge(rec)
                in_hospital = False
                care_ended = env.now
            if not in_hospital and step.first_contact_days is not None:
                yield env.timeout(step.first_contact_days.ppf(float(u[base + S_FIRST_CONTACT])))
            started = env.now
            if step.staff is not None and step.effort_hours is not None:
                hours = step.effort_hours.ppf(float(u[base + S_EFFORT]))
                started = yield from self.work(org, step.staff, hours, CASEWORK)
            if not in_hospital:
                self.gap(rec, care_ended, started)
            hold = step.hold_days.ppf(float(u[base + S_HOLD])) if step.hold_days is not None else 0.0
            if i == last:
                # The journey ends once the last service has begun; its slot is held on.
                if slot_req is not None and slots is not None:
                    env.process(self.release_later(slots, slot_req, hold))
            else:
                if hold > 0:
                    yield env.timeout(hold)
                if slot_req is not None and slots is not None and slots.resource is not None:
                    slots.resource.release(slot_req)
                care_ended = env.now
            rec.step_times.extend((sent, accepted, started, env.now))
        if discharge_at == len(pathway.steps):
            self.discharge(rec)

    def release_later(self, slots: Slots, req: simpy.Event, days: float) -> EventLoop:
        yield self.env.timeout(days)
        assert slots.resource is not None
        slots.resource.release(req)  # type: ignore[arg-type]

    def gap(self, rec: PatientRecord, since: float, until: float) -> None:
        """An interval after discharge in which no organisation is providing care."""
        days = until - since
        if days <= 0:
            return
        rec.gaps += 1
        rec.gap_days += days
        if days > self.cfg.handovers.gap_event_threshold_days:
            rec.gap_events += 1
        self.rec.gaps.append((rec.id, since, days))

    def failure_probability(self, sender: str, receiver: str) -> float:
        key = (sender, receiver)
        if key not in self._failure_p:
            self._failure_p[key] = self.geo.failure_probability(sender, receiver)
        return self._failure_p[key]

    def handover(
        self,
        rec: PatientRecord,
        step: Step,
        sender: str,
        sender_role: str | None,
        receiver: str,
        u: np.ndarray,
        base: int,
        in_hospital: bool,
        inter: bool,
    ) -> EventLoop:
        """A transfer of responsibility: the sender refers, the referral travels and is
        accepted, or fails and comes back for rework until it goes through."""
        env, h = self.env, self.cfg.handovers
        sent = env.now
        if inter and sender_role is not None:
            yield from self.work(
                sender, sender_role, h.referral_effort_hours.ppf(float(u[base + S_REFERRAL])), CASEWORK
            )
        delay = h.delay_days if inter else h.intra_delay_days
        p_fail = self.failure_probability(sender, receiver)
        failures = 0
        if p_fail > 0:
            x = math.log1p(-float(u[base + S_FAILURES])) / math.log(p_fail)
            failures = int(x) if x < 1e6 else 10**6
        yield env.timeout(delay.ppf(float(u[base + S_DELAY])))
        rework_hours = 0.0
        for k in range(failures):
            if k < REWORK_SLOTS:
                ue, ud, ur = (float(v) for v in u[base + S_REWORK + 3 * k : base + S_REWORK + 3 * k + 3])
            else:
                ue, ud, ur = (float(v) for v in self._rework_overflow.random(3))
            hours = h.rework.effort_hours.ppf(ue)
            rework_hours += hours
            if sender_role is not None:
                yield from self.work(sender, sender_role, hours, REWORK)
            yield env.timeout(h.rework.delay_days.ppf(ud) + delay.ppf(ur))
        if inter:
            rec.inter_handovers += 1
        else:
            rec.intra_handovers += 1
        rec.failed_handovers += failures
        self.rec.handovers.append(
            (
                rec.id,
                step.name,
                "inter" if inter else "intra",
                sender,
                receiver,
                sent,
                env.now,
                failures,
                rework_hours,
                in_hospital,
            )
        )

    def decide(self, rec: PatientRecord, u: np.ndarray, base: int) -> EventLoop:
        """Wait for a funding or placement decision under the patient's place governance."""
        env = self.env
        place = self.geo.governing_org(rec.zone)
        assert place is not None
        name = self.cfg.arrangement_of(place)
        assert name is not None and self.cfg.governance is not None
        arr = self.cfg.governance.arrangements[name]
        now = env.now
        if isinstance(arr, PanelDecision):
            until = self.next_sitting(now + arr.lead_time_days, arr.every_days, f"panel:{place}")
        elif isinstance(arr, EachPartnerDecision):
            until = max(
                self.next_sitting(now + arr.lead_time_days, arr.every_days, f"sign-off:{org}")
                for org in self.geo.decision_partners(arr, rec.zone, rec.trust)
            )
        elif isinstance(arr, DelegatedDecision):
            if float(u[base + S_DECISION_A]) < arr.share_above_limit:
                until = self.next_sitting(now + arr.lead_time_days, arr.escalation_every_days, f"escalation:{place}")
            else:
                until = now + arr.within_limit_days.ppf(float(u[base + S_DECISION_B]))
        else:
            assert isinstance(arr, ImmediateDecision)
            until = now + arr.days.ppf(float(u[base + S_DECISION_B]))
        if until > now:
            yield env.timeout(until - now)
        return until - now

    def phase(self, body: str) -> float:
        """Where in its cycle a recurring body first sits, as a fraction of the cycle.

        Which weekday a panel or meeting sits is not known, and it matters (two weekly
        panels feeding one pool of beds spread their batches by how far apart they
        sit), so it is drawn per replication from the body's own stream: a body that a
        boundary change leaves alone keeps its phase, and a new body's is averaged over
        replications rather than fixed by how its name is spelled."""
        if body not in self._phases:
            self._phases[body] = float(stream(self.seed, self.replication, f"phase:{body}").random())
        return self._phases[body]

    def next_sitting(self, t: float, every: float, body: str) -> float:
        return next_sitting(t, every, self.phase(body) * every)

    def meeting(self, series: MeetingSeries) -> EventLoop:
        env = self.env
        yield env.timeout(self.phase(series.key) * series.every_days)
        while True:
            sits_in_window = self.rec.warmup <= env.now < self.rec.end
            if sits_in_window:
                self.rec.meetings.append(
                    (series.key, env.now, series.attendee_count, series.attendee_count * series.duration_hours)
                )
            for org, role, n in series.attendees:
                if sits_in_window:
                    self.rec.staff[(org, role)].hours[MEETING] += n * series.duration_hours
                for _ in range(n):
                    env.process(self.work(org, role, series.duration_hours, None, PRIORITY_MEETING))
            yield env.timeout(series.every_days)

    # -- running --------------------------------------------------------------------------

    def run(self) -> Recorder:
        times, zones = self.arrivals()
        self.env.process(self.source(times, zones))
        self.env.process(self.sampler())
        for series in self.geo.meeting_series:
            self.env.process(self.meeting(series))
        self.env.run(until=self.cfg.run.length_days)
        self._set_awaiting(0)  # close the time integral at the end of the run
        return self.rec


class _UniformBlocks:
    """A zone's patients' rows of uniform numbers, drawn a block at a time in order."""

    def __init__(self, gen: np.random.Generator, width: int):
        self.gen = gen
        self.width = width
        self.first = -UNIFORM_BLOCK
        self.block = np.empty((0, width))

    def row(self, index: int) -> np.ndarray:
        while index >= self.first + UNIFORM_BLOCK:
            self.block = self.gen.random((UNIFORM_BLOCK, self.width))
            self.first += UNIFORM_BLOCK
        if index < self.first:
            raise ValueError("patients' rows are drawn in order")
        return self.block[index - self.first]


def _pick(cdf: list[float], u: float) -> int:
    """Inverse of a discrete distribution given by its cumulative weights."""
    return min(bisect.bisect_right(cdf, u * cdf[-1]), len(cdf) - 1)


def next_sitting(t: float, every: float, phase: float) -> float:
    """The first sitting at or after ``t`` of a body sitting every ``every`` days from ``phase``."""
    k = math.ceil((t - phase) / every - 1e-12)
    return phase + max(k, 0) * every if t > phase else phase
