"""The benchmark's bookkeeping (its timings are for ``make bench``, never asserted)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import sim.bench as bench
import sim.runner as runner


def test_scaling_costs_are_medians_of_ratios_to_the_same_rounds_eighth_of_the_same_kind(monkeypatch):
    # round r's machine is (1 + r) times slower; all England at demand f takes f x 8 s
    # of work in a fast round, so each round's ratios are exactly linear; a part of
    # England holding a share s of its residents takes s x 8 s times 2, 2.2 or 2.4
    # (its runs are costlier a patient as the parts grow, and all of England is cheaper
    # a patient than any part)
    parts = [
        bench.EnglandPart(f, ("x",), s, Path(f"part-{f}"))
        for f, s in zip(bench.SCALES[:-1], (0.12, 0.25, 0.5), strict=True)
    ]
    extra = {0.12: 2.0, 0.25: 2.2, 0.5: 2.4}
    order = []

    def fake(config_path, f):
        r = len(order) // 7
        part = next((p for p in parts if p.path == config_path), None)
        order.append(("part", part.share) if part else ("demand", f))
        s = part.residents_share if part else f
        wall = (1 + r) * 8 * s * (extra[s] if part else 1.5 if f == 1.0 and r == 1 else 1.0)  # one slow full run
        return {
            "wall_seconds": wall,
            "cpu_seconds": wall / (2 if f == 0.25 else 1),  # waited for a core as long as it ran
            "patients": int(1000 * s),
            "events": int(7000 * s),
            "peak_memory_mb": 100 * s,
            "demand_scale": f,
            "organisations": 535 if part is None else 100,
        }

    monkeypatch.setattr(bench, "in_fresh_process", fake)
    whole, scaling, by_part = bench.england_rounds(Path("england.yaml"), rounds=3, parts=parts)
    rising = [("demand", 0.125), ("part", 0.125), ("demand", 0.25), ("part", 0.25), ("demand", 0.5), ("part", 0.5)]
    rising.append(("demand", 1.0))
    assert order == [*rising, *rising[::-1], *rising]  # rising, falling, rising
    assert whole["wall_seconds_each"] == [8.0, 24.0, 24.0]
    assert whole["wall_seconds"] == 24.0 and whole["peak_memory_mb"] == 100
    assert [row["demand_scale"] for row in scaling] == list(bench.SCALES)
    for row in scaling[:3]:
        assert row["cost_per_unit_demand_against_eighth"] == pytest.approx(1.0)
        assert row["cost_per_event_against_eighth"] == pytest.approx(1.0)
    assert scaling[1]["cost_per_unit_demand_against_eighth"] == pytest.approx(1.0)
    assert scaling[1]["cpu_cost_per_unit_demand_against_eighth"] == pytest.approx(0.5)
    full = scaling[3]
    assert full["cost_per_unit_demand_against_eighth_each"] == pytest.approx([1.0, 1.5, 1.0])
    assert full["cost_per_unit_demand_against_eighth"] == pytest.approx(1.0)  # the median of the rounds
    assert full["cpu_cost_per_event_against_eighth_each"] == pytest.approx([1.0, 1.5, 1.0])
    # parts: against the same round's smallest part, per unit of its residents' demand
    assert [row["cost_per_unit_demand_against_eighth"] for row in by_part] == pytest.approx([1.0, 1.1, 1.2, 0.5])
    assert by_part[3]["cost_per_unit_demand_against_eighth_each"] == pytest.approx([0.5, 0.75, 0.5])
    assert [row["residents_share"] for row in by_part] == [0.12, 0.25, 0.5, 1.0]
    assert [row["organisations"] for row in by_part] == [100, 100, 100, 535]
    assert by_part[0]["icbs"] == ["x"] and by_part[3]["icbs"] == "all"
    assert all("demand_scale" not in row for row in by_part)


def test_parts_of_england_are_nested_sets_of_icbs_near_their_shares():
    parts = bench.england_parts()
    assert [p.share for p in parts] == list(bench.SCALES[:-1])
    for smaller, larger in itertools.pairwise(parts):
        assert larger.icbs[: len(smaller.icbs)] == smaller.icbs
    for p in parts:
        assert abs(p.residents_share - p.share) < 0.02  # an ICB is at most 5% of England
    assert len(set(parts[-1].icbs)) == len(parts[-1].icbs)


def test_parts_of_england_are_written_as_configurations_of_their_residents(tmp_path):
    from sim.config import load_config

    england = sum(z.population for z in load_config(bench.ROOT / "configs" / "england.yaml").zones)
    written = bench.write_england_parts(tmp_path)
    for part in written:
        cfg = load_config(part.path)
        assert sum(z.population for z in cfg.zones) / england == pytest.approx(part.residents_share, abs=1e-6)
    sizes = [len(load_config(p.path).organisations) for p in written]
    assert sizes == sorted(sizes) and sizes[0] > 20  # each part its own councils, trusts and ICBs


def test_engine_scaling_alternates_sizes_and_takes_medians_of_each_rounds_ratio(monkeypatch):
    # round r's machine is (1 + r) times slower; an event costs 2 times as much with the
    # larger number of processes in SimPy's queue (2.4 in round 2), 1.5 in the model's
    small, large = bench.LIVE
    calls, seen = [], {False: 0, True: 0}

    def fake(call):
        calls.append(call)
        live, calendar = int(call.split("(")[1].split(",")[0]), call.endswith("True)")
        r = seen[calendar] // 2
        seen[calendar] += 1
        if live == small:
            return 1.0 + r
        return (1.0 + r) * (1.5 if calendar else 2.4 if r == 2 else 2.0)

    monkeypatch.setattr(bench, "fresh", fake)
    out = bench.engine_scaling(rounds=3, days=10)
    sizes = [int(c.split("(")[1].split(",")[0]) for c in calls]
    assert sizes == [small, large, large, small, small, large] * 2  # each queue: rising, falling, rising
    assert [c.endswith("True)") for c in calls] == [False] * 6 + [True] * 6
    assert out["simpy_queue_cost_per_event_ratio_each"] == pytest.approx([2.0, 2.0, 2.4])
    assert out["simpy_queue_cost_per_event_ratio"] == pytest.approx(2.0)
    assert out["model_queue_cost_per_event_ratio"] == pytest.approx(1.5)
    assert out["simpy_queue_us_per_event"][str(small)] == 2.0  # the median round's


def test_the_least_simpy_model_costs_an_event_a_day_of_its_processes():
    for calendar in (False, True):
        assert 0 < bench.waiting_processes(live=50, days=2000, calendar=calendar) < 1000


def test_quick_benchmark_runs_and_writes_its_report(tmp_path, capsys):
    out = tmp_path / "latest.json"
    assert bench.main(["--quick", "--rounds", "1", "--days", "200", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["engine_overhead"]["ratio_median"] > 0
    assert report["lancashire_year"]["patients"] > 0
    assert "written to" in capsys.readouterr().out


def test_sweep_rounds_alternate_local_processes_and_dask(monkeypatch):
    # each sweep takes its kind's seconds, and runs take 1.2 times as long in Dask's
    # workers with its defaults, 1.05 with configs/dask's settings; the machine slows
    # down by a second at each sweep, so a fixed order would charge the drift to
    # whichever went later
    import contextlib
    import types

    import sim.sweep

    calls, clusters = [], []

    @contextlib.contextmanager
    def fake_cluster(workers, settings):
        kind = "dask_configured" if settings else "dask"
        clusters.append(("open", kind))
        yield kind
        clusters.append(("closed", kind))

    def fake_sweep(path, out_dir, progress, workers=None, scheduler=None):
        assert scheduler is None or clusters[-1] == ("open", scheduler)
        kind = scheduler or ("serial" if workers == 1 else "processes")
        calls.append(kind)
        compute = {"serial": 40.0, "processes": 40.0, "dask": 48.0, "dask_configured": 42.0}[kind]
        out_dir.mkdir(parents=True)
        (out_dir / "manifest.json").write_text(json.dumps({"timings": {"run_seconds_total": compute}}))
        clock[0] += {"serial": 40.0, "processes": 20.0, "dask": 22.0, "dask_configured": 21.0}[kind] + len(calls)
        return types.SimpleNamespace(out_dir=out_dir)

    clock = [0.0]
    monkeypatch.setattr(bench, "dask_cluster", fake_cluster)
    monkeypatch.setattr(sim.sweep, "run_sweep", fake_sweep)
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    out = bench.sweep_efficiency(runs=40, rounds=4)
    one_way = ["serial", "processes", "dask", "dask_configured"]
    assert calls == [*one_way, "serial", *one_way[:0:-1]] * 2
    # a cluster for each Dask sweep, closed after it
    one_round = [("open", "dask"), ("closed", "dask"), ("open", "dask_configured"), ("closed", "dask_configured")]
    assert clusters == [*one_round, *one_round[2:], *one_round[:2]] * 2
    assert out["dask_run_seconds_over_processes"] == pytest.approx(1.2)
    assert out["dask_configured_run_seconds_over_processes"] == pytest.approx(1.05)
    # round 0: processes 20 + 2, dask 22 + 3; round 1: dask 22 + 7, processes 20 + 8
    assert out["dask_over_processes_each"][:2] == pytest.approx([25 / 22, 29 / 28])
    assert out["dask_configured_over_processes_each"][:2] == pytest.approx([25 / 22, 27 / 28])
    assert out["seconds"][0]["serial"] == pytest.approx(41.0)


def test_dask_cluster_for_sweeps_starts_with_the_settings_of_configs_dask():
    # the file the README points Dask at is one Dask reads, and the benchmark's cluster
    # (scheduler and workers alike) runs with what it says, not with Dask's defaults
    import dask
    from distributed import Client

    settings = runner.dask_settings()
    assert settings["distributed.worker.profile.enabled"] is False
    assert settings["distributed.admin.tick.interval"] == "1s"
    keys = sorted(settings)
    defaults = [dask.config.get(k) for k in keys]
    assert all(d != settings[k] for k, d in zip(keys, defaults, strict=True))

    def read():
        import dask

        return [dask.config.get(k) for k in keys]

    def scheduler_intervals(dask_scheduler):
        return {name: pc.callback_time for name, pc in dask_scheduler.periodic_callbacks.items()}

    with bench.dask_cluster(1, settings) as address, Client(address) as client:
        on_workers = client.run(read)
        on_scheduler = client.run_on_scheduler(scheduler_intervals)
    assert [settings[k] for k in keys] == next(iter(on_workers.values()))
    # the scheduler (in this process) read its intervals when it started, in ms
    assert on_scheduler["tick"] == 1000 and on_scheduler["monitor"] == 5000
    assert [dask.config.get(k) for k in keys] == defaults  # this process is left as it was
