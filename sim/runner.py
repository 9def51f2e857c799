"""Executing an experiment's runs: in this process, on local processes, or on a Dask
cluster, with every finished run written atomically so a sweep can be killed at any
moment and resumed.

Workers compute and encode: each returns its run's tables as Parquet files in
memory (zstd-compressed, a tenth of the pickled tables' size), and this process
writes those bytes.  So the results are the same whichever executor ran them and in
whatever order they finished, and the one process that writes has little to do.
(Local workers hand them over in a file, and only its name through the pool's pipe:
see :func:`execute_batch_to_file`.)
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import json
import math
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment import AutoReplications, Experiment, RunSpec
from sim.model import RESULTS_VERSION

RUN_META = "run.json"
LOCK = ".sweep.lock"  # in a results folder: held by the sweep writing there
PATIENTS_PER_SECOND = 15_000.0  # a rough speed of the model, to size tasks and estimate times
MIN_TASK_SECONDS = 0.5  # runs shorter than this are batched together


class ClusterError(RuntimeError):
    """A Dask cluster that cannot be used: not installed, or not there."""


class FolderInUse(RuntimeError):
    """A results folder that another sweep is writing to now."""


class DamagedRun(ValueError):
    """A finished run whose files cannot be read: cut short or changed since it was written."""


def read_run_file(folder: Path, name: str, columns: list[str] | None = None) -> Any:
    """A finished run's table (``name``, without .parquet: a DataFrame, of ``columns``) or
    its record (``RUN_META``: a dict), from its ``folder`` in runs/.  A run is written
    whole (its folder renamed into place), so a file that cannot be read was damaged
    afterwards, as by a copy cut short: :class:`DamagedRun` names it and says how to
    run it again."""
    path = folder / (name if name == RUN_META else f"{name}.parquet")
    try:
        if name == RUN_META:
            return json.loads(path.read_text())
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError) as exc:  # missing, unreadable, not Parquet or JSON (pyarrow's are ValueErrors)
        said = " ".join(str(exc).split())
        reason = "missing" if isinstance(exc, FileNotFoundError) else said.partition(f"'{path}': ")[2] or said
        raise DamagedRun(
            f"{path}: cannot be read ({reason}): the run in {folder} is damaged (a copy cut short?); "
            "delete that folder and run the same handover sweep again, which runs it again"
        ) from None


@dataclass
class Outcome:
    """What a worker sends back for one run."""

    run_id: str
    tables: dict[str, bytes] | None  # each table as the bytes of a Parquet file
    wall_seconds: float
    error: str | None = None
    traceback: str | None = None


def execute_batch(specs: list[RunSpec]) -> list[Outcome]:
    """Run a batch of runs (in a worker); never raises, so one bad run loses nothing else."""
    import sim  # imported here so that spawned workers import only what they need

    outcomes = []
    for spec in specs:
        started = time.perf_counter()
        try:
            if spec.results_version != RESULTS_VERSION:  # a Dask worker started from other code
                raise RuntimeError(
                    f"this worker's model is at results version {RESULTS_VERSION}, the sweep's at "
                    f"{spec.results_version}: start the workers from the same code as the sweep"
                )
            cfg = sim.config_from_dict(spec.config_data, f"scenario {spec.scenario}")
            result = sim.simulate(cfg, seed=spec.seed, replication=spec.replication)
            files = {name: parquet_bytes(df) for name, df in result.tables.items()}
            outcomes.append(Outcome(spec.run_id, files, time.perf_counter() - started))
        except Exception as exc:
            outcomes.append(
                Outcome(
                    spec.run_id,
                    None,
                    time.perf_counter() - started,
                    f"{type(exc).__name__}: {exc}",
                    traceback.format_exc(),
                )
            )
    return outcomes


def execute_batch_to_file(specs: list[RunSpec], folder: str) -> str:
    """:func:`execute_batch` in a local worker, its outcomes left in a file in ``folder``
    and only the file's name (a few dozen bytes) sent back through the pool's pipe.
    Sent through the pipe, a run's tables (4 MB a run of Lancashire and South Cumbria,
    120 MB one of all England) take many writes, and a worker killed between two of
    them left a message cut short: the pool, which reads each message it has begun to
    the end (CPython's ProcessPoolExecutor), then waited for ever, and the sweep with
    it.  A name goes in one write (about 160 bytes, with the pool's wrapping: a pipe
    delivers whole or not at all a write of up to 512 bytes on any POSIX system), so
    the pool sees the worker die, and the sweep starts its runs again."""
    outcomes = execute_batch(specs)
    name = f"{uuid.uuid4().hex}.pickle"
    with open(Path(folder) / name, "wb") as f:
        pickle.dump(outcomes, f, protocol=pickle.HIGHEST_PROTOCOL)
    return name


def outcomes_from_file(folder: str, name: str) -> list[Outcome]:
    """The outcomes a local worker left in ``folder`` with :func:`execute_batch_to_file`;
    the file goes."""
    path = Path(folder) / name
    with open(path, "rb") as f:
        outcomes: list[Outcome] = pickle.load(f)  # written by this sweep's own workers
    path.unlink()
    return outcomes


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """A table as the bytes of a zstd-compressed Parquet file."""
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


# -- where results live -----------------------------------------------------------


@dataclass
class Store:
    """The results folder of one experiment: runs/, failures/ and the consolidated tables."""

    root: Path
    set_aside: list[Path] = field(default_factory=list)  # damaged run folders moved aside by this store

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def failures(self) -> Path:
        return self.root / "failures"

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the folder to one sweep at a time: two at once would do the same runs
        twice and write the same tables over each other.  The lock is the operating
        system's (flock), so a sweep that is killed lets go of it as it ends."""
        try:
            import fcntl
        except ImportError:  # Windows: no lock
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip()
                raise FolderInUse(
                    f"{self.root}: another sweep is writing here now"
                    + (f" (process {holder})" if holder.isdigit() else "")
                    + "; wait for it to finish, or stop it, then run this again"
                ) from None
            except OSError:  # a file system without locks: go on without one
                pass
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # lets go of the lock

    def prepare(self) -> None:
        self.runs.mkdir(parents=True, exist_ok=True)
        self.failures.mkdir(parents=True, exist_ok=True)
        # from a sweep killed while writing a run, or while removing runs it was told to
        for leftover in [*self.runs.glob(".tmp-*"), *self.runs.glob(".removing-*")]:
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in self.failures.glob("*.tmp"):
            leftover.unlink(missing_ok=True)

    def finished(self, run_id: str) -> bool:
        return (self.runs / run_id / RUN_META).is_file()

    def size_of(self, run_ids: Iterable[str]) -> int:
        """Bytes on disk of these finished runs."""
        return sum(f.stat().st_size for r in run_ids for f in (self.runs / r).rglob("*") if f.is_file())

    def remove(self, run_ids: Iterable[str]) -> None:
        """Delete these finished runs, each folder renamed first so that none is left
        half there (a half-deleted run would read as unfinished, not as gone)."""
        for run_id in run_ids:
            folder = self.runs / run_id
            if folder.parent != self.runs or not self.finished(run_id):
                raise ValueError(f"{folder}: not a finished run of {self.root}")
            doomed = self.runs / f".removing-{run_id}"
            folder.rename(doomed)
            shutil.rmtree(doomed)

    def finished_ids(self) -> set[str]:
        """The ids of the finished runs in runs/, leaving out the temporary folders
        (.tmp-*) of a sweep killed while writing, which may hold a whole run.json."""
        if not self.runs.is_dir():
            return set()
        return {d.name for d in self.runs.iterdir() if not d.name.startswith(".") and self.finished(d.name)}

    def failed(self, run_id: str) -> bool:
        return (self.failures / f"{run_id}.json").is_file()

    def write_run(self, spec: RunSpec, outcome: Outcome) -> None:
        """Write a run's tables and provenance to runs/<id>/, atomically (a folder rename)."""
        assert outcome.tables is not None
        final = self.runs / spec.run_id
        if self.finished(spec.run_id):  # another writer finished the same run first: theirs is identical
            return
        tmp = self.runs / f".tmp-{spec.run_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            self._write_run_files(tmp, spec, outcome)
        except BaseException:  # a full disk: what was written goes, to leave the room there was
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.is_dir() and not self.finished(spec.run_id):
            # a folder without its record, never one written here (written whole, by a
            # rename): a copy cut short.  Kept aside, hidden, rather than deleted.
            aside = self.runs / f".damaged-{spec.run_id}-{uuid.uuid4().hex[:8]}"
            with suppress(OSError):
                final.rename(aside)
                self.set_aside.append(aside)
        try:
            os.rename(tmp, final)
        except OSError:  # another writer finished the same run first: theirs is identical
            shutil.rmtree(tmp, ignore_errors=True)
        (self.failures / f"{spec.run_id}.json").unlink(missing_ok=True)

    @staticmethod
    def _write_run_files(tmp: Path, spec: RunSpec, outcome: Outcome) -> None:
        assert outcome.tables is not None
        for name, data in outcome.tables.items():
            (tmp / f"{name}.parquet").write_bytes(data)
        meta = {
            "run_id": spec.run_id,
            "seed": spec.seed,
            "replication": spec.replication,
            "config_hash": spec.config_hash,
            "results_version": spec.results_version,
            "wall_seconds": outcome.wall_seconds,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": spec.config_data,
        }
        (tmp / RUN_META).write_text(json.dumps(meta, indent=1, default=str))
        _fsync_dir(tmp)

    def write_failure(self, spec: RunSpec, outcome: Outcome) -> None:
        record = {
            "run_id": spec.run_id,
            "scenario": spec.scenario,
            "point": spec.point,
            "factors": spec.factors,
            "replication": spec.replication,
            "seed": spec.seed,
            "error": outcome.error,
            "traceback": outcome.traceback,
            "wall_seconds": outcome.wall_seconds,
        }
        path = self.failures / f"{spec.run_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1, default=str))
        tmp.replace(path)

    def read_table(self, run_id: str, table: str) -> pd.DataFrame:
        table_read: pd.DataFrame = read_run_file(self.runs / run_id, table)
        return table_read

    def read_meta(self, run_id: str) -> dict[str, Any]:
        meta: dict[str, Any] = read_run_file(self.runs / run_id, RUN_META)
        return meta

    def read_failure(self, run_id: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads((self.failures / f"{run_id}.json").read_text())
        return record


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def results_dir(experiment: Experiment, results_root: str | Path) -> Path:
    """results/<experiment name>, refusing any path that would leave the results folder."""
    root = Path(results_root).resolve()
    out = (root / experiment.name).resolve()
    if root not in out.parents:
        raise ValueError(f"the experiment name {experiment.name!r} would write outside {root}")
    return out


# -- executing ----------------------------------------------------------------------


def expected_seconds(spec: RunSpec) -> float:
    data = spec.config_data
    residents = sum(z["population"] for z in data["zones"])
    per_day = data["demand"]["per_1000_per_year"] * residents / 1000 / 365
    return max(per_day * data["run"]["length_days"], 1.0) / PATIENTS_PER_SECOND


def batches(specs: list[RunSpec], workers: int) -> list[list[RunSpec]]:
    """Group runs into tasks worth their overhead, keeping enough tasks to share out."""
    if not specs:
        return []
    each = max(expected_seconds(s) for s in specs)
    per_task = max(1, math.ceil(MIN_TASK_SECONDS / each))
    per_task = min(per_task, max(1, math.ceil(len(specs) / (2 * workers))))
    return [specs[i : i + per_task] for i in range(0, len(specs), per_task)]


# What every run needs, imported once by the fork server that local workers are forked
# from: a worker then starts in milliseconds with the model ready, instead of starting
# an interpreter and importing pandas, pyarrow and the model (half a second each).
WORKER_MODULES = ["sim", "sim.runner", "pyarrow.parquet"]


def process_context() -> Any:
    """How local workers start: forked from a fork server, a clean single-threaded
    process started for the purpose (never forked from this process, which may be
    running threads: a progress bar's, Dask's, Arrow's); spawned where the platform
    has no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_MODULES)  # no effect once the server is running
    return ctx


def exit_with_parent() -> None:
    """Run in each local worker as it starts: end the worker as soon as the sweep that
    started it ends, however it ends.  A sweep that ends without cleaning up (kill -9,
    the out-of-memory killer; also a plain kill or a closed terminal, whose signals
    Python leaves to end it at once) would otherwise leave its workers running, then
    blocked for ever on a pipe that no one reads, holding their memory (CPython issue
    111873)."""
    parent = multiprocessing.parent_process()  # the sweep; its sentinel is ready once it ends
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# Dask settings for a cluster that runs sweeps (README, "Experiments"): with Dask's
# defaults a worker does things beside each run every few milliseconds (its profiler,
# its event loop's health check), which a sweep pays for in time.
DASK_SETTINGS = Path(__file__).resolve().parent.parent / "configs" / "dask"


def dask_settings() -> dict[str, Any]:
    """configs/dask's settings as dotted keys (for ``dask.config.set``); none if the
    folder is not there (an installed copy without the project's folder)."""
    import dask.config

    def flat(tree: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    if not DASK_SETTINGS.is_dir():
        return {}
    return dict(flat(dask.config.collect(paths=[str(DASK_SETTINGS)], env={})))


def _config_values(keys: list[str]) -> list[Any]:
    """Run on a Dask worker: its values of these settings."""
    import dask.config

    return [dask.config.get(k, None) for k in keys]


def _same_setting(a: Any, b: Any) -> bool:
    from dask.utils import parse_timedelta

    if isinstance(a, str) and isinstance(b, str):
        try:
            return bool(parse_timedelta(a) == parse_timedelta(b))
        except (ValueError, KeyError):
            pass
    return bool(a == b)


def dask_advice(client: Any) -> list[str]:
    """A line for the sweep's report if the cluster's workers run without the settings
    of configs/dask (each costs the runs time); none if they have them."""
    settings = dask_settings()
    keys = sorted(settings)
    if not keys:
        return []
    try:
        found = client.run(_config_values, keys)
    except Exception:  # advice only: a worker that cannot answer is for the runs to report
        return []
    differ = sorted(
        {k for values in found.values() for k, v in zip(keys, values, strict=True) if not _same_setting(v, settings[k])}
    )
    if not differ:
        return []
    return [
        f"the Dask workers run without this project's settings for sweeps ({', '.join(differ)}), "
        f"which made sweeps about 8% slower when measured; start the scheduler and workers with "
        f"DASK_CONFIG={DASK_SETTINGS} (README, Experiments)"
    ]


@dataclass
class Executor:
    """How runs are executed: ``workers`` local processes (1: in this process), or a Dask
    scheduler's address.  Use as a context manager to keep one pool of workers (or one
    Dask client) for several calls of :meth:`map`; otherwise each call makes its own."""

    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    scheduler: str | None = None
    notes: list[str] = field(default_factory=list, init=False, repr=False)  # for the sweep's report
    worker_deaths: int = field(default=0, init=False, repr=False)  # local workers that died, their runs started again
    _pool: Any = field(default=None, init=False, repr=False)
    _client: Any = field(default=None, init=False, repr=False)

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    def start(self) -> None:
        """Start the local fork server now, so that it imports the model while this
        process loads the experiment (it returns at once)."""
        ctx = process_context()
        if self.scheduler is None and self.workers > 1 and ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()

    def __enter__(self) -> Executor:
        if self.scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise ClusterError("--scheduler needs Dask: pip install -e '.[dask]'") from None
            try:
                self._client = Client(self.scheduler)
            except (OSError, ValueError) as exc:  # nothing answering there; an address Dask cannot read
                raise ClusterError(
                    f"{self.scheduler}: no Dask scheduler answered ({exc}); start one "
                    "(DASK_CONFIG=configs/dask dask scheduler) or check the address"
                ) from None
            self._pool = self._client.get_executor()
            self.notes = dask_advice(self._client)
        elif self.workers > 1:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=process_context(), initializer=exit_with_parent
            )
        return self

    def __exit__(self, *exc: object) -> None:
        pool, client, self._pool, self._client = self._pool, self._client, None, None
        if client is not None:
            client.close()
        elif pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def map(self, tasks: list[list[RunSpec]], folder: Path | None = None) -> Iterable[list[Outcome]]:
        """Yield each task's outcomes as it finishes.  Local workers leave them in files
        in a temporary folder made in ``folder`` (named .tmp-*, which the next sweep
        clears if this one is killed), or else in the system's temporary folder."""
        if self.workers == 1 and not self.scheduler:
            for task in tasks:
                yield execute_batch(task)
        else:  # Dask starts again the tasks of a worker that dies itself, up to its allowed-failures
            with nullcontext() if self._pool is not None else self:
                if self.scheduler:
                    yield from _as_completed(self._pool, tasks)
                else:
                    with tempfile.TemporaryDirectory(
                        prefix=".tmp-outcomes-", dir=folder, ignore_cleanup_errors=True
                    ) as handoff:
                        yield from self._pool_map(tasks, handoff)

    def _pool_map(self, tasks: list[list[RunSpec]], handoff: str) -> Iterable[list[Outcome]]:
        """:meth:`map` on local processes.  A worker that dies (killed, or out of memory)
        breaks the pool for good, and with it every task not finished, most of which had
        not begun: those are started again in a new pool, as Dask does, up to
        ``WORKER_DEATHS`` times; after that they fail, saying why."""
        todo = tasks
        for restarts in range(WORKER_DEATHS + 1):
            if getattr(self._pool, "_broken", False):  # broken here, or in an earlier call
                self.__exit__()
                self.__enter__()
            died: list[list[RunSpec]] | None = [] if restarts < WORKER_DEATHS else None
            yield from _as_completed(self._pool, todo, died, handoff)
            if getattr(self._pool, "_broken", False):
                self.worker_deaths += 1
            if not died:
                return
            todo = died


WORKER_DEATHS = 3
"""How many times a sweep on local processes starts again the runs of a pool that a
dying worker broke (Dask's ``distributed.scheduler.allowed-failures`` is 3 too)."""

DIED = (
    "its worker process died (killed, or out of memory) {n} times while runs were under way, and it is left "
    "for --retry-failed (with fewer --workers if memory is short)"
)


def _as_completed(
    pool: Any, tasks: list[list[RunSpec]], died: list[list[RunSpec]] | None = None, handoff: str | None = None
) -> Iterable[list[Outcome]]:
    """Each task's outcomes as it finishes.  A finished task's future is let go as soon
    as its outcomes are handed on (``as_completed`` keeps none it has yielded), so that
    its tables (4 MB a run of Lancashire and South Cumbria, 120 MB one of all
    England) are not kept, here or on a Dask worker, until the whole sweep is done.
    The tasks of a pool of processes broken by a dying worker go into ``died`` (to be
    started again), or, where it is None, fail.  With ``handoff`` (a folder), the
    workers leave their outcomes there (:func:`execute_batch_to_file`); a file that
    cannot be written or read there stops the sweep, as one of its runs would."""
    if handoff is None:
        futures = {pool.submit(execute_batch, task): task for task in tasks}
    else:
        futures = {pool.submit(execute_batch_to_file, task, handoff): task for task in tasks}
    try:
        for future in cf.as_completed(futures):
            task = futures.pop(future)
            try:
                outcomes = future.result() if handoff is None else outcomes_from_file(handoff, future.result())
            except BrokenProcessPool:
                if died is not None:
                    died.append(task)
                    continue
                tb = traceback.format_exc()
                said = DIED.format(n=WORKER_DEATHS + 1)
                outcomes = [Outcome(s.run_id, None, 0.0, said, tb) for s in task]
            except Exception as exc:
                if handoff is not None and isinstance(exc, OSError):
                    raise  # the hand-over file (in the results folder) cannot be written or read: disk full
                tb = traceback.format_exc()
                outcomes = [
                    Outcome(s.run_id, None, 0.0, f"worker failed: {type(exc).__name__}: {exc}", tb) for s in task
                ]
            yield outcomes
    finally:
        for future in futures:
            future.cancel()


@dataclass
class Progress:
    done: int = 0
    failed: int = 0
    reused: int = 0


def execute(
    specs: list[RunSpec],
    store: Store,
    executor: Executor,
    on_run: Callable[[RunSpec, Outcome], None] | None = None,
) -> Progress:
    """Run what is not finished yet and write each result as it arrives."""
    progress = Progress()
    by_id: dict[str, RunSpec] = {}
    for spec in specs:
        by_id.setdefault(spec.run_id, spec)
    todo = list(by_id.values())
    for outcomes in executor.map(batches(todo, executor.workers), folder=store.runs):
        for outcome in outcomes:
            spec = by_id[outcome.run_id]
            if outcome.tables is not None:
                store.write_run(spec, outcome)
                progress.done += 1
            else:
                store.write_failure(spec, outcome)
                progress.failed += 1
            if on_run:
                on_run(spec, outcome)
    return progress


def needs_more(experiment: Experiment, store: Store, reps: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """Automatic replications: the cells whose named metrics are not yet precise enough."""
    auto = experiment.spec.replications
    assert isinstance(auto, AutoReplications)
    from sim.analysis import half_width_pct

    more = {}
    for cell in experiment.cells:
        key = (cell.scenario, cell.point)
        n = reps[key]
        if n >= auto.max:
            continue
        rows = []
        for rep in range(n):
            run_id = cell.run(rep, experiment.spec.seed).run_id
            if store.finished(run_id):
                rows.append(store.read_table(run_id, "summary").iloc[0])
        if len(rows) < 2:
            continue
        df = pd.DataFrame(rows)
        if any(half_width_pct(df[metric]) > auto.half_width_pct for metric in auto.metrics):  # NaN: too few
            more[key] = min(n + auto.step, auto.max)
    return more
