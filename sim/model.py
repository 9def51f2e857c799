"""One simulation run: SimPy processes for patients, staff, capacity and meetings.

A run is a pure function of (configuration, seed, replication).  It builds its own
``simpy.Environment``, touches no global state and returns a :class:`Recorder` from
which :mod:`sim.metrics` builds the tables.

How time is kept
    The clock is in days.  Staff time is a fluid share of the calendar: a role working
    37.5 hours a week gives 37.5 / 7 = 5.36 working hours per calendar day, so a task of
    h hours of effort holds one member of staff for h / 5.36 days.  Meetings hold their
    attendees the same way, so they take staff away from casework.

    Each patient also keeps a clock of their own (``t`` in :meth:`Model.journey`).  It
    runs ahead of the simulation's clock through whatever touches nothing shared
    (handover delays, decisions, first contacts, services' holds) and catches up only
    when the patient asks a pool for staff or a bed, so every pool is asked in time
    order.  Staff and beds are :class:`sim.pool.Pool` objects, which grant a free unit
    without an event and take units back at a time given in advance.  A patient
    therefore costs a handful of events rather than one or more per delay, with the
    same journeys.

How random numbers are kept in step (common random numbers)
    Arrivals come from one stream per zone.  Every patient then gets a row of uniform
    numbers from their zone's patient stream, with a fixed slot for each draw (trust,
    pathway, length of stay, for each step its effort, delays, failures, decision
    and service time, and, where some steps are needed by only a share of a
    pathway's patients, whether each of those is).  A patient's draws therefore do not depend on which
    organisations serve them, so changing boundaries leaves every patient's arrival,
    length of stay and pathway, and the rest of their draws, where they were.  A
    care home's own assessment, which only patients no trusted assessor covers need,
    is drawn from a stream of its own for each zone, by the patient's place in it.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import math
from array import array
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from sim.calendar import Environment, SelfEvent, slot_for
from sim.config import (
    Config,
    DelegatedDecision,
    EachPartnerDecision,
    ImmediateDecision,
    PanelDecision,
    Step,
    is_unlimited,
)
from sim.distributions import Distribution
from sim.geography import Geography, MeetingSeries, deciding_body
from sim.pool import Pool
from sim.rng import stream

# The version of what a run computes.  Raise it in the commit of any change that makes
# a run's tables differ for the same configuration, seed and replication (a fix, a new
# mechanism, a changed order of draws), say why in that commit, and record the new
# tables' fingerprints in tests/test_results_version.py, which fails until you do.  It
# is part of each run's identity in a sweep, so runs made before the change are run
# again, never reused beside runs made after it.
RESULTS_VERSION = 4

# Slots in each patient's row of uniform numbers.
U_TRUST, U_PATHWAY, U_LOS = 0, 1, 2
PATIENT_SLOTS = 3
S_REFERRAL, S_DELAY, S_FAILURES, S_DECISION_A, S_DECISION_B, S_EFFORT, S_FIRST_CONTACT, S_HOLD = range(8)
S_REWORK = 8  # then (rework effort, rework delay, resend delay) for each of the first REWORK_SLOTS failures
REWORK_SLOTS = 2
STEP_SLOTS = S_REWORK + 3 * REWORK_SLOTS
UNIFORM_BLOCK = 256  # patients' rows drawn at a time per zone
ADMIT_AHEAD_DAYS = 1.0  # the source admits a day's arrivals at a time

PRIORITY_MEETING = 0  # meetings are served before casework waiting for the same staff
PRIORITY_CASEWORK = 1

CASEWORK, REWORK, MEETING = "casework", "rework", "meetings"
EventLoop = Generator[simpy.Event, Any, Any]  # a SimPy process
Journey = Generator[simpy.Event | float, Any, Any]  # yields an event, or a time to wait until
Row: TypeAlias = "memoryview[float]"  # a patient's row of uniform numbers


def patients_key(cfg: Config) -> str:
    """What decides a run's patients, for a seed and replication: who arrives, when and
    from which zone (the zones and the demand), their pathway and their stay, and the
    width of the rows of uniform numbers every patient's draws come from (which follows
    the longest pathway).  Configurations with the same key have the same patients,
    replication by replication (common random numbers), as a change of boundaries keeps
    them (hospitals merged included: the hospital is the boundaries' part); with
    another, their patients differ."""
    steps = max((len(p.steps) for p in cfg.pathways.values()), default=0)
    parts = {
        "zones": [(z.id, z.population) for z in cfg.zones],
        "demand": cfg.demand.model_dump(mode="json"),
        "patients": cfg.patients.model_dump(mode="json"),
        "pathways": [(pid, p.share) for pid, p in cfg.pathways.items()],
        "row": (steps, any(s.optional for p in cfg.pathways.values() for s in p.steps)),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StaffPool(Pool):
    """The staff of one role in one organisation; keeps its own hours and busy time."""

    def __init__(
        self,
        env: simpy.Environment,
        org: str,
        role: str,
        count: float,
        hours_per_day: float,
        window: tuple[float, float],
    ):
        super().__init__(env, count)
        self.org = org
        self.role = role
        self.count = count  # math.inf when unlimited
        self.hours_per_day = hours_per_day
        self.window = window
        self.hours = {CASEWORK: 0.0, REWORK: 0.0, MEETING: 0.0}
        self.busy_days_in_window = 0.0
        self.tasks = 0

    def ask(self, t: float, hours: float, category: str) -> float | simpy.Event:
        """One member for ``hours`` of effort, asked for at ``t``: the day the work
        starts, or, when everybody is busy, the event of the grant (its value that
        day).  A finite pool must be asked when the clock has reached ``t``, in turn
        with everybody else; an unlimited one at any time (the work starts at ``t``)."""
        days = hours / self.hours_per_day
        if self.unlimited:
            self.started(t, days, (hours, category))
            return t
        granted = self.request(days, (hours, category), PRIORITY_CASEWORK)
        return self.env.now if granted is None else granted

    def started(self, start: float, hold: float | None, note: Any) -> None:
        """A task (``note`` = (hours, category)) starts: its hours count towards the
        category when it starts inside the window (meetings pass None: their hours
        are counted when the meeting sits); busy time is clipped to the window."""
        lo, hi = self.window
        if start >= hi:
            return
        end = start if hold is None else start + hold
        if start >= lo:
            hours, category = note
            if category is not None:
                self.hours[category] += hours
                self.tasks += 1
            busy = (end if end < hi else hi) - start  # the part inside the window
        else:
            busy = (end if end < hi else hi) - lo
        if busy > 0:
            self.busy_days_in_window += busy


def _filled(value: float, n: int, typecode: str = "d") -> array:
    return array(typecode, [value]) * n


LOG_CHUNK = 1 << 14
"""Rows in each chunk of a log's columns.  A log's columns are arrays made this long
at the start and written a row at a time; when they are full the log starts new
ones.  (An ``array`` that is appended to grows by a sixteenth at a time, copying
itself each time it outgrows its place: a column grown for a whole run is copied
some sixteen times its final size in all, of the order of a gigabyte for all England,
all of it through the processor's cache.  Chunks written in place are never copied.
Counted with a cache simulated, a run has 8.8% fewer cache misses at a sixteenth of
England's demand with a 4 MB cache, 25.6% fewer at a quarter with a 32 MB cache, and
about 1% fewer instructions.)"""


class _Log:
    """Columns of numbers, named and typed by ``FIELDS`` (name, ``array`` typecode),
    each kept in chunks of LOG_CHUNK rows: the open chunk is the attribute of the
    column's name, and ``rows`` of it are filled in."""

    FIELDS: tuple[tuple[str, str], ...] = ()

    def __init__(self) -> None:
        self._full: list[tuple[array, ...]] = []
        self._open()

    def _open(self) -> None:
        for name, typecode in self.FIELDS:
            setattr(self, name, _filled(0, LOG_CHUNK, typecode))
        self.rows = 0

    def _next_chunk(self) -> None:
        self._full.append(tuple(getattr(self, name) for name, _ in self.FIELDS))
        self._open()

    def column(self, name: str) -> np.ndarray:
        """Every row of column ``name``, as one numpy array."""
        k = [f for f, _ in self.FIELDS].index(name)
        dtype = np.dtype(self.FIELDS[k][1])
        chunks = [np.frombuffer(full[k], dtype=dtype) for full in self._full]
        chunks.append(np.frombuffer(getattr(self, name), dtype=dtype)[: self.rows])
        return np.concatenate(chunks)


class HandoverLog(_Log):
    """The handovers of a run, a column each (codes for the organisations and steps)."""

    FIELDS = (
        ("patient", "q"),
        ("step", "i"),
        ("inter", "b"),
        ("sender", "i"),
        ("receiver", "i"),
        ("sent", "d"),
        ("accepted", "d"),
        ("failed", "q"),
        ("referral_hours", "d"),
        ("rework_hours", "d"),
        ("in_hospital", "b"),
    )
    patient: array
    step: array
    inter: array
    sender: array
    receiver: array
    sent: array
    accepted: array
    failed: array
    referral_hours: array
    rework_hours: array
    in_hospital: array

    def add(
        self,
        patient: int,
        step: int,
        inter: bool,
        sender: int,
        receiver: int,
        sent: float,
        accepted: float,
        failed: int,
        referral_hours: float,
        rework_hours: float,
        in_hospital: bool,
    ) -> None:
        i = self.rows
        self.patient[i] = patient
        self.step[i] = step
        self.inter[i] = inter
        self.sender[i] = sender
        self.receiver[i] = receiver
        self.sent[i] = sent
        self.accepted[i] = accepted
        self.failed[i] = failed
        self.referral_hours[i] = referral_hours
        self.rework_hours[i] = rework_hours
        self.in_hospital[i] = in_hospital
        self.rows = i = i + 1
        if i == LOG_CHUNK:
            self._next_chunk()


class GapLog(_Log):
    """Gaps in care after discharge: the patient, the day the gap began, its days."""

    FIELDS = (("patient", "q"), ("start", "d"), ("days", "d"))
    patient: array
    start: array
    days: array

    def add(self, patient: int, start: float, days: float) -> None:
        i = self.rows
        self.patient[i] = patient
        self.start[i] = start
        self.days[i] = days
        self.rows = i = i + 1
        if i == LOG_CHUNK:
            self._next_chunk()


@dataclass
class Recorder:
    """Everything a run records, a column per quantity; :mod:`sim.metrics` builds the
    tables from it.  Patients are indexed by id (their order of arrival)."""

    config: Config
    geography: Geography
    seed: int
    replication: int
    org_ids: list[str]
    step_names: list[str]
    step_width: int  # 4 step times (sent, accepted, started, ended) per step of the longest pathway
    staff: dict[tuple[str, str], StaffPool] = field(default_factory=dict)
    slots: dict[tuple[str, str], Pool] = field(default_factory=dict)
    # per patient, indexed by id: set up by admit(), then filled in at admission
    # (trust, pathway) and as each journey goes on (NaN or 0 until then)
    admitted: np.ndarray = field(init=False)
    zone: np.ndarray = field(init=False)
    trust: array = field(init=False)
    pathway: array = field(init=False)
    needs: array = field(init=False)  # bit i: the patient needs step i of their pathway, where it is optional
    ready: array = field(init=False)
    discharged: array = field(init=False)
    journey_end: array = field(init=False)
    decision_wait_days: array = field(init=False)
    provider_assessment_days: array = field(init=False)  # a provider's own assessment, waited for in hospital
    step_times: array = field(init=False)  # patient-major, step_width each
    handovers: HandoverLog = field(default_factory=HandoverLog)
    gap_log: GapLog = field(default_factory=GapLog)
    meetings: list[tuple[str, float, int, float]] = field(default_factory=list)  # series, day, attendees, hours
    events: int = 0  # events the run scheduled (a measure of its work, for the benchmark)

    def __post_init__(self) -> None:
        self.release_patients()

    def admit(self, times: np.ndarray, zones: np.ndarray) -> None:
        """Columns for the patients arriving at ``times`` from zones ``zones``."""
        n = len(times)
        self.admitted, self.zone = times, zones
        self.trust, self.pathway = _filled(-1, n, "i"), _filled(-1, n, "i")
        self.needs = _filled(0, n, "i")
        for name in ("ready", "discharged", "journey_end"):
            setattr(self, name, _filled(math.nan, n))
        self.decision_wait_days = _filled(0.0, n)
        self.provider_assessment_days = _filled(0.0, n)
        self.step_times = _filled(math.nan, n * self.step_width)

    def release_patients(self) -> None:
        """Empty per-patient columns (also how they are let go once in a table)."""
        self.admit(np.empty(0), np.empty(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.admitted)

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
    "referral_hours",
    "rework_hours",
    "in_hospital",
)


@dataclass(slots=True, frozen=True)
class Leg:
    """One step of a pathway as a patient from one zone admitted to one trust takes it:
    who does it, who hands the patient over and what that crossing risks.  Everything
    here is fixed for a run, so it is worked out once per (pathway, zone, trust)."""

    step: Step
    number: int  # the step's place in its pathway
    base: int  # where the step's draws start in the patient's row of uniform numbers
    org: str
    handover: bool  # the patient changes hands (organisation, or staff role within one)
    inter: bool  # ... between organisations
    sender: str
    referrer: StaffPool | None  # the sender's liaison staff: they refer, and rework failures
    log_fail: float  # log of the chance a handover attempt fails (0.0: it cannot)
    slots: Pool | None  # the finite capacity the step waits for, if any
    provider_assessment: Distribution | None  # the provider's own assessment, where no trusted assessor covers it
    staff: StaffPool | None  # who does the step's work, if it has any
    codes: tuple[int, int, int]  # step, sender and receiver, as the handover log keeps them


class Model:
    """Builds the processes of one run and runs them."""

    def __init__(self, config: Config, seed: int = 0, replication: int = 0):
        self.cfg = config
        self.geo = Geography(config)
        self.seed = seed
        self.replication = replication
        # about seven events a patient: the event queue's slots are sized to hold ~100
        daily = sum(self.geo.daily_rate(z) for z in config.zone_ids()) * config.demand.max_multiplier
        self.env = Environment(slot_days=slot_for(7 * daily))
        self.end = config.run.length_days
        self.max_steps = max((len(p.steps) for p in config.pathways.values()), default=0)
        self.pathway_ids = list(config.pathways)
        self.pathways = [config.pathways[p] for p in self.pathway_ids]
        # steps only some patients need: (index, share) for each pathway; whether a
        # patient needs step i is drawn from slot need_base + i, after the steps' slots
        # (which are only there when some step is optional, so rows stay as they were)
        self.optional = [[(i, s.share) for i, s in enumerate(p.steps) if s.optional] for p in self.pathways]
        self.need_base = PATIENT_SLOTS + STEP_SLOTS * self.max_steps
        self.row_width = self.need_base + (self.max_steps if any(self.optional) else 0)
        self.n_steps = [len(p.steps) for p in self.pathways]
        self.discharge_index = [p.discharge_index for p in self.pathways]
        self.pathway_cdf = list(itertools.accumulate(p.share for p in self.pathways))
        org_ids = list(config.organisations)
        self.org_code = {o: k for k, o in enumerate(org_ids)}
        step_names = list(dict.fromkeys(s.name for p in self.pathways for s in p.steps))
        self.step_code = {s: k for k, s in enumerate(step_names)}
        self.rec = Recorder(config, self.geo, seed, replication, org_ids, step_names, 4 * self.max_steps)
        self.trust_cdf = {
            z: (tuple(o for o, _ in shares), list(itertools.accumulate(s for _, s in shares)))
            for z, shares in self.geo.admitting_shares.items()
        }
        self.admitting_liaison = config.organisation_types[config.admitting_type].liaison_role
        self.liaison = {t: spec.liaison_role for t, spec in config.organisation_types.items()}
        self._legs: dict[tuple[int, str, str, int], tuple[Leg, ...]] = {}
        self._phases: dict[str, float] = {}
        self._uniforms: dict[str, _UniformBlocks] = {}
        self._assessment_uniforms: dict[str, np.ndarray] = {}
        self.zone_counts: dict[str, int] = {}  # patients arriving from each zone in the run
        self._build_resources()

    # -- resources ------------------------------------------------------------------

    def _build_resources(self) -> None:
        window = (self.cfg.run.warmup_days, self.end)
        for oid, org in self.cfg.organisations.items():
            for role, staff in org.staff.items():
                count = math.inf if is_unlimited(staff.count) else float(staff.count)
                self.rec.staff[(oid, role)] = StaffPool(self.env, oid, role, count, staff.hours_per_day, window)
            for name, cap in org.capacity.items():
                self.rec.slots[(oid, name)] = Pool(self.env, math.inf if is_unlimited(cap) else float(cap))
        for group in self.cfg.shared_capacity:  # commissioned together: one pool, their sizes summed
            keys = [(oid, group.capacity) for oid in group.organisations]
            pool = Pool(self.env, sum(self.rec.slots[key].capacity for key in keys))
            for key in keys:
                self.rec.slots[key] = pool

    # -- random numbers ---------------------------------------------------------------

    def uniforms(self, zone: str, index: int) -> Row:
        """The row of uniform numbers of the ``index``-th patient from ``zone``."""
        blocks = self._uniforms.get(zone)
        if blocks is None:
            blocks = self._uniforms[zone] = _UniformBlocks(
                stream(self.seed, self.replication, f"patients:{zone}"), self.row_width
            )
        return blocks.row(index)

    def assessment_uniform(self, zone: str, index: int, step: int) -> float:
        """The uniform number for the provider's own assessment at step ``step`` of the
        ``index``-th patient from ``zone``.  It comes from a stream of its own, so that
        whether anyone needs the assessment (which trusted assessors decide) leaves
        every other draw where it was, and a patient has the same one in every
        configuration."""
        block = self._assessment_uniforms.get(zone)
        if block is None:
            gen = stream(self.seed, self.replication, f"provider_assessment:{zone}")
            block = self._assessment_uniforms[zone] = gen.random((self.zone_counts[zone], self.max_steps))
        return float(block[index, step])

    def arrivals(self) -> tuple[np.ndarray, np.ndarray]:
        """Arrival days and zone indices of every patient in the run, in time order."""
        demand = self.cfg.demand
        end = self.end
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
                with np.errstate(over="ignore"):  # a rate of almost nothing: gaps past any end, summed to inf
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
        """Admit every patient, and have each journey start when the patient is ready.

        Admission touches nothing shared: it draws the patient's row of uniform
        numbers, trust, pathway and length of stay.  So once a day the source admits
        the patients arriving in the day ahead, in order of arrival, and schedules the
        start of each one's journey; that start is the only event a patient costs
        before their journey."""
        env, rec, end = self.env, self.rec, self.end
        zone_ids = self.cfg.zone_ids()
        per_zone = [0] * len(zone_ids)
        arrive, zones = times.tolist(), zone_idx.tolist()
        n, a = len(arrive), 0
        los = self.cfg.patients.length_of_stay_days
        while a < n:
            ahead = env.now + ADMIT_AHEAD_DAYS
            while a < n and arrive[a] < ahead:
                zi = zones[a]
                zone = zone_ids[zi]
                index = per_zone[zi]
                per_zone[zi] += 1
                u = self.uniforms(zone, index)
                orgs, cdf = self.trust_cdf[zone]
                rec.trust[a] = self.org_code[orgs[_pick(cdf, u[U_TRUST])]]
                rec.pathway[a] = p = _pick(self.pathway_cdf, u[U_PATHWAY])
                if self.optional[p]:
                    rec.needs[a] = sum(1 << i for i, share in self.optional[p] if u[self.need_base + i] < share)
                ready = arrive[a] + los.ppf(u[U_LOS])
                if ready < end:
                    _Driven(env, self.journey(a, zone, index, u), ready)
                a += 1
            if a < n:
                yield env.timeout(max(ahead, arrive[a]) - env.now)

    def journey(self, pid: int, zone: str, index: int, u: Row) -> Journey:
        """From ready for discharge to the start of the last service, for patient ``pid``,
        the ``index``-th from ``zone``, whose row of uniform numbers is ``u``.

        ``t`` is the patient's own clock.  It runs ahead of the simulation's clock
        through everything that touches nothing shared (delays, decisions, the hold
        of a service) and catches up, with one event, only when the patient needs
        staff or a bed, so that every pool is asked in time order.  Whenever ``t``
        reaches the end of the run the journey stops where it is, as it would have
        if each delay had been its own timeout."""
        env, rec, end = self.env, self.rec, self.end
        t = env.now
        rec.ready[pid] = t
        trust = rec.org_ids[rec.trust[pid]]
        p = rec.pathway[pid]
        legs = self.legs(p, zone, trust, rec.needs[pid])
        discharge_at = self.discharge_index[p]
        in_hospital = True
        care_ended = math.nan  # after discharge: when the last service's care ended
        last = legs[-1].number if legs else -1
        times = rec.step_times
        k = pid * rec.step_width
        for leg in legs:
            step, i, base = leg.step, leg.number, leg.base
            sent = t
            if leg.handover:
                t = yield from self.handover(pid, zone, index, leg, u, in_hospital, t)
                if t >= end:
                    return
            accepted = t
            # A funding decision is taken on the step's work (the continuing-healthcare
            # check, then the panel), so it waits for that work when it is done in
            # hospital, before the step that discharges; otherwise (at that step, whose
            # work follows discharge, or after it) it comes first, before any bed.
            decided_after_work = step.decision and i < discharge_at
            if step.decision and not decided_after_work:
                t = yield from self.decision(pid, zone, trust, u, base, t)
                if t >= end:
                    return
            slots = leg.slots
            if slots is not None:
                if t > env.now:
                    yield t
                granted = slots.request(None)
                if granted is not None:
                    yield granted
                t = env.now
            if leg.provider_assessment is not None:
                # the provider (a care home) holds the place and comes to assess the patient
                days = leg.provider_assessment.ppf(self.assessment_uniform(zone, index, i))
                rec.provider_assessment_days[pid] = days
                t += days
                if t >= end:
                    return
            if i == discharge_at:
                rec.discharged[pid] = t
                in_hospital = False
                care_ended = t
                # the referral that discharged the patient, recorded now (the step's own
                # start and end when it ends, after the run's end perhaps)
                times[k + 4 * i], times[k + 4 * i + 1] = sent, accepted
            if not in_hospital and step.first_contact_days is not None:
                t += step.first_contact_days.ppf(u[base + S_FIRST_CONTACT])
                if t >= end:
                    return
            started = t
            pool = leg.staff
            if pool is not None:
                hours = step.effort_hours.ppf(u[base + S_EFFORT])  # type: ignore[union-attr]
                if t > env.now and not pool.unlimited:
                    yield t  # a finite pool is asked when the clock reaches t
                asked = pool.ask(t, hours, CASEWORK)
                started = (yield asked) if isinstance(asked, Event) else asked
                t = started + hours / pool.hours_per_day
                if t >= end:
                    return
            if decided_after_work:
                t = yield from self.decision(pid, zone, trust, u, base, t)
                if t >= end:
                    return
            if not in_hospital:
                self.gap(pid, care_ended, started)
            hold = step.hold_days.ppf(u[base + S_HOLD]) if step.hold_days is not None else 0.0
            if i == last:
                # The journey ends once the last service has begun; its slot is held on.
                if slots is not None:
                    slots.release(at=t + hold)
            else:
                t += hold
                if t >= end:
                    return
                if slots is not None:
                    slots.release(at=t)
                care_ended = t
            j = k + 4 * i
            times[j], times[j + 1], times[j + 2], times[j + 3] = sent, accepted, started, t
        if discharge_at == self.n_steps[p]:
            rec.discharged[pid] = t
        rec.journey_end[pid] = t

    def legs(self, pathway: int, zone: str, trust: str, needs: int = 0) -> tuple[Leg, ...]:
        """The steps of a pathway as patients from ``zone`` admitted to ``trust`` take
        them, with those of its optional steps that ``needs`` has the bits of."""
        key = (pathway, zone, trust, needs)
        legs = self._legs.get(key)
        if legs is not None:
            return legs
        staff, slots = self.rec.staff, self.rec.slots
        responsible = trust
        liaison = self.admitting_liaison  # the role that refers on the sender's side
        role = liaison
        made = []
        for i, step in enumerate(self.pathways[pathway].steps):
            if step.optional and not needs >> i & 1:
                continue  # not needed: the patient goes on to the next step
            org = self.geo.resolve(step.by, zone, trust)
            inter = org != responsible
            p_fail = self.geo.failure_probability(responsible, org)
            capacity = slots[(org, step.capacity)] if step.capacity is not None else None
            assess = step.provider_assessment_days
            if assess is not None and self.geo.trusted_assessor_covers(trust, org):
                assess = None
            worker = step.staff if step.effort_hours is not None else None
            made.append(
                Leg(
                    step=step,
                    number=i,
                    base=PATIENT_SLOTS + i * STEP_SLOTS,
                    org=org,
                    handover=inter or (step.staff is not None and step.staff != role),
                    inter=inter,
                    sender=responsible,
                    referrer=staff[(responsible, liaison)] if liaison is not None else None,
                    log_fail=math.log(p_fail) if p_fail > 0 else 0.0,
                    slots=capacity if capacity is not None and not capacity.unlimited else None,
                    provider_assessment=assess,
                    staff=staff[(org, worker)] if worker is not None else None,
                    codes=(self.step_code[step.name], self.org_code[responsible], self.org_code[org]),
                )
            )
            responsible = org
            liaison = self.liaison[step.by]
            role = step.staff or liaison or role
        legs = self._legs[key] = tuple(made)
        return legs

    def gap(self, pid: int, since: float, until: float) -> None:
        """An interval after discharge in which no organisation is providing care."""
        days = until - since
        if days <= 0:
            return
        self.rec.gap_log.add(pid, since, days)

    def handover(
        self, pid: int, zone: str, index: int, leg: Leg, u: Row, in_hospital: bool, t: float
    ) -> Generator[simpy.Event | float, Any, float]:
        """A transfer of responsibility, sent at ``t``: the sender refers, the referral
        travels and is accepted, or fails and comes back for rework until it goes
        through.  Returns the time of acceptance (or a time past the end of the run,
        where it stops)."""
        h, env, end, rec, base = self.cfg.handovers, self.env, self.end, self.rec, leg.base
        sent = t
        pool = leg.referrer
        referral_hours = 0.0
        if leg.inter and pool is not None:
            hours = referral_hours = h.referral_effort_hours.ppf(u[base + S_REFERRAL])
            if t > env.now and not pool.unlimited:
                yield t
            asked = pool.ask(t, hours, CASEWORK)
            start = (yield asked) if isinstance(asked, Event) else asked
            t = start + hours / pool.hours_per_day
            if t >= end:
                return t
        delay = h.delay_days if leg.inter else h.intra_delay_days
        failures = 0
        if leg.log_fail:
            x = math.log1p(-u[base + S_FAILURES]) / leg.log_fail
            failures = int(x) if x < 1e6 else 10**6
        t += delay.ppf(u[base + S_DELAY])
        if t >= end:
            return t
        rework_hours = 0.0
        overflow = None
        for k in range(failures) if failures else ():
            if k < REWORK_SLOTS:
                ue, ud, ur = u[base + S_REWORK + 3 * k : base + S_REWORK + 3 * k + 3]
            else:
                if overflow is None:  # rare: a third failure; the patient's own stream
                    overflow = stream(self.seed, self.replication, f"rework:{zone}:{index}")
                ue, ud, ur = overflow.random(3).tolist()
            hours = h.rework.effort_hours.ppf(ue)
            rework_hours += hours
            if pool is not None:
                if t > env.now and not pool.unlimited:
                    yield t
                asked = pool.ask(t, hours, REWORK)
                start = (yield asked) if isinstance(asked, Event) else asked
                t = start + hours / pool.hours_per_day
                if t >= end:
                    return t
            t += h.rework.delay_days.ppf(ud) + delay.ppf(ur)
            if t >= end:
                return t
        step, sender, receiver = leg.codes
        rec.handovers.add(
            pid, step, leg.inter, sender, receiver, sent, t, failures, referral_hours, rework_hours, in_hospital
        )
        return t

    def decision(
        self, pid: int, zone: str, trust: str, u: Row, base: int, t: float
    ) -> Generator[simpy.Event | float, Any, float]:
        """Patient ``pid``'s funding decision, asked for at ``t``: returns when it is made
        (or a time past the end of the run, where it stops), the wait recorded."""
        env = self.env
        until, decider = self.decide(zone, trust, u, base, t)
        if until >= self.end:
            return until
        if until > t:
            # A panel takes its cases in the order they were referred: join its
            # list now, so that the patients one sitting decides go on in that
            # order, rather than in the order their clocks last caught up.
            if t > env.now:
                yield t
            yield until
        if decider is not None:  # one person decides, in their own time
            person, hours = decider
            if until > env.now and not person.unlimited:
                yield until
            asked = person.ask(until, hours, CASEWORK)
            until = ((yield asked) if isinstance(asked, Event) else asked) + hours / person.hours_per_day
            if until >= self.end:
                return until
        self.rec.decision_wait_days[pid] += until - t
        return until

    def decide(
        self, zone: str, trust: str, u: Row, base: int, now: float
    ) -> tuple[float, tuple[StaffPool, float] | None]:
        """A funding or placement decision asked for at ``now``, under the governance of
        the patient's place: when a sitting makes it, or when one person takes it up,
        with their staff pool and the hours it costs them."""
        place = self.geo.governing_org(zone)
        assert place is not None
        name = self.cfg.arrangement_of(place)
        assert name is not None and self.cfg.governance is not None
        arr = self.cfg.governance.arrangements[name]
        if isinstance(arr, PanelDecision):
            return self.next_sitting(now + arr.lead_time_days, *deciding_body(arr, place)), None
        if isinstance(arr, EachPartnerDecision):
            return max(
                self.next_sitting(now + arr.lead_time_days, *deciding_body(arr, org))
                for org in self.geo.decision_partners(arr, zone, trust)
            ), None
        if isinstance(arr, DelegatedDecision):
            if u[base + S_DECISION_A] < arr.share_above_limit:
                return self.next_sitting(now + arr.lead_time_days, *deciding_body(arr, place)), None
            wait = arr.within_limit_days.ppf(u[base + S_DECISION_B])
        else:
            assert isinstance(arr, ImmediateDecision)
            wait = arr.days.ppf(u[base + S_DECISION_B])
        d = arr.decider
        if d is None:
            return now + wait, None
        return now + wait, (self.rec.staff[(self.geo.resolve(d.type, zone, trust), d.role)], d.effort_hours)

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

    def next_sitting(self, t: float, body: str, every: float) -> float:
        return next_sitting(t, every, self.phase(body) * every)

    def meeting(self, series: MeetingSeries) -> EventLoop:
        """A recurring meeting: each attendee is asked for, ahead of casework waiting for
        the same staff, and held for the meeting's length once free."""
        env, rec = self.env, self.rec
        yield env.timeout(self.phase(series.phase_key) * series.every_days)
        while True:
            sits_in_window = rec.warmup <= env.now < rec.end
            if sits_in_window:
                rec.meetings.append(
                    (series.key, env.now, series.attendee_count, series.attendee_count * series.duration_hours)
                )
            for org, role, n in series.attendees:
                pool = rec.staff[(org, role)]
                if sits_in_window:
                    pool.hours[MEETING] += n * series.duration_hours
                days = series.duration_hours / pool.hours_per_day
                for _ in range(n):
                    pool.request(days, (series.duration_hours, None), PRIORITY_MEETING, notify=False)
            yield env.timeout(series.every_days)

    # -- running --------------------------------------------------------------------------

    def run(self) -> Recorder:
        times, zones = self.arrivals()
        counts = np.bincount(zones, minlength=len(self.cfg.zones)).tolist()
        self.zone_counts = dict(zip(self.cfg.zone_ids(), counts, strict=True))
        self.rec.admit(times, zones)
        self.env.process(self.source(times, zones))
        for series in self.geo.meeting_series:
            self.env.process(self.meeting(series))
        self.env.run(until=self.end)
        if self.rec.trust.count(-1):  # the source admits everyone before the end
            raise RuntimeError("internal error: some patients were never admitted")
        self.rec.events = self.env.scheduled
        return self.rec


class _UniformBlocks:
    """A zone's patients' rows of uniform numbers, drawn a block at a time in order.

    A row is a view of its block (a ``memoryview``, which reads out Python floats):
    a patient makes only the floats it reads, when it reads them, where a list would
    make every slot's float at once, most never read."""

    def __init__(self, gen: np.random.Generator, width: int):
        self.gen = gen
        self.width = width
        self.first = -UNIFORM_BLOCK
        self.block: Row = memoryview(b"").cast("d")

    def row(self, index: int) -> Row:
        while index >= self.first + UNIFORM_BLOCK:
            self.block = self.gen.random(UNIFORM_BLOCK * self.width).data  # type: ignore[assignment]
            self.first += UNIFORM_BLOCK
        if index < self.first:
            raise ValueError("patients' rows are drawn in order")
        start = (index - self.first) * self.width
        return self.block[start : start + self.width]


class _Driven(SelfEvent):
    """Runs a journey up to the next thing it waits for, and again from there when
    that happens.

    This is what ``env.process`` does, without the two events a SimPy process costs
    to start and to finish: a journey is never interrupted and nobody waits for it
    to end, so those events would carry nothing.  A journey waits either for an
    event (a pool's grant) or, when it yields a time, for the clock to reach that
    time: then the driver puts itself in the event queue as the event, so catching
    up with the clock costs no new event object (a ``Timeout`` would, and the order
    of events is the same: it is scheduled at the same point, with the same delay).
    An exception in a journey stops the run, as it would from a process."""

    __slots__ = ("env", "journey")  # a journey waiting for a time is sent None (_value)

    def __init__(self, env: simpy.Environment, journey: Journey, start: float):
        self.journey = journey
        self.env = env
        self.callbacks = [self]
        env.schedule(self, NORMAL, start - env.now)  # type: ignore[arg-type]

    def __call__(self, event: simpy.Event | SelfEvent) -> None:
        try:
            waits_for = self.journey.send(event._value)
        except StopIteration:
            return
        if isinstance(waits_for, float):
            self.callbacks = [self]
            env = self.env
            env.schedule(self, NORMAL, waits_for - env.now)  # type: ignore[arg-type]
        else:
            waits_for.callbacks.append(self)


def _pick(cdf: list[float], u: float) -> int:
    """Inverse of a discrete distribution given by its cumulative weights."""
    return min(bisect.bisect_right(cdf, u * cdf[-1]), len(cdf) - 1)


def next_sitting(t: float, every: float, phase: float) -> float:
    """The first sitting at or after ``t`` of a body sitting every ``every`` days from ``phase``."""
    k = math.ceil((t - phase) / every - 1e-12)
    return phase + max(k, 0) * every if t > phase else phase
