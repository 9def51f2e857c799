"""Consolidated results of an experiment, read only from the run files it wrote.

* ``runs``: one row per run with its scenario, sweep point, factor values,
  replication and headline metrics;
* ``scenario_summary``: per scenario and sweep point, each headline metric's mean,
  SD, 95% confidence interval (Student's t) and n;
* ``differences``: each scenario against the baseline at the same sweep point,
  paired by replication (the runs share their random numbers, so the pairs' CIs
  are tight), with the relative change;
* ``sensitivity``: for Latin hypercube sweeps, each factor's partial rank
  correlation with each headline metric, ranked;
* ``failures``: runs that raised, with their tracebacks.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment import Experiment, RunSpec, points_to_rank
from sim.metrics import HEADLINE, write_tables
from sim.model import RESULTS_VERSION
from sim.runner import Store

CONSOLIDATED = ("runs", "scenario_summary", "differences", "sensitivity", "failures")
PACKAGES = (
    "simpy",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "ruamel.yaml",
    "matplotlib",
    "dask",
    "distributed",
    "handover-sim",
)


STATS = ["n", "mean", "sd", "ci_low", "ci_high", "half_width"]


def mean_ci(x: pd.Series) -> dict[str, float]:
    x = x.astype(float).dropna()
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)) if n > 1 else math.nan
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "half_width": half}


def paired_p_value(mean: float, sd: float, n: int) -> float:
    """The two-sided p-value of Student's t for a mean difference of ``n`` pairs (the
    test the 95% interval inverts): 0 for differences all alike and not 0, NaN under 2."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 0.0 if mean != 0 else 1.0
    return float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))


def not_clear_together(p_values: Any, alpha: float = 0.05) -> np.ndarray:
    """Of many tests read together, those clear alone (p below ``alpha``) that do not
    stay clear with the false discovery rate over them all held at ``alpha`` (Benjamini
    and Hochberg, 1995, as ``scipy.stats.false_discovery_control``): among many, some
    look clear by chance.  A NaN p-value (nothing to test) is neither."""
    p = np.asarray(p_values, dtype=float)
    tested = np.isfinite(p)
    q = np.full(p.shape, np.nan)
    if tested.any():
        q[tested] = stats.false_discovery_control(p[tested])
    return np.asarray((p < alpha) & ~(q < alpha))


def half_width_pct(x: pd.Series) -> float:
    """The 95% CI half-width (Student's t) of the mean of ``x`` as a percentage of the
    mean's size: infinite for a mean of 0 with any spread, NaN under 2 values."""
    ci = mean_ci(x)
    if ci["n"] < 2:
        return math.nan
    if ci["mean"] == 0:
        return math.inf if ci["half_width"] > 0 else 0.0
    return 100 * ci["half_width"] / abs(ci["mean"])


MSER_BATCH = 5  # MSER-5: means of five observations (days) at a time


def mser_last_searched(length: int, batch: int = MSER_BATCH) -> int:
    """The furthest truncation `mser_truncation` considers in a series of ``length``:
    half its whole batches, in observations."""
    return length // batch // 2 * batch


