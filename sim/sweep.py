"""``handover sweep``: plan, run and consolidate an experiment."""

from __future__ import annotations

import json
import math
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import (
    consolidate,
    factor_columns,
    half_width_pct,
    mser_last_searched,
    mser_truncation,
    not_clear_together,
    paired_p_value,
    write_manifest,
)
from sim.experiment import (
    ONE_REPLICATION,
    AutoReplications,
    Experiment,
    RunSpec,
    load_experiment,
    other_patients,
    other_patients_note,
)
from sim.memory import needs, run_memory, workers_in_memory
from sim.metrics import HEADLINE
from sim.model import RESULTS_VERSION
from sim.runner import (
    RUN_META,
    WORKER_DEATHS,
    Executor,
    Outcome,
    Store,
    execute,
    expected_seconds,
    needs_more,
    read_run_file,
    results_dir,
)
from sim.yamlio import flow


@dataclass
class SweepReport:
    experiment: str
    out_dir: Path
    planned: int
    reused: int
    ran: int
    failed: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    unused: int = 0  # finished runs in runs/ that the experiment, as it now stands, does not ask for
    # of those, the runs of a configuration, seed and replication it asks for by another version of the
    # model: their results versions (None: made before runs recorded it)
    outdated: list[int | None] = field(default_factory=list)
    results_version: int | None = None  # the model's, of the runs it asks for
    notes: list[str] = field(default_factory=list)  # scenarios that are the same; advice on how it was run
    overloaded: list[str] = field(default_factory=list)  # `overload_lines` and `start_up_lines` of its runs
    stale_report: bool = False  # a report written before this sweep changed the tables
    unused_bytes: int = 0  # the size of the unused runs
    removed: bool = False  # the unused runs were deleted (--remove-unused)

    def lines(self) -> list[str]:
        out = [
            f"{self.experiment}: {self.planned} runs planned, {self.reused} reused, {self.ran} run now, "
            f"{len({f['run_id'] for f in self.failed})} failed ({self.wall_seconds:.1f} s)",
            f"results in {self.out_dir}/ (runs, scenario_summary, differences, sensitivity, failures; "
            "Parquet and CSV; manifest.json)",
        ]
        if self.unused and self.removed:
            out.append(
                f"{self.unused} earlier run(s) in runs/ that this experiment no longer asks for removed "
                f"({file_size(self.unused_bytes)})"
            )
        elif self.unused:
            out.append(
                f"{self.unused} earlier run(s) in runs/ no longer match this experiment: kept there "
                f"({file_size(self.unused_bytes)}; --remove-unused deletes them), left out of the consolidated tables"
                + (
                    f"; {len(self.outdated)} of them are these configurations and seeds, run when the model's results "
                    f"version was {self._then()} (now {self.results_version}; README, 'Experiments')"
                    if self.outdated
                    else ""
                )
            )
        runs: dict[str, list[dict[str, Any]]] = {}  # a run two scenarios share failed in both
        for f in self.failed:
            runs.setdefault(f["run_id"], []).append(f)
        for each in list(runs.values())[:10]:
            f, scenarios = each[0], " and ".join(str(g["scenario"]) for g in each)
            out.append(f"  failed: {scenarios} point {f['point']} replication {f['replication']}: {f['error']}")
        if len(runs) > 10:
            out.append(f"  ... and {len(runs) - 10} more (see failures.csv)")
        if self.failed:
            out.append("re-run only the failed runs with --retry-failed")
        out.extend(self.overloaded)
        out.extend(f"note: {n}" for n in self.notes)
        if self.stale_report:
            out.append(
                f"the report in {self.out_dir}/report/ was written before this sweep: "
                f"'handover report {self.out_dir}' brings it up to date"
            )
        return out

    def _then(self) -> str:
        recorded = sorted(v for v in set(self.outdated) if v is not None)
        then = [str(v) for v in recorded] + (["not yet recorded"] if None in self.outdated else [])
        return " or ".join(then)


OVERLOADED = (
    "Overloaded: in these runs somebody was waiting for these staff or places without a break through "
    "the second half of the measured period, so a queue was still there when the run ended. Demand there "
    "is at or beyond what they can meet, and the waits grow with the length of the run rather than "
    "settling. Where that is every run, the configuration has no steady state to compare; where it is "
    "some, it is close to its limit. Add staff or places, or read those results with this in mind."
)


def overloads(runs: pd.DataFrame) -> list[tuple[str, str, list[str], int, int]]:
    """Each configuration (scenario and sweep point) with staff or capacity overloaded in
    any of its runs (the summary's ``overloaded``): scenario, where in the sweep, what
    was overloaded, in how many runs, of how many."""
    if "overloaded" not in runs or runs.empty:
        return []
    said = runs["overloaded"].fillna("").astype(str)
    factors = factor_columns(runs)
    out = []
    for (scenario, _), g in runs.groupby(["scenario", "point"], sort=False):
        hits = said[g.index]
        hits = hits[hits != ""]
        if len(hits):
            what = sorted({item for text in hits for item in text.split("; ")})
            at = fmt_point(g.iloc[0], factors)
            out.append((str(scenario), at, what, len(hits), len(g)))
    return out


