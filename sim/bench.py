"""``make bench``: how fast the model runs, as ratios measured in one process.

These machines are shared and noisy, so every comparison alternates its contenders
round by round and reports medians.  Results go to results/benchmarks/latest.json.

Parts so far:
1. engine overhead: the model configured as an M/M/3 queue (arrival rate 2.4, service
   rate 1) against a bare SimPy M/M/3 written here, in customers per second, both
   checked against the Erlang C mean wait;
2. a year of the example configuration: wall time;
3. a year of Lancashire and South Cumbria: wall time;
4. a year of all England (every ICB, council and acute trust, about 585,000 complex
   discharges): wall time (median of three runs), peak memory, patients and events
   per second, each run in a fresh process so that its peak memory is its own;
5. scaling: wall time for 1/8, 1/4, 1/2 and all of England's demand, in alternating
   rounds with the runs of part 4, with the cost per unit of demand, per patient and
   per event against the same round's run at 1/8, in wall and in CPU time, medians of
   the rounds, two ways: all England with a share of its demand (staff stay as built
   for all of its demand, so queues, and the events they take, grow towards full
   demand), and parts of England, nested sets of ICBs holding about those shares of
   its residents, each built with staff for its own residents (so a patient takes as
   many events in each, and only the model's size grows); and, as a yardstick, the
   least a SimPy model can be (processes that only wait on their own timeouts) with
   as many processes waiting at once as the part at 1/8 and all England have journeys
   under way, with SimPy's event queue and the model's: what the machine and the
   language charge an event for a larger model, whatever the model does;
6. a sweep of 40 one-second runs (a year of Lancashire and South Cumbria), five
   alternating rounds: local processes against serial (parallel efficiency), and a
   Dask LocalCluster against local processes (taking turns to go first), medians of
   the rounds' ratios, with the runs' own seconds in Dask's workers against in local
   ones; Dask with its defaults, and with the settings the README says to start a
   cluster for sweeps with (configs/dask: what a worker does beside a run every few
   milliseconds takes from the run).  Each
   sweep is timed end to end as ``handover sweep`` runs it (start, runs, writing,
   consolidation); the fork server that local workers are forked from is started by
   the first round and reused by the others, as it is by any process that runs
   several sweeps.
Parts 4 to 6 take minutes; ``--quick`` leaves them out.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib
import itertools
import json
import math
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

import sim
from sim import runner
from sim.calendar import Environment, slot_for
from sim.config import config_from_dict, load_config
from sim.queues import erlang_c_wait, mmc_data

ROOT = Path(__file__).resolve().parent.parent


def bare_simpy_mmc(seed: int, days: float, warmup: float, servers: int = 3, rate: float = 2.4) -> tuple[int, float]:
    """A plain SimPy M/M/c: customers served and their mean wait after warm-up."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=servers)
    waits: list[float] = []

    def customer(arrived: float) -> Generator[simpy.Event, Any, None]:
        with desk.request() as req:
            yield req
            if arrived >= warmup:
                waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(1.0))

    def source() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            env.process(customer(env.now))

    env.process(source())
    env.run(until=days)
    return len(waits), float(np.mean(waits))


