"""The benchmark's bookkeeping (its timings are for ``make bench``, never asserted)."""

from __future__ import annotations

import json

import pytest

import sim.bench as bench
import sim.runner as runner


def test_scaling_costs_are_medians_of_ratios_to_the_same_rounds_eighth(monkeypatch):
    # round r's machine is (1 + r) times slower; the run at demand f takes f x 8 s of
    # work in a fast round, so each round's ratios are exactly linear
    order = []

    def fake(config_path, f):
        r = len(order) // len(bench.SCALES)
        order.append(f)
        wall = (1 + r) * 8 * f * (1.5 if f == 1.0 and r == 1 else 1.0)  # one slow full run
        return {
            "wall_seconds": wall,
            "cpu_seconds": wall / (2 if f == 0.25 else 1),  # waited for a core as long as it ran
            "patients": int(1000 * f),
            "events": int(7000 * f),
            "peak_memory_mb": 100 * f,
            "demand_scale": f,
        }

    monkeypatch.setattr(bench, "in_fresh_process", fake)
    whole, scaling = bench.england_rounds(None, rounds=3)
    assert order == [*bench.SCALES, *bench.SCALES[::-1], *bench.SCALES]  # rising, falling, rising
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
