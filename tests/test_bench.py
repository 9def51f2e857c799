"""The benchmark's bookkeeping (its timings are for ``make bench``, never asserted)."""

from __future__ import annotations

import json

import pytest

import sim.bench as bench


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
