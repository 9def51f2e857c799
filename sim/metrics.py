"""Tables from one run: every quantity is defined once here (see DESIGN.md).

Patients' rows cover the whole run; the summary and the workload are measured over
the window from the end of warm-up to the end of the run:

* rates per discharge divide what was completed in the window (handovers accepted,
  gaps closed by the service starting) by the discharges in the window (journeys'
  hospital stays completed there), which in steady state is the mean per journey
  without dropping the long journeys still open at the end.  Counted by when they
  started instead, the handovers and gaps still open at the end would be lost, and
  the longest most often (a failed handover's rework, a long wait for a care home):
  0.2% to 0.9% too few in the shipped configurations.  Counted by when they end,
  those open at the start of the window stand in for them;
* delayed days per discharge is the mean over patients discharged in the window;
  bed days lost is the time-integral of patients awaiting discharge in the window,
  so it counts the patients still waiting at the end too.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.config import Pathway
from sim.geography import INTERFACE_COLUMNS
from sim.model import CASEWORK, HANDOVER_COLUMNS, MEETING, REWORK, HandoverLog, Recorder

HEADLINE: dict[str, str] = {
    "handovers_per_discharge": "Handovers between organisations per discharge",
    "failed_handovers_per_100": "Failed handovers per 100 handovers",
    "gap_events_per_discharge": "Gaps in care over the threshold per discharge",
    "gap_days_per_discharge": "Gap days per discharge",
    "delayed_days_per_discharge": "Delayed days per discharge",
    "bed_days_lost": "Bed days lost in the measured period",
    "decision_wait_days_per_discharge": "Days waiting for funding decisions per discharge",
    "meetings_per_week": "Meetings a week",
    "meeting_hours_per_week": "Staff hours in meetings a week",
    "interface_hours_per_week": "Staff hours a week the interfaces cost",
    "coordination_fte": "Coordination staff (FTE)",
}
"""The headline figures: summary columns compared across scenarios, with plain labels."""

TABLES = ("patients", "handovers", "workload", "interfaces", "meetings", "awaiting", "summary")
STEP_TIMES = ("sent", "accepted", "started", "ended")
# The staff time an interface costs, as the interfaces table gives it: the sender's
# referrals and rework of the handovers across it, the pair's meetings, and their sum
INTERFACE_HOURS = ("referral_hours_per_week", "rework_hours_per_week", "meeting_hours_per_week", "staff_hours_per_week")
# What the interfaces table adds, from the run, to what the configuration says of each pair
INTERFACE_COSTS = (
    "handovers",
    "handovers_per_week",
    "failed_handovers",
    "meetings",
    "meetings_per_week",
    *INTERFACE_HOURS,
)


DELAY_PARTS: dict[str, str] = {
    "referrals": "Referrals, sent to taken on (reworked ones too)",
    "decisions": "Funding decisions",
    "waiting": "Waiting for staff, a bed or a care package",
    "work": "Assessments and other work before leaving (a home made ready too)",
    "provider": "A care home's own assessment, where no trusted assessor covers the patient",
}
"""The parts a discharged patient's delayed days (ready to discharge) are made of."""


def delay_columns(pathways: dict[str, Pathway]) -> list[str]:
    """The patients' columns :func:`delay_parts` reads."""
    names = {s.name for pw in pathways.values() for s in pw.steps[: pw.discharge_index + 1]}
    steps = [f"{n}_{w}" for n in sorted(names) for w in STEP_TIMES]
    assessed = any(s.provider_assessment_days is not None for pw in pathways.values() for s in pw.steps)
    return ["pathway", "discharged", "decision_wait_days", *steps, *(["provider_assessment_days"] * assessed)]