def mser_truncation(series: np.ndarray, batch: int = MSER_BATCH) -> int | None:
    """Where a run's start from empty ends, by MSER-5 (White, 1997; Hoad, Robinson and
    Davies, 2010): over the means of ``batch`` observations at a time, the number ``d``
    of them to leave out that makes the standard error of the mean of the rest smallest,
    searched over the first half (later minima are an artefact of the few left, so the
    method looks no further), given in observations (days, for a daily count).  None
    for a series of under four batches, too short to tell."""
    n = len(series) // batch
    if n < 4:
        return None
    y = np.asarray(series[: n * batch], dtype=float).reshape(n, batch).mean(axis=1)
    y -= y.mean()  # the same deviations, with less to cancel
    d = np.arange(mser_last_searched(len(series), batch) // batch + 1)
    tail = np.cumsum(y[::-1])[::-1][d]  # sums of y[d:]
    tail_sq = np.cumsum((y * y)[::-1])[::-1][d]
    left = n - d
    sse = np.maximum(tail_sq - tail * tail / left, 0.0)  # sum of squared deviations of y[d:]
    return int(np.argmin(sse / (left * left))) * batch


def factor_columns(table: pd.DataFrame) -> list[str]:
    """The sweep's factors in a consolidated table (runs, scenario_summary, differences):
    the columns between ``point`` and the first of ``replication`` or ``metric``, where
    each table puts them. A factor may be any key, dotted or not (fte_hours_per_week)."""
    columns = list(table.columns)
    if "point" not in columns:
        return []
    start = columns.index("point") + 1
    end = next((i for i in range(start, len(columns)) if columns[i] in ("replication", "metric")), start)
    return columns[start:end]


def runs_table(experiment: Experiment, plan: list[RunSpec], store: Store) -> pd.DataFrame:
    factor_keys = list(experiment.points[0])
    rows = []
    for spec in plan:
        if not store.finished(spec.run_id):
            continue
        summary = store.read_table(spec.run_id, "summary").iloc[0].to_dict()
        meta = store.read_meta(spec.run_id)
        row: dict[str, Any] = {
            "run_id": spec.run_id,
            "scenario": spec.scenario,
            "baseline": spec.scenario == experiment.spec.baseline,
            "point": spec.point,
            **{k: spec.factors.get(k) for k in factor_keys},
            "replication": spec.replication,
            "seed": spec.seed,
            "config_hash": spec.config_hash,
            "wall_seconds": meta["wall_seconds"],
        }
        row.update({k: v for k, v in summary.items() if k not in ("seed", "replication", "config")})
        rows.append(row)
    if not rows:  # every run failed (or none has run yet): no rows, but the columns the tables read
        ids = ["run_id", "scenario", "baseline", "point", *factor_keys, "replication", "seed", "config_hash"]
        return pd.DataFrame(columns=[*ids, "wall_seconds", *HEADLINE])
    return pd.DataFrame(rows)


def scenario_summary(runs: pd.DataFrame, factor_keys: list[str]) -> pd.DataFrame:
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=["scenario", "point", *factor_keys, "metric", "label", *STATS])
    for (scenario, point), g in runs.groupby(["scenario", "point"], sort=False):
        for metric, label in HEADLINE.items():
            rows.append(
                {
                    "scenario": scenario,
                    "point": point,
                    **{k: g[k].iloc[0] for k in factor_keys},
                    "metric": metric,
                    "label": label,
                    **mean_ci(g[metric]),
                }
            )
    return pd.DataFrame(rows)


