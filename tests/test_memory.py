"""A run too large for the machine is refused before it starts, with what to check;
a sweep runs no more of them at once than the machine's memory holds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
import sim.sweep
from sim import memory
from sim.cli import main
from sim.config import Demand, load_config
from sim.experiment import load_experiment
from sim.yamlio import load_yaml

from .conftest import EXAMPLE

EXPERIMENT = """
name: big
base: {base}
seed: 1
run: {{length_days: 30, warmup_days: 5}}
replications: 2
scenarios:
  today: {{baseline: true}}
  more: {{overrides: {{demand.per_1000_per_year: 40}}}}
"""


def configuration(tmp_path, name="c.yaml", times=1, length=30):
    data, _ = load_yaml(EXAMPLE)
    for zone in data["zones"]:
        zone["population"] *= times
    data["run"] = {"length_days": length, "warmup_days": 5}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@given(
    st.lists(st.tuples(st.floats(0, 400), st.floats(0, 3)), max_size=4).map(sorted),
    st.floats(1, 365),
)
def test_the_mean_multiplier_is_the_profile_averaged_over_the_run(changes, length):
    demand = Demand(per_1000_per_year=10, profile=[{"from_day": d, "multiplier": m} for d, m in changes])
    days = (np.arange(100_000) + 0.5) * length / 100_000
    assert demand.mean_multiplier(length) == pytest.approx(
        np.mean([demand.multiplier_at(d) for d in days]), abs=2 * max([1, *(m for _, m in changes)]) / 1000
    )


def test_the_patients_a_run_is_expected_to_hold_are_those_it_models(tmp_path):
    path = configuration(tmp_path, length=120)
    data, _ = load_yaml(path)
    data["demand"]["profile"] = [{"from_day": 40, "multiplier": 0.5}, {"from_day": 80, "multiplier": 2.0}]
    path.write_text(json.dumps(data))
    cfg = load_config(path)
    counts = [len(sim.simulate(cfg, seed=s).patients) for s in range(3)]
    expected = cfg.expected_patients
    assert expected == pytest.approx(sum(z.population for z in cfg.zones) * 21 / 1000 / 365 * (40 + 20 + 80))
    assert abs(np.mean(counts) - expected) < 4 * np.sqrt(expected / 3)  # Poisson: within 4 standard errors


def test_a_population_given_in_people_where_thousands_were_meant_is_refused_before_the_run(tmp_path, capsys):
    """A zone of 10^12 residents: validate said it was valid, and run asked numpy for
    9 GB at once (or was killed by the system with no word of why)."""
    path = configuration(tmp_path, times=10**7)
    out = tmp_path / "out"
    for argv in (["validate", str(path)], ["run", str(path), "--out", str(out)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"{path}: a run would hold about ") and "TB of memory" in err
        assert "check the zones' populations, demand.per_1000_per_year and run.length_days" in err
        assert "Traceback" not in err
    assert not out.exists()
    with pytest.raises(sim.RunTooLarge, match="this machine has"):
        sim.simulate(load_config(path))


def test_validate_says_what_a_run_holds(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "; a run holds about 10,500 patients and 1" in capsys.readouterr().out


def test_a_sweep_with_a_scenario_too_large_for_the_machine_names_it_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "exp.yaml").write_text(EXPERIMENT.format(base=configuration(tmp_path).name))
    exp = load_experiment(tmp_path / "exp.yaml")
    today, more = (memory.run_memory(c.config) for c in exp.cells)
    # memory for today's runs, not for more's
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(memory, "machine_memory", lambda: int((today + more) / 2))
        for argv in (
            ["validate", str(tmp_path / "exp.yaml")],
            ["sweep", str(tmp_path / "exp.yaml"), "--results", str(tmp_path / "r"), "--dry-run"],
            ["sweep", str(tmp_path / "exp.yaml"), "--results", str(tmp_path / "r"), "--no-progress"],
        ):
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert f"{tmp_path / 'exp.yaml'}: scenarios.more: a run would hold about " in err, argv
            assert "scenarios.today" not in err
    assert not (tmp_path / "r").exists()


def test_a_sweep_runs_no_more_runs_at_once_than_memory_holds(tmp_path, capsys):
    (tmp_path / "exp.yaml").write_text(EXPERIMENT.format(base=configuration(tmp_path).name))
    exp = load_experiment(tmp_path / "exp.yaml")
    largest = max(memory.run_memory(c.config) for c in exp.cells)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(memory, "machine_memory", lambda: int(largest * 3))  # 0.8 of it holds two
        fit, note = memory.workers_in_memory(exp.path, exp.cells, 8, asked=False)
        assert fit == 2 and note.startswith("2 local processes at once, not 8: a run of more holds about ")
        fit, note = memory.workers_in_memory(exp.path, exp.cells, 8, asked=True)
        assert fit == 8 and "--workers 8: " in note and note.endswith("run with --workers 2")
        assert memory.workers_in_memory(exp.path, exp.cells, 2, asked=False) == (2, None)
        mp.setattr(memory, "machine_memory", lambda: int(largest * 1.1))
        lines = sim.sweep.dry_run(tmp_path / "exp.yaml", tmp_path / "r", None)
        assert "estimated time on 1 worker(s): " in "\n".join(lines)
        assert any(line.startswith("note: 1 local process at once, not ") for line in lines)
        report = sim.sweep.run_sweep(tmp_path / "exp.yaml", tmp_path / "r", progress=False)
    assert report.ran == 4 and not report.failed
    assert any(n.startswith("1 local process at once, not ") for n in report.notes)
    assert main(["compare", str(tmp_path / "r" / "big")]) == 0


def test_the_machines_memory_is_read_and_sizes_are_said_in_a_readers_units():
    found = memory.machine_memory()
    assert found is None or found > 2**28
    assert [memory.size(x) for x in (5e6, 1.39 * 2**30, 8.79 * 2**40, 2e15)] == [
        "4.77 MB",
        "1.39 GB",
        "8.79 TB",
        "1,819 TB",
    ]