def delay_parts(patients: pd.DataFrame, pathways: dict[str, Pathway]) -> pd.DataFrame:
    """Each patient's delayed days, ready to discharge, in the parts of ``DELAY_PARTS``,
    which add up to them for a patient discharged: over the steps up to the one that
    discharges the patient (with none, every step), the time from each referral sent to
    accepted; then to the step's start, a provider's own assessment at the discharging
    step and the rest of the wait (for staff, or for a bed or a care package at the
    discharging step); the step's work, to its end, before the next referral is sent;
    and a funding decision's wait, out of the work of the step it follows or out of the
    wait at the discharging step.  NaN for a patient not discharged."""
    out = np.zeros((len(patients), len(DELAY_PARTS)))
    pathway = patients["pathway"].to_numpy()
    discharged = patients["discharged"].to_numpy()
    assessed = patients.get("provider_assessment_days")  # not in tables made before it was modelled
    for name, pw in pathways.items():
        on = pathway == name
        if not on.any():
            continue
        at = pw.discharge_index  # len(steps) when the patient leaves after them all
        referrals, decisions, waiting, work = (np.zeros(int(on.sum())) for _ in range(4))
        for i, step in enumerate(pw.steps[: at + 1]):
            sent, accepted, started, ended = (patients[f"{step.name}_{w}"].to_numpy()[on] for w in STEP_TIMES)
            took = ~np.isnan(sent)  # a step only some patients need
            leaving = i == at  # the step that discharges the patient
            referrals += np.where(took, accepted - sent, 0.0)
            waiting += np.where(took, (discharged[on] if leaving else started) - accepted, 0.0)
            if not leaving:
                work += np.where(took, ended - started, 0.0)
        # A decision at a step before the discharging one waits after that step's work
        # (model.journey), so it is part of the step's start to end; at the discharging
        # step it comes before the bed, so part of the wait.  Decided both ways, or
        # after discharge too, the parts cannot be told apart: the wait stays where it is.
        before = any(s.decision for s in pw.steps[:at])
        at_leaving = any(s.decision for s in pw.steps[at : at + 1])
        if before != at_leaving and not any(s.decision for s in pw.steps[at + 1 :]):
            decisions += patients["decision_wait_days"].to_numpy()[on]
            if before:
                work -= decisions
            else:
                waiting -= decisions
        provider = np.zeros_like(waiting) if assessed is None else assessed.to_numpy()[on]
        waiting -= provider
        out[on] = np.column_stack([referrals, decisions, waiting, work, provider])
    out[np.isnan(discharged)] = np.nan
    return pd.DataFrame(out, index=patients.index, columns=list(DELAY_PARTS))


GAP_PARTS: dict[str, str] = {
    "transit": "In transit: from one team letting the patient go to the next taking them on",
    "first_visit": "Waiting to start: from leaving hospital, or being taken on, to the first visit",
}
"""The parts a discharged patient's gap days in care are made of: DESIGN.md's two kinds of gap."""


def gap_columns(pathways: dict[str, Pathway]) -> list[str]:
    """The patients' columns :func:`gap_parts` reads."""
    names = {s.name for pw in pathways.values() for s in pw.steps[pw.discharge_index :]}
    return ["pathway", "discharged", *(f"{n}_{w}" for n in sorted(names) for w in STEP_TIMES)]


def gap_parts(patients: pd.DataFrame, pathways: dict[str, Pathway]) -> pd.DataFrame:
    """Each patient's gap days in care (after discharge) in the parts of ``GAP_PARTS``, which
    add up to them, and by the service whose start they wait for (a column ``before:STEP``
    for each step after discharge): from leaving hospital to the start of the step that
    discharged the patient (a first visit at home, say), waiting to start; and for each
    step after it, from its referral, sent as the one before lets the patient go, to
    accepted, in transit, then to its start, waiting to start.  A step's times are
    recorded when it ends, so on a journey still under way a gap the model has logged
    (once the service's first work is done) may not be here yet: the parts add up to the
    gap days of a journey that has ended.  NaN for a patient not discharged."""
    steps = list(dict.fromkeys(s.name for pw in pathways.values() for s in pw.steps[pw.discharge_index :]))
    columns = [*GAP_PARTS, *(f"before:{name}" for name in steps)]
    out = pd.DataFrame(0.0, index=patients.index, columns=columns)
    pathway = patients["pathway"].to_numpy()
    left = patients["discharged"].to_numpy()
    for name, pw in pathways.items():
        on = pathway == name
        if not on.any():
            continue
        for i, step in enumerate(pw.steps[pw.discharge_index :]):
            sent, accepted, started = (patients[f"{step.name}_{w}"].to_numpy()[on] for w in STEP_TIMES[:3])
            began = ~np.isnan(started)  # a step only some need, or whose service has not started
            transit = np.where(began & (i > 0), accepted - sent, 0.0)
            waiting = np.where(began, started - (left[on] if i == 0 else accepted), 0.0)
            out.loc[on, "transit"] += transit
            out.loc[on, "first_visit"] += waiting
            out.loc[on, f"before:{step.name}"] += transit + waiting
    out[np.isnan(left)] = np.nan
    return out