def differences(runs: pd.DataFrame, baseline: str, factor_keys: list[str]) -> pd.DataFrame:
    cols = [
        "scenario",
        "baseline",
        "point",
        *factor_keys,
        "metric",
        "label",
        *STATS,
        "baseline_mean",
        "relative_change_pct",
    ]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    base = runs[runs["scenario"] == baseline].set_index(["point", "replication"])
    rows = []
    for (scenario, point), g in runs[runs["scenario"] != baseline].groupby(["scenario", "point"], sort=False):
        paired = g.set_index(["point", "replication"]).join(base[list(HEADLINE)].add_suffix("__base"), how="inner")
        for metric, label in HEADLINE.items():
            d = paired[metric].astype(float) - paired[f"{metric}__base"].astype(float)
            stats_ = mean_ci(d)
            base_mean = float(paired[f"{metric}__base"].astype(float).mean()) if len(paired) else math.nan
            rel = 100 * stats_["mean"] / base_mean if base_mean else math.nan
            rows.append(
                {
                    "scenario": scenario,
                    "baseline": baseline,
                    "point": point,
                    **{k: g[k].iloc[0] for k in factor_keys},
                    "metric": metric,
                    "label": label,
                    **stats_,
                    "baseline_mean": base_mean,
                    "relative_change_pct": rel,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def prcc(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Partial rank correlation of each column of ``x`` with ``y``, and its p-value.

    Both are NaN where ``y`` does not vary: a metric the factors leave alone (meetings
    a week when no factor touches meetings) can still differ in its last digits from
    one point to the next, and ranking those digits would give it a correlation of
    nothing but rounding."""
    n, k = x.shape
    coef = np.full(k, np.nan)
    p = np.full(k, np.nan)
    if np.ptp(y) <= 1e-9 * max(1.0, float(np.abs(y).max())):
        return coef, p
    rx = np.column_stack([stats.rankdata(x[:, j]) for j in range(k)])
    ry = stats.rankdata(y)
    for j in range(k):
        others = np.column_stack([np.ones(n), np.delete(rx, j, axis=1)])
        res_x = rx[:, j] - others @ np.linalg.lstsq(others, rx[:, j], rcond=None)[0]
        res_y = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
        if res_x.std() == 0 or res_y.std() == 0:
            continue
        r = float(np.corrcoef(res_x, res_y)[0, 1])
        dof = n - 2 - (k - 1)
        coef[j] = r
        if dof > 0:
            # |r| of 1 (to rounding): the ranks agree exactly, as certain as it gets
            t = r * math.sqrt(dof / (1 - r * r)) if abs(r) < 1 - 1e-12 else math.copysign(math.inf, r)
            p[j] = float(2 * stats.t.sf(abs(t), dof))
    return coef, p


def sensitivity(runs: pd.DataFrame, factor_keys: list[str]) -> pd.DataFrame:
    cols = ["scenario", "metric", "label", "factor", "prcc", "p_value", "rank"]
    if runs.empty or not factor_keys:
        return pd.DataFrame(columns=cols)
    rows = []
    for scenario, g in runs.groupby("scenario", sort=False):
        by_point = g.groupby("point")[[*factor_keys, *HEADLINE]].mean(numeric_only=True)
        if len(by_point) < points_to_rank(len(factor_keys)):
            continue
        x = by_point[factor_keys].to_numpy(dtype=float)
        for metric, label in HEADLINE.items():
            y = by_point[metric].to_numpy(dtype=float)
            if np.isnan(y).any():
                continue
            coef, p = prcc(x, y)
            order = np.argsort(-np.nan_to_num(np.abs(coef), nan=-1))
            ranks = np.empty(len(order), dtype=int)
            ranks[order] = np.arange(1, len(order) + 1)
            rows += [
                {
                    "scenario": scenario,
                    "metric": metric,
                    "label": label,
                    "factor": f,
                    "prcc": coef[j],
                    "p_value": p[j],
                    "rank": int(ranks[j]),
                }
                for j, f in enumerate(factor_keys)
            ]
    return pd.DataFrame(rows, columns=cols)


def failures_table(plan: list[RunSpec], store: Store) -> pd.DataFrame:
    """One row for each run the plan asks for that failed, as `runs_table` has one for each
    that finished: a run two scenarios share (the same configuration) is a failed run of
    each, with the scenario, point and replication the plan gives it there."""
    rows = [
        {**store.read_failure(spec.run_id), **{k: getattr(spec, k) for k in ("scenario", "point", "replication")}}
        for spec in plan
        if store.failed(spec.run_id)
    ]
    cols = ["run_id", "scenario", "point", "factors", "replication", "seed", "error", "traceback"]
    df = pd.DataFrame(rows, columns=[*cols, "wall_seconds"])[cols] if rows else pd.DataFrame(columns=cols)
    df["factors"] = df["factors"].map(lambda f: json.dumps(f, sort_keys=True) if not isinstance(f, str) else f)
    return df


def consolidate(experiment: Experiment, plan: list[RunSpec], store: Store) -> dict[str, pd.DataFrame]:
    """Build and write the consolidated tables from the run files."""
    factor_keys = list(experiment.points[0])
    runs = runs_table(experiment, plan, store)
    is_lhs = experiment.spec.sweep is not None and experiment.spec.sweep.method == "latin_hypercube"
    tables = {
        "runs": runs,
        "scenario_summary": scenario_summary(runs, factor_keys),
        "differences": differences(runs, experiment.spec.baseline, factor_keys),
        "sensitivity": sensitivity(runs, factor_keys) if is_lhs else sensitivity(runs.iloc[0:0], []),
        "failures": failures_table(plan, store),
    }
    write_tables(store.root, tables)
    return tables


def _git(*args: str) -> subprocess.CompletedProcess[str] | None:
    """A git command in the package's folder; None where git or a repository is missing."""
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=here)
    except (OSError, subprocess.SubprocessError):
        return None


def _git_commit() -> str | None:
    out = _git("rev-parse", "HEAD")
    return (out.stdout.strip() or None) if out is not None and out.returncode == 0 else None


def _git_uncommitted() -> bool | None:
    """Whether the package's own files differ from the commit (None: not known), so
    that results made with changes nobody committed say so."""
    out = _git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return bool(out.stdout.strip()) if out is not None and out.returncode == 0 else None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_manifest(
    experiment: Experiment, plan: list[RunSpec], store: Store, timings: dict[str, Any], executor: str
) -> dict[str, Any]:
    cells = [
        {
            "scenario": c.scenario,
            "point": c.point,
            "factors": c.factors,
            "config_hash": c.config_hash,
            "patients": c.patients,
        }
        for c in experiment.cells
    ]
    finished = [s for s in plan if store.finished(s.run_id)]
    manifest = {
        "experiment": experiment.name,
        "experiment_file": str(experiment.path),
        "experiment_text": experiment.text,
        "resolved": experiment.spec.model_dump(mode="json"),
        "baseline": experiment.spec.baseline,
        "cells": cells,
        "runs_planned": len(plan),
        "runs_finished": len(finished),
        "runs_failed": sum(1 for s in plan if store.failed(s.run_id)),
        "seeds": sorted({s.seed for s in plan}),
        "replications": sorted({s.replication for s in plan}),
        "run_ids": [s.run_id for s in plan],
        "results_version": RESULTS_VERSION,
        "versions": versions(),
        "python": sys.version,
        "git_commit": _git_commit(),
        "git_uncommitted_changes": _git_uncommitted(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "node": platform.node(),
        },
        "executor": executor,
        "timings": {**timings, "run_seconds_total": sum(store.read_meta(s.run_id)["wall_seconds"] for s in finished)},
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = store.root / "manifest.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str))
    tmp.replace(path)
    return manifest