def engine_overhead(rounds: int, days: float) -> dict[str, Any]:
    warmup = days / 10
    cfg = config_from_dict(mmc_data(days=days, warmup=warmup))
    model_rate, bare_rate, model_wait, bare_wait = [], [], [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        result = sim.simulate(cfg, seed=100 + r)
        t1 = time.perf_counter()
        p = result.patients
        served = p[p["ready"] >= warmup]
        model_rate.append(len(p) / (t1 - t0))
        model_wait.append(float((served["service_started"].fillna(days) - served["service_accepted"]).mean()))
        t0 = time.perf_counter()
        n, w = bare_simpy_mmc(100 + r, days, warmup)
        t1 = time.perf_counter()
        bare_rate.append(n / (1 - warmup / days) / (t1 - t0))
        bare_wait.append(w)
    ratios = [m / b for m, b in zip(model_rate, bare_rate, strict=True)]
    return {
        "rounds": rounds,
        "simulated_days": days,
        "model_customers_per_second_median": statistics.median(model_rate),
        "bare_simpy_customers_per_second_median": statistics.median(bare_rate),
        "ratio_median": statistics.median(ratios),
        "target_ratio": 0.5,
        "erlang_c_mean_wait": erlang_c_wait(3, 2.4, 1.0),
        "model_mean_wait": float(np.mean(model_wait)),
        "bare_mean_wait": float(np.mean(bare_wait)),
    }


def example_year(rounds: int) -> dict[str, Any]:
    cfg = load_config(ROOT / "configs" / "example.yaml")
    times, patients = [], 0
    for r in range(rounds):
        t0 = time.perf_counter()
        result = sim.simulate(cfg, seed=200 + r)
        times.append(time.perf_counter() - t0)
        patients = len(result.patients)
    return {"rounds": rounds, "wall_seconds_median": statistics.median(times), "patients": patients}


def timed_year(config_path: Path, demand_scale: float = 1.0, seed: int = 300) -> dict[str, Any]:
    """One run in this process: wall time, patients, and this process's peak memory."""
    import resource

    cfg = load_config(config_path)
    if demand_scale != 1.0:
        data = cfg.model_dump(mode="json", by_alias=True)
        data["demand"]["per_1000_per_year"] *= demand_scale
        cfg = config_from_dict(data)
    t0, c0 = time.perf_counter(), time.process_time()
    result = sim.simulate(cfg, seed=seed)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(result.patients)
    return {
        "wall_seconds": wall,
        # CPU time of this process: well under the wall time means it waited for a core
        # (these machines are shared), so read such a run's wall time with care
        "cpu_seconds": cpu,
        "patients": n,
        "patients_per_second": n / wall,
        "events": result.events,
        "events_per_second": result.events / wall,
        "events_per_patient": result.events / n if n else math.nan,
        "organisations": len(cfg.organisations),
        "peak_memory_mb": peak_mb,
        "demand_scale": demand_scale,
    }


def in_fresh_process(config_path: Path, demand_scale: float) -> dict[str, Any]:
    result: dict[str, Any] = fresh(f"timed_year(Path({str(config_path)!r}), {demand_scale})")
    return result


def fresh(call: str) -> Any:
    """What ``call``, a call of this module's, returns (JSON) in a fresh Python process,
    so that no earlier part of the benchmark has shaped its memory."""
    import subprocess

    code = f"import json; from pathlib import Path; from sim.bench import *; print(json.dumps({call}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


LIVE = (7_500, 60_000)
"""Journeys under way at once in the part of England holding 1/8 of its residents, and
in all of it (counted at day 100 of a year)."""


def waiting_processes(live: int, days: float, calendar: bool) -> float:
    """Microseconds of CPU an event costs in the least a SimPy model can be: ``live``
    processes, each waking after its own exponential delays (of mean ``live`` days, so
    about one event a day, whatever ``live``) and noting the time in a list, over
    ``days`` days; in SimPy's environment, or in the model's (``calendar``)."""
    env = Environment(slot_days=slot_for(1.0)) if calendar else simpy.Environment()
    rng = random.Random(1)
    log: list[float] = []

    def process() -> Generator[simpy.Event, Any, None]:
        started = env.now
        while True:
            yield env.timeout(rng.expovariate(1.0) * live)
            log.append(env.now - started)

    for _ in range(live):
        env.process(process())
    env.run(until=1.0)  # every process started
    before = len(log)
    collecting = gc.isenabled()
    gc.disable()  # as the model runs
    c0 = time.process_time()
    env.run(until=1.0 + days)
    cpu = time.process_time() - c0
    if collecting:
        gc.enable()
    return cpu / (len(log) - before) * 1e6


def engine_scaling(rounds: int, days: float = 1_000_000) -> dict[str, Any]:
    """How the cost of an event grows with the number of processes waiting at once, in
    :func:`waiting_processes`: ``LIVE`` processes, with SimPy's event queue and the
    model's, each run in a fresh process, in alternating rounds; medians of the rounds'
    ratios.  A yardstick for the model's scaling: what the machine and the language
    charge for a larger model, whatever the model does."""
    out: dict[str, Any] = {"live_processes": list(LIVE), "rounds": rounds, "simulated_days": days}
    for queue, calendar in (("simpy", False), ("model", True)):
        each: dict[int, list[float]] = {n: [] for n in LIVE}
        for r in range(rounds):
            for n in LIVE if r % 2 == 0 else LIVE[::-1]:
                each[n].append(fresh(f"waiting_processes({n}, {days}, {calendar})"))
        out[f"{queue}_queue_us_per_event"] = {str(n): statistics.median(v) for n, v in each.items()}
        ratios = [b / a for a, b in zip(each[LIVE[0]], each[LIVE[1]], strict=True)]
        out[f"{queue}_queue_cost_per_event_ratio"] = statistics.median(ratios)
        out[f"{queue}_queue_cost_per_event_ratio_each"] = ratios
    return out


@contextlib.contextmanager
def dask_cluster(workers: int, settings: dict[str, Any]) -> Iterator[str]:
    """A Dask LocalCluster of ``workers`` one-thread workers, its scheduler and workers
    started with ``settings`` over Dask's defaults, ready with the model imported (as
    local workers forked from the fork server are): yields its scheduler's address,
    and closes it after."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
    try:
        with Client(cluster) as client:
            for module in runner.WORKER_MODULES:
                client.run(importlib.import_module, module)
        yield cluster.scheduler_address
    finally:
        cluster.close()


def sweep_efficiency(runs: int = 40, rounds: int = 5) -> dict[str, Any]:
    """The same sweep serial, on local processes and on a Dask LocalCluster (with
    Dask's defaults, and with the settings of configs/dask), in alternating
    rounds (each in a fresh results folder): parallel efficiency and Dask against
    local processes, as medians of the rounds' ratios.  Local processes and Dask take
    turns to go first, round by round, so that the machine's drift falls on both.
    Each Dask cluster is started for its sweep (outside the timing), so that no idle
    cluster takes time from the other sweeps."""
    import os
    import tempfile

    from sim.sweep import run_sweep

    workers = os.cpu_count() or 1
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp) / "bench.yaml"
        exp.write_text(
            f"name: bench\nbase: {ROOT / 'configs' / 'lancashire-south-cumbria.yaml'}\nseed: 9\nreplications: {runs}\n"
        )
        for r in range(rounds):
            row: dict[str, float] = {}
            for kind in sweep_order(r):
                with contextlib.ExitStack() as stack:
                    if kind.startswith("dask"):
                        settings = runner.dask_settings() if kind == "dask_configured" else {}
                        address = stack.enter_context(dask_cluster(workers, settings))
                        how: dict[str, Any] = {"scheduler": address}
                    else:
                        how = {"workers": 1 if kind == "serial" else workers}
                    t0 = time.perf_counter()
                    done = run_sweep(exp, Path(tmp) / f"{kind}-{r}", progress=False, **how)
                    row[kind] = time.perf_counter() - t0
                manifest = json.loads((done.out_dir / "manifest.json").read_text())
                row[f"{kind}_compute"] = manifest["timings"]["run_seconds_total"]
            rows.append(row)
    # Parallel efficiency, T1 / (p Tp): the serial sweep's time over the workers times
    # the parallel sweep's, both end to end.  Stricter: against the runs' own seconds in
    # the serial sweep (which leaves out the writing the serial sweep does in between
    # runs and the parallel one overlaps with the workers' work).
    efficiency = [r["serial"] / (workers * r["processes"]) for r in rows]
    against_runs = [r["serial_compute"] / (workers * r["processes"]) for r in rows]
    # The stricter one = busy share / slowdown.  The busy share (the runs' own seconds in the
    # workers over workers x wall) is what the sweep machinery loses to starting
    # workers, moving data and idle tails; the slowdown (the same runs' seconds with
    # every core busy over alone) is the machine: shared caches, and on a shared host
    # the neighbours, whose load also changes from round to round.
    busy = [r["processes_compute"] / (workers * r["processes"]) for r in rows]
    slowdown = [r["processes_compute"] / r["serial_compute"] for r in rows]
    dask = [r["dask"] / r["processes"] for r in rows]
    # The same runs' own seconds in Dask's workers over in local ones: whether a run is
    # slower in a Dask worker (a thread beside the worker's event loop), or the
    # difference is in the sweep around the runs.  A Dask worker's event loop sends a
    # run's tables (4 MB) while the next run goes on, and that time falls in the next
    # run's seconds; a local worker sends them between runs, outside any run's seconds
    dask_runs = [r["dask_compute"] / r["processes_compute"] for r in rows]
    configured = [r["dask_configured"] / r["processes"] for r in rows]
    configured_runs = [r["dask_configured_compute"] / r["processes_compute"] for r in rows]
    return {
        "runs": runs,
        "rounds": rounds,
        "workers": workers,
        "seconds": rows,
        "seconds_per_run": statistics.median(r["serial_compute"] / runs for r in rows),
        "parallel_efficiency": statistics.median(efficiency),
        "parallel_efficiency_each": efficiency,
        "parallel_efficiency_against_runs_alone": statistics.median(against_runs),
        "parallel_efficiency_against_runs_alone_each": against_runs,
        "workers_busy_share": statistics.median(busy),
        "workers_busy_share_each": busy,
        "run_slowdown_all_cores_busy": statistics.median(slowdown),
        "run_slowdown_each": slowdown,
        "end_to_end_speedup": statistics.median(r["serial"] / r["processes"] for r in rows),
        "dask_over_processes": statistics.median(dask),
        "dask_over_processes_each": dask,
        "dask_run_seconds_over_processes": statistics.median(dask_runs),
        "dask_run_seconds_over_processes_each": dask_runs,
        "dask_configured_over_processes": statistics.median(configured),
        "dask_configured_over_processes_each": configured,
        "dask_configured_run_seconds_over_processes": statistics.median(configured_runs),
        "dask_configured_run_seconds_over_processes_each": configured_runs,
        "target_parallel_efficiency": 0.9,
        "target_dask_over_processes": 1.1,
    }


SWEEP_KINDS = ("serial", "processes", "dask", "dask_configured")


def sweep_order(r: int) -> tuple[str, ...]:
    """The order of round ``r``'s sweeps: serial first, then local processes and the
    two Dask clusters, in one order and then the other."""
    return SWEEP_KINDS if r % 2 == 0 else (SWEEP_KINDS[0], *SWEEP_KINDS[:0:-1])


SCALES = (0.125, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class EnglandPart:
    """Some of England's ICBs, built as a configuration of their own (staff and beds
    sized for their own residents, as all England's are for all of them)."""

    share: float  # the share of England's residents aimed at
    icbs: tuple[str, ...]
    residents_share: float  # the share of England's residents they hold
    path: Path | None = None  # their configuration, once written


def england_parts(shares: tuple[float, ...] = SCALES[:-1]) -> list[EnglandPart]:
    """Nested sets of ICBs holding about ``shares`` of England's residents.  The ICBs
    are taken in order of code, every fifth in turn round the list (so that a set
    spreads over the country rather than being one region), and each set is the first
    of them whose residents come nearest its share."""
    from sim.build import england

    zones = england().zones
    residents = zones.groupby("icb_code")["population"].sum().sort_index()
    codes, total = list(residents.index), float(residents.sum())
    step = next(s for s in itertools.count(5) if math.gcd(s, len(codes)) == 1)  # every ICB, once
    order = [codes[(i * step) % len(codes)] for i in range(len(codes))]
    held = list(itertools.accumulate(float(residents[c]) / total for c in order))
    parts = []
    for share in shares:
        k = min(range(len(held)), key=lambda i: abs(held[i] - share))
        parts.append(EnglandPart(share, tuple(order[: k + 1]), held[k]))
    return parts


def write_england_parts(out_dir: Path) -> list[EnglandPart]:
    """:func:`england_parts` built from England's geography as ``handover build``
    builds all of England, each written to ``out_dir``."""
    from sim.build import BuildSpec, build_config, dump

    written = []
    for part in england_parts():
        name = f"england-{part.share:g}"
        data = build_config(BuildSpec(name=name, icbs=list(part.icbs)))
        path = out_dir / f"{name}.yaml"
        path.write_text(dump(data, f"# {len(part.icbs)} of England's ICBs, for the benchmark's scaling\n"))
        written.append(dataclasses.replace(part, path=path))
    return written


def england_rounds(
    config_path: Path, rounds: int, parts: list[EnglandPart] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """All England's year, and how its cost grows with the work, in alternating rounds.

    Two ways to a smaller England: all of it with 1/8, 1/4 or 1/2 of its demand (its
    staff as built for all of it, so its queues, and the events they take, grow
    towards full demand); and ``parts`` of it, nested sets of ICBs holding about those
    shares of its residents, each staffed for its own (so a patient takes as many
    events in each, and what grows is only the model's size).  Each round runs each
    once, each in a fresh process, in rising then falling order, so that the
    machine's drift falls on all of them.  Costs are ratios to the same round's run
    at 1/8 of the same kind, as medians over the rounds.  Returns all England's run,
    and the rows of each kind (both ending with all England)."""
    with contextlib.ExitStack() as stack:
        if parts is None:
            parts = write_england_parts(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        one_way: list[tuple[str, float]] = []
        for f in SCALES[:-1]:
            one_way += [("demand", f), ("part", f)]
        one_way.append(("demand", 1.0))
        path_of = {("part", p.share): p.path for p in parts if p.path is not None}
        runs: dict[tuple[str, float], list[dict[str, Any]]] = {k: [] for k in one_way}
        for r in range(rounds):
            for kind, f in one_way if r % 2 == 0 else one_way[::-1]:
                if kind == "demand":
                    runs[kind, f].append(in_fresh_process(config_path, f))
                else:
                    runs[kind, f].append(in_fresh_process(path_of[kind, f], 1.0))

    def median_run(each: list[dict[str, Any]]) -> dict[str, Any]:
        return sorted(each, key=lambda x: x["wall_seconds"])[len(each) // 2]

    full = runs["demand", 1.0]
    whole = {
        **median_run(full),
        "rounds": rounds,
        "wall_seconds_each": [x["wall_seconds"] for x in full],
        "cpu_seconds_each": [x["cpu_seconds"] for x in full],
        "peak_memory_mb": max(x["peak_memory_mb"] for x in full),
    }

    def rows(kind: str, shares: dict[float, float]) -> list[dict[str, Any]]:
        """``shares``: each run's share of England's demand, by its target share."""
        out = []
        eighth = runs[kind, SCALES[0]]
        for f in SCALES:
            each_run = full if f == 1.0 else runs[kind, f]
            row = dict(whole) if f == 1.0 else median_run(each_run)
            # costs in wall time, and in the run's own CPU time (which leaves out the
            # time it waited for a core on this shared machine)
            for clock, prefix in (("wall_seconds", ""), ("cpu_seconds", "cpu_")):
                for per, key in (("unit_demand", None), ("patient", "patients"), ("event", "events")):
                    each = []
                    for run, base in zip(each_run, eighth, strict=True):
                        work = shares[f] / shares[SCALES[0]] if key is None else run[key] / base[key]
                        each.append(run[clock] / base[clock] / work)
                    row[f"{prefix}cost_per_{per}_against_eighth"] = statistics.median(each)
                    row[f"{prefix}cost_per_{per}_against_eighth_each"] = each
            out.append(row)
        return out

    by_demand = rows("demand", {f: f for f in SCALES})
    by_part = rows("part", {p.share: p.residents_share for p in parts} | {1.0: 1.0})
    for row, part in zip(by_part[:-1], parts, strict=True):
        row.update(share=part.share, residents_share=part.residents_share, icbs=list(part.icbs))
    by_part[-1].update(share=1.0, residents_share=1.0, icbs="all")
    for row in by_part:
        del row["demand_scale"]  # each part has all its own residents' demand
    return whole, by_demand, by_part


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--days", type=float, default=3000.0, help="simulated days per M/M/3 round")
    parser.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "latest.json"))
    parser.add_argument("--quick", action="store_true", help="leave out all of England and the scaling runs")
    parser.add_argument(
        "--england-rounds", type=int, default=3, help="rounds of all England and the scaling runs (medians reported)"
    )
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "package_version": sim.__version__,
        "engine_overhead": engine_overhead(args.rounds, args.days),
        "example_year": example_year(args.rounds),
        "lancashire_year": timed_year(ROOT / "configs" / "lancashire-south-cumbria.yaml"),
    }
    if not args.quick:
        report["sweep"] = sweep_efficiency()
        whole, report["scaling"], report["scaling_by_geography"] = england_rounds(
            ROOT / "configs" / "england.yaml", args.england_rounds
        )
        report["engine_scaling"] = engine_scaling(args.england_rounds)
        report["england_year"] = {
            **whole,
            "target_wall_seconds": 60,
            "target_peak_memory_mb": 2048,
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(out)
    e, x = report["engine_overhead"], report["example_year"]
    print(f"{'benchmark':<44}{'value':>14}")
    print(f"{'M/M/3: model customers/s (median)':<44}{e['model_customers_per_second_median']:>14,.0f}")
    print(f"{'M/M/3: bare SimPy customers/s (median)':<44}{e['bare_simpy_customers_per_second_median']:>14,.0f}")
    print(f"{'M/M/3: model / bare SimPy (median ratio)':<44}{e['ratio_median']:>14.2f}   target >= 0.50")
    print(
        f"{'M/M/3: mean wait model / bare / Erlang C':<44}"
        f"{e['model_mean_wait']:>6.3f} / {e['bare_mean_wait']:.3f} / {e['erlang_c_mean_wait']:.4f}"
    )
    print(
        f"{'example year: wall seconds (median)':<44}{x['wall_seconds_median']:>14.2f}   ({x['patients']:,} patients)"
    )
    lsc = report["lancashire_year"]
    print(
        f"{'Lancashire and South Cumbria year: seconds':<44}{lsc['wall_seconds']:>14.2f}"
        f"   ({lsc['patients']:,} patients)"
    )
    if "sweep" in report:
        sw = report["sweep"]
        print(
            f"{'sweep of ' + str(sw['runs']) + ' runs: parallel efficiency':<44}{sw['parallel_efficiency']:>14.2f}"
            f"   target >= 0.90 ({sw['workers']} processes)"
        )
        print(
            f"{'  against the serial runs alone (stricter)':<44}{sw['parallel_efficiency_against_runs_alone']:>14.2f}"
        )
        print(
            f"{'  = workers busy / slowdown with cores busy':<44}"
            f"{sw['workers_busy_share']:>7.2f} / {sw['run_slowdown_all_cores_busy']:.2f}"
            f"   (each round: {', '.join(f'{e:.2f}' for e in sw['parallel_efficiency_each'])})"
        )
        print(
            f"{'sweep: Dask LocalCluster / local processes':<44}{sw['dask_over_processes']:>14.2f}   target <= 1.10"
            f" (each round: {', '.join(f'{e:.2f}' for e in sw['dask_over_processes_each'])})"
        )
        print(f"{'  a run in a Dask worker / a local worker':<44}{sw['dask_run_seconds_over_processes']:>14.2f}")
        print(
            f"{'  Dask set as configs/dask / local':<44}{sw['dask_configured_over_processes']:>14.2f}"
            f"   (each round: {', '.join(f'{e:.2f}' for e in sw['dask_configured_over_processes_each'])})"
        )
        print(f"{'  a run there / a local worker':<44}{sw['dask_configured_run_seconds_over_processes']:>14.2f}")
    if "england_year" in report:
        whole = report["england_year"]
        each = ", ".join(f"{w:.0f}" for w in whole["wall_seconds_each"])
        cpu = ", ".join(f"{c:.0f}" for c in whole["cpu_seconds_each"])
        print(f"{'all England year: wall seconds (median)':<44}{whole['wall_seconds']:>14.1f}   target < 60 ({each})")
        print(f"{'all England year: CPU seconds of each run':<44}{cpu:>14}")
        print(f"{'all England year: peak memory (MB)':<44}{whole['peak_memory_mb']:>14,.0f}   target < 2,048")
        print(
            f"{'all England year: patients per second':<44}{whole['patients_per_second']:>14,.0f}   "
            f"({whole['patients']:,} patients)"
        )
        print(
            f"{'all England year: events per second':<44}{whole['events_per_second']:>14,.0f}   "
            f"({whole['events_per_patient']:.1f} a patient)"
        )
        print(f"{'scaling: wall time, cost against 1/8 a':<44}{'demand  patient  event':>22}{'CPU: demand  event':>22}")
        for row in report["scaling"]:
            print(
                f"{'  England demand x ' + str(row['demand_scale']):<30}{row['wall_seconds']:>8.1f} s"
                f"{row['cost_per_unit_demand_against_eighth']:>10.2f}{row['cost_per_patient_against_eighth']:>9.2f}"
                f"{row['cost_per_event_against_eighth']:>7.2f}"
                f"{row['cpu_cost_per_unit_demand_against_eighth']:>15.2f}{row['cpu_cost_per_event_against_eighth']:>7.2f}"
                f"   ({row['events_per_patient']:.1f} events a patient)"
            )
        head = f"{'scaling: parts of England, own staff':<44}{'residents  patient  event':>22}"
        print(f"{head}{'CPU: patient  event':>22}")
        for row in report["scaling_by_geography"]:
            part = "all England" if row["icbs"] == "all" else f"{len(row['icbs'])} ICBs, {row['residents_share']:.3f}"
            print(
                f"{'  ' + part:<30}{row['wall_seconds']:>8.1f} s"
                f"{row['cost_per_unit_demand_against_eighth']:>10.2f}{row['cost_per_patient_against_eighth']:>9.2f}"
                f"{row['cost_per_event_against_eighth']:>7.2f}"
                f"{row['cpu_cost_per_patient_against_eighth']:>15.2f}{row['cpu_cost_per_event_against_eighth']:>7.2f}"
                f"   ({row['events_per_patient']:.1f} events a patient, {row['organisations']} organisations)"
            )
        es = report["engine_scaling"]
        small, large = (f"{n:,}" for n in es["live_processes"])
        print(f"{'scaling: least SimPy model, cost an event':<44}{'SimPy queue':>14}{'model queue':>14}")
        print(
            f"{'  ' + large + ' / ' + small + ' processes waiting':<44}"
            f"{es['simpy_queue_cost_per_event_ratio']:>14.2f}{es['model_queue_cost_per_event_ratio']:>14.2f}"
        )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