def _spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v
            )
    return out


@dataclass
class RunResult:
    """The tables of one run, with the seed and configuration they came from."""

    config_name: str
    seed: int
    replication: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    wall_seconds: float = math.nan
    events: int = 0  # events the run scheduled

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def write(self, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
        """Write every table as Parquet and CSV; return the Parquet paths.  A folder
        that already holds files is left as it is unless ``force`` (then they are replaced)."""
        out = Path(out_dir)
        if not force and out.is_dir() and any(out.iterdir()):
            raise FileExistsError(f"{out}: already holds results; write elsewhere or give force=True to replace them")
        return write_tables(out, self.tables)


def write_tables(out_dir: str | Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write tables as NAME.parquet and NAME.csv, each atomically (temporary file, rename)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, df in tables.items():
        pq = out / f"{name}.parquet"
        with _whole(pq) as tmp:
            df.to_parquet(tmp, index=False)
        with _whole(out / f"{name}.csv") as tmp:
            _spreadsheet_safe(df).to_csv(tmp, index=False)
        written[name] = pq
    return written


@contextmanager
def _whole(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write, renamed to ``path`` once written: the
    file there is replaced whole or not at all.  One cut short (a full disk) goes."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def build_tables(rec: Recorder) -> dict[str, pd.DataFrame]:
    """The run's tables.  The recorder's per-patient and per-handover columns are
    released as soon as their tables exist, so that a large run does not hold both."""
    patients = patients_table(rec)  # first: it counts from the logs handovers_table lets go
    handovers = handovers_table(rec)
    workload = workload_table(rec)
    meetings = meetings_table(rec)
    interfaces = interfaces_table(rec, handovers, meetings)
    awaiting = awaiting_table(rec, patients)
    summary = summary_table(rec, patients, handovers, workload, meetings, interfaces)
    return {
        "patients": patients,
        "handovers": handovers,
        "workload": workload,
        "interfaces": interfaces,
        "meetings": meetings,
        "awaiting": awaiting,
        "summary": summary,
    }


PATIENT_FLOATS = ("ready", "discharged", "journey_end")


TEXT = pd.Series(["text"]).dtype
"""The dtype pandas gives a column of text: ``str``, kept in Arrow, from pandas 3 on
(``object`` before)."""


def _names(names: list[str], codes: Any) -> Any:
    """A column of names looked up from codes (an ``array`` of int32, or a numpy
    array of integers), of the dtype pandas gives text.  When pandas keeps text in
    Arrow the column is looked up in Arrow: five times quicker than pandas converting
    a column of Python strings, a tenth of a second or more a column for all England."""
    if isinstance(codes, array):
        codes = np.frombuffer(codes, dtype=np.int32)
    if isinstance(TEXT, pd.StringDtype) and TEXT.storage == "pyarrow":
        return pd.array(pa.array(names, pa.large_string()).take(pa.array(codes)), dtype=TEXT)
    return np.asarray(names, dtype=object)[codes]


def _patient_counts(rec: Recorder) -> dict[str, np.ndarray]:
    """Each patient's handovers, failed attempts and gaps in care, counted from the
    handover and gap logs (each gap's days added in the order they happened)."""
    n, log = rec.n, rec.handovers
    patient = log.column("patient")
    inter = log.column("inter").astype(bool)
    failed = log.column("failed")
    gap_patient = rec.gap_log.column("patient")
    gap_days = rec.gap_log.column("days")
    over = gap_days > rec.config.handovers.gap_event_threshold_days
    return {
        "inter_handovers": np.bincount(patient[inter], minlength=n),
        "intra_handovers": np.bincount(patient[~inter], minlength=n),
        "failed_handovers": np.bincount(patient, weights=failed, minlength=n).astype(np.int64),
        "gaps": np.bincount(gap_patient, minlength=n),
        "gap_events": np.bincount(gap_patient[over], minlength=n),
        "gap_days": np.bincount(gap_patient, weights=gap_days, minlength=n),
    }


def patients_table(rec: Recorder) -> pd.DataFrame:
    """One row per patient admitted, in order of arrival."""
    cfg, geo = rec.config, rec.geography
    end, n = rec.end, rec.n
    zone_ids = cfg.zone_ids()
    columns: dict[str, Any] = {
        "patient_id": np.arange(n, dtype=np.int64),
        "zone": _names(zone_ids, rec.zone),
        "trust": _names(rec.org_ids, rec.trust),
    }
    for t in reversed(list(geo.single)):  # the organisation serving each patient, by type
        lookup = geo.single[t]
        columns[t] = _names([lookup[z] for z in zone_ids], rec.zone)
    pathway = np.frombuffer(rec.pathway, dtype=np.int32)
    columns["pathway"] = _names(list(cfg.pathways), pathway)
    columns["admitted"] = rec.admitted
    for attr in PATIENT_FLOATS:
        columns[attr] = np.frombuffer(getattr(rec, attr), dtype=np.float64).copy()
    columns.update(_patient_counts(rec))
    columns["decision_wait_days"] = np.frombuffer(rec.decision_wait_days, dtype=np.float64).copy()
    columns["provider_assessment_days"] = np.frombuffer(rec.provider_assessment_days, dtype=np.float64).copy()
    ready, discharged = columns["ready"], columns["discharged"]
    waiting_at_end = ~np.isnan(ready) & np.isnan(discharged)
    with np.errstate(invalid="ignore"):
        columns["delayed_days"] = np.where(waiting_at_end, end - ready, discharged - ready)
    columns["delayed_days_censored"] = waiting_at_end
    status = np.where(np.isnan(discharged), 0, np.where(np.isnan(columns["journey_end"]), 1, 2))
    columns["status"] = _names(["in_hospital", "after_discharge", "complete"], status)
    columns["cohort"] = _names(["warmup", "measured"], (columns["admitted"] >= rec.warmup).astype(np.int8))
    # each step's times, in columns named after the step (steps of the same name on
    # different pathways share their columns)
    times = np.frombuffer(rec.step_times, dtype=np.float64).reshape(n, rec.step_width)
    needs = np.frombuffer(rec.needs, dtype=np.int32)
    optional = list(dict.fromkeys(s.name for pw in cfg.pathways.values() for s in pw.steps if s.optional))
    for name in optional:  # whether each patient needs a step only some need
        columns[f"{name}_needed"] = np.zeros(n, dtype=bool)
    for p, pathway_id in enumerate(cfg.pathways):
        on_pathway = pathway == p
        for i, step in enumerate(cfg.pathways[pathway_id].steps):
            if step.name in optional:
                needed = on_pathway & ((needs >> i) & 1).astype(bool) if step.optional else on_pathway
                columns[f"{step.name}_needed"] |= needed
            for j, what in enumerate(STEP_TIMES):
                name = f"{step.name}_{what}"
                if name not in columns:
                    columns[name] = np.full(n, np.nan)
                columns[name][on_pathway] = times[on_pathway, 4 * i + j]
    rec.release_patients()
    return pd.DataFrame(columns, copy=False)


def whole_journeys(patients: pd.DataFrame, lo: float, hi: float) -> tuple[pd.DataFrame, float]:
    """The patients discharged in the window [``lo``, ``hi``) whose journeys after
    discharge (handovers, gaps in care) are whole, and the day they were discharged
    before: the discharge of the first of them still on their way when the run ended.
    Those discharged later would count only the part of it before the end (in a year
    of Lancashire and South Cumbria, 9% of the discharges, with 8% too few gap days a
    discharge among them all); chosen by when they left, not by whether they finished,
    the earlier ones are no shorter than any others.  No earlier than halfway through
    the window, where a service is so overloaded that someone waits for it from the
    start: then a little is cut short rather than half the patients left out.
    ``patients`` needs ``discharged`` and ``journey_end``."""
    left = patients["discharged"]
    window = patients[(left >= lo) & (left < hi)]
    going = window.loc[window["journey_end"].isna(), "discharged"]
    until = max(float(going.min()), lo + (hi - lo) / 2) if len(going) else hi
    return window[window["discharged"] < until], until


def handovers_table(rec: Recorder) -> pd.DataFrame:
    """One row per handover accepted, by patient and then time sent."""
    log = rec.handovers
    patient = log.column("patient")
    sent = log.column("sent")
    order = np.lexsort((sent, patient))
    inter = log.column("inter")[order]  # 1 between organisations, 0 within one
    table = pd.DataFrame(
        {
            "patient_id": patient[order],
            "step": _names(rec.step_names, log.column("step")[order]),
            "kind": _names(["intra", "inter"], inter),
            "from_org": _names(rec.org_ids, log.column("sender")[order]),
            "to_org": _names(rec.org_ids, log.column("receiver")[order]),
            "sent": sent[order],
            "accepted": log.column("accepted")[order],
            "failed": log.column("failed")[order],
            "referral_hours": log.column("referral_hours")[order],
            "rework_hours": log.column("rework_hours")[order],
            "in_hospital": log.column("in_hospital")[order].astype(bool),
        },
        columns=list(HANDOVER_COLUMNS),
        copy=False,
    )
    rec.handovers = HandoverLog()
    return table


def awaiting_table(rec: Recorder, patients: pd.DataFrame) -> pd.DataFrame:
    """Patients awaiting discharge (ready, not yet discharged) at the start of each day."""
    days = np.arange(math.ceil(rec.end), dtype=np.float64)
    ready = np.sort(patients["ready"].dropna().to_numpy())
    gone = np.sort(patients["discharged"].dropna().to_numpy())
    count = np.searchsorted(ready, days, side="right") - np.searchsorted(gone, days, side="right")
    return pd.DataFrame({"day": days, "awaiting_discharge": count.astype(np.int64)})


def bed_days_awaiting(rec: Recorder, patients: pd.DataFrame) -> float:
    """Patient-days spent awaiting discharge inside the window (the time-integral of
    the number awaiting), counting those still waiting at the end."""
    lo, hi = rec.warmup, rec.end
    ready = patients["ready"].to_numpy()
    waited = ~np.isnan(ready)
    start = np.maximum(ready[waited], lo)
    stop = np.minimum(np.nan_to_num(patients["discharged"].to_numpy()[waited], nan=hi), hi)
    return float(np.clip(stop - start, 0.0, None).sum())


def overloaded(rec: Recorder) -> list[str]:
    """The staff and capacity that had more to do than they could: those with somebody
    waiting for them at the end of the run, without a break since before the middle of
    the measured window (their queue never emptied in its second half, so it was still
    growing, or at best not coming down).  As ``organisation:role`` or, for capacity
    commissioned together, ``a+b:capacity``.  A configuration with any is not in a
    steady state: its waits grow with the length of the run."""
    middle = rec.warmup + (rec.end - rec.warmup) / 2
    pools: dict[int, tuple[Any, list[tuple[str, str]]]] = {}
    for key, pool in [*rec.staff.items(), *rec.slots.items()]:
        pools.setdefault(id(pool), (pool, []))[1].append(key)
    out = []
    for pool, keys in pools.values():
        if pool.waiting and pool.queued_since <= middle:
            out.append(f"{'+'.join(org for org, _ in keys)}:{keys[0][1]}")
    return sorted(out)


def workload_table(rec: Recorder) -> pd.DataFrame:
    cfg = rec.config
    weeks = (rec.end - rec.warmup) / 7.0
    rows = []
    for (org, role), pool in rec.staff.items():
        total = sum(pool.hours.values())
        available = pool.count * pool.hours_per_day * (rec.end - rec.warmup)
        busy = pool.busy_days_in_window * pool.hours_per_day
        rows.append(
            {
                "organisation": org,
                "organisation_type": cfg.organisations[org].type,
                "role": role,
                "staff": pool.count,
                "hours_per_week_each": pool.hours_per_day * 7.0,
                "casework_hours": pool.hours[CASEWORK],
                "rework_hours": pool.hours[REWORK],
                "meeting_hours": pool.hours[MEETING],
                "total_hours": total,
                "busy_hours": busy,
                "available_hours": available,
                "utilisation": busy / available if math.isfinite(available) and available > 0 else math.nan,
                "hours_per_week": total / weeks,
                "meeting_hours_per_week": pool.hours[MEETING] / weeks,
                "fte": total / weeks / cfg.fte_hours_per_week,
                "tasks": pool.tasks,
            }
        )
    return pd.DataFrame(rows)


def meetings_table(rec: Recorder) -> pd.DataFrame:
    weeks = (rec.end - rec.warmup) / 7.0
    held = pd.DataFrame(rec.meetings, columns=["key", "day", "attendees", "hours"])
    counts = held.groupby("key").size() if len(held) else pd.Series(dtype=float)
    rows = []
    for s in rec.geography.meeting_series:
        n = int(counts.get(s.key, 0))
        rows.append(
            {
                "meeting": s.key,
                "policy": s.policy,
                "organisations": "+".join(s.organisations),
                "every_days": s.every_days,
                "duration_hours": s.duration_hours,
                "attendees": s.attendee_count,
                "sittings": n,
                "attendee_hours": n * s.duration_hours * s.attendee_count,
                "sittings_per_week": n / weeks,
                "attendee_hours_per_week": n * s.duration_hours * s.attendee_count / weeks,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "meeting",
            "policy",
            "organisations",
            "every_days",
            "duration_hours",
            "attendees",
            "sittings",
            "attendee_hours",
            "sittings_per_week",
            "attendee_hours_per_week",
        ],
    )


def interfaces_table(rec: Recorder, handovers: pd.DataFrame, meetings: pd.DataFrame) -> pd.DataFrame:
    """One row per pair of organisations that exchange patients or meet as a pair: the
    handovers between them accepted in the measured period and the staff time they cost
    (the sender's referrals and rework of failed ones), and the meetings of the pair."""
    geo = rec.geography
    weeks = (rec.end - rec.warmup) / 7.0
    pairs: set[tuple[str, str]] = {tuple(sorted(k)) for k in geo.expected_flows}  # type: ignore[misc]
    inter = handovers.loc[
        (handovers["kind"] == "inter") & (handovers["accepted"] >= rec.warmup),
        ["from_org", "to_org", "failed", "referral_hours", "rework_hours"],
    ]
    by_direction = inter.groupby(["from_org", "to_org"], sort=False).agg(
        n=("failed", "size"),
        failed=("failed", "sum"),
        referral=("referral_hours", "sum"),
        rework=("rework_hours", "sum"),
    )
    sim_counts: dict[tuple[str, str], np.ndarray] = {}
    for (a, b), counts in zip(by_direction.index, by_direction.to_numpy(dtype=float), strict=True):
        key = (a, b) if a <= b else (b, a)
        pairs.add(key)
        sim_counts[key] = sim_counts.get(key, 0.0) + counts
    pair_meetings: dict[tuple[str, str], list[float]] = {}
    for _, m in meetings.iterrows():
        orgs = m["organisations"].split("+")
        if len(orgs) == 2:
            key = (orgs[0], orgs[1]) if orgs[0] <= orgs[1] else (orgs[1], orgs[0])
            pairs.add(key)
            c = pair_meetings.setdefault(key, [0.0, 0.0])
            c[0] += m["sittings"]
            c[1] += m["attendee_hours"]
    rows = []
    for a, b in sorted(pairs):
        n, failed, referral, rework = sim_counts.get((a, b), np.zeros(4))
        sittings, hours = pair_meetings.get((a, b), [0.0, 0.0])
        rows.append(
            {
                **geo.interface(a, b),
                "handovers": int(n),
                "handovers_per_week": n / weeks,
                "failed_handovers": int(failed),
                "meetings": int(sittings),
                "meetings_per_week": sittings / weeks,
                "referral_hours_per_week": referral / weeks,
                "rework_hours_per_week": rework / weeks,
                "meeting_hours_per_week": hours / weeks,
                "staff_hours_per_week": (referral + rework + hours) / weeks,
            }
        )
    table = pd.DataFrame(rows, columns=[*INTERFACE_COLUMNS, *INTERFACE_COSTS])
    if rows:
        return table
    # no organisation hands a patient to another: typed as a table with rows would be
    # (the pair's ids and types are text, the rest numbers)
    whole = ("handovers", "failed_handovers", "meetings")
    return table.astype({c: "int64" if c in whole else "float64" for c in table.columns[4:]})


def exchanging(interfaces: pd.DataFrame) -> pd.Series:
    """The rows of an interfaces table that are interfaces: pairs that exchange patients,
    whichever way (not two councils' joint board, which meet but hand no one over)."""
    return interfaces["expected_flow_per_week"] > 0


def summary_table(
    rec: Recorder,
    patients: pd.DataFrame,
    handovers: pd.DataFrame,
    workload: pd.DataFrame,
    meetings: pd.DataFrame,
    interfaces: pd.DataFrame,
) -> pd.DataFrame:
    lo, hi = rec.warmup, rec.end
    weeks = (hi - lo) / 7.0
    in_window = lambda s: (s >= lo) & (s < hi)  # noqa: E731
    discharged = patients.loc[in_window(patients["discharged"]), ["delayed_days", "decision_wait_days"]]
    n_dis = len(discharged)
    ho = handovers[in_window(handovers["accepted"])]
    inter = ho[ho["kind"] == "inter"]
    gap_start, gap_days = rec.gap_log.column("start"), rec.gap_log.column("days")
    gap_days = gap_days[in_window(gap_start + gap_days)]
    threshold = rec.config.handovers.gap_event_threshold_days
    bed_days = bed_days_awaiting(rec, patients)
    crossing = exchanging(interfaces)

    def per_discharge(x: float) -> float:
        return x / n_dis if n_dis else math.nan

    casework = float(workload["casework_hours"].sum()) if len(workload) else 0.0
    rework = float(workload["rework_hours"].sum()) if len(workload) else 0.0
    meeting_hours = float(workload["meeting_hours"].sum()) if len(workload) else 0.0
    fte_h = rec.config.fte_hours_per_week
    row: dict[str, Any] = {
        "config": rec.config.name,
        "seed": rec.seed,
        "replication": rec.replication,
        "run_days": hi,
        "warmup_days": lo,
        "admitted": int(in_window(patients["admitted"]).sum()),
        "discharged": n_dis,
        "discharges_per_week": n_dis / weeks,
        "in_hospital_at_end": int(patients["discharged"].isna().sum()),
        "in_system_at_end": int(patients["journey_end"].isna().sum()),
        "handovers_per_discharge": per_discharge(len(inter)),
        "intra_handovers_per_discharge": per_discharge(len(ho) - len(inter)),
        "failed_handovers": int(inter["failed"].sum()),
        "failed_handovers_per_100": 100.0 * inter["failed"].sum() / len(inter) if len(inter) else math.nan,
        "gaps_per_discharge": per_discharge(len(gap_days)),
        "gap_events_per_discharge": per_discharge(int((gap_days > threshold).sum())),
        "gap_days_per_discharge": per_discharge(float(gap_days.sum())),
        "delayed_days_per_discharge": float(discharged["delayed_days"].mean()) if n_dis else math.nan,
        "bed_days_lost": bed_days,
        "mean_awaiting_discharge": bed_days / (hi - lo),
        "decision_wait_days_per_discharge": float(discharged["decision_wait_days"].mean()) if n_dis else math.nan,
        "interfaces": int(crossing.sum()),
        "meetings_per_week": float(meetings["sittings"].sum()) / weeks if len(meetings) else 0.0,
        "meeting_hours_per_week": meeting_hours / weeks,
        "interface_hours_per_week": float(interfaces.loc[crossing, "staff_hours_per_week"].sum()),
        "casework_hours_per_week": casework / weeks,
        "rework_hours_per_week": rework / weeks,
        "coordination_fte": (casework + rework + meeting_hours) / weeks / fte_h,
        "meeting_fte": meeting_hours / weeks / fte_h,
        "overloaded": "; ".join(overloaded(rec)),
    }
    return pd.DataFrame([row])