def unchecked(runs: pd.DataFrame) -> str:
    """A sentence on the runs made before the check for overloaded staff or places (they
    have no ``overloaded``), or '' when every run was checked."""
    n = len(runs) if "overloaded" not in runs else int(runs["overloaded"].isna().sum())
    if not n:
        return ""
    return (
        f"{n} of the {len(runs)} runs were made before the check for overloaded staff or places and are "
        "not checked; their results are kept as they are."
    )


def overload_lines(runs: pd.DataFrame, most: int = 10) -> list[str]:
    """`overloads` as lines of text, under what they mean, and `unchecked`; none when
    every run was checked and none had any."""
    found = overloads(runs)
    lines = textwrap.wrap(OVERLOADED, 100) if found else []
    for scenario, at, what, hits, n in found[:most]:
        lines.append(f"  {scenario}{f' at {at}' if at else ''}: {', '.join(what)} (in {hits} of {n} runs)")
    if len(found) > most:
        lines.append(f"  ... and {len(found) - most} more (the runs table's overloaded column)")
    return lines + textwrap.wrap(unchecked(runs), 100)


START_UP = (
    "Warm-up: in these configurations the number of patients awaiting discharge (the mean of the "
    "replications, day by day) was still settling from the run's empty start when the warm-up ended "
    "(by MSER-5: White, 1997), so the measured period holds some of that start. Lengthen "
    "run.warmup_days to at least the day given, and run.length_days by as much (more, where it had not "
    "settled by half the run)."
)
START_UP_TOLERANCE = 0.01  # a share of the measured mean awaiting discharge


@dataclass(frozen=True)
class StartUp:
    """Where a configuration's start from empty ends (`mser_truncation` of the daily
    number awaiting discharge, averaged over its replications) against its warm-up, and
    how much the mean awaiting over the measured period differs from that after it."""

    scenario: str
    at: str  # where in the sweep, '' without one
    settled_day: int
    warmup_days: float
    change: float  # measured mean / mean after settled_day - 1; 0 where settled in the warm-up
    overloaded: int = 0  # of its runs, those with staff or places overloaded (`overloads`)
    runs: int = 0
    last_searched: bool = False  # settled_day is as far as MSER-5 looks: half the run

    @property
    def short(self) -> bool:
        """Measured from the warm-up, the count is lower by over the tolerance.  Only
        lower: a run that starts empty has fewer waiting, not more, until it settles
        (of 60 runs of the committed configurations, each alone, 5 found a stretch
        above the rest after the warm-up, of 1.5% to 4.3%: the days' noise)."""
        return self.change < -START_UP_TOLERANCE

    def said(self) -> str:
        """When it settled, against the warm-up, and what that does to the measured mean."""
        way = "fewer" if self.change < 0 else "more"
        when = (
            f"not settled by day {self.settled_day} (half the run, as far as MSER-5 looks)"
            if self.last_searched
            else f"settled about day {self.settled_day}"
        )
        return (
            f"{when}, warm-up {self.warmup_days:g} days: {abs(self.change):.1%} {way} awaiting discharge a day "
            f"(and bed days lost) than measured from day {self.settled_day}"
            + (
                f" (overloaded in {self.overloaded} of {self.runs} runs, above: it may not settle at all)"
                if self.overloaded
                else ""
            )
        )

    def line(self) -> str:
        return f"  {self.scenario}{f' at {self.at}' if self.at else ''}: {self.said()}"


def start_up(scenario: str, at: str, counts: list[np.ndarray], warmup: float, overloaded: int = 0) -> StartUp | None:
    """`StartUp` of runs' daily counts of patients awaiting discharge (``counts``, one
    array a run, alike in length), or None for runs too short to tell."""
    series = np.mean(counts, axis=0)
    settled = mser_truncation(series)
    if settled is None:
        return None
    start = math.ceil(warmup)  # the count at the start of each day: the first measured
    measured, after = series[start:], series[max(settled, start) :]
    change = float(measured.mean() / after.mean() - 1) if after.mean() > 0 else 0.0
    last = settled == mser_last_searched(len(series))
    return StartUp(scenario, at, settled, warmup, change, overloaded, len(counts), last)


def start_ups(root: Path, runs: pd.DataFrame) -> list[StartUp]:
    """`start_up` of each configuration (scenario and sweep point) whose runs' daily
    counts are in ``root``/runs, but those too short to tell."""
    if runs.empty or "warmup_days" not in runs:
        return []
    factors = factor_columns(runs)
    out = []
    for (scenario, _), g in runs.groupby(["scenario", "point"], sort=False):
        folders = [root / "runs" / str(r) for r in g["run_id"]]
        counts = [
            read_run_file(f, "awaiting")["awaiting_discharge"].to_numpy()
            for f in folders
            if (f / "awaiting.parquet").is_file()  # runs made before their daily counts were kept have none
        ]
        if not counts or len({len(c) for c in counts}) > 1:
            continue
        hit = int(g["overloaded"].fillna("").astype(str).ne("").sum()) if "overloaded" in g else 0
        found = start_up(str(scenario), fmt_point(g.iloc[0], factors), counts, float(g["warmup_days"].iloc[0]), hit)
        if found:
            out.append(found)
    return out


