"""Tables from one run: every quantity is defined once here (see DESIGN.md).

Patients' rows cover the whole run; the summary and the workload are measured over
the window from the end of warm-up to the end of the run:

* rates per discharge divide what happened in the window (handovers sent, gaps
  opened) by the discharges in the window, which in steady state is the mean per
  journey without dropping the long journeys still open at the end;
* delayed days per discharge is the mean over patients discharged in the window;
  bed days lost is the time-integral of patients awaiting discharge in the window,
  so it counts the patients still waiting at the end too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.model import CASEWORK, HANDOVER_COLUMNS, MEETING, REWORK, Recorder

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
    "coordination_fte": "Coordination staff (FTE)",
}
"""The headline figures: summary columns compared across scenarios, with plain labels."""

TABLES = ("patients", "handovers", "workload", "interfaces", "meetings", "awaiting", "summary")
STEP_TIMES = ("sent", "accepted", "started", "ended")


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

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every table as Parquet and CSV; return the Parquet paths."""
        return write_tables(out_dir, self.tables)


def write_tables(out_dir: str | Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write tables as NAME.parquet and NAME.csv, each atomically (temporary file, rename)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, df in tables.items():
        pq = out / f"{name}.parquet"
        tmp = pq.with_suffix(".parquet.tmp")
        df.to_parquet(tmp, index=False)
        tmp.replace(pq)
        csv = out / f"{name}.csv"
        tmp = csv.with_suffix(".csv.tmp")
        _spreadsheet_safe(df).to_csv(tmp, index=False)
        tmp.replace(csv)
        written[name] = pq
    return written


def build_tables(rec: Recorder) -> dict[str, pd.DataFrame]:
    """The run's tables.  The recorder's per-patient and per-handover rows are released
    as soon as their tables exist, so that a large run does not hold both at once."""
    patients = patients_table(rec)
    rec.patients = []
    handovers = pd.DataFrame(rec.handovers, columns=list(HANDOVER_COLUMNS))
    rec.handovers = []
    workload = workload_table(rec)
    meetings = meetings_table(rec)
    interfaces = interfaces_table(rec, handovers, meetings)
    awaiting = pd.DataFrame(rec.awaiting_series, columns=["day", "awaiting_discharge"])
    summary = summary_table(rec, patients, handovers, workload, meetings)
    return {
        "patients": patients,
        "handovers": handovers,
        "workload": workload,
        "interfaces": interfaces,
        "meetings": meetings,
        "awaiting": awaiting,
        "summary": summary,
    }


PATIENT_FLOATS = ("admitted", "ready", "discharged", "journey_end")
PATIENT_COUNTS = ("inter_handovers", "intra_handovers", "failed_handovers", "gaps", "gap_events")
PATIENT_DAYS = ("gap_days", "decision_wait_days")


def patients_table(rec: Recorder) -> pd.DataFrame:
    """One row per journey, built column by column straight into arrays."""
    cfg, geo = rec.config, rec.geography
    end = rec.end
    rows = rec.patients
    n = len(rows)

    def floats(attr: str) -> np.ndarray:
        return np.fromiter((getattr(p, attr) for p in rows), dtype=np.float64, count=n)

    def ints(attr: str) -> np.ndarray:
        return np.fromiter((getattr(p, attr) for p in rows), dtype=np.int64, count=n)

    zones = [p.zone for p in rows]
    columns: dict[str, Any] = {
        "patient_id": ints("id"),
        "zone": zones,
        "trust": [p.trust for p in rows],
    }
    for t in reversed(list(geo.single)):  # the organisation serving each patient, by type
        lookup = geo.single[t]
        columns[t] = [lookup[z] for z in zones]
    columns["pathway"] = [p.pathway for p in rows]
    for attr in PATIENT_FLOATS:
        columns[attr] = floats(attr)
    for attr in PATIENT_COUNTS:
        columns[attr] = ints(attr)
    for attr in PATIENT_DAYS:
        columns[attr] = floats(attr)
    ready, discharged = columns["ready"], columns["discharged"]
    waiting_at_end = ~np.isnan(ready) & np.isnan(discharged)
    with np.errstate(invalid="ignore"):
        columns["delayed_days"] = np.where(waiting_at_end, end - ready, discharged - ready)
    columns["delayed_days_censored"] = waiting_at_end
    columns["status"] = np.where(
        np.isnan(discharged), "in_hospital", np.where(np.isnan(columns["journey_end"]), "after_discharge", "complete")
    )
    columns["cohort"] = np.where(columns["admitted"] >= rec.warmup, "measured", "warmup")
    # each step's times, in columns named after the step, filled a pathway at a time
    by_pathway: dict[str, list[int]] = {}
    for k, p in enumerate(rows):
        by_pathway.setdefault(p.pathway, []).append(k)
    for pathway_id, index in by_pathway.items():
        steps = cfg.pathways[pathway_id].steps
        if not steps:
            continue
        times = np.full((len(index), 4 * len(steps)), np.nan)
        for r, k in enumerate(index):
            recorded = rows[k].step_times
            times[r, : len(recorded)] = recorded
        for i, step in enumerate(steps):
            for j, what in enumerate(STEP_TIMES):
                name = f"{step.name}_{what}"
                if name not in columns:
                    columns[name] = np.full(n, np.nan)
                columns[name][index] = times[:, 4 * i + j]
    return pd.DataFrame(columns, copy=False)


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
    """One row per pair of organisations that exchange patients or meet as a pair."""
    geo = rec.geography
    weeks = (rec.end - rec.warmup) / 7.0
    pairs: set[tuple[str, str]] = {tuple(sorted(k)) for k in geo.expected_flows}  # type: ignore[misc]
    inter = handovers[(handovers["kind"] == "inter") & (handovers["sent"] >= rec.warmup)]
    sim_counts: dict[tuple[str, str], list[float]] = {}
    for a, b, failed in zip(inter["from_org"], inter["to_org"], inter["failed"], strict=False):
        key = (a, b) if a <= b else (b, a)
        pairs.add(key)
        c = sim_counts.setdefault(key, [0.0, 0.0])
        c[0] += 1
        c[1] += failed
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
        n, failed = sim_counts.get((a, b), [0.0, 0.0])
        sittings, hours = pair_meetings.get((a, b), [0.0, 0.0])
        rows.append(
            {
                **geo.interface(a, b),
                "handovers": int(n),
                "handovers_per_week": n / weeks,
                "failed_handovers": int(failed),
                "meetings": int(sittings),
                "meetings_per_week": sittings / weeks,
                "meeting_hours_per_week": hours / weeks,
            }
        )
    return pd.DataFrame(rows)


def summary_table(
    rec: Recorder,
    patients: pd.DataFrame,
    handovers: pd.DataFrame,
    workload: pd.DataFrame,
    meetings: pd.DataFrame,
) -> pd.DataFrame:
    lo, hi = rec.warmup, rec.end
    weeks = (hi - lo) / 7.0
    in_window = lambda s: (s >= lo) & (s < hi)  # noqa: E731
    discharged = patients.loc[in_window(patients["discharged"]), ["delayed_days", "decision_wait_days"]]
    n_dis = len(discharged)
    ho = handovers[in_window(handovers["sent"])]
    inter = ho[ho["kind"] == "inter"]
    gaps = pd.DataFrame(rec.gaps, columns=["patient_id", "start", "days"])
    gaps = gaps[in_window(gaps["start"])]
    threshold = rec.config.handovers.gap_event_threshold_days

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
        "gaps_per_discharge": per_discharge(len(gaps)),
        "gap_events_per_discharge": per_discharge(int((gaps["days"] > threshold).sum())),
        "gap_days_per_discharge": per_discharge(float(gaps["days"].sum())),
        "delayed_days_per_discharge": float(discharged["delayed_days"].mean()) if n_dis else math.nan,
        "bed_days_lost": rec.awaiting_integral_days,
        "mean_awaiting_discharge": rec.awaiting_integral_days / (hi - lo),
        "decision_wait_days_per_discharge": float(discharged["decision_wait_days"].mean()) if n_dis else math.nan,
        "interfaces": int(sum(1 for v in rec.geography.expected_flows.values() if v > 0)),
        "meetings_per_week": float(meetings["sittings"].sum()) / weeks if len(meetings) else 0.0,
        "meeting_hours_per_week": meeting_hours / weeks,
        "casework_hours_per_week": casework / weeks,
        "rework_hours_per_week": rework / weeks,
        "coordination_fte": (casework + rework + meeting_hours) / weeks / fte_h,
        "meeting_fte": meeting_hours / weeks / fte_h,
    }
    return pd.DataFrame([row])