def start_up_lines(found: list[StartUp], most: int = 10) -> list[str]:
    """The configurations whose warm-up looks short (`StartUp.short`), under what that
    means; none where there are none."""
    short = [s for s in found if s.short]
    lines = textwrap.wrap(START_UP, 100) if short else []
    lines += [s.line() for s in short[:most]]
    if len(short) > most:
        lines.append(f"  ... and {len(short) - most} more (the report's section 5)")
    return lines


def failed_by_scenario(runs: pd.DataFrame, failures: pd.DataFrame) -> list[tuple[str, int, int]]:
    """Each scenario with runs that failed: how many, of how many planned."""
    if failures.empty:
        return []
    finished = runs.groupby("scenario").size() if not runs.empty else pd.Series(dtype=int)
    return [
        (str(scenario), int(n), int(n) + int(finished.get(scenario, 0)))
        for scenario, n in failures.groupby("scenario", sort=False).size().items()
    ]


FAILED = "failures.csv has the errors, and the same sweep with --retry-failed runs them again"


def failure_lines(runs: pd.DataFrame, failures: pd.DataFrame) -> list[str]:
    """Where runs failed (`failed_by_scenario`), and which scenarios have no result at
    all; none where none failed."""
    found = failed_by_scenario(runs, failures)
    if not found:
        return []
    n = failures["run_id"].nunique()
    lines = textwrap.wrap(f"{_runs(n)} failed and {'is' if n == 1 else 'are'} left out of what follows; {FAILED}:", 100)
    for scenario, failed, of in found:
        lines.append(f"  {scenario}: {failed} of {of} failed" + (", so it has no results" if failed == of else ""))
    return lines


def _runs(n: int) -> str:
    return f"{n:,} run{'' if n == 1 else 's'}"


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="run", disable=not enabled or total == 0, dynamic_ncols=True, desc="runs")


class OtherExperiment(RuntimeError):
    """A results folder that holds another experiment file's results, of the same name."""


def other_experiment(experiment: Experiment, out: Path) -> str | None:
    """Why sweeping ``experiment`` into ``out`` would replace another experiment's tables
    and report (the same name, in a file of another name, with other text: a copy not
    renamed), or None: the same file, edited, or moved unchanged, is the same experiment."""
    try:
        manifest = json.loads((out / "manifest.json").read_text())
        file, text = str(manifest["experiment_file"]), str(manifest["experiment_text"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if Path(file).name == experiment.path.name or text == experiment.text:
        return None
    return (
        f"{out}: holds the results of {file}, another experiment named {experiment.name!r}; sweeping "
        f"{experiment.path} there would replace its tables and report (its finished runs are kept). Give this "
        "experiment a name of its own, or --results another folder, or --force to replace them"
    )


def run_sweep(
    path: str | Path,
    results_root: str | Path = "results",
    workers: int | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    force: bool = False,
    remove_unused: bool = False,
) -> SweepReport:
    """Run an experiment's runs that are not finished, and write its tables.  With
    ``remove_unused``, delete the finished runs in runs/ it no longer asks for (an
    edited experiment's, or those made by another version of the model)."""
    started = time.perf_counter()
    executor = Executor(workers=workers or Executor().workers, scheduler=scheduler)
    executor.start()  # the workers import the model while the experiment loads
    try:
        experiment = load_experiment(path)
        out = results_dir(experiment, results_root)
        clash = other_experiment(experiment, out)
        if clash and not force:
            raise OtherExperiment(clash)
        if scheduler is None:  # a cluster's workers are on other machines: each checks its own runs
            given = workers is not None
            fit, memory_note = workers_in_memory(experiment.path, experiment.cells, executor.workers, given)
            executor.workers = fit
            executor.notes += [memory_note] if memory_note else []
    except BaseException:
        executor.__exit__()
        raise
    report_before = (out / "report" / "index.html").is_file()
    store = Store(out)
    with store.held():
        store.prepare()
        reps = {(c.scenario, c.point): experiment.initial_replications for c in experiment.cells}
        already = store.finished_ids()
        with executor:
            ran = _run_rounds(experiment, store, executor, reps, retry_failed, progress)
        plan = experiment.plan(reps)
        tables = consolidate(experiment, plan, store)
        wall = time.perf_counter() - started
        write_manifest(experiment, plan, store, {"this_invocation_seconds": wall}, executor.describe())
        planned = {s.run_id for s in plan}
        unused = already - planned
        asked = {(s.config_hash, s.seed, s.replication) for s in plan}
        metas = (store.read_meta(r) for r in unused)
        outdated = [meta.get("results_version") for meta in metas if _computes(meta) in asked]
        unused_bytes = store.size_of(unused)
        if remove_unused:
            store.remove(unused)
    failures = tables["failures"].to_dict(orient="records")
    return SweepReport(
        experiment.name,
        store.root,
        len(planned),
        len(planned & already),
        ran,
        failures,
        wall,
        len(unused),
        outdated,
        plan[0].results_version if plan else None,
        experiment.notes()
        + executor.notes
        + ([worker_deaths_note(executor.worker_deaths)] if executor.worker_deaths else [])
        + ([set_aside_note(store.set_aside)] if store.set_aside else [])
        + [
            note
            for note in [
                precision_shortfall(tables["runs"], experiment.spec.model_dump()["replications"], tables["failures"]),
                no_interval(tables["runs"]),
            ]
            if note
        ],
        overload_lines(tables["runs"]) + start_up_lines(start_ups(store.root, tables["runs"])),
        report_before and (ran > 0 or bool(clash)),
        unused_bytes,
        remove_unused and bool(unused),
    )


def worker_deaths_note(n: int) -> str:
    """What the sweep did when local workers died (`Executor.worker_deaths`)."""
    times = "once" if n == 1 else f"{n} times"
    return (
        f"a worker process died ({times}: killed, or out of memory); the runs under way or waiting then were "
        f"started again in new workers, up to {WORKER_DEATHS} times in a row"
    )


def set_aside_note(folders: list[Path]) -> str:
    """What the sweep did with run folders that had no record of the run (a copy cut short)."""
    n, one = len(folders), len(folders) == 1
    shown = ", ".join(f"runs/{f.name}" for f in folders[:3]) + (" ..." if n > 3 else "")
    return (
        f"{n} run folder{'' if one else 's'} in runs/ had no record of {'its' if one else 'their'} run ({RUN_META}: "
        f"a copy cut short?) and {'was' if one else 'were'} run again; what {'it' if one else 'they'} held is kept "
        f"aside as {shown}, to delete once not needed"
    )


def _computes(meta: dict[str, Any]) -> tuple[str, int, int]:
    """What a finished run computed, bar the model's version: its configuration, seed and replication."""
    return meta["config_hash"], meta["seed"], meta["replication"]


def _run_rounds(
    experiment: Experiment,
    store: Store,
    executor: Executor,
    reps: dict[tuple[str, int], int],
    retry_failed: bool,
    progress: bool,
) -> int:
    """Run what the plan asks for and is not finished; with automatic replications, add
    replications (updating ``reps``) until each cell is precise enough.  Runs done."""
    auto = isinstance(experiment.spec.replications, AutoReplications)
    ran = 0
    failed_now: set[str] = set()
    while True:
        plan = experiment.plan(reps)
        unique = list({s.run_id: s for s in plan}.values())
        if retry_failed:
            todo = [s for s in unique if store.failed(s.run_id)]
        else:
            todo = [s for s in unique if not store.finished(s.run_id) and not store.failed(s.run_id)]
        with _progress_bar(len(todo), progress) as bar:  # closed (its line ended) on Ctrl-C too

            def tick(spec: RunSpec, outcome: Outcome, bar: Any = bar) -> None:
                if outcome.tables is None:
                    failed_now.add(spec.run_id)
                else:
                    failed_now.discard(spec.run_id)
                bar.update(1)
                bar.set_postfix(failed=len(failed_now), refresh=False)

            done = execute(todo, store, executor, on_run=tick)
        ran += done.done + done.failed
        if not auto or retry_failed:
            return ran
        more = needs_more(experiment, store, reps)
        if not more:
            return ran
        reps.update(more)


def calibrate_seconds(experiment: Experiment) -> float:
    """Seconds per patient on this machine, from a shortened run of the first configuration:
    up to 90 days (long enough for services and queues to fill), with its tables written
    as a sweep writes them."""
    import tempfile

    import sim
    from sim.metrics import write_tables

    cell = experiment.cells[0]
    data = dict(cell.config_data)
    length = min(90.0, cell.config.run.length_days)
    data["run"] = {"length_days": length, "warmup_days": 0}
    cfg = sim.config_from_dict(data)
    t0 = time.perf_counter()
    result = sim.simulate(cfg, seed=experiment.spec.seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_tables(tmp, result.tables)
    elapsed = time.perf_counter() - t0
    return elapsed / max(len(result.patients), 1)


def dry_run(path: str | Path, results_root: str | Path = "results", workers: int | None = None) -> list[str]:
    experiment = load_experiment(path)
    spec = experiment.spec
    out = results_dir(experiment, results_root)
    store = Store(out)
    asked = workers is not None
    workers, memory_note = workers_in_memory(experiment.path, experiment.cells, workers or Executor().workers, asked)
    lines = [f"experiment {spec.name}: {spec.title or spec.description}".rstrip(": ")]
    if spec.title and spec.description:
        lines.append(spec.description)
    lines += [f"base configuration: {spec.base}", ""]
    lines.append("scenarios:")
    for name, sc in spec.scenarios.items():
        mark = " (baseline)" if name == spec.baseline else ""
        lines.append(f"  {name}{mark}: {sc.summary()}")
    if spec.sweep:
        lines += [
            "",
            f"sweep: {spec.sweep.method}, {len(experiment.points)} points over {', '.join(spec.sweep.factors)}",
        ]
        table = pd.DataFrame(experiment.points)
        shown = table.head(10).to_string(index=True, float_format=lambda x: f"{x:.4g}")
        lines += ["  " + row for row in shown.splitlines()]
        if len(table) > 10:
            lines.append(f"  ... {len(table) - 10} more points")
    cells = len(experiment.cells)
    r = spec.replications
    if isinstance(r, AutoReplications):
        lo, hi = cells * r.min, cells * r.max
        lines += [
            "",
            f"replications: automatic, {r.min} to {r.max} (step {r.step}) until the 95% CI half-width "
            f"of {', '.join(r.metrics)} is within {r.half_width_pct:g}% of the mean",
        ]
        lines.append(f"runs: {cells} configurations x {r.min}..{r.max} replications = {lo} to {hi}")
    else:
        lo = hi = cells * r
        lines += ["", f"replications: {r}", f"runs: {cells} configurations x {r} replications = {lo}"]
    plan = experiment.plan(experiment.initial_replications)
    unique = {s.run_id: s for s in plan}
    finished = sum(1 for s in unique.values() if store.finished(s.run_id))
    failed = sum(1 for s in unique.values() if store.failed(s.run_id))
    todo = [s for s in unique.values() if not store.finished(s.run_id) and not store.failed(s.run_id)]
    lines.append(f"already in {out}: {finished} finished, {failed} failed; to run now: {len(todo)}")
    most = experiment.plan(r.max) if isinstance(r, AutoReplications) else plan
    unused = store.finished_ids() - {s.run_id for s in most}
    if unused:
        lines.append(
            f"earlier runs in {out / 'runs'} that this experiment does not ask for: {len(unused)} "
            f"({file_size(store.size_of(unused))}), kept unless you add --remove-unused"
        )
    clash = other_experiment(experiment, out)
    if clash:
        lines.append(f"note: {clash}")
    per_patient = calibrate_seconds(experiment)
    from sim.runner import PATIENTS_PER_SECOND

    seconds = sum(expected_seconds(s) * PATIENTS_PER_SECOND * per_patient for s in todo) / workers
    if hi > lo:
        seconds_hi = seconds * (hi - finished) / max(len(todo), 1)
        lines.append(f"estimated time on {workers} worker(s): {_duration(seconds)} to {_duration(seconds_hi)}")
    else:
        lines.append(f"estimated time on {workers} worker(s): {_duration(seconds)}")
    by_size = sorted((c.config for c in experiment.cells), key=run_memory)
    smallest, largest = needs(by_size[0]), needs(by_size[-1])
    lines.append(f"a run holds {largest}" if smallest == largest else f"a run holds from {smallest} to {largest}")
    if memory_note:
        lines.append(f"note: {memory_note}")
    lines.append(
        "configuration hashes: "
        + ", ".join(f"{c.scenario}#{c.point}={c.config_hash[:10]}" for c in experiment.cells[:6])
        + (" ..." if cells > 6 else "")
    )
    return lines + [f"note: {line}" for line in experiment.notes()]


def file_size(n: int) -> str:
    """Bytes as a reader wants them: 870 KB, 96 MB, 6.8 GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 10 * size else f"{n / size:,.0f} {unit}"
    return f"{n} bytes"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(1, math.ceil(seconds))} s"
    if seconds < 5400:
        return f"about {math.ceil(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


# -- compare -------------------------------------------------------------------


def _decimals(half_width: float) -> int:
    if not math.isfinite(half_width) or half_width <= 0:
        return 2
    return int(min(4, max(0, -math.floor(math.log10(half_width)) + 1)))


def fmt_factor(value: Any) -> str:
    """A factor's value at a sweep point as a reader wants it: 0.1619, not 0.16187945526104908;
    a mapping as a YAML file gives it, {dist: lognormal, mean: 9}."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if hasattr(value, "tolist"):  # a list read back from Parquet
        value = value.tolist()
    if isinstance(value, dict | list):
        return flow(value)
    return str(value)


def fmt_point(row: Any, factors: list[str]) -> str:
    """A sweep point as 'factor = value, ...' from a row holding its factors' values."""
    return ", ".join(f"{c} = {fmt_factor(row[c])}" for c in factors)


def fmt_estimate(mean: float, lo: float, hi: float, signed: bool = False) -> str:
    """A mean and its 95% CI to the precision the interval justifies."""
    if not math.isfinite(mean):
        return "n/a"
    d = _decimals((hi - lo) / 2 if math.isfinite(hi - lo) else math.nan)
    sign = "+" if signed else ""
    if not math.isfinite(lo):
        return f"{mean:{sign},.{d}f}"
    return f"{mean:{sign},.{d}f} [{lo:{sign},.{d}f}, {hi:{sign},.{d}f}]"


def fmt_pct(change: Any) -> str:
    """A change's relative size in percent, signed, to one decimal; where that reads 0.0, to
    the first significant figure of its 95% interval's half-width: a change of -0.15 [-0.30,
    -0.00] hours in 455 is -0.03%, where one decimal read -0.0%, as if none. ``change``: its
    mean, ci_low, ci_high and relative_change_pct."""
    pct, mean = change["relative_change_pct"], change["mean"]
    half = abs(pct / mean) * (change["ci_high"] - change["ci_low"]) / 2 if mean else math.nan
    small = abs(pct) < 0.05 and math.isfinite(half) and half > 0
    return f"{pct:+.{min(4, max(1, -math.floor(math.log10(half)))) if small else 1}f}%"


def replications_text(runs: pd.DataFrame, scenarios: list[str]) -> str:
    """How many replications each configuration (scenario and sweep point) has, from
    the runs table: '10 of each configuration' (at each of its N sweep points), or each
    scenario's number, or range, when they differ."""
    per_cell = runs.groupby(["scenario", "point"]).size()
    points = runs["point"].nunique()
    if per_cell.nunique() == 1:
        at = f" at each of its {points} sweep points" if points > 1 else ""
        return f"{per_cell.iloc[0]} of each configuration{at}"
    spread = per_cell.groupby(level="scenario").agg(["min", "max"])
    return ", ".join(
        f"{s}: {lo}" if lo == hi else f"{s}: {lo} to {hi}" for s in scenarios for lo, hi in [spread.loc[s]]
    )


def no_interval(runs: pd.DataFrame) -> str | None:
    """Where a configuration has one replication: what its figures cannot say.  None
    where every configuration has two or more, or for a sweep, read across its points."""
    if runs["point"].nunique() > 1:
        return None
    per_cell = runs.groupby(["scenario", "point"], sort=False).size()
    alone = per_cell[per_cell < 2]
    if alone.empty:
        return None
    scenarios = list(dict.fromkeys(alone.index.get_level_values("scenario")))
    who = "every configuration" if len(alone) == len(per_cell) else ", ".join(scenarios)
    return f"one replication of {who}: {ONE_REPLICATION}"


def precision_shortfall(runs: pd.DataFrame, replications: Any, failures: pd.DataFrame | None = None) -> str | None:
    """With automatic replications (``replications`` as the experiment file gives them),
    the configurations that reached ``max`` with a named metric's 95% CI half-width still
    above ``half_width_pct`` of its mean, and by how much: what a researcher who asked
    for that precision must know before reading the intervals.  None otherwise.  A run
    that failed (``failures``) counts towards ``max``: the sweep ran it, and does not
    run it again, so its configuration stops there with one finished run fewer."""
    if not isinstance(replications, dict) or not {"metrics", "half_width_pct", "max"} <= set(replications):
        return None
    target, most = float(replications["half_width_pct"]), int(replications["max"])
    factors = factor_columns(runs) if runs["point"].nunique() > 1 else []
    failed = (
        failures.groupby(["scenario", "point"]).size()
        if failures is not None and not failures.empty
        else pd.Series(dtype=int)
    )
    short: dict[str, list[tuple[float, str]]] = {}
    cells = runs.groupby(["scenario", "point"], sort=False)
    for (scenario, point), g in cells:
        if len(g) + int(failed.get((scenario, point), 0)) < most:
            continue
        where = f"{scenario} at {fmt_point(g.iloc[0], factors)}" if factors else str(scenario)
        for metric in replications["metrics"]:
            if metric in g and (pct := half_width_pct(g[metric])) > target:
                short.setdefault(metric, []).append((pct, where))
    if not short:
        return None

    def said(metric: str, found: list[tuple[float, str]]) -> str:
        if len(found) <= 4:
            return f"{metric} in " + ", ".join(f"{where} ({pct:.1f}%)" for pct, where in found)
        pct, where = max(found)
        return f"{metric} in {len(found)} of {len(cells)} configurations, up to {pct:.1f}% ({where})"

    return (
        f"automatic replications stopped at their max of {most} with the 95% CI half-width above "
        f"{target:g}% of the mean: "
        + "; ".join(said(m, f) for m, f in short.items())
        + ". Those intervals are wider than asked: raise max to narrow them"
    )


def run_length_lines(runs: pd.DataFrame, scenarios: list[str]) -> list[str]:
    """Each scenario's run length and warm-up, from the runs table, where they differ
    (a scenario may override ``run``) at the first sweep point: none when they are the
    same.  (A sweep over ``run`` varies them alike in every scenario, point by point, as
    the comparison's headings say.)  Totals over the measured period (bed days lost)
    then cover periods of different lengths."""
    first = runs[runs["point"] == runs["point"].min()]
    lengths = {
        s: (float(g["run_days"].iloc[0]), float(g["warmup_days"].iloc[0]))
        for s in scenarios
        for g in [first[first["scenario"] == s]]
        if not g.empty
    }
    if len(set(lengths.values())) < 2:
        return []
    at = " (at the first sweep point)" if runs["point"].nunique() > 1 else ""
    lines = [
        f"run length differs between scenarios{at}: "
        + "; ".join(f"{s}: {length:g} days, {warmup:g} of warm-up" for s, (length, warmup) in lengths.items())
    ]
    if len({length - warmup for length, warmup in lengths.values()}) > 1:
        lines.append(
            "  so their measured periods differ in length: compare the rates (per discharge, a week), "
            "not the totals (bed days lost)"
        )
    return lines


def no_results(root: Path, missing: str) -> FileNotFoundError:
    """The error for a results folder without ``missing``: a sweep never run here, or
    one stopped before it wrote its consolidated tables (what to do differs)."""
    store = Store(root)
    done = len(store.finished_ids())
    if done:
        return FileNotFoundError(
            f"{root}: its sweep stopped before it finished ({done} runs done, no {missing} yet); "
            "run the same 'handover sweep' again: it keeps the finished runs and does the rest"
        )
    if root.exists() and not root.is_dir():
        return FileNotFoundError(f"{root}: a file, not a sweep's results folder (results/NAME)")
    if not root.is_dir():
        return FileNotFoundError(
            f"{root}: no such folder; 'handover sweep' writes each experiment's results to a "
            "folder of their own, results/NAME unless told (NAME the experiment's name)"
        )
    # the folder above the sweeps' own (`results`, or what was given as --results)
    within = sorted(str(p.parent) for p in root.glob(f"*/{missing}"))
    if within:
        return FileNotFoundError(
            f"{root}: no {missing} here; each sweep's results are in a folder of their own "
            f"below it: give {'one of those' if len(within) > 1 else 'that folder'} ({', '.join(within)})"
        )
    return FileNotFoundError(f"{root}: no {missing} here; run 'handover sweep' first")


def earlier_version(root: Path, manifest: dict[str, Any]) -> str | None:
    """What to say of results made by another results version of the model than this one,
    whose tables lack what this version adds or count differently; None where they are this
    version's."""
    then = manifest.get("results_version")
    if then == RESULTS_VERSION:
        return None
    experiment = manifest.get("experiment_file") or "its experiment"
    made = f"results version {then}" if then is not None else "a results version from before they were recorded"
    return (
        f"{root} holds runs made by {made} of the model, which is now at {RESULTS_VERSION} (README, "
        f"'Experiments'): 'handover sweep {experiment}' runs them again under this version (the earlier runs "
        "stay in runs/ until --remove-unused deletes them)"
    )


def _manifest(root: Path) -> dict[str, Any]:
    """The results' manifest, or {} where it cannot be read."""
    try:
        manifest = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _resolved(manifest: dict[str, Any]) -> dict[str, Any]:
    """The experiment as the manifest records it, or {}."""
    resolved = manifest.get("resolved")
    return resolved if isinstance(resolved, dict) else {}


def manifest_cells(manifest: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Each configuration's scenario, sweep point and patients (``patients_key``) as the
    manifest records them; a manifest written before it recorded patients gives ''."""
    try:
        return [(str(c["scenario"]), int(c["point"]), str(c.get("patients") or "")) for c in manifest["cells"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        return []


def title_line(manifest: dict[str, Any]) -> list[str]:
    """The experiment's title, from the results' manifest, where it has one."""
    title = _resolved(manifest).get("title")
    return [title] if title else []


def none_finished(root: Path, failures: pd.DataFrame) -> str:
    """What to say of results with no finished run: every run failed (how many, and
    what to do), or none has finished yet."""
    if failures.empty:
        return f"{root}: no finished runs yet"
    n = len(failures)
    errors = list(dict.fromkeys(failures["error"].astype(str)))
    said = errors[0] if len(errors) == 1 else f"{errors[0]}, and {len(errors) - 1} other error(s)"
    return (
        f"{root}: every run failed ({n} of {n}: {said}); failures.csv has the errors, and the same "
        "'handover sweep' with --retry-failed runs them again"
    )


def compare_lines(results: str | Path) -> list[str]:
    root = Path(results)
    summary_path = root / "scenario_summary.parquet"
    if not summary_path.is_file():
        raise no_results(root, "scenario_summary.parquet")
    summary = pd.read_parquet(summary_path)
    diffs = pd.read_parquet(root / "differences.parquet")
    runs = pd.read_parquet(root / "runs.parquet")
    failures = pd.read_parquet(root / "failures.parquet") if (root / "failures.parquet").is_file() else runs[:0]
    if summary.empty:
        return [none_finished(root, failures)]
    baseline = str(runs.loc[runs["baseline"], "scenario"].iloc[0]) if runs["baseline"].any() else None
    scenarios = list(dict.fromkeys(summary["scenario"]))
    manifest = _manifest(root)
    shortfall = precision_shortfall(runs, _resolved(manifest).get("replications"), failures)
    earlier = earlier_version(root, manifest)
    lines = [
        *title_line(manifest),
        *(textwrap.wrap(f"note: {earlier}", 100, subsequent_indent="  ") if earlier else []),
        f"{root.name}: {len(scenarios)} scenario(s); mean [95% confidence interval] over replications",
        f"replications: {replications_text(runs, scenarios)}",
        *(
            line
            for note in (shortfall, no_interval(runs))
            if note
            for line in textwrap.wrap(note, 100, initial_indent="  ", subsequent_indent="  ")
        ),
        *run_length_lines(runs, scenarios),
        *failure_lines(runs, failures),
    ]
    if not baseline and manifest.get("baseline"):
        lines.append(f"baseline: {manifest['baseline']} has no finished run, so no change from it can be given")
    if baseline:
        others = other_patients(manifest_cells(manifest), baseline)
        lines.append(
            f"baseline: {baseline}; 'change' is the paired difference from it (same patients"
            + (f", but for {', '.join(others)}: see below)" if others else ")")
        )
        if others:
            lines += textwrap.wrap(
                other_patients_note(others, baseline), 100, initial_indent="  ", subsequent_indent="  "
            )
    for notes in (overload_lines(runs), start_up_lines(start_ups(root, runs))):
        if notes:
            lines += ["", *notes]
    width = max(len(s) for s in scenarios) + len(" (baseline)") + 2
    for point, ps in summary.groupby("point", sort=True):
        factor_cols = factor_columns(ps)
        if factor_cols:
            lines += ["", "sweep point " + fmt_point(ps.iloc[0], factor_cols)]
        for metric, label in HEADLINE.items():
            lines += ["", label]
            rows: list[tuple[str, str, str]] = []  # name, estimate, change
            for scenario in scenarios:
                row = ps[(ps["scenario"] == scenario) & (ps["metric"] == metric)]
                if row.empty:
                    continue
                r = row.iloc[0]
                name = scenario + (" (baseline)" if scenario == baseline else "")
                change = ""
                d = diffs[(diffs["scenario"] == scenario) & (diffs["metric"] == metric) & (diffs["point"] == point)]
                if not d.empty:
                    dr = d.iloc[0]
                    pct = f" ({fmt_pct(dr)})" if math.isfinite(dr["relative_change_pct"]) else ""
                    change = f"change {fmt_estimate(dr['mean'], dr['ci_low'], dr['ci_high'], signed=True)}{pct}"
                rows.append((name, fmt_estimate(r["mean"], r["ci_low"], r["ci_high"]), change))
            column = max([28, *(len(estimate) + 2 for _, estimate, _ in rows)])
            lines += [f"  {name:<{width}}{estimate:<{column}}{change}".rstrip() for name, estimate, change in rows]
    together = changes_together_lines(diffs)
    if together:
        lines += ["", *together]
    sens_path = root / "sensitivity.parquet"
    if sens_path.is_file():
        sens = pd.read_parquet(sens_path)
        if not sens.empty:
            lines += [
                "",
                "sensitivity (partial rank correlation over the sweep's points, and its p-value; rank 1 matters "
                "most; at p >= 0.05 it could be chance)",
            ]
            for (scenario, metric), g in sens.groupby(["scenario", "metric"], sort=False):
                if g["prcc"].isna().all():
                    lines.append(f"  {scenario}, {metric}: no variation over the sweep")
                    continue
                top = g.sort_values("rank")
                parts = [f"{r.factor} {r.prcc:+.2f} ({_p(r.p_value)})" for r in top.itertuples()]
                lines.append(f"  {scenario}, {metric}: " + "; ".join(parts))
            lines += sensitivity_together_lines(sens)
    return lines


def changes_together_lines(diffs: pd.DataFrame) -> list[str]:
    """The changes from the baseline `compare` shows (the differences table), read
    together: how many of those clear at 95% each stay clear with the false discovery
    rate over them all held at 5% (`not_clear_together`), naming those that do not.
    A change the same in every pair (a metric the scenario does not touch) is no test."""
    d = diffs[~((diffs["mean"] == 0) & (diffs["sd"] == 0))]
    p = np.array([paired_p_value(m, sd, int(n)) for m, sd, n in zip(d["mean"], d["sd"], d["n"], strict=True)])
    clear = ((d["ci_low"] > 0) | (d["ci_high"] < 0)).to_numpy()
    tested = int(np.isfinite(p).sum())
    if tested < 2 or not clear.any():
        return []
    out = d[not_clear_together(p) & clear]
    points = d["point"].nunique() > 1
    said = (
        f"read together: {int(clear.sum())} of the {tested} changes above are clear, each at 95%; with the false "
        "discovery rate over them all held at 5% (Benjamini-Hochberg), "
    )
    if out.empty:
        return textwrap.wrap(
            said + ("both stay clear" if clear.sum() == 2 else "all of them stay clear"), 100, subsequent_indent="  "
        )
    named = [
        f"{r.scenario}{f' at point {r.point}' if points else ''}: {r.label[:1].lower()}{r.label[1:]}"
        + (f" ({fmt_pct(r._asdict())})" if math.isfinite(r.relative_change_pct) else "")
        for r in out.itertuples()
    ]
    more = f"; and {len(named) - 10} more" if len(named) > 10 else ""
    kept = int(clear.sum()) - len(out)
    return textwrap.wrap(
        said + f"{kept} stay{'s' if kept == 1 else ''} clear; these could be chance: " + "; ".join(named[:10]) + more,
        100,
        subsequent_indent="  ",
    )


def sensitivity_together_lines(sens: pd.DataFrame) -> list[str]:
    """The sensitivity table's correlations at p < 0.05 read together, scenario by
    scenario: those that do not stay clear with the false discovery rate over all of
    the scenario's held at 5% (`not_clear_together`), or that all do."""
    doubtful: list[str] = []
    clear = 0
    for scenario, g in sens.groupby("scenario", sort=False):
        clear += int((g["p_value"] < 0.05).sum())
        out = g[not_clear_together(g["p_value"])]
        doubtful += [f"{scenario}, {r.metric} ~ {r.factor} ({_p(r.p_value)})" for r in out.itertuples()]
    if not clear:
        return []
    said = "held to a 5% false discovery rate over each scenario's correlations (Benjamini-Hochberg), "
    if not doubtful:
        return [
            "  " + said + ("the one at p < 0.05 stays clear" if clear == 1 else f"all {clear} at p < 0.05 stay clear")
        ]
    kept = clear - len(doubtful)
    return textwrap.wrap(
        said
        + f"{kept} of the {clear} at p < 0.05 stay{'s' if kept == 1 else ''} clear; these could be chance: "
        + "; ".join(doubtful),
        100,
        initial_indent="  ",
        subsequent_indent="    ",
    )


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else "p n/a" if math.isnan(p) else f"p = {p:.3f}"


__all__ = [
    "SweepReport",
    "compare_lines",
    "dry_run",
    "fmt_estimate",
    "manifest_cells",
    "no_interval",
    "overload_lines",
    "overloads",
    "precision_shortfall",
    "replications_text",
    "run_sweep",
]
